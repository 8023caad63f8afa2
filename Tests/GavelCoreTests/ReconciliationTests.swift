import Foundation
import GavelCore
import Testing

@Suite("Bank reconciliation (domain rules section 9)")
struct ReconciliationTests {
    static func day(_ text: String) -> CalendarDate { CalendarDate(iso: text)! }

    static func line(_ date: String, _ amount: Int64, _ reference: String = "") -> Reconciliation.BankLine {
        Reconciliation.BankLine(id: UUID(), date: day(date), amount: amount, reference: reference, counterparty: "Dealer")
    }

    static func item(_ kind: String, _ date: String, _ amount: Int64, _ reference: String) -> Reconciliation.BookItem {
        Reconciliation.BookItem(kind: kind, id: UUID(), date: day(date), amount: amount, reference: reference)
    }

    @Test("amounts are decimals with two places; minor units and other shapes are refused")
    func amounts() throws {
        #expect(try Reconciliation.parseAmount("8430.00").get() == 843_000)
        #expect(try Reconciliation.parseAmount(" -5900.50 ").get() == -590_050)
        #expect(try Reconciliation.parseAmount("+0.07").get() == 7)
        for bad in ["843000", "8430.0", "8430.000", "8,430.00", "", "-", ".50", "12a.00", "1e3.00", "100000000000.00"] {
            #expect(throws: ValidationFailure.self, "\(bad)") { try Reconciliation.parseAmount(bad).get() }
        }
    }

    @Test("by reference whatever the date; by amount only within three days, the nearest date first")
    func matching() {
        let deposit = Self.item("deposit", "2026-11-20", 590_000, "BANK-1")
        let early = Self.item("payment", "2026-11-16", 840_000, "W-1")
        let near = Self.item("payment", "2026-11-18", 840_000, "W-2")
        let refund = Self.item("deposit-refund", "2026-11-21", -590_000, "PAYOUT-9")
        let lines = [
            Self.line("2026-11-30", 590_000, " bank-1 "),   // a reference match ten days later
            Self.line("2026-11-19", 840_000),               // W-2 is 1 day away, W-1 3 days
            Self.line("2026-11-19", 840_000),               // then W-1, exactly 3 days away
            Self.line("2026-11-25", -590_000),              // 4 days: too far
            Self.line("2026-11-20", 590_000, "BANK-1"),     // the item is taken already
        ]
        let matches = Reconciliation.match(lines, [deposit, early, near, refund])
        #expect(matches.map(\.item.id) == [deposit.id, near.id, early.id])
        #expect(matches.map(\.rule) == [.reference, .amountAndDate, .amountAndDate])
        #expect(matches.map(\.line.id) == [lines[0].id, lines[1].id, lines[2].id])
    }

    @Test("a reference match is made before any loose match could take its item")
    func referenceFirst() {
        let payment = Self.item("payment", "2026-11-20", 100_000, "INV-7")
        let loose = Self.line("2026-11-20", 100_000)
        let exact = Self.line("2026-11-28", 100_000, "INV-7")
        let matches = Reconciliation.match([loose, exact], [payment])
        #expect(matches.count == 1)
        #expect(matches.first?.line.id == exact.id)
        #expect(matches.first?.rule == .reference)
    }

    @Test("no line and no item is ever matched twice, whatever the input", arguments: 0..<100)
    func property(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let amounts: [Int64] = [100, 200, -100, 300]
        let items = (0..<Int.random(in: 0...12, using: &random)).map { index in
            Self.item(["deposit", "payment"][index % 2], "2026-11-\(10 + Int.random(in: 0...9, using: &random))",
                      amounts.randomElement(using: &random)!, Bool.random(using: &random) ? "R\(index % 4)" : "")
        }
        let lines = (0..<Int.random(in: 0...12, using: &random)).map { index in
            Self.line("2026-11-\(10 + Int.random(in: 0...9, using: &random))", amounts.randomElement(using: &random)!,
                      Bool.random(using: &random) ? "r\(index % 4)" : "")
        }
        let matches = Reconciliation.match(lines, items)
        #expect(Set(matches.map(\.line.id)).count == matches.count)
        #expect(Set(matches.map(\.item.id)).count == matches.count)
        for match in matches {
            #expect(match.line.amount == match.item.amount)
            if match.rule == .amountAndDate { #expect(abs(match.line.date.dayNumber - match.item.date.dayNumber) <= 3) }
        }
    }
}
