import GRDB
import GRDBSQLite
import Logging
import Metrics

/// The one writer to SQLite.
///
/// Everything the daemon records goes through here, in the order it was
/// handed in (``GroupCommit``: the queue, group commit, back-pressure and what
/// a refused commit means): job log lines on a fast path (one cached prepared
/// statement), and units of work (claims, status changes, journal rows) each
/// in its own savepoint, so one failing unit never takes the rest of its
/// batch with it. Only after a commit are the batch's events handed to
/// `publish` and the callers resumed: nothing is ever shown that is not in
/// the database.
final class Writer: Sendable {
    /// A unit of work: runs inside the batch's transaction, appends the events
    /// it committed, and returns what to do once the commit is durable.
    typealias Work = @Sendable (Database, inout [Event]) -> @Sendable () -> Void
    typealias Operation = GroupCommit<Work>.Operation

    /// How long a shutdown waits for a refusing database before it gives up the log lines still queued.
    static let shutdownPatience: Duration = .seconds(10)

    /// Runs on each batch's events inside its transaction, before the commit (the webhook outbox).
    typealias Capture = @Sendable (Database, [Event]) throws -> Void

    private let database: any DatabaseWriter
    private let publish: @Sendable ([Event]) -> Void
    private let capture: Capture?
    private let queue: GroupCommit<Work>
    private let linesStored = Counter(label: "lph_log_lines_stored_total")

    init(database: any DatabaseWriter, logger: Logger, maxBatch: Int = 10_000, highWater: Int = 50_000, capture: Capture? = nil,
         publish: @escaping @Sendable ([Event]) -> Void) {
        self.database = database
        self.capture = capture
        queue = GroupCommit(logger: logger, maxBatch: maxBatch, highWater: highWater, overlapsPublication: true)
        self.publish = publish
    }

    // MARK: - Producers

    /// Queues log lines; suspends while the queue is over its high-water mark.
    func append(_ rows: [LogRow]) async {
        await queue.append(rows)
    }

    /// Why commits are failing right now (a full disk), if they are.
    var problem: String? { queue.problem }

    /// Runs `body` in the next batch's transaction (in its own savepoint) and
    /// returns its result once the transaction has committed. Events appended
    /// to the `inout` array are published after the commit.
    func perform<T: Sendable>(_ body: @escaping @Sendable (Database, inout [Event]) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            let work: Work = { db, events in
                var local: [Event] = []
                let outcome: Result<T, any Error>
                do {
                    var value: T?
                    try db.inSavepoint {
                        value = try body(db, &local)
                        return .commit
                    }
                    outcome = .success(value!)
                    events.append(contentsOf: local)
                } catch {
                    outcome = .failure(error)
                }
                return { c.resume(with: outcome) }
            }
            queue.enqueue(work) { c.resume(throwing: $0) }
        }
    }

    // MARK: - The drain loop

    /// On a thread of its own, which runs the transactions itself: a write
    /// waits for one thread to wake, not for a hop to GRDB's queue and back.
    func run() async throws {
        await DedicatedThread.run(named: "lph-writer") {
            await queue.run { [self] batch in
                let (events, completions) = try commit(batch)
                return { [publish] in
                    publish(events)
                    for done in completions { done() }
                }
            }
        }
    }

    /// Blocks the writer's own thread (GRDB runs a synchronous write on the calling thread).
    private func commit(_ batch: [Operation]) throws -> ([Event], [@Sendable () -> Void]) {
        try database.write { db in
            var events: [Event] = []
            events.reserveCapacity(batch.count)
            var completions: [@Sendable () -> Void] = []
            let insert = try db.cachedStatement(sql: """
                INSERT INTO log_entries (job_id, message, level, source, timestamp) VALUES (?, ?, ?, ?, ?)
                """)
            var lines = 0
            for operation in batch {
                switch operation {
                case .log(let row):
                    try Self.insert(row, with: insert, db)
                    events.append(Event(id: db.lastInsertedRowID, stream: .jobLog, jobID: row.jobID, level: row.level,
                                        text: row.message, timestamp: row.timestamp, source: row.source.rawValue))
                    lines += 1
                case .work(let work, _):
                    completions.append(work(db, &events))
                }
            }
            linesStored.increment(by: lines)
            try capture?(db, events)
            return (events, completions)
        }
    }
}

extension Writer {
    /// Binds one log row by hand to the cached statement: the generic
    /// argument path boxes every value, and this runs once per stored line.
    private static func insert(_ row: LogRow, with statement: Statement, _ db: Database) throws {
        let handle = statement.sqliteStatement
        sqlite3_bind_int64(handle, 1, row.jobID)
        var message = row.message
        var timestamp = row.timestamp
        let code = message.withUTF8 { text in
            timestamp.withUTF8 { time in
                sqlite3_bind_text(handle, 2, text.baseAddress, Int32(text.count), nil)
                bindStatic(handle, 3, row.level.rawValue)
                bindStatic(handle, 4, row.source.rawValue)
                sqlite3_bind_text(handle, 5, time.baseAddress, Int32(time.count), nil)
                defer {
                    sqlite3_reset(handle)
                    sqlite3_clear_bindings(handle)
                }
                return sqlite3_step(handle)
            }
        }
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }

    private static func bindStatic(_ handle: OpaquePointer?, _ index: Int32, _ text: String) {
        var text = text
        _ = text.withUTF8 { sqlite3_bind_text(handle, index, $0.baseAddress, Int32($0.count), SQLITE_TRANSIENT_VALUE) }
    }
}

/// SQLite's `SQLITE_TRANSIENT`, which does not import into Swift: SQLite copies the bytes.
private let SQLITE_TRANSIENT_VALUE = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
