import Foundation
import GRDB

/// The curator's writes.
enum KnowledgeWrites {
    /// Sets a fact; true when its value changed (or it is new).
    static func set(_ db: Database, subject: String, key: String, value: String) throws -> Bool {
        let old = try String.fetchOne(db, sql: "SELECT value FROM knowledge WHERE subject = ? AND key = ?", arguments: [subject, key])
        guard old != value else { return false }
        try db.execute(sql: """
            INSERT INTO knowledge (subject, key, value, updated_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (subject, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
            """, arguments: [subject, key, value, Timestamp.now()])
        return true
    }

    /// The `knowledge` stream's row for a fact that changed.
    static func event(_ db: Database, subject: String, key: String, value: String, job: Int64?) throws -> Event {
        let payload = try JSONSerialization.data(withJSONObject: ["subject": subject, "key": key, "value": value],
                                                 options: [.sortedKeys, .withoutEscapingSlashes])
        return try Journal.record(db, .knowledge, "\(subject): \(key.replacingOccurrences(of: "_", with: " ")) — \(value)",
                                  source: "curator", job: job, payload: String(decoding: payload, as: UTF8.self))
    }
}
