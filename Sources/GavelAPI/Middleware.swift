import Foundation
import GavelCore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Gives every request an ID: the client's `X-Request-ID` when it is sane, otherwise a
/// new UUID. It goes into every log line of the request and back in the response.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = GavelRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let id = request.headers[.requestID].flatMap(Self.sanitized) ?? Seam.newID().uuidString.lowercased()
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
        if response.status == .clientClosedRequest { metrics.clientDisconnected() }
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

/// Headers every answer carries: browsers must not guess a type (a CSV or JSON body read
/// as HTML), and a page Gavel prints may load nothing from elsewhere, run no inline
/// script, and not be framed.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = GavelRequestContext

    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; script-src 'self'; connect-src 'self'; "
        + "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.xContentTypeOptions] = "nosniff"
        // The console's pages bring a stricter policy of their own.
        if response.headers[.contentType]?.lowercased().hasPrefix("text/html") == true, response.headers[.contentSecurityPolicy] == nil {
            response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
            response.headers[.referrerPolicy] = "no-referrer"
        }
        return response
    }
}

extension HTTPResponse.Status {
    /// nginx's 499: the client closed the connection before it was answered. Never sent
    /// (there is no one to send it to); it is what logs and metrics count such a request as.
    static let clientClosedRequest = HTTPResponse.Status(code: 499, reasonPhrase: "Client Closed Request")
}

extension HTTPField.Name {
    static let referrerPolicy = Self("Referrer-Policy")!
    static let requestID = Self("X-Request-ID")!
    static let idempotencyKey = Self("Idempotency-Key")!
}

/// Reads a request's whole body before the handler runs, within a deadline: the idle
/// timeout closes a connection that sends nothing, but a client sending a byte every few
/// seconds is never idle and would hold a request (and whatever it waits for) for as
/// long as it likes. Past the deadline: 408, and the connection is closed. A client
/// that goes away half-way is not a server error: it is told apart (`ClientDisconnected`).
struct BodyDeadlineMiddleware: RouterMiddleware {
    typealias Context = GavelRequestContext
    let timeout: Duration

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard ![.get, .head, .options].contains(request.method), request.headers[.contentLength] != "0" else {
            return try await next(request, context)
        }
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > JSONBody.maximumSize {
            throw Problem.payloadTooLarge()
        }
        let body = request.body
        let timeout = self.timeout
        let collected: ByteBuffer? = try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask {
                do {
                    return try await body.collect(upTo: JSONBody.maximumSize)
                } catch let error as NIOTooManyBytesError {
                    throw error
                } catch is CancellationError {
                    return nil
                } catch {
                    throw ClientDisconnected(underlying: error)
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        guard let collected else {
            throw Problem.requestTimeout("the request body did not arrive within \(timeout.components.seconds) s")
        }
        var request = request
        request.body = RequestBody(buffer: collected)
        return try await next(request, context)
    }
}

/// The client closed the connection before its request was read: nothing to answer, and
/// not the server's fault.
struct ClientDisconnected: Error {
    var underlying: any Error
}

/// Binds the seam of new IDs and the application's clock (`Seam`) for everything a
/// request does, down to the store.
struct SeamMiddleware: RouterMiddleware {
    typealias Context = GavelRequestContext
    let newID: @Sendable () -> UUID
    let now: @Sendable () -> Date

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await Seam.with(newID: newID, now: now) { try await next(request, context) }
    }
}
