/// A job as the API and the command line show it: the `jobs` row with its
/// project's name and its user's email.
public struct Job: Sendable, Codable, Equatable {
    public var id: Int64
    public var project: String
    public var user: String
    public var specification: String
    /// The agent profile the job asked for; nil means the daemon's default.
    public var agent: AgentProfile?
    public var status: JobStatus
    public var currentPhase: Phase
    /// Lines added, as a diff against the project as it was when the job started.
    public var linesWritten: Int64
    /// Lines removed, by the same diff (a changed line is one removed and one added).
    public var linesRemoved: Int64 = 0
    public var tasksDone: Int64
    public var tasksTotal: Int64
    public var exitCode: Int64?
    public var failureReason: String?
    public var createdAt: String
    public var startedAt: String?
    public var finishedAt: String?
    public var updatedAt: String
    /// The job this one retries (`POST /jobs/{id}/retry`, or `--retries` after a transient failure).
    public var retryOf: Int64? = nil
    /// The newest job that retries this one.
    public var retriedBy: Int64? = nil
    /// The agent CLI's session, from its first event (stream-json): what a retry can resume.
    public var sessionId: String? = nil
    /// The session this job resumes instead of starting over.
    public var resumeSessionId: String? = nil
    /// A pending job waits until then (a retry after a transient failure).
    public var runAfter: String? = nil
    /// What the agent CLI said it used, summed over its calls.
    public var usage = AgentUsage()
    /// The node that ran it, when several share a PostgreSQL database (nil on SQLite).
    public var node: String? = nil
    /// The lost node a pending job waits for: its project's folder is there.
    public var waitingFor: String? = nil
}

extension Job {
    enum CodingKeys: String, CodingKey {
        case id, project, user, specification, agent, status, currentPhase, linesWritten, linesRemoved, tasksDone, tasksTotal
        case exitCode, failureReason, createdAt, startedAt, finishedAt, updatedAt
        case retryOf, retriedBy, sessionId, resumeSessionId, runAfter
        case inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens, costUsd
        case node, waitingFor
    }

    /// As synthesized, except that an unread specification (""; a job's is
    /// never empty) is left out: lists and `jobs` stream payloads carry a job's
    /// state, not up to 1 MiB of text that never changes (it is at `GET /jobs/{id}`).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(project, forKey: .project)
        try c.encode(user, forKey: .user)
        if !specification.isEmpty { try c.encode(specification, forKey: .specification) }
        try c.encodeIfPresent(agent, forKey: .agent)
        try c.encode(status, forKey: .status)
        try c.encode(currentPhase, forKey: .currentPhase)
        try c.encode(linesWritten, forKey: .linesWritten)
        try c.encode(linesRemoved, forKey: .linesRemoved)
        try c.encode(tasksDone, forKey: .tasksDone)
        try c.encode(tasksTotal, forKey: .tasksTotal)
        try c.encodeIfPresent(exitCode, forKey: .exitCode)
        try c.encodeIfPresent(failureReason, forKey: .failureReason)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encodeIfPresent(startedAt, forKey: .startedAt)
        try c.encodeIfPresent(finishedAt, forKey: .finishedAt)
        try c.encode(updatedAt, forKey: .updatedAt)
        try c.encodeIfPresent(retryOf, forKey: .retryOf)
        try c.encodeIfPresent(retriedBy, forKey: .retriedBy)
        try c.encodeIfPresent(sessionId, forKey: .sessionId)
        try c.encodeIfPresent(resumeSessionId, forKey: .resumeSessionId)
        try c.encodeIfPresent(runAfter, forKey: .runAfter)
        try c.encode(usage.inputTokens, forKey: .inputTokens)
        try c.encode(usage.outputTokens, forKey: .outputTokens)
        try c.encode(usage.cacheReadTokens, forKey: .cacheReadTokens)
        try c.encode(usage.cacheWriteTokens, forKey: .cacheWriteTokens)
        try c.encode(usage.costUSD, forKey: .costUsd)
        try c.encodeIfPresent(node, forKey: .node)
        try c.encodeIfPresent(waitingFor, forKey: .waitingFor)
    }

    /// As synthesized, except that `specification` may be absent: the `jobs`
    /// stream's payloads leave it out (see ``JobWrites/jobEvent(_:_:_:)``).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(Int64.self, forKey: .id)
        project = try c.decode(String.self, forKey: .project)
        user = try c.decode(String.self, forKey: .user)
        specification = try c.decodeIfPresent(String.self, forKey: .specification) ?? ""
        agent = try c.decodeIfPresent(AgentProfile.self, forKey: .agent)
        status = try c.decode(JobStatus.self, forKey: .status)
        currentPhase = try c.decode(Phase.self, forKey: .currentPhase)
        linesWritten = try c.decode(Int64.self, forKey: .linesWritten)
        linesRemoved = try c.decodeIfPresent(Int64.self, forKey: .linesRemoved) ?? 0
        tasksDone = try c.decode(Int64.self, forKey: .tasksDone)
        tasksTotal = try c.decode(Int64.self, forKey: .tasksTotal)
        exitCode = try c.decodeIfPresent(Int64.self, forKey: .exitCode)
        failureReason = try c.decodeIfPresent(String.self, forKey: .failureReason)
        createdAt = try c.decode(String.self, forKey: .createdAt)
        startedAt = try c.decodeIfPresent(String.self, forKey: .startedAt)
        finishedAt = try c.decodeIfPresent(String.self, forKey: .finishedAt)
        updatedAt = try c.decode(String.self, forKey: .updatedAt)
        retryOf = try c.decodeIfPresent(Int64.self, forKey: .retryOf)
        retriedBy = try c.decodeIfPresent(Int64.self, forKey: .retriedBy)
        sessionId = try c.decodeIfPresent(String.self, forKey: .sessionId)
        resumeSessionId = try c.decodeIfPresent(String.self, forKey: .resumeSessionId)
        runAfter = try c.decodeIfPresent(String.self, forKey: .runAfter)
        usage = AgentUsage(inputTokens: try c.decodeIfPresent(Int64.self, forKey: .inputTokens) ?? 0,
                           outputTokens: try c.decodeIfPresent(Int64.self, forKey: .outputTokens) ?? 0,
                           cacheReadTokens: try c.decodeIfPresent(Int64.self, forKey: .cacheReadTokens) ?? 0,
                           cacheWriteTokens: try c.decodeIfPresent(Int64.self, forKey: .cacheWriteTokens) ?? 0,
                           costUSD: try c.decodeIfPresent(Double.self, forKey: .costUsd) ?? 0)
        node = try c.decodeIfPresent(String.self, forKey: .node)
        waitingFor = try c.decodeIfPresent(String.self, forKey: .waitingFor)
    }
}
