extension AgentProfile {
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

/// One job's agent: the command lines to run in turn, and how to read them.
struct AgentLaunch: Sendable {
    var steps: [[String]]
    /// The specification on standard input; otherwise standard input is
    /// `/dev/null`, so nothing can wait on a terminal that is not there.
    var specificationOnStdin: Bool
    var format: OutputFormat
    var environment: [String: String]
}

extension AgentLaunch {
    /// The same launch continuing an agent CLI's earlier session instead of
    /// starting over: Claude Code's `--resume <session>` after each command,
    /// and `LPH_RESUME_SESSION` for a wrapper that resumes another CLI its own way.
    func resuming(_ session: String) -> AgentLaunch {
        var launch = self
        launch.steps = steps.map { $0 + ["--resume", session] }
        launch.environment["LPH_RESUME_SESSION"] = session
        return launch
    }
}
