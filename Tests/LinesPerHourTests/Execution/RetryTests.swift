import Foundation
import Testing
@testable import LinesPerHour

/// Retrying a job by hand (API, command line), resuming its agent's session,
/// retrying a transient failure by itself, and what the agent CLI said it used
/// (kept, shown, and taken from a budget).
@Suite struct RetryTests {
    let api = APITests()

    @Test func aRetryIsANewJobLinkedToTheOneItRetries() async throws {
        let scratch = try Scratch()
        // Runs until the test lets it finish: a job in progress for as long as needed.
        let agent = try scratch.script("agent.sh", "while [ ! -e \(scratch.file("go")) ]; do sleep 0.05; done; echo done")
        let d = try await TestDaemon(scratch: scratch, agent: [agent])
        let admin = d.daemon.newAdminToken!
        let first = try await api.call(d, "POST", "/projects/Again/jobs", token: admin, body: ["specification": "do it"]).object["id"] as! Int
        try await eventually("the job to run") { try await d.job(Int64(first))?.status == .inProgress }
        let early = try await api.call(d, "POST", "/jobs/\(first)/retry", token: admin)
        #expect(early.status == 409, "a job that has not ended is not retried")
        writeFile(scratch.file("go"), "")
        _ = try await d.finished(Int64(first))

        let retried = try await api.call(d, "POST", "/jobs/\(first)/retry", token: admin)
        #expect(retried.status == 201)
        #expect(retried.object["retry_of"] as? Int == first)
        #expect(retried.object["specification"] as? String == "do it" && retried.object["project"] as? String == "Again")
        let second = try #require(retried.object["id"] as? Int)
        #expect(try await d.job(Int64(first))?.retriedBy == Int64(second))
        #expect(try await d.finished(Int64(second)).status == .completed)
        let resumed = try await api.call(d, "POST", "/jobs/\(first)/retry", token: admin, body: ["resume": true])
        #expect(resumed.status == 409, "a command-profile job has no agent session to resume")
        #expect(try await api.call(d, "POST", "/jobs/\(first)/retry", token: admin, body: ["resum": true]).status == 400)

        // The command line: a retry of the retry, by its id.
        let daemon = ["--server", "http://127.0.0.1:\(d.port)", "--token", admin]
        let (status, said) = try await CommandLineTests().lph(["retry", String(second)] + daemon)
        #expect(status == 0 && said.contains("job \(second): retried as job "))
        try await d.stop()
    }

    @Test func resumeContinuesTheAgentsSessionAndUsageIsKept() async throws {
        let scratch = try Scratch()
        // A stream-json agent CLI: its session, one call's usage, and the arguments it was given.
        let agent = try scratch.script("agent.sh", #"""
            echo "$@|$LPH_RESUME_SESSION" > \#(scratch.file("args"))-$LPH_JOB_ID
            echo '{"type":"system","subtype":"init","session_id":"session-'"$LPH_JOB_ID"'","model":"m"}'
            echo '{"type":"result","subtype":"success","total_cost_usd":0.25,"usage":{"input_tokens":100,"output_tokens":20,"cache_read_input_tokens":5,"cache_creation_input_tokens":7}}'
            """#)
        let d = try await TestDaemon(scratch: scratch, agent: [agent]) { $0.agentProfile = .streamJSON }
        let admin = d.daemon.newAdminToken!
        let first = try #require(try await api.call(d, "POST", "/projects/Resumed/jobs", token: admin, body: ["specification": "x"])
            .object["id"] as? Int)
        let job = try await d.finished(Int64(first))
        #expect(job.sessionId == "session-\(first)")
        #expect(job.usage == AgentUsage(inputTokens: 100, outputTokens: 20, cacheReadTokens: 5, cacheWriteTokens: 7, costUSD: 0.25))
        #expect(try String(contentsOfFile: scratch.file("args-\(first)"), encoding: .utf8) == "|\n")

        let resumed = try await api.call(d, "POST", "/jobs/\(first)/retry", token: admin, body: ["resume": true])
        #expect(resumed.status == 201 && resumed.object["resume_session_id"] as? String == "session-\(first)")
        let second = try #require(resumed.object["id"] as? Int)
        _ = try await d.finished(Int64(second))
        let given = try String(contentsOfFile: scratch.file("args-\(second)"), encoding: .utf8)
        #expect(given == "--resume session-\(first)|session-\(first)\n")

        // Both jobs' usage, summed for their user (the admin, user 1), in /metrics.
        let metrics = try await d.metrics()
        let cost = metrics.split(separator: "\n").first { $0.hasPrefix("lph_agent_cost_usd{") && $0.contains(#"user_id="1""#) }
        #expect(cost?.hasSuffix(" 0.5") == true, "\(cost ?? "no lph_agent_cost_usd line")")
        // The registry is the process's: other tests' daemons have users too, so the line is picked by user as well.
        let input = metrics.split(separator: "\n").first {
            $0.hasPrefix("lph_agent_tokens{") && $0.contains(#"kind="input""#) && $0.contains(#"user_id="1""#)
        }
        #expect(input?.hasSuffix(" 200.0") == true, "\(input ?? "no lph_agent_tokens line")")
        try await d.stop()
    }

    @Test func aProviderLimitIsRetriedAfterTheDelayAndAnAgentsOwnFailureIsNot() async throws {
        let scratch = try Scratch()
        // Limited: hits a rate limit once, then works. Always: always limited. Broken: fails of its own making.
        let agent = try scratch.script("agent.sh", """
            runs=\(scratch.file("runs"))-$LPH_PROJECT
            echo x >> "$runs"
            case "$LPH_PROJECT" in
              Limited) [ "$(wc -l < "$runs")" -gt 1 ] && exit 0 ;;
              Broken) echo 'syntax error in plan' >&2; exit 3 ;;
            esac
            echo 'API Error: 429 {"type":"rate_limit_error"}' >&2
            exit 1
            """)
        let d = try await TestDaemon(scratch: scratch, agent: [agent]) {
            $0.retries = 2
            $0.retryDelay = .milliseconds(300)
        }
        let admin = d.daemon.newAdminToken!
        func submit(_ project: String) async throws -> Int64 {
            Int64(try #require(try await api.call(d, "POST", "/projects/\(project)/jobs", token: admin, body: ["specification": "x"])
                .object["id"] as? Int))
        }
        func chain(_ project: String) async throws -> [Job] {
            try await d.store.jobs(project: project).sorted { $0.id < $1.id }
        }
        let limited = try await submit("Limited")
        let broken = try await submit("Broken")
        let always = try await submit("Always")

        try await eventually("the limited job's retry to complete") { try await chain("Limited").last?.status == .completed }
        let limitedJobs = try await chain("Limited")
        #expect(limitedJobs.count == 2 && limitedJobs[0].status == .failed && limitedJobs[1].retryOf == limited)
        let retry = limitedJobs[1]
        // Its run_after is set when the first fails, before that job's end is written: measured from there.
        let runAfter = try #require(retry.runAfter.flatMap(Timestamp.milliseconds))
        let delay = runAfter - Timestamp.milliseconds(limitedJobs[0].startedAt!)!
        let waited = try #require(Timestamp.milliseconds(retry.startedAt!)) - runAfter
        #expect(delay >= 300 && waited >= 0, "the retry waited its delay (\(delay) ms after the first started, started \(waited) ms after)")
        #expect(try await d.store.logs(job: limited).contains { $0.message.contains("retried as job \(retry.id)") })

        try await eventually("the last retry of the job that stays limited to end") {
            let jobs = try await chain("Always")
            return jobs.count == 3 && jobs.allSatisfy(\.status.isFinal)
        }
        let alwaysJobs = try await chain("Always")
        #expect(alwaysJobs.map(\.retryOf) == [nil, always, alwaysJobs[1].id])
        #expect(try await d.store.logs(job: alwaysJobs[2].id).contains { $0.message.hasPrefix("not retried: retried 2 times already") })

        #expect(try await d.finished(broken).status == .failed)
        #expect(try await chain("Broken").count == 1, "an agent's own failure is not retried")
        try await d.stop()
    }

    @Test func aUserWhoseBudgetIsSpentHasTheirJobStoppedAndNoMore() async throws {
        let scratch = try Scratch()
        // Two calls of $0.25 each, then it keeps running: only the budget stops it.
        let agent = try scratch.script("agent.sh", #"""
            echo '{"type":"result","subtype":"success","total_cost_usd":0.25,"usage":{"input_tokens":10,"output_tokens":1}}'
            sleep 0.2
            echo '{"type":"result","subtype":"success","total_cost_usd":0.25,"usage":{"input_tokens":10,"output_tokens":1}}'
            while :; do sleep 0.05; done
            """#)
        let d = try await TestDaemon(scratch: scratch, agent: [agent]) { $0.agentProfile = .streamJSON }
        let admin = d.daemon.newAdminToken!
        let token = try await api.newUser(d, "thrifty@example.com", credits: 1000)
        let user = try #require(try await d.store.user(email: "thrifty@example.com"))
        #expect(try await api.call(d, "POST", "/users/\(user.id)/budget", token: admin, body: ["budget_usd": -1]).status == 422)
        let set = try await api.call(d, "POST", "/users/\(user.id)/budget", token: admin, body: ["budget_usd": 0.4])
        #expect(set.status == 200 && set.object["budget_usd"] as? Double == 0.4)

        let id = try #require(try await api.call(d, "POST", "/projects/Thrift/jobs", token: token, body: ["specification": "x"])
            .object["id"] as? Int)
        let job = try await d.finished(Int64(id))
        #expect(job.status == .failed && job.failureReason == StopReason.budgetSpent.message)
        #expect(job.usage.costUSD == 0.5)
        let left = try #require(try await d.store.user(email: "thrifty@example.com")?.budgetUsd)
        #expect(abs(left - -0.1) < 1e-9, "the budget left: \(left)")
        let refused = try await api.call(d, "POST", "/projects/Thrift/jobs", token: token, body: ["specification": "again"])
        #expect(refused.status == 422 && (refused.object["error"] as? String)?.contains("no budget left") == true)
        // No budget: the same user runs again.
        #expect(try await api.call(d, "POST", "/users/\(user.id)/budget", token: admin, body: ["budget_usd": NSNull()]).status == 200)
        #expect(try await api.call(d, "POST", "/projects/Thrift/jobs", token: token, body: ["specification": "again"]).status == 201)
        try await d.stop()
    }
}
