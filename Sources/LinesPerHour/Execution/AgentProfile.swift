import Foundation

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

    /// What the executor runs for a job, in order; the first failing step ends it.
    func launch(_ settings: AgentSettings, project directory: String, specification: String) throws(Rejection) -> AgentLaunch {
        switch self {
        case .command:
            return AgentLaunch(steps: [settings.command], specificationOnStdin: true, format: .plain, environment: [:])
        case .streamJSON:
            return AgentLaunch(steps: [settings.command], specificationOnStdin: true, format: .streamJSON, environment: [:])
        case .speckit:
            return try SpecKit(settings: settings).launch(project: directory, specification: specification)
        }
    }
}

/// The agent settings of `lph serve`.
public struct AgentSettings: Sendable {
    /// The `--agent` command line, already split into words.
    public var command: [String]
    public var profile: AgentProfile = .command
    /// The `specify` command line the speckit profile runs.
    public var specify: [String] = ["specify"]
    /// The Spec Kit integration (`claude`, `codex`, `gemini`, …) a project is set up with.
    public var integration = "claude"
    /// Where the daemon keeps the Spec Kit workflow it runs.
    public var workflowFile: String

    public init(command: [String], workflowFile: String) {
        self.command = command
        self.workflowFile = workflowFile
    }
}

/// One job's agent: the command lines to run in turn, and how to read them.
struct AgentLaunch: Sendable {
    var steps: [[String]]
    /// The specification on standard input; otherwise standard input is
    /// `/dev/null`, so nothing can wait on a terminal that is not there.
    var specificationOnStdin: Bool
    var format: OutputFormat
    var environment: [String: String]
}
