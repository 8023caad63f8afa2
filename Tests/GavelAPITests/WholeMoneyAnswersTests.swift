import Foundation
import GavelCore
import Testing

extension WholeAnswerTests {
    /// A member the database's clock sets (lot times, bid times, an invoice's due time):
    /// an RFC 3339 instant, taken as answered so that the rest is compared whole.
    static func instant(_ value: JSONValue?) -> String {
        guard case .string(let text) = value, (try? Date(text, strategy: .iso8601)) != nil, text.hasSuffix("Z") else {
            return "not an instant: \(String(describing: value))"
        }
        return text
    }

    @Test("test vector C bid by bid, the refusal, the history, the invoice and the payment: every answer whole")
    func biddingAndMoney() async throws {
        let numbering = Numbering()
        try await withGavel(newID: { numbering.next() }) { gavel in
            let lot = try await OpenLot.start(gavel, bidders: 3)
            let asB3 = try await gavel.request(.get, "/v1/lots/\(lot.lotId)", token: lot.bidders[2].token)
            let (startsAt, endsAt) = (Self.instant(try asB3.json["startsAt"]), Self.instant(try asB3.json["endsAt"]))
            let vehicleId = try asB3.string("vehicleId")

            var before = numbering.count
            let first = try await lot.bid(0, 6_500_000)
            #expect(first.status == .created)
            #expect(try first.json == Self.json("""
                {"accepted": true, "bidId": "\(Self.id(before + 2))", "currentPrice": 5900000, "endsAt": "\(endsAt)",
                 "extended": false, "leading": true, "minimumNextBid": 6000000}
                """), "\(first.text)")
            before = numbering.count
            let low = try await lot.bid(1, 5_000_000)
            #expect(try low.json == Self.json("""
                {"type": "https://gavel.example/problems/bid-too-low", "title": "Bid Too Low", "status": 422, "code": "bid-too-low",
                 "detail": "the minimum next bid is 6000000", "minimumNextBid": 6000000, "requestId": "\(Self.id(before + 1))"}
                """), "\(low.text)")
            let second = try await lot.bid(1, 6_200_000)
            #expect(try second.json["currentPrice"] == .integer(6_300_000))
            let third = try await lot.bid(2, 8_000_000)
            #expect(try third.json["currentPrice"] == .integer(7_580_000))
            before = numbering.count
            let fourth = try await lot.bid(0, 8_000_000)
            // B1's new maximum ties B3's earlier one: B3 leads at 8 000 000 (vector C).
            #expect(try fourth.json == Self.json("""
                {"accepted": true, "bidId": "\(Self.id(before + 2))", "currentPrice": 8000000, "endsAt": "\(endsAt)",
                 "extended": false, "leading": false, "minimumNextBid": 8100000}
                """), "\(fourth.text)")

            // The lot as the leader sees it: its own maximum, no reserve.
            let seen = try await gavel.request(.get, "/v1/lots/\(lot.lotId)", token: lot.bidders[2].token)
            #expect(try seen.json == Self.json("""
                {"id": "\(lot.lotId)", "vehicleId": "\(vehicleId)", "consignorId": "\(lot.disposal.consignorId)", "round": 1,
                 "format": "english", "status": "open", "currency": "CNY", "startsAt": "\(startsAt)", "endsAt": "\(endsAt)",
                 "extensionWindowSeconds": 300, "extensionSeconds": 300, "startingPrice": 5900000, "depositAmount": 590000,
                 "currentPrice": 8000000, "bidCount": 4, "reserveMet": true, "minimumNextBid": 8100000,
                 "leading": true, "myMaxAmount": 8000000, "priorityHolder": false,
                 "increments": [{"below": 1000000, "step": 20000}, {"below": 5000000, "step": 50000},
                                {"below": 10000000, "step": 100000}, {"below": 50000000, "step": 200000},
                                {"below": null, "step": 500000}],
                 "fees": {"buyerPremiumBp": 500, "buyerPremiumMax": 500000, "buyerPremiumMin": 50000, "docFee": 30000,
                          "paymentDueDays": 3, "sellerFeeBp": 200},
                 "vehicle": {"id": "\(vehicleId)", "caseId": "\(lot.disposal.caseId)", "vin": "1HGCM82633A004352", "make": "Honda",
                             "model": "Accord", "year": 2019, "mileageKm": 86000, "color": "silver", "location": "Yard 3",
                             "hasKeys": true, "titleStatus": "clean", "repossessedOn": "2026-10-15", "status": "in-stock"}}
                """), "\(seen.text)")

            // The history: prices and pseudonyms, never a maximum nor a bidder's ID.
            let history = try await gavel.request(.get, "/v1/lots/\(lot.lotId)/bids", token: lot.bidders[1].token)
            let at = try #require(try history.json["items"]?.array).map { Self.instant($0["at"]) }
            try #require(at.count == 4)
            #expect(try history.json == Self.json("""
                {"bidCount": 4, "nextCursor": null, "items": [
                  {"at": "\(at[0])", "bidder": "Bidder 1", "price": 5900000}, {"at": "\(at[1])", "bidder": "Bidder 1", "price": 6300000},
                  {"at": "\(at[2])", "bidder": "Bidder 3", "price": 7580000}, {"at": "\(at[3])", "bidder": "Bidder 3", "price": 8000000}]}
                """), "\(history.text)")

            // Closed: the invoice of test vector D, whole.
            before = numbering.count
            // Closed as the closer would, under the same seam (the closer binds the application's).
            _ = try await Seam.with(newID: { numbering.next() }, now: { Date() }) {
                try await ClosingTests.closeTogether(gavel, [UUID(uuidString: lot.lotId)!])
            }
            let invoice = try await gavel.request(.get, "/v1/lots/\(lot.lotId)/invoice", token: lot.bidders[2].token)
            let invoiceId = Self.id(before + 1)
            let dueAt = Self.instant(try invoice.json["dueAt"])
            #expect(try invoice.json == Self.json("""
                {"id": "\(invoiceId)", "lotId": "\(lot.lotId)", "caseId": "\(lot.disposal.caseId)", "bidderId": "\(lot.bidders[2].id)", "currency": "CNY",
                 "price": 8000000, "buyerPremium": 400000, "docFee": 30000, "total": 8430000, "depositApplied": 590000,
                 "amountDue": 7840000, "paid": 0, "outstanding": 7840000, "status": "open", "dueAt": "\(dueAt)"}
                """), "\(invoice.text)")

            // A part payment, then a payment of more than is left: 422 with what is outstanding.
            let part = try await gavel.request(
                .post, "/v1/invoices/\(invoiceId)/payments", token: lot.finance.token,
                json: #"{"amount": 7000000, "reference": "WIRE-1", "receivedOn": "2026-11-30"}"#)
            #expect(try part.json == Self.json("""
                {"id": "\(invoiceId)", "lotId": "\(lot.lotId)", "caseId": "\(lot.disposal.caseId)", "bidderId": "\(lot.bidders[2].id)", "currency": "CNY",
                 "price": 8000000, "buyerPremium": 400000, "docFee": 30000, "total": 8430000, "depositApplied": 590000,
                 "amountDue": 7840000, "paid": 7000000, "outstanding": 840000, "status": "open", "dueAt": "\(dueAt)"}
                """), "\(part.text)")
            before = numbering.count
            let over = try await gavel.request(
                .post, "/v1/invoices/\(invoiceId)/payments", token: lot.finance.token,
                json: #"{"amount": 900000, "reference": "WIRE-2", "receivedOn": "2026-11-30"}"#)
            #expect(try over.json == Self.json("""
                {"type": "https://gavel.example/problems/overpayment", "title": "Overpayment", "status": 422, "code": "overpayment",
                 "detail": "the invoice has 840000 outstanding; the payment is more than that", "outstanding": 840000,
                 "requestId": "\(Self.id(before + 1))"}
                """), "\(over.text)")
        }
    }
}

extension WholeAnswerTests {
    @Test("test vector E's statement, its surplus refund, the payout and the refusal to correct it: every answer whole")
    func settlement() async throws {
        try await withGavel { gavel in
            let (sold, caseId) = try await SettlementTests.surplusCase(gavel)
            let finance = sold.open.finance.token
            let issued = try await SettlementTests.settle(gavel, caseId, token: finance)
            #expect(issued.status == .created)
            let statementId = try issued.string("id")
            // The sale's day is the database's (the lot closed during the test).
            guard case .string(let saleDate)? = try issued.json["vehicles"]?.array?.first?["saleDate"] else {
                Issue.record("no sale date: \(issued.text)")
                return
            }
            #expect(CalendarDate(iso: saleDate) != nil)
            let statement = try issued.json
            #expect(statement == Self.json("""
                {"id": "\(statementId)", "caseId": "\(caseId)", "loanNumber": "LN-1HGCM82633A004352", "currency": "CNY",
                 "lender": "First Auto Finance", "borrower": {"name": "Wang Li"}, "surplusPayee": "Wang Li",
                 "guarantors": [{"name": "Zhang Wei", "guaranteeType": "general", "cap": null}],
                 "kind": "sale", "settlementDate": "2026-11-20", "interestTo": "2026-11-20", "supersedes": null,
                 "obligation": {"asOf": "2026-10-01", "principal": 6000000, "interest": 425000, "fees": 20000,
                                "perDiemInterest": 1500, "total": 6445000, "totalAsOf": 6370000, "interestAccrued": 75000},
                 "borrowerPayments": 0,
                 "vehicles": [{"vin": "1HGCM82633A004352", "description": "2019 Honda Accord", "status": "sold",
                               "price": 8000000, "saleDate": "\(saleDate)"}],
                 "proceeds": {"hammer": 8000000, "forfeitedDeposits": 0, "redemption": 0, "total": 8000000},
                 "expenses": [{"kind": "repossession", "amount": 450000}, {"kind": "storage", "amount": 120000},
                              {"kind": "seller-fee", "amount": 160000}],
                 "expensesTotal": 730000, "credits": [], "creditsTotal": 0,
                 "allocation": [{"bucket": "expenses", "amount": 730000}, {"bucket": "fees", "amount": 20000},
                                {"bucket": "interest", "amount": 425000}, {"bucket": "principal", "amount": 6000000},
                                {"bucket": "junior", "amount": 300000}, {"bucket": "surplus", "amount": 525000}],
                 "juniorDistributions": [{"name": "Second Bank", "amount": 300000}],
                 "surplus": 525000, "deficiency": 0,
                 "explanation": [
                   {"line": 1, "key": "obligation", "label": "Aggregate amount of obligations secured, as of 2026-10-01", "amount": 6370000},
                   {"line": 2, "key": "interest-accrued", "label": "Interest accrued from 2026-10-01 to 2026-11-20", "amount": 75000},
                   {"line": 3, "key": "proceeds", "label": "Amount of proceeds of the disposition", "amount": 8000000},
                   {"line": 4, "key": "after-proceeds", "label": "Aggregate amount of the obligations after deducting the proceeds", "amount": -1555000},
                   {"line": 5, "key": "expenses", "label": "Expenses of taking, holding, preparing and disposing of the collateral", "amount": 730000},
                   {"line": 6, "key": "credits", "label": "Credits to which the obligor is entitled", "amount": 0},
                   {"line": 7, "key": "juniors-paid", "label": "Amount paid to subordinate lienholders", "amount": 300000},
                   {"line": 8, "key": "surplus", "label": "Surplus", "amount": 525000}],
                 "notices": {
                   "mayChange": "Future debits, credits, charges, including additional credit service charges or interest, rebates, and expenses may affect the amount of the surplus or deficiency.",
                   "contact": "the disposal department of the lender named on this statement"}}
                """), "\(issued.text)")

            let refunds = try await gavel.request(.get, "/v1/surplus-refunds", token: finance)
            guard case .string(let refundId)? = try refunds.json["items"]?.array?.first?["id"] else {
                Issue.record("no refund: \(refunds.text)")
                return
            }
            #expect(try refunds.json == Self.json("""
                {"items": [{"id": "\(refundId)", "caseId": "\(caseId)", "statementId": "\(statementId)", "currency": "CNY",
                            "amount": 525000, "borrower": "Wang Li", "status": "pending", "payoutReference": null}],
                 "nextCursor": null}
                """), "\(refunds.text)")
            let paid = try await gavel.request(
                .post, "/v1/surplus-refunds/\(refundId)/pay", token: finance, json: #"{"reference": "SURPLUS-1"}"#)
            #expect(try paid.json == Self.json("""
                {"id": "\(refundId)", "caseId": "\(caseId)", "statementId": "\(statementId)", "currency": "CNY",
                 "amount": 525000, "borrower": "Wang Li", "status": "paid", "payoutReference": "SURPLUS-1"}
                """), "\(paid.text)")
            let locked = try await SettlementTests.settle(gavel, caseId, token: finance, date: "2026-11-21")
            let requestId = locked.headers[.init("X-Request-ID")!] ?? ""
            #expect(try locked.json == Self.json("""
                {"type": "https://gavel.example/problems/settlement-locked", "title": "Conflict", "status": 409,
                 "code": "settlement-locked",
                 "detail": "the surplus of the current statement is paid out; it can no longer be corrected",
                 "requestId": "\(requestId)"}
                """), "\(locked.text)")
        }
    }
}
