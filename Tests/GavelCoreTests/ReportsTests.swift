import Foundation
import GavelCore
import Testing

@Suite("Disposal reports")
struct ReportsTests {
    static let today = CalendarDate(iso: "2026-11-30")!
    static let repossessed = CalendarDate(iso: "2026-11-10")!

    static func facts(
        _ vehicle: Vehicle.Status = .inStock, case status: CaseStatus = .open, appraised: Bool = false, listed: Bool = false,
        awaitingPayment: Bool = false, settledOn: String? = nil
    ) -> Reports.VehicleFacts {
        Reports.VehicleFacts(
            vehicleStatus: vehicle, caseStatus: status, appraised: appraised, listed: listed, awaitingPayment: awaitingPayment,
            repossessedOn: repossessed, settledOn: settledOn.flatMap(CalendarDate.init(iso:)))
    }

    @Test("each vehicle has one stage, the furthest it reached")
    func stages() {
        #expect(Self.facts().stage == .inStock)
        #expect(Self.facts(appraised: true).stage == .appraised)
        #expect(Self.facts(appraised: true, listed: true).stage == .listed)
        #expect(Self.facts(appraised: true, listed: false, awaitingPayment: true).stage == .soldUnpaid)
        #expect(Self.facts(.sold, case: .ready, appraised: true).stage == .paid)
        #expect(Self.facts(.sold, case: .settled, settledOn: "2026-11-25").stage == .settled)
        #expect(Self.facts(.released, case: .redeemed, settledOn: "2026-11-25").stage == .settled)
        #expect(Self.facts(.sold, case: .closed, settledOn: "2026-11-25").stage == .closed)
        #expect(Self.facts(.returned, case: .open).stage == .returned)
        #expect(Self.facts(.returned, case: .withdrawn).stage == .returned)
        // Ages: to today while it runs, to the statement once settled.
        #expect(Self.facts().days(today: Self.today) == 20)
        #expect(Self.facts(.sold, case: .closed, settledOn: "2026-11-25").days(today: Self.today) == 15)
    }

    @Test("every stage is listed in order, with counts, the mean rounded half up and the oldest")
    func summaries() {
        var older = Self.facts()
        older.repossessedOn = CalendarDate(iso: "2026-11-01")!
        let summary = Reports.stages([Self.facts(), older, Self.facts(appraised: true)], today: Self.today)
        #expect(summary.map(\.stage) == Reports.Stage.allCases)
        #expect(summary[0] == .init(stage: .inStock, count: 2, averageDays: 25, oldestDays: 29))  // (20 + 29) / 2 = 24.5 -> 25
        #expect(summary[1] == .init(stage: .appraised, count: 1, averageDays: 20, oldestDays: 20))
        #expect(summary[2] == .init(stage: .listed, count: 0, averageDays: 0, oldestDays: 0))
    }

    @Test("recovery per consignor and month: totals, proceeds over obligation in basis points, days to sale and settlement")
    func recovery() {
        let a = UUID(), b = UUID()
        func settled(_ consignor: UUID, _ name: String, _ day: String, _ obligation: Int64, _ proceeds: Int64, sold: String?) -> Reports.SettledCase {
            Reports.SettledCase(
                consignorId: consignor, consignorName: name, currency: "CNY", settledOn: CalendarDate(iso: day)!, obligation: obligation,
                proceeds: proceeds, repossessedOn: CalendarDate(iso: "2026-10-01")!, soldOn: sold.flatMap(CalendarDate.init(iso:)))
        }
        let rows = Reports.recovery([
            settled(a, "Bank A", "2026-11-20", 6_445_000, 8_000_000, sold: "2026-11-10"),
            settled(a, "Bank A", "2026-11-28", 6_370_000, 5_590_000, sold: "2026-11-15"),
            settled(a, "Bank A", "2026-10-30", 3_000_000, 1_000_000, sold: nil),
            settled(b, "Auto B", "2026-11-02", 0, 0, sold: nil),
        ])
        #expect(rows.map(\.consignorName) == ["Auto B", "Bank A", "Bank A"])
        #expect(rows.map(\.month) == ["2026-11", "2026-10", "2026-11"])
        let november = rows[2]
        #expect(november.cases == 2 && november.obligation == 12_815_000 && november.proceeds == 13_590_000)
        #expect(november.recoveryBp == 10_605)  // 13 590 000 / 12 815 000 = 1.06047...
        #expect(november.averageDaysToSale == 43)  // (40 + 45) / 2 = 42.5, rounded half up
        #expect(november.averageDaysToSettlement == 54)  // (50 + 58) / 2
        #expect(rows[1].averageDaysToSale == nil && rows[1].recoveryBp == 3_333)
        #expect(rows[0].recoveryBp == nil, "no obligation: no rate")
    }
}
