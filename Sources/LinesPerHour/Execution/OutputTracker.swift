import Synchronization

/// Turns a job's output into log rows, phase changes and what the agent CLI
/// says it used, in order, and remembers its last complaint.
final class OutputTracker: Sendable {
    private let job: Int64
    private let classifier: LineClassifier
    private let current = Mutex<Phase>(.idle)
    /// Whether the agent CLI's session was recorded: only its first counts.
    private let sessionRecorded = Mutex(false)
    private let complaints = Mutex<(error: String?, warning: String?)>((nil, nil))
    /// Stops the job when what its agent cost spent its user's budget.
    private let budgetSpent: @Sendable () -> Void

    init(job: Int64, classifier: LineClassifier, budgetSpent: @escaping @Sendable () -> Void) {
        self.job = job
        self.classifier = classifier
        self.budgetSpent = budgetSpent
    }

    /// The agent's last error line, else its last warning (a line on standard
    /// error): what it said of why it failed, known without reading the database.
    var lastComplaint: String? { complaints.withLock { $0.error ?? $0.warning } }

    func record(_ lines: [String], onStderr: Bool, format: OutputFormat, into store: any Store) async {
        let now = Timestamp.now()
        var rows: [LogRow] = []
        rows.reserveCapacity(lines.count)
        var changes: [(after: Int, phase: Phase)] = []
        var session: String?
        var usage = AgentUsage()
        for line in lines {
            let event = format.read(line, onStderr: onStderr) { message, level in
                rows.append(LogRow(jobID: job, message: message, level: level, source: .agent, timestamp: now))
                remember(message, level)
                guard let phase = classifier.phase(in: message), current.withLock({ p in
                    defer { p = phase }
                    return p != phase
                }) else { return }
                changes.append((rows.count, phase))
            }
            session = session ?? event?.sessionID
            if let used = event?.usage { usage += used }
        }
        // Each phase change is committed right after the line that announced it.
        var written = 0
        for change in changes {
            await store.append(Array(rows[written..<change.after]))
            written = change.after
            try? await store.setPhase(job: job, change.phase)
        }
        await store.append(written == 0 ? rows : Array(rows[written...]))
        await recordUsage(session: session, usage: usage, into: store)
    }

    private func remember(_ message: String, _ level: Level) {
        switch level {
        case .error: complaints.withLock { $0.error = message }
        case .warning: complaints.withLock { $0.warning = message }
        default: break
        }
    }

    private func recordUsage(session: String?, usage: AgentUsage, into store: any Store) async {
        let newSession = session.flatMap { id in
            sessionRecorded.withLock { recorded -> String? in
                defer { recorded = true }
                return recorded ? nil : id
            }
        }
        guard newSession != nil || !usage.isZero else { return }
        if (try? await store.recordUsage(job: job, sessionID: newSession, usage: usage)) == true { budgetSpent() }
    }
}
