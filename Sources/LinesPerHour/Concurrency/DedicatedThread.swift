import Dispatch
import Foundation
import Synchronization

/// A task executor with one thread of its own, for a stage whose work blocks
/// (reading and renaming files, walking a tree of 50,000 files).
///
/// Swift's cooperative pool has one thread per core (two here) and is shared
/// by every stage and every HTTP request: a blocking call on it stalls them
/// all. A stage that runs under ``run(named:_:)`` blocks only its own thread,
/// so one job's burst of files cannot hold up the intake or the API.
final class DedicatedThread: TaskExecutor, Sendable {
    private struct State {
        var jobs: [UnownedJob] = []
        var finished = false
    }

    private let state = Mutex(State())
    /// One signal per job, and one to finish.
    private let signals = DispatchSemaphore(value: 0)

    private init(name: String) {
        NamedThread.start(name) { [self] in loop() }
    }

    /// Runs `body` with this thread as its tasks' executor (child tasks
    /// included), then ends the thread.
    static func run<T: Sendable>(named name: String, _ body: () async throws -> T) async rethrows -> T {
        let thread = DedicatedThread(name: name)
        defer { thread.finish() }
        return try await withTaskExecutorPreference(thread, operation: body)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        state.withLock { $0.jobs.append(job) }
        signals.signal()
    }

    /// The thread ends once every job queued before is done.
    private func finish() {
        state.withLock { $0.finished = true }
        signals.signal()
    }

    private func loop() {
        while true {
            signals.wait()
            let next = state.withLock { s -> UnownedJob? in s.jobs.isEmpty ? nil : s.jobs.removeFirst() }
            if let next {
                next.runSynchronously(on: asUnownedTaskExecutor())
            } else if state.withLock({ $0.finished && $0.jobs.isEmpty }) {
                return
            }
        }
    }
}
