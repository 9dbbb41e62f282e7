import NIOCore
import Synchronization

/// A committed batch for the event streams. Its SSE frames are encoded once,
/// on first use, into one buffer however many clients send them: a client
/// sends a run of them as a slice of that buffer (its storage shared, not copied).
final class FramedBatch: Sendable {
    let events: [Event]
    private let encoded = Mutex<Frames?>(nil)

    /// Every event's frame, one after the other, and where each starts (and the last ends).
    private struct Frames: Sendable {
        var bytes = ByteBuffer()
        var starts: [Int] = []
    }

    init(_ events: [Event]) {
        self.events = events
    }

    /// The frames of the events at `indices`, in one buffer.
    func frames(_ indices: Range<Int>) -> ByteBuffer {
        let frames = encoded.withLock { encoded in
            if let encoded { return encoded }
            var made = Frames()
            made.starts.reserveCapacity(events.count + 1)
            for event in events {
                made.starts.append(made.bytes.writerIndex)
                made.bytes.writeString(Self.frame(event))
            }
            made.starts.append(made.bytes.writerIndex)
            encoded = made
            return made
        }
        let start = frames.starts[indices.lowerBound]
        return frames.bytes.getSlice(at: start, length: frames.starts[indices.upperBound] - start)!
    }

    /// An event as a Server-Sent-Events frame: `id:`, `event:` and one `data:` line.
    static func frame(_ event: Event) -> String {
        "id: \(event.id)\nevent: \(event.stream.rawValue)\ndata: \(event.json)\n\n"
    }
}
