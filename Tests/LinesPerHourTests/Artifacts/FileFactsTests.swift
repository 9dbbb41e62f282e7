import Foundation
import Testing
@testable import LinesPerHour

@Suite struct FileFactsTests {
    @Test func aFiveHundredLineFileKeepsExactlyTwoHundredInItsPreview() throws {
        let scratch = try Scratch()
        let text = (1...500).map { "line \($0)" }.joined(separator: "\n") + "\n"
        try text.write(toFile: scratch.file("big.py"), atomically: false, encoding: .utf8)
        let facts = try #require(FileFacts.read(scratch.file("big.py")))
        #expect(facts.kind == .code)
        #expect(facts.lineCount == 500)
        #expect(facts.size == Int64(text.utf8.count))
        #expect(facts.preview?.split(separator: "\n").count == 200)
        #expect(facts.preview?.hasSuffix("line 200\n") == true)
    }

    @Test func typesByNameAndContent() throws {
        let scratch = try Scratch()
        for name in ["README", "LICENSE.txt", "notes.md", "guide.rst", "CHANGELOG"] {
            try "x\ny".write(toFile: scratch.file(name), atomically: false, encoding: .utf8)
            #expect(FileFacts.read(scratch.file(name))?.kind == .documentation, "\(name)")
            #expect(FileFacts.read(scratch.file(name))?.lineCount == 2)
        }
        try Data([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2]).write(to: URL(fileURLWithPath: scratch.file("a.out")))
        let binary = try #require(FileFacts.read(scratch.file("a.out")))
        #expect(binary.kind == .binary)
        #expect(binary.preview == nil)
        try "".write(toFile: scratch.file("empty.swift"), atomically: false, encoding: .utf8)
        #expect(FileFacts.read(scratch.file("empty.swift"))?.lineCount == 0)
    }

    @Test func aSymlinkIsRecordedAndNeverFollowed() throws {
        let scratch = try Scratch()
        #expect(symlink("/etc/passwd", scratch.file("passwd")) == 0)
        let facts = try #require(FileFacts.read(scratch.file("passwd")))
        #expect(facts.kind == .symlink)
        #expect(facts.preview == nil)
        #expect(facts.lineCount == 0)
    }

    @Test func aPreviewCutAtItsByteLimitEndsOnAWholeCharacter() throws {
        let scratch = try Scratch()
        try String(repeating: "é", count: 40_000).write(toFile: scratch.file("wide.txt"), atomically: false, encoding: .utf8)
        let preview = try #require(FileFacts.read(scratch.file("wide.txt"))?.preview)
        #expect(preview.utf8.count <= 64 * 1024)
        #expect(preview.allSatisfy { $0 == "é" })
    }

    @Test func tasksAndPhaseEvidence() {
        let tasks = PhaseEvidence.tasks(in: "# Tasks\n- [x] T001 a\n- [X] T002 b\n  - [ ] T003 c\n- [ ] T004 [P] d\nnot - [x] a task\n")
        #expect(tasks == TaskCount(done: 2, total: 4))
        #expect(PhaseEvidence.phase(path: "specs/001-x/spec.md", kind: .documentation, tasks: nil) == .specify)
        #expect(PhaseEvidence.phase(path: "plan.md", kind: .documentation, tasks: nil) == .plan)
        #expect(PhaseEvidence.phase(path: "tasks.md", kind: .documentation, tasks: TaskCount(done: 1, total: 3)) == .implement)
        #expect(PhaseEvidence.phase(path: "src/app.py", kind: .code, tasks: nil) == .implement)
        #expect(PhaseEvidence.phase(path: "tests/test_app.py", kind: .code, tasks: nil) == .test)
        #expect(PhaseEvidence.phase(path: "Tests/AppTests/AppTests.swift", kind: .code, tasks: nil) == .test)
        #expect(PhaseEvidence.phase(path: "src/latest.py", kind: .code, tasks: nil) == .implement)
        #expect(PhaseEvidence.phase(path: "notes.md", kind: .documentation, tasks: nil) == nil)
    }
}
