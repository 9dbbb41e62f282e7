import Foundation
import GRDB
import Testing
@testable import LinesPerHour

/// The index over real files and real inotify, checked against the disk.
@Suite struct ArtifactIndexTests {
    /// The index as (path → line count) for one project.
    func rows(_ d: TestDaemon, _ project: String) throws -> [String: Int64] {
        try d.database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT file_path, line_count FROM artifacts JOIN projects ON projects.id = artifacts.project_id WHERE projects.name = ?
                """, arguments: [project])
        }.reduce(into: [:]) { $0[$1["file_path"]] = $1["line_count"] }
    }

    func row(_ d: TestDaemon, _ project: String, _ path: String) throws -> Row? {
        try d.database.read { db in
            try Row.fetchOne(db, sql: """
                SELECT artifacts.* FROM artifacts JOIN projects ON projects.id = artifacts.project_id WHERE projects.name = ? AND file_path = ?
                """, arguments: [project, path])
        }
    }

    /// Every regular file and symlink under the project's folder, as the index should hold it.
    func disk(_ d: TestDaemon, _ project: String) -> Set<String> {
        let top = d.daemon.settings.projects + "/" + project
        var found = Set<String>()
        Tree.walk(top) { path, _ in found.insert(String(path.dropFirst(top.count + 1))) }
        return found.filter { !$0.contains(ProjectName.cookiePrefix) }
    }

    func write(_ path: String, _ text: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
    }

    @Test func filesAreIndexedChangedMovedAndRemoved() async throws {
        let d = try await TestDaemon(agent: ["/bin/true"])
        let top = d.daemon.settings.projects + "/Tree"
        try write(top + "/README.md", "# Tree\n")
        try write(top + "/src/a.py", "a = 1\nb = 2\n")
        #expect(symlink("/etc/passwd", top + "/passwd") == 0)
        try await eventually("three rows") { try rows(d, "Tree").count == 3 }
        #expect(try row(d, "Tree", "README.md")?["artifact_type"] == "documentation")
        #expect(try row(d, "Tree", "src/a.py")?["artifact_type"] == "code")
        let link = try #require(try row(d, "Tree", "passwd"))
        #expect(link["artifact_type"] == "symlink")
        #expect((link["preview_content"] as String?) == nil)

        try write(top + "/src/a.py", "a = 1\nb = 2\nc = 3\n")
        try await eventually("the change") { try rows(d, "Tree")["src/a.py"] == 3 }

        let id: Int64 = try #require(try row(d, "Tree", "src/a.py")?["id"])
        #expect(rename(top + "/src/a.py", top + "/src/b.py") == 0)
        try await eventually("the renamed file") { try rows(d, "Tree").keys.contains("src/b.py") && !rows(d, "Tree").keys.contains("src/a.py") }
        #expect(try row(d, "Tree", "src/b.py")?["id"] == id)

        #expect(rename(top + "/src", top + "/lib") == 0)
        try await eventually("the renamed folder") { try rows(d, "Tree").keys.contains("lib/b.py") && !rows(d, "Tree").keys.contains("src/b.py") }
        #expect(try row(d, "Tree", "lib/b.py")?["id"] == id)
        // A file written in the renamed folder is seen under its new path.
        try write(top + "/lib/c.py", "c\n")
        try await eventually("a file in the renamed folder") { try rows(d, "Tree")["lib/c.py"] == 1 }

        #expect(unlink(top + "/README.md") == 0)
        try await eventually("the deletion") { try !rows(d, "Tree").keys.contains("README.md") }
        try FileManager.default.removeItem(atPath: top + "/lib")
        try await eventually("the deleted folder") { try Array(rows(d, "Tree").keys) == ["passwd"] }
        try await d.stop()
    }

    @Test func anEditorSaveThroughATemporaryFileLeavesOneCorrectRow() async throws {
        let d = try await TestDaemon(agent: ["/bin/true"])
        let top = d.daemon.settings.projects + "/Edit"
        try write(top + "/main.swift", "old\n")
        try await eventually("the first version") { try rows(d, "Edit") == ["main.swift": 1] }
        for round in 1...20 {
            try write(top + "/.main.swift.swp", String(repeating: "new\n", count: round + 1))
            #expect(rename(top + "/.main.swift.swp", top + "/main.swift") == 0)
        }
        try await eventually("the last version, alone") { try rows(d, "Edit") == ["main.swift": 21] }
        try await d.stop()
    }

    @Test func aFileWrittenRightAfterItsFolderIsNeverMissed() async throws {
        let d = try await TestDaemon(agent: ["/bin/true"])
        let top = d.daemon.settings.projects + "/Deep"
        try await offThePool {
            for n in 0..<1000 {
                try FileManager.default.createDirectory(atPath: top + "/d\(n)/e", withIntermediateDirectories: true)
                writeFile(top + "/d\(n)/e/f.txt", "x\n")
            }
        }
        try await eventually("1,000 rows", timeout: .seconds(120)) { try rows(d, "Deep").count == 1000 }
        #expect(try Set(rows(d, "Deep").keys) == disk(d, "Deep"))
        try await d.stop()
    }

    @Test func aBurstOfTwentyThousandFilesEndsWithTheTableEqualToTheDisk() async throws {
        let d = try await TestDaemon(agent: ["/bin/true"])
        let top = d.daemon.settings.projects + "/Burst"
        try await offThePool {
            for folder in 0..<20 {
                try FileManager.default.createDirectory(atPath: top + "/f\(folder)", withIntermediateDirectories: true)
                for n in 0..<1000 { writeFile(top + "/f\(folder)/\(n).txt", "\(n)\n") }
            }
            for n in stride(from: 0, to: 1000, by: 7) { unlink(top + "/f3/\(n).txt") }
        }
        try await eventually("the table to match the disk", timeout: .seconds(240)) { try Set(rows(d, "Burst").keys) == disk(d, "Burst") }
        try await d.stop()
    }

    /// A barrier answers for what was written in its project before it, while
    /// another project has thousands of files on their way.
    @Test func aBarrierAnswersForItsOwnProjectsFiles() async throws {
        let d = try await TestDaemon(agent: ["/bin/true"])
        let busy = d.daemon.settings.projects + "/Busy", quiet = d.daemon.settings.projects + "/Quiet"
        try FileManager.default.createDirectory(atPath: quiet, withIntermediateDirectories: true)
        try await offThePool {
            try FileManager.default.createDirectory(atPath: busy, withIntermediateDirectories: true)
            for n in 0..<5000 { writeFile(busy + "/\(n).txt", "\(n)\n") }
            writeFile(quiet + "/last.txt", "last\n")
        }
        #expect(await d.daemon.index.barrier(project: "Quiet"))
        #expect(try row(d, "Quiet", "last.txt") != nil, "the file written there before the barrier is recorded")
        #expect(await d.daemon.index.barrier(project: "Busy"))
        #expect(try rows(d, "Busy").count == 5000, "and the other project's, once its own barrier returns")
        try await d.stop()
    }

    @Test func aStartReconcilesWhatChangedWhileTheDaemonWasDown() async throws {
        let scratch = try Scratch()
        let first = try await TestDaemon(scratch: scratch, agent: ["/bin/true"])
        let top = first.daemon.settings.projects + "/Offline"
        try write(top + "/kept.txt", "a\n")
        try write(top + "/gone.txt", "b\n")
        try await eventually("two rows") { try rows(first, "Offline").count == 2 }
        try await first.stop()
        unlink(top + "/gone.txt")
        try write(top + "/new.txt", "c\nd\n")
        let second = try await TestDaemon(scratch: scratch, agent: ["/bin/true"])
        try await eventually("the rescan") { try rows(second, "Offline") == ["kept.txt": 1, "new.txt": 2] }
        let notes = try await second.database.read { try String.fetchAll($0, sql: "SELECT message_text FROM stream_messages WHERE message_text LIKE 'rescan%'") }
        #expect(notes.contains { $0.contains("(start)") && $0.contains("1 removed") })
        try await second.stop()
    }

    /// The seed's "path mismatch": a vanished `generated_projects/` is a loud
    /// error, not silence, and the folder made again is watched again.
    @Test func aRemovedProjectsFolderIsALoudErrorAndIsWatchedAgainOnceMadeAgain() async throws {
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", "echo made > made.txt"])
        let root = d.daemon.settings.projects
        try write(root + "/Before/a.txt", "a\n")
        try await eventually("a.txt indexed") { try rows(d, "Before") == ["a.txt": 1] }
        try FileManager.default.removeItem(atPath: root)
        try await eventually("the index to say what it cannot see") { d.daemon.index.problem != nil }
        let errors = try await d.database.read {
            try String.fetchAll($0, sql: "SELECT message_text FROM stream_messages WHERE stream_type = 'logs' AND level = 'error'")
        }
        #expect(errors.contains { $0.contains("\(root) was removed or moved") })
        // A job makes the folder again; its file is found and counted before it ends.
        try d.drop("Back.md", "x")
        let job = try await d.finished(try await d.jobID(forSpoolFile: "Back.md"))
        #expect(job.status == .completed && job.linesWritten == 1)
        try await eventually("watched again") { d.daemon.index.problem == nil }
        #expect(try rows(d, "Before").isEmpty)
        // Live again: a file written now is indexed.
        try write(root + "/Back/later.txt", "1\n2\n")
        try await eventually("later.txt indexed") { try rows(d, "Back")["later.txt"] == 2 }
        try await d.stop()
    }
}

/// Trees the index does not follow: too deep, or paths too long to name.
@Suite struct DeepTreeTests {
    /// Makes `levels` nested folders named `name` under `top` (through
    /// descriptors, so paths longer than PATH_MAX can be made) and writes
    /// `file` in the deepest one.
    func nest(_ top: String, levels: Int, name: String) {
        var fd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        #expect(fd >= 0)
        for _ in 0..<levels {
            #expect(mkdirat(fd, name, 0o755) == 0)
            let next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            close(fd)
            fd = next
        }
        let file = openat(fd, "bottom.txt", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        #expect(file >= 0)
        _ = "deep\n".withCString { write(file, $0, strlen($0)) }
        close(file)
        close(fd)
    }

    @Test func tooDeepOrTooLongIsSaidAloudNotMissedInSilence() async throws {
        let d = try await TestDaemon(agent: ["/bin/true"])
        let top = d.daemon.settings.projects + "/Deep"
        try FileManager.default.createDirectory(atPath: top, withIntermediateDirectories: true)
        writeFile(top + "/top.txt", "top\n")
        try await offThePool {
            nest(top, levels: 500, name: "d")
            nest(top, levels: 60, name: String(repeating: "l", count: 80))
        }
        try await eventually("the warning in the logs stream") {
            try d.database.read { try String.fetchAll($0, sql: "SELECT message_text FROM stream_messages WHERE message_text LIKE 'not indexed:%'") }
                .count >= 1
        }
        // Rescans say it too, and the files within reach are indexed.
        await d.daemon.index.barrier(project: "Deep")
        let paths = try await d.store.artifacts(type: nil, project: "Deep", job: nil, userID: nil).map(\.filePath)
        #expect(paths.contains("top.txt"))
        #expect(!paths.contains { $0.hasSuffix("bottom.txt") })
        let shallow = top + String(repeating: "/d", count: 10)
        writeFile(shallow + "/mid.txt", "mid\n")
        try await eventually("a file within reach") {
            try await d.store.artifacts(type: nil, project: "Deep", job: nil, userID: nil).contains { $0.filePath.hasSuffix("/mid.txt") }
        }
        try await d.stop()
    }
}
