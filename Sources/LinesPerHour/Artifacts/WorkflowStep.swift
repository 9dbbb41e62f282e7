/// One event of a Spec Kit run log: a step started, completed or failed, or the run finished.
struct WorkflowStep: Sendable, Equatable {
    var event: String
    var step: String?
    var type: String?
    var status: String?
    var error: String?

    /// The phase a command step stands for, by the words of its id:
    /// specify/clarify, plan/tasks, implement, test, analyze/converge/review.
    /// Gates are pauses, not phases.
    var phase: Phase? {
        guard event == "step_started", type != "gate", let step else { return nil }
        let words = step.lowercased().split { !$0.isLetter }
        for word in words {
            switch word {
            case "specify", "clarify", "constitution": return .specify
            case "plan", "tasks", "checklist": return .plan
            case "implement": return .implement
            case "test", "tests", "verify": return .test
            case "analyze", "converge", "review": return .review
            default: continue
            }
        }
        return nil
    }

    /// The job log's line for the event.
    var line: (String, Level) {
        let detail = error.map { ": \($0)" } ?? ""
        if event.hasPrefix("workflow_") {
            let outcome = event == "workflow_finished" ? (status ?? "finished") : String(event.dropFirst("workflow_".count))
            return ("Spec Kit: workflow \(outcome)\(detail)", outcome == "completed" ? .info : .error)
        }
        let name = "Spec Kit: step \(step ?? "?")"
        switch event {
        case "step_started": return ("\(name) started", .info)
        case "step_completed": return ("\(name) \(status ?? "completed")", status == "failed" ? .error : .info)
        case "step_failed": return ("\(name) failed\(detail)", .error)
        default: return ("\(name): \(event.replacingOccurrences(of: "_", with: " "))\(detail)", .warning)
        }
    }
}
