/// The broadcast streams of the `stream_messages` journal, plus `log`, the
/// stream of one job's log lines (rows of `log_entries`).
public enum StreamName: String, Sendable, Codable, CaseIterable {
    case logs, insights, knowledge, jobs, artifacts
    case log
}
