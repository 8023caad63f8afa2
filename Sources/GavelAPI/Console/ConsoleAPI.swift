import Foundation
import GavelCore
import GavelStore
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// The API, called in-process by the console as the signed-in user: the same handler,
/// role guard, validation, transaction and audit record as a bearer-token call, so a page
/// can show and do exactly what the API lets that user see and do (D35).
struct ConsoleAPI: Sendable {
    typealias Handler = @Sendable (Request, GavelRequestContext, Caller) async throws -> Response

    /// What a call answered: the JSON (or the text of a document) on success, the problem
    /// (with its field errors) on refusal.
    struct Answer: Sendable {
        var status: HTTPResponse.Status
        var json: JSONValue
        var text: String
        var contentType: String
        var problem: Problem?

        var succeeded: Bool { problem == nil }
    }

    let handlers: [String: (access: Access, handler: Handler)]

    /// Calls `method path` (the contract's notation, `/v1/cases/{id}`) with `parameters`
    /// for its placeholders. A refusal comes back as the problem; an error the API would
    /// answer with a 500 is thrown.
    func call(
        _ method: HTTPRequest.Method, _ path: String, _ parameters: [String: String] = [:], query: [String: String] = [:],
        body: JSONValue? = nil, rawBody: (bytes: String, contentType: String)? = nil, accept: String = "application/json",
        idempotencyKey: String? = nil, as caller: Caller, context: GavelRequestContext
    ) async throws -> Answer {
        guard let route = handlers[method.rawValue + " " + path] else {
            throw ConsoleMisconfigured(description: "no API route \(method.rawValue) \(path)")
        }
        if case .roles(let allowed) = route.access, !allowed.contains(caller.role) {
            return Self.refused(.forbidden("the \(caller.role.rawValue) role may not \(method.rawValue) \(path)"))
        }
        var concrete = path.split(separator: "/", omittingEmptySubsequences: false).map { segment -> String in
            guard segment.hasPrefix("{"), segment.hasSuffix("}") else { return String(segment) }
            let value = parameters[String(segment.dropFirst().dropLast())] ?? ""
            return value.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? ""
        }.joined(separator: "/")
        if !query.isEmpty {
            var components = URLComponents()
            components.queryItems = query.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
            concrete += "?" + (components.percentEncodedQuery ?? "")
        }
        var headers: HTTPFields = [.accept: accept]
        var bytes = ByteBuffer()
        if let body {
            headers[.contentType] = "application/json"
            bytes = ByteBuffer(string: JSONText.encode(body))
        } else if let rawBody {
            headers[.contentType] = rawBody.contentType
            bytes = ByteBuffer(string: rawBody.bytes)
        }
        if let idempotencyKey { headers[HTTPField.Name("Idempotency-Key")!] = idempotencyKey }
        let request = Request(
            head: HTTPRequest(method: method, scheme: "http", authority: "console", path: concrete, headerFields: headers),
            body: RequestBody(buffer: bytes))
        var inner = context
        inner.coreContext.parameters = Parameters(parameters.map { (Substring($0.key), Substring($0.value)) })
        do {
            let response = try await route.handler(request, inner, caller)
            let collector = Collector()
            try await response.body.write(collector.writer)
            let text = String(buffer: collector.buffer.withLock { $0 })
            let type = response.headers[.contentType] ?? ""
            let json = type.contains("json") ? (try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) ?? .null : .null
            return Answer(status: response.status, json: json, text: text, contentType: type, problem: nil)
        } catch {
            guard let problem = ErrorMapping.problem(for: error, routes: RouteTable(), request: request) else { throw error }
            return Answer(status: problem.status, json: .null, text: "", contentType: "application/problem+json", problem: problem)
        }
    }

    static func refused(_ refusal: Refusal) -> Answer {
        let problem = Problem.refusal(refusal)
        return Answer(status: problem.status, json: .null, text: "", contentType: "application/problem+json", problem: problem)
    }

    /// Gathers a response body in memory (the console only calls routes that answer at once).
    final class Collector: Sendable {
        let buffer = Mutex(ByteBuffer())

        var writer: Writer { Writer(buffer: self) }

        struct Writer: ResponseBodyWriter {
            let buffer: Collector
            mutating func write(_ part: ByteBuffer) async throws {
                var part = part
                buffer.buffer.withLock { _ = $0.writeBuffer(&part) }
            }
            consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
        }
    }
}

struct ConsoleMisconfigured: Error, CustomStringConvertible {
    let description: String
}
