import Foundation

/// The bundled demonstration workload: a real subprocess that walks the five
/// phases with spec-kit style output and writes a small project, so the
/// pipeline has something to watch. It is not an AI and says so.
public struct DemoAgent: Sendable {
    /// Seconds spent in each phase; 0 runs flat out.
    public var secondsPerPhase: Double
    /// How many tasks (one source file and one test file each) to write.
    public var tasks: Int
    public var project: String
    public var specification: String

    public init(secondsPerPhase: Double, tasks: Int, project: String, specification: String) {
        self.secondsPerPhase = secondsPerPhase
        self.tasks = max(1, tasks)
        self.project = project
        self.specification = specification
    }

    public func run() throws {
        say("LinesPerHour demo agent: a demonstration workload, not an AI. It writes a small generated project.")
        try specify()
        try plan()
        try implement()
        try test()
        review()
    }

    // MARK: - Phases

    private func specify() throws {
        banner("SPECIFY", command: "/speckit.specify")
        let title = specification.split(separator: "\n").first.map(String.init) ?? project
        try write("spec.md", """
            # Specification: \(project)

            \(specification)

            ## User stories
            - As a user, I want \(title.lowercased()), so that the work gets done.

            ## Acceptance criteria
            - Every module has a test.
            """)
        say("INFO wrote spec.md (\(specification.count) characters of specification)")
        pause(steps: 1)
    }

    private func plan() throws {
        banner("PLAN", command: "/speckit.plan")
        try write("plan.md", """
            # Plan: \(project)

            Language: Python 3. Layout: `src/\(module)/`, tests in `tests/`.
            \((1...tasks).map { "- Module \(moduleName($0)): one function, one test." }.joined(separator: "\n"))
            """)
        try writeTasks(done: 0)
        say("INFO wrote plan.md and tasks.md (\(tasks) tasks)")
        pause(steps: 1)
    }

    private func implement() throws {
        banner("IMPLEMENT", command: "/speckit.implement")
        for n in 1...tasks {
            try write("src/\(module)/\(moduleName(n)).py", source(n))
            try writeTasks(done: n)
            say("INFO T\(String(format: "%03d", n)) implemented src/\(module)/\(moduleName(n)).py")
            if n % 3 == 0 { say("WARN T\(String(format: "%03d", n)): no docstring for a helper, left as is") }
            pause(steps: tasks)
        }
    }

    private func test() throws {
        banner("TEST", command: "/speckit.test")
        for n in 1...tasks {
            try write("tests/test_\(moduleName(n)).py", testSource(n))
            say("test_\(moduleName(n)).py::test_value PASSED")
            pause(steps: tasks)
        }
        say("INFO \(tasks) passed, 0 failed")
    }

    private func review() {
        banner("REVIEW", command: "/speckit.review")
        say("INFO review: \(tasks) modules, \(tasks) tests, spec, plan and tasks present")
        pause(steps: 1)
        say("INFO demo agent finished")
    }

    // MARK: - Files

    private var module: String {
        let cleaned = project.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }
        return String(cleaned.first?.isLetter == true ? cleaned : ["m"] + cleaned)
    }

    private func moduleName(_ n: Int) -> String { "part\(n)" }

    private func writeTasks(done: Int) throws {
        let lines = (1...tasks).map { n in
            "- [\(n <= done ? "x" : " ")] T\(String(format: "%03d", n)) Implement \(moduleName(n)) with its test"
        }
        try write("tasks.md", "# Tasks: \(project)\n\n" + lines.joined(separator: "\n"))
    }

    private func source(_ n: Int) -> String {
        """
        \"\"\"Part \(n) of \(project) (written by the LinesPerHour demo agent).\"\"\"


        def value() -> int:
            \"\"\"Return this part's number.\"\"\"
            return \(n)


        def describe() -> str:
            return f"part \(n) of \(project): {value()}"
        """
    }

    private func testSource(_ n: Int) -> String {
        """
        from \(module).\(moduleName(n)) import value


        def test_value():
            assert value() == \(n)
        """
    }

    /// Writes through a temporary name and a rename, as careful tools do.
    private func write(_ path: String, _ content: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data((content + "\n").utf8).write(to: url, options: .atomic)
    }

    // MARK: - Output

    private func banner(_ phase: String, command: String) {
        say("== \(phase) ==")
        say(command + " " + project)
    }

    private func say(_ line: String) {
        // Unbuffered, so the daemon sees each line as it is said.
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    private func pause(steps: Int) {
        guard secondsPerPhase > 0 else { return }
        Thread.sleep(forTimeInterval: secondsPerPhase / Double(steps))
    }
}
