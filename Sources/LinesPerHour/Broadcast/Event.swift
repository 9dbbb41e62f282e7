/// How loud a line or an event is; the `level` column of `log_entries` and `stream_messages`.
public enum Level: String, Sendable, Codable, CaseIterable {
    case info, warning, error, debug
}

/// Who produced a job log line; the `source` column of `log_entries`.
public enum LineSource: String, Sendable, Codable {
    case system, agent, user
}

/// The broadcast streams of the `stream_messages` journal, plus `log`, the
/// stream of one job's log lines (rows of `log_entries`).
public enum StreamName: String, Sendable, Codable, CaseIterable {
    case logs, insights, knowledge, jobs, artifacts
    case log
}

/// One committed row, ready to publish: a `stream_messages` row, or a
/// `log_entries` row when `stream` is `.log`. `id` is the row id in its table.
public struct Event: Sendable, Equatable {
    public let id: Int64
    public let stream: StreamName
    public let jobID: Int64?
    public let level: Level
    public let text: String
    public let timestamp: String
    /// Who said it: `system`, `agent`, `user`, `observer`, `curator`.
    public let source: String
    /// A JSON object with the machine-readable side of the event, if any.
    public let payload: String?

    public init(id: Int64, stream: StreamName, jobID: Int64?, level: Level, text: String, timestamp: String,
                source: String = "system", payload: String? = nil) {
        self.id = id
        self.stream = stream
        self.jobID = jobID
        self.level = level
        self.text = text
        self.timestamp = timestamp
        self.source = source
        self.payload = payload
    }

    /// The event as a Server-Sent-Events frame: `id:`, `event:` and one `data:` line.
    var sseFrame: String {
        "id: \(id)\nevent: \(stream.rawValue)\ndata: \(json)\n\n"
    }

    /// The event as one JSON object: the `data:` of an SSE frame.
    public var json: String {
        var out = "{\"id\":\(id),\"stream\":\"\(stream.rawValue)\",\"job_id\":\(JSONText.optional(jobID)),"
            + "\"level\":\"\(level.rawValue)\",\"source\":\(JSONText.quote(source)),\"timestamp\":\"\(timestamp)\","
            + "\"text\":\(JSONText.quote(text))"
        if let payload { out += ",\"payload\":" + payload }
        return out + "}"
    }
}
