import Metrics
import Prometheus
import Synchronization

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
}
