import Foundation
import Glibc

/// Reading an entry's facts: `lstat`, then one pass over a regular file.
extension FileFacts {
    static let previewLines = 200
    static let previewBytes = 64 * 1024

    /// Reads the entry at `path`; nil when it is gone, or is neither a
    /// regular file nor a symlink (a folder, a FIFO, a socket).
    static func read(_ path: String) -> FileFacts? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        let modified = Timestamp.format(seconds: st.st_mtim.tv_sec, milliseconds: st.st_mtim.tv_nsec / 1_000_000)
        switch st.st_mode & S_IFMT {
        case S_IFLNK:
            return FileFacts(kind: .symlink, size: Int64(st.st_size), lineCount: 0, preview: nil, modifiedAt: modified)
        case S_IFREG:
            return readRegular(path, name: String(path.fileName))
        default:
            return nil
        }
    }

    /// Whether `path` is a symlink now (an `lstat`, nothing read).
    static func isSymlink(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFLNK
    }

    /// A symlink that replaced the file since the `lstat` is refused, not read through.
    private static func readRegular(_ path: String, name: String) -> FileFacts? {
        try? RegularFile.withOpened(path) { fd, st in scanned(fd, st, name: name) }
    }

    private static func scanned(_ fd: Int32, _ st: stat, name: String) -> FileFacts {
        var scan = Scan()
        RegularFile.forEachChunk(of: fd) { chunk in
            scan.feed(chunk)
            return true
        }
        let modified = Timestamp.format(seconds: st.st_mtim.tv_sec, milliseconds: st.st_mtim.tv_nsec / 1_000_000)
        let text = scan.isText ? String(validating: scan.preview, as: UTF8.self) : nil
        guard let text else {
            return FileFacts(kind: .binary, size: scan.size, lineCount: 0, preview: nil, modifiedAt: modified)
        }
        return FileFacts(kind: isDocumentation(name) ? .documentation : .code, size: scan.size,
                         lineCount: scan.lineCount, preview: text, modifiedAt: modified)
    }

    /// Counts lines, spots binary content and keeps the preview, in one pass over the file.
    private struct Scan {
        var size: Int64 = 0
        var newlines: Int64 = 0
        var lastByte: UInt8 = 10
        var preview: [UInt8] = []
        var previewNewlines = 0
        var previewDone = false
        var isText = true

        var lineCount: Int64 { size == 0 ? 0 : newlines + (lastByte == 10 ? 0 : 1) }

        mutating func feed(_ bytes: UnsafeRawBufferPointer) {
            if size < 8192, bytes.prefix(8192 - Int(size)).contains(0) { isText = false }  // as git and grep judge
            size += Int64(bytes.count)
            for byte in bytes where byte == 10 { newlines += 1 }
            lastByte = bytes.last ?? lastByte
            guard !previewDone else { return }
            for byte in bytes {
                guard preview.count < previewBytes else {
                    dropSplitCharacter()
                    previewDone = true
                    return
                }
                preview.append(byte)
                if byte == 10 {
                    previewNewlines += 1
                    if previewNewlines == previewLines { previewDone = true; return }
                }
            }
        }

        /// A preview cut at its byte limit must not end inside a UTF-8 character.
        private mutating func dropSplitCharacter() {
            var start = preview.count - 1
            while start > 0 && (preview[start] & 0xC0) == 0x80 { start -= 1 }
            let lead = preview[start]
            let length = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
            if preview.count - start < length { preview.removeSubrange(start...) }
        }
    }

    /// The whole text of a small file (at most 1 MiB), never through a symlink.
    static func text(_ path: String) -> String? {
        let bytes = try? RegularFile.withOpened(path) { fd, _ in RegularFile.bytes(of: fd, upTo: Limits.maxSpecification + 1) }
        return bytes.flatMap { String(validating: $0, as: UTF8.self) }
    }

    static let documentationExtensions: Set<String> = ["md", "markdown", "txt", "rst", "adoc", "asciidoc", "org"]
    static let documentationNames = ["readme", "license", "licence", "changelog", "contributing", "notice", "authors", "copying", "history"]

    static func isDocumentation(_ name: String) -> Bool {
        let lower = name.lowercased()
        if documentationExtensions.contains((lower as NSString).pathExtension) { return true }
        return documentationNames.contains { lower == $0 || lower.hasPrefix($0 + ".") || lower.hasPrefix($0 + "-") || lower.hasPrefix($0 + "_") }
    }
}

extension FileFacts {
    /// One entry for an ignored folder (`node_modules/`): it is not watched,
    /// not indexed file by file and not counted, but not hidden either.
    static func ignoredFolder(_ fullPath: String) -> FileFacts? {
        var st = stat()
        guard lstat(fullPath, &st) == 0 else { return nil }
        var files: Int64 = 0
        Tree.walk(fullPath) { _, _ in files += 1 }
        return FileFacts(kind: .ignored, size: files, lineCount: 0,
                         preview: "ignored: \(files) files (not watched, not indexed, not counted)",
                         modifiedAt: Timestamp.format(seconds: st.st_mtim.tv_sec, milliseconds: st.st_mtim.tv_nsec / 1_000_000))
    }
}
