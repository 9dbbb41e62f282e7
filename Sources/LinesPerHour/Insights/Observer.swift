import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Turns committed events into insights: one readable sentence each, with a
/// JSON payload beside it, stored in `stream_messages` (`insights`, source
/// `observer`) and broadcast like every other event.
///
/// It reacts to `jobs` events as they are published (started, phase changed,
/// finished, failed, credits running low) and, on a timer, to what only time
/// reveals (a stalled job, the queue). Agent output and file events only mark
/// a job as active, on the publishing path, at the cost of one dictionary
/// write. An insight is never said twice while nothing has changed.
final class Observer: Service, Sendable {
    private let store: any Store
    private let broadcaster: Broadcaster
    private let interval: Duration
    private let stallAfter: Duration
    private let maxJobs: Int
    private let logger: Logger
    private let activity = Mutex<[Int64: ContinuousClock.Instant]>([:])
    private let observations: AsyncStream<Observation>
    private let observationsInput: AsyncStream<Observation>.Continuation

    /// What the observer looks at next: a job's new state, or the clock.
    private enum Observation {
        case job(Event)
        case tick
    }

    init(store: any Store, broadcaster: Broadcaster, interval: Duration, stallAfter: Duration, maxJobs: Int, logger: Logger) {
        self.store = store
        self.broadcaster = broadcaster
        self.interval = interval
        self.stallAfter = stallAfter
        self.maxJobs = maxJobs
        self.logger = logger
        (observations, observationsInput) = AsyncStream.makeStream()
    }

    func run() async throws {
        let token = broadcaster.subscribe { events in self.note(events) }
        defer { broadcaster.unsubscribe(token) }
        var notebook = Notebook()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await gracefulShutdown()
                self.observationsInput.finish()
            }
            group.addTask {
                let period = min(self.interval, self.stallAfter / 4)
                while !Task.isCancelled {
                    try? await Task.sleep(for: period)
                    self.observationsInput.yield(.tick)
                }
            }
            for await observation in observations {
                switch observation {
                case .tick:
                    await observeTime(&notebook)
                case .job(let event):
                    guard let job = event.subject?.job else { continue }
                    await observe(job, &notebook)
                }
            }
            group.cancelAll()
        }
    }

    /// On the publishing path: quick. Output and files mark their job active; job changes are queued.
    private func note(_ events: [Event]) {
        let now = ContinuousClock.now
        activity.withLock { last in
            for event in events where event.stream == .jobLog || event.stream == .artifacts {
                if let job = event.jobID { last[job] = now }
            }
        }
        for event in events where event.stream == .jobs && event.source == "system" { observationsInput.yield(.job(event)) }
    }

    // MARK: - Jobs as they change

    private func observe(_ job: Job, _ notebook: inout Notebook) async {
        var insights = notebook.update(with: job)
        if job.status == .failed, let insight = notebook.failure(of: job, lastError: try? await store.lastErrorLine(job: job.id)) {
            insights.append(insight)
        }
        if let (left, given) = try? await store.credits(of: job.user), let insight = notebook.credits(of: job, left: left, given: given) {
            insights.append(insight)
        }
        await say(insights)
        if job.status.isFinal { activity.withLock { _ = $0.removeValue(forKey: job.id) } }
    }

    // MARK: - What only time reveals

    private func observeTime(_ notebook: inout Notebook) async {
        let now = ContinuousClock.now
        let quiet = activity.withLock { $0 }
        for job in notebook.running {
            let since = quiet[job] ?? notebook.startedAt(job) ?? now
            await say(notebook.stall(job: job, quietFor: now - since, limit: stallAfter))
        }
        if let pending = try? await store.jobCountsByStatus()[.pending] ?? 0,
           let insight = notebook.queue(pending: pending, running: notebook.running.count, maxJobs: maxJobs,
                                        recent: (try? await store.recentDurations()) ?? []) {
            await say([insight])
        }
    }

    /// Records the insights of one observation in one write.
    private func say(_ insights: [Insight]) async {
        guard !insights.isEmpty else { return }
        do {
            try await store.recordInsights(insights)
        } catch {
            logger.warning("insight not recorded", metadata: ["error": "\(error)"])
        }
    }
}
