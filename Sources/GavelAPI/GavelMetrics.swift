import GavelStore
import Prometheus

/// Gavel's Prometheus metrics, on a registry of its own per application (not the
/// process-wide MetricsSystem, which can be bootstrapped only once per process).
public struct GavelMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let poolInUse: Gauge
    private let callersListening: Gauge
    private let callersFromMemory: Counter
    private let callersFromDatabase: Counter
    private let lotsSetAside: Counter
    private let clientDisconnects: Counter
    private let eventStreamsOpen: Gauge
    private let replicaReads: [ReplicaReadOutcome: Counter]

    static let latencyBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .milliseconds(2_500), .seconds(5),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        self.poolInUse = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "gavel", subsystem: "db_pool", metricName: "connections_in_use", unitName: "",
            helpText: "PostgreSQL connections currently leased by Gavel"))
        self.callersListening = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "gavel", subsystem: "caller_cache", metricName: "listening", unitName: "",
            helpText: "Whether this instance hears of changed tokens and users (1), and so may answer whose token it is from memory, or not (0)"))
        let lookups = MetricNameDescriptor(
            namespace: "gavel", subsystem: "caller_cache", metricName: "lookups", unitName: "total",
            helpText: "Tokens of requests resolved to their user, from memory or from the database")
        self.callersFromMemory = registry.makeCounter(descriptor: lookups, labels: [("source", "memory")])
        self.callersFromDatabase = registry.makeCounter(descriptor: lookups, labels: [("source", "database")])
        self.lotsSetAside = registry.makeCounter(descriptor: MetricNameDescriptor(
            namespace: "gavel", subsystem: "closer", metricName: "lots_set_aside", unitName: "total",
            helpText: "Lots the closer could not close and set aside as close-failed (each counted once)"))
        self.clientDisconnects = registry.makeCounter(descriptor: MetricNameDescriptor(
            namespace: "gavel", subsystem: "http", metricName: "client_disconnects", unitName: "total",
            helpText: "Requests the client gave up on before they were answered (not server errors)"))
        self.eventStreamsOpen = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "gavel", subsystem: "events", metricName: "streams_open", unitName: "",
            helpText: "Lot event streams this instance is serving"))
        let replicaReads = MetricNameDescriptor(
            namespace: "gavel", subsystem: "replica", metricName: "reads", unitName: "total",
            helpText: "Reads that may lag, by what the standby did with them: served, stale (the primary served it), failed (the primary served it), resting (after a failure, not tried)")
        self.replicaReads = Dictionary(uniqueKeysWithValues: ReplicaReadOutcome.allCases.map { outcome in
            (outcome, registry.makeCounter(descriptor: replicaReads, labels: [("outcome", outcome.rawValue)]))
        })
    }

    func replicaRead(_ outcome: ReplicaReadOutcome) { replicaReads[outcome]?.increment() }

    func lotSetAside() { lotsSetAside.increment() }

    func clientDisconnected() { clientDisconnects.increment() }

    func eventStreams(changedBy delta: Int) {
        if delta > 0 { eventStreamsOpen.increment(by: Double(delta)) } else { eventStreamsOpen.decrement(by: Double(-delta)) }
    }

    func callerCache(listening: Bool) { callersListening.set(to: listening ? 1 : 0) }

    func callerLookup(fromMemory: Bool) { (fromMemory ? callersFromMemory : callersFromDatabase).increment() }

    func record(route: String, method: String, status: Int, duration: Duration) {
        let labels = [("route", route), ("method", method), ("status", String(status))]
        registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "gavel", subsystem: "http", metricName: "requests", unitName: "total",
                helpText: "HTTP requests answered, by route template, method and status"),
            labels: labels
        ).increment()
        registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                namespace: "gavel", subsystem: "http", metricName: "request_duration", unitName: "seconds",
                helpText: "HTTP request latency, by route template, method and status"),
            labels: labels, buckets: Self.latencyBuckets
        ).record(duration)
    }

    func leaseChanged(by delta: Int) {
        if delta > 0 { poolInUse.increment(by: Double(delta)) } else { poolInUse.decrement(by: Double(-delta)) }
    }

    func exposition() -> String { registry.emitToString() }
}
