import Foundation
import GavelCore
@testable import GavelAPI
import HTTPTypes
import Testing

/// Every case to an end, and the money out (domain rules section 10), through HTTP.
@Suite("Every case to an end: payouts, cancel, return, redemption, reopening")
struct CaseEndsTests {
    static func payables(_ gavel: Harness, _ caseId: String, token: String) async throws -> [String: Int64] {
        let reply = try await gavel.request(.get, "/v1/payables?caseId=\(caseId)", token: token)
        guard reply.status == .ok else { throw TestSetupError("payables: \(reply.text)") }
        var open: [String: Int64] = [:]
        for item in try reply.json["items"]?.array ?? [] {
            if case .string(let kind) = item["kind"], case .string(let payee) = item["payee"], case .integer(let amount) = item["amount"] {
                open["\(kind) \(payee)"] = amount
            }
        }
        return open
    }

    static func payout(
        _ gavel: Harness, _ caseId: String, _ kind: String, _ payee: String, _ amount: Int64, token: String,
        reference: String? = nil, key: String? = nil
    ) async throws -> Harness.Reply {
        var headers: HTTPFields = [:]
        if let key { headers[HTTPField.Name("Idempotency-Key")!] = key }
        return try await gavel.request(.post, "/v1/payouts", token: token, json: """
            {"kind": "\(kind)", "caseId": "\(caseId)", "payee": "\(payee)", "amount": \(amount),
             "reference": "\(reference ?? "OUT-\(kind)-\(amount)")", "paidOn": "2026-11-21"}
            """, headers: headers)
    }

    static func caseStatus(_ gavel: Harness, _ caseId: String) async throws -> String {
        let reply = try await gavel.request(.get, "/v1/cases/\(caseId)", token: gavel.adminToken)
        return try reply.string("status")
    }

    @Test("test vector I: after vector E every payable is paid out, each refused past its balance, and the case closes with its accounts at zero")
    func vectorI() async throws {
        try await withGavel { gavel in
            let (sold, caseId) = try await SettlementTests.surplusCase(gavel)
            let finance = sold.open.finance.token
            #expect(try await Self.caseStatus(gavel, caseId) == "ready")
            #expect(try await SettlementTests.settle(gavel, caseId, token: finance).status == .created)
            #expect(try await Self.caseStatus(gavel, caseId) == "settled")
            // Vector I: consignor 6 445 000, junior 300 000, surplus 525 000, vendors 570 000
            // (the seller fee 160 000 is the platform's and owed to no one).
            #expect(try await Self.payables(gavel, caseId, token: finance) == [
                "consignor First Auto Finance": 6_445_000, "lienholder Second Bank": 300_000,
                "surplus-refund Wang Li": 525_000, "vendor repossession": 450_000, "vendor storage": 120_000,
            ])
            // One yuan more than is open is an overpayment; a payee the case does not owe has 0 open.
            let over = try await Self.payout(gavel, caseId, "consignor", "First Auto Finance", 6_445_001, token: finance)
            #expect(over.status == .unprocessableContent)
            #expect(try over.problemCode == "overpayment")
            #expect(try over.json["outstanding"] == .integer(6_445_000))
            #expect(try await Self.payout(gavel, caseId, "lienholder", "Third Bank", 1, token: finance).problemCode == "overpayment")
            #expect(try await Self.payout(gavel, caseId, "vendor", "storage", 0, token: finance).status == .unprocessableContent)
            #expect(try await gavel.count("payouts") == 0)

            // In parts, retried with the same key: posted once.
            let first = try await Self.payout(gavel, caseId, "consignor", "First Auto Finance", 6_000_000, token: finance, key: "pay-1")
            #expect(first.status == .created, "\(first.text)")
            let again = try await Self.payout(gavel, caseId, "consignor", "First Auto Finance", 6_000_000, token: finance, key: "pay-1")
            #expect(try again.json == first.json)
            #expect(try await gavel.count("payouts") == 1)
            let rest = try await Self.payout(gavel, caseId, "consignor", "First Auto Finance", 445_000, token: finance)
            #expect(rest.status == .created, "\(rest.text)")
            #expect(try await Self.payout(gavel, caseId, "lienholder", "Second Bank", 300_000, token: finance).status == .created)
            #expect(try await Self.payout(gavel, caseId, "vendor", "repossession", 450_000, token: finance).status == .created)
            #expect(try await Self.caseStatus(gavel, caseId) == "settled")
            #expect(try await Self.payout(gavel, caseId, "vendor", "storage", 120_000, token: finance).status == .created)
            #expect(try await Self.caseStatus(gavel, caseId) == "settled", "the surplus is still owed")
            let refunds = try await gavel.request(.get, "/v1/surplus-refunds", token: finance).json
            guard case .string(let refundId)? = refunds["items"]?.array?.first?["id"] else { throw TestSetupError("no refund") }
            #expect(try await gavel.request(
                .post, "/v1/surplus-refunds/\(refundId)/pay", token: finance, json: #"{"reference": "SURPLUS-1"}"#).status == .ok)
            #expect(try await Self.caseStatus(gavel, caseId) == "closed")
            #expect(try await Self.payables(gavel, caseId, token: finance).isEmpty)
            let books = try await Books.balances(gavel)
            for payable in ["consignor-payable", "lienholders-payable", "expenses-payable", "borrower-payable", "consignor-receivable"] {
                #expect(books[payable] == nil, "\(payable) holds \(books[payable] ?? 0)")
            }
            // The platform keeps the seller fee, the premium and the doc fee.
            #expect(books["seller-fee-revenue"] == -160_000)
            #expect(books["platform-fee-revenue"] == -430_000)
            // The losers' deposits are owed to them, not to the case: the case closed anyway.
            #expect(books["bidder-deposits-held"] == -2 * 590_000)
            // A closed case takes nothing more, and its statement is locked.
            #expect(try await SettlementTests.settle(gavel, caseId, token: finance).problemCode == "settlement-locked")
            let expense = try await gavel.request(
                .post, "/v1/cases/\(caseId)/expenses", token: finance,
                json: #"{"kind": "storage", "amount": 1, "incurredOn": "2026-11-20"}"#)
            #expect(try expense.problemCode == "case-settled")
            let listed = try await gavel.request(.get, "/v1/payouts?caseId=\(caseId)&kind=vendor", token: finance).json
            #expect(listed["items"]?.array?.map { $0["payee"] } == [.string("repossession"), .string("storage")])

            // Every receipt and payout matches a bank line: surplus payout and payouts included.
            let upload = try await gavel.request(
                .post, "/v1/reconciliation/bank-lines", token: finance, json: """
                date,amount,reference,counterparty
                2026-11-20,78400.00,WIRE-7840000,Dealer 2
                2026-11-21,-60000.00,OUT-consignor-6000000,First Auto Finance
                2026-11-21,-4450.00,OUT-consignor-445000,First Auto Finance
                2026-11-21,-3000.00,OUT-lienholder-300000,Second Bank
                2026-11-21,-4500.00,OUT-vendor-450000,Tow Co
                2026-11-21,-1200.00,OUT-vendor-120000,Yard
                2026-11-30,-5250.00,SURPLUS-1,Wang Li
                """, headers: [.contentType: "text/csv"])
            #expect(upload.status == .ok, "\(upload.text)")
            #expect(try upload.json["matched"]?.array?.count == 7, "\(upload.text)")
            #expect(try upload.json["unmatchedBankLines"]?.array?.isEmpty == true)
        }
    }

    @Test("test vector G through HTTP: the buyer paid on 2026-11-10, the statement is made on 2026-11-20")
    func vectorG() async throws {
        try await withGavel { gavel in
            let sold = try await SoldLot.start(gavel, credits: false)
            let caseId = sold.open.disposal.caseId
            let finance = sold.open.finance.token
            #expect(try await gavel.request(
                .post, "/v1/invoices/\(sold.invoiceId)/payments", token: finance,
                json: #"{"amount": 7840000, "reference": "WIRE-G", "receivedOn": "2026-11-10"}"#).status == .created)
            try await SettlementTests.expense(gavel, caseId, "repossession", 450_000, token: finance)
            try await SettlementTests.expense(gavel, caseId, "storage", 120_000, token: finance)
            let statement = try await SettlementTests.settle(gavel, caseId, token: finance).json
            #expect(statement["interestTo"] == .string("2026-11-10"))
            #expect(statement["obligation"]?["interest"] == .integer(410_000))
            #expect(statement["surplus"] == .integer(540_000))
            #expect(SettlementTests.amounts(statement["explanation"]) == [6_370_000, 60_000, 8_000_000, -1_570_000, 730_000, 0, 300_000, 540_000])
        }
    }

    @Test("test vector H through HTTP: the payoff quote as of 2026-11-05")
    func vectorH() async throws {
        try await withGavel { gavel in
            let disposal = try await Disposal.start(gavel, credits: false)
            _ = try await disposal.addVehicle()
            let finance = try await gavel.createUser(.finance)
            try await SettlementTests.expense(gavel, disposal.caseId, "repossession", 400_000, token: finance.token)
            let quote = try await gavel.request(.get, "/v1/cases/\(disposal.caseId)/payoff?asOf=2026-11-05", token: disposal.manager.token)
            #expect(quote.status == .ok, "\(quote.text)")
            #expect(try quote.json["obligation"] == .object([
                "fees": .integer(20_000), "interest": .integer(402_500), "principal": .integer(6_000_000), "total": .integer(6_422_500)]))
            #expect(try quote.json["expensesTotal"] == .integer(400_000))
            #expect(try quote.json["payoff"] == .integer(6_822_500))
            #expect(try await gavel.request(.get, "/v1/cases/\(disposal.caseId)/payoff?asOf=2026-09-30", token: finance.token).status
                    == .unprocessableContent)
            #expect(try await gavel.request(.get, "/v1/cases/\(disposal.caseId)/payoff?asOf=soon", token: finance.token).status
                    == .unprocessableContent)
            let other = try await gavel.createUser(.manager, consignorId: try await gavel.createConsignor("Other Bank"))
            #expect(try await gavel.request(.get, "/v1/cases/\(disposal.caseId)/payoff", token: other.token).status == .notFound)
        }
    }

    @Test("redemption: below the payoff is refused; at it, the live lot is cancelled, the vehicle released and the case redeemed, then closed")
    func redemption() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 2, credits: false)
            let caseId = lot.disposal.caseId
            let finance = lot.finance.token
            #expect(try await lot.bid(0, 6_000_000).status == .created)
            try await SettlementTests.expense(gavel, caseId, "repossession", 400_000, token: finance)
            let quote = try await gavel.request(.get, "/v1/cases/\(caseId)/payoff?asOf=2026-11-05", token: finance).json
            #expect(quote["payoff"] == .integer(6_822_500))
            let short = try await gavel.request(
                .post, "/v1/cases/\(caseId)/redemption", token: finance,
                json: #"{"amount": 6822499, "reference": "REDEEM-1", "receivedOn": "2026-11-05"}"#)
            #expect(short.status == .unprocessableContent)
            #expect(try short.problemCode == "validation-failed")
            #expect(try await gavel.count("case_receipts") == 0)
            let redeemed = try await gavel.request(
                .post, "/v1/cases/\(caseId)/redemption", token: finance,
                json: #"{"amount": 6900000, "reference": "REDEEM-1", "receivedOn": "2026-11-05"}"#)
            #expect(redeemed.status == .created, "\(redeemed.text)")
            let statement = try redeemed.json
            #expect(statement["kind"] == .string("redemption"))
            #expect(statement["settlementDate"] == .string("2026-11-05"))
            #expect(statement["interestTo"] == .string("2026-11-05"))
            #expect(statement["proceeds"]?["redemption"] == .integer(6_900_000))
            #expect(statement["surplus"] == .integer(77_500), "what exceeds the payoff is the borrower's")
            #expect(statement["juniorDistributions"] == .array([]), "a junior's lien follows the collateral back")
            #expect(try await Self.caseStatus(gavel, caseId) == "redeemed")
            let after = try await gavel.request(.get, "/v1/lots/\(lot.lotId)", token: finance).json
            #expect(after["status"] == .string("cancelled"))
            let deposits = try await gavel.request(.get, "/v1/deposits?lotId=\(lot.lotId)", token: finance).json
            #expect(deposits["items"]?.array?.allSatisfy { $0["status"] == .string("refund-due") } == true)
            #expect(try await lot.bid(0, 6_500_000).problemCode == "lot-not-open")
            let vehicles = try await gavel.request(.get, "/v1/vehicles?caseId=\(caseId)", token: finance).json
            #expect(vehicles["items"]?.array?.map { $0["status"] } == [.string("released")])
            // Redeemed once; nothing is redeemed twice.
            #expect(try await gavel.request(
                .post, "/v1/cases/\(caseId)/redemption", token: finance,
                json: #"{"amount": 6900000, "reference": "REDEEM-2", "receivedOn": "2026-11-05"}"#).problemCode == "case-settled")
            // The lender's 6 422 500, the tow company's 400 000, the borrower's surplus: then closed.
            #expect(try await Self.payables(gavel, caseId, token: finance) == [
                "consignor First Auto Finance": 6_422_500, "surplus-refund Wang Li": 77_500, "vendor repossession": 400_000,
            ])
            #expect(try await Self.payout(gavel, caseId, "consignor", "First Auto Finance", 6_422_500, token: finance).status == .created)
            #expect(try await Self.payout(gavel, caseId, "vendor", "repossession", 400_000, token: finance).status == .created)
            let refund = try await gavel.request(.get, "/v1/surplus-refunds", token: finance).json
            guard case .string(let refundId)? = refund["items"]?.array?.first?["id"] else { throw TestSetupError("no refund") }
            #expect(try await gavel.request(
                .post, "/v1/surplus-refunds/\(refundId)/pay", token: finance, json: #"{"reference": "SURPLUS-R"}"#).status == .ok)
            #expect(try await Self.caseStatus(gavel, caseId) == "closed")
        }
    }

    @Test("redemption once every vehicle is sold is 409 collateral-disposed")
    func collateralDisposed() async throws {
        try await withGavel { gavel in
            let (sold, caseId) = try await SettlementTests.surplusCase(gavel)
            let reply = try await gavel.request(
                .post, "/v1/cases/\(caseId)/redemption", token: sold.open.finance.token,
                json: #"{"amount": 9000000, "reference": "LATE", "receivedOn": "2026-11-20"}"#)
            #expect(reply.status == .conflict)
            #expect(try reply.problemCode == "collateral-disposed")
        }
    }

    @Test("a cancelled lot: reason required, deposits owed back, no more bids, shown to its bidders and in ?status=closed")
    func cancel() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 2)
            let manager = lot.disposal.manager.token
            #expect(try await lot.bid(0, 6_000_000).status == .created)
            #expect(try await gavel.request(.post, "/v1/lots/\(lot.lotId)/cancel", token: manager, json: "{}").status
                    == .unprocessableContent)
            #expect(try await gavel.request(
                .post, "/v1/lots/\(lot.lotId)/cancel", token: lot.bidders[0].token, json: #"{"reason": "mine"}"#).status == .forbidden)
            let cancelled = try await gavel.request(
                .post, "/v1/lots/\(lot.lotId)/cancel", token: manager, json: #"{"reason": "recalled by the maker"}"#)
            #expect(cancelled.status == .ok, "\(cancelled.text)")
            #expect(try cancelled.string("status") == "cancelled")
            #expect(try await gavel.request(
                .post, "/v1/lots/\(lot.lotId)/cancel", token: manager, json: #"{"reason": "again"}"#).status == .conflict)
            #expect(try await lot.bid(0, 7_000_000).problemCode == "lot-not-open")
            #expect(try await lot.bid(1, 7_000_000).status == .notFound, "a cancelled lot it never bid on does not exist for it")
            #expect(try await gavel.count("invoices") == 0)
            #expect(try await gavel.count("deposits WHERE status = 'refund-due'") == 2)
            // The bidder who bid sees how it ended; one who did not, does not see it at all.
            #expect(try await gavel.request(.get, "/v1/lots/\(lot.lotId)", token: lot.bidders[0].token).json["status"]
                    == .string("cancelled"))
            #expect(try await gavel.request(.get, "/v1/lots/\(lot.lotId)", token: lot.bidders[1].token).status == .notFound)
            let over = try await gavel.request(.get, "/v1/lots?status=closed", token: lot.bidders[0].token).json
            #expect(over["items"]?.array?.map { $0["id"] } == [.string(lot.lotId)])
            #expect(try await gavel.request(.get, "/v1/lots?status=closed", token: lot.bidders[1].token).json["items"] == .array([]))
            #expect(try await gavel.request(.get, "/v1/lots?status=closed", token: manager).json["items"]?.array?.count == 1)
            let audit = try await gavel.request(.get, "/v1/audit?entityId=\(lot.lotId)", token: gavel.adminToken).json
            #expect(audit["items"]?.array?.contains { $0["action"] == .string("lot.cancel") } == true)
        }
    }

    @Test("returning every vehicle withdraws the case: no statement, its expenses owed by the consignor and paid on to the vendor")
    func withdrawal() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 1)
            let caseId = lot.disposal.caseId
            let manager = lot.disposal.manager.token
            let finance = lot.finance.token
            try await SettlementTests.expense(gavel, caseId, "transport", 80_000, token: finance)
            let vehicles = try await gavel.request(.get, "/v1/vehicles?caseId=\(caseId)&status=listed", token: manager).json
            guard case .string(let vehicleId)? = vehicles["items"]?.array?.first?["id"] else { throw TestSetupError("no listed vehicle") }
            let live = try await gavel.request(.post, "/v1/vehicles/\(vehicleId)/return", token: manager, json: #"{"reason": "unsaleable"}"#)
            #expect(live.status == .conflict, "a live lot holds the vehicle")
            #expect(try await gavel.request(.post, "/v1/lots/\(lot.lotId)/cancel", token: manager, json: #"{"reason": "flood damage"}"#).status == .ok)
            let returned = try await gavel.request(.post, "/v1/vehicles/\(vehicleId)/return", token: manager, json: #"{"reason": "unsaleable: flood damage"}"#)
            #expect(returned.status == .ok, "\(returned.text)")
            #expect(try returned.string("status") == "returned")
            #expect(try returned.string("returnReason") == "unsaleable: flood damage")
            #expect(try await Self.caseStatus(gavel, caseId) == "withdrawn")
            #expect(try await Self.payables(gavel, caseId, token: finance) == [
                "consignor-receivable First Auto Finance": 80_000, "vendor transport": 80_000,
            ])
            #expect(try await SettlementTests.settle(gavel, caseId, token: finance).problemCode == "case-settled")
            #expect(try await gavel.request(
                .post, "/v1/cases/\(caseId)/vehicles", token: manager, json: Disposal.vehicleBody(vin: "JH4KA7561PC008269")).problemCode
                    == "case-settled")
            #expect(try await gavel.count("deficiency_claims") == 0)
            let over = try await gavel.request(
                .post, "/v1/cases/\(caseId)/consignor-payments", token: finance,
                json: #"{"amount": 80001, "reference": "LENDER-1", "receivedOn": "2026-11-20"}"#)
            #expect(try over.problemCode == "overpayment")
            #expect(try over.json["outstanding"] == .integer(80_000))
            #expect(try await gavel.request(
                .post, "/v1/cases/\(caseId)/consignor-payments", token: finance,
                json: #"{"amount": 80000, "reference": "LENDER-1", "receivedOn": "2026-11-20"}"#).status == .created)
            #expect(try await Self.payout(gavel, caseId, "vendor", "transport", 80_000, token: finance).status == .created)
            let books = try await Books.balances(gavel)
            #expect(books["consignor-receivable"] == nil && books["expenses-payable"] == nil && books["case-expenses"] == nil)
            let payments = try await gavel.request(.get, "/v1/cases/\(caseId)/payments", token: manager).json
            #expect(payments["items"]?.array?.map { $0["kind"] } == [.string("consignor-payment")])
        }
    }

    @Test("reopening: a settled case is ready again with its statement reversed, until money moves on it")
    func reopen() async throws {
        try await withGavel { gavel in
            let (sold, caseId) = try await SettlementTests.surplusCase(gavel)
            let finance = sold.open.finance.token
            #expect(try await gavel.request(.post, "/v1/cases/\(caseId)/reopen", token: finance, json: #"{"reason": "early"}"#).status
                    == .conflict, "only a settled case is reopened")
            #expect(try await SettlementTests.settle(gavel, caseId, token: finance).status == .created)
            #expect(try await gavel.request(
                .post, "/v1/cases/\(caseId)/reopen", token: sold.open.disposal.manager.token, json: #"{"reason": "x"}"#).status == .forbidden)
            let reopened = try await gavel.request(
                .post, "/v1/cases/\(caseId)/reopen", token: finance, json: #"{"reason": "a storage invoice arrived late"}"#)
            #expect(reopened.status == .ok, "\(reopened.text)")
            #expect(try reopened.string("status") == "ready")
            #expect(try await gavel.request(.get, "/v1/cases/\(caseId)/settlement", token: finance).status == .notFound)
            #expect(try await gavel.count("settlement_statements WHERE status = 'reversed'") == 1)
            #expect(try await gavel.count("surplus_refunds WHERE status = 'cancelled'") == 1)
            let books = try await Books.balances(gavel)
            #expect(books["borrower-payable"] == nil && books["consignor-payable"] == nil)
            try await SettlementTests.expense(gavel, caseId, "storage", 5_000, token: finance)
            let again = try await SettlementTests.settle(gavel, caseId, token: finance)
            #expect(try again.json["surplus"] == .integer(520_000))
            #expect(try await Self.payout(gavel, caseId, "lienholder", "Second Bank", 300_000, token: finance).status == .created)
            let locked = try await gavel.request(.post, "/v1/cases/\(caseId)/reopen", token: finance, json: #"{"reason": "again"}"#)
            #expect(try locked.problemCode == "settlement-locked")
        }
    }

    @Test("borrower payments before the sale reduce the obligation, have their line, and more than is owed is refused")
    func borrowerPayments() async throws {
        try await withGavel { gavel in
            let sold = try await SoldLot.start(gavel, credits: false)
            let caseId = sold.open.disposal.caseId
            let finance = sold.open.finance.token
            let over = try await gavel.request(
                .post, "/v1/cases/\(caseId)/borrower-payments", token: finance,
                json: #"{"amount": 6416501, "reference": "BORROWER-X", "receivedOn": "2026-11-01"}"#)
            #expect(try over.problemCode == "overpayment")
            // 6 000 000 + 20 000 + 350 000 + 31 days of 1 500.
            #expect(try over.json["outstanding"] == .integer(6_416_500))
            let paid = try await gavel.request(
                .post, "/v1/cases/\(caseId)/borrower-payments", token: finance,
                json: #"{"amount": 500000, "reference": "BORROWER-1", "receivedOn": "2026-11-01"}"#)
            #expect(paid.status == .created, "\(paid.text)")
            #expect(try paid.string("kind") == "borrower-payment")
            #expect(try await sold.pay(7_840_000).status == .created)
            try await SettlementTests.expense(gavel, caseId, "repossession", 450_000, token: finance)
            try await SettlementTests.expense(gavel, caseId, "storage", 120_000, token: finance)
            let statement = try await SettlementTests.settle(gavel, caseId, token: finance).json
            #expect(statement["borrowerPayments"] == .integer(500_000))
            #expect(statement["explanation"]?.array?.contains { $0["key"] == .string("borrower-payments") } == true)
            #expect(statement["notices"]?["interest"] != nil)
            #expect(statement["surplus"] == .integer(1_025_000))
            // The lender's share: what the proceeds paid of the obligation, plus the borrower's payment.
            #expect(try await Self.payables(gavel, caseId, token: finance)["consignor First Auto Finance"] == 6_445_000)
            let payments = try await gavel.request(.get, "/v1/cases/\(caseId)/payments", token: finance).json
            #expect(payments["items"]?.array?.map { $0["kind"] } == [.string("borrower-payment"), .string("invoice-payment")])
        }
    }

    @Test("the appraiser's work queue: vehicles in stock, by status and case; a manager sees its own")
    func vehicleList() async throws {
        try await withGavel { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 1)
            let queued = try await lot.disposal.addVehicle(vin: "JH4KA7561PC008269")
            let appraiser = lot.disposal.appraiser.token
            let queue = try await gavel.request(.get, "/v1/vehicles?status=in-stock", token: appraiser).json
            #expect(queue["items"]?.array?.map { $0["id"] } == [.string(queued)])
            let listed = try await gavel.request(.get, "/v1/vehicles?status=listed", token: appraiser).json
            #expect(listed["items"]?.array?.count == 1)
            #expect(try await gavel.request(.get, "/v1/vehicles?status=lost", token: appraiser).status == .unprocessableContent)
            #expect(try await gavel.request(.get, "/v1/vehicles", token: lot.bidders[0].token).status == .forbidden)
            let other = try await gavel.createUser(.manager, consignorId: try await gavel.createConsignor("Other Bank"))
            #expect(try await gavel.request(.get, "/v1/vehicles", token: other.token).json["items"] == .array([]))
            let page = try await gavel.request(.get, "/v1/vehicles?limit=1", token: appraiser).json
            guard case .string(let cursor)? = page["nextCursor"] else { throw TestSetupError("no cursor") }
            let next = try await gavel.request(.get, "/v1/vehicles?limit=1&cursor=\(cursor)", token: appraiser).json
            #expect(next["items"]?.array?.map { $0["id"] } == [.string(queued)])
        }
    }
}

extension CaseEndsTests {
    @Test("the statement in Chinese: 处置结算单 with its lines, 剩余款退还 or 差额追偿, each guarantor by its guarantee; amounts unchanged")
    func chineseStatement() async throws {
        try await withGavel { gavel in
            let (caseId, finance) = try await SettlementTests.deficiencyCase(gavel)
            let english = try await SettlementTests.settle(gavel, caseId, token: finance).json
            let chinese = try await gavel.request(.get, "/v1/cases/\(caseId)/settlement?lang=zh-CN", token: finance)
            #expect(chinese.status == .ok)
            let body = try chinese.json
            #expect(body["lang"] == .string("zh-CN"))
            #expect(SettlementTests.amounts(body["explanation"]) == SettlementTests.amounts(english["explanation"]))
            #expect(body["explanation"]?.array?.first?["label"] == .string("截至2026-10-01的担保债务总额"))
            #expect(body["explanation"]?.array?.last?["label"] == .string("差额追偿"))
            guard case .string(let mayChange)? = body["notices"]?["mayChange"] else { throw TestSetupError("no notice") }
            #expect(mayChange.contains("可能影响剩余款或差额的金额"))
            #expect(try await gavel.request(.get, "/v1/cases/\(caseId)/settlement?lang=fr", token: finance).status == .unprocessableContent)

            let page = try await gavel.request(
                .get, "/v1/cases/\(caseId)/settlement?lang=zh-CN", token: finance, headers: [.accept: "text/html"]).text
            for words in ["处置结算单", "差额追偿：15,250.00 CNY", "如需了解详情，请联系：本结算单所列债权人的资产处置部门", "借款人Wang Li对差额承担清偿责任", "保证人Zhang Wei承担一般保证责任", "收车费",
                          #"<html lang="zh-CN">"#] {
                #expect(page.contains(words), "missing: \(words)")
            }
            let csv = try await gavel.request(
                .get, "/v1/cases/\(caseId)/settlement?lang=zh-CN", token: finance, headers: [.accept: "text/csv"]).text
            #expect(csv.hasPrefix("处置结算单\n"))
            #expect(csv.contains("贷款合同号,LN-") && csv.contains("币种,CNY"))
            #expect(csv.contains("差额追偿,1525000"))
        }
    }

    @Test("a joint guarantor with a cap is named as one in English and Chinese")
    func guaranteeTypes() async throws {
        try await withGavel { gavel in
            let consignor = try await gavel.createConsignor()
            let manager = try await gavel.createUser(.manager, consignorId: consignor)
            let body = Disposal.caseBody(consignorId: consignor).replacingOccurrences(
                of: #""guarantors": [{"name": "Zhang Wei"}]"#,
                with: #""guarantors": [{"name": "Zhang Wei", "guaranteeType": "joint", "cap": 1000000}, {"name": "Li Na"}]"#)
            let created = try await gavel.request(.post, "/v1/cases", token: manager.token, json: body)
            #expect(created.status == .created, "\(created.text)")
            #expect(try created.json["guarantors"] == .array([
                .object(["name": .string("Zhang Wei"), "guaranteeType": .string("joint"), "cap": .integer(1_000_000)]),
                .object(["name": .string("Li Na"), "guaranteeType": .string("general"), "cap": .null]),
            ]))
            let wrong = try await gavel.request(
                .post, "/v1/cases", token: manager.token,
                json: body.replacingOccurrences(of: #""guaranteeType": "joint""#, with: #""guaranteeType": "several""#))
            #expect(wrong.status == .unprocessableContent)
            #expect(try wrong.text.contains("guarantors[0].guaranteeType"))
            let guarantors = [(name: "Zhang Wei", type: "joint", cap: Optional("10,000.00 CNY")), (name: "Li Na", type: "general", cap: nil)]
            let english = StatementDocument.liability(borrower: "Wang Li", guarantors: guarantors)
            let chinese = StatementDocument.chineseLiability(borrower: "Wang Li", guarantors: guarantors)
            #expect(chinese == "借款人Wang Li对差额承担清偿责任。保证人Zhang Wei承担连带责任保证责任，以10,000.00 CNY为限。保证人Li Na承担一般保证责任，仅对借款人不能清偿的部分承担责任。")
            #expect(english.contains("Zhang Wei, a joint and several guarantor, is liable with the borrower, up to 10,000.00 CNY"))
            #expect(english.contains("Li Na, a general guarantor, is liable only for what the borrower cannot pay"))
        }
    }
}

extension CaseEndsTests {
    @Test("the remittance advice lists the cases settled in the period, their allocation and what was remitted, as JSON and CSV")
    func remittance() async throws {
        try await withGavel { gavel in
            let (sold, caseId) = try await SettlementTests.surplusCase(gavel)
            let finance = sold.open.finance.token
            let consignor = sold.open.disposal.consignorId
            #expect(try await SettlementTests.settle(gavel, caseId, token: finance).status == .created)
            #expect(try await Self.payout(gavel, caseId, "consignor", "First Auto Finance", 6_000_000, token: finance).status == .created)
            let path = "/v1/consignors/\(consignor)/remittance?from=2026-11-01&to=2026-11-30"
            let advice = try await gavel.request(.get, path, token: sold.open.disposal.manager.token)
            #expect(advice.status == .ok, "\(advice.text)")
            let body = try advice.json
            #expect(body["cases"]?.array?.count == 1)
            let settled = try #require(body["cases"]?.array?.first)
            #expect(settled["toLender"] == .integer(6_445_000))
            #expect(settled["juniors"] == .integer(300_000) && settled["surplus"] == .integer(525_000))
            #expect(settled["stillOwedToLender"] == .integer(445_000))
            #expect(body["remitted"]?.array?.map { $0["amount"] } == [.integer(6_000_000)])
            #expect(body["totals"]?["remitted"] == .integer(6_000_000))
            // Outside the period: nothing settled, nothing remitted.
            let october = try await gavel.request(
                .get, "/v1/consignors/\(consignor)/remittance?from=2026-10-01&to=2026-10-31", token: finance).json
            #expect(october["cases"] == .array([]) && october["remitted"] == .array([]))
            #expect(try await gavel.request(
                .get, "/v1/consignors/\(consignor)/remittance?from=2026-12-01&to=2026-11-01", token: finance).status
                    == .unprocessableContent)
            let csv = try await gavel.request(.get, path + "&lang=zh-CN", token: finance, headers: [.accept: "text/csv"]).text
            #expect(csv.hasPrefix("回款通知单\n"))
            #expect(csv.contains("case,LN-1HGCM82633A004352,应付债权人,6445000,2026-11-20,"))
            #expect(csv.contains("remitted,LN-1HGCM82633A004352,已划付,6000000,2026-11-21,OUT-consignor-6000000"))
            let other = try await gavel.createUser(.manager, consignorId: try await gavel.createConsignor("Other Bank"))
            #expect(try await gavel.request(.get, path, token: other.token).status == .notFound)
            #expect(try await gavel.request(.get, path, token: sold.winner.token).status == .forbidden)
        }
    }
}

extension CaseEndsTests {
    @Test("watchers of a cancelled lot get a closed event with status cancelled, and the stream ends")
    func cancelledEvent() async throws {
        try await withGavel(live: true) { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 1)
            #expect(try await lot.bid(0, 6_000_000).status == .created)
            let watcher = try LotEventsTests.watch(gavel, lot.lotId, token: lot.bidders[0].token)
            defer { watcher.close() }
            try await watcher.wait(for: "the latest event") { $0.contains { $0.event != nil } }
            let cancelled = try await gavel.request(
                .post, "/v1/lots/\(lot.lotId)/cancel", token: lot.disposal.manager.token, json: #"{"reason": "court order"}"#)
            #expect(cancelled.status == .ok)
            try await watcher.waitUntilEnded(within: .seconds(5))
            let closed = try #require(watcher.events.last)
            #expect(closed.event == "closed")
            #expect(try closed.json["status"] == .string("cancelled"))
        }
    }

    @Test("test vector I through the postings: after vector E each party is paid its share and the case's accounts net to zero")
    func vectorIPostings() throws {
        let caseId = UUID()
        let statement = try Waterfall.settle(Waterfall.Input(
            balances: .init(principal: 6_000_000, interest: 350_000, fees: 20_000, perDiemInterest: 1_500, asOf: CalendarDate(iso: "2026-10-01")!),
            settlementDate: CalendarDate(iso: "2026-11-20")!, hammer: 8_000_000, forfeitedDeposits: 0,
            expenses: [("repossession", 450_000), ("storage", 120_000), ("seller-fee", 160_000)],
            allocationOrder: [.fees, .interest, .principal],
            lienholders: [.init(name: "Second Bank", amount: 300_000, priority: 2, eligible: true)], credits: [])).get()
        let terms = try #require(InvoiceTerms.forSale(price: 8_000_000, deposit: 590_000, fees: Policy.defaults.fees))
        let winner = UUID(), invoice = UUID()
        var entries = [
            Postings.depositReceived(depositId: winner, amount: 590_000, currency: "CNY"),
            Postings.invoiced(invoiceId: invoice, caseId: caseId, terms: terms, currency: "CNY"),
            Postings.depositApplied(depositId: winner, caseId: caseId, amount: 590_000, currency: "CNY"),
            Postings.paymentReceived(paymentId: UUID(), caseId: caseId, amount: 7_840_000, currency: "CNY"),
            Postings.sellerFee(invoiceId: invoice, caseId: caseId, amount: 160_000, currency: "CNY"),
            Postings.expense(expenseId: UUID(), caseId: caseId, kind: "repossession", amount: 450_000, currency: "CNY"),
            Postings.expense(expenseId: UUID(), caseId: caseId, kind: "storage", amount: 120_000, currency: "CNY"),
            Postings.settlement(statementId: UUID(), caseId: caseId, statement: statement, currency: "CNY"),
        ]
        // Vector I: consignor 6 445 000, junior 300 000, surplus 525 000, vendors 570 000.
        #expect(statement.lenderShare == 6_445_000)
        entries += [
            Postings.payout(payoutId: UUID(), caseId: caseId, kind: .consignor, amount: 6_445_000, currency: "CNY"),
            Postings.payout(payoutId: UUID(), caseId: caseId, kind: .lienholder, amount: 300_000, currency: "CNY"),
            Postings.surplusPaid(refundId: UUID(), caseId: caseId, amount: 525_000, currency: "CNY"),
            Postings.payout(payoutId: UUID(), caseId: caseId, kind: .vendor, amount: 450_000, currency: "CNY"),
            Postings.payout(payoutId: UUID(), caseId: caseId, kind: .vendor, amount: 120_000, currency: "CNY"),
        ]
        #expect(entries.filter { !$0.isBalanced }.isEmpty)
        let nets = Dictionary(
            entries.filter { $0.caseId == caseId }.flatMap(\.lines).map { ($0.account.description, $0.debit - $0.credit) }, uniquingKeysWith: +)
        #expect(CaseBooks.openAccounts(nets).isEmpty, "\(CaseBooks.openAccounts(nets))")
        // The platform keeps the seller fee 160 000, the premium 400 000 and the doc fee 30 000.
        #expect(nets["seller-fee-revenue"] == -160_000)
        #expect(nets["platform-fee-revenue"] == -430_000)
    }
}
