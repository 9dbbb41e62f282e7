import Logging
import Metrics
import PostgresNIO

/// The one writer of a node: what ``Writer`` is to SQLite (the same
/// inbox, group commit, savepoint per unit of work, back-pressure and
/// full-disk behaviour), on PostgreSQL, shared with other nodes.
///
/// Every batch takes one transaction-scoped advisory lock before it writes,
/// so the journal's ids (`stream_messages` and `log_entries`) are handed
/// out in the order their transactions commit, across every node: a reader
/// that has seen id 105 can never later find an id 104 commit. The batch
/// then reads the highest ids already committed (nothing else can insert
/// while it holds the lock), which tells the ``JournalFollower`` exactly
/// which rows of other nodes came before its own.
final class PostgresWriter: Sendable {
    typealias Work = @Sendable (PostgresSession, inout [Event]) async -> @Sendable () -> Void
    typealias Operation = GroupCommit<Work>.Operation

    /// Runs on each batch's events inside its transaction, before the commit (the webhook outbox).
    typealias Capture = @Sendable (PostgresSession, [Event]) async throws -> Void

    /// The advisory lock key of the journal's writers (any constant; this one reads "lph jrnl").
    static let journalLock: Int64 = 0x6c70_6820_6a72_6e6c

    private let client: PostgresClient
    private let node: String
    private let follower: JournalFollower
    private let capture: Capture?
    private let logger: Logger
    private let queue: GroupCommit<Work>
    private let linesStored = Counter(label: "lph_log_lines_stored_total")

    init(client: PostgresClient, node: String, follower: JournalFollower, logger: Logger, maxBatch: Int = 10_000,
         highWater: Int = 50_000, capture: Capture?) {
        self.client = client
        self.node = node
        self.follower = follower
        self.capture = capture
        self.logger = logger
        queue = GroupCommit(logger: logger, maxBatch: maxBatch, highWater: highWater, overlapsPublication: false)
    }

    func append(_ rows: [LogRow]) async {
        await queue.append(rows)
    }

    var problem: String? { queue.problem }

    /// Runs `body` in the next batch's transaction (in its own savepoint) and
    /// returns its result once the transaction has committed.
    func perform<T: Sendable>(_ body: @escaping @Sendable (PostgresSession, inout [Event]) async throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            let work: Work = { session, events in
                var local: [Event] = []
                let outcome: Result<T, any Error>
                do {
                    try await session.rows("SAVEPOINT unit")
                    let value = try await body(session, &local)
                    try await session.rows("RELEASE SAVEPOINT unit")
                    outcome = .success(value)
                    events.append(contentsOf: local)
                } catch {
                    // The transaction goes on without this unit; if even the rollback fails, the commit fails too.
                    _ = try? await session.rows("ROLLBACK TO SAVEPOINT unit")
                    _ = try? await session.rows("RELEASE SAVEPOINT unit")
                    outcome = .failure(error)
                }
                return { c.resume(with: outcome) }
            }
            queue.enqueue(work) { c.resume(throwing: $0) }
        }
    }

    /// As SQLite's writer (``GroupCommit``); a commit's events go to the follower, which publishes them in
    /// id order after the other nodes' rows committed before them.
    func run() async throws {
        await queue.run { [self] batch in
            let (committed, completions) = try await commit(batch)
            return { [follower] in
                await follower.committed(committed)
                for done in completions { done() }
            }
        } refusal: { error in
            StoreError.refused(PostgresStore.describe(error))
        } refused: { [follower] in
            await follower.localCommitFailed()
        }
    }

    private func commit(_ batch: [Operation]) async throws -> (JournalFollower.Commit, [@Sendable () -> Void]) {
        try await PostgresStore.withConnection(client) { [self] connection in try await connection.withTransaction(logger: logger) { connection in
            let session = PostgresSession(connection: connection, logger: logger)
            try await session.rows("SELECT pg_advisory_xact_lock(\(Self.journalLock))")
            let before = try await JournalFollower.highest(session)
            var events: [Event] = []
            var completions: [@Sendable () -> Void] = []
            var lines: [LogRow] = []
            for operation in batch {
                switch operation {
                case .log(let row):
                    lines.append(row)
                case .work(let work, _):
                    try await insert(&lines, session, into: &events)
                    completions.append(await work(session, &events))
                }
            }
            try await insert(&lines, session, into: &events)
            try await capture?(session, events)
            if !events.isEmpty { try await session.rows("SELECT pg_notify(\(JournalFollower.channel), \(node))") }
            await follower.localCommitStarts()
            return (JournalFollower.Commit(events: events, after: before), completions)
        } }
    }

    /// Inserts the log lines gathered so far in one statement, in order; their events follow the batch's.
    private func insert(_ lines: inout [LogRow], _ session: PostgresSession, into events: inout [Event]) async throws {
        guard !lines.isEmpty else { return }
        let ids = try await session.rows("""
            INSERT INTO log_entries (job_id, message, level, source, timestamp)
            SELECT job_id, message, level, source, timestamp
            FROM unnest(\(lines.map(\.jobID))::bigint[], \(lines.map(\.message))::text[], \(lines.map(\.level.rawValue))::text[],
                        \(lines.map(\.source.rawValue))::text[], \(lines.map(\.timestamp))::text[])
                WITH ORDINALITY AS line(job_id, message, level, source, timestamp, n)
            ORDER BY n RETURNING id
            """).map { try $0.decode(Int64.self) }
        for (id, row) in zip(ids, lines) {
            events.append(Event(id: id, stream: .jobLog, jobID: row.jobID, level: row.level, text: row.message,
                                timestamp: row.timestamp, source: row.source.rawValue))
        }
        linesStored.increment(by: lines.count)
        lines.removeAll(keepingCapacity: true)
    }
}
