/// The answer of `/healthz`: whether the daemon does all of its work, what
/// keeps it from doing so, and how many jobs run and wait (unknown while the
/// database cannot be read).
struct Health: Codable, Sendable {
    var status: String
    var problems: [String]
    var running: Int64?
    var queued: Int64?
    /// The node that answered and how many share its database (PostgreSQL only).
    var node: String?
    var nodesAlive: Int?

    static func now(_ deps: HTTPServer.Dependencies) async -> Health {
        let problems = deps.problems
        let counts = try? await deps.store.jobCountsByStatus()
        let cluster = try? await deps.store.cluster()
        return Health(status: problems.isEmpty ? "ok" : "degraded", problems: problems,
                      running: counts.map { $0[.inProgress] ?? 0 }, queued: counts.map { $0[.pending] ?? 0 },
                      node: cluster?.node, nodesAlive: cluster?.nodesAlive)
    }
}
