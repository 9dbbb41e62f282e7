import Glibc
import Synchronization

/// The open event streams, by user.
///
/// Each stream holds a descriptor for as long as its client stays, so one
/// user could take them all and leave none for the intake, the database or
/// `/healthz`: a user may hold at most `perUser` streams, and all streams
/// together leave `reserve` descriptors of the open-file limit free; past
/// either, a new stream is refused with 429. A user whose token is replaced
/// or who is deleted has every open stream ended at once (a revoked token
/// must not keep watching).
final class StreamSessions: Sendable {
    /// One open stream: ended by closing the feed it reads from.
    final class Session: Sendable {
        let id: Int
        let user: Int64
        private struct State {
            var feed: EventFeed?
            var ended = false
            var clientLeft = false
            /// The stream's body returned: a client leaving after that changes nothing.
            var over = false
        }
        private let state = Mutex(State())

        init(id: Int, user: Int64) {
            self.id = id
            self.user = user
        }

        /// The feed the stream reads; closed at once if the session already ended.
        func attach(_ feed: EventFeed) {
            let ended = state.withLock { s in
                s.feed = feed
                return s.ended
            }
            if ended { feed.close() }
        }

        func end() {
            let feed = state.withLock { s in
                s.ended = true
                return s.feed
            }
            feed?.close()
        }

        /// The client closed its side of the connection while the stream ran: the
        /// stream ends. Answers false once the stream is over (nothing to end).
        func clientLeaves() -> Bool {
            guard state.withLock({ s in
                guard !s.over else { return false }
                s.clientLeft = true
                return true
            }) else { return false }
            end()
            return true
        }

        var clientLeft: Bool { state.withLock { $0.clientLeft } }

        /// The stream's body returned; answers whether its client had left.
        func over() -> Bool {
            state.withLock { s in
                s.over = true
                return s.clientLeft
            }
        }
    }

    let perUser: Int
    let total: Int
    private let state = Mutex<(next: Int, open: [Int64: [Int: Session]])>((0, [:]))

    /// `total` defaults to the open-file limit less `reserve`.
    init(perUser: Int, reserve: Int = 256) {
        self.perUser = perUser
        var limit = rlimit()
        let files = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 ? Int(clamping: limit.rlim_cur) : 1024
        total = max(16, files - reserve)
    }

    /// Throws 429 when `user` may not open another stream now. (Checked before
    /// the answer starts, so it can be a status; the stream registers once its
    /// body runs, so a response never sent never holds a place.)
    func admit(_ user: Int64) throws {
        try state.withLock { s in
            guard s.open[user, default: [:]].count < perUser else {
                throw APIError(.tooManyRequests, "at most \(perUser) open streams per user; close one first")
            }
            guard s.open.values.reduce(0, { $0 + $1.count }) < total else {
                throw APIError(.tooManyRequests, "the daemon holds as many streams as it can; try again later")
            }
        }
    }

    func register(_ user: Int64) -> Session {
        state.withLock { s in
            s.next += 1
            let session = Session(id: s.next, user: user)
            s.open[user, default: [:]][session.id] = session
            return session
        }
    }

    func close(_ session: Session) {
        state.withLock { s in
            s.open[session.user]?[session.id] = nil
            if s.open[session.user]?.isEmpty == true { s.open[session.user] = nil }
        }
    }

    /// Ends every open stream of `user`.
    func endAll(of user: Int64) {
        let sessions = state.withLock { $0.open[user].map { Array($0.values) } ?? [] }
        for session in sessions { session.end() }
    }
}
