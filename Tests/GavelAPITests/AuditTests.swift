import Foundation
import GavelCore
import PostgresNIO
import Testing

@Suite("Audit trail")
struct AuditTests {
    @Test("every change is recorded with actor, action, entity, after and request ID")
    func recorded() async throws {
        try await withGavel { gavel in
            let reply = try await gavel.request(
                .post, "/v1/users", token: gavel.adminToken, json: #"{"name": "Dealer", "role": "bidder"}"#,
                headers: [.init("X-Request-ID")!: "req-audit-1"])
            let id = try reply.string("id")
            let audit = try await gavel.request(.get, "/v1/audit?entityId=\(id)", token: gavel.adminToken)
            #expect(audit.status == .ok)
            let items = try #require(try audit.json["items"]?.array)
            #expect(items.count == 1)
            let entry = items[0]
            #expect(entry["action"] == .string("user.create"))
            #expect(entry["entityType"] == .string("user"))
            #expect(entry["entityId"] == .string(id))
            #expect(entry["actor"]?["name"] == .string("admin"))
            #expect(entry["actor"]?["kind"] == .string("user"))
            #expect(entry["before"] == .null)
            #expect(entry["after"]?["role"] == .string("bidder"))
            #expect(entry["after"]?["token"] == nil)
            #expect(entry["requestId"] == .string("req-audit-1"))
            #expect(try audit.json["nextCursor"] == .null)
        }
    }

    @Test("the first admin's creation is in the trail, by the system")
    func bootstrap() async throws {
        try await withGavel { gavel in
            let audit = try await gavel.request(.get, "/v1/audit", token: gavel.adminToken)
            let first = try #require(try audit.json["items"]?.array?.first)
            #expect(first["action"] == .string("user.create"))
            #expect(first["actor"]?["kind"] == .string("system"))
            #expect(first["actor"]?["name"] == .string("bootstrap"))
        }
    }

    @Test("pages follow the cursor without gaps or repeats")
    func pagination() async throws {
        try await withGavel { gavel in
            for index in 0..<5 { _ = try await gavel.createConsignor("Bank \(index)") }
            var seen: [JSONValue] = []
            var cursor: String?
            repeat {
                let path = "/v1/audit?limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await gavel.request(.get, path, token: gavel.adminToken)
                #expect(page.status == .ok)
                let items = try #require(try page.json["items"]?.array)
                #expect(items.count <= 2)
                seen += items.compactMap { $0["id"] }
                if case .string(let next) = try page.json["nextCursor"] { cursor = next } else { cursor = nil }
            } while cursor != nil
            #expect(seen.count == 6)  // the bootstrap admin and five consignors
            #expect(Set(seen.map { "\($0)" }).count == 6)
        }
    }

    @Test("bad list parameters are 422", arguments: ["limit=0", "limit=201", "limit=x", "cursor=zzz", "entityId=nope"])
    func badParameters(query: String) async throws {
        try await withGavel { gavel in
            let reply = try await gavel.request(.get, "/v1/audit?\(query)", token: gavel.adminToken)
            #expect(reply.status == .unprocessableContent)
            #expect(try reply.problemCode == "validation-failed")
        }
    }

    @Test("PostgreSQL refuses UPDATE, DELETE and TRUNCATE on the audit trail")
    func appendOnly() async throws {
        try await withGavel { gavel in
            _ = try await gavel.createConsignor()
            let before = try await gavel.count("audit_log")
            for statement in [
                "UPDATE audit_log SET action = 'forged'",
                "DELETE FROM audit_log",
                "TRUNCATE audit_log",
            ] {
                await #expect(throws: PSQLError.self, "\(statement)") {
                    try await gavel.sql { client in
                        try await client.query(PostgresQuery(unsafeSQL: statement), logger: quietLogger)
                    }
                }
            }
            #expect(try await gavel.count("audit_log") == before)
            let actions = try await gavel.sql { client in
                let rows = try await client.query("SELECT count(*)::int FROM audit_log WHERE action = 'forged'", logger: quietLogger)
                for try await count in rows.decode(Int.self) { return count }
                return -1
            }
            #expect(actions == 0)
        }
    }
}
