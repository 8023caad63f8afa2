import Foundation
import GavelCore
import HTTPTypes
import PostgresNIO
import Testing

/// Random cases through the whole API (domain rules section 10): each vehicle sold,
/// defaulted with a part payment and handed back, or handed back at once, or the case
/// redeemed; random expenses and borrower payments; then settlement, recoveries and
/// every payout in random order. Every case must end closed or withdrawn with nothing
/// open, and the harness checks after each scenario that every closed case's accounts
/// net to zero.
@Suite("Every case to an end, random cases through HTTP (property)")
struct CaseEndsRandomTests {
    enum Path: CaseIterable { case sold, defaultedThenReturned, returned }

    struct World {
        let gavel: Harness
        let disposal: Disposal
        let finance: String
        let bidder: (id: String, token: String)
    }

    static let vins = ["1HGCM82633A004352", "JH4KA7561PC008269", "1M8GDM9AXKP042788"]

    @Test("random sales, defaults, returns, redemptions, expenses and payouts end every case with nothing open",
          arguments: [UInt64(3), 11, 29, 47, 83, 101, 131, 151])
    func randomCase(seed: UInt64) async throws {
        try await withGavel { gavel in
            var random = SeededRandom(seed: seed)
            let disposal = try await Disposal.start(gavel, credits: Bool.random(using: &random))
            let world = World(
                gavel: gavel, disposal: disposal, finance: try await gavel.createUser(.finance).token,
                bidder: try await gavel.createUser(.bidder, name: "Dealer"))
            let caseId = disposal.caseId
            let count = Int.random(in: 1...2, using: &random)
            var vehicles: [String] = []
            for index in 0..<count { vehicles.append(try await disposal.appraisedVehicle(vin: Self.vins[index]).vehicleId) }
            for kind in ["repossession", "storage"] where Bool.random(using: &random) {
                try await SettlementTests.expense(gavel, caseId, kind, Int64.random(in: 1...60, using: &random) * 10_000, token: world.finance)
            }
            if Bool.random(using: &random) {
                let paid = try await gavel.request(
                    .post, "/v1/cases/\(caseId)/borrower-payments", token: world.finance,
                    json: #"{"amount": \#(Int64.random(in: 1...50, using: &random) * 10_000), "reference": "BORROWER-\#(seed)", "receivedOn": "2026-11-01"}"#)
                #expect(paid.status == .created, "\(paid.text)")
            }
            let redeem = Int.random(in: 0..<4, using: &random) == 0
            if redeem {
                // A lot is live when the borrower pays off the loan.
                _ = try await Self.listed(world, vehicles[0])
                let quote = try await gavel.request(.get, "/v1/cases/\(caseId)/payoff", token: world.finance).json
                guard case .integer(let payoff)? = quote["payoff"] else { throw TestSetupError("no payoff: \(quote)") }
                let redeemed = try await gavel.request(
                    .post, "/v1/cases/\(caseId)/redemption", token: world.finance,
                    json: #"{"amount": \#(payoff + Int64.random(in: 0...30_000, using: &random)), "reference": "REDEEM-\#(seed)", "receivedOn": "\#(Self.today)"}"#)
                #expect(redeemed.status == .created, "\(redeemed.text)")
            } else {
                for vehicle in vehicles {
                    switch Path.allCases.randomElement(using: &random)! {
                    case .sold: try await Self.sell(world, vehicle, parts: Int.random(in: 1...2, using: &random))
                    case .defaultedThenReturned:
                        try await Self.defaultAndReturn(world, vehicle, partPayment: Bool.random(using: &random) ? 120_000 : 0)
                    case .returned: try await Self.handBack(world, vehicle)
                    }
                }
                let status = try await CaseEndsTests.caseStatus(gavel, caseId)
                if status == "ready" {
                    let settled = try await gavel.request(.post, "/v1/cases/\(caseId)/settlement", token: world.finance, json: "{}")
                    #expect(settled.status == .created, "\(settled.text)")
                } else {
                    #expect(status == "withdrawn")
                }
            }
            // The deficiency, if any: part recovered from the guarantor, the rest written off.
            let claims = try await gavel.request(.get, "/v1/deficiency-claims", token: world.finance).json
            for claim in claims["items"]?.array ?? [] where claim["status"] == .string("open") {
                guard case .string(let claimId)? = claim["id"], case .integer(let outstanding)? = claim["outstanding"] else { continue }
                if Bool.random(using: &random) {
                    #expect(try await gavel.request(
                        .post, "/v1/deficiency-claims/\(claimId)/recoveries", token: world.finance,
                        json: #"{"amount": \#(max(1, outstanding / 3)), "reference": "REC-\#(seed)", "receivedOn": "\#(Self.today)", "payer": "Zhang Wei"}"#
                    ).status == .created)
                }
                #expect(try await gavel.request(
                    .post, "/v1/deficiency-claims/\(claimId)/write-off", token: world.finance, json: #"{"reason": "nothing left"}"#).status == .ok)
            }
            // Everything out, in random order.
            var open = try await gavel.request(.get, "/v1/payables?caseId=\(caseId)", token: world.finance).json["items"]?.array ?? []
            open.shuffle(using: &random)
            for item in open {
                guard case .string(let kind)? = item["kind"], case .string(let payee)? = item["payee"],
                      case .integer(let amount)? = item["amount"] else { continue }
                let reply: Harness.Reply
                switch kind {
                case "surplus-refund":
                    guard case .string(let refundId)? = item["refundId"] else { continue }
                    reply = try await gavel.request(
                        .post, "/v1/surplus-refunds/\(refundId)/pay", token: world.finance, json: #"{"reference": "SURPLUS-\#(seed)"}"#)
                case "consignor-receivable":
                    reply = try await gavel.request(
                        .post, "/v1/cases/\(caseId)/consignor-payments", token: world.finance,
                        json: #"{"amount": \#(amount), "reference": "LENDER-\#(seed)", "receivedOn": "\#(Self.today)"}"#)
                default:
                    reply = try await CaseEndsTests.payout(gavel, caseId, kind, payee, amount, token: world.finance)
                }
                #expect([.ok, .created].contains(reply.status), "\(kind) \(payee): \(reply.text)")
            }
            #expect(try await gavel.request(.get, "/v1/payables?caseId=\(caseId)", token: world.finance).json["items"] == .array([]))
            let status = try await CaseEndsTests.caseStatus(gavel, caseId)
            #expect(status == "closed" || status == "withdrawn", "the case ended \(status)")
        }
    }

    static var today: String { String(ISO8601DateFormatter().string(from: Date()).prefix(10)) }

    /// A live lot of the vehicle, the dealer's deposit held; answers the lot.
    static func listed(_ world: World, _ vehicleId: String) async throws -> JSONValue {
        let lot = try await world.gavel.request(
            .post, "/v1/lots", token: world.disposal.manager.token,
            json: world.disposal.lotBody(vehicleId: vehicleId, startsIn: -60, lasting: 86_400))
        guard lot.status == .created, case .string(let lotId)? = try lot.json["id"],
              case .integer(let deposit)? = try lot.json["depositAmount"] else { throw TestSetupError("lot: \(lot.text)") }
        let held = try await world.gavel.request(
            .post, "/v1/lots/\(lotId)/deposits", token: world.finance,
            json: #"{"bidderId": "\#(world.bidder.id)", "amount": \#(deposit), "reference": "DEP-\#(lotId.prefix(8))"}"#)
        guard held.status == .created else { throw TestSetupError("deposit: \(held.text)") }
        return try lot.json
    }

    /// Listed, bid at the reserve, closed sold; answers the invoice.
    static func won(_ world: World, _ vehicleId: String) async throws -> JSONValue {
        let lot = try await listed(world, vehicleId)
        guard case .string(let lotId)? = lot["id"], case .integer(let reserve)? = lot["reserve"] else { throw TestSetupError("no lot") }
        let bid = try await world.gavel.request(
            .post, "/v1/lots/\(lotId)/bids", token: world.bidder.token, json: #"{"maxAmount": \#(reserve)}"#)
        guard bid.status == .created else { throw TestSetupError("bid: \(bid.text)") }
        try await LotEventsTests.endNow(world.gavel, lotId)
        let closed = try await ClosingTests.waitForClose(world.gavel, lotId)
        guard closed["status"] == .string("sold") else { throw TestSetupError("closed \(closed)") }
        return try await world.gavel.request(.get, "/v1/lots/\(lotId)/invoice", token: world.finance).json
    }

    static func sell(_ world: World, _ vehicleId: String, parts: Int) async throws {
        let invoice = try await won(world, vehicleId)
        guard case .string(let invoiceId)? = invoice["id"], case .integer(let due)? = invoice["amountDue"] else { return }
        let first = parts == 2 ? due / 2 : due
        for (index, amount) in [first, due - first].enumerated() where amount > 0 {
            let paid = try await world.gavel.request(
                .post, "/v1/invoices/\(invoiceId)/payments", token: world.finance,
                json: #"{"amount": \#(amount), "reference": "WIRE-\#(invoiceId.prefix(6))-\#(index)", "receivedOn": "\#(today)"}"#)
            #expect(paid.status == .created, "\(paid.text)")
        }
    }

    static func defaultAndReturn(_ world: World, _ vehicleId: String, partPayment: Int64) async throws {
        let invoice = try await won(world, vehicleId)
        guard case .string(let invoiceId)? = invoice["id"] else { return }
        if partPayment > 0 {
            #expect(try await world.gavel.request(
                .post, "/v1/invoices/\(invoiceId)/payments", token: world.finance,
                json: #"{"amount": \#(partPayment), "reference": "PART-\#(invoiceId.prefix(6))", "receivedOn": "\#(today)"}"#).status == .created)
        }
        _ = try await world.gavel.sql { connection in
            try await connection.query(
                "UPDATE invoices SET due_at = now() - interval '1 second' WHERE id = \(UUID(uuidString: invoiceId)!)", logger: quietLogger)
        }
        let defaulted = try await world.gavel.request(.post, "/v1/invoices/\(invoiceId)/default", token: world.finance)
        #expect(defaulted.status == .ok || (try? defaulted.problemCode) == "invoice-not-open", "\(defaulted.text)")
        try await handBack(world, vehicleId)
    }

    static func handBack(_ world: World, _ vehicleId: String) async throws {
        let returned = try await world.gavel.request(
            .post, "/v1/vehicles/\(vehicleId)/return", token: world.disposal.manager.token, json: #"{"reason": "unsaleable"}"#)
        #expect(returned.status == .ok, "\(returned.text)")
    }
}
