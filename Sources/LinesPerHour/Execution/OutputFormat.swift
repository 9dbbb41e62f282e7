import Foundation

/// How an agent's output lines become log rows.
enum OutputFormat: Sendable {
    /// A line is a row; its level read from a leading token.
    case plain
    /// Agent CLIs' JSON-lines modes (Claude Code `stream-json`, Gemini CLI
    /// `stream-json`, Codex `exec --json`): each event becomes readable rows,
    /// never a raw JSON blob. Lines that are not JSON objects pass as plain.
    case streamJSON

    /// Hands `row` the rows one line of output becomes, in order, and returns
    /// the line's event when it is one (what it says of the session and usage).
    @discardableResult
    func read(_ line: String, onStderr: Bool, _ row: (String, Level) -> Void) -> StreamJSONEvent? {
        if case .streamJSON = self, line.utf8.first == UInt8(ascii: "{"),
           let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] {
            let event = StreamJSONEvent(object)
            for (message, level) in event.rows { row(message, level) }
            return event
        }
        row(line, LineClassifier.level(of: line, onStderr: onStderr))
        return nil
    }
}

/// One JSON event of an agent CLI, told in words.
struct StreamJSONEvent {
    typealias LogLine = (String, Level)
    let object: [String: Any]

    init(_ object: [String: Any]) {
        self.object = object
    }

    var rows: [LogLine] {
        let type = object["type"] as? String ?? "unknown"
        let rows: [LogLine]
        switch type {
        case "system", "init", "thread.started": rows = [session]
        case "assistant", "user": rows = claudeMessage(role: type)
        case "message": rows = geminiMessage
        case "tool_use": rows = [Self.toolCall(object["tool_name"] as? String, object["parameters"])]
        case "tool_result": rows = [geminiToolResult]
        case "result": rows = [result]
        case "error", "turn.failed": rows = [(Self.errorText(object), .error)]
        case "item.started", "item.updated", "item.completed": rows = codexItem(completed: type == "item.completed")
        case "turn.started", "turn.completed": rows = [(type == "turn.started" ? "turn started" : "turn completed" + Self.tokens(object["usage"]), .debug)]
        case "stream_event": rows = [("partial message (\((object["event"] as? [String: Any])?["type"] as? String ?? "delta"))", .debug)]
        default: rows = [("\(type) event", .debug)]
        }
        return rows.isEmpty ? [("\(type) event", .debug)] : rows
    }

    // MARK: - Sessions and results

    /// The agent CLI's session, told by its first event (Claude Code's and
    /// Gemini's `session_id`, Codex's `thread_id`): what a retry can resume.
    var sessionID: String? {
        switch object["type"] as? String {
        case "system", "init": object["session_id"] as? String
        case "thread.started": object["thread_id"] as? String
        default: nil
        }
    }

    /// What one call used: Claude Code's `result` (`usage`, `total_cost_usd`),
    /// Gemini's `result` (`stats`), Codex's `turn.completed` (`usage`).
    var usage: AgentUsage? {
        switch object["type"] as? String {
        case "result": Self.usage(object["usage"] ?? object["stats"], cost: object["total_cost_usd"])
        case "turn.completed": Self.usage(object["usage"], cost: nil)
        default: nil
        }
    }

    private static func usage(_ counts: Any?, cost: Any?) -> AgentUsage? {
        let counts = counts as? [String: Any] ?? [:]
        func count(_ key: String) -> Int64 { (counts[key] as? NSNumber)?.int64Value ?? 0 }
        let usage = AgentUsage(inputTokens: count("input_tokens"), outputTokens: count("output_tokens"),
                               cacheReadTokens: count("cache_read_input_tokens") + count("cached_input_tokens") + count("cached"),
                               cacheWriteTokens: count("cache_creation_input_tokens"),
                               costUSD: (cost as? NSNumber)?.doubleValue ?? 0)
        return usage.isZero ? nil : usage
    }

    private var session: LogLine {
        if let subtype = object["subtype"] as? String, subtype != "init" { return ("system: \(subtype)", .debug) }
        var details: [String] = []
        if let model = object["model"] as? String { details.append("model \(model)") }
        if let tools = object["tools"] as? [Any] { details.append("\(tools.count) tools") }
        if let thread = object["thread_id"] as? String { details.append("thread \(thread)") }
        return ("session started" + (details.isEmpty ? "" : ": " + details.joined(separator: ", ")), .info)
    }

    private var result: LogLine {
        let failed = object["is_error"] as? Bool == true || ["error", "failure"].contains(object["status"] as? String ?? "")
            || (object["subtype"] as? String).map { $0.hasPrefix("error") } == true
        var details: [String] = []
        let stats = object["stats"] as? [String: Any]
        if let ms = (object["duration_ms"] ?? stats?["duration_ms"]) as? NSNumber {
            details.append(String(format: "%.1f s", ms.doubleValue / 1000))
        }
        if let turns = object["num_turns"] as? NSNumber { details.append("\(turns) turns") }
        if let calls = stats?["tool_calls"] as? NSNumber { details.append("\(calls) tool calls") }
        if let cost = object["total_cost_usd"] as? NSNumber { details.append(String(format: "$%.4f", cost.doubleValue)) }
        let outcome = (object["subtype"] ?? object["status"]) as? String ?? (failed ? "error" : "success")
        let text = "finished: \(outcome)" + (details.isEmpty ? "" : " (" + details.joined(separator: ", ") + ")")
        return failed ? (text + Self.errorSuffix(object), .error) : (text, .info)
    }

    // MARK: - Claude Code: messages made of content blocks

    private func claudeMessage(role: String) -> [LogLine] {
        let message = object["message"] as? [String: Any]
        let content = message?["content"]
        if let text = content as? String { return role == "assistant" ? Self.textRows(text, .info) : [] }
        return (content as? [[String: Any]] ?? []).flatMap { block -> [LogLine] in
            switch block["type"] as? String {
            case "text" where role == "assistant": return Self.textRows(block["text"] as? String ?? "", .info)
            case "thinking": return Self.textRows(block["thinking"] as? String ?? "", .debug).prefix(1).map { ("thinking: " + $0.0, .debug) }
            case "tool_use": return [Self.toolCall(block["name"] as? String, block["input"])]
            case "tool_result":
                let failed = block["is_error"] as? Bool == true
                return [(Self.summary(of: block["content"], failed: failed), failed ? .error : .info)]
            default: return []
            }
        }
    }

    // MARK: - Gemini CLI

    private var geminiMessage: [LogLine] {
        guard object["role"] as? String == "assistant" else { return [] }
        return Self.textRows(object["content"] as? String ?? "", .info)
    }

    private var geminiToolResult: LogLine {
        let failed = object["status"] as? String == "error"
        if failed { return ("result: failed" + Self.errorSuffix(object), .error) }
        return (Self.summary(of: object["output"], failed: false), .info)
    }

    // MARK: - Codex: items started and completed

    private func codexItem(completed: Bool) -> [LogLine] {
        guard let item = object["item"] as? [String: Any] else { return [] }
        switch item["type"] as? String {
        case "agent_message": return completed ? Self.textRows(item["text"] as? String ?? "", .info) : []
        case "reasoning": return completed ? Self.textRows(item["text"] as? String ?? "", .debug).prefix(1).map { ("thinking: " + $0.0, .debug) } : []
        case "command_execution":
            guard completed else { return [Self.toolCall("shell", ["command": item["command"] ?? ""])] }
            let code = (item["exit_code"] as? NSNumber)?.intValue ?? 0
            let output = Self.summary(of: item["aggregated_output"], failed: code != 0)
            return [(output + (code != 0 ? " (exit \(code))" : ""), code != 0 ? .error : .info)]
        case "file_change":
            guard completed else { return [] }
            let changes = (item["changes"] as? [[String: Any]] ?? []).map { "\($0["kind"] as? String ?? "update") \($0["path"] as? String ?? "?")" }
            return [("files changed: " + changes.joined(separator: ", "), .info)]
        case "mcp_tool_call":
            return completed ? [] : [Self.toolCall("\(item["server"] as? String ?? "mcp").\(item["tool"] as? String ?? "tool")", item["arguments"])]
        case "web_search": return completed ? [] : [Self.toolCall("web_search", ["query": item["query"] ?? ""])]
        case "todo_list":
            let items = item["items"] as? [[String: Any]] ?? []
            return [("todo: \(items.filter { $0["completed"] as? Bool == true }.count)/\(items.count) done", .info)]
        case "error": return [(item["message"] as? String ?? "error", .error)]
        default: return []
        }
    }

    // MARK: - Words

    /// `tool: Write src/app.py`: the tool's name and what it acts on.
    static func toolCall(_ name: String?, _ input: Any?) -> LogLine {
        let fields = input as? [String: Any] ?? [:]
        let keys = ["file_path", "absolute_path", "path", "notebook_path", "command", "pattern", "url", "query", "description", "prompt"]
        let target = keys.lazy.compactMap { fields[$0] as? String }.first.map { " " + firstLine($0, limit: 160) } ?? ""
        return ("tool: \(name ?? "unknown")\(target)", .info)
    }

    /// `result: first line (+12 lines)`: a tool's output, in one row.
    static func summary(of content: Any?, failed: Bool) -> String {
        let text: String
        switch content {
        case let s as String: text = s
        case let blocks as [[String: Any]]: text = blocks.compactMap { $0["text"] as? String }.joined(separator: "\n")
        default: text = ""
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        let head = lines.first.map { firstLine(String($0), limit: 160) } ?? "(no output)"
        return (failed ? "result (error): " : "result: ") + head + (lines.count > 1 ? " (+\(lines.count - 1) lines)" : "")
    }

    static func textRows(_ text: String, _ level: Level) -> [LogLine] {
        text.split(separator: "\n", omittingEmptySubsequences: true)
            .filter { !$0.allSatisfy(\.isWhitespace) }
            .map { (String($0), level) }
    }

    static func errorText(_ object: [String: Any]) -> String {
        let message = (object["error"] as? [String: Any])?["message"] as? String ?? object["error"] as? String
            ?? object["message"] as? String ?? "unknown error"
        return "error: " + firstLine(message, limit: 500)
    }

    private static func errorSuffix(_ object: [String: Any]) -> String {
        guard object["error"] != nil || object["message"] != nil else { return "" }
        return " — " + errorText(object).dropFirst("error: ".count)
    }

    private static func tokens(_ usage: Any?) -> String {
        guard let usage = usage as? [String: Any], let input = usage["input_tokens"] as? NSNumber,
              let output = usage["output_tokens"] as? NSNumber else { return "" }
        return ": \(input) tokens in, \(output) out"
    }

    private static func firstLine(_ s: String, limit: Int) -> String {
        let line = s.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? ""
        return line.count > limit ? String(line.prefix(limit)) + "…" : line
    }
}
