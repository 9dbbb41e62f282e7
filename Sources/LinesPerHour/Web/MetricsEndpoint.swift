import Metrics
import Prometheus

/// The process's one Prometheus registry: swift-metrics can be bootstrapped
/// once per process, so every daemon in it (the tests run several) shares it.
enum MetricsEndpoint {
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    /// Call before any metric is created, so that none is bound to the no-op backend.
    static func bootstrap() {
        _ = registry
    }

    /// The Prometheus text, with `lph_jobs{status=…}` and what the agents used
    /// by user read from the database at scrape time. Users are named by id:
    /// `/metrics` answers without a token, and an email is not for everyone.
    static func render(_ store: any Store) async throws -> [UInt8] {
        let counts = try await store.jobCountsByStatus()
        for status in JobStatus.allCases {
            Gauge(label: "lph_jobs", dimensions: [("status", status.rawValue)]).record(counts[status] ?? 0)
        }
        Gauge(label: "lph_database_bytes").record(try await store.sizeInBytes())
        if let cluster = try await store.cluster() {
            Gauge(label: "lph_nodes_alive").record(cluster.nodesAlive)
            Gauge(label: "lph_node_info", dimensions: [("node", cluster.node)]).record(1)
        }
        for (user, usage) in try await store.usageByUser() {
            let id = ("user_id", String(user))
            for (kind, tokens) in [("input", usage.inputTokens), ("output", usage.outputTokens), ("cache_read", usage.cacheReadTokens),
                                   ("cache_write", usage.cacheWriteTokens)] {
                Gauge(label: "lph_agent_tokens", dimensions: [id, ("kind", kind)]).record(tokens)
            }
            Gauge(label: "lph_agent_cost_usd", dimensions: [id]).record(usage.costUSD)
        }
        return registry.emitToBuffer()
    }

    /// Event-stream clients connected now.
    static let sseClients = Meter(label: "lph_sse_clients")

    /// Streams that fell further behind than their live feed holds and caught up from the database.
    static let sseOverflows = Counter(label: "lph_sse_overflows_total")
}
