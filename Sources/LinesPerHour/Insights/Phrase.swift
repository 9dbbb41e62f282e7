import Foundation

/// Figures as a person reads them in an insight or a fact.
enum Phrase {
    static func duration(ms: Int64) -> String {
        let seconds = max(ms, 0) / 1000
        if seconds < 60 { return ms < 10_000 ? String(format: "%.1fs", Double(max(ms, 0)) / 1000) : "\(seconds)s" }
        if seconds < 3600 { return "\(seconds / 60)m \(seconds % 60)s" }
        return "\(seconds / 3600)h \(seconds / 60 % 60)m"
    }

    /// 1234567 → "1,234,567".
    static func number(_ value: Int64) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (value < 0 ? "-" : "") + out
    }

    /// A quoted line, cut to a readable length.
    static func clip(_ line: String, to limit: Int = 200) -> String {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        return trimmed.count <= limit ? trimmed : String(trimmed.prefix(limit)) + "…"
    }
}
