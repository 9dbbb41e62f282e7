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
