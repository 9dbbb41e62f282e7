/// Splits a command line into words as a POSIX shell does for quoting:
/// single quotes, double quotes (with `\"`, `\\`, `\$` and `` \` `` escapes)
/// and backslashes. No expansion of any kind.
public enum ShellWords {
    public static func split(_ line: String) throws -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var iterator = line.makeIterator()
        while let c = iterator.next() {
            switch c {
            case " ", "\t", "\n":
                if inWord { words.append(current); current = ""; inWord = false }
            case "'":
                inWord = true
                while true {
                    guard let q = iterator.next() else { throw DaemonError("unterminated ' in command line: \(line)") }
                    if q == "'" { break }
                    current.append(q)
                }
            case "\"":
                inWord = true
                while true {
                    guard let q = iterator.next() else { throw DaemonError("unterminated \" in command line: \(line)") }
                    if q == "\"" { break }
                    if q == "\\" {
                        guard let e = iterator.next() else { throw DaemonError("trailing \\ in command line: \(line)") }
                        if !"\"\\$`".contains(e) { current.append("\\") }
                        current.append(e)
                    } else {
                        current.append(q)
                    }
                }
            case "\\":
                inWord = true
                guard let e = iterator.next() else { throw DaemonError("trailing \\ in command line: \(line)") }
                if e != "\n" { current.append(e) }
            default:
                inWord = true
                current.append(c)
            }
        }
        if inWord { words.append(current) }
        return words
    }
}
