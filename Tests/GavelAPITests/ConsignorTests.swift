import Foundation
import GavelCore
import Testing

@Suite("Consignors and their policy")
struct ConsignorTests {
    @Test("a new consignor gets every default, with the given parts applied")
    func create() async throws {
        try await withGavel { gavel in
            let reply = try await gavel.request(
                .post, "/v1/consignors", token: gavel.adminToken,
                json: #"{"name": "  Bank of Example  ", "currency": "USD", "policy": {"pricing": {"startBp": 7500}}}"#)
            #expect(reply.status == .created)
            let body = try reply.json
            #expect(body["name"] == .string("Bank of Example"))
            #expect(body["currency"] == .string("USD"))
            var expected = Policy.defaults
            expected.pricing.startBp = 7_500
            #expect(try Policy.parse(try #require(body["policy"])) == expected)
            let id = try reply.string("id")
            let fetched = try await gavel.request(.get, "/v1/consignors/\(id)", token: gavel.adminToken)
            #expect(fetched.status == .ok)
            #expect(try fetched.json == body)
        }
    }

    @Test("currency defaults to CNY and must be an ISO 4217 code")
    func currency() async throws {
        try await withGavel { gavel in
            let plain = try await gavel.request(.post, "/v1/consignors", token: gavel.adminToken, json: #"{"name": "A"}"#)
            #expect(try plain.json["currency"] == .string("CNY"))
            for bad in [#""usd""#, #""US""#, #""EURO""#, "12"] {
                let reply = try await gavel.request(.post, "/v1/consignors", token: gavel.adminToken, json: #"{"name": "A", "currency": \#(bad)}"#)
                #expect(reply.status == .unprocessableContent, "\(bad)")
            }
        }
    }

    /// The defaults, but for the notice period the harness's consignors go without.
    static var harnessDefaults: Policy {
        var policy = Policy.defaults
        policy.notice.minDays = 0
        return policy
    }

    @Test("PATCH policy merges, validates, stores and audits before and after")
    func patchPolicy() async throws {
        try await withGavel { gavel in
            let id = try await gavel.createConsignor()
            let reply = try await gavel.request(
                .patch, "/v1/consignors/\(id)/policy", token: gavel.adminToken,
                json: #"{"fees": {"docFee": 25000}, "bidding": {"extensionSeconds": 120}}"#)
            #expect(reply.status == .ok)
            var expected = Self.harnessDefaults
            expected.fees.docFee = 25_000
            expected.bidding.extensionSeconds = 120
            #expect(try Policy.parse(try reply.json) == expected)
            let fetched = try await gavel.request(.get, "/v1/consignors/\(id)", token: gavel.adminToken)
            #expect(try Policy.parse(try #require(try fetched.json["policy"])) == expected)

            let audit = try await gavel.request(.get, "/v1/audit?entityId=\(id)", token: gavel.adminToken)
            guard case .array(let items) = try audit.json["items"] else { Issue.record("no items"); return }
            #expect(items.map { $0["action"] } == [.string("consignor.create"), .string("consignor.policy.update")])
            let update = items[1]
            #expect(update["before"]?["fees"]?["docFee"] == .integer(30_000))
            #expect(update["after"]?["fees"]?["docFee"] == .integer(25_000))
            #expect(update["requestId"] == .string(try #require(reply.headers[.init("X-Request-ID")!])))
        }
    }

    @Test("a policy breaking prc-judicial is 422 naming the rule, and nothing changes")
    func prcJudicial() async throws {
        try await withGavel { gavel in
            let id = try await gavel.createConsignor()
            let auditBefore = try await gavel.count("audit_log")
            let reply = try await gavel.request(
                .patch, "/v1/consignors/\(id)/policy", token: gavel.adminToken,
                json: #"{"ruleset": "prc-judicial", "pricing": {"depositBp": 2500}}"#)
            #expect(reply.status == .unprocessableContent)
            #expect(try reply.problemCode == "validation-failed")
            #expect(try reply.json["errors"] == .array([.object([
                "field": .string("pricing.depositBp"),
                "message": .string("prc-judicial: the deposit must be 5% to 20% of the starting price (500 <= depositBp <= 2000)"),
                "rule": .string("prc-judicial.deposit-5-to-20-percent"),
            ])]))
            let fetched = try await gavel.request(.get, "/v1/consignors/\(id)", token: gavel.adminToken)
            #expect(try Policy.parse(try #require(try fetched.json["policy"])) == Self.harnessDefaults)
            #expect(try await gavel.count("audit_log") == auditBefore)

            let ok = try await gavel.request(
                .patch, "/v1/consignors/\(id)/policy", token: gavel.adminToken, json: #"{"ruleset": "prc-judicial"}"#)
            #expect(ok.status == .ok)
            #expect(try ok.json["ruleset"] == .string("prc-judicial"))
            // At most two auctions before the fixed-price sale (变卖).
            let third = try await gavel.request(
                .patch, "/v1/consignors/\(id)/policy", token: gavel.adminToken, json: #"{"pricing": {"maxRounds": 3}}"#)
            #expect(third.status == .unprocessableContent)
            #expect(try third.json["errors"]?.array?.first?["rule"] == .string("prc-judicial.at-most-two-auctions"))
            // A relisting rule the policy does not know is refused by name.
            let relist = try await gavel.request(
                .patch, "/v1/consignors/\(id)/policy", token: gavel.adminToken, json: #"{"pricing": {"relistAfterDefault": "down"}}"#)
            #expect(try relist.json["errors"]?.array?.first?["field"] == .string("pricing.relistAfterDefault"))
        }
    }

    @Test("creating a consignor with a judicial policy that breaks a rule is refused")
    func createJudicial() async throws {
        try await withGavel { gavel in
            let reply = try await gavel.request(
                .post, "/v1/consignors", token: gavel.adminToken,
                json: #"{"name": "Court", "policy": {"ruleset": "prc-judicial", "pricing": {"startBp": 6000}}}"#)
            #expect(reply.status == .unprocessableContent)
            #expect(try reply.json["errors"]?.array?.first?["rule"] == .string("prc-judicial.start-at-least-70-percent"))
            #expect(try reply.json["errors"]?.array?.first?["field"] == .string("policy.pricing.startBp"))
            #expect(try await gavel.count("consignors") == 0)
        }
    }

    @Test("unknown consignors and non-UUID IDs are 404")
    func notFound() async throws {
        try await withGavel { gavel in
            for path in ["/v1/consignors/\(UUID())", "/v1/consignors/not-a-uuid"] {
                let reply = try await gavel.request(.get, path, token: gavel.adminToken)
                #expect(reply.status == .notFound)
                #expect(try reply.problemCode == "not-found")
            }
            let patch = try await gavel.request(.patch, "/v1/consignors/\(UUID())/policy", token: gavel.adminToken, json: "{}")
            #expect(patch.status == .notFound)
        }
    }
}

extension JSONValue {
    var array: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }
}
