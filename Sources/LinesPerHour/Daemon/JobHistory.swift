import Foundation

/// What the reading commands (`lph jobs`, `lph logs`) ask of the daemon's
/// database, whichever engine it is.
public protocol JobHistory: Sendable {
    func job(_ id: Int64) async throws -> Job?
    func jobs(status: JobStatus?, project: String?, userID: Int64?, before: Int64?, limit: Int) async throws -> [Job]
    func logs(job: Int64, after: Int64, limit: Int) async throws -> [LogEntry]
}

extension SQLiteStore: JobHistory {}
extension PostgresStore: JobHistory {}

public enum JobHistories {
    /// The database `lph serve --db` names: an SQLite file that must exist, or a PostgreSQL URL.
    public static func open(_ database: String) async throws -> any JobHistory {
        if PostgresURL.isPostgres(database) {
            let node = PostgresStore.Node(name: ProcessInfo.processInfo.hostName, lease: Settings.defaults.nodeLease, sharedProjects: false)
            return try await PostgresStore.open(url: database, node: node)
        }
        guard FileManager.default.fileExists(atPath: database) else {
            throw DaemonError("no database at \(database): run this where lph serve runs, or pass --db")
        }
        return try SQLiteStore(path: database)
    }
}
