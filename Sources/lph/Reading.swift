import ArgumentParser
import Foundation
import LinesPerHour

/// Opens the daemon's database for the reading commands; never creates one.
func openStore(_ path: String) throws -> Store {
    guard FileManager.default.fileExists(atPath: path) else {
        throw Failure("no database at \(path): run this where lph serve runs, or pass --db")
    }
    return try Store(path: path)
}

struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List jobs, newest first.")

    @Option(help: "The SQLite database file.")
    var db = "lph.sqlite"
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
        let jobs = try openStore(db).jobs(status: status, project: project)
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

    @Option(help: "The SQLite database file.")
    var db = "lph.sqlite"
    @Flag(name: .shortAndLong, help: "Follow the log until the job ends.")
    var follow = false
    @Argument(help: "The job id.")
    var job: Int64

    func run() async throws {
        let store = try openStore(db)
        guard try store.job(job) != nil else { throw Failure("no job \(job)") }
        var after: Int64 = 0
        while true {
            let entries = try store.logs(job: job, after: after, limit: 5000)
            for entry in entries {
                say("\(entry.timestamp) \(entry.level.rawValue.uppercased().padding(toLength: 7, withPad: " ", startingAt: 0)) \(TerminalText.escaped(entry.message))")
            }
            after = entries.last?.id ?? after
            if entries.count == 5000 { continue }
            // The job's status changes only after its last line is committed:
            // once it is final, one more read has everything.
            guard follow, let current = try store.job(job), !current.status.isFinal else {
                if follow, try store.logs(job: job, after: after, limit: 1).isEmpty == false { continue }
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}

struct Cancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Cancel a job through the running daemon (its agent's process group is stopped).")

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "The job id.")
    var job: Int64

    func run() async throws {
        _ = try await daemon.expectSuccess("POST", "/jobs/\(job)/cancel")
        print("job \(job): cancel requested")
    }
}

struct DemoAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-agent",
        abstract: "The bundled demonstration agent: walks the five phases and writes a small project. Not an AI.")

    @Option(help: "Seconds per phase (0 runs flat out).")
    var pace = 3.0
    @Option(help: "How many tasks, each one source file and one test.")
    var tasks = 6

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let specification = environment["LPH_SPEC_FILE"].flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }
            ?? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        let project = environment["LPH_PROJECT"] ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath).lastPathComponent
        try DemoAgent(secondsPerPhase: pace, tasks: tasks, project: project, specification: specification).run()
    }
}
