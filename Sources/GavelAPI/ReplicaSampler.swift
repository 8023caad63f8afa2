import GavelStore
import ServiceLifecycle

/// Asks the primary how far its WAL is flushed every `ReadReplica.sampleInterval`, which
/// is what tells a fresh standby from a stale one (D47).
struct ReplicaSampler: Service {
    let database: Database
    let replica: ReadReplica

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await replica.samplePrimary(database)
                try? await Task.sleep(for: replica.sampleInterval)
            }
        }
    }
}
