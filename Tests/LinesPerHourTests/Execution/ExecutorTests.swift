import Foundation
import Testing
@testable import LinesPerHour

/// Jobs run as real subprocesses, written by the tests as small shell agents.
@Suite struct ExecutorTests {
    @Test func lifecycleWithPhasesLevelsAndEnvironment() async throws {
        let scratch = try Scratch()
        let agent = try scratch.script("agent.sh", #"""
            echo "job=$LPH_JOB_ID project=$LPH_PROJECT"
            echo "spec-from-stdin=$(cat)"
            echo "spec-file=$(cat "$LPH_SPEC_FILE")"
            echo "cwd=$(basename "$PWD")"
            echo "== SPECIFY =="
            echo "/speckit.plan"
            echo "WARN careful"
            echo "something odd" >&2
            echo "[ERROR] bad thing" >&2
            echo "Phase: implement"
            echo "speckit test"
            echo "== REVIEW =="
            """#)
        let d = try await TestDaemon(scratch: scratch, agent: [agent])
        try d.drop("Life.md", "The specification")
        let id = try await d.jobID(forSpoolFile: "Life.md")
        let job = try await d.finished(id)
        #expect(job.status == .completed)
        #expect(job.currentPhase == .review)
        #expect(job.startedAt != nil && job.finishedAt != nil)
        let lines = try await d.agentLines(id)
        let text = lines.map(\.message)
        #expect(text.contains("job=\(id) project=Life"))
        #expect(text.contains("spec-from-stdin=The specification"))
        #expect(text.contains("spec-file=The specification"))
        #expect(text.contains("cwd=Life"))
        #expect(lines.first { $0.message == "WARN careful" }?.level == .warning)
        #expect(lines.first { $0.message == "something odd" }?.level == .warning)
        #expect(lines.first { $0.message == "[ERROR] bad thing" }?.level == .error)
        #expect(lines.first { $0.message == "== SPECIFY ==" }?.level == .info)
        let phases = try await d.store.logs(job: id, limit: 10_000).filter { $0.source == .system && $0.message.hasPrefix("phase: ") }
        #expect(phases.map(\.message) == ["phase: specify", "phase: plan", "phase: implement", "phase: test", "phase: review"])
        try await d.stop()
    }

    @Test func twoHundredThousandLinesAllStoredInOrder() async throws {
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", "seq 1 200000; seq 1 1000 >&2"])
        try d.drop("Flood.md", "flood")
        let id = try await d.jobID(forSpoolFile: "Flood.md")
        #expect(try await d.finished(id, timeout: .seconds(300)).status == .completed)
        let lines = try await d.agentLines(id)
        let out = lines.filter { $0.level == .info }.map(\.message)
        let err = lines.filter { $0.level == .warning }.map(\.message)
        #expect(out.count == 200_000)
        #expect(out == (1...200_000).map(String.init))
        #expect(err == (1...1000).map(String.init))
        #expect(zip(lines, lines.dropFirst()).allSatisfy { $0.id < $1.id })
        try await d.stop()
    }

    @Test func aNonZeroExitFailsTheJobWithItsCause() async throws {
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", "echo about to fail; exit 3"])
        try d.drop("Fail.md", "x")
        let id = try await d.jobID(forSpoolFile: "Fail.md")
        let job = try await d.finished(id)
        #expect(job.status == .failed)
        #expect(job.exitCode == 3)
        #expect(job.failureReason == "agent exited with status 3")
        #expect(try await d.store.logs(job: id).last?.message == "agent exited with status 3")
        #expect(try await d.store.logs(job: id).last?.level == .error)
        try await d.stop()
    }

    @Test func theStreamJSONProfileLogsEventsInWordsChosenPerJob() async throws {
        let scratch = try Scratch()
        let agent = try scratch.script("agent.sh", #"""
            read -r spec
            echo '{"type":"assistant","message":{"content":[{"type":"text","text":"Working on: '"$spec"'"}]}}'
            echo '{"type":"assistant","message":{"content":[{"type":"tool_use","name":"Write","input":{"file_path":"plan.md"}}]}}'
            echo '/speckit.implement'
            """#)
        let d = try await TestDaemon(scratch: scratch, agent: [agent])
        try d.drop("Json.json", #"{"specification": "the spec", "agent": "stream-json"}"#)
        try d.drop("Plain.md", "the spec")
        let json = try await d.finished(try await d.jobID(forSpoolFile: "Json.json"))
        let plain = try await d.finished(try await d.jobID(forSpoolFile: "Plain.md"))
        #expect(json.agent == .streamJSON && plain.agent == nil)
        #expect(try await d.agentLines(json.id).map(\.message) == ["Working on: the spec", "tool: Write plan.md", "/speckit.implement"])
        #expect(json.currentPhase == .implement)
        #expect(try await d.agentLines(plain.id).first?.message.hasPrefix(#"{"type":"assistant""#) == true)
        #expect(try await d.store.logs(job: json.id).contains { $0.source == .system && $0.message == "running: \(agent)" })
        try await d.stop()
    }

    @Test func aCrashWithNoOutputStillNamesItsCause() async throws {
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", "kill -SEGV $$"])
        try d.drop("Crash.md", "x")
        let job = try await d.finished(try await d.jobID(forSpoolFile: "Crash.md"))
        #expect(job.status == .failed)
        #expect(job.failureReason?.hasPrefix("agent killed by signal 11") == true)
        try await d.stop()
    }

    @Test func aMissingCommandFailsTheJob() async throws {
        let d = try await TestDaemon(agent: ["lph-no-such-agent-command", "--flag"])
        try d.drop("Missing.md", "x")
        let id = try await d.jobID(forSpoolFile: "Missing.md")
        let job = try await d.finished(id)
        #expect(job.status == .failed)
        #expect(job.failureReason == "command not found: lph-no-such-agent-command")
        #expect(try await d.store.logs(job: id).contains { $0.message == "command not found: lph-no-such-agent-command" })
        try await d.stop()
    }

    @Test func cancelStopsTheWholeProcessGroupGrandchildrenToo() async throws {
        let scratch = try Scratch()
        let agent = try scratch.script("agent.sh", """
            sh -c 'trap "" TERM; echo $$ > grandchild.pid; exec sleep 1000' &
            echo started
            wait
            """)
        let d = try await TestDaemon(scratch: scratch, agent: [agent])
        try d.drop("Cancel.md", "x")
        let id = try await d.jobID(forSpoolFile: "Cancel.md")
        let pidFile = scratch.file("generated_projects/Cancel/grandchild.pid")
        try await eventually("the grandchild to start") {
            (try? String(contentsOfFile: pidFile, encoding: .utf8))?.hasSuffix("\n") == true
        }
        let grandchild = pid_t(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))!
        #expect(kill(grandchild, 0) == 0)
        #expect(try await d.daemon.executor.cancel(id) == .stopping)
        let job = try await d.finished(id)
        #expect(job.status == .cancelled)
        #expect(job.failureReason == "cancelled by request")
        // The grandchild ignores TERM: only the group's KILL after the grace ends it.
        try await eventually("the grandchild to die") { kill(grandchild, 0) != 0 }
        #expect(try await d.daemon.executor.cancel(id) == .alreadyEnded(.cancelled))
        try await d.stop()
    }

    /// Seen: 30 children in the agent's process group and one that called
    /// `setsid` were still alive after their job completed.
    @Test func nothingAJobStartedOutlivesIt() async throws {
        let scratch = try Scratch()
        let agent = try scratch.script("agent.sh", """
            for i in $(seq 1 30); do sleep 1000 & echo $! >> ../pids; done
            setsid sleep 1000 & echo $! >> ../pids
            echo started
            """)
        let d = try await TestDaemon(scratch: scratch, agent: [agent])
        try d.drop("Leaves.md", "x")
        let job = try await d.finished(try await d.jobID(forSpoolFile: "Leaves.md"))
        #expect(job.status == .completed)
        let pids = try String(contentsOfFile: scratch.file("generated_projects/pids"), encoding: .utf8).split(separator: "\n").compactMap { pid_t($0) }
        #expect(pids.count == 31)
        func alive(_ pid: pid_t) -> Bool {
            // A zombie is dead: only its parent's wait is missing.
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
            return !stat.contains(") Z ")
        }
        try await eventually("every process the job started to be gone") { !pids.contains(where: alive) }
        #expect(try await d.store.logs(job: job.id, limit: 100).contains { $0.message == "stopped 31 processes the agent left running" })
        try await d.stop()
    }

    @Test func aPendingJobCanBeCancelledBeforeItStarts() async throws {
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", "sleep 1000"]) { $0.maxJobs = 1 }
        try d.drop("First.md", "x")
        let first = try await d.jobID(forSpoolFile: "First.md")
        try await eventually("the first job to run") { try await d.job(first)?.status == .inProgress }
        try d.drop("Second.md", "x")
        let second = try await d.jobID(forSpoolFile: "Second.md")
        #expect(try await d.job(second)?.status == .pending)
        #expect(try await d.daemon.executor.cancel(second) == .cancelled)
        #expect(try await d.job(second)?.status == .cancelled)
        _ = try await d.daemon.executor.cancel(first)
        #expect(try await d.finished(first).status == .cancelled)
        try await d.stop()
    }

    @Test func aTimeOutStopsAndFailsTheJob() async throws {
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", "echo waiting; sleep 1000"]) { $0.jobTimeout = .seconds(1) }
        try d.drop("Slow.md", "x")
        let job = try await d.finished(try await d.jobID(forSpoolFile: "Slow.md"))
        #expect(job.status == .failed)
        #expect(job.failureReason == "timed out after 1 s")
        try await d.stop()
    }

    @Test func jobsRunInSubmissionOrderAtMostMaxJobsAtOnce() async throws {
        let scratch = try Scratch()
        let ledger = scratch.file("ledger")
        let agent = try scratch.script("agent.sh", """
            echo "start $LPH_JOB_ID $(ls \(scratch.path)/running | wc -l)" >> \(ledger)
            touch \(scratch.path)/running/$LPH_JOB_ID
            sleep 0.2
            rm \(scratch.path)/running/$LPH_JOB_ID
            """)
        try FileManager.default.createDirectory(atPath: scratch.file("running"), withIntermediateDirectories: true)
        let d = try await TestDaemon(scratch: scratch, agent: [agent]) { $0.maxJobs = 2 }
        for n in 1...6 { try d.drop("j\(n).md", "x") }
        var ids: [Int64] = []
        for n in 1...6 { ids.append(try await d.jobID(forSpoolFile: "j\(n).md")) }
        for id in ids { #expect(try await d.finished(id).status == .completed) }
        // Started in submission order (the scheduler commits each start in turn)...
        var started: [String] = []
        for id in ids { started.append(try await d.job(id)!.startedAt!) }
        #expect(started == started.sorted())
        // ...and never more than two at once: each agent saw at most one other running.
        let starts = try String(contentsOfFile: ledger, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ") }
        #expect(starts.count == 6)
        #expect(starts.allSatisfy { Int($0[2])! < 2 })
        try await d.stop()
    }
}
