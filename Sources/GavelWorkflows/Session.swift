import Foundation
import GavelCore
import GavelStore
import Logging
import PostgresNIO

/// The authenticated caller of a route. Handlers behind a role guard receive one as a
/// parameter, so they cannot run without it; the workflows take it to decide what the
/// caller may do and to name it in the audit trail.
public struct Caller: Sendable {
    public let user: User
    public var role: Role { user.role }
    public var auditActor: AuditActor { .user(id: user.id, name: user.name) }

    public init(user: User) { self.user = user }
}

/// The transaction (for reads, the connection) one request's work runs in, with what its
/// audit records and log lines carry. Only the workflows look inside: the HTTP layer
/// opens one with `Desk` and hands it on.
public struct Session: Sendable {
    let connection: PostgresConnection
    public let logger: Logger
    public let requestId: String?

    /// A session on a connection whose transaction the caller began (the closer, tests
    /// that close lots inside a transaction of their own); requests get theirs from `Desk`.
    public init(connection: PostgresConnection, logger: Logger, requestId: String? = nil) {
        self.connection = connection
        self.logger = logger
        self.requestId = requestId
    }

    /// The database's clock: every "now" of a workflow is PostgreSQL's, so that several
    /// instances agree.
    func now() async throws -> Date { try await LotRepository.now(on: connection, logger: logger) }

    /// The calendar day (UTC) of the database's now.
    func today() async throws -> CalendarDate { Scope.day(of: try await now()) }

    func audit(
        _ caller: Caller, _ action: String, _ entityType: String, _ entityId: UUID, before: JSONValue?, after: JSONValue?
    ) async throws {
        try await audit(caller.auditActor, action, entityType, entityId, before: before, after: after)
    }

    func audit(
        _ actor: AuditActor, _ action: String, _ entityType: String, _ entityId: UUID, before: JSONValue?, after: JSONValue?
    ) async throws {
        try await audit([AuditRecord(actor: actor, action: action, entityType: entityType, entityId: entityId,
                                     before: before, after: after, requestId: requestId)])
    }

    func audit(_ records: [AuditRecord]) async throws {
        try await AuditRepository.record(records, on: connection, logger: logger)
    }

    /// Runs `work` behind a savepoint: when it throws, what it wrote is undone, the
    /// transaction goes on, and the error comes back as the result.
    func attempt<Result: Sendable>(
        _ savepoint: String, _ work: () async throws -> Result
    ) async throws -> Swift.Result<Result, any Error> {
        try await Savepoint.attempt(savepoint, on: connection, logger: logger, work)
    }
}

/// A POST its caller may retry with the same Idempotency-Key: the key, and the request
/// it named (method, path, query and body, as a SHA-256).
public struct Once: Sendable {
    public let userId: UUID
    public let key: String
    public let requestSHA256: String

    public init(userId: UUID, key: String, requestSHA256: String) {
        self.userId = userId
        self.key = key
        self.requestSHA256 = requestSHA256
    }
}

/// What a change answered: this time's answer, or the first answer to the same request.
public enum Answered<Answer: Sendable>: Sendable {
    case fresh(Answer)
    case replay(status: Int, body: String)
}

/// Where the workflows' transactions begin: one per state change, committed when the
/// work returns and rolled back when it throws.
public struct Desk: Sendable {
    public let database: Database

    public init(database: Database) { self.database = database }

    /// Reads on one connection.
    public func read<Result: Sendable>(
        logger: Logger, requestId: String? = nil, _ work: @escaping @Sendable (Session) async throws -> Result
    ) async throws -> Result {
        try await database.withConnection { connection in
            try await work(Session(connection: connection, logger: logger, requestId: requestId))
        }
    }

    /// Reads that may lag a little: lists, statements, the ledger, reports (D47). With a
    /// standby configured they are served there when it is within its bound and holds
    /// every change `caller` made through this instance; otherwise, as `read`, by the
    /// primary. `work` must only read.
    public func readMayLag<Result: Sendable>(
        for caller: Caller, logger: Logger, _ work: @escaping @Sendable (Session) async throws -> Result
    ) async throws -> Result {
        try await database.withReadConnection(for: caller.user.id) { connection in
            try await work(Session(connection: connection, logger: logger))
        }
    }

    /// One state change that is not retried with an Idempotency-Key.
    public func change<Answer: Sendable>(
        logger: Logger, requestId: String?, _ work: @escaping @Sendable (Session) async throws -> Answer
    ) async throws -> Answer {
        try await database.transaction(logger: logger) { connection in
            try await work(Session(connection: connection, logger: logger, requestId: requestId))
        }
    }

    /// One state change. With `once`, the first answer (rendered by `remember`) is stored
    /// in the same transaction and every retry of the same request gets it again; the
    /// same key with another request is refused (`idempotency-key-reused`). Only
    /// successful answers are stored: a refused request changed nothing, so its retry is
    /// safe. A stored answer lasts `Database.idempotencyLifetime`.
    ///
    /// `atomicStatement`: `work` writes in one statement that is atomic by itself (a
    /// server-side function, or a payment's guarded write after its reads), so without a
    /// key it runs outside BEGIN/COMMIT: two round trips fewer.
    public func change<Answer: Sendable>(
        logger: Logger, requestId: String?, once: Once?, atomicStatement: Bool = false,
        remember: @escaping @Sendable (Answer) -> (status: Int, body: String),
        _ work: @escaping @Sendable (Session) async throws -> Answer
    ) async throws -> Answered<Answer> {
        guard let once else {
            if atomicStatement {
                return .fresh(try await read(logger: logger, requestId: requestId, work))
            }
            return .fresh(try await database.transaction(logger: logger) { connection in
                try await work(Session(connection: connection, logger: logger, requestId: requestId))
            })
        }
        let lifetime = database.idempotencyLifetime
        return try await database.transaction(logger: logger) { connection in
            switch try await IdempotencyRepository.claim(
                userId: once.userId, key: once.key, requestSHA256: once.requestSHA256, lifetime: lifetime,
                on: connection, logger: logger)
            {
            case .proceed:
                let answer = try await work(Session(connection: connection, logger: logger, requestId: requestId))
                let stored = remember(answer)
                try await IdempotencyRepository.remember(
                    userId: once.userId, key: once.key, status: stored.status, body: stored.body, on: connection, logger: logger)
                return .fresh(answer)
            case .replay(let status, let body):
                return .replay(status: status, body: body)
            case .reusedWithDifferentRequest:
                throw Refusal.idempotencyKeyReused
            }
        }
    }
}
