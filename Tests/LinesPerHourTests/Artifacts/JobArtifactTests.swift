import Foundation
import GRDB
import Testing
@testable import LinesPerHour

/// Jobs and their files: attribution, lines written, credits, the barrier, phases from files.
@Suite struct JobArtifactTests {
    @Test func aJobIsDoneOnlyOnceItsLastFileIsCounted() async throws {
        let scratch = try Scratch()
        // Writes 300 files and exits at once: the status may change only after all are indexed.
        let agent = try scratch.script("agent.sh", """
            mkdir -p out
            i=0; while [ $i -lt 300 ]; do printf 'a\\nb\\nc\\n' > out/f$i.txt; i=$((i+1)); done
            """)
        let d = try await TestDaemon(scratch: scratch, agent: [agent])
        for n in 1...3 { try d.drop("Many\(n).md", "x") }
        for n in 1...3 {
            let id = try await d.jobID(forSpoolFile: "Many\(n).md")
            try await eventually("job \(id) to end") {
                // In one read: a final status implies every row and the final count.
                let (status, lines, rows) = try d.database.read { db in
                    (try String.fetchOne(db, sql: "SELECT status FROM jobs WHERE id = ?", arguments: [id]),
                     try Int64.fetchOne(db, sql: "SELECT lines_written FROM jobs WHERE id = ?", arguments: [id]),
                     try Int64.fetchOne(db, sql: "SELECT count(*) FROM artifacts WHERE job_id = ?", arguments: [id]))
                }
                guard status == "completed" else { return false }
                #expect(rows == 300)
                #expect(lines == 900)
                return true
            }
        }
        try await d.stop()
    }

    @Test func linesWrittenAreChargedAndAJobOutOfCreditsIsStopped() async throws {
        let scratch = try Scratch()
        let agent = try scratch.script("agent.sh", """
            seq 1 30 > small.txt
            sleep 0.2
            seq 1 100 > big.txt
            exec sleep 1000
            """)
        let d = try await TestDaemon(scratch: scratch, agent: [agent])
        _ = try await d.store.createUser(email: "frugal@example.com", role: .user, credits: 50)
        try d.drop("Frugal.json", #"{"specification": "x", "user": "frugal@example.com"}"#)
        let job = try await d.finished(try await d.jobID(forSpoolFile: "Frugal.json"))
        #expect(job.status == .failed)
        #expect(job.failureReason == "line credits exhausted")
        #expect(job.linesWritten == 130)
        #expect(try await d.store.user(email: "frugal@example.com")?.lineCredits == 0)
        // Without credits, the next job file is refused at the door.
        try d.drop("Again.json", #"{"specification": "x", "user": "frugal@example.com"}"#)
        #expect(try await d.waitForRejection("Again.json") == "user frugal@example.com has no line credits left")
        try await d.stop()
    }

    @Test func aSilentAgentsPhasesAndTasksComeFromItsFiles() async throws {
        let scratch = try Scratch()
        let agent = try scratch.script("agent.sh", """
            echo '# Spec' > spec.md
            echo '# Plan' > plan.md
            printf -- '- [ ] T001 a\\n- [ ] T002 b\\n- [ ] T003 c\\n' > tasks.md
            mkdir -p src tests
            echo 'x = 1' > src/app.py
            printf -- '- [x] T001 a\\n- [X] T002 b\\n- [ ] T003 c\\n' > tasks.md
            echo 'def test_x(): pass' > tests/test_app.py
            echo '# Late plan' > plan.md
            """)
        let d = try await TestDaemon(scratch: scratch, agent: [agent])
        try d.drop("Quiet.md", "x")
        let id = try await d.jobID(forSpoolFile: "Quiet.md")
        let job = try await d.finished(id)
        #expect(job.status == .completed)
        #expect(job.currentPhase == .test)  // forward only: the late plan.md does not take it back
        #expect(job.tasksDone == 2)
        #expect(job.tasksTotal == 3)
        let phases = try await d.store.logs(job: id).filter { $0.source == .system && $0.message.hasPrefix("phase: ") }.map(\.message)
        #expect(phases.first == "phase: specify")
        #expect(phases.last == "phase: test")
        #expect(phases == phases.sorted { Phase(rawValue: String($0.dropFirst(7)))! < Phase(rawValue: String($1.dropFirst(7)))! })
        try await d.stop()
    }

    @Test func jobsEventsAreCoalescedUnderABurst() async throws {
        let scratch = try Scratch()
        let agent = try scratch.script("agent.sh", """
            i=0; while [ $i -lt 2000 ]; do echo $i > f$i.txt; i=$((i+1)); done
            """)
        let d = try await TestDaemon(scratch: scratch, agent: [agent])
        try d.drop("Coalesce.md", "x")
        let id = try await d.jobID(forSpoolFile: "Coalesce.md")
        let job = try await d.finished(id)
        #expect(job.linesWritten == 2000)
        let (jobRows, artifactRows) = try await d.database.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM stream_messages WHERE stream_type = 'jobs' AND job_id = ?", arguments: [id])!,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM stream_messages WHERE stream_type = 'artifacts' AND job_id = ?", arguments: [id])!)
        }
        #expect(artifactRows >= 2000)  // a file caught half-written is indexed again once closed
        #expect(jobRows < artifactRows / 10)
        try await d.stop()
    }
}
