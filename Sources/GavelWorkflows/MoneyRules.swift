import Foundation
import GavelCore

/// The checks every workflow that moves money makes the same way.
public enum MoneyRules {
    /// A client may say which currency it means; when that is not the record's, the
    /// request is refused rather than booked in the wrong money.
    public static func ensureCurrency(_ sent: String?, is currency: String) throws {
        if let sent, sent != currency { throw Refusal.currencyMismatch(expected: currency, sent: sent) }
    }

    /// Money is received and spent in the past: a date after the database's today is a typo.
    public static func ensureNotFuture(_ date: CalendarDate, field: String, today: CalendarDate) throws {
        guard date <= today else { throw ValidationFailure([FieldError(field: field, message: "must not be in the future")]) }
    }

    static func ensureNotFuture(_ date: CalendarDate, field: String, in session: Session) async throws {
        try ensureNotFuture(date, field: field, today: try await session.today())
    }
}
