/// The checked and all tasks of a `tasks.md`.
struct TaskCount: Sendable, Equatable {
    var done: Int
    var total: Int
}
