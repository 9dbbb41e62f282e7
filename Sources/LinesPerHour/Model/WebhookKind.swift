import Foundation

/// What a webhook can be told of (`--webhook-events`).
public enum WebhookKind: String, Sendable, CaseIterable, Codable {
    /// A job completed or was cancelled.
    case jobEnded = "job_ended"
    /// A job failed (its reason is in the event).
    case jobFailed = "job_failed"
    /// The observer's warning: a user has under a tenth of their line credits left.
    case creditsLow = "credits_low"
    /// A node sharing the PostgreSQL database stopped beating: its running jobs failed.
    case nodeLost = "node_lost"

    public static let names = allCases.map(\.rawValue).joined(separator: ", ")

    /// The kind of a committed event, if a webhook can be told of it.
    static func of(_ event: Event) -> WebhookKind? {
        switch event.subject {
        case .jobEnded(let job)?: return job.status == .failed ? .jobFailed : .jobEnded
        case .nodeLost?: return .nodeLost
        case nil where event.stream == .insights: return insightKind(event.payload) == "credits_low" ? .creditsLow : nil
        default: return nil
        }
    }

    /// The `kind` of an insight's payload (`{"kind": "credits_low", …}`).
    private static func insightKind(_ payload: String?) -> String? {
        guard let payload, let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any] else { return nil }
        return object["kind"] as? String
    }
}
