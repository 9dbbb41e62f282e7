/// What a live event is about, typed, for the daemon's own listeners (the
/// observer, the curator): the job's state itself rather than its JSON to
/// parse back. A row read back from the journal has only its JSON, which is
/// all the streams send.
public enum Subject: Sendable, Equatable {
    /// A `jobs` event: the job's state (without its specification).
    case job(Job)
    /// The `jobs` event of a job's end, said once: its final state.
    case jobEnded(Job)
    /// An `artifacts` event: a file or folder of this project.
    case project(String)
    /// A `logs` event: a node sharing the database stopped beating and was declared lost.
    case nodeLost(String)

    /// The job's state, of a `jobs` event.
    public var job: Job? {
        switch self {
        case .job(let job), .jobEnded(let job): job
        case .project, .nodeLost: nil
        }
    }
}
