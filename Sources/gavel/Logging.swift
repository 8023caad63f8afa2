import Foundation
import GavelCore
import Logging
import Synchronization

/// One JSON object per line on stdout, for log shippers (`GAVEL_LOG_FORMAT=json`).
struct JSONLogHandler: LogHandler {
    let label: String
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    private static let output = Mutex<Void>(())

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields: [String: String] = [
            "ts": Date().rfc3339,
            "level": event.level.rawValue,
            "label": label,
            "message": event.message.description,
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            fields[key] = value.description
        }
        // Written by hand: JSONSerialization sorts keys with a locale-aware comparison
        // and showed up in the bid-load profile; one line per request adds up.
        var line = "{"
        for (index, key) in fields.keys.sorted().enumerated() {
            if index > 0 { line += "," }
            JSONValue.writeQuoted(key, to: &line)
            line += ":"
            JSONValue.writeQuoted(fields[key] ?? "", to: &line)
        }
        line += "}\n"
        let bytes = Data(line.utf8)
        Self.output.withLock { _ in FileHandle.standardOutput.write(bytes) }
    }
}

enum LogSetup {
    static func bootstrap() {
        let environment = ProcessInfo.processInfo.environment
        let level = environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        if environment["GAVEL_LOG_FORMAT"] == "json" {
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        } else {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardOutput(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}
