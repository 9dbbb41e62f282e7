import ArgumentParser
import Foundation
import LinesPerHour

struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List jobs, newest first.")

    @Option(help: "The SQLite database file, or the postgres:// URL lph serve was given.")
    var db = defaults.database
    @Option(help: "Only jobs with this status (pending, in_progress, completed, failed, cancelled).")
    var status: String?
    @Option(help: "Only jobs of this project.")
    var project: String?
    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() async throws {
        let status = try self.status.map { raw in
            guard let s = JobStatus(rawValue: raw) else { throw ValidationError("unknown status \(raw)") }
            return s
        }
        let jobs = try await JobHistories.open(db).jobs(status: status, project: project, userID: nil, before: nil, limit: 500)
        if json {
            print(String(decoding: try JSONCoding.encoder.encode(jobs), as: UTF8.self))
            return
        }
        print(pad("ID", 6) + pad("STATUS", 13) + pad("PHASE", 11) + pad("LINES", 8) + pad("PROJECT", 24) + "REASON")
        for job in jobs {
            print(pad(String(job.id), 6) + pad(job.status.rawValue, 13) + pad(job.currentPhase.rawValue, 11)
                  + pad(String(job.linesWritten), 8) + pad(job.project, 24) + TerminalText.escaped(job.failureReason ?? ""))
        }
    }

    private func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }
}

struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a job's log; with -f, follow it until the job ends.")

    @Option(help: "The SQLite database file, or the postgres:// URL lph serve was given.")
    var db = defaults.database
    @Flag(name: .shortAndLong, help: "Follow the log until the job ends.")
    var follow = false
    @Argument(help: "The job id.")
    var job: Int64

    func run() async throws {
        let store = try await JobHistories.open(db)
        guard try await store.job(job) != nil else { throw Failure("no job \(job)") }
        var after: Int64 = 0
        while true {
            let entries = try await store.logs(job: job, after: after, limit: 5000)
            for entry in entries {
                say("\(entry.timestamp) \(entry.level.rawValue.uppercased().padding(toLength: 7, withPad: " ", startingAt: 0)) \(TerminalText.escaped(entry.message))")
            }
            after = entries.last?.id ?? after
            if entries.count == 5000 { continue }
            // The job's status changes only after its last line is committed:
            // once it is final, one more read has everything.
            guard follow, let current = try await store.job(job), !current.status.isFinal else {
                if follow, try await store.logs(job: job, after: after, limit: 1).isEmpty == false { continue }
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}
