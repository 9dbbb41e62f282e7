import Synchronization

/// Handlers registered under tokens and called in turn: the bookkeeping of a
/// fan-out. Handlers run on the sender's path and must return at once.
final class Subscribers<Value: Sendable>: Sendable {
    typealias Handler = @Sendable (Value) -> Void

    private let handlers = Mutex<(next: Int, all: [Int: Handler])>((0, [:]))

    /// Registers a handler; keep the returned token to remove it.
    func add(_ handler: @escaping Handler) -> Int {
        handlers.withLock { h in
            h.next += 1
            h.all[h.next] = handler
            return h.next
        }
    }

    func remove(_ token: Int) {
        handlers.withLock { h in h.all[token] = nil }
    }

    var count: Int { handlers.withLock { $0.all.count } }

    /// Calls every handler with what `make` makes, made once and only if someone listens.
    func send(_ make: () -> Value) {
        let current = handlers.withLock { Array($0.all.values) }
        guard !current.isEmpty else { return }
        let value = make()
        for handler in current { handler(value) }
    }
}
