import Foundation
import GavelCore
import HTTPTypes
import Testing

@Suite("Errors are problem+json with stable codes")
struct ErrorTests {
    @Test("malformed JSON is 400 malformed-json and writes nothing")
    func malformedJSON() async throws {
        try await withGavel { gavel in
            let auditBefore = try await gavel.count("audit_log")
            for body in ["{bad", "", "[1,", "{\"name\": \"x\""] {
                let reply = try await gavel.request(.post, "/v1/consignors", token: gavel.adminToken, json: body)
                #expect(reply.status == .badRequest, "\(body)")
                #expect(try reply.problemCode == "malformed-json")
            }
            #expect(try await gavel.count("consignors") == 0)
            #expect(try await gavel.count("audit_log") == auditBefore)
        }
    }

    @Test("an unknown route is 404 not-found")
    func unknownRoute() async throws {
        try await withGavel { gavel in
            for path in ["/nope", "/v1/consignors/\(UUID())/policy", "/v1/consignors/\(UUID())/x", "/v2/users"] {
                let reply = try await gavel.request(.get, path, token: gavel.adminToken)
                if path.hasSuffix("/policy") {
                    // The path exists for PATCH only.
                    #expect(reply.status == .methodNotAllowed)
                } else {
                    #expect(reply.status == .notFound, "\(path)")
                    #expect(try reply.problemCode == "not-found")
                }
            }
            // A literal segment is not an ID: /v1/cases/import is the import's, POST only.
            let importGet = try await gavel.request(.get, "/v1/cases/import", token: gavel.adminToken)
            #expect(importGet.status == .methodNotAllowed)
            #expect(importGet.headers[.allow] == "POST")
        }
    }

    @Test("a known path with the wrong method is 405 with Allow")
    func wrongMethod() async throws {
        try await withGavel { gavel in
            let reply = try await gavel.request(.delete, "/health")
            #expect(reply.status == .methodNotAllowed)
            #expect(try reply.problemCode == "method-not-allowed")
            #expect(reply.headers[.allow] == "GET")
            let patch = try await gavel.request(.put, "/v1/consignors/\(UUID())/policy", token: gavel.adminToken, json: "{}")
            #expect(patch.status == .methodNotAllowed)
            #expect(patch.headers[.allow] == "PATCH")
        }
    }

    @Test("a body over 1 MiB is 413 payload-too-large")
    func payloadTooLarge() async throws {
        try await withGavel { gavel in
            let big = #"{"name": ""# + String(repeating: "x", count: (1 << 20) + 10) + #""}"#
            let reply = try await gavel.request(.post, "/v1/consignors", token: gavel.adminToken, json: big)
            #expect(reply.status == .contentTooLarge)
            #expect(try reply.problemCode == "payload-too-large")
            #expect(try await gavel.count("consignors") == 0)
            // Just under the limit is read (and then refused for its content, not its size).
            let fits = #"{"name": ""# + String(repeating: "x", count: (1 << 20) - 100) + #""}"#
            let small = try await gavel.request(.post, "/v1/consignors", token: gavel.adminToken, json: fits)
            #expect(small.status == .unprocessableContent)
        }
    }

    @Test("validation lists every bad field and writes nothing")
    func validation() async throws {
        try await withGavel { gavel in
            let reply = try await gavel.request(
                .post, "/v1/consignors", token: gavel.adminToken,
                json: #"{"name": 42, "currency": "yuan", "policy": {"pricing": {"startBp": 0}, "fees": {"docFee": -1}}}"#)
            #expect(reply.status == .unprocessableContent)
            #expect(try reply.problemCode == "validation-failed")
            guard case .array(let errors) = try reply.json["errors"] else {
                Issue.record("no errors list: \(reply.text)")
                return
            }
            let fields = errors.compactMap { error -> String? in
                if case .string(let field) = error["field"] { return field }
                return nil
            }
            #expect(fields == ["name", "currency", "policy.pricing.startBp", "policy.fees.docFee"])
            for error in errors {
                guard case .string = error["message"] else { Issue.record("error without message"); continue }
            }
            #expect(try await gavel.count("consignors") == 0)
        }
    }

    @Test("an amount out of 0...10^13 is 422 amount-out-of-range")
    func amountOutOfRange() async throws {
        try await withGavel { gavel in
            let reply = try await gavel.request(
                .post, "/v1/consignors", token: gavel.adminToken,
                json: #"{"name": "A", "policy": {"fees": {"docFee": 10000000000001}}}"#)
            #expect(reply.status == .unprocessableContent)
            #expect(try reply.problemCode == "amount-out-of-range")
        }
    }

    @Test("the body must be a JSON object")
    func notAnObject() async throws {
        try await withGavel { gavel in
            for body in ["[]", "42", "\"text\"", "null"] {
                let reply = try await gavel.request(.post, "/v1/users", token: gavel.adminToken, json: body)
                #expect(reply.status == .unprocessableContent, "\(body)")
                #expect(try reply.problemCode == "validation-failed")
            }
        }
    }

    @Test("401 for a missing, malformed or unknown token")
    func unauthorized() async throws {
        try await withGavel { gavel in
            let none = try await gavel.request(.get, "/v1/audit")
            #expect(none.status == .unauthorized)
            #expect(try none.problemCode == "unauthorized")
            #expect(none.headers[.wwwAuthenticate] == "Bearer")
            // One character changed (to something it was not) makes a token nobody holds.
            let changed = gavel.adminToken.first == "A" ? "B" : "A"
            let unknown = try await gavel.request(.get, "/v1/audit", token: changed + String(gavel.adminToken.dropFirst()))
            #expect(unknown.status == .unauthorized)
            let basic = try await gavel.request(.get, "/v1/audit", headers: [.authorization: "Basic YWRtaW46YWRtaW4="])
            #expect(basic.status == .unauthorized)
            let short = try await gavel.request(.get, "/v1/audit", token: "x")
            #expect(short.status == .unauthorized)
        }
    }

    @Test("the request ID is echoed when sane and generated otherwise")
    func requestID() async throws {
        try await withGavel { gavel in
            let given = try await gavel.request(.get, "/health", headers: [HTTPField.Name("X-Request-ID")!: "trace-42.a"])
            #expect(given.headers[HTTPField.Name("X-Request-ID")!] == "trace-42.a")
            let generated = try await gavel.request(.get, "/health")
            let id = try #require(generated.headers[HTTPField.Name("X-Request-ID")!])
            #expect(UUID(uuidString: id) != nil)
            let hostile = try await gavel.request(.get, "/nope", headers: [HTTPField.Name("X-Request-ID")!: "a b\"c"])
            let replaced = try #require(hostile.headers[HTTPField.Name("X-Request-ID")!])
            #expect(UUID(uuidString: replaced) != nil)
            #expect(try hostile.string("requestId") == replaced)
        }
    }
}
