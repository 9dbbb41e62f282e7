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
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { continue }
            for name in names {
                let path = folder + "/" + name
                guard path.utf8.count <= maxPath else {
                    beyond(path)
                    continue
                }
                var st = stat()
                guard lstat(path, &st) == 0 else { continue }
                switch st.st_mode & S_IFMT {
                case S_IFDIR where level + 1 > maxDepth: beyond(path)
                case S_IFDIR where skip(path): skipped(path)
                case S_IFDIR: stack.append((path, level + 1))
                case S_IFREG, S_IFLNK: visit(path, st)
                default: continue
                }
            }
        }
    }
}
