import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Gives every request an ID: the client's `X-Request-ID` when it is sane, otherwise a
/// new UUID. It goes into every log line of the request and back in the response.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = GavelRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let id = request.headers[.requestID].flatMap(Self.sanitized) ?? UUID().uuidString.lowercased()
        context.requestID = id
        context.logger[metadataKey: "request_id"] = .string(id)
        var response = try await next(request, context)
        response.headers[.requestID] = id
        return response
    }

    /// Client IDs end up in logs: only short, printable, punctuation-light ones are kept.
    static func sanitized(_ value: String) -> String? {
        guard (1...128).contains(value.count),
              value.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.:".unicodeScalars.contains($0)) })
        else { return nil }
        return value
    }
}

/// Turns every error into a problem+json answer. Anything unrecognised is logged with
/// its detail and answered with a bare 500 that leaks nothing.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = GavelRequestContext
    let routes: @Sendable () -> RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            if let problem = ErrorMapping.problem(for: error, routes: routes(), request: request) {
                if problem.status.code >= 500 {
                    context.logger.warning("answered \(problem.status.code) \(problem.code)", metadata: ["error": "\(String(reflecting: error))"])
                }
                return problem.response(requestID: context.requestID)
            }
            context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))"])
            return Problem.internalError().response(requestID: context.requestID)
        }
    }
}

/// Counts requests and times them by route template, method and status, and logs one
/// line per request.
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = GavelRequestContext
    let metrics: GavelMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - started
        let route = context.endpointPath.flatMap { $0 == "NotFound" ? nil : $0 } ?? "unmatched"
        metrics.record(route: route, method: request.method.rawValue, status: response.status.code, duration: elapsed)
        context.logger.info("request", metadata: [
            "method": .string(request.method.rawValue),
            "path": .string(request.uri.path),
            "status": .stringConvertible(response.status.code),
            "duration_ms": .stringConvertible(
                Double(elapsed.components.seconds) * 1_000 + Double(elapsed.components.attoseconds) / 1e15),
        ])
        return response
    }
}

extension HTTPField.Name {
    static let requestID = Self("X-Request-ID")!
    static let idempotencyKey = Self("Idempotency-Key")!
}
