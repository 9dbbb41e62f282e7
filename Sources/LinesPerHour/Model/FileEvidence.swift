/// What a file shows of the progress of the job writing it: the task count of
/// a `tasks.md`, and the phase it shows reached (a `plan.md`: planning).
struct FileEvidence: Sendable {
    var tasks: TaskCount?
    var phase: Phase?

    static let none = FileEvidence(tasks: nil, phase: nil)
}
