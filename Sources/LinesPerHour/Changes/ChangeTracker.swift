import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// What each job changed in its project: a diff between a snapshot of the
/// project taken as the job starts and one taken now (``ShadowRepository``).
///
/// The job's counts (lines added, lines removed, file by file) are measured
/// while its agent runs, as soon as the index sees a change in the project (a
/// file written, or still being appended to) but at most once per ``window``, and
/// once more when the job ends, before its status changes. Each measurement
/// charges the user the lines added since the one before, so a job that runs
/// out of credits is stopped while its agent is still writing: it can
/// overshoot by what is written in about one window and one measurement.
///
/// libgit2 calls run on the service's own threads (``Lane``), a project's
/// one at a time and in order (``LaneAssignments``); a snapshot of an
/// unchanged tree reads no file.
final class ChangeTracker: Service, Sendable {
    static let window: Duration = .milliseconds(500)

    private let shadows: String
    private let projects: String
    private let store: any Store
    private let logger: Logger
    /// Stops a job whose user a measurement found out of credits.
    private let outOfCredits: @Sendable (Int64) -> Void
    private let lanes: [Lane]
    private let assignments = Mutex(LaneAssignments(lanes: ChangeTracker.laneCount))
    /// Jobs with a measurement scheduled, so touches within a window make one.
    private let scheduled = Mutex<Set<Int64>>([])
    /// Each running job's starting snapshot, and the order of the last
    /// measurement recorded: a project's measurements are taken in order on its
    /// lane, and one that reaches the database after a later one is dropped.
    private let jobs = Mutex<[Int64: (start: String, recorded: Int)]>([:])
    private let sequence = Mutex(0)
    /// When each running job was last measured, and how long that took.
    private let lastMeasured = Mutex<[Int64: (at: ContinuousClock.Instant, took: Duration)]>([:])

    typealias Request = @Sendable (inout Repositories) -> Void

    /// A thread's queue of requests. A project's first job makes its shadow
    /// repository (a dozen files and folders) and every job snapshots its
    /// project twice: with one thread, jobs of different projects starting at
    /// once waited for each other's file system work.
    struct Lane: Sendable {
        let requests: AsyncStream<Request>
        let feed: AsyncStream<Request>.Continuation

        init() {
            (requests, feed) = AsyncStream.makeStream()
        }
    }

    static let laneCount = 2

    /// The shadow repositories a lane has opened, by project; lives on the lane's thread only.
    struct Repositories {
        let shadows: String
        let projects: String
        var open: [String: ShadowRepository] = [:]

        mutating func of(_ project: String) throws -> ShadowRepository {
            if let repository = open[project] { return repository }
            let repository = try ShadowRepository(at: "\(shadows)/\(project).git", workTree: "\(projects)/\(project)")
            open[project] = repository
            return repository
        }
    }

    init(shadows: String, projects: String, store: any Store, logger: Logger, outOfCredits: @escaping @Sendable (Int64) -> Void) {
        self.shadows = shadows
        self.projects = projects
        self.store = store
        self.logger = logger
        self.outOfCredits = outOfCredits
        lanes = (0..<Self.laneCount).map { _ in Lane() }
    }

    func run() async throws {
        let (shadows, projects) = (self.shadows, self.projects)
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for (number, lane) in lanes.enumerated() {
                    group.addTask {
                        await DedicatedThread.run(named: "lph-git-\(number)") {
                            var repositories = Repositories(shadows: shadows, projects: projects)
                            // Runs until shutdown has finished the stream, after every request queued before it.
                            for await request in lane.requests { request(&repositories) }
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            for lane in self.lanes { lane.feed.finish() }
        }
    }

    /// Runs `body` with `project`'s repository, on the lane ``LaneAssignments`` gives it.
    private func perform<T: Sendable>(_ project: String, _ body: @escaping @Sendable (ShadowRepository) throws -> T) async throws -> T {
        let lane = lanes[assignments.withLock { $0.take(project) }]
        return try await withCheckedThrowingContinuation { c in
            let queued = lane.feed.yield { [self] repositories in
                let result = Result { try body(try repositories.of(project)) }
                assignments.withLock { $0.release(project) }
                c.resume(with: result)
            }
            if case .terminated = queued {
                assignments.withLock { $0.release(project) }
                c.resume(throwing: DaemonError("the change tracker has stopped"))
            }
        }
    }

    // MARK: - A job's changes

    /// Snapshots the project as the job starts: what the job writes is measured against it.
    func begin(job: Int64, project: String) async throws {
        let tree = try await perform(project) { try $0.snapshot() }
        jobs.withLock { $0[job] = (tree, 0) }
        try await store.beginChanges(job: job, tree: tree)
    }

    /// Measures and records the job's changes now; true when its user ran out
    /// of credits. The `final` one (the job has ended) is the last.
    @discardableResult
    func measure(job: Int64, project: String, final: Bool = false) async -> Bool {
        guard let start = jobs.withLock({ $0[job]?.start }) else { return false }
        defer {
            if final {
                jobs.withLock { _ = $0.removeValue(forKey: job) }
                lastMeasured.withLock { _ = $0.removeValue(forKey: job) }
            }
        }
        do {
            let (order, end, changes, patch) = try await perform(project) { [self] repository in
                let end = try repository.snapshot()
                let order = sequence.withLock { n in
                    n += 1
                    return n
                }
                // The last measurement keeps the diff in the database, where any node can show it.
                return (order, end, try repository.changes(from: start, to: end), final ? try repository.patch(from: start, to: end) : nil)
            }
            return try await store.recordChanges(job: job, tree: end, changes, patch: patch) { [self] in
                jobs.withLock { states -> Bool in
                    guard let state = states[job], state.recorded < order else { return false }
                    states[job]?.recorded = order
                    return true
                }
            }
        } catch {
            logger.error("cannot measure the changes of job \(job): \(error)")
            return false
        }
    }

    /// Something changed in a running job's project: a measurement now, or,
    /// if one was made less than a window ago, at the window's end (changes
    /// in between are all in it). A job whose user it finds out of credits is stopped.
    ///
    /// The window grows with what a measurement costs (``costShare``): a
    /// project of 50,000 files takes seconds to snapshot, and measured every
    /// half second its job would take both cores from every other job.
    func touched(job: Int64, project: String) {
        guard scheduled.withLock({ $0.insert(job).inserted }) else { return }
        let wait = lastMeasured.withLock { $0[job] }.map { last in
            max(Self.window, last.took * Self.costShare) - (ContinuousClock.now - last.at)
        } ?? .zero
        Task {
            if wait > .zero { try? await Task.sleep(for: wait) }
            scheduled.withLock { _ = $0.remove(job) }
            let start = ContinuousClock.now
            lastMeasured.withLock { $0[job] = (start, $0[job]?.took ?? .zero) }
            let exhausted = await measure(job: job, project: project)
            // Not for a job whose final measurement has come and gone meanwhile.
            lastMeasured.withLock { $0[job]?.took = .now - start }
            if exhausted { outOfCredits(job) }
        }
    }

    /// A running job's measurements take at most one part in `costShare` of the time.
    static let costShare = 5

    // MARK: - Review

    /// The unified diff of what the job changed.
    func patch(project: String, from start: String, to end: String) async throws -> String {
        try await perform(project) { try $0.patch(from: start, to: end) }
    }

    /// Puts the files the job changed back as they were at its start.
    func revert(project: String, from start: String, to end: String) async throws {
        try await perform(project) { try $0.revert(from: start, to: end) }
    }
}
