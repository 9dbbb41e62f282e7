import Foundation

/// Walks a folder tree with `lstat`: symlinks are reported, never followed.
enum Tree {
    static func walk(_ top: String, _ visit: (String) -> Void) {
        var stack = [top]
        while let folder = stack.popLast() {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { continue }
            for name in names {
                let path = folder + "/" + name
                var st = stat()
                guard lstat(path, &st) == 0 else { continue }
                switch st.st_mode & S_IFMT {
                case S_IFDIR: stack.append(path)
                case S_IFREG, S_IFLNK: visit(path)
                default: continue
                }
            }
        }
    }
}
