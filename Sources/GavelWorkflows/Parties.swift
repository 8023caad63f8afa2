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

    /// Users in the order made, with whether they are revoked (admin).
    public func list(afterSeq: Int64, limit: Int, in session: Session) async throws -> [(UserAnswer, Int64)] {
        try await UserRepository.list(afterSeq: afterSeq, limit: limit, on: session.connection, logger: session.logger).map { listed, seq in
            var answer = UserAnswer(listed.user, token: nil)
            answer.revoked = listed.revoked
            return (answer, seq)
        }
    }

    /// Every token of the user stops working at once, on every instance (SQL/0009's
    /// notifications empty their caches when this commits). The last admin whose tokens
    /// work is not revoked: nobody could make users any more.
    public func revoke(id: UUID, by caller: Caller, in session: Session) async throws -> UserAnswer {
        let connection = session.connection
        let logger = session.logger
        // Admins are revoked one at a time, so that two cannot revoke each other at once.
        try await connection.query("SELECT pg_advisory_xact_lock(hashtext('gavel.revoke'))", logger: logger)
        guard let found = try await UserRepository.findForRevocation(id: id, on: connection, logger: logger) else {
            throw Refusal.notFound("no user \(id.uuidString.lowercased())")
        }
        if found.user.role == .admin, !found.revoked,
           try await UserRepository.otherActiveAdmins(than: id, on: connection, logger: logger) == 0 {
            throw Refusal.conflict("this is the last admin whose token works; make another admin first")
        }
        try await UserRepository.revoke(id: id, on: connection, logger: logger)
        var answer = UserAnswer(found.user, token: nil)
        answer.revoked = true
        try await session.audit(
            caller, "user.revoke", "user", id, before: .object(["revoked": .bool(found.revoked)]), after: JSONValue(answer: answer))
        return answer
    }
}

extension Users {
    /// Finance or an admin records a user's verified identity (legal name, ID or USCC
    /// number, dealer licence and its expiry); recording it again replaces it. A deposit
    /// may be taken before; a lot that asks for verified bidders takes bids after.
    public func verify(_ verification: BidderVerification, by caller: Caller, in session: Session) async throws -> VerificationAnswer {
        guard try await UserRepository.exists(id: verification.bidderId, on: session.connection, logger: session.logger) else {
            throw Refusal.notFound("no user \(verification.bidderId.uuidString.lowercased())")
        }
        let before = try await BidderVerificationRepository.record(
            verification, by: caller.user.id, on: session.connection, logger: session.logger)
        let answer = VerificationAnswer(verification)
        try await session.audit(
            caller, "bidder.verify", "user", verification.bidderId, before: before.map { JSONValue(answer: VerificationAnswer($0)) },
            after: JSONValue(answer: answer))
        return answer
    }
}

public struct VerificationAnswer: Encodable, Sendable {
    public var bidderId: String
    public var legalName: String
    public var idNumber: String
    @Nullable public var dealerLicence: String?
    @Nullable public var licenceExpiresOn: String?

    public init(_ verification: BidderVerification) {
        bidderId = verification.bidderId.answer
        legalName = verification.legalName
        idNumber = verification.idNumber
        dealerLicence = verification.dealerLicence
        licenceExpiresOn = verification.licenceExpiresOn?.description
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

    /// Consignors in the order made (admin).
    public func list(afterSeq: Int64, limit: Int, in session: Session) async throws -> [(ConsignorAnswer, Int64)] {
        try await ConsignorRepository.list(afterSeq: afterSeq, limit: limit, on: session.connection, logger: session.logger)
            .map { (ConsignorAnswer($0.0), $0.1) }
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
