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
                INSERT INTO nodes (name, address, lease_ms, started_at, heartbeat_at)
                VALUES (\(node.name), \(address), \(Self.milliseconds(node.lease)), now(), now())
                ON CONFLICT (name) DO UPDATE SET heartbeat_at = now(), address = excluded.address, lease_ms = excluded.lease_ms, lost_at = NULL
                """)
        }
    }

    private func reapDeadNodes() async throws {
        let dead = try await store.read { session in
            try await session.rows("SELECT name FROM nodes WHERE lost_at IS NULL AND \(unescaped: Self.expired)").map { try $0.decode(String.self) }
        }
        for name in dead where name != store.node.name {
            try await store.write { session, events in try await Self.reap(session, name, events: &events) }
        }
    }

    /// Marks the node lost, unless another node did first (or it beat again), and fails its running jobs.
    private static func reap(_ session: PostgresSession, _ name: String, events: inout [Event]) async throws {
        let marked = try await session.rows("""
            UPDATE nodes SET lost_at = now() WHERE name = \(name) AND lost_at IS NULL AND \(unescaped: expired) RETURNING lease_ms
            """)
        guard let lease = try marked.first?.decode(Int64.self) else { return }
        events.append(try await PostgresJournal.record(session, .logs, "node \(name) lost: no heartbeat for over \(Duration.milliseconds(lease))",
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

    /// A node's heartbeat is older than its own lease (each node says its lease as it beats).
    static let expired = "heartbeat_at < now() - lease_ms * interval '1 millisecond'"

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// A node that stops cleanly leaves: it is not reported lost, and nothing of it waits to be failed
    /// (its shutdown ended its jobs). Its projects' jobs wait for it, as for a node that will be back.
    func leave() async {
        guard !Task.isCancelled else { return }  // not a clean stop: left to the lease, as a death is
        let name = store.node.name
        do {
            _ = try await store.read { session in try await session.rows("DELETE FROM nodes WHERE name = \(name)") }
        } catch {
            store.logger.warning("could not say this node left: \(PostgresStore.describe(error))")
        }
    }
}
