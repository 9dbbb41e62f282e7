import Logging
import PostgresNIO

/// Publishes every node's committed journal rows to this node, in id order,
/// each exactly once: this node's own batches as its writer commits them
/// (with their typed subjects, for this node's observer and curator), the
/// other nodes' as they announce them with `NOTIFY` (or as a poll finds them,
/// should a notification be lost with its connection).
///
/// It keeps, per table, the highest id it has published. Ids commit in order
/// (the writer's advisory lock), so every row above that mark that a read
/// finds is new, and every row at or below it was published; nothing is read
/// twice, nothing skipped.
actor JournalFollower {
    /// What a local batch committed, and the highest ids committed before it.
    struct Commit: Sendable {
        var events: [Event]
        var after: Marks
    }

    /// The highest id published (or committed), per table.
    struct Marks: Sendable {
        var log: Int64
        var journal: Int64
    }

    static let channel = "lph_journal"
    private static let page = 5_000

    private let client: PostgresClient
    private let logger: Logger
    private let publish: @Sendable ([Event]) -> Void
    private var published: Marks
    /// From just before a local batch's COMMIT until its events are published:
    /// its rows may be visible already, and must be published with their subjects, by ``committed(_:)``.
    private var localCommitInFlight = false
    /// Local commits begun: a catch-up whose read overlapped one cannot tell its rows from the others'.
    private var localCommits = 0
    private var catchUpDeferred = false

    init(client: PostgresClient, logger: Logger, from marks: Marks, publish: @escaping @Sendable ([Event]) -> Void) {
        self.client = client
        self.logger = logger
        published = marks
        self.publish = publish
    }

    /// The highest ids committed now.
    static func highest(_ session: PostgresSession) async throws -> Marks {
        let row = try await session.rows("""
            SELECT (SELECT coalesce(max(id), 0) FROM log_entries), (SELECT coalesce(max(id), 0) FROM stream_messages)
            """)[0]
        let (log, journal) = try row.decode((Int64, Int64).self)
        return Marks(log: log, journal: journal)
    }

    /// Called in the local batch's transaction, just before its COMMIT.
    func localCommitStarts() {
        localCommitInFlight = true
        localCommits += 1
    }

    func localCommitFailed() async {
        localCommitInFlight = false
        await catchUpIfDeferred()
    }

    /// A local batch committed: the other nodes' rows committed before it are
    /// published first, then its own events.
    func committed(_ commit: Commit) async {
        if published.log < commit.after.log || published.journal < commit.after.journal,
           !(await publishCommitted(upTo: commit.after)) {
            // The database cannot be read now: the batch's rows are published from it later, in order, by the next catch-up
            // (without their subjects: this node's observer and curator miss them, its streams do not).
            localCommitInFlight = false
            catchUpDeferred = true
            return
        }
        // The actor runs other calls while this one waits for the database: anything they published is not published again.
        let fresh = commit.events.filter { $0.id > mark(of: $0) }
        for event in fresh { advance(past: event) }
        published.log = max(published.log, commit.after.log)
        published.journal = max(published.journal, commit.after.journal)
        publish(fresh)
        localCommitInFlight = false
        await catchUpIfDeferred()
    }

    /// Publishes whatever other nodes committed since the last look.
    func catchUp() async {
        guard !localCommitInFlight else {
            catchUpDeferred = true
            return
        }
        await publishCommitted(upTo: nil)
    }

    private func catchUpIfDeferred() async {
        guard catchUpDeferred, !localCommitInFlight else { return }
        catchUpDeferred = false
        await publishCommitted(upTo: nil)
    }

    private func mark(of event: Event) -> Int64 {
        event.stream == .jobLog ? published.log : published.journal
    }

    private func advance(past event: Event) {
        if event.stream == .jobLog { published.log = max(published.log, event.id) } else { published.journal = max(published.journal, event.id) }
    }

    /// Reads and publishes the rows above the marks, a page at a time; false
    /// when the database could not be read. Up to a local commit (`limit`),
    /// it tries a few times over a second or so: the local events wait, since
    /// publishing them first would put them before rows with smaller ids. A
    /// plain catch-up tries once; the next notification or poll tries again.
    @discardableResult
    private func publishCommitted(upTo limit: Marks?) async -> Bool {
        var backoff = Backoff(from: .milliseconds(50), upTo: .milliseconds(800))
        for attempt in 1...(limit == nil ? 1 : 5) {
            do {
                try await publishPages(upTo: limit)
                return true
            } catch {
                logger.error("cannot read the journal of the other nodes, will try again: \(PostgresStore.describe(error))")
                if limit != nil && attempt < 5 { try? await Task.sleep(for: backoff.next()) }
            }
        }
        return false
    }

    private func publishPages(upTo limit: Marks?) async throws {
        while true {
            let (after, top, commitsBefore) = (published, limit ?? Marks(log: .max, journal: .max), localCommits)
            let (client, logger) = (client, logger)
            let (lines, rows) = try await PostgresStore.withConnection(client) { connection in
                let session = PostgresSession(connection: connection, logger: logger)
                return (try await Self.lines(session, after: after.log, upTo: top.log),
                        try await Self.journal(session, after: after.journal, upTo: top.journal))
            }
            if limit == nil && (localCommitInFlight || localCommits != commitsBefore) {
                // A local batch committed while this read ran: its rows may be among these, without their subjects.
                // Once it is published, a read again finds only what is new.
                guard !localCommitInFlight else {
                    catchUpDeferred = true
                    return
                }
                continue
            }
            let fresh = (lines + rows).filter { $0.id > mark(of: $0) }
            for event in fresh { advance(past: event) }
            publish(fresh)
            if lines.count < Self.page && rows.count < Self.page { return }
        }
    }

    private static func lines(_ session: PostgresSession, after: Int64, upTo top: Int64) async throws -> [Event] {
        try await session.rows("""
            SELECT id, job_id, message, level, source, timestamp FROM log_entries WHERE id > \(after) AND id <= \(top) ORDER BY id LIMIT \(page)
            """).map { row in
            let (id, job, message, level, source, timestamp) = try row.decode((Int64, Int64, String, String, String, String).self)
            return Event(id: id, stream: .jobLog, jobID: job, level: Level(rawValue: level) ?? .info, text: message,
                         timestamp: timestamp, source: source)
        }
    }

    private static func journal(_ session: PostgresSession, after: Int64, upTo top: Int64) async throws -> [Event] {
        try await session.rows("""
            SELECT \(unescaped: PostgresStore.journalColumns) FROM stream_messages WHERE id > \(after) AND id <= \(top) ORDER BY id LIMIT \(page)
            """).map(PostgresStore.event(journalRow:))
    }
}
