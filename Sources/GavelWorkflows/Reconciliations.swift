import Foundation
import GavelCore
import GavelStore

/// Bank reconciliation: a bank statement's lines matched against the receipts and
/// payouts Gavel recorded. Every new line is stored once; matching then runs over every
/// line still unmatched, so a line uploaded before its payment was recorded matches later.
public struct Reconciliations: Sendable {
    public init() {}

    /// What an upload found.
    public struct Outcome: Sendable {
        public var currency: String
        public var matches: [Reconciliation.Match]
        public var unmatchedLines: [StoredBankLine]
        public var unmatchedItems: [Reconciliation.BookItem]
        /// Lines of this upload that an earlier upload had brought already (their numbers).
        public var alreadyImported: [Int]
        /// Every line still unmatched before this upload matched, by ID: where each came from.
        public var lines: [UUID: StoredBankLine]
    }

    public func upload(_ lines: [UploadedBankLine], currency: String, by caller: Caller, in session: Session) async throws -> Outcome {
        let uploadId = Seam.newID()
        let connection = session.connection
        let logger = session.logger
        // One upload at a time: two at once could match one receipt twice.
        try await ReconciliationRepository.lock(on: connection, logger: logger)
        let already = try await ReconciliationRepository.store(
            lines, uploadId: uploadId, currency: currency, uploadedBy: caller.user.id, on: connection, logger: logger)
        let bankLines = try await ReconciliationRepository.unmatchedLines(currency: currency, on: connection, logger: logger)
        let items = try await ReconciliationRepository.unmatchedItems(currency: currency, on: connection, logger: logger)
        let matches = Reconciliation.match(bankLines.map(\.line), items)
        try await ReconciliationRepository.record(matches, on: connection, logger: logger)
        let matchedLines = Set(matches.map(\.line.id))
        let matchedItems = Set(matches.map(\.item.id))
        try await session.audit(
            caller, "reconciliation.upload", "bank-upload", uploadId, before: nil,
            after: .object(["lines": .integer(Int64(lines.count)), "matched": .integer(Int64(matches.count))]))
        return Outcome(
            currency: currency, matches: matches,
            unmatchedLines: bankLines.filter { !matchedLines.contains($0.line.id) },
            unmatchedItems: items.filter { !matchedItems.contains($0.id) },
            alreadyImported: already,
            lines: Dictionary(uniqueKeysWithValues: bankLines.map { ($0.line.id, $0) }))
    }
}
