import Testing
@testable import LinesPerHour

/// The store's behaviour, without a daemon, on both engines: a real SQLite
/// file, and a database on a real PostgreSQL server the tests start.
@Suite struct StoreTests {
    @Test(arguments: Backend.allCases) func claimingTheSameUnfiledFileTwiceMakesOneJob(_ backend: Backend) async throws {
        let s = try await ScratchStore.make(backend)
        _ = try await s.store.ensureAdmin(email: "admin@example.com", credits: 100)
        let request = JobRequest(project: "Once", specification: "x")
        let first = try await s.store.claim(request, defaultUser: nil, spoolName: "once.json", spoolInode: 42)
        #expect(try await s.store.claim(request, defaultUser: nil, spoolName: "once.json", spoolInode: 42) == first)
        // Another file under the same name is another job; so is the first one, once filed.
        #expect(try await s.store.claim(request, defaultUser: nil, spoolName: "once.json", spoolInode: 43) != first)
        try await s.store.markFiled(jobs: [first])
        #expect(try await s.store.unfiledClaims().map(\.job) == [first + 1])
        try await s.stop()
    }

    @Test(arguments: Backend.allCases) func filesClaimedTogetherAreEachAJobOrARejection(_ backend: Backend) async throws {
        let s = try await ScratchStore.make(backend)
        _ = try await s.store.ensureAdmin(email: "admin@example.com", credits: 100)
        let files = [SpoolClaim(name: "a.json", inode: 1, request: JobRequest(project: "A", specification: "x")),
                     SpoolClaim(name: "b.json", inode: 2, request: JobRequest(project: "B", specification: "x", user: "nobody@example.com")),
                     SpoolClaim(name: "c.json", inode: 3, request: JobRequest(project: "C", specification: "x"))]
        let outcomes = try await s.store.claimFiles(files, defaultUser: nil)
        #expect(outcomes.map { (try? $0.get()) != nil } == [true, false, true])
        #expect(try await s.store.unfiledClaims().map(\.name) == ["a.json", "c.json"], "the refused one left no row")
        // Claimed again before they were filed (a crash in between): the same jobs.
        #expect(try await s.store.claimFiles([files[0], files[2]], defaultUser: nil).map { try $0.get() } == [try outcomes[0].get(), try outcomes[2].get()])
        try await s.store.markFiled(jobs: [try outcomes[0].get(), try outcomes[2].get()])
        #expect(try await s.store.unfiledClaims().isEmpty)
        #expect(try await s.store.jobs().count == 2)
        try await s.stop()
    }

    @Test(arguments: Backend.allCases) func aClaimIsRefusedForWhatOnlyTheDatabaseKnows(_ backend: Backend) async throws {
        let s = try await ScratchStore.make(backend)
        _ = try await s.store.ensureAdmin(email: "admin@example.com", credits: 100)
        _ = try await s.store.createUser(email: "broke@example.com", role: .user, credits: 0)
        _ = try await s.store.createUser(email: "ann@example.com", role: .user, credits: 10)
        _ = try await s.store.createUser(email: "bob@example.com", role: .user, credits: 10)
        func claim(_ user: String) async throws -> Int64 {
            try await s.store.claim(JobRequest(project: "Annex", specification: "x", user: user), defaultUser: nil, spoolName: nil, spoolInode: nil)
        }
        await #expect(throws: Rejection("unknown user \"nobody@example.com\"")) { try await claim("nobody@example.com") }
        await #expect(throws: Rejection("user broke@example.com has no line credits left")) { try await claim("broke@example.com") }
        _ = try await claim("ann@example.com")
        let refusal = await #expect(throws: Rejection.self) { try await claim("bob@example.com") }
        #expect(refusal?.kind == .notYours)
        #expect(try await s.store.jobs(project: "Annex").count == 1)
        try await s.stop()
    }

    @Test(arguments: Backend.allCases) func aJobMovesThroughItsStatusesOnceEach(_ backend: Backend) async throws {
        let s = try await ScratchStore.make(backend)
        _ = try await s.store.ensureAdmin(email: "admin@example.com", credits: 100)
        let id = try await s.store.claim(JobRequest(project: "Life", specification: "x"), defaultUser: nil, spoolName: nil, spoolInode: nil)
        #expect(try await s.store.pendingJobs(limit: 10).map(\.id) == [id])
        #expect(try await s.store.start(job: id)?.status == .inProgress)
        #expect(try await s.store.start(job: id) == nil, "a job starts once")
        #expect(try await s.store.cancelPending(job: id) == false, "a running job is stopped, not cancelled before it starts")
        try await s.store.finish(job: id, status: .failed, reason: "agent exited with status 3", exitCode: 3)
        let job = try #require(try await s.store.job(id))
        #expect(job.status == .failed && job.failureReason == "agent exited with status 3" && job.exitCode == 3)
        #expect(try await s.store.logs(job: id).last?.message == "agent exited with status 3")
        #expect(try await s.store.jobCountsByStatus() == [.failed: 1])
        try await s.stop()
    }

    /// Seen in 8 of 11 short jobs: a progress event published after the final
    /// one made the observer say "started", "moved" and "completed" again.
    @Test(arguments: Backend.allCases) func noProgressIsPublishedForAJobThatHasEnded(_ backend: Backend) async throws {
        let s = try await ScratchStore.make(backend)
        _ = try await s.store.ensureAdmin(email: "admin@example.com", credits: 100)
        let id = try await s.store.claim(JobRequest(project: "P", specification: "x"), defaultUser: nil, spoolName: nil, spoolInode: nil)
        _ = try await s.store.start(job: id)
        let facts = FileFacts(kind: .code, size: 2, lineCount: 1, preview: "x\n", modifiedAt: "2026-01-01T00:00:00.000Z")
        func write(_ path: String) async throws {
            let change = ArtifactChange(project: "P", path: path, kind: .present(facts, .none))
            _ = try await s.store.recordArtifacts([change], running: ["P": id], notes: []) { Array($0) }
        }
        func progress() -> Int { s.published.filter { $0.stream == .jobs && $0.text == "job \(id) progress" }.count }
        try await write("a.py")
        #expect(progress() == 1)
        try await s.store.finish(job: id, status: .completed, reason: nil, exitCode: 0)
        try await write("b.py")
        #expect(progress() == 1)
        try await s.stop()
    }

    @Test(arguments: Backend.allCases) func theJournalSaysWhoseJobARowIsAbout(_ backend: Backend) async throws {
        let s = try await ScratchStore.make(backend)
        _ = try await s.store.ensureAdmin(email: "admin@example.com", credits: 100)
        let (ann, _) = try await s.store.createUser(email: "ann@example.com", role: .user, credits: 10)
        let (bob, _) = try await s.store.createUser(email: "bob@example.com", role: .user, credits: 10)
        let id = try await s.store.claim(JobRequest(project: "Mine", specification: "x", user: "ann@example.com"), defaultUser: nil,
                                         spoolName: nil, spoolInode: nil)
        try await s.store.recordRejection(of: "bad.json", reason: "malformed JSON")
        let live = s.published.filter { $0.stream != .jobLog }
        #expect(live.filter { $0.jobID == id }.allSatisfy { $0.userID == ann.id })
        #expect(live.first { $0.text.hasPrefix("rejected") }?.userID == nil)
        // The replay filters on the same column.
        let streams: [StreamName] = [.logs, .jobs]
        #expect(try await s.store.streamEvents(streams, after: 0, userID: ann.id).map(\.id) == live.filter { $0.jobID == id }.map(\.id))
        #expect(try await s.store.streamEvents(streams, after: 0, userID: bob.id).isEmpty)
        #expect(try await s.store.streamEvents(streams, after: 0, userID: nil).count == live.count)
        try await s.stop()
    }

    @Test(arguments: Backend.allCases) func theOutboxGetsADeliveryInTheTransactionOfEachEventAWebhookWants(_ backend: Backend) async throws {
        let s = try await ScratchStore.make(backend, webhooks: [WebhookSubscription(url: "http://127.0.0.1:9/all", kinds: Set(WebhookKind.allCases)),
                                            WebhookSubscription(url: "http://127.0.0.1:9/failures", kinds: [.jobFailed])])
        _ = try await s.store.ensureAdmin(email: "admin@example.com", credits: 100)
        let first = try await s.store.claim(JobRequest(project: "Hooks", specification: "x"), defaultUser: nil, spoolName: nil, spoolInode: nil)
        _ = try await s.store.start(job: first)
        try await s.store.finish(job: first, status: .failed, reason: "agent exited with status 1", exitCode: 1)
        // The retry's claim shows the failed job again on its card: not a second end of it.
        let failed = try #require(try await s.store.job(first))
        _ = try await s.store.claim(JobRequest(retrying: failed), defaultUser: nil, spoolName: nil, spoolInode: nil)
        try await s.store.recordInsights([Insight(text: "low", job: first, payload: #"{"given": 100, "kind": "credits_low", "left": 5}"#),
                                          Insight(text: "phase", job: first, payload: #"{"kind": "phase"}"#)])
        let deliveries = try await s.store.deliveries(limit: 100).sorted { $0.id < $1.id }
        #expect(deliveries.map(\.kind) == [.jobFailed, .jobFailed, .creditsLow])
        #expect(deliveries.map(\.url) == ["http://127.0.0.1:9/all", "http://127.0.0.1:9/failures", "http://127.0.0.1:9/all"])
        let ended = try #require(s.published.first { $0.stream == .jobs && $0.text == "job \(first) failed" })
        #expect(deliveries[0].eventId == ended.id && deliveries.allSatisfy { $0.status == .pending && $0.attempts == 0 })
        try await s.stop()
    }
}
