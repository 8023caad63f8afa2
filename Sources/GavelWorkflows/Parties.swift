import Foundation
import GavelCore
import GavelStore

/// The people and companies Gavel works for: users with their roles, and consignors
/// with their policy.
public struct Users: Sendable {
    public init() {}

    /// The first start of an empty database: an admin, whose token is answered once
    /// (nil when there are users already).
    public func bootstrapAdmin(in session: Session) async throws -> String? {
        let admin = User(id: Seam.newID(), name: "admin", role: .admin, consignorId: nil)
        guard let token = try await UserRepository.createFirstAdmin(admin, on: session.connection, logger: session.logger) else {
            return nil
        }
        try await session.audit(.system("bootstrap"), "user.create", "user", admin.id, before: nil, after: JSONValue(answer: UserAnswer(admin, token: nil)))
        return token
    }

    /// Creates a user (a manager bound to its consignor); answers its token, which only
    /// this answer shows: the database keeps its hash.
    public func create(_ user: User, by caller: Caller, in session: Session) async throws -> String {
        if let consignorId = user.consignorId,
           try await ConsignorRepository.find(id: consignorId, on: session.connection, logger: session.logger) == nil {
            throw ValidationFailure([FieldError(field: "consignorId", message: "no consignor has this ID")])
        }
        let token = try await UserRepository.create(user, on: session.connection, logger: session.logger)
        try await session.audit(caller, "user.create", "user", user.id, before: nil, after: JSONValue(answer: UserAnswer(user, token: nil)))
        return token
    }
}

public struct Consignors: Sendable {
    public init() {}

    public func create(_ consignor: Consignor, by caller: Caller, in session: Session) async throws {
        try await ConsignorRepository.insert(consignor, on: session.connection, logger: session.logger)
        try await session.audit(caller, "consignor.create", "consignor", consignor.id, before: nil, after: consignor.record)
    }

    /// Admins, and the consignor's own managers; another consignor's manager gets 404,
    /// so the answer does not reveal that it exists.
    public func find(id: UUID, for caller: Caller, in session: Session) async throws -> Consignor {
        try Scope.ensureVisible(consignorId: id, to: caller, what: "consignor \(id.uuidString.lowercased())")
        guard let consignor = try await ConsignorRepository.find(id: id, on: session.connection, logger: session.logger) else {
            throw Refusal.notFound("no consignor \(id.uuidString.lowercased())")
        }
        return consignor
    }

    /// A partial policy merged over the current one and validated against its ruleset.
    public func updatePolicy(id: UUID, patch: JSONValue, by caller: Caller, in session: Session) async throws -> Policy {
        guard let consignor = try await ConsignorRepository.find(id: id, forUpdate: true, on: session.connection, logger: session.logger) else {
            throw Refusal.notFound("no consignor \(id.uuidString.lowercased())")
        }
        let policy = try consignor.policy.applying(patch)
        try await ConsignorRepository.updatePolicy(id: id, policy: policy, on: session.connection, logger: session.logger)
        try await session.audit(caller, "consignor.policy.update", "consignor", id, before: consignor.policy.json, after: policy.json)
        return policy
    }
}

/// The append-only audit trail, read.
public struct AuditTrail: Sendable {
    public init() {}

    public func entries(entityId: UUID?, afterSeq: Int64, limit: Int, in session: Session) async throws -> [AuditEntry] {
        try await AuditRepository.list(entityId: entityId, afterSeq: afterSeq, limit: limit, on: session.connection, logger: session.logger)
    }
}
