import Foundation
import GRDB
import Testing
@testable import LinesPerHour

/// Bad input at the spool's door and in the projects folder: generated job
/// files by the thousand, files swapped under the intake, folders that try
/// to lead outside, a flood of files at once.
@Suite struct HostileInputTests {
    /// Job files made from valid ones by random byte edits, splices and
    /// truncations (a fixed seed, so a failure replays): each one parses into a
    /// request that satisfies every check, or is refused with a reason. No crash.
    @Test func theParserSurvivesTwentyThousandGeneratedJobFiles() {
        let seeds = [
            #"{"project": "EmailScrapper", "specification": "Scrape emails", "user": "alice@example.com", "agent": "speckit"}"#,
            "---\nproject: Notes\nuser: 'bob@example.com'\nagent: stream-json\n---\n# Notes\n\nA tool.\n",
            "Plain text specification\nwith two lines\n",
            #"{"specification": "ünïcödé ✓ \u0000 \n\t", "project": "a.b_c-d"}"#,
        ].map { Array($0.utf8) }
        let alphabet: [UInt8] = Array(#"{}[]":,-\ntrue0.9e-"#.utf8) + [0x00, 0x7F, 0xC3, 0xA9, 0xE2, 0x80, 0xFF, 0xFE, 0x0D]
        let names = ["x.json", "Notes.md", "spec.txt", "y.JSON", "z.yaml", ".json", "a..b.md"]
        var random = SplitMix64(seed: 20_261_125)
        var accepted = 0
        var refusedWithoutReason = 0
        var broken: [String] = []
        for _ in 0..<20_000 {
            var bytes = seeds.randomElement(using: &random)!
            for _ in 0..<Int.random(in: 1...6, using: &random) {
                Self.mutate(&bytes, alphabet: alphabet, splice: seeds.randomElement(using: &random)!, using: &random)
            }
            let name = names.randomElement(using: &random)!
            do {
                let request = try JobFile.parse(name: name, bytes: bytes)
                accepted += 1
                if !ProjectName.isValid(request.project) || request.specification.isEmpty
                    || request.specification != request.specification.trimmingCharacters(in: .whitespacesAndNewlines) {
                    broken.append(String(decoding: bytes, as: UTF8.self))
                }
            } catch {
                if error.reason.isEmpty { refusedWithoutReason += 1 }
            }
        }
        #expect(broken.isEmpty, "accepted but invalid: \(broken.prefix(3))")
        #expect(refusedWithoutReason == 0)
        #expect(accepted > 1_000 && accepted < 19_000, "the generator should make both kinds: \(accepted) accepted")
        print("job-file fuzzing: 20000 generated files, \(accepted) accepted, \(20_000 - accepted) refused with a reason")
    }

    static func mutate(_ bytes: inout [UInt8], alphabet: [UInt8], splice: [UInt8], using random: inout SplitMix64) {
        let at = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
        switch Int.random(in: 0..<6, using: &random) {
        case 0 where !bytes.isEmpty: bytes[at] = alphabet.randomElement(using: &random)!
        case 1: bytes.insert(alphabet.randomElement(using: &random)!, at: at)
        case 2 where !bytes.isEmpty: bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...8, using: &random)))
        case 3: bytes.insert(contentsOf: splice[Int.random(in: 0..<splice.count, using: &random)...], at: at)
        case 4: bytes.removeSubrange(at...)
        default: bytes.insert(contentsOf: Array(repeating: UInt8(ascii: " "), count: Int.random(in: 1...3, using: &random)), at: at)
        }
    }

    /// A file renamed in, then at once replaced by a symlink to a job file
    /// outside the spool, or by a FIFO, 200 times: whichever the intake meets
    /// when it opens the name, a symlink is never followed and a FIFO never
    /// blocks it (`O_NOFOLLOW | O_NONBLOCK`, then `fstat`).
    @Test func aFileSwappedForASymlinkOrAFIFOIsNeverFollowedNorBlocksTheIntake() async throws {
        let d = try await TestDaemon(agent: ["/bin/true"])
        let secret = d.scratch.file("secret.json")
        try #"{"project": "Secret", "specification": "SECRET"}"#.write(toFile: secret, atomically: false, encoding: .utf8)
        let swaps = 200
        for i in 0..<swaps {
            let name = "swap\(i).json"
            try d.drop(name, #"{"project": "Swap", "specification": "real \#(i)"}"#)
            let impostor = d.spool.incoming + "/.impostor"
            #expect(i % 2 == 0 ? symlink(secret, impostor) == 0 : mkfifo(impostor, 0o644) == 0)
            #expect(rename(impostor, d.spool.incoming + "/" + name) == 0)
        }
        try d.drop("after.json", #"{"project": "After", "specification": "after the swaps"}"#)
        let after = try await d.finished(try await d.jobID(forSpoolFile: "after.json"))
        #expect(after.status == .completed)
        try await eventually("every swapped name judged") { try FileManager.default.contentsOfDirectory(atPath: d.spool.incoming).isEmpty }
        let jobs = try await d.store.jobs(limit: 10_000)
        let specifications = try await d.database.read { try String.fetchAll($0, sql: "SELECT specification FROM jobs") }
        #expect(!jobs.contains { $0.project == "Secret" } && !specifications.contains { $0.contains("SECRET") })
        let rejected = try FileManager.default.contentsOfDirectory(atPath: d.spool.rejected).filter { !$0.hasSuffix(".error") }
        let accepted = try FileManager.default.contentsOfDirectory(atPath: d.spool.accepted)
        #expect(accepted.count == jobs.count)
        #expect(accepted.count + rejected.count >= swaps, "each name accepted (read before its swap) or rejected (after)")
        #expect(Set(rejected).count == rejected.count)
        try await d.stop()
    }

    /// A project folder that is a symlink would run the agent elsewhere: the
    /// job fails saying so. A symlinked folder inside a project is recorded as
    /// a symlink and never walked.
    @Test func symlinkedFoldersNeverLeadTheAgentOrTheIndexOutside() async throws {
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", "echo escaped > escaped.txt"])
        let outside = d.scratch.file("outside")
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try "secret\n".write(toFile: outside + "/secret.txt", atomically: false, encoding: .utf8)
        let projects = d.daemon.settings.projects
        #expect(symlink(outside, projects + "/Escape") == 0)
        try d.drop("Escape.md", "x")
        let job = try await d.finished(try await d.jobID(forSpoolFile: "Escape.md"))
        #expect(job.status == .failed)
        #expect(job.failureReason?.contains("is a symlink") == true)
        #expect(!FileManager.default.fileExists(atPath: outside + "/escaped.txt"))
        try FileManager.default.createDirectory(atPath: projects + "/Inside", withIntermediateDirectories: true)
        #expect(symlink(outside, projects + "/Inside/link") == 0)
        try "a\n".write(toFile: projects + "/Inside/own.txt", atomically: false, encoding: .utf8)
        try await eventually("own.txt indexed") { try await d.store.artifacts(type: nil, project: "Inside", job: nil, userID: nil).contains { $0.filePath == "own.txt" } }
        let paths = try await d.store.artifacts(type: nil, project: "Inside", job: nil, userID: nil).map { ($0.filePath, $0.artifactType) }
        #expect(paths.contains { $0 == ("link", "symlink") })
        #expect(!paths.contains { $0.0.hasPrefix("link/") })
        #expect(try await d.store.artifacts(type: nil, project: nil, job: nil, userID: nil).allSatisfy { !$0.filePath.contains("secret") })
        try await d.stop()
    }

    /// 10,000 files at once (more inotify events than the kernel queues:
    /// the overflow leads to a sweep): every one is taken, exactly once.
    @Test func tenThousandFilesDroppedAtOnceAreEachTakenOnce() async throws {
        let d = try await TestDaemon(agent: ["/bin/sleep", "600"]) { $0.maxJobs = 1 }
        let count = 10_000
        try await offThePool {
            for i in 0..<count {
                writeFile(d.spool.incoming + "/flood\(i).json", #"{"project": "Flood\#(i % 50)", "specification": "flood \#(i)"}"#)
            }
        }
        try await eventually("every file taken", timeout: .seconds(600)) {
            try FileManager.default.contentsOfDirectory(atPath: d.spool.incoming).isEmpty
                && FileManager.default.contentsOfDirectory(atPath: d.spool.accepted).count == count
        }
        let jobs = try await d.store.jobs(limit: 20_000)
        #expect(jobs.count == count)
        #expect(Set(try await d.database.read { try String.fetchAll($0, sql: "SELECT specification FROM jobs") }).count == count)
        #expect(try FileManager.default.contentsOfDirectory(atPath: d.spool.rejected).isEmpty)
        try await d.stop()
    }
}

/// A small seeded generator, so generated inputs replay exactly.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
