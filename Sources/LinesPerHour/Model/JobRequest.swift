import Foundation

/// What a job file asks for, once parsed and checked.
public struct JobRequest: Sendable, Equatable {
    public var project: String
    public var specification: String
    /// The user's email; nil means the daemon's default user.
    public var user: String?
    /// How the agent runs; nil means the daemon's `--agent-profile`.
    public var agent: AgentProfile?
    /// An API client's `Idempotency-Key`: the same key makes one job, however often it is sent.
    public var idempotencyKey: String?
    /// The job this request retries, the agent session it resumes, and when it may start: a retry's.
    var retryOf: Int64?
    var resumeSessionId: String?
    var runAfter: String?

    public init(project: String, specification: String, user: String? = nil, agent: AgentProfile? = nil, idempotencyKey: String? = nil) {
        self.project = project
        self.specification = specification
        self.user = user
        self.agent = agent
        self.idempotencyKey = idempotencyKey
    }

    /// A new request for what `job` asked, linked to it.
    init(retrying job: Job, resuming session: String? = nil, after runAfter: String? = nil) {
        self.init(project: job.project, specification: job.specification, user: job.user, agent: job.agent)
        retryOf = job.id
        resumeSessionId = session
        self.runAfter = runAfter
    }

    /// The request as a `.json` job file says it.
    public var jobFile: Data {
        var fields = ["project": project, "specification": specification]
        fields["user"] = user
        fields["agent"] = agent?.rawValue
        return (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    }
}
