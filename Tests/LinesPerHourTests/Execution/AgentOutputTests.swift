import Foundation
import Testing
@testable import LinesPerHour

/// Agent CLIs' JSON events read as words, and Spec Kit's run logs read as they grow.
@Suite struct AgentOutputTests {
    func rows(_ lines: [String], _ format: OutputFormat = .streamJSON) -> [String] {
        var rows: [String] = []
        for line in lines { format.read(line, onStderr: false) { message, level in rows.append("\(level.rawValue) \(message)") } }
        return rows
    }

    @Test func claudeCodeStreamJSON() {
        #expect(rows([
            #"{"type":"system","subtype":"init","model":"claude-x","tools":["Read","Write"]}"#,
            #"{"type":"assistant","message":{"content":[{"type":"thinking","thinking":"Hmm.\nMore."},{"type":"text","text":"I will write it.\n\nDone soon."},{"type":"tool_use","name":"Edit","input":{"file_path":"src/a.py","old_string":"x"}}]}}"#,
            #"{"type":"user","message":{"content":[{"type":"tool_result","content":[{"type":"text","text":"ok\nline 2\nline 3"}]}]}}"#,
            #"{"type":"user","message":{"content":[{"type":"tool_result","is_error":true,"content":"No such file"}]}}"#,
            #"{"type":"assistant","message":{"content":[{"type":"tool_use","name":"Bash","input":{"command":"pytest -q\nsecond"}}]}}"#,
            #"{"type":"result","subtype":"error_max_turns","is_error":true,"duration_ms":61000,"num_turns":9}"#,
        ]) == [
            "info session started: model claude-x, 2 tools",
            "debug thinking: Hmm.",
            "info I will write it.", "info Done soon.",
            "info tool: Edit src/a.py",
            "info result: ok (+2 lines)",
            "error result (error): No such file",
            "info tool: Bash pytest -q",
            "error finished: error_max_turns (61.0 s, 9 turns)",
        ])
    }

    @Test func geminiCLIStreamJSON() {
        #expect(rows([
            #"{"type":"init","session_id":"s","model":"gemini-x"}"#,
            #"{"type":"message","role":"user","content":"the prompt"}"#,
            #"{"type":"message","role":"assistant","content":"Planning.","delta":true}"#,
            #"{"type":"tool_use","tool_name":"write_file","tool_id":"t","parameters":{"file_path":"plan.md"}}"#,
            #"{"type":"tool_result","tool_id":"t","status":"error","error":{"type":"io","message":"disk full"}}"#,
            #"{"type":"error","severity":"error","message":"quota"}"#,
            #"{"type":"result","status":"success","stats":{"duration_ms":2500,"tool_calls":1}}"#,
        ]) == [
            "info session started: model gemini-x",
            "debug message event",
            "info Planning.",
            "info tool: write_file plan.md",
            "error result: failed — disk full",
            "error error: quota",
            "info finished: success (2.5 s, 1 tool calls)",
        ])
    }

    @Test func codexExecJSON() {
        #expect(rows([
            #"{"type":"thread.started","thread_id":"th1"}"#,
            #"{"type":"turn.started"}"#,
            #"{"type":"item.started","item":{"type":"command_execution","command":"bash -lc ls","status":"in_progress"}}"#,
            #"{"type":"item.completed","item":{"type":"command_execution","command":"bash -lc ls","aggregated_output":"a\nb\n","exit_code":2}}"#,
            #"{"type":"item.completed","item":{"type":"file_change","changes":[{"path":"src/x.rs","kind":"add"}]}}"#,
            #"{"type":"item.completed","item":{"type":"agent_message","text":"All done."}}"#,
            #"{"type":"turn.completed","usage":{"input_tokens":10,"output_tokens":5}}"#,
            #"{"type":"turn.failed","error":{"message":"stream lost"}}"#,
        ]) == [
            "info session started: thread th1",
            "debug turn started",
            "info tool: shell bash -lc ls",
            "error result (error): a (+1 lines) (exit 2)",
            "info files changed: add src/x.rs",
            "info All done.",
            "debug turn completed: 10 tokens in, 5 out",
            "error error: stream lost",
        ])
    }

    @Test func linesThatAreNotJSONObjectsPassAsPlain() {
        #expect(rows(["plain text", "ERROR: broke", "{not json", #"{"no_type": 1}"#]) == [
            "info plain text", "error ERROR: broke", "info {not json", "debug unknown event",
        ])
        #expect(rows([#"{"type":"assistant"}"#], .plain) == [#"info {"type":"assistant"}"#])
    }

    // MARK: - Spec Kit run logs

    @Test func runLogPathsAndStepPhases() {
        #expect(WorkflowLog.isRunLog(".specify/workflows/runs/ab12/log.jsonl"))
        #expect(!WorkflowLog.isRunLog("specs/workflows/runs/ab12/log.jsonl"))
        #expect(!WorkflowLog.isRunLog(".specify/workflows/runs/ab12/state.json"))
        func phase(_ id: String, _ type: String = "command") -> Phase? {
            WorkflowStep(event: "step_started", step: id, type: type).phase
        }
        #expect(phase("specify") == .specify && phase("clarify") == .specify)
        #expect(phase("plan") == .plan && phase("tasks") == .plan)
        #expect(phase("implement") == .implement && phase("run-tests") == .test)
        #expect(phase("analyze") == .review && phase("converge") == .review)
        #expect(phase("review-spec", "gate") == nil)
        #expect(WorkflowStep(event: "step_completed", step: "plan").phase == nil)
        #expect(WorkflowStep(event: "step_failed", step: "plan", error: "boom").line == ("Spec Kit: step plan failed: boom", .error))
        #expect(WorkflowStep(event: "workflow_finished", status: "completed").line == ("Spec Kit: workflow completed", .info))
        #expect(WorkflowStep(event: "workflow_aborted").line.1 == .error)
    }

    @Test func runLogIsTailedFromWhereItStoppedWholeLinesOnly() throws {
        let scratch = try Scratch()
        let path = scratch.file("log.jsonl")
        let tail = WorkflowLog()
        func append(_ text: String) throws {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(text.utf8))
            try handle.close()
        }
        try Data(#"{"event": "step_started", "step_id": "old", "type": "command"}"#.utf8 + [10]).write(to: URL(fileURLWithPath: path))
        // First seen with no job running: history, read from its end.
        #expect(tail.newSteps(at: path, following: false).isEmpty)
        try append(#"{"event": "step_started", "step_id": "plan", "type": "command"}"# + "\n" + #"{"event": "step_comp"#)
        #expect(tail.newSteps(at: path, following: true).map(\.step) == ["plan"])
        try append(#"leted", "step_id": "plan", "status": "completed"}"# + "\n")
        #expect(tail.newSteps(at: path, following: true) == [WorkflowStep(event: "step_completed", step: "plan", status: "completed")])
        #expect(tail.newSteps(at: path, following: true).isEmpty)
        // A shorter file is a new one under the old name: read from its start.
        try Data(#"{"event": "workflow_finished", "status": "completed"}"#.utf8 + [10]).write(to: URL(fileURLWithPath: path))
        #expect(tail.newSteps(at: path, following: true).map(\.event) == ["workflow_finished"])
    }
}
