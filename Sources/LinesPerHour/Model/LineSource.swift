/// Who produced a job log line; the `source` column of `log_entries`.
public enum LineSource: String, Sendable, Codable {
    case system, agent, user
}
