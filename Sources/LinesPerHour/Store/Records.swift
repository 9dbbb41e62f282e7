import GRDB

/// A job's lifecycle; the `status` column of `jobs`.
public enum JobStatus: String, Sendable, Codable, CaseIterable {
    case pending, inProgress = "in_progress", completed, failed, cancelled

    public var isFinal: Bool { self == .completed || self == .failed || self == .cancelled }
}

/// The workflow phases, in order; the `current_phase` column of `jobs`.
public enum Phase: String, Sendable, Codable, CaseIterable, Comparable {
    case idle, specify, plan, implement, test, review

    public static func < (lhs: Phase, rhs: Phase) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

public enum Role: String, Sendable, Codable {
    case admin, user
}

/// A row of `users`, without its token hash.
public struct User: Sendable, Codable, Equatable, FetchableRecord {
    public var id: Int64
    public var email: String
    public var role: Role
    public var lineCredits: Int64

    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase

    /// Whose rows this user may see, as the store's `userID:` filters take it:
    /// their own id, or nil (everyone's) for an admin.
    public var visibleOwner: Int64? { role == .admin ? nil : id }
}

/// A job as the API and the command line show it: the `jobs` row with its
/// project's name and its user's email.
public struct Job: Sendable, Codable, Equatable, FetchableRecord {
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

    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase

    static let selection = "SELECT jobs.*, projects.name AS project, users.email AS user " + joins

    /// Every column but the specification (which then decodes as ""): a job's
    /// state, read often, without up to 1 MiB of text that never changes.
    static let stateSelection = """
        SELECT jobs.id, jobs.agent, jobs.status, jobs.current_phase, jobs.lines_written, jobs.lines_removed, jobs.tasks_done, jobs.tasks_total,
        jobs.exit_code, jobs.failure_reason, jobs.created_at, jobs.started_at, jobs.finished_at, jobs.updated_at,
        projects.name AS project, users.email AS user
        """ + " " + joins

    private static let joins = "FROM jobs JOIN projects ON projects.id = jobs.project_id JOIN users ON users.id = jobs.user_id"
}

extension Job {
    enum CodingKeys: String, CodingKey {
        case id, project, user, specification, agent, status, currentPhase, linesWritten, linesRemoved, tasksDone, tasksTotal
        case exitCode, failureReason, createdAt, startedAt, finishedAt, updatedAt
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
    }
}

/// A row of `log_entries`.
public struct LogEntry: Sendable, Codable, Equatable, FetchableRecord {
    public var id: Int64
    public var jobId: Int64
    public var message: String
    public var level: Level
    public var source: LineSource
    public var timestamp: String

    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

/// A project as the API shows it.
public struct Project: Sendable, Codable, Equatable, FetchableRecord {
    public var id: Int64
    public var name: String
    public var user: String
    public var createdAt: String
    public var jobs: Int64

    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

/// A row of `artifacts` with its project's name; `previewContent` only when asked for one artifact.
public struct Artifact: Sendable, Codable, Equatable, FetchableRecord {
    public var id: Int64
    public var project: String
    public var jobId: Int64?
    public var filePath: String
    public var fileName: String
    public var artifactType: String
    public var previewContent: String?
    public var lineCount: Int64
    public var sizeBytes: Int64
    public var modifiedAt: String
    public var createdAt: String

    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase

    static let selection = """
        SELECT artifacts.*, projects.name AS project FROM artifacts JOIN projects ON projects.id = artifacts.project_id
        """
    static let listing = """
        SELECT artifacts.id, artifacts.job_id, file_path, file_name, artifact_type, NULL AS preview_content, line_count,
            size_bytes, modified_at, artifacts.created_at, projects.name AS project
        FROM artifacts JOIN projects ON projects.id = artifacts.project_id
        """
}
