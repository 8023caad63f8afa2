import Foundation
import Logging
import Synchronization

/// What the application under test logged at warning or above (its ordinary lines are
/// not kept), so that a failing test can show what the server saw: a lease given up, a
/// connection lost, a service that stopped.
final class CollectedLog: Sendable {
    private let lines = Mutex<[String]>([])
    private let started = ContinuousClock.now

    var logger: Logger {
        var logger = Logger(label: "gavel-under-test") { _ in Handler(log: self) }
        // Debug, for ServiceLifecycle's word on a service that ended; only those lines
        // and warnings are kept.
        logger.logLevel = .debug
        return logger
    }

    /// The last `count` lines, each with the seconds since the application was built.
    func tail(_ count: Int = 40) -> String {
        let kept = lines.withLock { $0.suffix(count) }
        return kept.isEmpty ? "(the server logged no warning)" : kept.joined(separator: "\n")
    }

    fileprivate func append(_ line: String) {
        let seconds = Double((ContinuousClock.now - started).components.attoseconds) / 1e18
            + Double((ContinuousClock.now - started).components.seconds)
        lines.withLock { $0.append(String(format: "%7.3f s  ", seconds) + line) }
    }

    private struct Handler: LogHandler {
        let log: CollectedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let message = "\(event.message)"
            guard event.level >= .warning || message.contains("ervice") || message.contains("hutdown") else { return }
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            let details = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            log.append("\(event.level) \(message) \(details)")
        }
    }
}

/// A test failed: its error, with what the server logged meanwhile.
struct FailedWithServerLog: Error, CustomStringConvertible {
    let error: any Error
    let log: String

    /// An instance inside another (`withGavel(on:)` nested) adds its own log to the inner one's.
    var description: String {
        if let inner = error as? FailedWithServerLog {
            return "\(inner)\n--- and the enclosing instance's warnings ---\n\(log)"
        }
        return "\(String(reflecting: error))\n--- the server's warnings ---\n\(log)"
    }
}
