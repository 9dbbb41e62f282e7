import Logging
import PostgresNIO

/// This node among the others sharing the database: a heartbeat in `nodes`
/// every third of the lease, and, on every node, a look for nodes whose
/// heartbeat is older than the lease. The first node to look (the writers'
/// advisory lock makes it one) marks the dead node lost and fails the jobs it
/// was running as "interrupted: node NAME lost"; its pending jobs whose
/// project's folder lives on it wait, and say so in their logs. A node that
/// comes back beats again; what was failed stays failed (never run twice).
struct NodeMembership: Sendable {
    let store: PostgresStore

    func run() async {
        let node = store.node
        await periodically(every: node.lease / 3) {
            do {
                try await beat()
                try await reapDeadNodes()
            } catch {
                // At shutdown the beat in flight is cancelled: nothing to say.
                if !Task.isCancelled { store.logger.error("node heartbeat failed, trying again: \(PostgresStore.describe(error))") }
            }
        }
    }

    private func beat() async throws {
        let (node, address) = (store.node, store.address.withLock { $0 })
        _ = try await store.read { session in
            try await session.rows("""
                INSERT INTO nodes (name, address, started_at, heartbeat_at) VALUES (\(node.name), \(address), now(), now())
                ON CONFLICT (name) DO UPDATE SET heartbeat_at = now(), address = excluded.address, lost_at = NULL
                """)
        }
    }

    private func reapDeadNodes() async throws {
        let lease = Self.interval(store.node.lease)
        let dead = try await store.read { session in
            try await session.rows("""
                SELECT name FROM nodes WHERE lost_at IS NULL AND heartbeat_at < now() - \(unescaped: lease)
                """).map { try $0.decode(String.self) }
        }
        let node = store.node
        for name in dead where name != node.name {
            try await store.write { session, events in try await Self.reap(session, name, lease: node.lease, events: &events) }
        }
    }

    /// Marks the node lost, unless another node did first (or it beat again), and fails its running jobs.
    private static func reap(_ session: PostgresSession, _ name: String, lease: Duration, events: inout [Event]) async throws {
        let marked = try await session.rows("""
            UPDATE nodes SET lost_at = now() WHERE name = \(name) AND lost_at IS NULL AND heartbeat_at < now() - \(unescaped: interval(lease))
            RETURNING name
            """)
        guard !marked.isEmpty else { return }
        events.append(try await PostgresJournal.record(session, .logs, "node \(name) lost: no heartbeat for over \(lease)",
                                                       level: .error, payload: "{\"node\":\(JSONText.quote(name))}", subject: .nodeLost(name)))
        let running = try await session.rows("SELECT id FROM jobs WHERE status = 'in_progress' AND node = \(name) ORDER BY id")
            .map { try $0.decode(Int64.self) }
        for job in running {
            try await PostgresJobWrites.finish(session, job: job, status: .failed, reason: "interrupted: node \(name) lost",
                                               exitCode: nil, events: &events)
        }
        let waiting = try await session.rows("""
            SELECT jobs.id FROM jobs JOIN projects ON projects.id = jobs.project_id
            WHERE jobs.status = 'pending' AND projects.node = \(name) ORDER BY jobs.id
            """).map { try $0.decode(Int64.self) }
        for job in waiting {
            events.append(try await PostgresJournal.systemLine(session, job: job, """
                waiting for node \(name), which was lost: this project's folder is there (start it again, or run the nodes with --shared-projects)
                """, level: .warning))
            events.append(try await PostgresJobWrites.jobEvent(session, job, "job \(job) waits for node \(name), which was lost", subject: nil))
        }
    }

    /// A duration as a PostgreSQL interval literal.
    static func interval(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        return "'\(milliseconds) milliseconds'::interval"
    }
}
