import Logging

/// Writes the index's changes to the store a piece at a time: a batch of
/// thousands (a job writing 50,000 files) goes in ``changesPerWrite``
/// changes a write, so a job's claim or start waits for one piece at most,
/// never for the whole batch. Job progress events are throttled
/// (``JobEventThrottle``); when some are held back, ``flushLater`` is asked
/// to come back for them after the throttle's window.
struct ArtifactRecorder: Sendable {
    /// What a batch's writes did: the running jobs whose projects they changed, and whether the database refused one.
    struct Recorded: Sendable {
        var touched = Set<Int64>()
        var refused = false

        mutating func add(_ other: Recorded) {
            touched.formUnion(other.touched)
            refused = refused || other.refused
        }
    }

    static let changesPerWrite = 500

    let store: any Store
    /// Project → the job running in it now (the executor's).
    let runningJobs: @Sendable () -> [String: Int64]
    let logger: Logger
    /// Asks for the held-back job events, a throttle window later.
    let flushLater: @Sendable () -> Void
    private let throttle = JobEventThrottle()

    /// Commits `chunk` once `previous` has committed.
    func commitLater(_ chunk: [ArtifactChange], after previous: Task<Recorded, Never>?) -> Task<Recorded, Never> {
        Task {
            var recorded = await previous?.value ?? Recorded()
            recorded.add(await commit(chunk, notes: [], flushPending: false))
            return recorded
        }
    }

    /// Commits a batch, ``changesPerWrite`` changes a write, the notes with the last; stops at a refusal.
    func commit(_ changes: [ArtifactChange], notes: [(text: String, level: Level)], flushPending: Bool) async -> Recorded {
        var recorded = Recorded()
        var start = 0
        repeat {
            let end = min(start + Self.changesPerWrite, changes.count)
            let last = end == changes.count
            recorded.add(await write(Array(changes[start..<end]), notes: last ? notes : [], flushPending: last && flushPending))
            start = end
        } while start < changes.count && !recorded.refused
        return recorded
    }

    private func write(_ changes: [ArtifactChange], notes: [(text: String, level: Level)], flushPending: Bool) async -> Recorded {
        var recorded = Recorded()
        do {
            recorded.touched = try await store.recordArtifacts(changes, running: runningJobs(), notes: notes) { [throttle] touched in
                throttle.due(touched, flushPending: flushPending)
            }
        } catch {
            logger.error("could not record \(changes.count) artifact changes: \(error)")
            recorded.refused = true
        }
        if throttle.needsFlush() {
            Task {
                try? await Task.sleep(for: JobEventThrottle.window)
                flushLater()
            }
        }
        return recorded
    }
}
