/// One line of a job's log, before it has a row id.
struct LogRow: Sendable {
    var jobID: Int64
    var message: String
    var level: Level
    var source: LineSource
    var timestamp: String

    /// A NUL in the message is stored as U+2400 (␀): SQLite's text reads stop at a NUL and PostgreSQL's
    /// text refuses one, so the one place every line passes through keeps stored, replayed and live text equal.
    init(jobID: Int64, message: String, level: Level, source: LineSource, timestamp: String = Timestamp.now()) {
        self.jobID = jobID
        self.message = message.utf8.contains(0) ? message.replacing("\0", with: "\u{2400}") : message
        self.level = level
        self.source = source
        self.timestamp = timestamp
    }
}
