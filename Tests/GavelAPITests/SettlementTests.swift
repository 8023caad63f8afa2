import CSV
import Foundation
import GavelCore
import HTTPTypes
import Testing

@Suite("Settlement through the API")
struct SettlementTests {
    static func expense(_ gavel: Harness, _ caseId: String, _ kind: String, _ amount: Int64, token: String) async throws {
        let reply = try await gavel.request(
            .post, "/v1/cases/\(caseId)/expenses", token: token,
            json: #"{"kind": "\#(kind)", "amount": \#(amount), "incurredOn": "2026-10-15"}"#)
        guard reply.status == .created else { throw TestSetupError("expense: \(reply.text)") }
    }

    static func settle(_ gavel: Harness, _ caseId: String, token: String, date: String = "2026-11-20") async throws -> Harness.Reply {
        try await gavel.request(.post, "/v1/cases/\(caseId)/settlement", token: token, json: #"{"settlementDate": "\#(date)"}"#)
    }

    static func amounts(_ list: JSONValue?, _ key: String = "amount") -> [Int64] {
        (list?.array ?? []).map { if case .integer(let n) = $0[key] { n } else { -1 } }
    }

    /// Vector E's case: sold at 8 000 000 and paid (seller fee 160 000), with 570 000 of
    /// other expenses, so 730 000 in all.
    static func surplusCase(_ gavel: Harness, borrower: String = "Wang Li") async throws -> (SoldLot, String) {
        let sold = try await SoldLot.start(gavel, credits: false, borrower: borrower)
        let caseId = sold.open.disposal.caseId
        let finance = sold.open.finance.token
        let early = try await Self.settle(gavel, caseId, token: finance)
        #expect(early.status == .conflict)
        #expect(try early.problemCode == "case-not-ready")
        #expect(try await sold.pay(7_840_000).status == .created)
        try await Self.expense(gavel, caseId, "repossession", 450_000, token: finance)
        try await Self.expense(gavel, caseId, "storage", 120_000, token: finance)
        return (sold, caseId)
    }

    @Test("test vector E through HTTP: the statement, the proceeds account at zero, the surplus paid to the borrower")
    func vectorE() async throws {
        try await withGavel { gavel in
            let (sold, caseId) = try await Self.surplusCase(gavel)
            let finance = sold.open.finance.token
            #expect(try await gavel.request(.get, "/v1/cases/\(caseId)/settlement", token: finance).status == .notFound)
            let issued = try await Self.settle(gavel, caseId, token: finance)
            #expect(issued.status == .created, "\(issued.text)")
            let statement = try issued.json
            #expect(statement["settlementDate"] == .string("2026-11-20"))
            #expect(statement["obligation"]?["interest"] == .integer(425_000))
            #expect(statement["obligation"]?["total"] == .integer(6_445_000))
            #expect(statement["proceeds"]?["total"] == .integer(8_000_000))
            #expect(statement["expensesTotal"] == .integer(730_000))
            #expect(Self.amounts(statement["expenses"]) == [450_000, 120_000, 160_000])
            #expect(statement["allocation"]?.array?.map { $0["bucket"] } == ["expenses", "fees", "interest", "principal", "junior", "surplus"].map { JSONValue.string($0) })
            #expect(Self.amounts(statement["allocation"]) == [730_000, 20_000, 425_000, 6_000_000, 300_000, 525_000])
            #expect(statement["juniorDistributions"] == .array([.object(["name": .string("Second Bank"), "amount": .integer(300_000)])]))
            #expect(statement["surplus"] == .integer(525_000))
            #expect(statement["deficiency"] == .integer(0))
            // The junior's 300 000 has its line: the lines add up (domain rules section 8).
            #expect(Self.amounts(statement["explanation"]) == [6_370_000, 75_000, 8_000_000, -1_555_000, 730_000, 0, 300_000, 525_000])
            #expect(Self.amounts(statement["explanation"], "line") == Array(1...8))
            #expect(statement["explanation"]?.array?.map { $0["key"] } == [
                "obligation", "interest-accrued", "proceeds", "after-proceeds", "expenses", "credits", "juniors-paid", "surplus",
            ].map { JSONValue.string($0) })
            #expect(statement["interestTo"] == .string("2026-11-20"))
            #expect(statement["notices"]?["contact"] == .string(Policy.Settlement.defaultContact))
            #expect(try await gavel.request(.get, "/v1/cases/\(caseId)/settlement", token: sold.open.disposal.manager.token).json == statement)

            let books = try await Books.balances(gavel)
            #expect(books["case-proceeds"] == nil, "a settled case's proceeds account nets to zero")
            #expect(books["case-expenses"] == nil)
            #expect(books["borrower-payable"] == -525_000)
            #expect(books["lienholders-payable"] == -300_000)
            #expect(books["consignor-payable"] == -6_445_000)

            let refunds = try await gavel.request(.get, "/v1/surplus-refunds", token: finance).json
            let refund = try #require(refunds["items"]?.array?.first)
            #expect(refund["amount"] == .integer(525_000))
            #expect(refund["status"] == .string("pending"))
            #expect(refund["borrower"] == .string("Wang Li"))
            guard case .string(let refundId) = refund["id"] else { return }
            let paid = try await gavel.request(.post, "/v1/surplus-refunds/\(refundId)/pay", token: finance, json: #"{"reference": "SURPLUS-1"}"#)
            #expect(try paid.json["status"] == .string("paid"))
            #expect(try await gavel.request(.post, "/v1/surplus-refunds/\(refundId)/pay", token: finance, json: #"{"reference": "AGAIN"}"#).problemCode == "refund-not-pending")
            #expect(try await Books.balances(gavel)["borrower-payable"] == nil)
            // Money has gone out on this statement: it can no longer be corrected.
            #expect(try await Self.settle(gavel, caseId, token: finance, date: "2026-11-21").problemCode == "settlement-locked")
        }
    }

    /// Vector F's case: the first winner defaults (590 000 forfeited), the second round
    /// sells at 5 000 000 below the reserve, accepted and paid (seller fee 100 000), with
    /// 570 000 of other expenses, so 670 000 in all.
    static func deficiencyCase(_ gavel: Harness) async throws -> (caseId: String, finance: String) {
        let sold = try await SoldLot.start(gavel, credits: false)
        let caseId = sold.open.disposal.caseId
        let finance = sold.open.finance.token
        let manager = sold.open.disposal.manager.token
        #expect(try await sold.declareDefaultAsItFallsDue().status == .ok)
        let relist = try await gavel.request(
            .post, "/v1/lots/\(sold.open.lotId)/relist", token: manager,
            json: #"{"startsAt": "\#(Disposal.timestamp(-60))", "endsAt": "\#(Disposal.timestamp(86_400))"}"#)
        #expect(relist.status == .created, "\(relist.text)")
        let lotId = try relist.string("id")
        guard case .integer(let deposit) = try relist.json["depositAmount"] else { throw TestSetupError("no deposit: \(relist.text)") }
        var bidders: [(id: String, token: String)] = []
        for name in ["Dealer 8", "Dealer 9"] {
            let bidder = try await gavel.createUser(.bidder, name: name)
            _ = try await gavel.request(
                .post, "/v1/lots/\(lotId)/deposits", token: finance,
                json: #"{"bidderId": "\#(bidder.id)", "amount": \#(deposit), "reference": "R2-\#(name)"}"#)
            bidders.append(bidder)
        }
        for (bidder, amount) in [(bidders[0], 5_500_000), (bidders[1], 4_950_000)] {
            let bid = try await gavel.request(.post, "/v1/lots/\(lotId)/bids", token: bidder.token, json: #"{"maxAmount": \#(amount)}"#)
            #expect(bid.status == .created, "\(bid.text)")
        }
        try await LotEventsTests.endNow(gavel, lotId)
        let closed = try await ClosingTests.waitForClose(gavel, lotId)
        #expect(closed["status"] == .string("pending-approval"))
        #expect(try await gavel.request(.post, "/v1/lots/\(lotId)/decision", token: manager, json: #"{"accept": true}"#).status == .ok)
        let invoice = try await gavel.request(.get, "/v1/lots/\(lotId)/invoice", token: finance).json
        #expect(invoice["price"] == .integer(5_000_000))
        guard case .string(let invoiceId) = invoice["id"], case .integer(let due) = invoice["amountDue"] else {
            throw TestSetupError("no invoice: \(invoice)")
        }
        #expect(try await gavel.request(
            .post, "/v1/invoices/\(invoiceId)/payments", token: finance,
            json: #"{"amount": \#(due), "reference": "R2-PAY", "receivedOn": "2026-11-20"}"#).status == .created)
        try await Self.expense(gavel, caseId, "repossession", 450_000, token: finance)
        try await Self.expense(gavel, caseId, "transport", 120_000, token: finance)
        return (caseId, finance)
    }

    @Test("test vector F through HTTP: a default, the next round sold below the reserve, and the deficiency claim")
    func vectorF() async throws {
        try await withGavel { gavel in
            let (caseId, finance) = try await Self.deficiencyCase(gavel)
            let statement = try await Self.settle(gavel, caseId, token: finance).json
            #expect(statement["proceeds"] == .object([
                "hammer": .integer(5_000_000), "forfeitedDeposits": .integer(590_000), "redemption": .integer(0),
                "total": .integer(5_590_000)]))
            #expect(statement["expensesTotal"] == .integer(670_000))
            #expect(Self.amounts(statement["allocation"]) == [670_000, 20_000, 425_000, 4_475_000, 0, 0])
            #expect(Self.amounts(statement["juniorDistributions"]) == [0])
            #expect(statement["surplus"] == .integer(0))
            #expect(statement["deficiency"] == .integer(1_525_000))
            #expect(statement["explanation"]?.array?.last?["label"] == .string("Deficiency"))
            #expect(try await Books.balances(gavel)["case-proceeds"] == nil)

            let claims = try await gavel.request(.get, "/v1/deficiency-claims", token: finance).json
            let claim = try #require(claims["items"]?.array?.first)
            #expect(claim["amount"] == .integer(1_525_000))
            // A guarantee whose type was not agreed is general (PRC Civil Code art. 686): the
            // guarantor answers only for what the borrower cannot pay, not jointly.
            #expect(claim["jointlyLiable"] == .array([.string("Wang Li")]))
            #expect(claim["debtors"]?.array?.map { $0["guaranteeType"] } == [nil, .string("general")])
            guard case .string(let claimId) = claim["id"] else { return }
            let path = "/v1/deficiency-claims/\(claimId)"
            let recovered = try await gavel.request(
                .post, "\(path)/recoveries", token: finance,
                json: #"{"amount": 25000, "reference": "GUARANTOR-1", "receivedOn": "2026-11-21", "payer": "Zhang Wei"}"#)
            #expect(recovered.status == .created)
            #expect(try recovered.json["outstanding"] == .integer(1_500_000))
            #expect(try recovered.json["recoveries"]?.array?.map { $0["payer"] } == [.string("Zhang Wei")])
            #expect(try await gavel.request(
                .post, "\(path)/recoveries", token: finance,
                json: #"{"amount": 1, "reference": "X", "receivedOn": "2026-11-21", "payer": "A stranger"}"#).status == .unprocessableContent)
            #expect(try await gavel.request(
                .post, "\(path)/recoveries", token: finance, json: #"{"amount": 1500001, "reference": "X", "receivedOn": "2026-11-21"}"#
            ).problemCode == "overpayment")
            let writtenOff = try await gavel.request(.post, "\(path)/write-off", token: finance, json: #"{"reason": "borrower insolvent"}"#)
            #expect(try writtenOff.json["status"] == .string("written-off"))
            #expect(try await gavel.request(
                .post, "\(path)/recoveries", token: finance, json: #"{"amount": 1, "reference": "X", "receivedOn": "2026-11-21"}"#
            ).problemCode == "claim-not-open")
            #expect(try await Books.balances(gavel)["consignor-payable"] == -(20_000 + 425_000 + 4_475_000 + 25_000))
            let page = try await gavel.request(.get, "/v1/cases/\(caseId)/settlement", token: finance, headers: [.accept: "text/html"])
            #expect(page.text.contains("Deficiency: 15,250.00 CNY"))
            #expect(page.text.contains("Zhang Wei"))
            #expect(page.text.contains("general guarantor"))
            #expect(!page.text.contains("jointly liable"))
        }
    }

    @Test("a deficiency recovered in full settles the claim; nothing more is taken")
    func claimSettled() async throws {
        try await withGavel { gavel in
            let (caseId, finance) = try await Self.deficiencyCase(gavel)
            #expect(try await Self.settle(gavel, caseId, token: finance).status == .created)
            let claims = try await gavel.request(.get, "/v1/deficiency-claims", token: finance).json
            guard case .string(let claimId) = claims["items"]?.array?.first?["id"] else {
                Issue.record("no claim: \(claims)")
                return
            }
            for (amount, reference, payer) in [(1_000_000, "BORROWER-1", "Wang Li"), (525_000, "GUARANTOR-1", "Zhang Wei")] as [(Int64, String, String)] {
                let reply = try await gavel.request(
                    .post, "/v1/deficiency-claims/\(claimId)/recoveries", token: finance,
                    json: #"{"amount": \#(amount), "reference": "\#(reference)", "receivedOn": "2026-11-22", "payer": "\#(payer)"}"#)
                #expect(reply.status == .created)
            }
            let settled = try await gavel.request(.get, "/v1/deficiency-claims", token: finance).json["items"]?.array?.first
            #expect(settled?["status"] == .string("settled"))
            #expect(settled?["recoveries"]?.array?.map { $0["payer"] } == [.string("Wang Li"), .string("Zhang Wei")])
            #expect(settled?["outstanding"] == .integer(0))
            #expect(try await gavel.request(
                .post, "/v1/deficiency-claims/\(claimId)/recoveries", token: finance,
                json: #"{"amount": 1, "reference": "LATE", "receivedOn": "2026-11-22"}"#).problemCode == "claim-not-open")
            #expect(try await gavel.request(
                .post, "/v1/deficiency-claims/\(claimId)/write-off", token: finance, json: #"{"reason": "too late"}"#
            ).problemCode == "claim-not-open")
            #expect(try await gavel.count("journal_entries WHERE kind = 'deficiency-recovery'") == 2)
            // Recoveries locked the statement against correction.
            #expect(try await Self.settle(gavel, caseId, token: finance, date: "2026-11-21").problemCode == "settlement-locked")
        }
    }

    @Test("a correction issues a new statement that supersedes and reverses the old one")
    func correction() async throws {
        try await withGavel { gavel in
            let (sold, caseId) = try await Self.surplusCase(gavel)
            let finance = sold.open.finance.token
            let first = try await Self.settle(gavel, caseId, token: finance).json
            let second = try await Self.settle(gavel, caseId, token: finance, date: "2026-11-22")
            #expect(second.status == .created)
            #expect(try second.json["supersedes"] == first["id"])
            // Interest stopped when the buyer's money arrived (2026-11-20): a later statement
            // does not enlarge what the borrower owes (domain rules section 8).
            #expect(try second.json["surplus"] == .integer(525_000))
            #expect(try second.json["interestTo"] == .string("2026-11-20"))
            #expect(try second.json["settlementDate"] == .string("2026-11-22"))
            #expect(try await gavel.request(.get, "/v1/cases/\(caseId)/settlement", token: finance).json == second.json)
            let refunds = try await gavel.request(.get, "/v1/surplus-refunds", token: finance).json["items"]?.array ?? []
            #expect(refunds.map { $0["status"] } == [.string("cancelled"), .string("pending")])
            #expect(try await gavel.count("journal_entries WHERE kind = 'settlement-reversal'") == 1)
            let books = try await Books.balances(gavel)
            #expect(books["case-proceeds"] == nil)
            #expect(books["borrower-payable"] == -525_000)
            await #expect(throws: (any Error).self) {
                try await gavel.sql { connection in
                    try await connection.query("UPDATE settlement_statements SET surplus = 1", logger: quietLogger)
                }
            }
        }
    }

    @Test("CSV reads back to the same numbers; the printable page escapes every field")
    func documents() async throws {
        try await withGavel { gavel in
            let (sold, caseId) = try await Self.surplusCase(gavel, borrower: "<script>alert('x')</script> & Sons")
            let finance = sold.open.finance.token
            let statement = try await Self.settle(gavel, caseId, token: finance).json
            let csv = try await gavel.request(.get, "/v1/cases/\(caseId)/settlement", token: finance, headers: [.accept: "text/csv"])
            #expect(csv.headers[.contentType]?.hasPrefix("text/csv") == true)
            // A header block names the statement; the table follows a blank line.
            let parts = csv.text.components(separatedBy: "\n\n")
            #expect(parts.count == 2, "\(csv.text)")
            #expect(parts[0].contains("loan number,LN-1HGCM82633A004352") && parts[0].contains("currency,CNY"))
            #expect(parts[0].contains("settlement date,2026-11-20"))
            let reader = try CSVReader(string: parts.last ?? "", hasHeaderRow: true)
            var rows: [String: Int64] = [:]
            while let row = reader.next() { rows["\(row[0])/\(row[1])"] = Int64(row[2]) }
            #expect(rows["obligation/total"] == 6_445_000)
            #expect(rows["proceeds/total"] == 8_000_000)
            #expect(rows["allocation/principal"] == 6_000_000)
            #expect(rows["junior/Second Bank"] == 300_000)
            #expect(rows["result/surplus"] == 525_000)
            #expect(rows["expense/seller-fee"] == 160_000)
            #expect(rows.keys.filter { $0.hasPrefix("explanation/") }.count == 8)
            #expect(statement["surplus"] == .integer(rows["result/surplus"] ?? -1))

            let html = try await gavel.request(.get, "/v1/cases/\(caseId)/settlement", token: finance, headers: [.accept: "text/html"])
            #expect(html.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(!html.text.contains("<script>"))
            #expect(html.text.contains("&lt;script&gt;"))
            #expect(html.text.contains("First Auto Finance"))
            #expect(html.text.contains("1HGCM82633A004352"))
            #expect(html.text.contains("5,250.00 CNY"))  // the surplus, in yuan
            #expect(html.text.contains("80,000.00 CNY"))  // the sale price
            #expect(html.text.contains("Surplus"))
        }
    }

    @Test("who may settle and read: finance and admins settle; the case's managers read; others are refused")
    func access() async throws {
        try await withGavel { gavel in
            let (sold, caseId) = try await Self.surplusCase(gavel)
            let manager = sold.open.disposal.manager.token
            #expect(try await Self.settle(gavel, caseId, token: manager).status == .forbidden)
            #expect(try await Self.settle(gavel, caseId, token: sold.open.finance.token, date: "2099-01-01").status == .unprocessableContent)
            #expect(try await Self.settle(gavel, caseId, token: sold.open.finance.token, date: "2026-09-30").status == .unprocessableContent)
            #expect(try await Self.settle(gavel, "\(UUID())", token: sold.open.finance.token).status == .notFound)
            #expect(try await Self.settle(gavel, caseId, token: gavel.adminToken).status == .created)
            let otherConsignor = try await gavel.createConsignor("Other Bank")
            let stranger = try await gavel.createUser(.manager, consignorId: otherConsignor)
            #expect(try await gavel.request(.get, "/v1/cases/\(caseId)/settlement", token: stranger.token).status == .notFound)
            #expect(try await gavel.request(.get, "/v1/cases/\(caseId)/settlement", token: manager).status == .ok)
            #expect(try await gavel.request(.get, "/v1/cases/\(caseId)/settlement", token: sold.winner.token).status == .forbidden)
        }
    }
}
