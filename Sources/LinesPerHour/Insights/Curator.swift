import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Keeps the knowledge facts of each project true: recomputed from the
/// artifact index (never from a second walk of the disk; hidden tool state
/// left out) when the project's
/// files change or one of its jobs ends, stored in `knowledge`, and broadcast
/// (`knowledge`, source `curator`) only when a value changed.
final class Curator: Service, Sendable {
    private let store: any Store
    private let broadcaster: Broadcaster
    private let logger: Logger
    private let dirty = Mutex<Set<String>>([])
    private let wake: AsyncStream<Void>
    private let wakeInput: AsyncStream<Void>.Continuation
    /// Changes that come in bursts (an agent writing many files) are weighed once.
    static let settle: Duration = .milliseconds(250)

    init(store: any Store, broadcaster: Broadcaster, logger: Logger) {
        self.store = store
        self.broadcaster = broadcaster
        self.logger = logger
        (wake, wakeInput) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    func run() async throws {
        let token = broadcaster.subscribe { events in
            let projects = events.compactMap(Self.project(touchedBy:))
            guard !projects.isEmpty else { return }
            self.dirty.withLock { $0.formUnion(projects) }
            self.wakeInput.yield()
        }
        defer { broadcaster.unsubscribe(token) }
        // On a thread of its own, and resting five times as long as it worked: weighing a project of
        // 50,000 files takes a while, and on the shared pool it held up the executor's starts.
        await DedicatedThread.run(named: "lph-curator") {
            var rest = Self.settle
            for await _ in wake.cancelOnGracefulShutdown() {
                try? await Task.sleep(for: rest)
                let started = ContinuousClock.now
                for project in dirty.withLock({ d in defer { d.removeAll() }; return d }).sorted() {
                    await curate(project)
                }
                rest = max(Self.settle, (ContinuousClock.now - started) * 5)
            }
        }
    }

    /// The project an event changes the facts of: any file event, and a job's end.
    private static func project(touchedBy event: Event) -> String? {
        guard event.source == "system" else { return nil }
        switch event.subject {
        case .job(let job)?, .jobEnded(let job)?: return job.status.isFinal ? job.project : nil
        case .project(let project)?: return project
        case .nodeLost?, nil: return nil
        }
    }

    private func curate(_ project: String) async {
        do {
            let lastJob = try await store.jobs(project: project, limit: 1).first
            let facts = Self.facts(files: try await store.indexedFiles(project: project), lastJob: lastJob)
            try await store.learn(facts, about: project, job: lastJob?.id)
        } catch {
            logger.warning("knowledge not updated", metadata: ["project": "\(project)", "error": "\(error)"])
        }
    }

    // MARK: - The facts

    static func facts(files: [IndexedFile], lastJob: Job?) -> [(key: String, value: String)] {
        // Tools' own state (`.specify/`, `.claude/`, `.git/`) says nothing about the project's work.
        let files = files.filter { !PhaseEvidence.isToolState($0.path) }
        let names = Set(files.map { $0.path.fileName.lowercased() })
        let tests = files.filter { PhaseEvidence.isTest($0.path) }
        var facts: [(String, String)] = [
            ("languages", languages(files)),
            ("files_by_type", Dictionary(grouping: files, by: \.type).map { "\($0.value.count) \($0.key)" }.sorted().joined(separator: ", ")),
            ("has_tests", tests.isEmpty ? "no" : "yes (\(tests.count) test file\(tests.count == 1 ? "" : "s"))"),
            ("has_readme", names.contains { $0.hasPrefix("readme") } ? "yes" : "no"),
            ("has_spec", names.contains("spec.md") ? "yes" : "no"),
            ("has_plan", names.contains("plan.md") ? "yes" : "no"),
            ("has_tasks", names.contains("tasks.md") ? "yes" : "no"),
            ("largest_files", files.sorted { ($0.lines, $1.path) > ($1.lines, $0.path) }.prefix(3)
                .map { "\($0.path) (\(Phrase.number($0.lines)) line\($0.lines == 1 ? "" : "s"))" }.joined(separator: ", ")),
        ]
        if let lastJob {
            facts.append(("tasks", "\(lastJob.tasksDone) of \(lastJob.tasksTotal) done"))
            facts.append(("last_job", "#\(lastJob.id) \(lastJob.status.rawValue.replacingOccurrences(of: "_", with: " "))"
                          + (lastJob.failureReason.map { ": \($0)" } ?? "")))
        }
        return facts.map { (key: $0.0, value: $0.1.isEmpty ? "none" : $0.1) }
    }

    /// Lines by language, most first: "Python 120, Markdown 40".
    private static func languages(_ files: [IndexedFile]) -> String {
        var lines: [String: Int64] = [:]
        for file in files where file.type == "code" || file.type == "documentation" {
            lines[language(of: file.path), default: 0] += file.lines
        }
        return lines.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(6)
            .map { "\($0.key) \(Phrase.number($0.value))" }.joined(separator: ", ")
    }

    private static let languageByExtension: [String: String] = [
        "swift": "Swift", "py": "Python", "js": "JavaScript", "mjs": "JavaScript", "ts": "TypeScript", "tsx": "TypeScript",
        "go": "Go", "rs": "Rust", "c": "C", "h": "C", "cc": "C++", "cpp": "C++", "hpp": "C++", "java": "Java", "kt": "Kotlin",
        "rb": "Ruby", "sh": "Shell", "md": "Markdown", "rst": "reStructuredText", "txt": "Text", "json": "JSON", "yaml": "YAML",
        "yml": "YAML", "toml": "TOML", "html": "HTML", "css": "CSS", "sql": "SQL",
    ]

    private static func language(of path: String) -> String {
        let ext = (path as NSString).pathExtension.lowercased()
        return languageByExtension[ext] ?? (ext.isEmpty ? "Other" : ext.uppercased())
    }
}
