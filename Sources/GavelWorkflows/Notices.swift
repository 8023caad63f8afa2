import Foundation
import GavelCore
import GavelStore

/// Notices of disposition (domain rules section 11): one per party of a case, rendered in
/// the language asked for, their facts frozen and their sending recorded and audited. A
/// lot may not start before the period they give has run (`Lots`).
public struct Notices: Sendable {
    public init() {}

    /// Renders and records the case's notices, sent now. `disposeAfter` (the first day the
    /// collateral may be sold) defaults to the end of the notice period and may not come
    /// before it.
    public func send(
        caseId: UUID, language: String, disposeAfter requested: CalendarDate?, by caller: Caller, in session: Session
    ) async throws -> NoticeBatchAnswer {
        let connection = session.connection
        let logger = session.logger
        // The case's row lock: notices and the lots they allow are decided one at a time.
        guard let stored = try await CaseRepository.find(id: caseId, forChange: true, on: connection, logger: logger) else {
            throw Refusal.notFound("no case \(caseId.uuidString.lowercased())")
        }
        let loanCase = stored.loanCase
        try Scope.ensureVisible(consignorId: loanCase.consignorId, to: caller, what: "case \(caseId.uuidString.lowercased())")
        guard !loanCase.status.isFinished else {
            throw Refusal.caseSettled("the case is \(loanCase.status.rawValue); there is nothing left to dispose of")
        }
        guard let consignor = try await ConsignorRepository.find(id: loanCase.consignorId, on: connection, logger: logger) else {
            throw Refusal.notFound("no consignor for this case")
        }
        let vehicles = try await VehicleRepository.list(caseId: caseId, on: connection, logger: logger)
            .filter { $0.status == .inStock }
        guard !vehicles.isEmpty else {
            throw Refusal.conflict("the case has no vehicle awaiting sale; a notice announces the sale of collateral")
        }
        let sentAt = try await session.now()
        let policy = consignor.policy
        let earliest = NoticeRules.disposeAfter(sentAt: sentAt, policy: policy)
        if let requested, requested < earliest {
            throw ValidationFailure([FieldError(
                field: "disposeAfter", message: "must not be before \(earliest), when the notice period has run")])
        }
        let disposeAfter = requested ?? earliest
        let kind = policy.ruleset == .prcJudicial ? "judicial-auction" : "disposition"
        let collateral = vehicles.map {
            NoticeOfDisposition.Collateral(vin: $0.vin.value, description: "\($0.year) \($0.make) \($0.model)")
        }
        var items: [NoticeAnswer] = []
        for recipient in NoticeRules.recipients(of: loanCase) {
            let notice = StoredNotice(
                id: Seam.newID(), caseId: caseId, consignorId: loanCase.consignorId, kind: kind, language: language,
                content: NoticeOfDisposition(
                    recipient: recipient, lender: consignor.name, loanCase: loanCase, collateral: collateral, policy: policy,
                    disposeAfter: disposeAfter),
                sentAt: sentAt)
            try await NoticeRepository.insert(notice, sentBy: caller.user.id, on: connection, logger: logger)
            let answer = NoticeAnswer(notice)
            try await session.audit(caller, "notice.send", "notice", notice.id, before: nil, after: JSONValue(answer: answer))
            items.append(answer)
        }
        return NoticeBatchAnswer(items: items, disposeAfter: disposeAfter.description, earliestStartsAt: (
            sentAt.addingTimeInterval(TimeInterval(NoticeRules.periodDays(policy: policy, firstRound: true)) * 86_400)).rfc3339)
    }

    /// A notice as it was sent, for its consignor's managers and admins.
    public func find(id: UUID, for caller: Caller, in session: Session) async throws -> StoredNotice {
        guard let notice = try await NoticeRepository.find(id: id, on: session.connection, logger: session.logger) else {
            throw Refusal.notFound("no notice \(id.uuidString.lowercased())")
        }
        try Scope.ensureVisible(consignorId: notice.consignorId, to: caller, what: "notice \(id.uuidString.lowercased())")
        return notice
    }
}

public struct NoticeAnswer: Encodable, Sendable {
    public var id: String
    public var caseId: String
    public var party: String
    public var name: String
    public var kind: String
    public var lang: String
    public var sentAt: String
    public var disposeAfter: String

    public init(_ notice: StoredNotice) {
        id = notice.id.answer
        caseId = notice.caseId.answer
        party = notice.content.party
        name = notice.content.name
        kind = notice.kind
        lang = notice.language
        sentAt = notice.sentAt.rfc3339
        disposeAfter = notice.content.disposeAfter
    }
}

public struct NoticeBatchAnswer: Encodable, Sendable {
    public var items: [NoticeAnswer]
    /// The first day the notices let the collateral be sold.
    public var disposeAfter: String
    /// The earliest a lot of the case may start under the notice period.
    public var earliestStartsAt: String
}
