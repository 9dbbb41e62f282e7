/// One step of a Spec Kit run as its job's log tells it, and the phase it reaches.
struct WorkflowNote: Sendable, Equatable {
    var line: String
    var level: Level
    var phase: Phase?
}
