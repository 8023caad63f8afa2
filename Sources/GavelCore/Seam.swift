import Foundation

/// Where Gavel's new IDs and its own clock come from: one seam for every layer, bound
/// once per request and per background sweep (`GavelConfiguration.newID` and `now`), so
/// that a test can pin both everywhere, the store included. The pure functions of this
/// module never read it: they take IDs and instants as inputs.
///
/// The clock here is the application's. A state change reads PostgreSQL's (`now()`, under
/// the row's lock) instead, so that instances agree; this one serves what needs no
/// agreement, such as the "today" that input bounds are measured from.
public enum Seam {
    @TaskLocal public static var newID: @Sendable () -> UUID = { UUID() }
    @TaskLocal public static var now: @Sendable () -> Date = { Date() }

    /// Runs `body` with both bound.
    public static func with<Result>(
        newID: @escaping @Sendable () -> UUID, now: @escaping @Sendable () -> Date,
        _ body: () async throws -> Result
    ) async rethrows -> Result {
        try await $newID.withValue(newID) { try await $now.withValue(now) { try await body() } }
    }
}
