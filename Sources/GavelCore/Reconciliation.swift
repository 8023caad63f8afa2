import Foundation

/// Bank reconciliation (domain rules section 9): bank lines against the receipts and
/// payouts Gavel recorded, by reference first, then by amount within a few days.
public enum Reconciliation {
    /// A line of the bank's statement. Money in is positive, money out negative.
    public struct BankLine: Equatable, Sendable {
        public var id: UUID
        public var date: CalendarDate
        public var amount: Int64
        public var reference: String
        public var counterparty: String

        public init(id: UUID, date: CalendarDate, amount: Int64, reference: String, counterparty: String) {
            self.id = id
            self.date = date
            self.amount = amount
            self.reference = reference
            self.counterparty = counterparty
        }
    }

    /// A receipt (deposit, payment) or payout (deposit refund) in Gavel's books, signed
    /// the way the bank sees it.
    public struct BookItem: Equatable, Sendable {
        public var kind: String
        public var id: UUID
        public var date: CalendarDate
        public var amount: Int64
        public var reference: String

        public init(kind: String, id: UUID, date: CalendarDate, amount: Int64, reference: String) {
            self.kind = kind
            self.id = id
            self.date = date
            self.amount = amount
            self.reference = reference
        }
    }

    public enum Rule: String, Sendable, CaseIterable {
        /// Same reference and amount, whatever the dates.
        case reference
        /// Same amount, dates at most `windowDays` apart.
        case amountAndDate = "amount-and-date"
    }

    public struct Match: Equatable, Sendable {
        public var line: BankLine
        public var item: BookItem
        public var rule: Rule
    }

    /// Matches each line to at most one item and each item to at most one line. All
    /// reference matches are made before any by amount, so a loose match never takes
    /// an item that a line names exactly. Among several items by amount, the nearest
    /// date wins, then the earlier, then the kind and ID (so the answer is the same on
    /// every run).
    public static func match(_ lines: [BankLine], _ items: [BookItem], windowDays: Int = 3) -> [Match] {
        var taken = Set<Int>()
        var matches: [Match] = []
        var unmatchedLines: [BankLine] = []
        for line in lines {
            let reference = normalized(line.reference)
            let found = reference.isEmpty ? nil : items.indices.first { index in
                !taken.contains(index) && items[index].amount == line.amount && normalized(items[index].reference) == reference
            }
            if let found {
                taken.insert(found)
                matches.append(Match(line: line, item: items[found], rule: .reference))
            } else {
                unmatchedLines.append(line)
            }
        }
        for line in unmatchedLines {
            let candidates = items.indices.filter { index in
                !taken.contains(index) && items[index].amount == line.amount
                    && abs(items[index].date.dayNumber - line.date.dayNumber) <= windowDays
            }
            let best = candidates.min { a, b in
                let (x, y) = (items[a], items[b])
                let (dx, dy) = (abs(x.date.dayNumber - line.date.dayNumber), abs(y.date.dayNumber - line.date.dayNumber))
                if dx != dy { return dx < dy }
                if x.date != y.date { return x.date < y.date }
                return (x.kind, x.id.uuidString) < (y.kind, y.id.uuidString)
            }
            if let best {
                taken.insert(best)
                matches.append(Match(line: line, item: items[best], rule: .amountAndDate))
            }
        }
        return matches
    }

    static func normalized(_ reference: String) -> String {
        reference.trimmingCharacters(in: .whitespaces).uppercased()
    }

    /// A bank amount as the statement writes it: a decimal with exactly two places
    /// (`1234.56`, `-590.00`), turned into minor units. Whole numbers are refused
    /// because they could as well be minor units already.
    public static func parseAmount(_ text: String) -> Result<Int64, ValidationFailure> {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var digits = Substring(trimmed)
        let negative = digits.first == "-"
        if negative || digits.first == "+" { digits = digits.dropFirst() }
        let parts = digits.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1].count == 2, !parts[0].isEmpty, parts[0].count <= 11,
              parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let whole = Int64(parts[0]), let cents = Int64(parts[1])
        else {
            return .failure(ValidationFailure([FieldError(
                field: "amount",
                message: "must be a decimal with two places such as 1234.56 or -590.00 (not minor units), got \"\(trimmed)\"")]))
        }
        let minor = whole * 100 + cents
        guard Money.isInRange(minor) else {
            return .failure(ValidationFailure([FieldError(
                field: "amount", message: "must be at most \(Money.maximum / 100).00", code: .amountOutOfRange)]))
        }
        return .success(negative ? -minor : minor)
    }
}
