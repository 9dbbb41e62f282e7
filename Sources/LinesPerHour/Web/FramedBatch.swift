import Synchronization

/// A committed batch for the event streams. Its SSE frames are encoded once,
/// on first use, however many clients send them.
final class FramedBatch: Sendable {
    let events: [Event]
    private let encoded = Mutex<[String]?>(nil)

    init(_ events: [Event]) {
        self.events = events
    }

    /// Every event's frame, in order.
    var frames: [String] {
        encoded.withLock { frames in
            if let frames { return frames }
            let made = events.map(Self.frame)
            frames = made
            return made
        }
    }

    /// An event as a Server-Sent-Events frame: `id:`, `event:` and one `data:` line.
    static func frame(_ event: Event) -> String {
        "id: \(event.id)\nevent: \(event.stream.rawValue)\ndata: \(event.json)\n\n"
    }
}
