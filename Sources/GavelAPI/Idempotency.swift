import Crypto
import Foundation
import GavelStore
import Hummingbird
import HTTPTypes
import NIOCore
import PostgresNIO

/// Runs a state-changing POST in one transaction, honouring `Idempotency-Key`: the same
/// key and body replay the first answer and change nothing; the same key with another
/// body is 422 `idempotency-key-reused`. Only successful answers are stored: a refused
/// request changed nothing, so retrying it is safe. The request is its method, path,
/// query and body; a stored answer expires after `Database.idempotencyLifetime` (then
/// the key may be used afresh), and never holds a secret shown once (`JSONResponse.replayBody`).
enum Idempotency {
    /// `atomicStatement`: `work` runs a single statement that is atomic by itself (a
    /// server-side function), so without a key it runs outside BEGIN/COMMIT and costs one
    /// round trip instead of three.
    static func perform(
        _ request: Request, context: GavelRequestContext, caller: Caller, body: ByteBuffer, database: Database,
        atomicStatement: Bool = false,
        _ work: @Sendable @escaping (PostgresConnection) async throws -> JSONResponse
    ) async throws -> Response {
        guard let key = try idempotencyKey(request) else {
            if atomicStatement {
                return try await database.withConnection { connection in try await work(connection) }.response
            }
            return try await database.transaction(logger: context.logger) { connection in
                try await work(connection)
            }.response
        }
        var hasher = SHA256()
        // The query is part of the request: `?currency=GBP` and `?currency=JPY` are two.
        hasher.update(data: Data("\(request.method.rawValue) \(request.uri.path)?\(request.uri.query ?? "")\n".utf8))
        hasher.update(data: Data(buffer: body))
        let requestHash = APIToken.hex(hasher.finalize())
        let userId = caller.user.id
        let logger = context.logger
        return try await database.transaction(logger: logger) { connection in
            switch try await IdempotencyRepository.claim(
                userId: userId, key: key, requestSHA256: requestHash, lifetime: database.idempotencyLifetime,
                on: connection, logger: logger)
            {
            case .proceed:
                let answer = try await work(connection)
                try await IdempotencyRepository.remember(
                    userId: userId, key: key, status: answer.status.code, body: answer.replayBody ?? answer.body,
                    on: connection, logger: logger)
                return answer
            case .replay(let status, let body):
                return JSONResponse(status: HTTPResponse.Status(code: status), body: body)
            case .reusedWithDifferentRequest:
                throw Problem.idempotencyKeyReused
            }
        }.response
    }

    static func idempotencyKey(_ request: Request) throws -> String? {
        guard let key = request.headers[.idempotencyKey] else { return nil }
        guard (1...255).contains(key.count), key.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 32 && $0.value < 127 }) else {
            throw Problem.validation([.init(field: "Idempotency-Key", message: "must be 1 to 255 visible ASCII characters")])
        }
        return key
    }
}
