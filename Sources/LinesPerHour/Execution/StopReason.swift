/// Why the daemon stopped an agent, when it did.
enum StopReason: Sendable, Equatable {
    case cancelled
    case timedOut(seconds: Int)
    case shutdown
    case creditsExhausted
    case budgetSpent
    /// Another node ended the job: it declared this one lost (a frozen or cut-off node that came back).
    case endedElsewhere

    var status: JobStatus { self == .cancelled ? .cancelled : .failed }

    var message: String {
        switch self {
        case .cancelled: "cancelled by request"
        case .timedOut(let seconds): "timed out after \(seconds) s"
        case .shutdown: "stopped: the daemon shut down while the job ran"
        case .creditsExhausted: "line credits exhausted"
        case .budgetSpent: "budget spent: the user's agents may cost no more"
        case .endedElsewhere: "stopped: another node ended the job, having declared this one lost"
        }
    }
}
