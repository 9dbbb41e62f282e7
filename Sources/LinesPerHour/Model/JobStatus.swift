/// A job's lifecycle; the `status` column of `jobs`.
public enum JobStatus: String, Sendable, Codable, CaseIterable {
    case pending, inProgress = "in_progress", completed, failed, cancelled

    public var isFinal: Bool { self == .completed || self == .failed || self == .cancelled }
}
