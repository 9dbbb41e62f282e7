import Foundation

/// Walks a folder tree with `lstat`: symlinks are reported, never followed.
///
/// The walk is bounded: a folder more than ``maxDepth`` levels below the
/// projects folder, or a path longer than the system's `PATH_MAX`, is not
/// followed (a 10,000-level tree cost 28 s of CPU, and such paths cannot be
/// opened by name anyway). What is not followed is handed to `beyond`, so
/// the index can say so instead of missing it in silence. Each file is
/// handed over with the `lstat` the walk made of it, so nobody stats it twice.
enum Tree {
    static let maxDepth = 64
    static let maxPath = Int(PATH_MAX) - 1

    /// Walks `top`, which is `depth` levels below the projects folder.
    /// Folders `skip` names (ignored ones) are handed to `skipped` and not walked.
    static func walk(_ top: String, depth: Int = 0, skip: (String) -> Bool = { _ in false }, skipped: (String) -> Void = { _ in },
                     beyond: (String) -> Void = { _ in }, _ visit: (String, stat) -> Void) {
        guard depth <= maxDepth else { return beyond(top) }
        guard depth == 0 || !skip(top) else { return skipped(top) }
        var stack = [(top, depth)]
        while let (folder, level) = stack.popLast() {
            func descend(_ path: String) {
                if level + 1 > maxDepth { beyond(path) } else if skip(path) { skipped(path) } else { stack.append((path, level + 1)) }
            }
            entries(of: folder) { name, type, folderDescriptor in
                let path = folder + "/" + name
                guard path.utf8.count <= maxPath else { return beyond(path) }
                // A folder needs no stat; a file's size and time are handed on; other kinds are left alone.
                guard type == DT_DIR || type == DT_REG || type == DT_LNK || type == DT_UNKNOWN else { return }
                if type == DT_DIR { return descend(path) }
                var st = stat()
                guard fstatat(folderDescriptor, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return }
                switch st.st_mode & S_IFMT {
                case S_IFDIR: descend(path)
                case S_IFREG, S_IFLNK: visit(path, st)
                default: return
                }
            }
        }
    }

    /// Calls `body` with each entry of `folder` but `.` and `..`: its name, its
    /// type as the directory says (`DT_DIR`, `DT_REG`, …, or `DT_UNKNOWN` where
    /// the file system does not say), and the open folder's descriptor, for a
    /// `fstatat` that need not look the whole path up again. A walk of 100,000
    /// files took a `stat` of each by its full path before (folders included).
    static func entries(of folder: String, _ body: (_ name: String, _ type: Int, _ folderDescriptor: Int32) -> Void) {
        guard let directory = opendir(folder) else { return }
        defer { closedir(directory) }
        let descriptor = dirfd(directory)
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: &entry.pointee.d_name) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            body(name, Int(entry.pointee.d_type), descriptor)
        }
    }
}
