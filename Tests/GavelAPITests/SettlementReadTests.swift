import Foundation
import GavelCore
import GavelStore
import PostgresNIO
import Testing

/// A settlement reads its case, facts and vehicles in one round trip under the case's
/// lock (`settlement_locked_read`, SQL/0031); the payoff quote and corrections still read
/// them one by one. Both must answer the same, whatever state the case is in.
@Suite("Settlement's one-call read")
struct SettlementReadTests {
    static func expectSame(_ caseId: UUID, _ gavel: Harness, _ comment: Comment) async throws {
        try await gavel.sql { connection in
            let one = try #require(try await SettlementRepository.lockedCaseWithFacts(caseId: caseId, on: connection, logger: quietLogger))
            let stored = try #require(try await CaseRepository.find(id: caseId, on: connection, logger: quietLogger))
            let facts = try await SettlementRepository.facts(caseId: caseId, on: connection, logger: quietLogger)
            #expect(one.0.loanCase == stored.loanCase, comment)
            #expect(one.0.currency == stored.currency && one.0.seq == stored.seq, comment)
            #expect(one.1.vehicles == facts.vehicles, comment)
            #expect(one.1.hammer == facts.hammer && one.1.forfeitedDeposits == facts.forfeitedDeposits, comment)
            #expect(one.1.expenses.map { "\($0.kind)=\($0.amount)" } == facts.expenses.map { "\($0.kind)=\($0.amount)" }, comment)
            #expect(one.1.openInvoices == facts.openInvoices && one.1.borrowerPayments == facts.borrowerPayments, comment)
            #expect(one.1.redemption?.amount == facts.redemption?.amount, comment)
            #expect(one.1.lastProceedsReceivedOn == facts.lastProceedsReceivedOn, comment)
            #expect(one.1.consignor == facts.consignor && one.1.currentStatementId == facts.currentStatementId, comment)
        }
    }

    @Test("the locked read answers what the case, facts and vehicles reads answer: vehicles sold, in stock, returned; before and after the statement")
    func sameAnswers() async throws {
        try await withGavel { gavel in
            let (sold, caseIdText) = try await SettlementTests.surplusCase(gavel)
            let caseId = try #require(UUID(uuidString: caseIdText))
            let manager = sold.open.disposal.manager.token
            let second = try await sold.open.disposal.addVehicle(vin: "JH4KA7561PC008269")
            let third = try await sold.open.disposal.addVehicle(vin: "1M8GDM9AXKP042788")
            try await Self.expectSame(caseId, gavel, "one sold, two in stock")
            try await gavel.sql { connection in
                let read = try #require(try await SettlementRepository.lockedCaseWithFacts(caseId: caseId, on: connection, logger: quietLogger))
                #expect(read.0.loanCase.status == .open)
                // In the case's order, the sale's price and day on the sold one only.
                #expect(read.1.vehicles.map(\.vin) == ["1HGCM82633A004352", "JH4KA7561PC008269", "1M8GDM9AXKP042788"])
                #expect(read.1.vehicles.map(\.status) == [.sold, .inStock, .inStock])
                #expect(read.1.vehicles.map(\.price) == [8_000_000, nil, nil])
                #expect(read.1.vehicles[0].saleDate != nil && read.1.vehicles[1].saleDate == nil)
                #expect(read.1.expenses.map(\.amount) == [450_000, 120_000, 160_000])
            }
            for vehicle in [second, third] {
                let returned = try await gavel.request(.post, "/v1/vehicles/\(vehicle)/return", token: manager, json: #"{"reason": "unsaleable"}"#)
                #expect(returned.status == .ok, "\(returned.text)")
            }
            try await Self.expectSame(caseId, gavel, "one sold, two returned: ready")
            try await gavel.sql { connection in
                let read = try #require(try await SettlementRepository.lockedCaseWithFacts(caseId: caseId, on: connection, logger: quietLogger))
                #expect(read.0.loanCase.status == .ready)
                #expect(read.1.vehicles.map(\.status) == [.sold, .returned, .returned])
                #expect(read.1.currentStatementId == nil)
            }
            let issued = try await SettlementTests.settle(gavel, caseIdText, token: sold.open.finance.token)
            #expect(issued.status == .created, "\(issued.text)")
            #expect(try issued.json["vehicles"]?.array?.map { $0["vin"] } == ["1HGCM82633A004352", "JH4KA7561PC008269", "1M8GDM9AXKP042788"].map { .string($0) })
            try await Self.expectSame(caseId, gavel, "settled")
            try await gavel.sql { connection in
                let read = try #require(try await SettlementRepository.lockedCaseWithFacts(caseId: caseId, on: connection, logger: quietLogger))
                #expect(read.1.currentStatementId?.uuidString.lowercased() == (try issued.string("id")))
                #expect(try await SettlementRepository.lockedCaseWithFacts(caseId: UUID(), on: connection, logger: quietLogger) == nil)
            }
        }
    }
}
