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

    /// The Prometheus text, with `lph_jobs{status=…}` read from the database at scrape time.
    static func render(_ store: any Store) async throws -> [UInt8] {
        let counts = try await store.jobCountsByStatus()
        for status in JobStatus.allCases {
            Gauge(label: "lph_jobs", dimensions: [("status", status.rawValue)]).record(counts[status] ?? 0)
        }
        return registry.emitToBuffer()
    }

    /// Event-stream clients connected now.
    static let sseClients = Meter(label: "lph_sse_clients")
}
