/// Cuts a byte stream into lines, across buffer boundaries, without ever
/// holding more than one line's worth of bytes.
///
/// A line longer than `maxLine` bytes is cut at that length (on a UTF-8
/// boundary) and marked; the rest of it, up to the next newline, is counted
/// and skipped. A trailing `\r` is removed. Invalid UTF-8 becomes U+FFFD.
struct LineSplitter {
    let maxLine: Int
    private var partial: [UInt8] = []
    private var skipped = 0

    init(maxLine: Int = 64 * 1024) {
        self.maxLine = maxLine
    }

    mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (String) -> Void) {
        var start = 0
        let count = bytes.count
        while start < count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[start...])
            guard let offset = rest.firstIndex(of: 10) else {
                append(UnsafeRawBufferPointer(rebasing: bytes[start...]))
                return
            }
            let end = start + offset
            if partial.isEmpty && skipped == 0 && offset <= maxLine {
                emit(Self.decode(UnsafeRawBufferPointer(rebasing: bytes[start..<end])))
            } else {
                append(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
                flush(emit)
            }
            start = end + 1
        }
    }

    /// Emits what is left when the stream ends without a final newline.
    mutating func finish(_ emit: (String) -> Void) {
        if !partial.isEmpty || skipped > 0 { flush(emit) }
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer) {
        let room = maxLine - partial.count
        if bytes.count <= room {
            partial.append(contentsOf: bytes)
        } else {
            partial.append(contentsOf: bytes.prefix(max(0, room)))
            skipped += bytes.count - max(0, room)
        }
    }

    private mutating func flush(_ emit: (String) -> Void) {
        if skipped > 0 {
            var cut = partial.count
            while cut > 0 && (partial[cut - 1] & 0xC0) == 0x80 { cut -= 1 }  // drop a split character
            if cut > 0 && partial[cut - 1] >= 0xC0 { cut -= 1 }
            let dropped = skipped + partial.count - cut
            let line = partial[..<cut].withUnsafeBytes { Self.decode($0) }
            emit(line + " […line cut: \(dropped) more bytes]")
        } else {
            emit(partial.withUnsafeBytes { Self.decode($0) })
        }
        partial.removeAll(keepingCapacity: true)
        skipped = 0
    }

    private static func decode(_ bytes: UnsafeRawBufferPointer) -> String {
        var bytes = bytes
        if bytes.last == 13 { bytes = UnsafeRawBufferPointer(rebasing: bytes.dropLast()) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
