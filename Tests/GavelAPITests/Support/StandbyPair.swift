import Foundation
import GavelStore

/// A primary and a streaming standby of it (`pg_basebackup -R`), each an embedded cluster
/// of its own, for the tests of failover and of reads from a standby; both stopped and
/// removed afterwards.
func withPrimaryAndStandby<T>(
    _ name: String, _ body: (_ primary: EmbeddedPostgres, _ standby: EmbeddedPostgres) async throws -> T
) async throws -> T {
    let root = NSTemporaryDirectory() + "gavel-\(name)-\(UUID().uuidString.prefix(8))"
    let primary = EmbeddedPostgres(home: root + "/primary")
    let standby = EmbeddedPostgres(home: root + "/standby")
    defer {
        try? primary.stop()
        try? standby.stop()
        try? FileManager.default.removeItem(atPath: root)
    }
    try primary.start()
    try await BackupTests.run(try EmbeddedPostgres.binaryDirectory() + "/pg_basebackup", [
        "--dbname", try primary.tcpLocation().url, "--pgdata", standby.home + "/pgdata", "--wal-method", "stream",
        "--checkpoint", "fast", "--write-recovery-conf",
    ])
    try FileManager.default.copyItem(atPath: primary.home + "/superuser-password", toPath: standby.home + "/superuser-password")
    try standby.start()
    return try await body(primary, standby)
}
