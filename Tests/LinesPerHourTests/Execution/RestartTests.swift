import Foundation
import GRDB
import Testing
@testable import LinesPerHour

/// The real `lph serve` binary, killed with SIGKILL mid-job and started again.
@Suite struct RestartTests {
    /// The job's row, or nil while it (or the schema) is not there yet.
    func job(_ db: DatabaseQueue, _ id: Int64) throws -> Row? {
        try? db.read { try Row.fetchOne($0, sql: "SELECT status, failure_reason, agent_pgid FROM jobs WHERE id = ?", arguments: [id]) }
    }

    @Test func aJobInterruptedByKill9FailsAndThePendingOneStillRuns() async throws {
        let scratch = try Scratch()
        let hang = try scratch.script("hang.sh", "echo started; exec sleep 1000")
        let first = try ServeProcess(in: scratch, agent: hang)
        defer { first.kill9() }
        let incoming = scratch.file("Spool/incoming")
        // The daemon makes the spool, then the database: both are there before the test reads either.
        try await eventually("the spool and the database") {
            FileManager.default.fileExists(atPath: incoming) && FileManager.default.fileExists(atPath: scratch.file("lph.sqlite"))
        }
        try #"{"project": "One", "specification": "x"}"#.write(toFile: incoming + "/.1.tmp", atomically: false, encoding: .utf8)
        rename(incoming + "/.1.tmp", incoming + "/one.json")
        try #"{"project": "Two", "specification": "x"}"#.write(toFile: incoming + "/.2.tmp", atomically: false, encoding: .utf8)
        rename(incoming + "/.2.tmp", incoming + "/two.json")

        var configuration = Configuration()
        configuration.readonly = true
        // The daemon may be creating the schema (or turning on WAL) as this opens: wait for its lock, do not fail on it.
        configuration.busyMode = .timeout(10)
        let db = try DatabaseQueue(path: scratch.file("lph.sqlite"), configuration: configuration)
        var agentGroup: Int32 = 0
        try await eventually("job 1 to run its agent and job 2 to wait") {
            guard let one = try job(db, 1), let two = try job(db, 2) else { return false }
            agentGroup = one["agent_pgid"] ?? 0
            return one["status"] == "in_progress" && agentGroup > 0 && two["status"] == "pending"
        }
        first.kill9()
        #expect(kill(agentGroup, 0) == 0, "the orphaned agent is still alive before the restart")
        defer { kill(-agentGroup, SIGKILL) }

        let second = try ServeProcess(in: scratch, agent: "/bin/echo finished")
        defer { second.terminate() }
        try await eventually("job 1 to be failed and job 2 to complete") {
            try job(db, 1)?["status"] == "failed" && job(db, 2)?["status"] == "completed"
        }
        #expect(try job(db, 1)?["failure_reason"] == "interrupted by daemon restart")
        let lastLine = try await db.read { try String.fetchOne($0, sql: "SELECT message FROM log_entries WHERE job_id = 1 ORDER BY id DESC") }
        #expect(lastLine == "interrupted by daemon restart")
        // The previous daemon's agent was recognised as the job's own and killed.
        try await eventually("the orphaned agent to be killed") { kill(agentGroup, 0) != 0 }
    }
}
