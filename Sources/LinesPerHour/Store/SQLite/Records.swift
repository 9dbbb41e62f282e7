import GRDB

// The model's records as SQLite rows: columns in snake_case, and the SELECTs
// that make a row of each (a job with its project's name and its user's email).

extension User: FetchableRecord {
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

extension Job: FetchableRecord {
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase

    static let selection = "SELECT jobs.*, projects.name AS project, users.email AS user, " + retriedBy + " " + joins

    /// Every column but the specification (which then decodes as ""): a job's
    /// state, read often, without up to 1 MiB of text that never changes.
    static let stateSelection = """
        SELECT jobs.id, jobs.agent, jobs.status, jobs.current_phase, jobs.lines_written, jobs.lines_removed, jobs.tasks_done, jobs.tasks_total,
        jobs.exit_code, jobs.failure_reason, jobs.created_at, jobs.started_at, jobs.finished_at, jobs.updated_at,
        jobs.retry_of, jobs.session_id, jobs.resume_session_id, jobs.run_after,
        jobs.input_tokens, jobs.output_tokens, jobs.cache_read_tokens, jobs.cache_write_tokens, jobs.cost_usd,
        projects.name AS project, users.email AS user,
        """ + " " + retriedBy + " " + joins

    private static let retriedBy = "(SELECT max(retry.id) FROM jobs AS retry WHERE retry.retry_of = jobs.id) AS retried_by"

    private static let joins = "FROM jobs JOIN projects ON projects.id = jobs.project_id JOIN users ON users.id = jobs.user_id"
}

extension LogEntry: FetchableRecord {
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

extension Project: FetchableRecord {
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

extension WebhookDelivery: FetchableRecord {
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

extension Fact: FetchableRecord {
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

extension Artifact: FetchableRecord {
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

extension IndexedFile: FetchableRecord {
    init(row: Row) throws {
        self.init(path: row["file_path"], type: row["artifact_type"], lines: row["line_count"])
    }
}

extension Event {
    init(journalRow row: Row) {
        self.init(id: row["id"], stream: StreamName(rawValue: row["stream_type"]) ?? .logs, jobID: row["job_id"],
                  level: Level(rawValue: row["level"]) ?? .info, text: row["message_text"], timestamp: row["created_at"],
                  source: row["source"], payload: row["payload"], userID: row["user_id"])
    }
}
