/// A row of `log_entries`.
public struct LogEntry: Sendable, Codable, Equatable {
    public var id: Int64
    public var jobId: Int64
    public var message: String
    public var level: Level
    public var source: LineSource
    public var timestamp: String
}
