import Foundation
import PostgresNIO

/// The `artifacts` table on PostgreSQL and what hangs on it (``ArtifactWrites`` is SQLite's).
enum PostgresArtifactWrites {
    /// Applies the changes; returns the running jobs whose projects changed.
    static func apply(_ session: PostgresSession, _ changes: [ArtifactChange], running: [String: Int64], events: inout [Event]) async throws
        -> Set<Int64> {
        var touched = Set<Int64>()
        var projectIDs: [String: Int64] = [:]
        for change in changes {
            let projectID: Int64
            if let known = projectIDs[change.project] { projectID = known } else { projectID = try await project(session, change.project) }
            projectIDs[change.project] = projectID
            let job = running[change.project]
            let place = Place(id: projectID, name: change.project)
            switch change.kind {
            case let .present(facts, evidence):
                try await upsert(session, place, change.path, facts, job: job, events: &events)
                if let job { try await progress(session, job: job, evidence, events: &events) }
            case .absent:
                try await remove(session, place, "SELECT id FROM artifacts WHERE project_id = $1 AND file_path = $2",
                                 [change.path], events: &events)
            case .absentTree where change.path.isEmpty:
                try await remove(session, place, "SELECT id FROM artifacts WHERE project_id = $1", [], events: &events)
            case .absentTree:
                try await remove(session, place, """
                    SELECT id FROM artifacts WHERE project_id = $1 AND (file_path = $2 OR starts_with(file_path, $3))
                    """, [change.path, change.path + "/"], events: &events)
            case let .moved(from, facts, evidence):
                try await rename(session, place, from: from, to: change.path, events: &events)
                try await upsert(session, place, change.path, facts, job: job, events: &events)
                if let job { try await progress(session, job: job, evidence, events: &events) }
            case let .movedTree(from):
                try await renameTree(session, place, from: from, to: change.path, events: &events)
            case let .workflow(notes):
                if let job { try await follow(session, job: job, notes, events: &events) }
            }
            if let job { touched.insert(job) }
        }
        return touched
    }

    private struct Place {
        var id: Int64
        var name: String
    }

    /// The project's id, made (owned by the first admin) if the index finds a folder no job made.
    private static func project(_ session: PostgresSession, _ name: String) async throws -> Int64 {
        if let id = try await session.value("SELECT id FROM projects WHERE name = \(name)", as: Int64.self) { return id }
        return try await session.value("""
            INSERT INTO projects (name, user_id, created_at)
            VALUES (\(name), (SELECT id FROM users WHERE role = 'admin' ORDER BY id LIMIT 1), \(Timestamp.now())) RETURNING id
            """, as: Int64.self) ?? 0
    }

    private static func upsert(_ session: PostgresSession, _ place: Place, _ path: String, _ facts: FileFacts, job: Int64?,
                               events: inout [Event]) async throws {
        let existing = try await session.rows("""
            SELECT size_bytes, modified_at, artifact_type, line_count FROM artifacts WHERE project_id = \(place.id) AND file_path = \(path)
            """).first.map { try $0.decode((Int64, String, String, Int64).self) }
        if let existing, existing.0 == facts.size, existing.1 == facts.modifiedAt, existing.2 == facts.kind.rawValue,
           existing.3 == facts.lineCount {
            return
        }
        let id = try await session.value("""
            INSERT INTO artifacts (project_id, job_id, file_path, file_name, artifact_type, preview_content, line_count, size_bytes, modified_at, created_at)
            VALUES (\(place.id), \(job), \(path), \(String(path.fileName)), \(facts.kind.rawValue), \(facts.preview),
                    \(facts.lineCount), \(facts.size), \(facts.modifiedAt), \(Timestamp.now()))
            ON CONFLICT (project_id, file_path) DO UPDATE SET job_id = excluded.job_id, artifact_type = excluded.artifact_type,
                preview_content = excluded.preview_content, line_count = excluded.line_count, size_bytes = excluded.size_bytes,
                modified_at = excluded.modified_at
            RETURNING id
            """, as: Int64.self) ?? 0
        let verb = existing == nil ? "indexed" : "changed"
        let payload = "{\"artifact_type\":\"\(facts.kind.rawValue)\",\"file_path\":\(JSONText.quote(path)),\"id\":\(id),"
            + "\"job_id\":\(JSONText.optional(job)),\"line_count\":\(facts.lineCount),\"modified_at\":\"\(facts.modifiedAt)\","
            + "\"project\":\(JSONText.quote(place.name)),\"size_bytes\":\(facts.size)}"
        events.append(try await PostgresJournal.record(session, .artifacts,
                                                       "\(place.name)/\(path) \(verb) (\(facts.kind.rawValue), \(facts.lineCount) lines)",
                                                       job: job, payload: payload, subject: .project(place.name)))
    }

    /// Deletes the rows whose ids `select` (with the project as `$1`) finds, and journals each.
    private static func remove(_ session: PostgresSession, _ place: Place, _ select: String, _ values: [String],
                               events: inout [Event]) async throws {
        var binds = PostgresBindings()
        binds.append(place.id)
        for value in values { binds.append(value) }
        let rows = try await session.rows(PostgresQuery(unsafeSQL: "DELETE FROM artifacts WHERE id IN (\(select)) RETURNING id, file_path",
                                                        binds: binds)).map { try $0.decode((Int64, String).self) }
        for (id, path) in rows.sorted(by: { $0.0 < $1.0 }) {
            events.append(try await PostgresJournal.record(session, .artifacts, "\(place.name)/\(path) removed",
                                                           payload: payload(["id": id, "project": place.name, "file_path": path, "removed": true]),
                                                           subject: .project(place.name)))
        }
    }

    private static func rename(_ session: PostgresSession, _ place: Place, from: String, to: String, events: inout [Event]) async throws {
        if from != to {
            try await session.rows("""
                DELETE FROM artifacts WHERE project_id = \(place.id) AND file_path = \(to)
                AND EXISTS (SELECT 1 FROM artifacts WHERE project_id = \(place.id) AND file_path = \(from))
                """)
        }
        let moved = try await session.rows("""
            UPDATE artifacts SET file_path = \(to), file_name = \(String(to.fileName))
            WHERE project_id = \(place.id) AND file_path = \(from)
            RETURNING id, job_id, artifact_type, line_count, size_bytes, modified_at
            """)
        guard let row = moved.first else { return }
        let (id, job, type, lines, size, modified) = try row.decode((Int64, Int64?, String, Int64, Int64, String).self)
        let fields: [String: Any] = ["project": place.name, "file_path": to, "id": id, "job_id": job ?? NSNull(), "artifact_type": type,
                                     "line_count": lines, "size_bytes": size, "modified_at": modified]
        events.append(try await PostgresJournal.record(session, .artifacts, "\(place.name)/\(to) moved from \(from)", job: job,
                                                       payload: payload(fields), subject: .project(place.name)))
    }

    private static func renameTree(_ session: PostgresSession, _ place: Place, from: String, to: String, events: inout [Event]) async throws {
        let count = try await session.rows("""
            UPDATE artifacts SET file_path = \(to) || substr(file_path, \(Int32(from.unicodeScalars.count + 1)))
            WHERE project_id = \(place.id) AND starts_with(file_path, \(from + "/")) RETURNING id
            """).count
        guard count > 0 else { return }
        events.append(try await PostgresJournal.record(session, .artifacts, "\(place.name)/\(to)/ moved from \(from)/ (\(count) files)",
                                                       payload: payload(["project": place.name, "folder": to, "moved_from": from]),
                                                       subject: .project(place.name)))
    }

    private static func progress(_ session: PostgresSession, job: Int64, _ evidence: FileEvidence, events: inout [Event]) async throws {
        if let tasks = evidence.tasks {
            try await session.rows("UPDATE jobs SET tasks_done = \(Int64(tasks.done)), tasks_total = \(Int64(tasks.total)) WHERE id = \(job)")
        }
        if let phase = evidence.phase {
            try await PostgresJobWrites.advancePhase(session, job: job, to: phase, events: &events)
        }
    }

    private static func follow(_ session: PostgresSession, job: Int64, _ notes: [WorkflowNote], events: inout [Event]) async throws {
        for note in notes {
            events.append(try await PostgresJournal.systemLine(session, job: job, note.line, level: note.level))
            if let phase = note.phase { try await PostgresJobWrites.advancePhase(session, job: job, to: phase, events: &events) }
        }
    }

    private static func payload(_ fields: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
