import Foundation

/// What the observer remembers between events, and the sentences it makes of
/// them. Pure state and arithmetic: the ``Observer`` feeds it and says what it
/// returns. Durations come from the jobs' own timestamps, so the phases of a
/// job add up exactly to its duration.
struct Notebook {
    static let target = 50_000.0

    private struct Track {
        var status: JobStatus
        var phase: Phase
        var phaseSince: Int64          // ms since the epoch
        var durations: [Phase: Int64] = [:]
        var stalled = false
        var seen = ContinuousClock.now
    }

    private var tracks: [Int64: Track] = [:]
    /// The jobs that ended lately (the last 10,000): an event of theirs arriving
    /// late must not start a new track and say "started" and "completed" again.
    private var ended: (ids: Set<Int64>, order: [Int64]) = ([], [])
    private var lowCredits: Set<String> = []
    private var lastQueue: String?

    /// The jobs in progress.
    var running: [Int64] { tracks.filter { $0.value.status == .inProgress }.map(\.key).sorted() }

    func startedAt(_ job: Int64) -> ContinuousClock.Instant? { tracks[job]?.seen }

    // MARK: - Status and phase

    mutating func update(with job: Job) -> [Insight] {
        guard !ended.ids.contains(job.id) else { return [] }
        let now = Timestamp.milliseconds(job.updatedAt) ?? 0
        let start = job.startedAt.flatMap(Timestamp.milliseconds) ?? now
        var track = tracks[job.id] ?? Track(status: .pending, phase: .idle, phaseSince: start)
        var said: [Insight] = []
        if track.status == .pending && job.status != .pending {
            track.phaseSince = start
            said.append(Insight(text: "Job \(job.id) (\(job.project)) started for \(job.user).", job: job.id,
                                payload: json(["kind": "started", "job": job.id, "project": job.project])))
        }
        if job.currentPhase != track.phase {
            let spent = now - track.phaseSince
            track.durations[track.phase, default: 0] += spent
            said.append(Insight(
                text: "Job \(job.id) (\(job.project)) moved from \(track.phase.rawValue) to \(job.currentPhase.rawValue)"
                    + " after \(Phrase.duration(ms: spent)) in \(track.phase.rawValue).",
                job: job.id, payload: json(["kind": "phase", "job": job.id, "from": track.phase.rawValue,
                                            "to": job.currentPhase.rawValue, "seconds": Double(spent) / 1000])))
            (track.phase, track.phaseSince) = (job.currentPhase, now)
        }
        track.status = job.status
        if job.status.isFinal {
            tracks[job.id] = nil
            remember(ended: job.id)
            if job.status != .failed { said.append(finish(job, track)) }
            pendingFailure = job.status == .failed ? track : nil
        } else {
            tracks[job.id] = track
        }
        return said
    }

    private mutating func remember(ended job: Int64) {
        ended.ids.insert(job)
        ended.order.append(job)
        if ended.order.count > 10_000 {
            ended.ids.remove(ended.order.removeFirst())
        }
    }

    /// Set by ``update(with:)`` for a failed job, taken by ``failure(of:lastError:)``.
    private var pendingFailure: Track?

    /// A failed job's insight: its cause, its exit code and the last error it printed.
    mutating func failure(of job: Job, lastError: String?) -> Insight? {
        guard let track = pendingFailure else { return nil }
        pendingFailure = nil
        var insight = finish(job, track)
        insight.level = .error
        if let lastError { insight.text += " Last error: “\(Phrase.clip(lastError))”." }
        return insight
    }

    /// The summary of a job that ended: duration, lines, rate, tasks, and the phases' durations.
    private func finish(_ job: Job, _ track: Track) -> Insight {
        let end = job.finishedAt.flatMap(Timestamp.milliseconds) ?? Timestamp.milliseconds(job.updatedAt) ?? 0
        let start = job.startedAt.flatMap(Timestamp.milliseconds) ?? end
        var phases = track.durations
        phases[track.phase, default: 0] += end - track.phaseSince
        let duration = end - start
        // Clamped so that a burst in a millisecond never overflows the integers it is shown as.
        let rate = min(duration > 0 ? Double(job.linesWritten) * 3_600_000 / Double(duration) : 0, 1e15)
        let summary = "\(Phrase.number(job.linesWritten)) lines written (\(Phrase.number(Int64(rate))) lines/hour, "
            + "\(Int((rate / Self.target * 100).rounded()))% of the 50,000 target), \(job.tasksDone) of \(job.tasksTotal) tasks done."
        let text: String
        switch job.status {
        case .completed: text = "Job \(job.id) (\(job.project)) completed in \(Phrase.duration(ms: duration)): " + summary
        case .cancelled: text = "Job \(job.id) (\(job.project)) was cancelled after \(Phrase.duration(ms: duration)): " + summary
        default:
            let cause = job.failureReason ?? "no reason recorded"
            let code = job.exitCode.map { " (exit code \($0))" } ?? ""
            text = "Job \(job.id) (\(job.project)) failed after \(Phrase.duration(ms: duration))\(code): \(cause)."
        }
        let payload = json(["kind": "finished", "job": job.id, "status": job.status.rawValue, "duration_ms": duration,
                            "lines_written": job.linesWritten, "lines_per_hour": rate.rounded(), "tasks_done": job.tasksDone,
                            "tasks_total": job.tasksTotal, "exit_code": job.exitCode, "reason": job.failureReason,
                            "phases_ms": Dictionary(uniqueKeysWithValues: phases.map { ($0.key.rawValue, $0.value) })])
        return Insight(text: text, job: job.id, payload: payload)
    }

    // MARK: - Credits

    /// Once per crossing: a user under 10 % of the credits they were given.
    mutating func credits(of job: Job, left: Int64, given: Int64) -> Insight? {
        guard given > 0 else { return nil }
        let (tenfold, overflow) = left.multipliedReportingOverflow(by: 10)
        let low = !overflow && tenfold < given
        defer { if low { lowCredits.insert(job.user) } else { lowCredits.remove(job.user) } }
        guard low, !lowCredits.contains(job.user) else { return nil }
        return Insight(text: "\(job.user) has \(Phrase.number(left)) line credits left, under 10% of \(Phrase.number(given)).",
                       level: .warning, job: job.id,
                       payload: json(["kind": "credits_low", "job": job.id, "user": job.user, "left": left, "given": given]))
    }

    // MARK: - Time

    /// One insight when a job goes quiet for `limit`, and one when it speaks again.
    mutating func stall(job: Int64, quietFor: Duration, limit: Duration) -> [Insight] {
        guard var track = tracks[job] else { return [] }
        defer { tracks[job] = track }
        let seconds = Double(quietFor.components.seconds)
        if !track.stalled && quietFor >= limit {
            track.stalled = true
            return [Insight(text: "Job \(job) stalled: no output and no file written for \(Phrase.duration(ms: Int64(seconds * 1000))).",
                            level: .warning, job: job, payload: json(["kind": "stalled", "job": job, "quiet_seconds": seconds]))]
        }
        if track.stalled && quietFor < limit {
            track.stalled = false
            return [Insight(text: "Job \(job) is working again.", job: job, payload: json(["kind": "resumed", "job": job]))]
        }
        return []
    }

    /// The queue, said again only when it changed.
    mutating func queue(pending: Int64, running: Int, maxJobs: Int, recent: [Double]) -> Insight? {
        guard pending > 0 || lastQueue != nil else { return nil }
        var text = "Queue: \(pending) pending, \(running) running."
        var estimate: Double?
        if pending > 0, !recent.isEmpty {
            let average = recent.reduce(0, +) / Double(recent.count)
            estimate = (Double(pending) / Double(max(maxJobs, 1))).rounded(.up) * average
            text += " The last pending job should start in about \(Phrase.duration(ms: Int64(estimate! * 1000))),"
                + " from the last \(recent.count) jobs' durations."
        }
        if pending == 0 { text = "Queue: empty, \(running) running." }
        guard text != lastQueue else { return nil }
        lastQueue = pending == 0 ? nil : text
        return Insight(text: text, payload: json(["kind": "queue", "pending": pending, "running": running,
                                                  "estimate_seconds": estimate]))
    }

    // MARK: - Payloads

    private func json(_ fields: [String: Any?]) -> String {
        let object = fields.mapValues { $0 ?? NSNull() }
        let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return data.map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
