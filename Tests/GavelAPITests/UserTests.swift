import Foundation
import GavelCore
import GavelStore
import PostgresNIO
import Testing

@Suite("Users and tokens")
struct UserTests {
    @Test("an admin creates users of every role; each token authenticates as that user")
    func createEveryRole() async throws {
        try await withGavel { gavel in
            let consignor = try await gavel.createConsignor()
            for role in Role.allCases {
                let reply = try await gavel.request(
                    .post, "/v1/users", token: gavel.adminToken,
                    json: role == .manager
                        ? #"{"name": "M", "role": "manager", "consignorId": "\#(consignor)"}"#
                        : #"{"name": "\#(role.rawValue) user", "role": "\#(role.rawValue)"}"#)
                #expect(reply.status == .created)
                let body = try reply.json
                #expect(body["role"] == .string(role.rawValue))
                #expect(body["consignorId"] == (role == .manager ? .string(consignor) : .null))
                let token = try reply.string("token")
                #expect(token.count == 43)  // 32 bytes, base64url without padding
                // Only an admin may read the audit trail: the token acts as its role.
                let probe = try await gavel.request(.get, "/v1/audit", token: token)
                #expect(probe.status == (role == .admin ? .ok : .forbidden))
            }
        }
    }

    @Test("tokens are stored only as SHA-256 hashes")
    func hashedTokens() async throws {
        try await withGavel { gavel in
            let (_, token) = try await gavel.createUser(.finance)
            let stored = try await gavel.sql { client in
                var all: [String] = []
                let rows = try await client.query("SELECT token_sha256 FROM api_tokens", logger: quietLogger)
                for try await hash in rows.decode(String.self) { all.append(hash) }
                return all
            }
            #expect(stored.contains(APIToken.sha256Hex(token)))
            #expect(!stored.contains(token))
            // Nowhere in the database, not even in the stored idempotent answers or the audit trail.
            let dump = try await gavel.sql { client in
                var text = ""
                for table in ["api_tokens", "users", "audit_log", "idempotency_keys"] {
                    let rows = try await client.query(PostgresQuery(unsafeSQL: "SELECT t::text FROM \(table) t"), logger: quietLogger)
                    for try await row in rows.decode(String.self) { text += row }
                }
                return text
            }
            #expect(!dump.contains(token))
            #expect(!dump.contains(gavel.adminToken))
        }
    }

    @Test("a manager needs a consignor, no other role takes one, and it must exist")
    func consignorBinding() async throws {
        try await withGavel { gavel in
            let consignor = try await gavel.createConsignor()
            let cases: [(String, String)] = [
                (#"{"name": "M", "role": "manager"}"#, "consignorId"),
                (#"{"name": "F", "role": "finance", "consignorId": "\#(consignor)"}"#, "consignorId"),
                (#"{"name": "M", "role": "manager", "consignorId": "\#(UUID())"}"#, "consignorId"),
                (#"{"name": "M", "role": "manager", "consignorId": "nope"}"#, "consignorId"),
                (#"{"name": "X", "role": "superuser"}"#, "role"),
                (#"{"role": "bidder"}"#, "name"),
            ]
            let usersBefore = try await gavel.count("users")
            for (body, field) in cases {
                let reply = try await gavel.request(.post, "/v1/users", token: gavel.adminToken, json: body)
                #expect(reply.status == .unprocessableContent, "\(body)")
                #expect(try reply.json["errors"]?.array?.first?["field"] == .string(field), "\(body): \(reply.text)")
            }
            #expect(try await gavel.count("users") == usersBefore)
        }
    }
}
