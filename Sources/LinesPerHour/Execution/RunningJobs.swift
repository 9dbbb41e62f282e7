import Synchronization

/// The jobs whose agents run now, by project: what the executor starts and
/// stops, what the artifact index attributes files to, and whom it stops when
/// credits run out. A project runs at most one job at a time.
final class RunningJobs: Sendable {
    struct Entry {
        var job: Int64
        var control: AgentControl
    }

    private let entries = Mutex<[String: Entry]>([:])

    func begin(project: String, job: Int64, control: AgentControl) {
        entries.withLock { $0[project] = Entry(job: job, control: control) }
    }

    func end(project: String) {
        _ = entries.withLock { $0.removeValue(forKey: project) }
    }

    var count: Int { entries.withLock { $0.count } }

    /// The projects whose jobs run now.
    var projects: Set<String> { entries.withLock { Set($0.keys) } }

    /// Project → running job.
    var jobsByProject: [String: Int64] { entries.withLock { $0.mapValues(\.job) } }

    func control(of job: Int64) -> AgentControl? {
        entries.withLock { $0.values.first { $0.job == job }?.control }
    }

    var controls: [AgentControl] { entries.withLock { $0.values.map(\.control) } }
}
