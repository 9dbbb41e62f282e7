/// What an agent CLI said it used (its result events: Claude Code's `usage`
/// and `total_cost_usd`, Codex's token counts, Gemini's `stats`), summed over
/// its calls: a Spec Kit workflow makes several.
public struct AgentUsage: Sendable, Equatable {
    public var inputTokens: Int64 = 0
    public var outputTokens: Int64 = 0
    public var cacheReadTokens: Int64 = 0
    public var cacheWriteTokens: Int64 = 0
    public var costUSD: Double = 0

    public init(inputTokens: Int64 = 0, outputTokens: Int64 = 0, cacheReadTokens: Int64 = 0, cacheWriteTokens: Int64 = 0,
                costUSD: Double = 0) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cacheReadTokens = cacheReadTokens
        self.cacheWriteTokens = cacheWriteTokens
        self.costUSD = costUSD
    }

    public var isZero: Bool { self == AgentUsage() }

    public static func += (total: inout AgentUsage, more: AgentUsage) {
        total.inputTokens += more.inputTokens
        total.outputTokens += more.outputTokens
        total.cacheReadTokens += more.cacheReadTokens
        total.cacheWriteTokens += more.cacheWriteTokens
        total.costUSD += more.costUSD
    }
}
