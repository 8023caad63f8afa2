import Foundation
import GavelCore

/// Consignor scoping: a manager acts only for its own consignor. Reading another's
/// records answers 404, so the answer does not reveal that they exist.
enum Scope {
    static func ensureVisible(consignorId: UUID, to caller: Caller, what: String) throws {
        if caller.role == .manager && caller.user.consignorId != consignorId {
            throw Problem.notFound("no \(what)")
        }
    }

    /// The calendar day (UTC) of a database timestamp.
    static func day(of date: Date) -> CalendarDate {
        CalendarDate(dayNumber: Int((date.timeIntervalSince1970 / 86_400).rounded(.down)))
    }
}
