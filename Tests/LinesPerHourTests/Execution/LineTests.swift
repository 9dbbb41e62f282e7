import Testing
@testable import LinesPerHour

@Suite struct LineSplitterTests {
    func split(_ chunks: [String], maxLine: Int = 64 * 1024) -> [String] {
        var splitter = LineSplitter(maxLine: maxLine)
        var lines: [String] = []
        for chunk in chunks {
            Array(chunk.utf8).withUnsafeBytes { splitter.feed($0) { lines.append($0) } }
        }
        splitter.finish { lines.append($0) }
        return lines
    }

    @Test func linesAcrossBuffers() {
        #expect(split(["ab", "c\nde", "f\n\ng"]) == ["abc", "def", "", "g"])
    }

    @Test func carriageReturnsAreDropped() {
        #expect(split(["a\r\nb\r\n"]) == ["a", "b"])
    }

    @Test func longLinesAreCutAndMarked() {
        let lines = split([String(repeating: "x", count: 25), String(repeating: "y", count: 10) + "\nok\n"], maxLine: 16)
        #expect(lines.count == 2)
        #expect(lines[0] == String(repeating: "x", count: 16) + " […line cut: 19 more bytes]")
        #expect(lines[1] == "ok")
    }

    @Test func aCutNeverSplitsACharacter() {
        let lines = split(["aaé" + String(repeating: "z", count: 10) + "\n"], maxLine: 3)
        #expect(lines[0].hasPrefix("aa "))
    }
}

@Suite struct LineClassifierTests {
    @Test(arguments: [
        ("ERROR boom", false, Level.error), ("[WARN] x", false, .warning), ("WARNING: y", false, .warning),
        ("  INFO: z", true, .info), ("DEBUG", false, .debug), ("error: linker", false, .error),
        ("Error handling added", false, .info), ("ERRORS: 3", false, .info), ("plain", true, .warning),
        ("plain", false, .info), ("[error] x", true, .warning), ("WARN:x", false, .warning),
    ])
    func levels(line: String, onStderr: Bool, expected: Level) {
        #expect(LineClassifier.level(of: line, onStderr: onStderr) == expected)
    }

    @Test(arguments: [
        ("/speckit.plan", Phase.plan), ("speckit implement now", .implement), ("Phase: test", .test),
        ("== REVIEW ==", .review), ("/speckit.specify MyProj", .specify), ("## Phase: tasks", .plan),
        ("/speckit-analyze", .review),
    ])
    func phases(line: String, expected: Phase) {
        #expect(LineClassifier(rules: LineClassifier.defaultRules()).phase(in: line) == expected)
    }

    @Test(arguments: ["we will plan later", "testing things", "== not a phase ==", "the review phase: soon"])
    func notPhases(line: String) {
        #expect(LineClassifier(rules: LineClassifier.defaultRules()).phase(in: line) == nil)
    }
}

@Suite struct ShellWordsTests {
    @Test func quotingAsAShellDoes() throws {
        #expect(try ShellWords.split(#"claude -p "/speckit plan" --x 'a b' c\ d"#) == ["claude", "-p", "/speckit plan", "--x", "a b", "c d"])
        #expect(try ShellWords.split(#"sh -c "echo \"hi\" \$HOME""#) == ["sh", "-c", #"echo "hi" $HOME"#])
        #expect(try ShellWords.split("  ") == [])
        #expect(throws: DaemonError.self) { try ShellWords.split("'open") }
    }
}
