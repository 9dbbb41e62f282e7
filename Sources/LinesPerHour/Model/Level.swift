/// How loud a line or an event is; the `level` column of `log_entries` and `stream_messages`.
public enum Level: String, Sendable, Codable, CaseIterable {
    case info, warning, error, debug
}
