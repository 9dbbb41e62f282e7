/// Reads a level and, sometimes, a phase change from an agent's output line.
public struct LineClassifier: Sendable {
    /// One phase rule: a line matching `pattern` means the agent is in `phase`.
    /// (`Regex` is not `Sendable`; a rule's is built once and only ever matched against.)
    public struct PhaseRule: @unchecked Sendable {
        public let phase: Phase
        public let pattern: Regex<AnyRegexOutput>
        public let source: String
        /// The bytes a matching line can start with (after spaces), when known:
        /// lines starting otherwise skip the regular expression.
        let leadingBytes: Set<UInt8>?

        public init(phase: Phase, pattern: String) throws {
            try self.init(phase: phase, pattern: pattern, leadingBytes: nil)
        }

        init(phase: Phase, pattern: String, leadingBytes: String?) throws {
            self.phase = phase
            self.pattern = try Regex(pattern).ignoresCase()
            self.source = pattern
            self.leadingBytes = leadingBytes.map { Set($0.utf8) }
        }
    }

    public let rules: [PhaseRule]
    /// For each first byte of a line (after spaces), whether any rule could
    /// match it: most lines are ruled out by one table look-up.
    private let mayMatch: [Bool]

    /// Spec-kit command names (`/speckit.plan`, `speckit plan`, `/speckit-plan`)
    /// and banners such as `Phase: plan` or `== PLAN ==`.
    public static func defaultRules() -> [PhaseRule] {
        let words: [(Phase, String)] = [
            (.specify, "specify|clarify"), (.plan, "plan|tasks"), (.implement, "implement"),
            (.test, "test"), (.review, "review|analyze"),
        ]
        return words.flatMap { phase, word in
            [
                try! PhaseRule(phase: phase, pattern: #"^\s*/?speckit[.\- ](\#(word))\b"#, leadingBytes: "/sS"),
                try! PhaseRule(phase: phase, pattern: #"^\s*(?:#+\s*)?phase\s*[:=]\s*(\#(word))\b"#, leadingBytes: "#pP"),
                try! PhaseRule(phase: phase, pattern: #"^\s*={2,}\s*(\#(word))\s*={2,}\s*$"#, leadingBytes: "="),
            ]
        }
    }

    public init(rules: [PhaseRule]) {
        self.rules = rules
        var table = [Bool](repeating: false, count: 256)
        for rule in rules {
            guard let bytes = rule.leadingBytes else {
                table = [Bool](repeating: true, count: 256)
                break
            }
            for byte in bytes { table[Int(byte)] = true }
        }
        mayMatch = table
    }

    /// The phase a line announces, if any. Long lines are not banners, and
    /// the regular expressions are only tried on short ones: they cost far
    /// more than storing the line.
    public func phase(in line: String) -> Phase? {
        guard line.utf8.count <= 200 else { return nil }
        let first = line.utf8.first { $0 != 32 && $0 != 9 } ?? 0
        guard mayMatch[Int(first)] else { return nil }
        return rules.first { $0.leadingBytes?.contains(first) != false && line.firstMatch(of: $0.pattern) != nil }?.phase
    }

    /// The level from a leading `ERROR`, `WARN`, `WARNING`, `INFO` or `DEBUG`
    /// token (bare, in brackets, or followed by a colon; in capitals, or in
    /// any case when followed by a colon, as compilers print `error:`);
    /// otherwise `info` on stdout and `warning` on stderr.
    public static func level(of line: String, onStderr: Bool) -> Level {
        var token: UInt64 = 0  // up to 7 letters, upper-cased, packed
        var length = 0
        var allUpper = true
        var bracketed = false
        var terminator: UInt8 = 0
        for byte in line.utf8 {
            if length == 0 && !bracketed && (byte == 32 || byte == 9) { continue }
            if length == 0 && !bracketed && byte == 91 { bracketed = true; continue }  // [
            let isUpper = byte >= 65 && byte <= 90
            if isUpper || (byte >= 97 && byte <= 122) {
                guard length < 7 else { return fallback(onStderr) }
                allUpper = allUpper && isUpper
                token = token << 8 | UInt64(isUpper ? byte : byte - 32)
                length += 1
                continue
            }
            terminator = byte
            break
        }
        guard length > 0 else { return fallback(onStderr) }
        if bracketed && terminator != 93 { return fallback(onStderr) }  // ]
        guard allUpper || terminator == 58 else { return fallback(onStderr) }  // :
        if !bracketed && terminator != 0 && terminator != 58 && terminator != 32 && terminator != 9 { return fallback(onStderr) }
        switch token {
        case packed("ERROR"): return .error
        case packed("WARN"), packed("WARNING"): return .warning
        case packed("INFO"): return .info
        case packed("DEBUG"): return .debug
        default: return fallback(onStderr)
        }
    }

    private static func packed(_ word: StaticString) -> UInt64 {
        word.withUTF8Buffer { $0.reduce(0) { $0 << 8 | UInt64($1) } }
    }

    private static func fallback(_ onStderr: Bool) -> Level { onStderr ? .warning : .info }
}
