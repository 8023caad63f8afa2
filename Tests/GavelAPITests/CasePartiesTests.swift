import Foundation
import GavelCore
import HTTPTypes
import Testing

/// Case parties (domain rules section 11, issue 16 item 1): `PATCH /v1/cases/{id}`.
@Suite("Case parties: addresses, guarantees, the collateral's owner, exclusions, juniors' demands")
struct CasePartiesTests {
    @Test("a manager completes the parties; the case shows them; the audit trail has before and after")
    func change() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel)
            let path = "/v1/cases/\(disposal.caseId)"
            let changed = try await gavel.request(.patch, path, token: disposal.manager.token, json: """
                {"borrower": {"address": "8 Jianguo Rd, Beijing"},
                 "guarantors": [{"name": "Zhang Wei", "guaranteeType": "joint", "cap": 2000000, "address": "9 Xidan St"}],
                 "collateralOwner": {"name": "Wang Li Trading Co.", "idNumber": "91110000MA01ABCD2X"},
                 "excludedIdNumbers": ["110101198001011234"],
                 "credits": [{"label": "GAP refund", "amount": 40000}],
                 "lienholders": [{"priority": 2, "demandReceivedAt": "2026-11-02", "address": "Second Bank, 1 Finance St"}]}
                """)
            #expect(changed.status == .ok, "\(changed.text)")
            let body = try await gavel.request(.get, path, token: disposal.manager.token).json
            #expect(body["borrower"]?["address"] == .string("8 Jianguo Rd, Beijing"))
            #expect(body["borrower"]?["name"] == .string("Wang Li"), "merged, not replaced")
            #expect(body["guarantors"] == .array([.object([
                "name": .string("Zhang Wei"), "guaranteeType": .string("joint"), "cap": .integer(2_000_000), "address": .string("9 Xidan St")])]))
            #expect(body["collateralOwner"]?["name"] == .string("Wang Li Trading Co."))
            #expect(body["excludedIdNumbers"] == .array([.string("110101198001011234")]))
            #expect(body["credits"] == .array([.object(["label": .string("GAP refund"), "amount": .integer(40_000)])]))
            #expect(body["lienholders"]?.array?.first?["demandReceivedAt"] == .string("2026-11-02"))
            #expect(body["lienholders"]?.array?.first?["eligible"] == .bool(true))
            let audit = try await gavel.request(.get, "/v1/audit?entityId=\(disposal.caseId)", token: gavel.adminToken).json
            let update = audit["items"]?.array?.first { $0["action"] == .string("case.update") }
            #expect(update?["before"]?["collateralOwner"] == .null)
            #expect(update?["after"]?["collateralOwner"]?["name"] == .string("Wang Li Trading Co."))
            // Back to the borrower owning the car.
            let cleared = try await gavel.request(.patch, path, token: disposal.manager.token, json: #"{"collateralOwner": null}"#)
            #expect(try cleared.json["collateralOwner"] == .null)
            // A list is cleared with [], never with null (found by the fuzzer: null was taken as "no change").
            let nulls = try await gavel.request(
                .patch, path, token: disposal.manager.token, json: #"{"lienholders": null, "guarantors": null, "borrower": null}"#)
            #expect(nulls.status == .unprocessableContent)
            #expect(try nulls.json["errors"]?.array?.compactMap { $0["field"] } == [.string("borrower"), .string("guarantors"), .string("lienholders")])
        }
    }

    @Test("what the route refuses: other members, a junior that does not exist, a future demand, another consignor, other roles")
    func refusals() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel)
            let path = "/v1/cases/\(disposal.caseId)"
            let token = disposal.manager.token
            let before = try await gavel.request(.get, path, token: token).json
            for body in [#"{"balances": {"principal": 1}}"#, #"{"lienholders": [{"priority": 9, "eligible": false}]}"#,
                         #"{"lienholders": [{"priority": 2, "demandReceivedAt": "2027-01-01"}]}"#,
                         #"{"guarantors": [{"name": "X", "guaranteeType": "several"}]}"#,
                         #"{"excludedIdNumbers": [""]}"#, #"{"credits": [{"label": "x", "amount": -1}]}"#] {
                let reply = try await gavel.request(.patch, path, token: token, json: body)
                #expect(reply.status == .unprocessableContent, "\(body): \(reply.text)")
            }
            #expect(try await gavel.request(.get, path, token: token).json == before, "a refused change changes nothing")
            let stranger = try await gavel.createUser(.manager, consignorId: try await gavel.createConsignor("Other Bank"))
            #expect(try await gavel.request(.patch, path, token: stranger.token, json: "{}").status == .notFound)
            let finance = try await gavel.createUser(.finance)
            #expect(try await gavel.request(.patch, path, token: finance.token, json: "{}").status == .forbidden)
        }
    }

    @Test("after settlement the parties are fixed (409 case-settled); a surplus is refunded to the collateral's owner")
    func surplusToOwner() async throws {
        try await withGavel { gavel in
            let (sold, caseId) = try await SettlementTests.surplusCase(gavel)
            let manager = sold.open.disposal.manager.token
            #expect(try await gavel.request(
                .patch, "/v1/cases/\(caseId)", token: manager, json: #"{"collateralOwner": {"name": "Li Hua"}}"#).status == .ok)
            let statement = try await SettlementTests.settle(gavel, caseId, token: sold.open.finance.token).json
            #expect(statement["surplusPayee"] == .string("Li Hua"))
            let refunds = try await gavel.request(.get, "/v1/surplus-refunds", token: sold.open.finance.token).json
            #expect(refunds["items"]?.array?.first?["borrower"] == .string("Li Hua"))
            let page = try await gavel.request(
                .get, "/v1/cases/\(caseId)/settlement", token: manager, headers: [.accept: "text/html"]).text
            #expect(page.contains("The surplus is payable to Li Hua."))
            let late = try await gavel.request(.patch, "/v1/cases/\(caseId)", token: manager, json: #"{"collateralOwner": null}"#)
            #expect(late.status == .conflict)
            #expect(try late.problemCode == "case-settled")
        }
    }
}
