/// The agent settings of `lph serve`.
struct AgentSettings: Sendable {
    /// The `--agent` command line, already split into words.
    var command: [String]
    var profile: AgentProfile = .command
    /// The `specify` command line the speckit profile runs.
    var specify: [String] = ["specify"]
    /// The Spec Kit integration (`claude`, `codex`, `gemini`, …) a project is set up with.
    var integration = "claude"
    /// Where the daemon keeps the Spec Kit workflow it runs.
    var workflowFile: String

    init(command: [String], workflowFile: String) {
        self.command = command
        self.workflowFile = workflowFile
    }
}
