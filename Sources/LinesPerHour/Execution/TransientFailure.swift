/// A failure worth trying again later (`--retries`): a provider's rate or
/// usage limit, as the agent CLI says it, or a job the daemon's stop or crash
/// cut short. Never a failure of the agent's own making: an exit status alone
/// says nothing of why.
enum TransientFailure {
    static let interruptedByRestart = "interrupted by daemon restart"

    /// Words agent CLIs use for a limit that passes (Claude Code, Codex, Gemini CLI).
    static let limitWords = ["rate limit", "rate_limit", "ratelimit", "usage limit", "too many requests", "overloaded",
                             "quota exceeded", "resource_exhausted", "try again later"]

    /// Why the job's failure is transient, or nil: its `reason`, or the agent's last error line.
    static func cause(reason: String?, stop: StopReason?, lastError: String?) -> String? {
        if stop == .shutdown || reason == interruptedByRestart { return reason }
        guard stop == nil else { return nil }  // cancelled, timed out, out of credits or budget: not a limit that passes
        return [lastError, reason].compactMap { $0 }.first(where: saysLimit)
    }

    static func saysLimit(_ text: String) -> Bool {
        let lower = text.lowercased()
        return limitWords.contains(where: lower.contains)
            || lower.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).contains("429")
    }
}
