import AsyncHTTPClient
import Foundation
import GavelCore
import GavelStore
import Logging
import NIOHTTP1
import PostgresNIO

/// Three disposals from the defaulted loan to the closed case, through the API as its
/// users would drive it, with the numbers of the domain rules' vectors: a surplus case
/// (vectors A to E, I), a deficiency case with a default and a second round (vector F),
/// and a redemption before the sale (vector H). Every payable is paid out and every case
/// ends `closed`. Each step is printed; each invariant is checked.
struct DemoScenario {
    let api: DemoAPI
    let admin: String
    let today: CalendarDate
    let location: DatabaseLocation
    let logger: Logger
    var failures: [String] = []
    /// Leave a case mid-disposal for the console (`--keep`).
    var keep = false
    /// This run's cases: their proceeds accounts must be at zero once settled.
    var settledCases: [String] = []
    /// This run's lots: their deposits owed back are refunded at the end.
    var lots: [String] = []

    struct Parties {
        var consignorId = ""
        var manager = ""
        var appraiser = ""
        var finance = ""
        var bidders: [(id: String, token: String, name: String)] = []
    }

    init(api: DemoAPI, admin: String, today: CalendarDate, location: DatabaseLocation, logger: Logger) {
        self.api = api
        self.admin = admin
        self.today = today
        self.location = location
        self.logger = logger
    }

    mutating func check(_ condition: Bool, _ what: String) {
        print(condition ? "    ok: \(what)" : "    FAILED: \(what)")
        if !condition { failures.append(what) }
    }

    func step(_ text: String) { print("- \(text)") }

    static func money(_ value: JSONValue?) -> String {
        guard case .integer(let minor) = value else { return "-" }
        return Money.display(minor)
    }

    /// A VIN of its own for each car of each run, so that the demo never meets a car
    /// still in stock from an earlier run or an import: the maker's prefix, a serial from
    /// the clock, and the check digit the VIN's own rule asks for.
    static func vin(_ prefix: String, _ car: Int) -> String {
        let serial = String(format: "%06d", Int(Date().timeIntervalSince1970 * 10) % 100_000 * 10 + car)
        var characters = Array(prefix + "0" + "7A" + serial)
        do { _ = try VIN(String(characters)) } catch {
            if case .checkDigit(let expected, _) = error { characters[8] = expected }
        }
        return String(characters)
    }

    static func string(_ value: JSONValue?) -> String { if case .string(let s) = value { s } else { "" } }
    static func integer(_ value: JSONValue?) -> Int64 { if case .integer(let n) = value { n } else { Int64.min } }

    static func timestamp(_ offset: TimeInterval) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date().addingTimeInterval(offset))
    }

    mutating func run() async throws {
        let run = String(UUID().uuidString.prefix(6))
        print("Gavel demo \(run) against \(api.base)\n")
        var parties = try await setUp(run: run)
        try await surplusCase(&parties, run: run)
        try await deficiencyCase(&parties, run: run)
        try await redemptionCase(&parties, run: run)
        try await judicialCase(parties, run: run)
        try await refundDeposits(parties)
        try await checkBooks(parties)
        if keep { try await keptCase(parties, run: run) }
    }

    // MARK: - Parties

    func setUp(run: String) async throws -> Parties {
        var parties = Parties()
        step("Admin creates the consignor (short soft close for the demo: 5 s window, 5 s extension)")
        let consignor = try await api.expect(201, .POST, "/v1/consignors", token: admin, json: """
            {"name": "First Auto Finance \(run)", "currency": "CNY",
             "policy": {"bidding": {"extensionWindowSeconds": 5, "extensionSeconds": 5}}}
            """)
        parties.consignorId = Self.string(consignor["id"])
        func user(_ role: String, _ name: String, consignor: Bool = false) async throws -> (String, String) {
            let extra = consignor ? #", "consignorId": "\#(parties.consignorId)""# : ""
            let made = try await api.expect(201, .POST, "/v1/users", token: admin, json: #"{"name": "\#(name)", "role": "\#(role)"\#(extra)}"#)
            return (Self.string(made["id"]), Self.string(made["token"]))
        }
        parties.manager = try await user("manager", "Disposal manager", consignor: true).1
        parties.appraiser = try await user("appraiser", "Appraiser").1
        parties.finance = try await user("finance", "Finance desk").1
        for name in ["Dealer Ana", "Dealer Bo", "Dealer Chen"] {
            let (id, token) = try await user("bidder", name)
            parties.bidders.append((id, token, name))
        }
        step("Users: a manager, an appraiser, finance and three dealers")
        return parties
    }

    /// Case, vehicle, appraisal (vector A) approved by the manager; returns the vehicle.
    func intake(_ parties: Parties, loanNumber: String, vin: String) async throws -> (caseId: String, vehicleId: String) {
        let asOf = today.adding(days: -50)
        let made = try await api.expect(201, .POST, "/v1/cases", token: parties.manager, json: """
            {"consignorId": "\(parties.consignorId)", "loanNumber": "\(loanNumber)",
             "borrower": {"name": "Wang Li", "idNumber": "110101199003071234"}, "guarantors": [{"name": "Zhang Wei"}],
             "balances": {"principal": 6000000, "interest": 350000, "fees": 20000, "perDiemInterest": 1500, "asOf": "\(asOf)"},
             "lienholders": [{"name": "Second Bank", "amount": 300000, "priority": 2, "eligible": true}], "credits": []}
            """)
        let caseId = Self.string(made["id"])
        step("Manager opens case \(loanNumber): principal 60,000.00, interest 3,500.00 as of \(asOf) (+15.00/day), fees 200.00")
        let vehicle = try await api.expect(201, .POST, "/v1/cases/\(caseId)/vehicles", token: parties.manager, json: """
            {"vin": "\(vin)", "make": "Honda", "model": "Accord", "year": 2019, "mileageKm": 86000, "hasKeys": true,
             "titleStatus": "clean", "repossessedOn": "\(today.adding(days: -40))"}
            """)
        let vehicleId = Self.string(vehicle["id"])
        let appraisal = try await api.expect(201, .POST, "/v1/vehicles/\(vehicleId)/appraisals", token: parties.appraiser, json: """
            {"valuationDate": "\(today.adding(days: -23))", "conditionGrade": 3.5,
             "damages": [{"item": "front bumper", "repairCost": 180000}, {"item": "windscreen", "repairCost": 120000}],
             "comparables": [{"price": 9200000, "year": 2019, "mileageKm": 80000, "soldOn": "\(today.adding(days: -54))"},
                             {"price": 10500000, "year": 2020, "mileageKm": 60000, "soldOn": "\(today.adding(days: -70))"},
                             {"price": 7800000, "year": 2018, "mileageKm": 110000, "soldOn": "\(today.adding(days: -96))"}]}
            """)
        try await api.expect(200, .POST, "/v1/appraisals/\(Self.string(appraisal["id"]))/approve", token: parties.manager)
        step("Appraiser values \(vin) from three comparables: market \(Self.money(appraisal["marketValue"])), liquidation \(Self.money(appraisal["liquidationValue"])); the manager approves")
        return (caseId, vehicleId)
    }

    /// The notices of disposition to every party; then, the second step outside the API,
    /// the notice period passes in an instant (their sent time is moved back by it).
    func sendNotices(_ parties: Parties, _ caseId: String, lang: String = "en", days: Int) async throws -> [JSONValue] {
        let sent = try await api.expect(201, .POST, "/v1/cases/\(caseId)/notices", token: parties.manager, json: #"{"lang": "\#(lang)"}"#)
        let items = sent["items"]?.elements ?? []
        step("Manager sends the notices of disposition (\(lang)) to \(items.map { "\(Self.string($0["party"])) \(Self.string($0["name"]))" }.joined(separator: ", ")); sale on or after \(Self.string(sent["disposeAfter"]))")
        try await PostgresConnection.with(location, logger: logger) { connection in
            try await connection.query(
                """
                UPDATE notices SET sent_at = sent_at - make_interval(days => \(days)::integer, mins => 5),
                    content = jsonb_set(content, '{disposeAfter}', to_jsonb(((content ->> 'disposeAfter')::date - \(days)::integer)::text))
                WHERE case_id = \(UUID(uuidString: caseId)!)
                """, logger: logger)
        }
        step("(demo: the \(days)-day notice period is waited out by moving the notices' sent time back instead of waiting)")
        return items
    }

    /// A short English lot, deposits for the given dealers.
    mutating func openLot(_ parties: Parties, path: String, json: String, dealers: [Int]) async throws -> (id: String, start: Int64) {
        let lot = try await api.expect(201, .POST, path, token: parties.manager, json: json)
        let lotId = Self.string(lot["id"])
        lots.append(lotId)
        for index in dealers {
            try await api.expect(201, .POST, "/v1/lots/\(lotId)/deposits", token: parties.finance, json: """
                {"bidderId": "\(parties.bidders[index].id)", "amount": \(Self.integer(lot["depositAmount"])), "reference": "DEP-\(lotId.prefix(8))-\(index)"}
                """)
        }
        step("Lot round \(Self.integer(lot["round"])): starts at \(Self.money(lot["startingPrice"])), reserve \(Self.money(lot["reserve"])), deposit \(Self.money(lot["depositAmount"])) held for \(dealers.map { parties.bidders[$0].name }.joined(separator: ", "))")
        return (lotId, Self.integer(lot["startingPrice"]))
    }

    func bid(_ parties: Parties, _ lotId: String, _ index: Int, _ amount: Int64) async throws -> JSONValue {
        let placed = try await api.expect(201, .POST, "/v1/lots/\(lotId)/bids", token: parties.bidders[index].token, json: #"{"maxAmount": \#(amount)}"#)
        step("  \(parties.bidders[index].name) bids up to \(Self.money(.integer(amount))): price \(Self.money(placed["currentPrice"]))\(placed["extended"] == .bool(true) ? ", soft close: ends later" : "")")
        return placed
    }

    func waitForClose(_ lotId: String) async throws -> JSONValue {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let lot = try await api.expect(200, .GET, "/v1/lots/\(lotId)", token: admin)
            if !["open", "scheduled"].contains(Self.string(lot["status"])) { return lot }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw DemoAPI.Failure(description: "lot \(lotId) did not close within a minute")
    }

    func waitUntilSecondsLeft(_ lotId: String, _ seconds: Double) async throws {
        let lot = try await api.expect(200, .GET, "/v1/lots/\(lotId)", token: admin)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let text = Self.string(lot["endsAt"])
        guard let end = formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text) else { return }
        let wait = end.timeIntervalSinceNow - seconds
        if wait > 0 { try await Task.sleep(for: .milliseconds(Int(wait * 1000))) }
    }

    // MARK: - The surplus case

    mutating func surplusCase(_ parties: inout Parties, run: String) async throws {
        print("\nCase 1: a sale that pays everything, with a surplus for the borrower\n")
        let (caseId, vehicleId) = try await intake(parties, loanNumber: "LN-\(run)-1", vin: Self.vin("1HGCM826", 1))
        let (early, refusal) = try await api.call(.POST, "/v1/lots", token: parties.manager, json: """
            {"vehicleId": "\(vehicleId)", "format": "english", "startsAt": "\(Self.timestamp(60))", "endsAt": "\(Self.timestamp(3_600))"}
            """)
        check(early == 422 && refusal["code"] == .string("notice-period"),
              "no lot before the parties are told: 422 notice-period, earliest \(Self.string(refusal["earliestStartsAt"]))")
        _ = try await sendNotices(parties, caseId, days: 10)
        let (lotId, _) = try await openLot(parties, path: "/v1/lots", json: """
            {"vehicleId": "\(vehicleId)", "format": "english", "startsAt": "\(Self.timestamp(-1))", "endsAt": "\(Self.timestamp(12))"}
            """, dealers: [0, 1, 2])
        _ = try await bid(parties, lotId, 0, 6_500_000)
        _ = try await bid(parties, lotId, 1, 6_200_000)
        _ = try await bid(parties, lotId, 2, 8_000_000)
        try await waitUntilSecondsLeft(lotId, 3)
        let late = try await bid(parties, lotId, 0, 8_000_000)
        check(late["extended"] == .bool(true), "a bid in the last 5 s extends the lot (soft close)")
        let closed = try await waitForClose(lotId)
        step("Closed \(Self.string(closed["status"])) at \(Self.money(closed["currentPrice"])) to \(parties.bidders[2].name)")
        check(Self.string(closed["status"]) == "sold" && Self.integer(closed["currentPrice"]) == 8_000_000, "vector C: sold at 80,000.00")
        let invoice = try await api.expect(200, .GET, "/v1/lots/\(lotId)/invoice", token: parties.bidders[2].token)
        step("Invoice: price \(Self.money(invoice["price"])) + premium \(Self.money(invoice["buyerPremium"])) + doc fee \(Self.money(invoice["docFee"])) = \(Self.money(invoice["total"])); deposit applied \(Self.money(invoice["depositApplied"])); due \(Self.money(invoice["amountDue"]))")
        check(Self.integer(invoice["buyerPremium"]) == 400_000 && Self.integer(invoice["total"]) == 8_430_000
              && Self.integer(invoice["amountDue"]) == 7_840_000, "vector D: premium 4,000.00, total 84,300.00, due 78,400.00")
        let invoiceId = Self.string(invoice["id"])
        for (amount, reference) in [(3_000_000, "WIRE-A1"), (4_840_000, "WIRE-A2")] as [(Int64, String)] {
            let paid = try await api.expect(201, .POST, "/v1/invoices/\(invoiceId)/payments", token: parties.finance, json: """
                {"amount": \(amount), "reference": "\(reference)", "receivedOn": "\(today)"}
                """)
            step("Finance records payment \(reference) of \(Self.money(.integer(amount))): invoice \(Self.string(paid["status"]))")
        }
        try await expenses(parties, caseId, [("repossession", 450_000), ("storage", 120_000)])
        let statement = try await settle(parties, caseId)
        check(Self.integer(statement["surplus"]) == 525_000 && Self.integer(statement["deficiency"]) == 0,
              "vector E: surplus 5,250.00 after the junior lien's 3,000.00")
        let refunds = try await api.expect(200, .GET, "/v1/surplus-refunds", token: parties.finance)
        if let refund = refunds["items"]?.elements?.first(where: { $0["caseId"] == .string(caseId) }) {
            let paid = try await api.expect(200, .POST, "/v1/surplus-refunds/\(Self.string(refund["id"]))/pay", token: parties.finance,
                                            json: #"{"reference": "SURPLUS-\#(run)"}"#)
            step("Finance pays the surplus of \(Self.money(paid["amount"])) to \(Self.string(paid["borrower"])): \(Self.string(paid["status"]))")
        } else {
            check(false, "a surplus refund is recorded for the borrower")
        }
        let paidOut = try await payEverythingOut(parties, caseId, run: run)
        check(paidOut == ["consignor": 6_445_000, "lienholder": 300_000, "vendor": 570_000],
              "vector I: lender 64,450.00, junior 3,000.00, vendors 5,700.00 (the seller fee 1,600.00 is the platform's)")
        try await expectClosed(caseId)
    }

    // MARK: - The deficiency case

    mutating func deficiencyCase(_ parties: inout Parties, run: String) async throws {
        print("\nCase 2: the winner defaults, the second round sells low, a deficiency remains\n")
        let (caseId, vehicleId) = try await intake(parties, loanNumber: "LN-\(run)-2", vin: Self.vin("JH4KA756", 2))
        _ = try await sendNotices(parties, caseId, days: 10)
        let (firstLot, _) = try await openLot(parties, path: "/v1/lots", json: """
            {"vehicleId": "\(vehicleId)", "format": "english", "startsAt": "\(Self.timestamp(-1))", "endsAt": "\(Self.timestamp(6))"}
            """, dealers: [0, 1])
        _ = try await bid(parties, firstLot, 0, 8_000_000)
        _ = try await bid(parties, firstLot, 1, 7_700_000)
        let closed = try await waitForClose(firstLot)
        step("Closed \(Self.string(closed["status"])) at \(Self.money(closed["currentPrice"])) to \(parties.bidders[0].name)")
        let invoice = try await api.expect(200, .GET, "/v1/lots/\(firstLot)/invoice", token: parties.finance)
        // The one step outside the API: three days pass for this invoice in an instant.
        try await PostgresConnection.with(location, logger: logger) { connection in
            try await connection.query(
                "UPDATE invoices SET due_at = now() WHERE id = \(UUID(uuidString: Self.string(invoice["id"]))!)", logger: logger)
        }
        step("\(parties.bidders[0].name) does not pay; (demo: the invoice's due date is moved to now instead of waiting 3 days)")
        var status = ""
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            status = Self.string(try await api.expect(200, .GET, "/v1/lots/\(firstLot)/invoice", token: parties.finance)["status"])
            if status == "defaulted" { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        step("The scheduler defaults the invoice: deposit forfeited to the case, \(parties.bidders[0].name) barred from this vehicle")
        check(status == "defaulted", "an unpaid invoice is defaulted when due, by the scheduler")
        let (secondLot, start) = try await openLot(parties, path: "/v1/lots/\(firstLot)/relist", json: """
            {"startsAt": "\(Self.timestamp(-1))", "endsAt": "\(Self.timestamp(6))"}
            """, dealers: [1, 2])
        check(start == 4_720_000, "vector B: round 2 starts 20% lower, at 47,200.00")
        let (barredStatus, barred) = try await api.call(.POST, "/v1/lots/\(secondLot)/bids", token: parties.bidders[0].token, json: #"{"maxAmount": 9000000}"#)
        check(barredStatus == 403 && barred["code"] == .string("bidder-barred"), "the defaulter may not bid again on this vehicle")
        _ = try await bid(parties, secondLot, 1, 5_500_000)
        _ = try await bid(parties, secondLot, 2, 4_950_000)
        let second = try await waitForClose(secondLot)
        step("Closed \(Self.string(second["status"])) at \(Self.money(second["currentPrice"])): below the reserve, the manager decides")
        try await api.expect(200, .POST, "/v1/lots/\(secondLot)/decision", token: parties.manager, json: #"{"accept": true}"#)
        let invoice2 = try await api.expect(200, .GET, "/v1/lots/\(secondLot)/invoice", token: parties.finance)
        try await api.expect(201, .POST, "/v1/invoices/\(Self.string(invoice2["id"]))/payments", token: parties.finance, json: """
            {"amount": \(Self.integer(invoice2["amountDue"])), "reference": "WIRE-B1", "receivedOn": "\(today)"}
            """)
        step("Manager accepts; \(parties.bidders[1].name) pays \(Self.money(invoice2["amountDue"])) after the deposit")
        try await expenses(parties, caseId, [("repossession", 450_000), ("transport", 120_000)])
        let statement = try await settle(parties, caseId)
        check(Self.integer(statement["proceeds"]?["total"]) == 5_590_000, "vector F: proceeds 50,000.00 + forfeited deposit 5,900.00")
        check(Self.integer(statement["deficiency"]) == 1_525_000, "vector F: deficiency 15,250.00")
        let claims = try await api.expect(200, .GET, "/v1/deficiency-claims", token: parties.finance)
        let claim = claims["items"]?.elements?.first { $0["caseId"] == .string(caseId) }
        let debtors = (claim?["debtors"]?.elements ?? []).map { debtor in
            Self.string(debtor["name"]) + (debtor["guaranteeType"].map { " (\(Self.string($0)) guarantee)" } ?? " (borrower)")
        }
        step("Deficiency claim of \(Self.money(claim?["amount"])) against \(debtors.joined(separator: " and "))")
        check(debtors == ["Wang Li (borrower)", "Zhang Wei (general guarantee)"],
              "the borrower and the guarantor, by its guarantee, are named on the claim")
        let claimId = Self.string(claim?["id"])
        let recovered = try await api.expect(201, .POST, "/v1/deficiency-claims/\(claimId)/recoveries", token: parties.finance, json: """
            {"amount": 500000, "reference": "RECOVERY-\(run)", "receivedOn": "\(today)", "payer": "Zhang Wei"}
            """)
        step("Zhang Wei pays \(Self.money(.integer(500_000))) on the claim; \(Self.money(recovered["outstanding"])) outstanding")
        let writtenOff = try await api.expect(200, .POST, "/v1/deficiency-claims/\(claimId)/write-off", token: parties.finance,
                                              json: #"{"reason": "the borrower has no assets left"}"#)
        step("Finance writes the rest off: claim \(Self.string(writtenOff["status"]))")
        let paidOut = try await payEverythingOut(parties, caseId, run: run)
        check(paidOut["consignor"] == 4_920_000 + 500_000,
              "the lender receives the obligation's share of the proceeds and the guarantor's recovery")
        try await expectClosed(caseId)
    }

    // MARK: - The redemption case

    mutating func redemptionCase(_ parties: inout Parties, run: String) async throws {
        print("\nCase 3: the borrower pays off the loan before the sale and takes the car back\n")
        let (caseId, vehicleId) = try await intake(parties, loanNumber: "LN-\(run)-3", vin: Self.vin("2HGES165", 3))
        _ = try await sendNotices(parties, caseId, days: 10)
        try await expenses(parties, caseId, [("repossession", 400_000)], afterSale: false)
        let (lotId, _) = try await openLot(parties, path: "/v1/lots", json: """
            {"vehicleId": "\(vehicleId)", "format": "english", "startsAt": "\(Self.timestamp(86_400))", "endsAt": "\(Self.timestamp(3 * 86_400))"}
            """, dealers: [0, 1])
        let quoteDay = today.adding(days: -15)
        let quote = try await api.expect(200, .GET, "/v1/cases/\(caseId)/payoff?asOf=\(quoteDay)", token: parties.manager)
        step("Payoff quote as of \(quoteDay): obligation \(Self.money(quote["obligation"]?["total"])) + expenses \(Self.money(quote["expensesTotal"])) = \(Self.money(quote["payoff"]))")
        check(Self.integer(quote["payoff"]) == 6_822_500, "vector H: payoff 68,225.00 after 35 days of interest")
        let (shortStatus, _) = try await api.call(.POST, "/v1/cases/\(caseId)/redemption", token: parties.finance, json: """
            {"amount": 6800000, "reference": "REDEEM-\(run)-short", "receivedOn": "\(quoteDay)"}
            """)
        check(shortStatus == 422, "a redemption below the payoff is refused")
        let statement = try await api.expect(201, .POST, "/v1/cases/\(caseId)/redemption", token: parties.finance, json: """
            {"amount": 6900000, "reference": "REDEEM-\(run)", "receivedOn": "\(quoteDay)"}
            """)
        settledCases.append(caseId)
        step("Wang Li pays 69,000.00: the case is redeemed, its surplus \(Self.money(statement["surplus"])) owed back")
        check(Self.integer(statement["surplus"]) == 77_500, "the surplus is what exceeds the payoff")
        let lot = try await api.expect(200, .GET, "/v1/lots/\(lotId)", token: parties.manager)
        let vehicle = try await api.expect(200, .GET, "/v1/vehicles/\(vehicleId)", token: parties.manager)
        check(Self.string(lot["status"]) == "cancelled" && Self.string(vehicle["status"]) == "released",
              "the scheduled lot is cancelled and the car released to the borrower")
        let refunds = try await api.expect(200, .GET, "/v1/surplus-refunds", token: parties.finance)
        for refund in refunds["items"]?.elements ?? [] where refund["caseId"] == .string(caseId) && refund["status"] == .string("pending") {
            let paid = try await api.expect(200, .POST, "/v1/surplus-refunds/\(Self.string(refund["id"]))/pay", token: parties.finance,
                                            json: #"{"reference": "SURPLUS-\#(run)-3"}"#)
            step("Finance pays the surplus of \(Self.money(paid["amount"])) back to \(Self.string(paid["borrower"]))")
        }
        let paidOut = try await payEverythingOut(parties, caseId, run: run)
        check(paidOut == ["consignor": 6_422_500, "vendor": 400_000], "the lender receives the payoff less the expenses it covered")
        try await expectClosed(caseId)
    }

    // MARK: - Money out

    /// Pays every open payable of the case (the surplus is paid through its refund).
    func payEverythingOut(_ parties: Parties, _ caseId: String, run: String) async throws -> [String: Int64] {
        let payables = try await api.expect(200, .GET, "/v1/payables?caseId=\(caseId)", token: parties.finance)
        var paid: [String: Int64] = [:]
        for item in payables["items"]?.elements ?? [] where item["kind"] != .string("surplus-refund") && item["kind"] != .string("consignor-receivable") {
            let kind = Self.string(item["kind"]), payee = Self.string(item["payee"])
            let payout = try await api.expect(201, .POST, "/v1/payouts", token: parties.finance, json: """
                {"kind": "\(kind)", "caseId": "\(caseId)", "payee": "\(payee)", "amount": \(Self.integer(item["amount"])),
                 "reference": "OUT-\(run)-\(paid.count)-\(kind)", "paidOn": "\(today)"}
                """)
            step("Finance pays out \(Self.money(payout["amount"])) to \(payee) (\(kind))")
            paid[kind, default: 0] += Self.integer(payout["amount"])
        }
        return paid
    }

    mutating func expectClosed(_ caseId: String) async throws {
        let found = try await api.expect(200, .GET, "/v1/cases/\(caseId)", token: admin)
        let open = try await api.expect(200, .GET, "/v1/payables?caseId=\(caseId)", token: admin)
        step("The case is \(Self.string(found["status"]))")
        check(Self.string(found["status"]) == "closed" && open["items"] == .array([]), "every payable is paid out and the case is closed")
    }

    /// The deposits this run's lots owe back go back to their dealers.
    func refundDeposits(_ parties: Parties) async throws {
        var count = 0
        for lotId in lots {
            let deposits = try await api.expect(200, .GET, "/v1/deposits?lotId=\(lotId)", token: parties.finance)
            for deposit in deposits["items"]?.elements ?? [] where deposit["status"] == .string("refund-due") {
                try await api.expect(200, .POST, "/v1/deposits/\(Self.string(deposit["id"]))/refund", token: parties.finance,
                                     json: #"{"reference": "DEPOSIT-BACK-\#(Self.string(deposit["id"]).prefix(8))"}"#)
                count += 1
            }
        }
        print("")
        step("Finance refunds the \(count) deposits the lots owe back to the dealers who did not win")
    }

    // MARK: - Shared steps

    func expenses(_ parties: Parties, _ caseId: String, _ items: [(String, Int64)], afterSale: Bool = true) async throws {
        for (kind, amount) in items {
            try await api.expect(201, .POST, "/v1/cases/\(caseId)/expenses", token: parties.finance, json: """
                {"kind": "\(kind)", "amount": \(amount), "incurredOn": "\(today.adding(days: -30))"}
                """)
        }
        step("Finance records expenses: \(items.map { "\($0.0) \(Self.money(.integer($0.1)))" }.joined(separator: ", "))\(afterSale ? " (the seller fee was booked at payment)" : "")")
    }

    mutating func settle(_ parties: Parties, _ caseId: String) async throws -> JSONValue {
        let statement = try await api.expect(201, .POST, "/v1/cases/\(caseId)/settlement", token: parties.finance, json: "{}")
        settledCases.append(caseId)
        step("Finance issues the settlement statement (\(Self.string(statement["settlementDate"]))):")
        print(Self.table(statement))
        let allocated = (statement["allocation"]?.elements ?? []).filter { $0["bucket"] != .string("surplus") }
            .reduce(Int64(0)) { $0 + Self.integer($1["amount"]) }
        check(allocated + Self.integer(statement["surplus"]) == Self.integer(statement["proceeds"]?["total"]),
              "the allocation adds up to the proceeds")
        let explanation = Dictionary(
            (statement["explanation"]?.elements ?? []).map { (Self.string($0["key"]), Self.integer($0["amount"])) }) { $1 }
        let left = (explanation["obligation"] ?? 0) + (explanation["interest-accrued"] ?? 0) - (explanation["borrower-payments"] ?? 0)
            - (explanation["proceeds"] ?? 0) + (explanation["expenses"] ?? 0) - (explanation["credits"] ?? 0)
            + (explanation["juniors-paid"] ?? 0)
        check(left == (explanation["deficiency"] ?? 0) - (explanation["surplus"] ?? 0),
              "the UCC 9-616(c) explanation adds up to the \(explanation["deficiency"] != nil ? "deficiency" : "surplus")")
        return statement
    }

    static func table(_ statement: JSONValue) -> String {
        var lines: [(String, String)] = []
        for line in statement["explanation"]?.elements ?? [] {
            lines.append(("\(integer(line["line"])). \(string(line["label"]))", money(line["amount"])))
        }
        lines.append(("", ""))
        for step in statement["allocation"]?.elements ?? [] { lines.append(("  paid to \(string(step["bucket"]))", money(step["amount"]))) }
        for junior in statement["juniorDistributions"]?.elements ?? [] {
            lines.append(("    junior lienholder \(string(junior["name"]))", money(junior["amount"])))
        }
        lines.append(("  surplus", money(statement["surplus"])))
        lines.append(("  deficiency", money(statement["deficiency"])))
        let width = lines.map(\.0.count).max() ?? 0
        return lines.map { label, amount in
            label.isEmpty ? "" : "    " + label.padding(toLength: width + 2, withPad: " ", startingAt: 0) + String(repeating: " ", count: max(0, 16 - amount.count)) + amount + " CNY"
        }.joined(separator: "\n")
    }

    mutating func checkBooks(_ parties: Parties) async throws {
        print("\nThe books\n")
        let trial = try await api.expect(200, .GET, "/v1/ledger/trial-balance", token: admin)
        check(trial["totalDebit"] == trial["totalCredit"], "the trial balance balances (debits \(Self.money(trial["totalDebit"])))")
        let ours = Set(settledCases.map { "case-proceeds:\($0)" })
        let accounts = trial["accounts"]?.elements ?? []
        let proceeds = accounts.filter { ours.contains(Self.string($0["account"])) }
        check(proceeds.allSatisfy { Self.integer($0["balance"]) == 0 }, "each settled case's proceeds account nets to zero")
        let payables = ["consignor-payable", "lienholders-payable", "expenses-payable", "borrower-payable", "buyer-refunds-payable",
                        "consignor-receivable", "bidder-deposits-held"]
        for name in payables {
            let balance = accounts.first { Self.string($0["account"]) == name }.map { Self.integer($0["balance"]) } ?? 0
            print("    \(name.padding(toLength: 24, withPad: " ", startingAt: 0)) \(Self.money(.integer(balance)))")
        }
        let open = accounts.filter { payables.contains(Self.string($0["account"])) && Self.integer($0["balance"]) != 0 }
        check(open.isEmpty, "the trial balance shows zero in every payable and in the deposits held")
    }
}
