import Foundation
import GavelCore
import Logging
import PostgresNIO

/// A case as stored, with its consignor's currency and its list position.
public struct StoredCase: Sendable {
    public var loanCase: LoanCase
    public var currency: String
    public var seq: Int64
}

public enum CaseRepository {
    public static func insert(_ loanCase: LoanCase, on connection: PostgresConnection, logger: Logger) async throws {
        let b = loanCase.balances
        try await connection.query(
            """
            INSERT INTO cases (id, consignor_id, loan_number, borrower, guarantors, principal, interest, fees,
                               per_diem_interest, balances_as_of, lienholders, credits, collateral_owner, excluded_id_numbers)
            VALUES (\(loanCase.id), \(loanCase.consignorId), \(loanCase.loanNumber),
                    \(BorrowerDocument.text(loanCase.borrower))::jsonb, \(GuarantorsDocument.text(loanCase.guarantors))::jsonb,
                    \(b.principal), \(b.interest), \(b.fees), \(b.perDiemInterest), \(b.asOf.description)::date,
                    \(LienholdersDocument.text(loanCase.lienholders))::jsonb, \(CreditsDocument.text(loanCase.credits))::jsonb,
                    \(loanCase.collateralOwner.map(OwnerDocument.text))::jsonb, \(IdNumbersDocument.text(loanCase.excludedIdNumbers))::jsonb)
            """, logger: logger)
    }

    /// The case's parties, credits, exclusions and juniors as changed before settlement.
    public static func updateParties(_ loanCase: LoanCase, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            UPDATE cases SET borrower = \(BorrowerDocument.text(loanCase.borrower))::jsonb,
                   guarantors = \(GuarantorsDocument.text(loanCase.guarantors))::jsonb,
                   lienholders = \(LienholdersDocument.text(loanCase.lienholders))::jsonb,
                   credits = \(CreditsDocument.text(loanCase.credits))::jsonb,
                   collateral_owner = \(loanCase.collateralOwner.map(OwnerDocument.text))::jsonb,
                   excluded_id_numbers = \(IdNumbersDocument.text(loanCase.excludedIdNumbers))::jsonb
            WHERE id = \(loanCase.id)
            """, logger: logger)
    }

    /// Many cases in one statement (the lender's daily hand-over).
    public static func insert(_ cases: [LoanCase], on connection: PostgresConnection, logger: Logger) async throws {
        guard !cases.isEmpty else { return }
        try await connection.query(
            """
            INSERT INTO cases (id, consignor_id, loan_number, borrower, guarantors, principal, interest, fees,
                               per_diem_interest, balances_as_of, lienholders, credits)
            SELECT t.id, t.consignor_id, t.loan_number, t.borrower::jsonb, t.guarantors::jsonb, t.principal, t.interest, t.fees,
                   t.per_diem, t.as_of::date, t.lienholders::jsonb, t.credits::jsonb
            FROM unnest(\(cases.map(\.id))::uuid[], \(cases.map(\.consignorId))::uuid[], \(cases.map(\.loanNumber))::text[],
                        \(cases.map { BorrowerDocument.text($0.borrower) })::text[],
                        \(cases.map { GuarantorsDocument.text($0.guarantors) })::text[],
                        \(cases.map(\.balances.principal))::bigint[], \(cases.map(\.balances.interest))::bigint[],
                        \(cases.map(\.balances.fees))::bigint[], \(cases.map(\.balances.perDiemInterest))::bigint[],
                        \(cases.map(\.balances.asOf.description))::text[],
                        \(cases.map { LienholdersDocument.text($0.lienholders) })::text[],
                        \(cases.map { CreditsDocument.text($0.credits) })::text[])
                 AS t (id, consignor_id, loan_number, borrower, guarantors, principal, interest, fees, per_diem, as_of,
                       lienholders, credits)
            """, logger: logger)
    }

    /// Which of these loan numbers the consignor already has a case for.
    public static func existingLoanNumbers(
        _ loanNumbers: [String], consignorId: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws -> Set<String> {
        Set(try await connection.query(
            "SELECT loan_number FROM cases WHERE consignor_id = \(consignorId) AND loan_number = ANY(\(loanNumbers)::text[])",
            logger: logger
        ).collect { row in try row.value("loan_number", as: String.self) })
    }

    static let columns = """
        id, seq, consignor_id, loan_number, borrower::text AS borrower, guarantors::text AS guarantors, principal, interest,
        fees, per_diem_interest, balances_as_of::text AS balances_as_of, lienholders::text AS lienholders,
        credits::text AS credits, case_effective_status(id, status) AS status, collateral_owner::text AS collateral_owner,
        excluded_id_numbers::text AS excluded_id_numbers,
        (SELECT currency FROM consignors WHERE id = consignor_id) AS currency
        """

    static func decode(_ row: PostgresRandomAccessRow) throws -> StoredCase {
        let balances = LoanCase.Balances(
            principal: try row.value("principal"), interest: try row.value("interest"), fees: try row.value("fees"),
            perDiemInterest: try row.value("per_diem_interest"), asOf: try row.calendarDate("balances_as_of"))
        let id: UUID = try row.value("id")
        let loanCase = LoanCase(
            id: id, consignorId: try row.value("consignor_id"), loanNumber: try row.value("loan_number"),
            borrower: try BorrowerDocument.read(try row.value("borrower"), "the borrower of case \(id)"),
            guarantors: try GuarantorsDocument.read(try row.value("guarantors"), "the guarantors of case \(id)"),
            balances: balances,
            lienholders: try LienholdersDocument.read(try row.value("lienholders"), "the lienholders of case \(id)"),
            credits: try CreditsDocument.read(try row.value("credits"), "the credits of case \(id)"),
            status: try row.enumValue("status"))
        var withParties = loanCase
        withParties.collateralOwner = try (try row.value("collateral_owner", as: String?.self)).map {
            try OwnerDocument.read($0, "the collateral owner of case \(id)")
        }
        withParties.excludedIdNumbers = try IdNumbersDocument.read(try row.value("excluded_id_numbers"), "the exclusions of case \(id)")
        return StoredCase(loanCase: withParties, currency: try row.value("currency"), seq: try row.value("seq"))
    }

    /// `forChange`: the row is share-locked, so that a change to the case (a vehicle, an
    /// expense) and its settlement (which locks the row for update) happen one after
    /// the other, and the change sees the status the settlement left.
    public static func find(id: UUID, forChange: Bool = false, on connection: PostgresConnection, logger: Logger) async throws -> StoredCase? {
        try await connection.rows(
            "SELECT \(columns) FROM cases WHERE id = $1" + (forChange ? " FOR SHARE" : ""), id: id, logger: logger, decode
        ).first
    }

    /// A case moved to a stored status (`ready` is never stored: an open case whose
    /// vehicles are all disposed of reads as ready).
    public static func setStatus(id: UUID, _ status: CaseStatus, on connection: PostgresConnection, logger: Logger) async throws {
        let stored = status == .ready ? CaseStatus.open : status
        try await connection.query(
            """
            UPDATE cases SET status = \(stored.rawValue), closed_at = CASE WHEN \(stored.rawValue) = 'closed' THEN now() END
            WHERE id = \(id)
            """, logger: logger)
    }

    /// Locks the case's row for update: two settlements of one case, and a settlement
    /// and a change to the case, happen one after the other.
    public static func lockForSettlement(id: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        for try await _ in try await connection.query("SELECT 1 FROM cases WHERE id = \(id) FOR UPDATE", logger: logger) {}
    }

    /// Cases in creation order after `afterSeq`, optionally of one consignor.
    public static func list(
        consignorId: UUID?, afterSeq: Int64, limit: Int, on connection: PostgresConnection, logger: Logger
    ) async throws -> [StoredCase] {
        var bindings = PostgresBindings()
        bindings.append(afterSeq)
        bindings.append(consignorId)
        bindings.append(limit)
        return try await connection.query(
            PostgresQuery(
                unsafeSQL: "SELECT \(columns) FROM cases WHERE seq > $1 AND ($2::uuid IS NULL OR consignor_id = $2) ORDER BY seq LIMIT $3",
                binds: bindings),
            logger: logger
        ).collect(decode)
    }
}
