import Logging
import ServiceLifecycle

/// Keeps the database from growing for ever (`--retain-days`): the log lines
/// and journal rows of jobs that ended longer ago than `keep` are deleted, a
/// small batch a transaction (the writer and the agents' lines never wait
/// long), once an `interval`. Jobs, what they changed, the artifact index and
/// knowledge stay; a running job's lines are never touched.
final class Retention: Service {
    static let batch = 5_000

    private let store: any Store
    private let keep: Duration
    private let interval: Duration
    private let logger: Logger

    init(store: any Store, keep: Duration, interval: Duration, logger: Logger) {
        self.store = store
        self.keep = keep
        self.interval = interval
        self.logger = logger
    }

    func run() async throws {
        await periodically(every: interval) { [self] in await prune() }
    }

    /// One pass: batches until nothing older is left.
    private func prune() async {
        let cutoff = Timestamp.after(.zero - keep)
        var pruned = 0
        do {
            while !Task.isCancelled {
                let rows = try await store.prune(before: cutoff, limit: Self.batch)
                pruned += rows
                if rows == 0 { break }
            }
        } catch {
            logger.warning("pruning old log lines failed, tried again later: \(error)")
        }
        if pruned > 0 { logger.info("pruned \(pruned) log lines and journal rows of jobs ended before \(cutoff)") }
    }
}
