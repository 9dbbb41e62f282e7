import Foundation

/// The speckit profile: GitHub Spec Kit's own workflow engine runs the job.
///
/// A project is set up once (`specify init` when `.specify/` is missing);
/// each job then runs the workflow below with its specification. Spec Kit
/// streams the agent CLI's output to its own, so the integrations' CLIs are
/// asked for their JSON-lines mode, which ``OutputFormat/streamJSON`` turns
/// into readable lines; phases come from the run's `log.jsonl` (see
/// ``WorkflowLog``) and task progress from `specs/*/tasks.md`.
struct SpecKit {
    var settings: AgentSettings

    /// Linux refuses a single argument over 128 KiB (MAX_ARG_STRLEN), and
    /// Spec Kit takes the specification only as an argument.
    static let maxSpecification = 128 * 1024 - 64

    func launch(project directory: String, specification: String) throws(Rejection) -> AgentLaunch {
        guard specification.utf8.count <= Self.maxSpecification else {
            throw Rejection("the specification is too long for Spec Kit, which takes it as one command-line argument (at most 128 KiB)")
        }
        var steps: [[String]] = []
        if access(directory + "/.specify", F_OK) != 0 {
            steps.append(settings.specify + ["init", "--here", "--force", "--non-interactive", "--integration", settings.integration])
        }
        steps.append(settings.specify + ["workflow", "run", settings.workflowFile, "-i", "spec=\(specification)"])
        return AgentLaunch(steps: steps, specificationOnStdin: false, format: .streamJSON, environment: streamingFlags())
    }

    /// Spec Kit adds `SPECKIT_INTEGRATION_<KEY>_EXTRA_ARGS` to the agent CLI's
    /// command line; the streaming flags are added to what the operator set.
    func streamingFlags(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> [String: String] {
        var result: [String: String] = [:]
        for (key, flags) in Self.streamingFlags {
            let name = "SPECKIT_INTEGRATION_\(key.uppercased())_EXTRA_ARGS"
            let set = environment[name] ?? ""
            result[name] = set.contains(flags.marker) ? set : (set.isEmpty ? flags.arguments : set + " " + flags.arguments)
        }
        return result
    }

    /// The agent CLIs' JSON-lines modes, and the word that shows one is already asked for.
    static let streamingFlags: [String: (arguments: String, marker: String)] = [
        "claude": ("--output-format stream-json --verbose", "--output-format"),
        "gemini": ("--output-format stream-json", "--output-format"),
        "codex": ("--json", "--json"),
    ]

    /// Writes the workflow the profile runs (kept in the daemon's state folder).
    static func install(at path: String) throws {
        try Data(workflow.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// Spec Kit's built-in `speckit` workflow with its review gates bound to an
    /// input (`verdict_input`), so it never pauses for a terminal that is not there.
    static let workflow = """
        schema_version: "1.0"
        workflow:
          id: "lph-speckit"
          name: "Full SDD cycle, unattended (LinesPerHour)"
          version: "1.0.0"
          author: "LinesPerHour"
          description: "specify → plan → tasks → implement; the review gates take the 'review' input"
        requires:
          speckit_version: ">=0.8.5"
        inputs:
          spec:
            type: string
            required: true
          integration:
            type: string
            default: "auto"
          review:
            type: string
            default: "approve"
            enum: ["approve", "reject"]
        steps:
          - id: specify
            command: speckit.specify
            integration: "{{ inputs.integration }}"
            input:
              args: "{{ inputs.spec }}"
          - id: review-spec
            type: gate
            message: "Review the generated spec before planning."
            options: [approve, reject]
            on_reject: abort
            verdict_input: review
          - id: plan
            command: speckit.plan
            integration: "{{ inputs.integration }}"
            input:
              args: "{{ inputs.spec }}"
          - id: review-plan
            type: gate
            message: "Review the plan before generating tasks."
            options: [approve, reject]
            on_reject: abort
            verdict_input: review
          - id: tasks
            command: speckit.tasks
            integration: "{{ inputs.integration }}"
            input:
              args: "{{ inputs.spec }}"
          - id: implement
            command: speckit.implement
            integration: "{{ inputs.integration }}"
            input:
              args: "{{ inputs.spec }}"

        """
}
