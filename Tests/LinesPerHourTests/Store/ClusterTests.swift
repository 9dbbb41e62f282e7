import Foundation
import Testing
@testable import LinesPerHour

/// Several nodes on one PostgreSQL database (a real server the tests start),
/// each a store with its own writer, as `lph serve --db postgres://…` runs them.
@Suite struct ClusterTests {
    /// Ids from a sequence are handed out at insert and seen at commit: without
    /// the writers' lock, a reader that has seen 105 could miss a 104 that
    /// commits a moment later. Two nodes write journal rows and log lines as
    /// fast as they can while a reader follows both tables by id, as a stream
    /// client does; it must see every row once, and so must each node's own streams.
    @Test func aReaderFollowingTheJournalByIdMissesNothingWhileTwoNodesWrite() async throws {
        let a = try await ScratchStore.make(.postgres, node: "a")
        let b = try await ScratchStore.make(.postgres, url: a.database, node: "b")
        _ = try await a.store.ensureAdmin(email: "admin@example.com", credits: 100)
        let job = try await a.store.claim(JobRequest(project: "Busy", specification: "x"), defaultUser: nil, spoolName: nil, spoolInode: nil)
        let seconds = Int(ProcessInfo.processInfo.environment["LPH_ORDERING_SECONDS"] ?? "") ?? 30
        let until = ContinuousClock.now + .seconds(seconds)
        let follower = Task { try await Self.follow(a.store, job: job) { _, _ in ContinuousClock.now < until } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (node, store) in [("a", a.store), ("b", b.store)] {
                for writer in 0..<3 {
                    group.addTask {
                        var n = 0
                        while ContinuousClock.now < until {
                            n += 1
                            if n % 2 == 0 {
                                try await store.announce("\(node)\(writer) says \(n)", level: .info, job: nil)
                            } else {
                                await store.append([LogRow(jobID: job, message: "\(node)\(writer) line \(n)", level: .info, source: .agent)])
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        // A node's writes commit in order: once its last announcement has, so have its queued lines.
        for (node, store) in [("a", a.store), ("b", b.store)] { try await store.announce("\(node) is done", level: .info, job: nil) }
        let allJournal = try await Self.everything(a.store)
        let allLines = try await a.store.logs(job: job, after: 0, limit: 10_000_000).map(\.id)
        // The reader then reads on to the last rows; one it skipped while the nodes wrote stays skipped.
        let (journal, lines) = try await Self.follow(a.store, job: job, from: try await follower.value) { journal, lines in
            (journal.last ?? 0) < (allJournal.last ?? 0) || (lines.last ?? 0) < (allLines.last ?? 0)
        }
        #expect(allJournal.count > 100 && allLines.count > 100, "\(allJournal.count) journal rows, \(allLines.count) lines in \(seconds) s")
        #expect(Self.difference(journal, allJournal) == nil, "the reader by id, journal rows")
        #expect(Self.difference(lines, allLines) == nil, "the reader by id, log lines")
        for node in [a, b] {
            try await eventually("each node has published every row") {
                node.published.filter { $0.stream == .logs }.count >= allJournal.count
                    && node.published.filter { $0.stream == .jobLog }.count >= allLines.count
            }
            #expect(Self.difference(node.published.filter { $0.stream == .logs }.map(\.id), allJournal) == nil, "a node's journal stream")
            #expect(Self.difference(node.published.filter { $0.stream == .jobLog }.map(\.id), allLines) == nil, "a node's log stream")
        }
        try await b.stop()
        try await a.stop()
    }

    /// What a stream client does: read after the last id seen, again and again,
    /// while `going` says so of the ids seen so far.
    private static func follow(_ store: any Store, job: Int64, from start: ([Int64], [Int64]) = ([], []),
                               while going: @Sendable ([Int64], [Int64]) -> Bool) async throws -> ([Int64], [Int64]) {
        var (journal, lines) = start
        while going(journal, lines) {
            journal += try await store.streamEvents([.logs], after: journal.last ?? 0, userID: nil, limit: 1000).map(\.id)
            lines += try await store.logs(job: job, after: lines.last ?? 0, limit: 1000).map(\.id)
            try await Task.sleep(for: .milliseconds(1))
        }
        return (journal, lines)
    }

    /// Where two id sequences part, said briefly (nil when they are equal).
    private static func difference(_ seen: [Int64], _ expected: [Int64]) -> String? {
        guard seen != expected else { return nil }
        let at = zip(seen, expected).prefix { $0 == $1 }.count
        return "\(seen.count) ids against \(expected.count); from index \(at): \(seen.dropFirst(at).prefix(8)) against \(expected.dropFirst(at).prefix(8))"
    }

    private static func everything(_ store: any Store) async throws -> [Int64] {
        var ids: [Int64] = []
        while true {
            let page = try await store.streamEvents([.logs], after: ids.last ?? 0, userID: nil, limit: 10_000).map(\.id)
            if page.isEmpty { return ids }
            ids += page
        }
    }

    @Test func aPendingJobIsStartedByOneNodeOnly() async throws {
        let a = try await ScratchStore.make(.postgres, node: "a")
        let b = try await ScratchStore.make(.postgres, url: a.database, node: "b")
        _ = try await a.store.ensureAdmin(email: "admin@example.com", credits: 100)
        var jobs: [Int64] = []
        for n in 0..<30 {
            jobs.append(try await a.store.claim(JobRequest(project: "P\(n)", specification: "x"), defaultUser: nil, spoolName: nil, spoolInode: nil))
        }
        let starts = try await withThrowingTaskGroup(of: (Int64, String?).self) { group in
            for job in jobs {
                for store in [a.store, b.store] { group.addTask { (job, try await store.start(job: job)?.node) } }
            }
            return try await group.reduce(into: [Int64: [String]]()) { started, outcome in
                if let node = outcome.1 { started[outcome.0, default: []].append(node) }
            }
        }
        #expect(jobs.allSatisfy { starts[$0]?.count == 1 }, "\(starts)")
        #expect(Set(starts.values.flatMap { $0 }) == ["a", "b"] || starts.count == 30)
        try await b.stop()
        try await a.stop()
    }

    /// A project's folder lives on the node that first ran one of its jobs: its later jobs wait for that node.
    @Test func aProjectsLaterJobsGoToTheNodeItsFolderIsOn() async throws {
        let a = try await ScratchStore.make(.postgres, node: "a")
        let b = try await ScratchStore.make(.postgres, url: a.database, node: "b")
        _ = try await a.store.ensureAdmin(email: "admin@example.com", credits: 100)
        func claim() async throws -> Int64 {
            try await b.store.claim(JobRequest(project: "Home", specification: "x"), defaultUser: nil, spoolName: nil, spoolInode: nil)
        }
        let first = try await claim()
        #expect(try await a.store.start(job: first)?.node == "a")
        let second = try await claim()
        #expect(try await b.store.pendingJobs(limit: 10).isEmpty, "b has not the project's folder")
        #expect(try await a.store.pendingJobs(limit: 10).map(\.id) == [second])
        #expect(try await a.store.start(job: second) == nil, "a project runs one job at a time")
        try await a.store.finish(job: first, status: .completed, reason: nil, exitCode: 0)
        #expect(try await b.store.start(job: second) == nil)
        #expect(try await a.store.start(job: second)?.node == "a")
        try await b.stop()
        try await a.stop()
    }

    /// A node that stops beating is lost within its lease: another node fails
    /// what it was running, names it, and says why its project's next job waits.
    @Test func theJobsOfANodeThatStopsBeatingFailNamingIt() async throws {
        let a = try await ScratchStore.make(.postgres, node: "a", lease: .seconds(1))
        _ = try await a.store.ensureAdmin(email: "admin@example.com", credits: 100)
        let running = try await a.store.claim(JobRequest(project: "There", specification: "x"), defaultUser: nil, spoolName: nil, spoolInode: nil)
        #expect(try await a.store.start(job: running) != nil)
        try await a.store.recordAgent(job: running, processGroup: 4242)
        let waiting = try await a.store.claim(JobRequest(project: "There", specification: "y"), defaultUser: nil, spoolName: nil, spoolInode: nil)
        await a.kill()  // its job stays in progress, its heartbeat stops
        let b = try await ScratchStore.make(.postgres, url: a.database, node: "b", lease: .seconds(1),
                                            webhooks: [WebhookSubscription(url: "http://127.0.0.1:9/nodes", kinds: [.nodeLost])])
        try await eventually("b finds a lost and fails its job", timeout: .seconds(30)) {
            try await b.store.job(running)?.status == .failed
        }
        #expect(try await b.store.job(running)?.failureReason == "interrupted: node a lost")
        #expect(try await b.store.job(waiting)?.status == .pending)
        #expect(try await b.store.jobs(status: .pending).first?.waitingFor == "a", "its card says so")
        #expect(try await b.store.logs(job: waiting).contains { $0.message.hasPrefix("waiting for node a, which was lost") })
        // b's own beat is fresh within its one-second lease, and it publishes after the commit: both awaited.
        try await eventually("b alone alive") { try await b.store.cluster() == Cluster(node: "b", nodesAlive: 1) }
        try await eventually("b's journal says so") { b.published.contains { $0.stream == .logs && $0.text.hasPrefix("node a lost") } }
        #expect(try await b.store.deliveries(limit: 10).map(\.kind) == [.nodeLost], "a webhook is told, once")
        // a comes back: what b failed stays failed, and its agent is a leftover to stop, once.
        let back = try await ScratchStore.make(.postgres, url: a.database, node: "a", lease: .seconds(1))
        try await back.store.finish(job: running, status: .completed, reason: nil, exitCode: 0)
        #expect(try await back.store.job(running)?.status == .failed, "a job ends once")
        #expect(try await back.store.leftovers().map(\.pgid) == [4242])
        #expect(try await back.store.leftovers().isEmpty)
        try await eventually("a beats again") { try await back.store.cluster()?.nodesAlive == 2 }
        try await back.stop()
        try await b.stop()
    }
}
