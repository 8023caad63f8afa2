import Foundation

extension Date {
    /// RFC 3339 in UTC to the second (`2026-11-20T08:00:00Z`): how the API writes an
    /// instant. The fraction is dropped, never rounded up, so a lot's end is never shown
    /// later than it is. Written by hand because `ISO8601DateFormatter` builds an ICU formatter
    /// each time, and making one per answer and per log line cost about a tenth of
    /// Gavel's CPU under bid load (`Benchmarks/profile`).
    public var rfc3339: String {
        let whole = Int(timeIntervalSince1970.rounded(.down))
        let days = whole >= 0 ? whole / 86_400 : (whole - 86_399) / 86_400
        let second = whole - days * 86_400
        let date = CalendarDate(dayNumber: days)
        var text = date.description
        text.reserveCapacity(20)
        text += "T"
        for (index, part) in [second / 3_600, second % 3_600 / 60, second % 60].enumerated() {
            if index > 0 { text += ":" }
            if part < 10 { text += "0" }
            text += String(part)
        }
        text += "Z"
        return text
    }
}
