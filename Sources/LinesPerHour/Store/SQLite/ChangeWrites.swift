import GRDB

/// A job's changes to its project (`job_changes`), its `lines_written` and
/// `lines_removed`, and the line credits they cost its user (``CreditWrites``).
enum ChangeWrites {
    /// Records the snapshot a job's changes are measured against.
    static func begin(_ db: Database, job: Int64, tree: String) throws {
        try db.execute(sql: "UPDATE jobs SET start_tree = ?, end_tree = ? WHERE id = ?", arguments: [tree, tree, job])
    }

    /// Replaces the job's changes with a newer measurement and charges its
    /// user the lines added since the last one (or gives back what is no
    /// longer there). Returns true when the user ran out of credits.
    ///
    /// Only the files whose change differs from the one stored are written:
    /// a job that made 50,000 files is measured every half second, and
    /// rewriting every row each time held the one writer (and every job's
    /// claim and start behind it) for a second at a time.
    static func record(_ db: Database, job: Int64, tree: String, _ changes: [FileChange], events: inout [Event]) throws -> Bool {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT jobs.lines_written, jobs.lines_removed, jobs.user_id, users.line_credits
            FROM jobs JOIN users ON users.id = jobs.user_id WHERE jobs.id = ?
            """, arguments: [job]) else { return false }
        var stored = Dictionary(try Self.changes(db, job: job).map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        let upsert = try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO job_changes (job_id, file_path, old_path, lines_added, lines_removed, change, binary) VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
        for change in changes where stored.removeValue(forKey: change.path) != change {
            try upsert.execute(arguments: [job, change.path, change.oldPath, change.linesAdded, change.linesRemoved,
                                           change.kind.rawValue, change.binary])
        }
        let delete = try db.cachedStatement(sql: "DELETE FROM job_changes WHERE job_id = ? AND file_path = ?")
        for path in stored.keys {
            try delete.execute(arguments: [job, path])
        }
        let added = changes.reduce(0) { $0 + $1.linesAdded }
        let removed = changes.reduce(0) { $0 + $1.linesRemoved }
        try db.execute(sql: "UPDATE jobs SET lines_written = ?, lines_removed = ?, end_tree = ?, updated_at = ? WHERE id = ?",
                       arguments: [added, removed, tree, Timestamp.now(), job])
        let delta = added - (row["lines_written"] as Int64)
        let exhausted = try CreditWrites.charge(db, user: row["user_id"], had: row["line_credits"], linesAdded: delta)
        if delta != 0 || removed != row["lines_removed"] as Int64, let progress = try JobWrites.progressEvent(db, job) {
            events.append(progress)
        }
        return exhausted
    }

    /// The job's changes, file by file.
    static func changes(_ db: Database, job: Int64) throws -> [FileChange] {
        try Row.fetchAll(db, sql: """
            SELECT file_path, old_path, lines_added, lines_removed, change, binary FROM job_changes WHERE job_id = ? ORDER BY file_path
            """, arguments: [job]).map { row in
            FileChange(path: row["file_path"], oldPath: row["old_path"], kind: FileChange.Kind(rawValue: row["change"]) ?? .modified,
                       linesAdded: row["lines_added"], linesRemoved: row["lines_removed"], binary: row["binary"])
        }
    }
}
