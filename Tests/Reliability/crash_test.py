"""Crash at any moment: job files dropped and jobs posted over HTTP while the
real `lph serve` is killed with SIGKILL at random moments and restarted.

Usage: python3 Tests/Reliability/crash_test.py PATH-TO-LPH [--cycles N] [--seed S]

At the end, after a last start that is left to settle:
- every dropped file is in accepted/ or rejected/ exactly once, and nowhere else;
- every accepted file has exactly one job row, and every job created over HTTP
  (answered 201) exists;
- no agent ran twice for one job (the agent appends its job id to a ledger);
- every job is in a final state;
- PRAGMA integrity_check is ok;
- every job's log lines are intact and in order (the agent numbers them), all
  40 of them for a completed job, whose agent is in the ledger.
Prints the figures: cycles, files dropped, HTTP jobs, lost, duplicated.
"""
import argparse, json, os, random, re, sqlite3, sys, tempfile, time, urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Support"))
from lph_support import Daemon, free_port  # noqa: E402

AGENT = """#!/bin/sh
echo "$LPH_JOB_ID" >> {ledger}
i=1
while [ $i -le 40 ]; do echo "line $i"; i=$((i + 1)); done
sleep 0.05
"""


def post_job(port, token, project):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/projects/{project}/jobs", method="POST",
                                     data=json.dumps({"specification": "crash test"}).encode(),
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)["id"] if response.status == 201 else None
    except Exception:
        return None  # killed under the request: it may or may not have been taken


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("lph")
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    lph = os.path.abspath(args.lph)
    root = tempfile.mkdtemp(prefix="lph-crash.")
    ledger = os.path.join(root, "ledger")
    agent = os.path.join(root, "agent.sh")
    with open(agent, "w") as f:
        f.write(AGENT.format(ledger=ledger))
    os.chmod(agent, 0o755)
    port = free_port()
    incoming = os.path.join(root, "Spool", "incoming")
    dropped, posted, serial = [], [], 0
    for cycle in range(args.cycles):
        daemon = Daemon(lph, root, "--max-jobs", "4", "--agent", agent, port=port)
        deadline = time.time() + rng.uniform(0.0, 0.4)
        while time.time() < deadline:
            serial += 1
            name = f"job{serial}.json" if serial % 7 else f"bad{serial}.json"
            body = '{"project": "P%d", "specification": "crash test"}' % (serial % 5) if serial % 7 else "{ not json"
            with open(os.path.join(incoming, "." + name + ".tmp"), "w") as f:
                f.write(body)
            os.rename(os.path.join(incoming, "." + name + ".tmp"), os.path.join(incoming, name))
            dropped.append(name)
            if serial % 3 == 0:
                job = post_job(port, daemon.token, f"H{serial % 4}")
                if job is not None:
                    posted.append(job)
            time.sleep(rng.uniform(0, 0.02))
        daemon.kill9()

    # The last start: let everything settle, then stop gracefully.
    daemon = Daemon(lph, root, "--max-jobs", "4", "--agent", agent, port=port)
    db_path = os.path.join(root, "lph.sqlite")
    deadline = time.time() + 300
    while True:
        db = sqlite3.connect(db_path)
        open_jobs = db.execute("SELECT count(*) FROM jobs WHERE status IN ('pending', 'in_progress')").fetchone()[0]
        waiting = [n for n in os.listdir(incoming) if not n.startswith(".")]
        db.close()
        if open_jobs == 0 and not waiting:
            break
        assert time.time() < deadline, f"not settled: {open_jobs} open jobs, {len(waiting)} files waiting"
        time.sleep(0.1)
    daemon.stop()

    db = sqlite3.connect(db_path)
    problems = []
    accepted = os.listdir(os.path.join(root, "Spool", "accepted"))
    rejected = [n for n in os.listdir(os.path.join(root, "Spool", "rejected")) if not n.endswith(".error")]
    filed = {}
    for name in accepted:
        original = re.sub(r"^\d+-", "", name)
        filed.setdefault(original, []).append(name)
    for name in rejected:
        filed.setdefault(re.sub(r"\.\d+$", "", name), []).append("rejected/" + name)
    lost = [n for n in dropped if n not in filed]
    duplicated = [n for n in dropped if len(filed.get(n, [])) > 1]
    problems += [f"lost: {lost[:5]}"] if lost else []
    problems += [f"filed twice: {duplicated[:5]}"] if duplicated else []
    rows = dict(db.execute("SELECT spool_name, count(*) FROM jobs WHERE spool_name IS NOT NULL GROUP BY spool_name").fetchall())
    for name in accepted:
        original = re.sub(r"^\d+-", "", name)
        if original != "api.json" and rows.get(original) != 1:
            problems.append(f"{name}: {rows.get(original, 0)} job rows")
    known = {r[0] for r in db.execute("SELECT id FROM jobs")}
    missing_posted = [j for j in posted if j not in known]
    problems += [f"HTTP jobs missing: {missing_posted[:5]}"] if missing_posted else []
    runs = [int(x) for x in open(ledger).read().split()] if os.path.exists(ledger) else []
    twice = sorted({j for j in runs if runs.count(j) > 1})
    problems += [f"agents run twice for jobs {twice[:5]}"] if twice else []
    unfinished = db.execute("SELECT count(*) FROM jobs WHERE status NOT IN ('completed', 'failed', 'cancelled')").fetchone()[0]
    problems += [f"{unfinished} jobs not final"] if unfinished else []
    integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    problems += [f"integrity_check: {integrity}"] if integrity != "ok" else []
    for job, status in db.execute("SELECT id, status FROM jobs"):
        numbers = [int(m[5:]) for (m,) in db.execute(
            "SELECT message FROM log_entries WHERE job_id = ? AND source = 'agent' ORDER BY id", (job,)) if m.startswith("line ")]
        whole = list(range(1, 41)) if status == "completed" else list(range(1, len(numbers) + 1))
        if numbers != whole:
            problems.append(f"job {job} ({status}): agent lines out of order, with a gap or cut short: {numbers[:10]}…")
            break
    completed = {r[0] for r in db.execute("SELECT id FROM jobs WHERE status = 'completed'")}
    problems += [f"completed jobs whose agent never ran: {sorted(completed - set(runs))[:5]}"] if completed - set(runs) else []
    problems += ["no job was answered 201 over HTTP: the HTTP half of the test did not run"] if not posted else []
    problems += ["no job completed"] if not completed else []
    print(f"crash test (seed {args.seed}): {args.cycles} kill -9 cycles survived, {len(dropped)} files dropped, "
          f"{len(posted)} jobs posted over HTTP, {len(known)} jobs, {len(runs)} agent runs; "
          f"lost {len(lost)}, duplicated {len(duplicated)}, agents run twice {len(twice)}")
    if problems:
        print("FAILED:\n  " + "\n  ".join(problems))
        sys.exit(1)


if __name__ == "__main__":
    main()
