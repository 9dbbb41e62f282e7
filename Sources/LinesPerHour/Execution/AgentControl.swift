import Glibc
import Synchronization

/// The handle on one running agent: its process group, and the stop that was asked for.
///
/// Stopping sends TERM to the whole group, then KILL after a grace period, so
/// grandchildren go too.
final class AgentControl: Sendable {
    private struct State {
        var pgid: pid_t?
        var stop: StopReason?
        var exited = false
    }

    private let state = Mutex(State())
    let grace: Duration

    init(grace: Duration) {
        self.grace = grace
    }

    var stopReason: StopReason? { state.withLock { $0.stop } }

    /// A job may run several processes in turn (the speckit profile): each attaches when it starts.
    func attach(pgid: pid_t) -> StopReason? {
        state.withLock { s in
            s.pgid = pgid
            s.exited = false
            return s.stop
        }
    }

    func detach() {
        state.withLock { $0.exited = true }
    }

    /// Asks the agent to stop; the first reason given is the one recorded.
    func stop(_ reason: StopReason) {
        let pgid = state.withLock { s -> pid_t? in
            if s.stop == nil { s.stop = reason }
            return s.exited ? nil : s.pgid
        }
        guard let pgid else { return }
        kill(-pgid, SIGTERM)
        let grace = self.grace
        Task {
            try? await Task.sleep(for: grace)
            // The group outlives its leader while any grandchild lives, so it is killed
            // even when the leader has exited.
            kill(-pgid, SIGKILL)
        }
    }
}
