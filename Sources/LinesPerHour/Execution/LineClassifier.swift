/// Reads a level and, sometimes, a phase change from an agent's output line.
public struct LineClassifier: Sendable {
    /// One phase rule: a line matching `pattern` means the agent is in `phase`.
    public struct PhaseRule: @unchecked Sendable {
        public let phase: Phase
        public let pattern: Regex<AnyRegexOutput>
        public let source: String

        public init(phase: Phase, pattern: String) throws {
            self.phase = phase
            self.pattern = try Regex(pattern).ignoresCase()
            self.source = pattern
        }
    }

    public let rules: [PhaseRule]

    /// Spec-kit command names (`/speckit.plan`, `speckit plan`, `/speckit-plan`)
    /// and banners such as `Phase: plan` or `== PLAN ==`.
    public static func defaultRules() -> [PhaseRule] {
        let words: [(Phase, String)] = [
            (.specify, "specify|clarify"), (.plan, "plan|tasks"), (.implement, "implement"),
            (.test, "test"), (.review, "review|analyze"),
        ]
        return words.flatMap { phase, word in
            [
                try! PhaseRule(phase: phase, pattern: #"^\s*/?speckit[.\- ](\#(word))\b"#),
                try! PhaseRule(phase: phase, pattern: #"^\s*(?:#+\s*)?phase\s*[:=]\s*(\#(word))\b"#),
                try! PhaseRule(phase: phase, pattern: #"^\s*={2,}\s*(\#(word))\s*={2,}\s*$"#),
            ]
        }
    }

    public init(rules: [PhaseRule]) {
        self.rules = rules
    }

    /// The phase a line announces, if any. Long lines are not banners, and
    /// the regular expressions are only tried on short ones: they cost far
    /// more than storing the line.
    public func phase(in line: String) -> Phase? {
        guard line.utf8.count <= 200 else { return nil }
        for rule in rules where line.firstMatch(of: rule.pattern) != nil {
            return rule.phase
        }
        return nil
    }

    /// The level from a leading `ERROR`, `WARN`, `WARNING`, `INFO` or `DEBUG`
    /// token (bare, in brackets, or followed by a colon; in capitals, or in
    /// any case when followed by a colon, as compilers print `error:`);
    /// otherwise `info` on stdout and `warning` on stderr.
    public static func level(of line: String, onStderr: Bool) -> Level {
        var token: [UInt8] = []
        var bracketed = false
        var terminator: UInt8 = 0
        for byte in line.utf8 {
            if token.isEmpty && !bracketed && (byte == 32 || byte == 9) { continue }
            if token.isEmpty && !bracketed && byte == 91 { bracketed = true; continue }  // [
            if (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) {
                guard token.count < 7 else { return fallback(onStderr) }
                token.append(byte)
                continue
            }
            terminator = byte
            break
        }
        guard !token.isEmpty else { return fallback(onStderr) }
        if bracketed && terminator != 93 { return fallback(onStderr) }  // ]
        let upper = token.allSatisfy { $0 >= 65 && $0 <= 90 }
        guard upper || terminator == 58 else { return fallback(onStderr) }  // :
        if !bracketed && terminator != 0 && terminator != 58 && terminator != 32 && terminator != 9 { return fallback(onStderr) }
        switch String(decoding: token, as: UTF8.self).uppercased() {
        case "ERROR": return .error
        case "WARN", "WARNING": return .warning
        case "INFO": return .info
        case "DEBUG": return .debug
        default: return fallback(onStderr)
        }
    }

    private static func fallback(_ onStderr: Bool) -> Level { onStderr ? .warning : .info }
}
