import Foundation
import GRDB
import Testing
@testable import LinesPerHour

/// The spool, end to end: real files, real inotify, a real database.
@Suite struct SpoolTests {
    static let quickAgent = ["/bin/sh", "-c", "echo done"]

    @Test func everyKindOfJobFileIsAccepted() async throws {
        let d = try await TestDaemon(agent: Self.quickAgent)
        try d.drop("a.json", #"{"project": "Alpha", "specification": "Build alpha"}"#)
        try d.drop("Beta.md", "# Beta\n\nBuild beta.\n")
        try d.drop("gamma.txt", "---\nproject: Gamma\nuser: admin@localhost\n---\nBuild gamma.\n")
        for (name, project) in [("a.json", "Alpha"), ("Beta.md", "Beta"), ("gamma.txt", "Gamma")] {
            let id = try await d.jobID(forSpoolFile: name)
            let job = try await d.finished(id)
            #expect(job.project == project)
            #expect(job.status == .completed)
            try await eventually("\(name) in accepted/") {
                FileManager.default.fileExists(atPath: d.spool.accepted + "/\(id)-\(name)")
            }
            #expect(!FileManager.default.fileExists(atPath: d.spool.incoming + "/" + name))
        }
        #expect(try await d.job(try await d.jobID(forSpoolFile: "Beta.md"))?.specification == "# Beta\n\nBuild beta.")
        try await d.stop()
    }

    @Test func badFilesAreRejectedWithAReasonAndTheDaemonCarriesOn() async throws {
        let d = try await TestDaemon(agent: Self.quickAgent)
        _ = try await d.store.createUser(email: "broke@example.com", role: .user, credits: 0)
        try d.drop("broken.json", #"{"specification": "#)
        try d.drop("stranger.json", #"{"specification": "x", "user": "nobody@example.com"}"#)
        try d.drop("broke.json", #"{"specification": "x", "user": "broke@example.com"}"#)
        try d.drop("huge.md", String(repeating: "a", count: Limits.maxSpecification + 1))
        try d.drop("escape.json", #"{"project": "../../etc", "specification": "x"}"#)
        #expect(symlink("/etc/passwd", d.spool.incoming + "/link.json") == 0)
        #expect(mkfifo(d.spool.incoming + "/pipe.json", 0o644) == 0)
        #expect(try await d.waitForRejection("broken.json").hasPrefix("malformed JSON"))
        #expect(try await d.waitForRejection("stranger.json") == #"unknown user "nobody@example.com""#)
        #expect(try await d.waitForRejection("broke.json") == "user broke@example.com has no line credits left")
        #expect(try await d.waitForRejection("huge.md").contains("larger than 1 MiB"))
        #expect(try await d.waitForRejection("escape.json").hasPrefix("invalid project name"))
        #expect(try await d.waitForRejection("link.json") == "a symlink, not a regular file")
        #expect(try await d.waitForRejection("pipe.json") == "not a regular file")
        // The symlink itself was moved; its target was never touched.
        var st = stat()
        #expect(lstat(d.spool.rejected + "/link.json", &st) == 0 && st.st_mode & S_IFMT == S_IFLNK)
        // Still serving: a good file after all that is taken.
        try d.drop("fine.json", #"{"project": "Fine", "specification": "x"}"#)
        #expect(try await d.finished(try await d.jobID(forSpoolFile: "fine.json")).status == .completed)
        let jobs = try await d.store.jobs()
        #expect(jobs.count == 1)
        try await d.stop()
    }

    @Test func aSecondRejectionOfTheSameNameKeepsTheFirst() async throws {
        let d = try await TestDaemon(agent: Self.quickAgent)
        try d.drop("x.json", "{")
        _ = try await d.waitForRejection("x.json")
        try d.drop("x.json", "[")
        _ = try await d.waitForRejection("x.json.1")
        #expect(try String(contentsOfFile: d.spool.rejected + "/x.json", encoding: .utf8) == "{")
        #expect(try String(contentsOfFile: d.spool.rejected + "/x.json.1", encoding: .utf8) == "[")
        try await d.stop()
    }

    @Test func aFileBeingWrittenIsNotTakenBeforeItIsClosed() async throws {
        let d = try await TestDaemon(agent: Self.quickAgent)
        // touch, then write in two parts: the closed empty file is not taken either.
        #expect(FileManager.default.createFile(atPath: d.spool.incoming + "/slow.json", contents: nil))
        let slow = FileHandle(forWritingAtPath: d.spool.incoming + "/slow.json")!
        try slow.write(contentsOf: Data(#"{"project": "Slow", "#.utf8))
        // A later, complete file is taken; the intake works in order, so once it
        // is, the half-written file has had every chance to be taken too.
        try d.drop("barrier.json", #"{"project": "Barrier", "specification": "x"}"#)
        _ = try await d.jobID(forSpoolFile: "barrier.json")
        #expect(FileManager.default.fileExists(atPath: d.spool.incoming + "/slow.json"))
        #expect(d.rejectionReason("slow.json") == nil)
        try slow.write(contentsOf: Data(#""specification": "written slowly"}"#.utf8))
        try slow.close()
        let id = try await d.jobID(forSpoolFile: "slow.json")
        #expect(try await d.job(id)?.specification == "written slowly")
        try await d.stop()
    }

    @Test func aDotfileIsTakenOnlyOnceRenamed() async throws {
        let d = try await TestDaemon(agent: Self.quickAgent)
        try #"{"project": "Dot", "specification": "x"}"#.write(toFile: d.spool.incoming + "/.dot.json", atomically: false, encoding: .utf8)
        try d.drop("barrier.json", #"{"project": "Barrier", "specification": "x"}"#)
        _ = try await d.jobID(forSpoolFile: "barrier.json")
        #expect(FileManager.default.fileExists(atPath: d.spool.incoming + "/.dot.json"))
        #expect(rename(d.spool.incoming + "/.dot.json", d.spool.incoming + "/dot.json") == 0)
        _ = try await d.jobID(forSpoolFile: "dot.json")
        try await d.stop()
    }

    @Test func filesWaitingAtStartAreTakenInOrder() async throws {
        let scratch = try Scratch()
        let incoming = scratch.file("Spool/incoming")
        try FileManager.default.createDirectory(atPath: incoming, withIntermediateDirectories: true)
        for n in 1...5 {
            let path = incoming + "/w\(n).md"
            try "waiting \(n)".write(toFile: path, atomically: false, encoding: .utf8)
            var times = [timespec(tv_sec: 1_700_000_000 + n, tv_nsec: 0), timespec(tv_sec: 1_700_000_000 + n, tv_nsec: 0)]
            utimensat(AT_FDCWD, path, &times, 0)
        }
        let d = try await TestDaemon(scratch: scratch, agent: Self.quickAgent)
        var ids: [Int64] = []
        for n in 1...5 { ids.append(try await d.jobID(forSpoolFile: "w\(n).md")) }
        #expect(ids == ids.sorted())
        try await d.stop()
    }
}

/// Every name the kernel allows ends in `accepted/` or `rejected/`, also
/// when `<job-id>-` or `.error` would make it longer than a name may be;
/// the job's row keeps the name as it was.
@Suite struct LongNameTests {
    static let valid = String(repeating: "v", count: 251) + ".md"        // 254 bytes
    static let invalid = String(repeating: "i", count: 250) + ".json"    // 255 bytes, not JSON inside

    @Test func namesAsLongAsTheKernelAllowsAreAcceptedOrRejected() async throws {
        let d = try await TestDaemon(agent: ["/bin/true"])
        try d.drop(Self.valid, "---\nproject: Long\n---\nx\n")
        try d.drop(Self.invalid, "not json")
        let job = try await d.finished(try await d.jobID(forSpoolFile: Self.valid))
        #expect(job.project == "Long")
        try await eventually("incoming/ empty") { try FileManager.default.contentsOfDirectory(atPath: d.spool.incoming).isEmpty }
        let accepted = try FileManager.default.contentsOfDirectory(atPath: d.spool.accepted)
        #expect(accepted == [Spool.acceptedName(job: job.id, name: Self.valid)])
        #expect(accepted[0].hasPrefix("\(job.id)-vvv") && accepted[0].hasSuffix("….md") && accepted[0].utf8.count <= 255)
        let rejected = try FileManager.default.contentsOfDirectory(atPath: d.spool.rejected).sorted()
        #expect(rejected.count == 2 && rejected.allSatisfy { $0.hasPrefix("iii") && $0.utf8.count <= 255 })
        #expect(rejected.contains { $0.hasSuffix("….json.error") })
        try await d.stop()
    }

    @Test func aStartWithSuchNamesWaitingServesAndStops() async throws {
        let scratch = try Scratch()
        let incoming = scratch.file("Spool/incoming")
        try FileManager.default.createDirectory(atPath: incoming, withIntermediateDirectories: true)
        writeFile(incoming + "/" + Self.valid, "---\nproject: Long\n---\nx\n")
        writeFile(incoming + "/" + Self.invalid, "not json")
        let d = try await TestDaemon(scratch: scratch, agent: ["/bin/true"])
        let job = try await d.finished(try await d.jobID(forSpoolFile: Self.valid))
        #expect(job.status == .completed)
        let health = try await RawHTTP.send(port: d.port, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        #expect(health.status == 200 && health.json["status"] as? String == "ok")
        try await d.stop()
    }
}
