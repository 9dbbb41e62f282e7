/// Why the daemon stopped an agent, when it did.
enum StopReason: Sendable, Equatable {
    case cancelled
    case timedOut(seconds: Int)
    case shutdown
    case creditsExhausted
    case budgetSpent

    var status: JobStatus { self == .cancelled ? .cancelled : .failed }

    var message: String {
        switch self {
        case .cancelled: "cancelled by request"
        case .timedOut(let seconds): "timed out after \(seconds) s"
        case .shutdown: "stopped: the daemon shut down while the job ran"
        case .creditsExhausted: "line credits exhausted"
        case .budgetSpent: "budget spent: the user's agents may cost no more"
        }
    }
}
