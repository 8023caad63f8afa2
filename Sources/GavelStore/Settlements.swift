import Foundation
import GavelCore
import Logging
import PostgresNIO

/// A vehicle of the case as the statement shows it.
public struct DisposedVehicle: Sendable, Equatable {
    public var vin: String
    public var description: String
    public var saleDate: CalendarDate?
    public var price: Int64?
    public var status: Vehicle.Status
}

/// Everything the waterfall needs from the database, and why a case cannot settle yet.
public struct SettlementFacts: Sendable {
    public var hammer: Int64
    public var forfeitedDeposits: Int64
    /// Expenses summed per kind, in a fixed order of kinds.
    public var expenses: [(kind: String, amount: Int64)]
    public var vehicles: [DisposedVehicle]
    public var openInvoices: Int
    /// What the borrower paid on the loan before the sale.
    public var borrowerPayments: Int64
    /// The case's redemption payment, if it was redeemed.
    public var redemption: (amount: Int64, receivedOn: CalendarDate)?
    /// The day the last paid sale's money arrived, if any sold.
    public var lastProceedsReceivedOn: CalendarDate?
    /// The case's consignor (its policy orders the allocation and names the contact).
    public var consignor: Consignor
    /// The case's current final statement, if it has one.
    public var currentStatementId: UUID?
    /// The database's clock when these were read.
    public var readAt: Date
}

public struct StoredStatement: Sendable {
    public var id: UUID
    public var caseId: UUID
    public var body: JSONValue
    public var surplus: Int64
    public var deficiency: Int64
    public var kind: StatementKind
    public var issuedAt: Date
}

public struct SurplusRefund: Sendable, Equatable {
    public var id: UUID
    public var caseId: UUID
    public var statementId: UUID
    public var currency: String
    public var amount: Int64
    public var borrower: String
    public var status: SurplusRefundStatus
    public var payoutReference: String?
}

/// Who answers for a deficiency: the borrower, and each guarantor with its guarantee.
public struct ClaimDebtor: Sendable, Equatable, Codable {
    public var name: String
    /// `borrower` or `guarantor`.
    public var role: String
    public var guaranteeType: String?
    public var cap: Int64?

    public init(name: String, role: String, guaranteeType: String?, cap: Int64?) {
        self.name = name
        self.role = role
        self.guaranteeType = guaranteeType
        self.cap = cap
    }

    public static func of(_ loan: LoanCase) -> [ClaimDebtor] {
        [ClaimDebtor(name: loan.borrower.name, role: "borrower", guaranteeType: nil, cap: nil)]
            + loan.guarantors.map { ClaimDebtor(name: $0.name, role: "guarantor", guaranteeType: $0.guaranteeType.rawValue, cap: $0.cap) }
    }
}

/// A recovery on a deficiency claim: who paid, how much, when.
public struct Recovery: Sendable, Equatable {
    public var id: UUID
    public var amount: Int64
    public var reference: String
    public var receivedOn: CalendarDate
    public var payer: String?

    public init(id: UUID, amount: Int64, reference: String, receivedOn: CalendarDate, payer: String?) {
        self.id = id
        self.amount = amount
        self.reference = reference
        self.receivedOn = receivedOn
        self.payer = payer
    }
}

public struct DeficiencyClaim: Sendable, Equatable {
    public var id: UUID
    public var caseId: UUID
    public var statementId: UUID
    public var currency: String
    public var amount: Int64
    public var recovered: Int64
    public var debtors: [ClaimDebtor]
    public var status: DeficiencyClaimStatus
    public var writeOffReason: String?
    /// One by one, oldest first.
    public var recoveries: [Recovery] = []
    public var outstanding: Int64 { amount - recovered }
}

public enum SettlementRepository {
    /// A statement lists expenses by kind, in the order of `ExpenseKind`.
    static let expenseKinds = ExpenseKind.allCases.map(\.rawValue)

    public static func facts(caseId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> SettlementFacts {
        // The case's money, consignor, current statement and the clock in one call, then
        // its vehicles with their sales: PL/pgSQL functions (SQL/0027, 0030) whose plans
        // are kept, where the same queries sent as text were planned on every settlement
        // for longer than they ran.
        let read = try await connection.rows("SELECT * FROM settlement_facts($1)", id: caseId, logger: logger) { row in
            try facts(of: caseId, in: row)
        }
        guard var facts = read.first else {
            throw StoredDataCorrupt(description: "case \(caseId) has no consignor to settle for")
        }
        facts.vehicles = try await connection.query(
            "SELECT vin, description, status, price, sale_date FROM settlement_vehicles(\(caseId))", logger: logger
        ).collect { row in
            DisposedVehicle(
                vin: try row.value("vin"), description: try row.value("description"),
                saleDate: (try row.value("sale_date", as: String?.self)).flatMap(CalendarDate.init(iso:)),
                price: try row.value("price"), status: try row.enumValue("status"))
        }
        return facts
    }

    /// A case about to be settled, locked for update (as `CaseRepository.lockForSettlement`
    /// locks it), with its facts and vehicles: what `CaseRepository.find` and `facts` read,
    /// in one round trip (`settlement_locked_read`, SQL/0031) instead of four. Nil: no
    /// such case.
    public static func lockedCaseWithFacts(
        caseId: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws -> (StoredCase, SettlementFacts)? {
        try await connection.rows("SELECT * FROM settlement_locked_read($1)", id: caseId, logger: logger) { row in
            var facts = try facts(of: caseId, in: row)
            facts.vehicles = try vehicles(of: caseId, from: try row.value("vehicles"))
            return (try CaseRepository.decode(row), facts)
        }.first
    }

    /// The facts of `settlement_facts`'s columns (also `settlement_locked_read`'s), without
    /// the vehicles.
    static func facts(of caseId: UUID, in row: PostgresRandomAccessRow) throws -> SettlementFacts {
        var redemption: (amount: Int64, receivedOn: CalendarDate)?
        if let amount = try row.value("redemption_amount", as: Int64?.self) {
            guard let day = (try row.value("redemption_received_on", as: String?.self)).flatMap(CalendarDate.init(iso:)) else {
                throw StoredDataCorrupt(description: "the redemption of case \(caseId) has no readable date")
            }
            redemption = (amount, day)
        }
        let byKind = try row.json("expenses_by_kind")
        let consignorId: UUID = try row.value("consignor_id")
        return SettlementFacts(
            hammer: try row.value("paid_hammer"), forfeitedDeposits: try row.value("forfeited_deposits"),
            expenses: try expenseKinds.compactMap { kind in
                switch byKind[kind] {
                case nil: nil
                case .integer(let amount)?: (kind: kind, amount: amount)
                default: throw StoredDataCorrupt(description: "the \(kind) expenses of case \(caseId) are not a sum in minor units")
                }
            },
            vehicles: [], openInvoices: try row.value("open_invoices"), borrowerPayments: try row.value("borrower_payments"),
            redemption: redemption,
            lastProceedsReceivedOn: (try row.value("last_proceeds_received_on", as: String?.self)).flatMap(CalendarDate.init(iso:)),
            consignor: Consignor(
                id: consignorId, name: try row.value("consignor_name"), currency: try row.value("consignor_currency"),
                policy: try PolicyDocument.read(try row.value("consignor_policy"), "the policy of consignor \(consignorId)")),
            currentStatementId: try row.value("current_statement"), readAt: try row.value("database_now"))
    }

    /// `settlement_locked_read`'s vehicles: a JSON array of settlement_vehicles's rows.
    static func vehicles(of caseId: UUID, from text: String) throws -> [DisposedVehicle] {
        guard case .array(let items)? = JSONValue(parsing: text.utf8) else {
            throw StoredDataCorrupt(description: "the vehicles of case \(caseId) do not read")
        }
        return try items.map { item in
            guard case .string(let vin)? = item["vin"], case .string(let description)? = item["description"],
                  case .string(let status)? = item["status"], let status = Vehicle.Status(rawValue: status)
            else {
                throw StoredDataCorrupt(description: "a vehicle of case \(caseId) does not read: \(item)")
            }
            let price: Int64? = if case .integer(let value)? = item["price"] { value } else { nil }
            let saleDate: CalendarDate? = if case .string(let day)? = item["saleDate"] { CalendarDate(iso: day) } else { nil }
            return DisposedVehicle(vin: vin, description: description, saleDate: saleDate, price: price, status: status)
        }
    }

    public static func current(caseId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> StoredStatement? {
        try await connection.query(
            """
            SELECT id, case_id, body::text AS body, surplus, deficiency, kind, issued_at FROM settlement_statements
            WHERE case_id = \(caseId) AND status = 'final'
            """, logger: logger
        ).collect { row in
            StoredStatement(
                id: try row.value("id"), caseId: try row.value("case_id"), body: try row.json("body"),
                surplus: try row.value("surplus"), deficiency: try row.value("deficiency"), kind: try row.enumValue("kind"),
                issuedAt: try row.value("issued_at"))
        }.first
    }

    /// A statement's every write in one call (`record_settlement`, SQL/0021): the
    /// statement, its journal entries, its surplus refund (`refundId`, when it has a
    /// surplus) or deficiency claim (`claimId`, when it has a deficiency), the case's new
    /// status and the audit record. The caller holds the case's lock. `refundId` and
    /// `claimId` are not used when there is no surplus or no deficiency.
    public static func record(
        id: UUID, caseId: UUID, kind: StatementKind, currency: String, statement: Waterfall.Statement, body: JSONValue,
        supersedes: UUID?, issuedBy: UUID, caseStatus: CaseStatus, refundId: UUID, borrower: String, claimId: UUID,
        debtors: [ClaimDebtor], journal: LedgerRepository.Rows, audit: AuditRecord, on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        let trail = AuditRepository.Rows([audit])
        try await connection.query(
            """
            SELECT record_settlement(
                \(id), \(caseId), \(kind.rawValue), \(currency), \(statement.settlementDate.description)::date,
                \(statement.interestTo.description)::date, \(JSONText.encode(body)), \(statement.surplus), \(statement.deficiency),
                \(supersedes), \(issuedBy), \(caseStatus.rawValue), \(refundId), \(borrower), \(claimId), \(JSONText.encode(debtors)),
                \(journal.ids)::uuid[], \(journal.eventKeys)::text[], \(journal.kinds)::text[], \(journal.caseIds)::text[],
                \(journal.currencies)::text[], \(journal.memos)::text[],
                \(journal.lineEntryIds)::uuid[], \(journal.lineNumbers)::integer[], \(journal.accounts)::text[],
                \(journal.debits)::bigint[], \(journal.credits)::bigint[],
                \(trail.actorIds)::text[], \(trail.actorNames)::text[], \(trail.actions)::text[], \(trail.entityTypes)::text[],
                \(trail.entityIds)::uuid[], \(trail.befores)::text[], \(trail.afters)::text[], \(trail.requestIds)::text[])
            """, logger: logger)
    }

    /// Whether money has moved on what a statement gave rise to (its surplus paid out,
    /// recoveries on its claim), with the refund and the claim locked.
    public static func moneyMoved(
        statementId: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws -> (surplusPaid: Bool, recovered: Bool) {
        var paid = false, recovered = false
        for try await status in try await connection.query(
            "SELECT status FROM surplus_refunds WHERE statement_id = \(statementId) FOR UPDATE", logger: logger
        ).decode(String.self) { paid = status == "paid" }
        for try await amount in try await connection.query(
            "SELECT recovered FROM deficiency_claims WHERE statement_id = \(statementId) FOR UPDATE", logger: logger
        ).decode(Int64.self) { recovered = amount > 0 }
        return (paid, recovered)
    }

    /// A statement superseded by a correction (or `reversed` when its case is
    /// reopened), with its refund and its claim cancelled.
    public static func markSuperseded(
        statementId: UUID, as status: StatementStatus = .superseded, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query(
            "UPDATE settlement_statements SET status = \(status.rawValue) WHERE id = \(statementId)", logger: logger)
        try await connection.query(
            "UPDATE surplus_refunds SET status = 'cancelled' WHERE statement_id = \(statementId)", logger: logger)
        try await connection.query(
            "UPDATE deficiency_claims SET status = 'cancelled', closed_at = now() WHERE statement_id = \(statementId)",
            logger: logger)
    }

    // MARK: - Surplus refunds and deficiency claims

    static let refundColumns = "id, case_id, statement_id, currency::text AS currency, amount, borrower, status, payout_reference"

    static func decodeRefund(_ row: PostgresRandomAccessRow) throws -> SurplusRefund {
        SurplusRefund(
            id: try row.value("id"), caseId: try row.value("case_id"), statementId: try row.value("statement_id"),
            currency: try row.value("currency"), amount: try row.value("amount"), borrower: try row.value("borrower"),
            status: try row.enumValue("status"), payoutReference: try row.value("payout_reference"))
    }

    public static func refunds(afterSeq: Int64, limit: Int, on connection: PostgresConnection, logger: Logger) async throws -> [(SurplusRefund, Int64)] {
        try await page("surplus_refunds", columns: refundColumns, afterSeq: afterSeq, limit: limit, decodeRefund, on: connection, logger: logger)
    }

    /// One page of a table in its insertion order, with each row's sequence for the cursor.
    static func page<T>(
        _ table: String, columns: String, afterSeq: Int64, limit: Int, _ decode: (PostgresRandomAccessRow) throws -> T,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> [(T, Int64)] {
        var binds = PostgresBindings()
        binds.append(afterSeq)
        binds.append(limit)
        return try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT seq, \(columns) FROM \(table) WHERE seq > $1 ORDER BY seq LIMIT $2", binds: binds),
            logger: logger
        ).collect { row in (try decode(row), try row.value("seq", as: Int64.self)) }
    }

    public static func refund(id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> SurplusRefund? {
        try await connection.rows(
            "SELECT \(refundColumns) FROM surplus_refunds WHERE id = $1 FOR UPDATE", id: id, logger: logger, decodeRefund
        ).first
    }

    /// The case a surplus refund or a deficiency claim belongs to, read without a lock: a
    /// change to either locks its case first, then the record (the order settlement uses).
    public static func caseOf(refundOrClaim id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> UUID? {
        try await connection.rows(
            "SELECT case_id FROM surplus_refunds WHERE id = $1 UNION ALL SELECT case_id FROM deficiency_claims WHERE id = $1",
            id: id, logger: logger
        ) { row in try row.value("case_id", as: UUID.self) }.first
    }

    /// Whether the statement's deficiency claim is still open.
    public static func openClaim(statementId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        try await !connection.rows(
            "SELECT 1 AS one FROM deficiency_claims WHERE statement_id = $1 AND status = 'open'", id: statementId, logger: logger
        ) { row in try row.value("one", as: Int.self) }.isEmpty
    }

    public static func markRefundPaid(id: UUID, reference: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            UPDATE surplus_refunds SET status = 'paid', payout_reference = \(reference), paid_at = now(), paid_on = current_date
            WHERE id = \(id) AND status = 'pending'
            """, logger: logger)
    }

    static let claimColumns = """
        id, case_id, statement_id, currency::text AS currency, amount, recovered, debtors::text AS debtors, status, write_off_reason
        """

    static func decodeClaim(_ row: PostgresRandomAccessRow) throws -> DeficiencyClaim {
        let text: String = try row.value("debtors")
        // Claims made before the second round hold names only: the borrower, then
        // guarantors all held jointly liable, as they were then.
        let debtors: [ClaimDebtor]
        if let current = try? JSONText.decode([ClaimDebtor].self, from: text) {
            debtors = current
        } else {
            debtors = try JSONText.decode([String].self, from: text).enumerated().map { index, name in
                ClaimDebtor(name: name, role: index == 0 ? "borrower" : "guarantor", guaranteeType: index == 0 ? nil : "joint", cap: nil)
            }
        }
        return DeficiencyClaim(
            id: try row.value("id"), caseId: try row.value("case_id"), statementId: try row.value("statement_id"),
            currency: try row.value("currency"), amount: try row.value("amount"), recovered: try row.value("recovered"),
            debtors: debtors, status: try row.enumValue("status"), writeOffReason: try row.value("write_off_reason"))
    }

    public static func claims(afterSeq: Int64, limit: Int, on connection: PostgresConnection, logger: Logger) async throws -> [(DeficiencyClaim, Int64)] {
        let rows = try await page(
            "deficiency_claims", columns: claimColumns, afterSeq: afterSeq, limit: limit, decodeClaim, on: connection, logger: logger)
        let recoveries = try await Self.recoveries(claimIds: rows.map(\.0.id), on: connection, logger: logger)
        return rows.map { claim, seq in
            var claim = claim
            claim.recoveries = recoveries[claim.id] ?? []
            return (claim, seq)
        }
    }

    public static func claim(id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> DeficiencyClaim? {
        guard var claim = try await connection.rows(
            "SELECT \(claimColumns) FROM deficiency_claims WHERE id = $1 FOR UPDATE", id: id, logger: logger, decodeClaim
        ).first else { return nil }
        claim.recoveries = try await recoveries(claimIds: [id], on: connection, logger: logger)[id] ?? []
        return claim
    }

    /// The recoveries of the claims, oldest first, by claim.
    static func recoveries(claimIds: [UUID], on connection: PostgresConnection, logger: Logger) async throws -> [UUID: [Recovery]] {
        guard !claimIds.isEmpty else { return [:] }
        var found: [UUID: [Recovery]] = [:]
        let rows = try await connection.query(
            """
            SELECT claim_id, id, amount, reference, received_on::text AS received_on, payer FROM deficiency_recoveries
            WHERE claim_id = ANY(\(claimIds)::uuid[]) ORDER BY seq
            """, logger: logger
        ).collect { row in
            (try row.value("claim_id", as: UUID.self),
             Recovery(id: try row.value("id"), amount: try row.value("amount"), reference: try row.value("reference"),
                      receivedOn: try row.calendarDate("received_on"), payer: try row.value("payer")))
        }
        for (claimId, recovery) in rows { found[claimId, default: []].append(recovery) }
        return found
    }

    /// Money recovered on a claim, with the claim's new balance (`claim` as it now stands).
    public static func recordRecovery(
        on claim: DeficiencyClaim, recoveryId: UUID, amount: Int64, reference: String, receivedOn: CalendarDate,
        payer: String, recordedBy: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query(
            """
            INSERT INTO deficiency_recoveries (id, claim_id, amount, reference, received_on, payer, recorded_by)
            VALUES (\(recoveryId), \(claim.id), \(amount), \(reference), \(receivedOn.description)::date, \(payer), \(recordedBy))
            """, logger: logger)
        try await connection.query(
            """
            UPDATE deficiency_claims SET recovered = \(claim.recovered), status = \(claim.status.rawValue),
                   closed_at = CASE WHEN \(claim.status.rawValue) = 'settled' THEN now() END
            WHERE id = \(claim.id)
            """, logger: logger)
    }

    /// An open claim given up, with the reason.
    public static func markWrittenOff(id: UUID, reason: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            UPDATE deficiency_claims SET status = 'written-off', write_off_reason = \(reason), closed_at = now()
            WHERE id = \(id) AND status = 'open'
            """, logger: logger)
    }
}
