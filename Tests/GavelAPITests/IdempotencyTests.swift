import Foundation
import GavelCore
import HTTPTypes
import Testing

@Suite("Idempotency-Key")
struct IdempotencyTests {
    static let key = HTTPField.Name("Idempotency-Key")!
    var key: HTTPField.Name { Self.key }

    @Test("the same key and body replay the first answer and create nothing more", arguments: ["/v1/users", "/v1/consignors"])
    func replay(path: String) async throws {
        try await withGavel { gavel in
            let body = path == "/v1/users" ? #"{"name": "Dealer 1", "role": "bidder"}"# : #"{"name": "Bank", "currency": "CNY"}"#
            let table = path == "/v1/users" ? "users" : "consignors"
            let rowsBefore = try await gavel.count(table)
            let auditBefore = try await gavel.count("audit_log")
            let first = try await gavel.request(.post, path, token: gavel.adminToken, json: body, headers: [key: "k-1"])
            #expect(first.status == .created)
            let again = try await gavel.request(.post, path, token: gavel.adminToken, json: body, headers: [key: "k-1"])
            #expect(again.status == .created)
            if path == "/v1/users" {
                // The token is shown once: its replay is the same answer with the token withheld.
                guard case .object(var members) = try first.json else { throw TestSetupError("not an object") }
                #expect(members["tokenWithheld"] == .bool(false))
                members["token"] = .null
                members["tokenWithheld"] = .bool(true)
                #expect(try again.json == .object(members))
            } else {
                #expect(again.text == first.text)
            }
            #expect(try await gavel.count(table) == rowsBefore + 1)
            #expect(try await gavel.count("audit_log") == auditBefore + 1)
            // A new key is a new request.
            let other = try await gavel.request(.post, path, token: gavel.adminToken, json: body, headers: [key: "k-2"])
            #expect(other.status == .created)
            #expect(try other.string("id") != first.string("id"))
        }
    }

    @Test("the same key with another body is 422 idempotency-key-reused and changes nothing")
    func reuse() async throws {
        try await withGavel { gavel in
            let first = try await gavel.request(
                .post, "/v1/consignors", token: gavel.adminToken, json: #"{"name": "Bank A"}"#, headers: [key: "same"])
            #expect(first.status == .created)
            let other = try await gavel.request(
                .post, "/v1/consignors", token: gavel.adminToken, json: #"{"name": "Bank B"}"#, headers: [key: "same"])
            #expect(other.status == .unprocessableContent)
            #expect(try other.problemCode == "idempotency-key-reused")
            #expect(try await gavel.count("consignors") == 1)
            // The same key on another route is another request too.
            let users = try await gavel.request(
                .post, "/v1/users", token: gavel.adminToken, json: #"{"name": "Bank A", "role": "bidder"}"#, headers: [key: "same"])
            #expect(try users.problemCode == "idempotency-key-reused")
            #expect(try await gavel.count("users") == 1)
        }
    }

    @Test("keys belong to their user: another admin's same key is a new request")
    func perUser() async throws {
        try await withGavel { gavel in
            let (_, second) = try await gavel.createUser(.admin, name: "second admin")
            let body = #"{"name": "Bank"}"#
            let a = try await gavel.request(.post, "/v1/consignors", token: gavel.adminToken, json: body, headers: [key: "k"])
            let b = try await gavel.request(.post, "/v1/consignors", token: second, json: body, headers: [key: "k"])
            #expect(a.status == .created)
            #expect(b.status == .created)
            #expect(try a.string("id") != b.string("id"))
        }
    }

    @Test("a refused request is not remembered: fixing it under the same key works")
    func failuresAreNotStored() async throws {
        try await withGavel { gavel in
            let bad = try await gavel.request(.post, "/v1/consignors", token: gavel.adminToken, json: #"{"name": ""}"#, headers: [key: "retry"])
            #expect(bad.status == .unprocessableContent)
            #expect(try await gavel.count("idempotency_keys") == 0)
        }
    }

    @Test("a malformed key is 422")
    func badKey() async throws {
        try await withGavel { gavel in
            let long = String(repeating: "k", count: 256)
            let reply = try await gavel.request(.post, "/v1/consignors", token: gavel.adminToken, json: #"{"name": "A"}"#, headers: [key: long])
            #expect(reply.status == .unprocessableContent)
            #expect(try reply.json["errors"]?.array?.first?["field"] == .string("Idempotency-Key"))
        }
    }
}

extension RealTime {
    @Suite("Idempotency-Key, in real time")
    struct IdempotencyTiming {
        @Test("twenty simultaneous requests with one key create one user and all get its answer")
        func concurrent() async throws {
            try await withGavel { gavel in
                let body = #"{"name": "Racer", "role": "bidder"}"#
                let usersBefore = try await gavel.count("users")
                let replies = try await withThrowingTaskGroup(of: Harness.Reply.self) { group in
                    for _ in 0..<20 {
                        group.addTask {
                            try await gavel.request(.post, "/v1/users", token: gavel.adminToken, json: body, headers: [IdempotencyTests.key: "race"])
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(replies.allSatisfy { $0.status == .created })
                // One answer carries the token; the nineteen replays the same user with it withheld.
                #expect(Set(try replies.map { try $0.string("id") }).count == 1)
                #expect(try replies.filter { try $0.json["tokenWithheld"] == .bool(false) }.count == 1)
                #expect(try replies.filter { try $0.json["token"] == .null && $0.json["tokenWithheld"] == .bool(true) }.count == 19)
                #expect(try await gavel.count("users") == usersBefore + 1)
            }
        }
    }
}
