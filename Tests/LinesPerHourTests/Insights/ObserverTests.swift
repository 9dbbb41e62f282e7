import Foundation
import GRDB
import Testing
@testable import LinesPerHour

/// The observer and the curator, driven by real jobs of small shell agents.
@Suite struct ObserverTests {
    func insights(_ d: TestDaemon, job: Int64) async throws -> [Event] {
        try await d.store.insights(job: job, userID: nil).reversed()
    }

    func kinds(_ events: [Event]) -> [String] {
        events.compactMap { event in
            (try? JSONSerialization.jsonObject(with: Data((event.payload ?? "{}").utf8)) as? [String: Any])?["kind"] as? String
        }
    }

    @Test func aStalledAgentGetsOneStallInsightAndOneRecoveryNote() async throws {
        let scratch = try Scratch()
        let go = scratch.file("go"), done = scratch.file("done")
        // Silent until told to go; then busy (a line every 50 ms) until told it is done.
        let agent = try scratch.script("agent.sh", """
            echo one
            while [ ! -e \(go) ]; do sleep 0.05; done
            while [ ! -e \(done) ]; do echo busy; sleep 0.05; done
            """)
        let d = try await TestDaemon(scratch: scratch, agent: [agent]) {
            $0.stallAfter = .seconds(1)
            $0.observeInterval = .milliseconds(200)
        }
        try d.drop("Quiet.md", "x")
        let job = try await d.jobID(forSpoolFile: "Quiet.md")
        try await eventually("a stall insight") { kinds(try await insights(d, job: job)).contains("stalled") }
        #expect(FileManager.default.createFile(atPath: go, contents: nil))
        try await eventually("a recovery note") { kinds(try await insights(d, job: job)).contains("resumed") }
        #expect(FileManager.default.createFile(atPath: done, contents: nil))
        _ = try await d.finished(job)
        // One insight per stall: stalls and recoveries alternate (a loaded machine may see the
        // daemon's own wrap-up after the agent exits as one more quiet spell).
        let said = kinds(try await insights(d, job: job)).filter { $0 == "stalled" || $0 == "resumed" }
        #expect(Array(said.prefix(2)) == ["stalled", "resumed"])
        #expect(zip(said, said.dropFirst()).allSatisfy { $0 != $1 })
        #expect(try await insights(d, job: job).first { $0.text.contains("stalled") }?.text.contains("no output and no file written") == true)
        try await d.stop()
    }

    @Test func aFailedJobsInsightNamesTheExitCodeAndQuotesTheLastError() async throws {
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", "echo 'ERROR: the database exploded' >&2; echo still here; exit 3"])
        try d.drop("Broken.md", "x")
        let job = try await d.jobID(forSpoolFile: "Broken.md")
        try await eventually("the failure insight") { kinds(try await insights(d, job: job)).contains("finished") }
        let failure = try #require(try await insights(d, job: job).last { kinds([$0]) == ["finished"] })
        #expect(failure.level == .error)
        #expect(failure.text.contains("exit code 3"))
        #expect(failure.text.contains("“ERROR: the database exploded”"))
        #expect(failure.source == "observer")
        try await d.stop()
    }

    @Test func phaseDurationsAddUpToTheJobsDuration() async throws {
        let d = try await TestDaemon(agent: ["/bin/sh", "-c",
            "echo 'Phase: specify'; sleep 0.3; echo 'Phase: plan'; sleep 0.3; echo 'Phase: implement'; sleep 0.3; echo 'Phase: test'"])
        try d.drop("Timed.md", "x")
        let job = try await d.jobID(forSpoolFile: "Timed.md")
        try await eventually("the summary") { kinds(try await insights(d, job: job)).contains("finished") }
        let summary = try #require(try await insights(d, job: job).last { kinds([$0]) == ["finished"] })
        let payload = try #require(try JSONSerialization.jsonObject(with: Data(summary.payload!.utf8)) as? [String: Any])
        let phases = try #require(payload["phases_ms"] as? [String: Int])
        let duration = try #require(payload["duration_ms"] as? Int)
        #expect(phases.values.reduce(0, +) == duration)
        #expect((phases["plan"] ?? 0) > 0)
        #expect(summary.text.contains("completed in"))
        #expect(kinds(try await insights(d, job: job)).contains("phase"))
        try await d.stop()
    }

    @Test func knowledgeMatchesTheFilesChangesWithThemAndIsNotRepeated() async throws {
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", """
            mkdir -p src tests .tool && printf '# Demo\\n' > README.md && printf 'a\\nb\\nc\\n' > src/app.py && printf 't\\n' > tests/test_app.py
            seq 1 100 > .tool/spec.md
            """])
        try d.drop("Known.md", "x")
        let job = try await d.jobID(forSpoolFile: "Known.md")
        _ = try await d.finished(job)
        func facts() async throws -> [String: String] {
            Dictionary(uniqueKeysWithValues: (try await d.store.knowledge(project: "Known", userID: nil) ?? []).map { ($0.key, $0.value) })
        }
        try await eventually("the facts") { try await facts()["last_job"] == "#\(job) completed" }
        var known = try await facts()
        #expect(known["languages"] == "Python 4, Markdown 1")
        #expect(known["has_readme"] == "yes")
        #expect(known["has_tests"] == "yes (1 test file)")
        #expect(known["has_spec"] == "no")
        #expect(known["files_by_type"] == "1 documentation, 2 code")
        let checkpoint = try await d.database.read { try Int64.fetchOne($0, sql: "SELECT max(id) FROM stream_messages") ?? 0 }

        // The same bytes written again change nothing; more Python changes the languages.
        let project = d.scratch.file("generated_projects/Known")
        try "# Demo\n".write(toFile: project + "/README.md", atomically: true, encoding: .utf8)
        try "a\nb\nc\nd\ne\n".write(toFile: project + "/src/app.py", atomically: true, encoding: .utf8)
        try await eventually("the new languages") { try await facts()["languages"] == "Python 6, Markdown 1" }
        known = try await facts()
        #expect(known["largest_files"]?.hasPrefix("src/app.py (5 lines)") == true)
        let rebroadcast = try await d.database.read { db in
            try String.fetchAll(db, sql: "SELECT message_text FROM stream_messages WHERE stream_type = 'knowledge' AND id > ?",
                                arguments: [checkpoint])
        }
        #expect(rebroadcast.count == 2, "\(rebroadcast)")   // languages and largest files, nothing else
        #expect(rebroadcast.allSatisfy { $0.contains("languages") || $0.contains("largest files") })
        try await d.stop()
    }

    /// Found by schemathesis: a user given Int64.max credits crashed the observer.
    @Test func creditsAndRatesNearInt64sEndNeverOverflow() {
        var notebook = Notebook()
        let job = Job(id: 1, project: "P", user: "u@example.com", specification: "x", status: .completed, currentPhase: .review,
                      linesWritten: 1_000_000_000_000_000, tasksDone: 0, tasksTotal: 0, exitCode: 0, failureReason: nil,
                      createdAt: "2026-01-01T00:00:00.000Z", startedAt: "2026-01-01T00:00:00.000Z",
                      finishedAt: "2026-01-01T00:00:00.001Z", updatedAt: "2026-01-01T00:00:00.001Z")
        #expect(notebook.credits(of: job, left: .max, given: .max) == nil)
        #expect(notebook.credits(of: job, left: 1, given: .max) != nil)
        #expect(notebook.update(with: job).last?.text.contains("1,000,000,000,000,000 lines written") == true)
    }

    /// Seen in 8 of 11 short jobs: a progress event published after the final
    /// one made the observer say "started", "moved" and "completed" again.
    /// (At the source, the store publishes none: ``StoreTests``.)
    @Test func nothingIsSaidOfAJobAfterItsFinalEvent() throws {
        var notebook = Notebook()
        func job(_ status: JobStatus, _ phase: Phase) -> Job {
            Job(id: 7, project: "P", user: "u@example.com", specification: "", status: status, currentPhase: phase,
                linesWritten: 3, tasksDone: 0, tasksTotal: 0, exitCode: status == .completed ? 0 : nil, failureReason: nil,
                createdAt: "2026-01-01T00:00:00.000Z", startedAt: "2026-01-01T00:00:00.000Z",
                finishedAt: status.isFinal ? "2026-01-01T00:00:01.000Z" : nil, updatedAt: "2026-01-01T00:00:01.000Z")
        }
        #expect(!notebook.update(with: job(.inProgress, .implement)).isEmpty)
        #expect(notebook.update(with: job(.completed, .implement)).contains { $0.text.contains("completed") })
        #expect(notebook.update(with: job(.completed, .implement)).isEmpty, "a late progress event of an ended job")
    }
}
