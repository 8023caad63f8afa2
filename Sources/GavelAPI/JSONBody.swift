import Foundation
import GavelCore
import Hummingbird

/// Reads a request body as JSON: over 1 MiB is a 413, not JSON is a 400, and the
/// caller then validates fields with `FieldReader` (422 listing every field).
enum JSONBody {
    static let maximumSize = 1 << 20

    static func read(_ request: Request) async throws -> (value: JSONValue, bytes: ByteBuffer) {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > maximumSize {
            throw Problem.payloadTooLarge()
        }
        let bytes = try await request.body.collect(upTo: maximumSize)
        guard bytes.readableBytes > 0 else {
            throw Problem.malformedJSON("the request needs a JSON body")
        }
        do {
            let value = try JSONDecoder().decode(JSONValue.self, from: Data(buffer: bytes))
            return (value, bytes)
        } catch {
            throw Problem.malformedJSON("the body is not valid JSON")
        }
    }

    /// A body that must be a JSON object, as a field reader.
    static func object(_ request: Request) async throws -> (reader: FieldReader, bytes: ByteBuffer) {
        let (value, bytes) = try await read(request)
        var errors: [FieldError] = []
        guard let reader = FieldReader.body(value, errors: &errors) else { throw ValidationFailure(errors) }
        return (reader, bytes)
    }
}
