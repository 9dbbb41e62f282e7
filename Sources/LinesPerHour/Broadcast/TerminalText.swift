/// Text made safe for one line of a terminal or a log file.
///
/// Anything an agent prints or a job file is named reaches the FIFO's text
/// lines, `lph logs` and the daemon's own log. A carriage return or newline
/// in it would start a forged line; an escape sequence would drive the
/// reader's terminal (move the cursor, retitle the window, hide text). Each
/// such character is written as a visible escape instead: `\r`, `\n`, `\e`
/// for ESC, `\x7f`, `\u{202e}`. What is stored and streamed as JSON (and the
/// dashboard's colours) keeps the original text.
public enum TerminalText {
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar) else {
                out.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\r": out += "\\r"
            case "\n": out += "\\n"
            case "\u{1B}": out += "\\e"
            case _ where scalar.value < 0x100: out += "\\x" + hex(scalar.value, width: 2)
            default: out += "\\u{" + hex(scalar.value, width: 4) + "}"
            }
        }
        return out
    }

    /// C0 controls but the tab, DEL, C1 controls, the line and paragraph
    /// separators, and the bidirectional overrides and isolates (text that
    /// reads differently from what it is).
    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09: false
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    private static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
