import Foundation
import GavelCore
import HTTPTypes
import Testing

/// Verified bidders and related parties (domain rules section 11, issue 16 item 3).
@Suite("Verified bidders and related parties")
struct VerifiedBiddersTests {
    /// An open lot of a consignor whose policy is `policy`, a dealer with its deposit held.
    static func lot(_ gavel: Harness, policy: String) async throws -> (disposal: Disposal, lotId: String, finance: String, dealer: (id: String, token: String)) {
        let disposal = try await Disposal.start(gavel, policy: policy)
        let (vehicleId, _) = try await disposal.appraisedVehicle()
        let lot = try await disposal.openLot(vehicleId: vehicleId)
        guard lot.status == .created || lot.status == .ok, case .string(let lotId)? = try lot.json["id"],
              case .integer(let deposit)? = try lot.json["depositAmount"] else { throw TestSetupError("lot: \(lot.text)") }
        let finance = try await gavel.createUser(.finance).token
        let dealer = try await gavel.createUser(.bidder, name: "Dealer")
        let held = try await gavel.request(
            .post, "/v1/lots/\(lotId)/deposits", token: finance,
            json: #"{"bidderId": "\#(dealer.id)", "amount": \#(deposit), "reference": "DEP-V"}"#)
        guard held.status == .created else { throw TestSetupError("deposit: \(held.text)") }
        return (disposal, lotId, finance, dealer)
    }

    static func bid(_ gavel: Harness, _ lotId: String, _ token: String, _ amount: Int64) async throws -> Harness.Reply {
        try await gavel.request(.post, "/v1/lots/\(lotId)/bids", token: token, json: #"{"maxAmount": \#(amount)}"#)
    }

    @Test("a lot that asks for verified bidders refuses an unverified or expired dealer (403), and takes one verified by finance")
    func verification() async throws {
        try await withGavel { gavel in
            let (_, lotId, finance, dealer) = try await Self.lot(gavel, policy: #"{"bidding": {"requireVerifiedBidder": true}}"#)
            let refused = try await Self.bid(gavel, lotId, dealer.token, 6_000_000)
            #expect(refused.status == .forbidden)
            #expect(try refused.problemCode == "bidder-not-verified")
            let path = "/v1/bidders/\(dealer.id)/verification"
            let expired = try await gavel.request(.post, path, token: finance, json: """
                {"legalName": "Li Ming Motors Ltd.", "idNumber": "91110000MA00000001", "dealerLicence": "DL-1", "licenceExpiresOn": "2026-01-31"}
                """)
            #expect(expired.status == .ok, "\(expired.text)")
            #expect(try await Self.bid(gavel, lotId, dealer.token, 6_000_000).problemCode == "bidder-not-verified")
            let verified = try await gavel.request(.post, path, token: finance, json: """
                {"legalName": "Li Ming Motors Ltd.", "idNumber": "91110000MA00000001", "dealerLicence": "DL-1", "licenceExpiresOn": "2027-06-30"}
                """)
            #expect(try verified.json["licenceExpiresOn"] == .string("2027-06-30"))
            #expect(try await Self.bid(gavel, lotId, dealer.token, 6_000_000).status == .created)
            // Who may record it; whom.
            #expect(try await gavel.request(.post, path, token: dealer.token, json: #"{"legalName": "Me", "idNumber": "1"}"#).status == .forbidden)
            #expect(try await gavel.request(
                .post, "/v1/bidders/\(UUID())/verification", token: finance, json: #"{"legalName": "X", "idNumber": "1"}"#).status == .notFound)
            #expect(try await gavel.request(.post, path, token: finance, json: #"{"legalName": ""}"#).status == .unprocessableContent)
            let audit = try await gavel.request(.get, "/v1/audit?entityId=\(dealer.id)", token: gavel.adminToken).json
            #expect(audit["items"]?.array?.filter { $0["action"] == .string("bidder.verify") }.count == 2)
        }
    }

    @Test("under prc-judicial every lot asks for verified bidders, whatever the flag says")
    func judicial() async throws {
        try await withGavel { gavel in
            let (_, lotId, _, dealer) = try await Self.lot(gavel, policy: #"{"ruleset": "prc-judicial"}"#)
            #expect(try await Self.bid(gavel, lotId, dealer.token, 6_000_000).problemCode == "bidder-not-verified")
        }
    }

    @Test("a related party is refused (403) even with a deposit: an ID number on the case's list, or the lender's own staff")
    func relatedParty() async throws {
        try await withGavel { gavel in
            let (disposal, lotId, finance, dealer) = try await Self.lot(gavel, policy: "{}")
            #expect(try await gavel.request(
                .post, "/v1/bidders/\(dealer.id)/verification", token: finance,
                json: #"{"legalName": "Zhao Lei", "idNumber": "110101199001010011"}"#).status == .ok)
            #expect(try await gavel.request(
                .patch, "/v1/cases/\(disposal.caseId)", token: disposal.manager.token,
                json: #"{"excludedIdNumbers": ["110101199001010011"]}"#).status == .ok)
            let refused = try await Self.bid(gavel, lotId, dealer.token, 6_000_000)
            #expect(refused.status == .forbidden)
            #expect(try refused.problemCode == "bidder-related-party")
            #expect(try await gavel.request(
                .patch, "/v1/cases/\(disposal.caseId)", token: disposal.manager.token, json: #"{"excludedIdNumbers": []}"#).status == .ok)
            #expect(try await Self.bid(gavel, lotId, dealer.token, 6_000_000).status == .created)
            // The lender's manager, verified, bidding through a dealer account under its own ID number.
            #expect(try await gavel.request(
                .post, "/v1/bidders/\(disposal.manager.id)/verification", token: finance,
                json: #"{"legalName": "Zhao Lei", "idNumber": "110101199001010011"}"#).status == .ok)
            #expect(try await Self.bid(gavel, lotId, dealer.token, 7_000_000).problemCode == "bidder-related-party")
        }
    }
}

extension VerifiedBiddersTests {
    @Test("the sale confirmation names the buyer by its verified legal name, in English and Chinese; only the winner and staff read it")
    func confirmation() async throws {
        try await withGavel { gavel in
            let sold = try await SoldLot.start(gavel)
            let path = "/v1/lots/\(sold.open.lotId)/confirmation"
            let mine = try await gavel.request(.get, path, token: sold.winner.token)
            #expect(mine.status == .ok, "\(mine.text)")
            #expect(try mine.json["buyer"]?["name"] == .string("Dealer 3"))
            #expect(try mine.json["buyer"]?["verified"] == .bool(false))
            #expect(try mine.json["price"] == .integer(8_000_000) && mine.json["amountDue"] == .integer(7_840_000))
            #expect(try mine.json["buyerNamePublished"] == .bool(false))
            #expect(try await gavel.request(
                .post, "/v1/bidders/\(sold.winner.id)/verification", token: sold.open.finance.token,
                json: #"{"legalName": "<Chen> Auto Trading Co.", "idNumber": "91310000MA1FL00000"}"#).status == .ok)
            let named = try await gavel.request(.get, path, token: sold.open.disposal.manager.token).json
            #expect(named["buyer"] == .object(["id": .string(sold.winner.id), "name": .string("<Chen> Auto Trading Co."), "verified": .bool(true)]))
            let page = try await gavel.request(.get, path + "?lang=zh-CN", token: sold.winner.token, headers: [.accept: "text/html"]).text
            for words in ["成交确认书", "买受人", "&lt;Chen&gt; Auto Trading Co.", "80,000.00 CNY", "78,400.00 CNY", "1HGCM82633A004352"] {
                #expect(page.contains(words), "missing: \(words)")
            }
            #expect(!page.contains("<Chen>"))
            let english = try await gavel.request(.get, path, token: sold.open.finance.token, headers: [.accept: "text/html"]).text
            #expect(english.contains("Sale confirmation") && english.contains("Amount due"))
            #expect(try await gavel.request(.get, path, token: sold.open.bidders[0].token).status == .notFound)
            let stranger = try await gavel.createUser(.manager, consignorId: try await gavel.createConsignor("Other Bank"))
            #expect(try await gavel.request(.get, path, token: stranger.token).status == .notFound)
            #expect(try await gavel.request(.get, "/v1/lots/\(UUID())/confirmation", token: sold.open.finance.token).status == .notFound)
        }
    }
}
