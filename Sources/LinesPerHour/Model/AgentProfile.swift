/// How a job's agent is run and how its output is read: chosen per job
/// (`agent:` in the job file) or for the daemon (`--agent-profile`).
public enum AgentProfile: String, Sendable, CaseIterable, Codable {
    /// The `--agent` command line; its lines are logged as they are.
    case command
    /// GitHub Spec Kit: `specify init` once per project, then its
    /// specify → plan → tasks → implement workflow, unattended.
    case speckit
    /// The `--agent` command line, an agent CLI printing one JSON event a line.
    case streamJSON = "stream-json"

    public static let names = allCases.map(\.rawValue).joined(separator: ", ")
}
