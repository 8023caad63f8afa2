import Crypto
import Foundation
import GavelStore
import Hummingbird
import HTTPTypes
import NIOCore
import GavelWorkflows

/// Runs a state-changing POST in one transaction, honouring `Idempotency-Key`: the same
/// key and body replay the first answer and change nothing; the same key with another
/// body is 422 `idempotency-key-reused`. Only successful answers are stored: a refused
/// request changed nothing, so retrying it is safe. The request is its method, path,
/// query and body; a stored answer expires after `Database.idempotencyLifetime` (then
/// the key may be used afresh), and never holds a secret shown once (`JSONResponse.replayBody`).
enum Idempotency {
    /// `atomicStatement`: `work` writes in a single statement that is atomic by itself (a
    /// server-side function, or a payment's guarded write after its reads), so without a
    /// key it runs outside BEGIN/COMMIT: two round trips fewer.
    static func perform(
        _ request: Request, context: GavelRequestContext, caller: Caller, body: ByteBuffer, database: Database,
        atomicStatement: Bool = false,
        _ work: @Sendable @escaping (Session) async throws -> JSONResponse
    ) async throws -> Response {
        var once: Once?
        if let key = try idempotencyKey(request) {
            var hasher = SHA256()
            // The query is part of the request: `?currency=GBP` and `?currency=JPY` are two.
            hasher.update(data: Data("\(request.method.rawValue) \(request.uri.path)?\(request.uri.query ?? "")\n".utf8))
            hasher.update(data: Data(buffer: body))
            once = Once(userId: caller.user.id, key: key, requestSHA256: APIToken.hex(hasher.finalize()))
        }
        let answered = try await Desk(database: database).change(
            logger: context.logger, requestId: context.requestID, once: once, atomicStatement: atomicStatement,
            remember: { answer in (answer.status.code, answer.replayBody ?? answer.body) }, work)
        switch answered {
        case .fresh(let answer): return answer.response
        case .replay(let status, let body): return JSONResponse(status: HTTPResponse.Status(code: status), body: body).response
        }
    }

    static func idempotencyKey(_ request: Request) throws -> String? {
        guard let key = request.headers[.idempotencyKey] else { return nil }
        guard (1...255).contains(key.count), key.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 32 && $0.value < 127 }) else {
            throw Problem.validation([.init(field: "Idempotency-Key", message: "must be 1 to 255 visible ASCII characters")])
        }
        return key
    }
}
