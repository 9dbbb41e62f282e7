import Synchronization

/// Turns a job's output into log rows and phase changes, in order.
final class PhaseTracker: Sendable {
    private let job: Int64
    private let classifier: LineClassifier
    private let format: OutputFormat
    private let current = Mutex<Phase>(.idle)

    init(job: Int64, classifier: LineClassifier, format: OutputFormat) {
        self.job = job
        self.classifier = classifier
        self.format = format
    }

    func record(_ lines: [String], onStderr: Bool, into store: any Store) async {
        let now = Timestamp.now()
        var rows: [LogRow] = []
        rows.reserveCapacity(lines.count)
        var changes: [(after: Int, phase: Phase)] = []
        for line in lines {
            format.read(line, onStderr: onStderr) { message, level in
                rows.append(LogRow(jobID: job, message: message, level: level, source: .agent, timestamp: now))
                guard let phase = classifier.phase(in: message), current.withLock({ p in
                    defer { p = phase }
                    return p != phase
                }) else { return }
                changes.append((rows.count, phase))
            }
        }
        // Each phase change is committed right after the line that announced it.
        var written = 0
        for change in changes {
            await store.append(Array(rows[written..<change.after]))
            written = change.after
            try? await store.setPhase(job: job, change.phase)
        }
        await store.append(written == 0 ? rows : Array(rows[written...]))
    }
}
