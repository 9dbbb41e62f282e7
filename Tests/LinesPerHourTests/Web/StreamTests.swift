import Foundation
import Testing
@testable import LinesPerHour

/// Event streams over real HTTP on 127.0.0.1.
@Suite struct StreamTests {
    func token(_ d: TestDaemon) -> String { d.daemon.newAdminToken! }

    func logNumbers(_ frames: [SSEClient.Frame]) -> [Int] {
        frames.filter { $0.event == "log" }.compactMap { frame in
            (try? JSONSerialization.jsonObject(with: Data(frame.data.utf8)) as? [String: Any])?["text"] as? String
        }.compactMap { Int($0) }
    }

    @Test func aJobStreamDeliversEveryLineInOrderThenEnds() async throws {
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", "seq 1 200000"])
        try d.drop("Stream.md", "x")
        let id = try await d.jobID(forSpoolFile: "Stream.md")
        let client = try SSEClient(port: d.port, path: "/jobs/\(id)/logs/stream", token: token(d))
        try await eventually("the end of the stream", timeout: .seconds(300)) { client.ended }
        let frames = client.frames
        #expect(client.status == 200)
        #expect(client.headers.lowercased().contains("content-type: text/event-stream"))
        #expect(frames.last?.event == "end")
        #expect(client.completed, "the response ended with its last chunk, not a cut connection")
        let ids = frames.compactMap(\.id)
        #expect(zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 })
        #expect(logNumbers(frames) == Array(1...200_000))
        try await d.stop()
    }

    @Test func reconnectingWithLastEventIDLosesNothingAndRepeatsNothing() async throws {
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", "seq 1 30000"])
        try d.drop("Again.md", "x")
        let id = try await d.jobID(forSpoolFile: "Again.md")
        var collected: [SSEClient.Frame] = []
        var last: Int64? = nil
        var rounds = 0
        while collected.last?.event != "end" {
            rounds += 1
            let client = try SSEClient(port: d.port, path: "/jobs/\(id)/logs/stream", token: token(d), lastEventID: last,
                                       hangUpAfter: Int.random(in: 1...4000))
            try await eventually("a disconnect") { client.ended }
            collected += client.frames
            last = collected.compactMap(\.id).last ?? last
        }
        #expect(rounds > 1)
        #expect(logNumbers(collected) == Array(1...30000))
        let ids = collected.compactMap(\.id)
        #expect(Set(ids).count == ids.count)
        try await d.stop()
    }

    @Test func aClientThatReadsNothingForAWhileStillGetsEverything() async throws {
        // The job prints once the client's stream is open, so that every line comes live, through its feed.
        let scratch = try Scratch()
        let agent = try scratch.script("agent.sh", "while [ ! -e \(scratch.file("go")) ]; do sleep 0.05; done; seq 1 200000")
        let d = try await TestDaemon(scratch: scratch, agent: [agent])
        try d.drop("Slow.md", "x")
        let id = try await d.jobID(forSpoolFile: "Slow.md")
        let overflowsBefore = try await metric(d, "lph_sse_overflows_total")
        let client = try SSEClient(port: d.port, path: "/jobs/\(id)/logs/stream", token: token(d))
        try await eventually("the client's stream open") { client.status == 200 }
        client.pause()
        writeFile(scratch.file("go"), "")
        _ = try await d.finished(id, timeout: .seconds(300))
        client.resume()
        try await eventually("the end of the stream", timeout: .seconds(300)) { client.ended }
        #expect(logNumbers(client.frames) == Array(1...200_000))
        #expect(try await metric(d, "lph_sse_overflows_total") > overflowsBefore, "the stream fell further behind than its feed holds, and caught up")
        try await d.stop()
    }

    @Test func theMultiplexedStreamReplaysAfterAnIdAndGoesLive() async throws {
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", "echo one"])
        try d.drop("First.md", "x")
        _ = try await d.finished(try await d.jobID(forSpoolFile: "First.md"))
        let replayed = try SSEClient(port: d.port, path: "/streams?types=jobs,logs&after=0", token: token(d))
        defer { replayed.close() }
        try await eventually("the replay") { replayed.frames.contains { $0.data.contains("completed") } }
        #expect(Set(replayed.frames.map(\.event)) == ["jobs", "logs"])
        let ids = replayed.frames.compactMap(\.id)
        #expect(zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 })
        // Live: a second job's events arrive on the same connection, after the replayed ones.
        try d.drop("Second.md", "x")
        let second = try await d.jobID(forSpoolFile: "Second.md")
        try await eventually("the live events") { replayed.frames.contains { $0.data.contains("job \(second) completed") } }
        let after = try SSEClient(port: d.port, path: "/streams/jobs?after=\(ids.last!)", token: token(d))
        defer { after.close() }
        try await eventually("only the newer rows") { after.frames.contains { $0.data.contains("job \(second) completed") } }
        #expect(after.frames.allSatisfy { $0.id! > ids.last! && $0.event == "jobs" })
        try await d.stop()
    }

    /// `?tail=N` replays only the last N rows (a dashboard on a long-lived
    /// database), then goes live; a reconnect resumes by id as always.
    @Test func aTailReplaysOnlyTheLastRowsThenGoesLive() async throws {
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", "echo one"])
        for name in ["A.md", "B.md", "C.md"] {
            try d.drop(name, "x")
            _ = try await d.finished(try await d.jobID(forSpoolFile: name))
        }
        let all = try await d.database.read { try Int64.fetchAll($0, sql: "SELECT id FROM stream_messages WHERE stream_type = 'jobs' ORDER BY id") }
        #expect(all.count > 4)
        let tail = try SSEClient(port: d.port, path: "/streams?types=jobs&tail=4", token: token(d))
        defer { tail.close() }
        try await eventually("the last four") { tail.frames.count >= 4 }
        #expect(tail.frames.compactMap(\.id) == Array(all.suffix(4)))
        try d.drop("D.md", "x")
        let fourth = try await d.jobID(forSpoolFile: "D.md")
        try await eventually("live after the tail") { tail.frames.contains { $0.data.contains("job \(fourth) completed") } }
        let everything = try SSEClient(port: d.port, path: "/streams/jobs?tail=100000", token: token(d))
        defer { everything.close() }
        try await eventually("all of them") { everything.frames.contains { $0.data.contains("job \(fourth) completed") } }
        #expect(Array(everything.frames.compactMap(\.id).prefix(all.count)) == all)
        try await d.stop()
    }

    /// A stream left open must not hold the server's graceful shutdown (it once did, forever).
    @Test(.timeLimit(.minutes(1))) func aShutdownEndsOpenStreamsAndTheDaemonStops() async throws {
        let d = try await TestDaemon(agent: ["/bin/true"])
        let streams = try (0..<3).map { _ in try SSEClient(port: d.port, path: "/streams", token: d.daemon.newAdminToken) }
        try await eventually("the streams to open") { streams.allSatisfy { $0.status == 200 } }
        try await d.stop()   // returns only once the server has drained
        try await eventually("every stream to end") { streams.allSatisfy(\.ended) }
        #expect(streams.allSatisfy { $0.completed }, "each response ended with its last chunk, not a cut connection")
    }

    /// A `jobs` row is the job's state: the specification (up to 1 MiB, never
    /// changing) is left out, or every progress event would store it again.
    @Test func jobEventsCarryTheJobsStateWithoutItsSpecification() async throws {
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", "echo 'Phase: plan'"])
        let specification = String(repeating: "s", count: 100_000)
        try d.drop("Big.md", specification)
        let job = try await d.finished(try await d.jobID(forSpoolFile: "Big.md"))
        #expect(job.specification == specification)
        let payloads = try await d.database.read {
            try String.fetchAll($0, sql: "SELECT payload FROM stream_messages WHERE stream_type = 'jobs' AND job_id = ?", arguments: [job.id])
        }
        #expect(payloads.count >= 3)
        for payload in payloads {
            #expect(payload.count < 2_000)
            let state = try JSONCoding.decoder.decode(Job.self, from: Data(payload.utf8))
            #expect(state.id == job.id && state.specification.isEmpty)
        }
        try await d.stop()
    }

    /// A metric's value in /metrics (one registry for the whole test process: compare, do not expect a value).
    private func metric(_ d: TestDaemon, _ name: String) async throws -> Double {
        let line = try await d.metrics().split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
    }
}
