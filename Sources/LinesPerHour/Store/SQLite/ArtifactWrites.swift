import Foundation
import GRDB

/// The `artifacts` table and what hangs on it: a job's task progress and the
/// phases files reveal. (What a job wrote is counted as a diff: ``ChangeWrites``.)
enum ArtifactWrites {
    /// Applies the changes; returns the running jobs whose projects changed.
    /// (A project runs one job at a time, so a change there is that job's.)
    static func apply(_ db: Database, _ changes: [ArtifactChange], running: [String: Int64], adminID: Int64,
                      events: inout [Event]) throws -> Set<Int64> {
        var touched = Set<Int64>()
        var projectIDs: [String: Int64] = [:]
        for change in changes {
            let projectID = try projectIDs[change.project] ?? project(db, change.project, owner: adminID)
            projectIDs[change.project] = projectID
            let job = running[change.project]
            switch change.kind {
            case let .present(facts, evidence):
                try upsert(db, projectID, change.project, change.path, facts, job: job, events: &events)
                if let job { try progress(db, job: job, evidence, events: &events) }
            case .absent:
                try remove(db, projectID, change.project, where: "file_path = ?", [change.path], events: &events)
            case .absentTree where change.path.isEmpty:
                try remove(db, projectID, change.project, where: "1 = 1", [], events: &events)
            case .absentTree:
                try remove(db, projectID, change.project, where: "(file_path = ? OR \(underFolder))",
                           [change.path, change.path + "/", change.path + "/"], events: &events)
            case let .moved(from, facts, evidence):
                try rename(db, projectID, change.project, from: from, to: change.path, events: &events)
                try upsert(db, projectID, change.project, change.path, facts, job: job, events: &events)
                if let job { try progress(db, job: job, evidence, events: &events) }
            case let .movedTree(from):
                try renameTree(db, projectID, change.project, from: from, to: change.path, events: &events)
            case let .workflow(notes):
                if let job { try follow(db, job: job, notes, events: &events) }
            }
            if let job { touched.insert(job) }
        }
        return touched
    }

    // MARK: - Rows

    static func project(_ db: Database, _ name: String, owner: Int64) throws -> Int64 {
        if let id = try Int64.fetchOne(db, sql: "SELECT id FROM projects WHERE name = ?", arguments: [name]) { return id }
        try db.execute(sql: "INSERT INTO projects (name, user_id, created_at) VALUES (?, ?, ?)", arguments: [name, owner, Timestamp.now()])
        return db.lastInsertedRowID
    }

    /// Inserts or updates a row, unless it already says the same.
    private static func upsert(_ db: Database, _ projectID: Int64, _ project: String, _ path: String, _ facts: FileFacts,
                               job: Int64?, events: inout [Event]) throws {
        let existing = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT size_bytes, modified_at, artifact_type, line_count FROM artifacts WHERE project_id = ? AND file_path = ?
            """), arguments: [projectID, path])
        if let existing, existing[0] == facts.size, existing[1] == facts.modifiedAt,
           existing[2] == facts.kind.rawValue, existing[3] == facts.lineCount {
            return
        }
        let id = try Int64.fetchOne(db.cachedStatement(sql: """
            INSERT INTO artifacts (project_id, job_id, file_path, file_name, artifact_type, preview_content, line_count, size_bytes, modified_at, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (project_id, file_path) DO UPDATE SET job_id = excluded.job_id, artifact_type = excluded.artifact_type,
                preview_content = excluded.preview_content, line_count = excluded.line_count, size_bytes = excluded.size_bytes,
                modified_at = excluded.modified_at
            RETURNING id
            """), arguments: [projectID, job, path, String(path.fileName), facts.kind.rawValue, facts.preview,
                              facts.lineCount, facts.size, facts.modifiedAt, Timestamp.now()])!
        let verb = existing == nil ? "indexed" : "changed"
        let payload = "{\"artifact_type\":\"\(facts.kind.rawValue)\",\"file_path\":\(JSONText.quote(path)),\"id\":\(id),"
            + "\"job_id\":\(JSONText.optional(job)),\"line_count\":\(facts.lineCount),\"modified_at\":\"\(facts.modifiedAt)\","
            + "\"project\":\(JSONText.quote(project)),\"size_bytes\":\(facts.size)}"
        events.append(try Journal.record(db, .artifacts, "\(project)/\(path) \(verb) (\(facts.kind.rawValue), \(facts.lineCount) lines)",
                                         job: job, payload: payload, subject: .project(project)))
    }

    /// Deletes rows and journals each.
    private static func remove(_ db: Database, _ projectID: Int64, _ project: String, where condition: String,
                               _ values: [String], events: inout [Event]) throws {
        let arguments = StatementArguments([projectID] as [any DatabaseValueConvertible]) + StatementArguments(values)
        let rows = try Row.fetchAll(db, sql: "SELECT id, file_path, job_id FROM artifacts WHERE project_id = ? AND \(condition)",
                                    arguments: arguments)
        guard !rows.isEmpty else { return }
        try db.execute(sql: "DELETE FROM artifacts WHERE project_id = ? AND \(condition)", arguments: arguments)
        for row in rows {
            let path: String = row["file_path"]
            events.append(try Journal.record(db, .artifacts, "\(project)/\(path) removed",
                                             payload: payload(["id": row["id"] as Int64, "project": project, "file_path": path, "removed": true]),
                                             subject: .project(project)))
        }
    }

    private static func rename(_ db: Database, _ projectID: Int64, _ project: String, from: String, to: String,
                               events: inout [Event]) throws {
        // An editor's save renames its temporary file over the old one: the old row gives way.
        if from != to {
            try db.execute(sql: "DELETE FROM artifacts WHERE project_id = ? AND file_path = ? AND EXISTS (SELECT 1 FROM artifacts WHERE project_id = ? AND file_path = ?)",
                           arguments: [projectID, to, projectID, from])
        }
        try db.execute(sql: "UPDATE artifacts SET file_path = ?, file_name = ? WHERE project_id = ? AND file_path = ?",
                       arguments: [to, String(to.fileName), projectID, from])
        if db.changesCount > 0 {
            events.append(try event(db, projectID, project, to, "\(project)/\(to) moved from \(from)"))
        }
    }

    private static func renameTree(_ db: Database, _ projectID: Int64, _ project: String, from: String, to: String,
                                   events: inout [Event]) throws {
        try db.execute(sql: """
            UPDATE artifacts SET file_path = ? || substr(file_path, length(?) + 1) WHERE project_id = ? AND \(underFolder)
            """, arguments: [to, from, projectID, from + "/", from + "/"])
        if db.changesCount > 0 {
            events.append(try Journal.record(db, .artifacts, "\(project)/\(to)/ moved from \(from)/ (\(db.changesCount) files)",
                                             payload: payload(["project": project, "folder": to, "moved_from": from]), subject: .project(project)))
        }
    }

    // MARK: - Jobs: lines, credits, tasks, phases

    private static func progress(_ db: Database, job: Int64, _ evidence: FileEvidence, events: inout [Event]) throws {
        if let tasks = evidence.tasks {
            try db.execute(sql: "UPDATE jobs SET tasks_done = ?, tasks_total = ? WHERE id = ?", arguments: [tasks.done, tasks.total, job])
        }
        if let phase = evidence.phase {
            try JobWrites.advancePhase(db, job: job, to: phase, events: &events)
        }
    }

    /// A Spec Kit run's steps: a line each in the job's log, and the phases they reach.
    private static func follow(_ db: Database, job: Int64, _ notes: [WorkflowNote], events: inout [Event]) throws {
        for note in notes {
            events.append(try Journal.systemLine(db, job: job, note.line, level: note.level))
            if let phase = note.phase { try JobWrites.advancePhase(db, job: job, to: phase, events: &events) }
        }
    }

    // MARK: - Helpers

    private static func event(_ db: Database, _ projectID: Int64, _ project: String, _ path: String, _ text: String) throws -> Event {
        let row = try Row.fetchOne(db, sql: """
            SELECT id, job_id, artifact_type, line_count, size_bytes, modified_at FROM artifacts WHERE project_id = ? AND file_path = ?
            """, arguments: [projectID, path])
        var fields: [String: Any] = ["project": project, "file_path": path]
        if let row {
            fields["id"] = row["id"] as Int64
            fields["job_id"] = row["job_id"] as Int64? ?? NSNull()
            fields["artifact_type"] = row["artifact_type"] as String
            fields["line_count"] = row["line_count"] as Int64
            fields["size_bytes"] = row["size_bytes"] as Int64
            fields["modified_at"] = row["modified_at"] as String
        }
        return try Journal.record(db, .artifacts, text, job: row?["job_id"], payload: payload(fields), subject: .project(project))
    }

    private static func payload(_ fields: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// A path under the folder bound twice after it (as `folder/`): a comparison of characters, where `LIKE`
    /// would ignore case and need escapes.
    private static let underFolder = "substr(file_path, 1, length(?)) = ?"

    /// The index as stored, for a rescan to reconcile with the disk.
    static func snapshot(_ db: Database) throws -> [String: [String: (size: Int64, modified: String)]] {
        var result: [String: [String: (size: Int64, modified: String)]] = [:]
        let rows = try Row.fetchCursor(db, sql: """
            SELECT projects.name AS project, file_path, size_bytes, modified_at FROM artifacts JOIN projects ON projects.id = artifacts.project_id
            """)
        while let row = try rows.next() {
            result[row["project"], default: [:]][row["file_path"]] = (row["size_bytes"], row["modified_at"])
        }
        return result
    }

    static func adminID(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT id FROM users WHERE role = 'admin' ORDER BY id LIMIT 1") ?? 0
    }
}
