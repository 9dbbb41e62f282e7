import Foundation
import GRDB
import Testing
@testable import LinesPerHour

/// What a job wrote is a diff against the project as it was when the job
/// started, checked here with the real `git`.
@Suite struct JobChangesTests {
    /// An agent that does what its specification names, in the project's folder.
    static let agent = """
        case "$(cat)" in
        write) seq 1 1000 > big.txt ;;
        edit) sed -i 's/^500$/five hundred/' big.txt ;;
        rename) mv big.txt huge.txt ;;
        delete) rm huge.txt ;;
        rewrite) rm huge.txt 2>/dev/null; seq 1 10 > same.txt ;;
        same) rm same.txt; seq 1 10 > same.txt ;;
        deps) mkdir -p node_modules/pkg build gen; seq 1 50 > node_modules/pkg/index.js; seq 1 40 > build/out.js
              printf 'gen/\\n' > .gitignore; seq 1 30 > gen/made.txt; head -c 2000 /dev/urandom > blob.bin; echo kept > kept.txt ;;
        commit) git init -q && git add -A && git -c user.name=a -c user.email=a@b commit -qm agent && git checkout -qb feature
                echo more >> kept.txt && git -c user.name=a -c user.email=a@b commit -qam more ;;
        esac
        """

    func run(_ d: TestDaemon, _ project: String, _ what: String) async throws -> Job {
        let name = "\(project)-\(what)-\(UUID().uuidString.prefix(8)).json"
        try d.drop(name, #"{"project": "\#(project)", "specification": "\#(what)"}"#)
        let job = try await d.finished(try await d.jobID(forSpoolFile: name))
        #expect(job.status == .completed, "\(what): \(job.failureReason ?? "")")
        return job
    }

    func changes(_ d: TestDaemon, _ job: Job) async throws -> [String: FileChange] {
        Dictionary(uniqueKeysWithValues: try await d.store.changes(job: job.id).map { ($0.path, $0) })
    }

    func git(_ arguments: [String], in directory: String) async throws -> (Int32, String) {
        try await offThePool {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, text)
        }
    }

    @Test func linesWrittenAreADiffAgainstTheProjectAtTheJobsStart() async throws {
        let scratch = try Scratch()
        // What a crash left of a shadow repository being made: removed at start, never opened.
        let unfinished = scratch.file(".lph/shadow/Diffs.git.new-Ab12Cd")
        try FileManager.default.createDirectory(atPath: unfinished + "/objects", withIntermediateDirectories: true)
        let d = try await TestDaemon(scratch: scratch, agent: ["/bin/sh", "-c", Self.agent])
        let write = try await run(d, "Diffs", "write")
        #expect(write.linesWritten == 1000 && write.linesRemoved == 0)
        #expect(!FileManager.default.fileExists(atPath: unfinished))
        #expect(FileManager.default.fileExists(atPath: scratch.file(".lph/shadow/Diffs.git/HEAD")))

        let edit = try await run(d, "Diffs", "edit")
        #expect(edit.linesWritten == 1 && edit.linesRemoved == 1, "one line of a 1,000-line file edited")
        #expect(try await changes(d, edit)["big.txt"]?.kind == .modified)

        // The diff applies with the real git on the job's starting files and gives its ending ones.
        let patch = try await RawHTTP.send(port: d.port, "GET /jobs/\(edit.id)/diff HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(d.daemon.newAdminToken!)\r\nConnection: close\r\n\r\n")
        #expect(patch.status == 200 && patch.body.contains("-500\n+five hundred"))
        let copy = scratch.file("copy")
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        try (1...1000).map(String.init).joined(separator: "\n").appending("\n").write(toFile: copy + "/big.txt", atomically: false, encoding: .utf8)
        try patch.body.write(toFile: scratch.file("edit.patch"), atomically: false, encoding: .utf8)
        #expect(try await git(["apply", scratch.file("edit.patch")], in: copy).0 == 0)
        #expect(FileManager.default.contents(atPath: copy + "/big.txt") == FileManager.default.contents(atPath: scratch.file("generated_projects/Diffs/big.txt")))

        let rename = try await run(d, "Diffs", "rename")
        #expect(rename.linesWritten == 0, "a rename adds nothing")
        let renamed = try await changes(d, rename)["huge.txt"]
        #expect(renamed?.kind == .renamed && renamed?.oldPath == "big.txt")
        let delete = try await run(d, "Diffs", "delete")
        #expect(delete.linesWritten == 0 && delete.linesRemoved == 1000, "a deleted file's lines are removed")
        _ = try await run(d, "Diffs", "rewrite")
        let same = try await run(d, "Diffs", "same")
        let unchanged = try await d.store.changes(job: same.id)
        #expect(same.linesWritten == 0 && same.linesRemoved == 0 && unchanged.isEmpty, "a file deleted and written back unchanged")
        try await d.stop()
    }

    @Test func ignoredTreesBinariesAndTheProjectsOwnGitAreNotCounted() async throws {
        let scratch = try Scratch()
        let d = try await TestDaemon(scratch: scratch, agent: ["/bin/sh", "-c", Self.agent])
        let deps = try await run(d, "Deps", "deps")
        let counted = try await changes(d, deps)
        #expect(Set(counted.keys) == [".gitignore", "blob.bin", "kept.txt"], "\(counted.keys.sorted())")
        #expect(counted["blob.bin"]?.binary == true && counted["blob.bin"]?.linesAdded == 0)
        #expect(deps.linesWritten == 2, ".gitignore's line and kept.txt's")
        // Nor indexed file by file, nor watched.
        let artifacts = try await d.store.artifacts(type: nil, project: "Deps", job: nil, userID: nil).map(\.filePath)
        #expect(!artifacts.contains { ($0.hasPrefix("node_modules/") || $0.hasPrefix("build/") || $0.hasPrefix("gen/")) && !$0.hasSuffix("/") },
                "\(artifacts)")
        #expect(artifacts.contains("kept.txt"))
        // Each ignored folder is one entry, so nothing is hidden in silence.
        let ignored = try await d.store.artifacts(type: .ignored, project: "Deps", job: nil, userID: nil)
        #expect(Set(ignored.map(\.filePath)) == ["node_modules/", "build/", "gen/"], "\(ignored.map(\.filePath))")
        #expect(ignored.first { $0.filePath == "node_modules/" }?.sizeBytes == 1, "its one file")
        let watched = Self.watchedInodes()
        for folder in ["node_modules", "node_modules/pkg", "build", "gen"] {
            var st = stat()
            #expect(stat(scratch.file("generated_projects/Deps/" + folder), &st) == 0)
            #expect(!watched.contains(UInt64(st.st_ino)), "\(folder) is watched")
        }
        var top = stat()
        #expect(stat(scratch.file("generated_projects/Deps"), &top) == 0 && watched.contains(UInt64(top.st_ino)))

        // An agent that commits and branches in the project's own .git: it keeps working, and is not counted.
        let commit = try await run(d, "Deps", "commit")
        #expect(try await changes(d, commit).keys.sorted() == ["kept.txt"])
        let project = scratch.file("generated_projects/Deps")
        let log = try await git(["log", "--oneline", "--all"], in: project)
        #expect(log.0 == 0 && log.1.split(separator: "\n").count == 2)
        #expect(try await git(["status", "--porcelain"], in: project).1.contains("node_modules") == false)
        try await d.stop()
    }

    /// The inodes this process's inotify instance watches, as the kernel lists them.
    static func watchedInodes() -> Set<UInt64> {
        var inodes = Set<UInt64>()
        for fd in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            guard (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + fd)) == "anon_inode:inotify",
                  let info = try? String(contentsOfFile: "/proc/self/fdinfo/" + fd, encoding: .utf8) else { continue }
            for line in info.split(separator: "\n") where line.hasPrefix("inotify wd:") {
                if let field = line.split(separator: " ").first(where: { $0.hasPrefix("ino:") }), let inode = UInt64(field.dropFirst(4), radix: 16) {
                    inodes.insert(inode)
                }
            }
        }
        return inodes
    }

    @Test func aJobIsRevertedUnlessALaterJobChangedTheSameFiles() async throws {
        let scratch = try Scratch()
        let d = try await TestDaemon(scratch: scratch, agent: ["/bin/sh", "-c", Self.agent])
        let admin = d.daemon.newAdminToken!
        func post(_ path: String, token: String) async throws -> RawHTTP {
            try await RawHTTP.send(port: d.port, "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        }
        let write = try await run(d, "Revert", "write")
        let edit = try await run(d, "Revert", "edit")
        let refused = try await post("/jobs/\(write.id)/revert", token: admin)
        #expect(refused.status == 409 && refused.body.contains("big.txt (job \(edit.id))"))
        let file = scratch.file("generated_projects/Revert/big.txt")
        #expect(try String(contentsOfFile: file, encoding: .utf8).contains("five hundred"))
        #expect(try await post("/jobs/\(edit.id)/revert", token: admin).status == 200)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == (1...1000).map(String.init).joined(separator: "\n") + "\n")

        // Another user's job's changes and diff look missing.
        let mallory = try #require(try await APITests().call(d, "POST", "/users", token: admin, body: ["email": "m@example.com", "line_credits": 5])
            .object["token"] as? String)
        for path in ["/jobs/\(edit.id)/changes", "/jobs/\(edit.id)/diff"] {
            #expect(try await APITests().call(d, "GET", path, token: mallory).status == 404)
        }
        #expect(try await post("/jobs/\(edit.id)/revert", token: mallory).status == 404)

        // Written once no job runs: indexed, charged to no job, and said so.
        writeFile(scratch.file("generated_projects/Revert/late.txt"), "late\n")
        try await eventually("the note") {
            try d.database.read { try String.fetchAll($0, sql: "SELECT message_text FROM stream_messages WHERE stream_type = 'logs'") }
                .contains { $0.hasPrefix("Revert: ") && $0.contains("written while no job ran") && $0.contains("late.txt")
                    && $0.hasSuffix("charged to no job") }
        }
        #expect(try await d.store.artifacts(type: nil, project: "Revert", job: nil, userID: nil).first { $0.filePath == "late.txt" }?.jobId == nil)
        #expect(try await d.job(edit.id)?.linesWritten == 1)
        try await d.stop()
    }

    /// Seen: 1,451,000 lines charged at once after the agent had finished,
    /// because a file held open counted only once closed.
    @Test func aFileHeldOpenIsCountedWhileItGrowsAndCreditsStopTheAgent() async throws {
        let scratch = try Scratch()
        let agent = try scratch.script("agent.sh", """
            exec 3> log.txt
            i=0
            while [ $i -lt 200 ]; do seq $((i * 1000 + 1)) $((i * 1000 + 1000)) >&3; sleep 0.02; i=$((i + 1)); done
            """)
        let d = try await TestDaemon(scratch: scratch, agent: [agent])
        _ = try await d.store.createUser(email: "ten@example.com", role: .user, credits: 10_000)
        try d.drop("Open.json", #"{"specification": "x", "user": "ten@example.com"}"#)
        let job = try await d.finished(try await d.jobID(forSpoolFile: "Open.json"))
        #expect(job.status == .failed && job.failureReason == "line credits exhausted")
        let written = try String(contentsOfFile: scratch.file("generated_projects/Open/log.txt"), encoding: .utf8).split(separator: "\n").count
        #expect(written < 200_000, "stopped while still writing")
        #expect(job.linesWritten >= 10_000 && job.linesWritten <= Int64(written))
        print("credits: 10,000; written when stopped: \(written) lines; charged: \(job.linesWritten)")
        try await d.stop()
    }
}
