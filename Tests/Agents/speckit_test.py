#!/usr/bin/env python3
"""The speckit profile end to end: the real `specify` (specify-cli from PyPI)
runs its own workflow engine, and a scripted stand-in for the Claude Code CLI
(`claude`, as the integration calls it) writes what each command would write
and prints stream-json events. The daemon must show Spec Kit's phases, the
task progress of tasks.md, the artifacts, and readable logs.

Usage: .venv/bin/python Tests/Agents/speckit_test.py LPH
(specify-cli in the .venv that Tests/Support/make-venv.sh makes)
"""
import json, os, re, shutil, sqlite3, sys, tempfile, time, urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Support"))
from lph_support import Daemon, check, skip  # noqa: E402

STAND_IN = r'''#!/usr/bin/env python3
# A stand-in for the Claude Code CLI, for tests: Spec Kit runs it as
#   claude -p "/speckit-<command> <spec>" [extra args]
# It writes what the command would write and prints stream-json events.
import glob, json, os, sys

def say(event):
    print(json.dumps(event), flush=True)

args = sys.argv[1:]
if "--output-format" not in args or args[args.index("--output-format") + 1] != "stream-json" or "--verbose" not in args:
    print("stand-in: run without --output-format stream-json --verbose: " + " ".join(args), file=sys.stderr)
    sys.exit(3)
if sys.stdin.read() != "":
    print("stand-in: standard input was not empty", file=sys.stderr)
    sys.exit(4)
prompt = args[args.index("-p") + 1]
command, _, spec = prompt.partition(" ")
features = sorted(glob.glob("specs/[0-9][0-9][0-9]-*"))
feature = features[-1] if features and command != "/speckit-specify" else "specs/%03d-todo" % (len(features) + 1)
say({"type": "system", "subtype": "init", "model": "stand-in", "tools": ["Write", "Edit", "Bash"], "cwd": os.getcwd()})
say({"type": "assistant", "message": {"content": [{"type": "text", "text": "Running %s for: %s\nSecond line of thought." % (command, spec)}]}})

def write(path, text):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    say({"type": "assistant", "message": {"content": [{"type": "tool_use", "id": "t1", "name": "Write", "input": {"file_path": path, "content": text}}]}})
    say({"type": "user", "message": {"content": [{"type": "tool_result", "tool_use_id": "t1", "content": "File created successfully at: " + path}]}})

tasks = ["T001 [P] [US1] Create the model in src/todo.py", "T002 [US1] Add the list command",
         "T003 [US1] Add the done command", "T004 [P] Write tests in tests/test_todo.py"]
if command == "/speckit-specify":
    write(feature + "/spec.md", "# Feature: todo\n\n" + spec + "\n")
elif command == "/speckit-plan":
    write(feature + "/plan.md", "# Plan\n\nPython, one module, pytest.\n")
elif command == "/speckit-tasks":
    write(feature + "/tasks.md", "# Tasks\n\n" + "".join("- [ ] %s\n" % t for t in tasks))
elif command == "/speckit-implement":
    write("src/todo.py", "def add(items, text):\n    return items + [text]\n")
    for done in range(1, len(tasks) + 1):
        write(feature + "/tasks.md", "# Tasks\n\n" + "".join("- [%s] %s\n" % ("X" if i < done else " ", t) for i, t in enumerate(tasks)))
    write("tests/test_todo.py", "from src.todo import add\n\ndef test_add():\n    assert add([], 'a') == ['a']\n")
    say({"type": "user", "message": {"content": [{"type": "tool_result", "tool_use_id": "t2", "is_error": True, "content": "pytest: 1 warning\ndetails"}]}})
say({"type": "result", "subtype": "success", "is_error": False, "duration_ms": 1234, "num_turns": 3, "total_cost_usd": 0.0})
'''


def get(port, token, path):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def follow_to_end(port, token, job, seconds=300):
    """The job's log stream, read until the daemon says the job ended (heartbeats
    every 15 s keep the reads coming, so the deadline is checked)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/jobs/{job}/logs/stream",
                                     headers={"Authorization": f"Bearer {token}"})
    deadline = time.monotonic() + seconds
    with urllib.request.urlopen(request, timeout=60) as response:
        for raw in response:
            if raw.startswith(b"event: end"):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job} did not end within {seconds} s")


def main():
    lph = os.path.abspath(sys.argv[1])
    # specify-cli, installed beside the Python that runs this test (.venv).
    specify = os.path.join(os.path.dirname(sys.executable), "specify")
    if not os.access(specify, os.X_OK):
        skip("the speckit end-to-end test: specify-cli could not be installed from PyPI")
        return
    root = tempfile.mkdtemp(prefix="lph-speckit.")
    bin_dir = os.path.join(root, "bin")
    os.makedirs(bin_dir)
    with open(os.path.join(bin_dir, "claude"), "w") as f:
        f.write(STAND_IN)
    os.chmod(os.path.join(bin_dir, "claude"), 0o755)
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ["PATH"])
    env.pop("SPECKIT_INTEGRATION_CLAUDE_EXTRA_ARGS", None)
    # The daemon's default stays the demo agent: the job files choose the profile.
    daemon = Daemon(lph, root, "--specify", specify, env=env)
    port, token = daemon.port, daemon.token
    try:
        for n, spec in enumerate(["A command-line todo list", "Add due dates to the todo list"], start=1):
            incoming = os.path.join(root, "Spool", "incoming")
            with open(os.path.join(incoming, f".todo{n}.tmp"), "w") as f:
                f.write(f"---\nproject: todo\nagent: speckit\n---\n{spec}\n")
            os.rename(os.path.join(incoming, f".todo{n}.tmp"), os.path.join(incoming, f"todo{n}.md"))
        db = sqlite3.connect(os.path.join(root, "lph.sqlite"), timeout=30)
        jobs = []
        deadline = time.monotonic() + 60
        while len(jobs) < 2 and time.monotonic() < deadline:
            jobs = [r[0] for r in db.execute("SELECT id FROM jobs ORDER BY id")]
            time.sleep(0.05)
        check(len(jobs) == 2, "both job files accepted")
        for job in jobs:
            follow_to_end(port, token, job)
        first, second = (get(port, token, f"/jobs/{j}") for j in jobs)
        logs = {j: get(port, token, f"/jobs/{j}/logs?limit=10000") for j in jobs}
        for job, body in ((first, logs[jobs[0]]), (second, logs[jobs[1]])):
            messages = [e["message"] for e in body]
            if job["status"] != "completed":
                print("\n".join(f"{e['level']:7} {e['message']}" for e in body))
            check(job["status"] == "completed", f"job {job['id']} completed through Spec Kit's workflow engine")
            check(job["agent"] == "speckit", "the job file chose the speckit profile")
            phases = [m.split(": ")[1] for m in messages if m.startswith("phase: ")]
            check(phases[:3] == ["specify", "plan", "implement"], f"phases in order from the run log: {phases}")
            for phase in ("specify", "plan", "implement"):
                at = messages.index(f"phase: {phase}")
                check(messages[at - 1] == f"Spec Kit: step {phase} started", f"phase {phase} comes from the run log's step event")
            steps = [m for m in messages if m.startswith("Spec Kit: ")]
            check(steps[0] == "Spec Kit: step specify started" and steps[-1] == "Spec Kit: workflow completed",
                  f"Spec Kit's step events in the log ({len(steps)})")
            check(job["tasks_done"] == 4 and job["tasks_total"] == 4, "task progress from specs/*/tasks.md, [X] counted")
            check(not any(m.lstrip().startswith("{") for m in messages), "no raw JSON in the logs")
            check(any(m.startswith("session started: model stand-in") for m in messages), "stream-json init told in words")
            check(any(re.fullmatch(r"tool: Write specs/\d{3}-todo/spec\.md", m) for m in messages),
                  "a tool call shows its name and target file")
            check("Second line of thought." in messages, "assistant text split into lines")
            errors = [e for e in body if e["level"] == "error"]
            check([e["message"] for e in errors] == ["result (error): pytest: 1 warning (+1 lines)"],
                  "a failed tool result is an error row, summarised")
        inits = [m for j in jobs for m in (e["message"] for e in logs[j]) if m.startswith("running: ") and " init " in m]
        check(len(inits) == 1, "specify init ran once for the project")
        artifacts = {a["file_path"]: a for a in get(port, token, "/artifacts?project=todo&limit=10000")}
        for path in ["specs/001-todo/spec.md", "specs/001-todo/tasks.md", "specs/002-todo/plan.md", "src/todo.py", "tests/test_todo.py"]:
            check(path in artifacts, f"artifact {path}")
        check(any(path.startswith(".specify/") for path in artifacts), "Spec Kit's own files are indexed too")
        # Lines written are the lines the job added, file by file, and Spec Kit's scaffolding is none of them.
        changes = get(port, token, f"/jobs/{second['id']}/changes")
        check(not any(c["path"].startswith((".specify/", ".claude/")) for c in changes), "Spec Kit's scaffolding is not counted")
        added = sum(c["lines_added"] for c in changes)
        check(second["lines_written"] == added > 0, f"lines written are the lines the job added ({added}, in {len(changes)} files)")
    finally:
        daemon.stop()
    if os.environ.get("LPH_KEEP"):
        print("kept", root)
    else:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
