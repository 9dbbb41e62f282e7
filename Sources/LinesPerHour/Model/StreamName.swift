/// The streams of events: the broadcast ones, journaled in `stream_messages`
/// and sent at `/streams/{type}`, and one job's log (`/jobs/{id}/logs/stream`,
/// rows of `log_entries`), whose SSE frames say `event: log`.
public enum StreamName: String, Sendable, Codable, CaseIterable {
    case logs, insights, knowledge, jobs, artifacts
    /// One job's log lines, not a broadcast stream.
    case jobLog = "log"
}
