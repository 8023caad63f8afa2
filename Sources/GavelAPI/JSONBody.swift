import Foundation
import GavelCore
import GavelWorkflows
import Hummingbird

/// Reads a request body as JSON: over 1 MiB is a 413, not JSON is a 400, and the
/// caller then validates fields with `FieldReader` (422 listing every field).
enum JSONBody {
    static let maximumSize = 1 << 20

    static func read(_ request: Request) async throws -> (value: JSONValue, bytes: ByteBuffer) {
        let bytes = try await collect(request)
        guard bytes.readableBytes > 0 else {
            throw Problem.malformedJSON("the request needs a JSON body")
        }
        return (try parse(bytes), bytes)
    }

    /// A body that must be a JSON object, as a field reader.
    static func object(_ request: Request) async throws -> (reader: FieldReader, bytes: ByteBuffer) {
        let (value, bytes) = try await read(request)
        return (try reader(value), bytes)
    }

    /// Like `object`, for actions whose body may be left out: none reads as `{}`.
    static func optionalObject(_ request: Request) async throws -> (reader: FieldReader, bytes: ByteBuffer) {
        let bytes = try await collect(request)
        guard bytes.readableBytes > 0 else { return (FieldReader([:]), bytes) }
        return (try reader(try parse(bytes)), bytes)
    }

    /// `BodyDeadlineMiddleware` has already read the body (and refused one declared
    /// too large): this takes it from memory.
    private static func collect(_ request: Request) async throws -> ByteBuffer {
        try await request.body.collect(upTo: maximumSize)
    }

    private static func parse(_ bytes: ByteBuffer) throws -> JSONValue {
        guard let value = JSONValue(parsing: bytes.readableBytesView) else {
            throw Problem.malformedJSON("the body is not valid JSON")
        }
        return value
    }

    private static func reader(_ value: JSONValue) throws -> FieldReader {
        var errors: [FieldError] = []
        // Only the bounds of a date hang on today (a year from it), so this server's clock will do.
        guard let reader = FieldReader.body(value, today: Scope.day(of: Seam.now()), errors: &errors) else {
            throw ValidationFailure(errors)
        }
        return reader
    }
}
