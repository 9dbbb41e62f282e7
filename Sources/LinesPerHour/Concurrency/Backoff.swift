/// How long to wait before trying a refused write again: doubling after each
/// refusal, up to a cap, so a full disk is neither hammered nor left alone for long.
struct Backoff {
    private var delay: Duration
    private let cap: Duration

    init(from first: Duration, upTo cap: Duration) {
        delay = first
        self.cap = cap
    }

    /// The wait before the next try; each call doubles the one after.
    mutating func next() -> Duration {
        defer { delay = min(delay * 2, cap) }
        return delay
    }
}
