import Foundation
import GRDB
import Logging
import Synchronization
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import LinesPerHour

/// A real daemon in this process, on a scratch folder, an ephemeral port and
/// a real SQLite file.
final class TestDaemon: Sendable {
    let scratch: Scratch
    let daemon: Daemon
    private let task: Task<Void, any Error>
    private let portBox = PortBox()
    /// The daemon's SQLite file, opened read-only: what a test checks in the tables themselves.
    let database: DatabasePool

    var store: any Store { daemon.store }
    var spool: Spool { daemon.spool }
    var port: Int { portBox.value.withLock { $0 } }

    init(scratch: Scratch? = nil, agent: [String], configure: (inout Settings) -> Void = { _ in }) async throws {
        let scratch = try scratch ?? Scratch()
        self.scratch = scratch
        var settings = Settings(agent: agent)
        settings.spool = scratch.file("Spool")
        settings.projects = scratch.file("generated_projects")
        settings.database = scratch.file("lph.sqlite")
        settings.stateDirectory = scratch.file(".lph")
        settings.port = 0
        settings.stopGrace = .seconds(2)
        configure(&settings)
        var logger = Logger(label: "lph-test")
        logger.logLevel = .warning
        let daemon = try await Daemon(settings: settings, logger: logger)
        self.daemon = daemon
        let portBox = self.portBox
        task = Task { try await daemon.run { port in portBox.value.withLock { $0 = port } } }
        try await eventually("the HTTP server to listen") { portBox.value.withLock { $0 } != 0 }
        var readOnly = Configuration()
        readOnly.readonly = true
        database = try DatabasePool(path: settings.database, configuration: readOnly)
    }

    func stop() async throws {
        await daemon.shutdown()
        try await task.value
    }

    // MARK: - Helpers

    /// Drops a job file the careful way: written under a dot name, then renamed.
    @discardableResult
    func drop(_ name: String, _ content: String) throws -> String {
        let temporary = spool.incoming + "/." + UUID().uuidString + ".tmp"
        writeFile(temporary, content)
        guard rename(temporary, spool.incoming + "/" + name) == 0 else { throw CocoaError(.fileWriteUnknown) }
        return name
    }

    func job(_ id: Int64) async throws -> Job? { try await store.job(id) }

    /// `/metrics` as text. The registry is the test process's: other tests' daemons count in it too.
    func metrics() async throws -> String {
        String(decoding: try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!).0, as: UTF8.self)
    }

    /// Waits until the job reaches a final status, and returns it.
    @discardableResult
    func finished(_ id: Int64, timeout: Duration = .seconds(60)) async throws -> Job {
        try await eventually("job \(id) to end", timeout: timeout) { try await job(id)?.status.isFinal == true }
        return try await job(id)!
    }

    /// The job created from the spool file `name`, once it is there.
    func jobID(forSpoolFile name: String) async throws -> Int64 {
        var id: Int64?
        try await eventually("a job for \(name)") {
            id = try database.read { db in
                try Int64.fetchOne(db, sql: "SELECT id FROM jobs WHERE spool_name = ? ORDER BY id DESC", arguments: [name])
            }
            return id != nil
        }
        return id!
    }

    func agentLines(_ id: Int64) async throws -> [LogEntry] {
        try await store.logs(job: id, limit: 1_000_000).filter { $0.source == .agent }
    }

    func rejectionReason(_ name: String) -> String? {
        try? String(contentsOfFile: spool.rejected + "/" + name + ".error", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func waitForRejection(_ name: String) async throws -> String {
        try await eventually("\(name) to be rejected") {
            FileManager.default.fileExists(atPath: spool.rejected + "/" + name)
                && rejectionReason(name) != nil
        }
        return rejectionReason(name)!
    }
}


final class PortBox: Sendable {
    let value = Mutex(0)
}
