import Foundation
import GavelCore
import GavelStore

/// Consignor scoping: a manager acts only for its own consignor. Reading another's
/// records answers 404, so the answer does not reveal that they exist.
enum Scope {
    static func ensureVisible(consignorId: UUID, to caller: Caller, what: String) throws {
        if caller.role == .manager && caller.user.consignorId != consignorId {
            throw Refusal.notFound("no \(what)")
        }
    }

    /// A settled case takes no more vehicles or expenses (domain rules section 10): they
    /// could never be disposed of or cleared. Read the case with `forChange` first.
    static func ensureTakesChanges(_ stored: StoredCase) throws {
        guard stored.loanCase.status == .open else {
            throw Refusal.caseSettled("the case is \(stored.loanCase.status.rawValue); it takes no more vehicles, expenses or lots")
        }
    }

    /// The calendar day (UTC) of a database timestamp.
    static func day(of date: Date) -> CalendarDate {
        CalendarDate(dayNumber: Int((date.timeIntervalSince1970 / 86_400).rounded(.down)))
    }
}
