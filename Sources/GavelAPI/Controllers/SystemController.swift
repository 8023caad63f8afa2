import GavelCore
import GavelStore
import Hummingbird
import HTTPTypes
import NIOCore

/// Health, readiness, metrics and the API description: public, no database writes.
struct SystemController: Sendable {
    let database: Database
    let metrics: GavelMetrics
    let openAPIDocument: String

    func health(_ request: Request, context: GavelRequestContext) async throws -> Response {
        JSONResponse(.ok, StatusAnswer(status: "ok")).response
    }

    /// 200 only while PostgreSQL answers; the pool reconnects by itself when it returns.
    func ready(_ request: Request, context: GavelRequestContext) async throws -> Response {
        guard await database.isReachable() else {
            throw Problem.serviceUnavailable("PostgreSQL does not answer")
        }
        return JSONResponse(.ok, StatusAnswer(status: "ready")).response
    }

    func prometheus(_ request: Request, context: GavelRequestContext) async throws -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: metrics.exposition())))
    }

    func openAPI(_ request: Request, context: GavelRequestContext) async throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/yaml"],
                 body: .init(byteBuffer: ByteBuffer(string: openAPIDocument)))
    }
}
