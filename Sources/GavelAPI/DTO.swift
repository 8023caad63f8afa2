import Foundation
import GavelCore
import GavelStore
import GavelWorkflows

// The answers only the HTTP layer gives (the records' are GavelWorkflows/Answers.swift),
// as Encodable types, encoded with sorted keys.

enum DTO {
    /// The answer to POST /v1/users, and what its replay shows: the same, with the token
    /// withheld (it is shown once, and a stored answer must never hold it).
    static func createdUser(_ user: User, token: String) -> (answer: UserAnswer, replay: UserAnswer) {
        var answer = UserAnswer(user, token: token)
        answer.tokenWithheld = false
        var replay = UserAnswer(user, token: nil)
        replay.token = Nullable(wrappedValue: nil)
        replay.tokenWithheld = true
        return (answer, replay)
    }

    static func page<Item: Encodable & Sendable>(_ items: [Item], nextCursor: String?) -> PageAnswer<Item> {
        PageAnswer(items: items, nextCursor: nextCursor)
    }
}

/// An entry of the audit trail.
struct AuditEntryAnswer: Encodable, Sendable {
    struct Actor: Encodable, Sendable {
        @Nullable var id: String?
        var name: String
        var kind: String
    }

    var id: String
    var at: String
    var actor: Actor
    var action: String
    var entityType: String
    var entityId: String
    /// The record before and after, as the trail kept them when they changed.
    @Nullable var before: JSONValue?
    @Nullable var after: JSONValue?
    @Nullable var requestId: String?

    init(_ entry: AuditEntry) {
        id = String(entry.seq)
        at = entry.at.rfc3339
        switch entry.record.actor {
        case .user(let id, let name): actor = Actor(id: id.answer, name: name, kind: "user")
        case .system(let name): actor = Actor(id: nil, name: name, kind: "system")
        }
        action = entry.record.action
        entityType = entry.record.entityType
        entityId = entry.record.entityId.answer
        before = entry.record.before
        after = entry.record.after
        requestId = entry.record.requestId
    }
}

/// A bid's 201. A sealed bid learns neither whether it leads nor the price.
struct PlacedBidAnswer: Encodable, Sendable {
    var bidId: String
    var accepted = true
    @Nullable var leading: Bool?
    @Nullable var currentPrice: Int64?
    var minimumNextBid: Int64
    var endsAt: String
    var extended: Bool

    init(_ placed: PlacedBid, bidId: UUID, bidder: UUID) {
        // A bid is only ever taken while the lot is open.
        let sealed = Lot.amountsHidden(format: placed.format, status: .open)
        self.bidId = bidId.answer
        leading = sealed ? nil : placed.acceptance.leader == bidder
        currentPrice = sealed ? nil : placed.acceptance.price
        minimumNextBid = placed.acceptance.minimumNextBid
        endsAt = placed.acceptance.endsAt.rfc3339
        extended = placed.acceptance.extended
    }
}

/// GET /v1/lots/{id}/bids: price steps with per-lot aliases, never a maximum.
struct BidHistoryAnswer: Encodable, Sendable {
    struct Step: Encodable, Sendable {
        var price: Int64
        var at: String
        var bidder: String
    }

    var items: [Step]
    var bidCount: Int64
    /// The whole history is one page.
    @Nullable var nextCursor: String? = nil

    init(_ entries: [BidHistoryEntry], bidCount: Int64) {
        items = entries.map { Step(price: $0.price, at: $0.at.rfc3339, bidder: "Bidder \($0.alias)") }
        self.bidCount = bidCount
    }
}

struct TrialBalanceAnswer: Encodable, Sendable {
    struct Account: Encodable, Sendable {
        var account: String
        var currency: String
        var debit: Int64
        var credit: Int64
        var balance: Int64
    }

    var accounts: [Account]
    var totalDebit: Int64
    var totalCredit: Int64

    init(_ rows: [TrialBalanceRow]) {
        accounts = rows.map {
            Account(account: $0.account, currency: $0.currency, debit: $0.debit, credit: $0.credit, balance: $0.debit - $0.credit)
        }
        totalDebit = rows.reduce(0) { $0 + $1.debit }
        totalCredit = rows.reduce(0) { $0 + $1.credit }
    }
}

struct JournalEntryAnswer: Encodable, Sendable {
    struct Line: Encodable, Sendable {
        var account: String
        var debit: Int64
        var credit: Int64
    }

    var id: String
    var eventKey: String
    var kind: String
    @Nullable var caseId: String?
    var currency: String
    var memo: String
    var postedAt: String
    var lines: [Line]

    init(_ entry: PostedEntry) {
        id = entry.id.answer
        eventKey = entry.eventKey
        kind = entry.kind
        caseId = entry.caseId?.answer
        currency = entry.currency
        memo = entry.memo
        postedAt = entry.postedAt.rfc3339
        lines = entry.lines.map { Line(account: $0.account, debit: $0.debit, credit: $0.credit) }
    }
}

/// /health and /ready.
struct StatusAnswer: Encodable, Sendable {
    var status: String
}
