/// One committed row, ready to publish: a `stream_messages` row, or a
/// `log_entries` row when `stream` is `.jobLog`. `id` is the row id in its table.
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
    /// The user whose job it concerns (nil for the daemon's own events): who
    /// besides an admin may see it. Not part of the event's JSON.
    public let userID: Int64?
    /// What it is about, typed, on a live event (see ``Subject``). Not part of the event's JSON.
    public let subject: Subject?

    public init(id: Int64, stream: StreamName, jobID: Int64?, level: Level, text: String, timestamp: String,
                source: String = "system", payload: String? = nil, userID: Int64? = nil, subject: Subject? = nil) {
        self.id = id
        self.stream = stream
        self.jobID = jobID
        self.level = level
        self.text = text
        self.timestamp = timestamp
        self.source = source
        self.payload = payload
        self.userID = userID
        self.subject = subject
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
