"""Three nodes on one PostgreSQL, one of them killed: real `lph serve`
processes (a, b, c) share one real PostgreSQL server; job files are dropped
into their three spools while they run, and node c is killed with SIGKILL
while it runs jobs.

Usage: python3 Tests/Reliability/cluster_test.py PATH-TO-LPH [--files 300] [--rate 15] [--lease 3] [--folder DIR]

It proves, with assertions:
- only the first node creates the admin; its token works on every node;
- every file dropped on a and b is filed exactly once (accepted/ or
  rejected/, none left in incoming/); on c every file is in exactly one of
  accepted/, rejected/ or incoming/ (those c never took stay there: nobody
  else reads its spool, and that is expected);
- the jobs table holds exactly one job per accepted file (and none for a
  rejected one), whichever node took it;
- no job ran twice: each job's log says "job started" at most once;
- the jobs c was running when it died fail with "interrupted: node c lost"
  within the lease plus a margin, a and b are never declared lost, and every
  other job completes, except pending jobs of projects whose folder is on c,
  which wait (counted, and accepted only for projects.node = 'c');
- streams across nodes: a client on node a follows the log of a job running
  on node b completely and in order; clients that read part of a stream on
  node a and reconnect to node c with Last-Event-ID (a job's log, and the
  journal) get no gap and no duplicate; a journal client on node a for the
  whole run gets every node's events, each once, in id order.
Prints the figures: jobs started per second, drop-to-start p50/p99, and the
latency of node b's events to a client on node a, p50/p99.
"""
import argparse
import datetime
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Support"))
from lph_support import Daemon, Postgres, check, until  # noqa: E402

NODES = ("a", "b", "c")
JOURNAL = "/streams?types=logs,jobs"


# --- helpers -----------------------------------------------------------------

def rows(url, query):
    """The rows of `query` as dicts, in its order, through psql (one JSON object a line)."""
    result = subprocess.run(["psql", url, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c",
                             f"SELECT row_to_json(q) FROM ({query}) AS q"],
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise AssertionError(f"psql failed on {query!r}: {result.stderr.strip()}")
    return [json.loads(line) for line in result.stdout.splitlines() if line]


def value(url, query):
    """The single value of a one-row, one-column query."""
    (row,) = rows(url, query)
    return next(iter(row.values()))


def seconds(timestamp):
    """An ISO-8601 UTC timestamp with milliseconds as seconds since the epoch."""
    return datetime.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")


class Follower:
    """An SSE client of `node`: every complete frame (id, event, data, receive
    time) as it arrives, read on a thread, until the stream ends, `limit`
    frames were read (then it stops reading, as a client that goes away), or `stop()`."""

    def __init__(self, node, path, last_event_id=None, limit=None):
        self.where = f"node {node.name} {path}"
        self.frames, self.ended, self.error, self.stopping, self.limit = [], False, None, False, limit
        self.connected = time.time()
        connection = http.client.HTTPConnection("127.0.0.1", node.port, timeout=120)
        headers = {"Authorization": f"Bearer {node.token}", "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        connection.request("GET", path, headers=headers)
        self.socket = connection.sock
        self.response = connection.getresponse()
        if self.response.status != 200:
            raise AssertionError(f"{self.where}: {self.response.status} {self.response.read()[:200]!r}")
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        frame = {}
        try:
            while True:
                raw = self.response.readline()
                if not raw:
                    return
                line = raw.decode().rstrip("\r\n")
                if line.startswith(":"):
                    continue  # keep-alive comment
                if line:
                    field, _, text = line.partition(":")
                    frame[field] = text[1:] if text.startswith(" ") else text
                    continue
                if "event" in frame:
                    received = time.time()
                    if frame["event"] == "end":
                        self.ended = True
                        return
                    self.frames.append({"id": int(frame["id"]), "event": frame["event"],
                                        "data": json.loads(frame["data"]), "received": received})
                    if self.limit and len(self.frames) >= self.limit:
                        self.stopping = True
                        return
                frame = {}
        except (OSError, ValueError, http.client.HTTPException) as error:
            if not self.stopping:
                self.error = error

    @property
    def last_id(self):
        return self.frames[-1]["id"] if self.frames else 0

    @property
    def live(self):
        """How many frames were written after it connected (the others came from the replay)."""
        return sum(seconds(f["data"]["timestamp"]) >= self.connected for f in self.frames)

    def stop(self):
        """Closes the connection (a frame half read is dropped, as a browser would)."""
        self.stopping = True
        try:
            self.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.thread.join(timeout=10)
        self.response.close()
        return self


def compare(what, frames, expected):
    """Fails unless the frames' (id, text) are exactly the database rows', in order."""
    got = [(f["id"], f["data"]["text"]) for f in frames]
    want = [(r["id"], r["text"]) for r in expected]
    if got != want:
        ids = [g[0] for g in got]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        missing = sorted({w[0] for w in want} - set(ids))
        out_of_order = [b for a, b in zip(ids, ids[1:]) if b <= a]
        raise AssertionError(f"{what}: {len(got)} frames, {len(want)} rows in the database; "
                             f"missing ids {missing[:10]}, duplicated {duplicates[:10]}, "
                             f"out of order at {out_of_order[:10]}, first difference "
                             f"{next(((g, w) for g, w in zip(got, want) if g != w), None)}")
    check(True, f"{what}: {len(got)} frames, exactly the database rows, in order")


# --- the cluster -----------------------------------------------------------

def start_nodes(lph, root, url, lease, nodes):
    """a, then b and c into `nodes` (so that those started are stopped should
    the next fail), each with its own folder (spool, projects, state); only a
    makes the admin. The agent is the demo agent, quick (0.1 s a phase) and
    writing 2 tasks' files, not 6: the machine's two cores, not the cluster,
    bound how many jobs a second run."""
    agent = f"{shlex.quote(lph)} demo-agent --pace 0.1 --tasks 2"
    for name in NODES:
        folder = os.path.join(root, name)
        os.makedirs(folder)
        log = open(os.path.join(folder, "stderr.log"), "w")
        node = Daemon(lph, folder, "--db", url, "--node", name, "--node-lease", str(lease), "--agent", agent,
                      "--max-jobs", "3", log=log, token=nodes["a"].token if nodes else None)
        node.name, node.log = name, log.name
        nodes[name] = node


def check_admin(nodes, url):
    has_token = [n for n in NODES if os.path.exists(os.path.join(nodes[n].root, ".lph", "admin.token"))]
    check(has_token == ["a"], f"only the first node made the admin token (nodes with .lph/admin.token: {has_token})")
    admins = value(url, "SELECT count(*) FROM users WHERE role = 'admin'")
    check(admins == 1, f"one admin user in the shared database ({admins})")
    for name in NODES:
        me = nodes[name].get("/users/me")
        check(me.get("role") == "admin", f"a's admin token works on node {name}")


class Dropper(threading.Thread):
    """Drops `count` job files round-robin into the three spools at `rate`
    files a second (a temporary name, then a rename), recording each drop's time.
    Every 40th file is invalid (an unknown key) and must be rejected. Most
    projects are new; every 4th file goes to one of seven shared projects."""

    def __init__(self, nodes, count, rate):
        super().__init__(daemon=True)
        self.nodes, self.count, self.rate = nodes, count, rate
        self.dropped = {name: {} for name in NODES}  # node -> file name -> drop time
        self.invalid = {name: set() for name in NODES}
        self.done = threading.Event()

    @property
    def total(self):
        return sum(len(d) for d in self.dropped.values())

    def drop(self, name, file, body):
        """One job file into node `name`'s spool, written aside and renamed in, its drop time kept."""
        incoming = os.path.join(self.nodes[name].root, "Spool", "incoming")
        with open(os.path.join(incoming, f".{file}.tmp"), "w") as f:
            json.dump(body, f)
        dropped_at = time.time()
        os.rename(os.path.join(incoming, f".{file}.tmp"), os.path.join(incoming, file))
        self.dropped[name][file] = dropped_at

    def run(self):
        began = time.monotonic()
        for serial in range(self.count):
            name = NODES[serial % 3]
            file = f"{name}-{serial:04d}.json"
            project = f"Shared{serial // 4 % 7}" if serial % 4 == 0 else f"P{serial:04d}"
            body = {"project": project, "specification": f"cluster test, file {serial}"}
            if serial % 40 == 39:
                body["bogus"] = True
                self.invalid[name].add(file)
            self.drop(name, file, body)
            pause = began + (serial + 1) / self.rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)  # pacing the load, not waiting for a result
        self.done.set()


# --- the steps -------------------------------------------------------------

def latest_in_progress(url, node, besides=()):
    """The id of the job started last of those just started on `node` (in
    progress, in no phase or the first), other than `besides`, or None: most
    of its log is still to come."""
    skip = ",".join(str(j) for j in besides) or "0"
    found = rows(url, f"SELECT id FROM jobs WHERE node = '{node}' AND status = 'in_progress' AND id NOT IN ({skip}) "
                      "AND current_phase IN ('idle', 'specify') ORDER BY started_at DESC, id DESC LIMIT 1")
    return found[0]["id"] if found else None


def job_log(url, job):
    return rows(url, f"SELECT id, message AS text FROM log_entries WHERE job_id = {job} ORDER BY id")


def follow_b_job_on_a(nodes, url):
    """A client on node a follows, to its end, the log of a job that runs on node b."""
    job = until("a job in progress on node b", lambda: latest_in_progress(url, "b"), 60)
    seen = nodes["a"].get(f"/jobs/{job}")
    check(seen["node"] == "b", f"node a shows job {job} running on node b ({seen['node']}, {seen['status']})")
    follower = Follower(nodes["a"], f"/jobs/{job}/logs/stream")
    until(f"job {job}'s log stream on node a to end", lambda: follower.ended or follower.error, 60)
    assert follower.error is None, f"job {job}'s log stream on node a broke: {follower.error!r}"
    follower.stop()
    compare(f"job {job} (run on node b), its log followed on node a ({follower.live} lines live, "
            f"{len(follower.frames) - follower.live} replayed)", follower.frames, job_log(url, job))
    return job


def split_job_log(nodes, url, besides):
    """Part of a b job's log on node a, the rest on node c with Last-Event-ID."""
    job = until("another job in progress on node b", lambda: latest_in_progress(url, "b", besides), 60)
    first = Follower(nodes["a"], f"/jobs/{job}/logs/stream", limit=3)
    until(f"3 frames of job {job}'s log on node a", lambda: len(first.frames) >= 3 or first.ended or first.error, 60)
    first.stop()
    assert len(first.frames) == 3, f"job {job}'s log on node a: {len(first.frames)} frames ({first.error!r})"
    second = Follower(nodes["c"], f"/jobs/{job}/logs/stream", last_event_id=first.last_id)
    until(f"job {job}'s log stream on node c to end", lambda: second.ended or second.error, 60)
    assert second.error is None, f"job {job}'s log stream on node c broke: {second.error!r}"
    second.stop()
    compare(f"job {job} (run on node b), {len(first.frames)} log frames on node a then the rest on node c "
            f"after Last-Event-ID {first.last_id} ({second.live} of them live)", first.frames + second.frames, job_log(url, job))


def journal_rows(url, through):
    return rows(url, "SELECT id, message_text AS text FROM stream_messages "
                     f"WHERE stream_type IN ('logs', 'jobs') AND id <= {through} ORDER BY id")


def split_journal(nodes, url):
    """Part of the journal on node a, the rest on node c with Last-Event-ID, while every node writes."""
    first = Follower(nodes["a"], JOURNAL, limit=200)
    until("200 journal frames on node a", lambda: len(first.frames) >= 200 or first.error, 60)
    first.stop()
    assert len(first.frames) == 200, f"the journal on node a: {len(first.frames)} frames ({first.error!r})"
    second = Follower(nodes["c"], JOURNAL, last_event_id=first.last_id)
    target = value(url, "SELECT max(id) FROM stream_messages") + 300
    until(f"the journal on node c to pass id {target}", lambda: second.last_id >= target or second.error, 60)
    second.stop()
    assert second.error is None, f"the journal stream on node c broke: {second.error!r}"
    compare(f"the journal, {len(first.frames)} frames on node a then {len(second.frames)} on node c "
            f"after Last-Event-ID {first.last_id} ({second.live} of them live)", first.frames + second.frames,
            journal_rows(url, second.last_id))


def kill_c(nodes, url, dropper):
    """Kills node c with SIGKILL while it runs jobs, then drops one more job of
    the project of one of them (whose folder is then on c) into a's spool,
    which must wait for c. c is stopped (SIGSTOP) while the test looks, so
    that what it was running is what it runs when it dies: no job ends in
    between. A shared project is chosen if c runs one, but c may own none:
    the node that claims a project's first job owns its folder, and all seven
    may go to a and b. Without the extra drop, whether a later job of a
    project on c is queued would be a matter of timing. Answers (kill time,
    jobs it was running)."""
    c = nodes["c"]

    def running_while_stopped():
        c.process.send_signal(signal.SIGSTOP)
        running = []
        try:
            running = rows(url, "SELECT jobs.id, projects.name FROM jobs JOIN projects ON projects.id = jobs.project_id "
                                "WHERE jobs.node = 'c' AND jobs.status = 'in_progress' "
                                "ORDER BY projects.name LIKE 'Shared%' DESC, jobs.id")
        finally:
            if not running:
                c.process.send_signal(signal.SIGCONT)
        return running
    running = until("node c stopped while it runs a job", running_while_stopped, 90)
    c.kill9()
    killed_at = time.time()
    project = running[0]["name"]
    jobs = sorted(r["id"] for r in running)
    print(f"note: node c killed with SIGKILL while running jobs {jobs}, one of project {project}")
    dropper.drop("a", "a-after-the-kill.json", {"project": project, "specification": "waits for node c"})
    started = rows(url, "SELECT node, count(*) FROM jobs WHERE node IS NOT NULL GROUP BY node ORDER BY node")
    print("note: jobs started by each node before the kill: " + ", ".join(f"{r['node']} {r['count']}" for r in started))
    owners = rows(url, "SELECT node, count(*) FROM projects WHERE name LIKE 'Shared%' GROUP BY node ORDER BY node")
    print("note: the nodes holding the seven shared projects' folders: "
          + ", ".join(f"{r['node'] or 'none yet'} {r['count']}" for r in owners))
    return killed_at, jobs


def check_c_jobs_failed(url, killed_at, running, lease):
    """c's running jobs fail naming it, within the lease plus a margin."""
    margin = 5
    listed = ",".join(map(str, running))
    until(f"node c's jobs {running} to fail", lambda: value(
        url, f"SELECT count(*) FROM jobs WHERE id IN ({listed}) AND status = 'in_progress'") == 0, lease + 30)
    ended = rows(url, f"SELECT id, status, failure_reason, finished_at FROM jobs WHERE id IN ({listed}) ORDER BY id")
    wrong = [r for r in ended if (r["status"], r["failure_reason"]) != ("failed", "interrupted: node c lost")]
    check(not wrong, f"node c's {len(running)} running jobs failed with 'interrupted: node c lost' (others: {wrong})")
    after = max(seconds(r["finished_at"]) for r in ended) - killed_at
    print(f"figure: node c's running jobs all failed {after:.2f} s after the kill (lease {lease} s)")
    check(after <= lease + margin, f"they failed within the lease plus {margin} s ({after:.2f} s)")
    return after


def settle(nodes, url, dropper, deadline):
    """Waits until every file was dropped, a's and b's spools are empty and every
    job has ended, but the pending ones whose project is on the dead node c."""
    dropper.done.wait(deadline)

    def settled():
        waiting = [f for n in ("a", "b") for f in os.listdir(os.path.join(nodes[n].root, "Spool", "incoming"))]
        open_jobs = value(url, "SELECT count(*) FROM jobs JOIN projects ON projects.id = jobs.project_id "
                               "WHERE jobs.status = 'in_progress' "
                               "OR (jobs.status = 'pending' AND projects.node IS DISTINCT FROM 'c')")
        return not waiting and open_jobs == 0
    until("the cluster to settle (a's and b's spools empty, every job ended but those waiting for c)", settled, deadline)


def spool(node, folder):
    path = os.path.join(node.root, "Spool", folder)
    return sorted(n for n in os.listdir(path) if not n.startswith("."))


def check_files(nodes, url, dropper):
    """Every file filed exactly once; exactly one job per accepted file."""
    jobs = rows(url, "SELECT id, spool_node, spool_name, spool_filed FROM jobs WHERE spool_name IS NOT NULL")
    by_file = {}
    for job in jobs:
        by_file.setdefault((job["spool_node"], job["spool_name"]), []).append(job)
    twice = {k: [j["id"] for j in v] for k, v in by_file.items() if len(v) > 1}
    check(not twice, f"no file has two jobs ({len(jobs)} jobs from files; doubles: {list(twice.items())[:5]})")
    accepted_total = 0
    for name in NODES:
        node, dropped = nodes[name], dropper.dropped[name]
        accepted = {re.sub(r"^\d+-", "", f): int(f.split("-")[0]) for f in spool(node, "accepted")}
        rejected = {f for f in spool(node, "rejected") if not f.endswith(".error")}
        incoming = set(spool(node, "incoming"))
        places = [f for f in dropped if (f in accepted) + (f in rejected) + (f in incoming) != 1]
        check(not places and len(accepted) + len(rejected) + len(incoming) == len(dropped),
              f"node {name}: each of its {len(dropped)} files is in exactly one place: {len(accepted)} accepted, "
              f"{len(rejected)} rejected, {len(incoming)} still in incoming/ (misplaced: {places[:5]})")
        if name != "c":
            check(not incoming, f"node {name}: nothing left in incoming/")
        else:
            print(f"note: node c was killed with {len(incoming)} of its files not yet taken; they wait in its "
                  f"incoming/ (nobody else reads that spool), as expected")
        check(rejected == dropper.invalid[name] - incoming,
              f"node {name}: exactly the invalid files were rejected ({sorted(rejected)})")
        wrong = [f for f, job in accepted.items() if [j["id"] for j in by_file.get((name, f), [])] != [job]]
        check(not wrong, f"node {name}: each of its {len(accepted)} accepted files has exactly one job, "
                         f"the one its name carries (wrong: {wrong[:5]})")
        strays = [k[1] for k in by_file if k[0] == name and k[1] not in accepted]
        unfiled = [f for f in strays if f in incoming and not by_file[(name, f)][0]["spool_filed"]]
        check(sorted(strays) == sorted(unfiled),
              f"node {name}: no job without its accepted file, but {len(unfiled)} taken by c just before it died "
              f"(in incoming/, job row marked unfiled) (strays: {sorted(set(strays) - set(unfiled))[:5]})")
        accepted_total += len(accepted)
    total = value(url, "SELECT count(*) FROM jobs")
    check(total == len(jobs), f"every job came from a file ({total} jobs)")
    return accepted_total


def check_no_job_twice(url):
    twice = rows(url, "SELECT job_id, count(*) FROM log_entries WHERE message LIKE 'job started%' "
                      "GROUP BY job_id HAVING count(*) > 1")
    check(not twice, f"no job started twice (jobs whose log says 'job started' more than once: {twice[:5]})")
    unstarted = rows(url, "SELECT id, status FROM jobs WHERE started_at IS NOT NULL AND id NOT IN "
                          "(SELECT job_id FROM log_entries WHERE message LIKE 'job started%')")
    check(not unstarted, f"every started job's log says so ({unstarted[:5]})")


def check_outcomes(url, running):
    """Every job completed, but c's interrupted ones, and pending ones waiting for c."""
    listed = ",".join(map(str, running))
    others = rows(url, "SELECT jobs.id, jobs.status, jobs.failure_reason, jobs.node, projects.node AS project_node "
                       "FROM jobs JOIN projects ON projects.id = jobs.project_id "
                       f"WHERE jobs.id NOT IN ({listed}) AND jobs.status <> 'completed' ORDER BY jobs.id")
    waiting = [r for r in others if r["status"] == "pending" and r["project_node"] == "c"]
    wrong = [r for r in others if r not in waiting]
    completed = value(url, "SELECT count(*) FROM jobs WHERE status = 'completed'")
    check(not wrong, f"every other job completed ({completed}), but {len(waiting)} pending in projects whose folder "
                     f"is on node c (others not completed: {wrong[:5]})")
    check(waiting, f"the later jobs of the projects whose folder is on c wait for c ({len(waiting)} jobs)")
    told = value(url, "SELECT count(DISTINCT job_id) FROM log_entries WHERE message LIKE 'waiting for node c%'")
    print(f"note: {len(waiting)} jobs wait for node c (their project's folder is there), {told} of them pending "
          f"when c was declared lost and told so in their logs: {[r['id'] for r in waiting]}")
    lost = rows(url, "SELECT name FROM nodes WHERE lost_at IS NOT NULL ORDER BY name")
    check([r["name"] for r in lost] == ["c"], f"node c, and only c, was declared lost ({lost})")


def check_long_journal(url, journal):
    """The journal client on node a, from before the first drop to the end, got every node's events, once, in order."""
    last = value(url, "SELECT max(id) FROM stream_messages WHERE stream_type IN ('logs', 'jobs')")
    until(f"the journal client on node a to reach id {last}", lambda: journal.last_id >= last or journal.error, 60)
    journal.stop()
    assert journal.error is None, f"the journal stream on node a broke: {journal.error!r}"
    compare("the journal on node a for the whole run (every node's events)", journal.frames, journal_rows(url, last))


def figures(url, dropper, journal):
    started = rows(url, "SELECT id, node, spool_node, spool_name, started_at FROM jobs "
                        "WHERE started_at IS NOT NULL ORDER BY started_at")
    times = [seconds(r["started_at"]) for r in started]
    span = times[-1] - times[0]
    print(f"figure: {len(started)} jobs started in {span:.1f} s (first start to last): "
          f"{(len(started) - 1) / span:.1f} jobs started a second; by node: "
          + ", ".join(f"{n} {sum(r['node'] == n for r in started)}" for n in NODES))
    waits = [seconds(r["started_at"]) - dropper.dropped[r["spool_node"]][r["spool_name"]] for r in started]
    print(f"figure: drop to start (queueing included): p50 {percentile(waits, 50):.2f} s, "
          f"p99 {percentile(waits, 99):.2f} s, over {len(waits)} jobs")
    on_b = {r["id"] for r in started if r["node"] == "b"}
    made_by_runner = re.compile(r"^job \d+ (started on node|phase changed to|completed|failed|in progress|phase |progress)")
    latencies = [f["received"] - seconds(f["data"]["timestamp"]) for f in journal.frames
                 if f["data"].get("job_id") in on_b and made_by_runner.match(f["data"]["text"])]
    print(f"figure: an event written by node b to a journal client on node a: p50 {percentile(latencies, 50) * 1000:.0f} ms, "
          f"p99 {percentile(latencies, 99) * 1000:.0f} ms, over {len(latencies)} events "
          "(the event's timestamp, ms resolution, to its receipt)")


# --- main ------------------------------------------------------------------

def error_summary(nodes):
    """The distinct error lines of the nodes' standard error (numbers and paths
    blurred), with their counts: printed, not judged."""
    counts = {}
    for name, node in nodes.items():
        with open(node.log, errors="replace") as log:
            for line in log:
                if " error lph:" in line:
                    kind = re.sub(r"/\S+", "PATH", re.sub(r"\d+", "N", line.split(" error lph: ", 1)[1].strip()))
                    counts[(name, kind)] = counts.get((name, kind), 0) + 1
    for (name, kind), count in sorted(counts.items(), key=lambda item: -item[1])[:8]:
        print(f"note: node {name} logged {count} x: {kind[:220]}")
    if not counts:
        print("note: no error lines in the nodes' standard error")


def tail(path, lines=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log)"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("lph")
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--rate", type=float, default=15.0, help="files dropped a second")
    parser.add_argument("--lease", type=int, default=3)
    parser.add_argument("--folder", default="/dev/shm" if os.access("/dev/shm", os.W_OK) else None,
                        help="where the nodes' folders go (default: /dev/shm, memory: the test makes some 7,000 "
                             "files, and removing them from a disk mounted with discard takes half a minute)")
    args = parser.parse_args()
    lph = os.path.abspath(args.lph)
    # A SIGTERM (make's time bound) unwinds through `finally`: nodes and PostgreSQL stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    began = time.monotonic()
    root = tempfile.mkdtemp(prefix="lph-cluster.", dir=args.folder)
    postgres, nodes, journal, ok = None, {}, None, False
    try:
        postgres = Postgres()
        url = postgres.database()
        start_nodes(lph, root, url, args.lease, nodes)
        check_admin(nodes, url)
        journal = Follower(nodes["a"], JOURNAL)
        dropper = Dropper(nodes, args.files, args.rate)
        dropper.start()
        job = follow_b_job_on_a(nodes, url)
        split_job_log(nodes, url, [job])
        split_journal(nodes, url)
        killed_at, running = kill_c(nodes, url, dropper)
        print(f"note: node c killed after {dropper.total} of {args.files} files were dropped")
        check_c_jobs_failed(url, killed_at, running, args.lease)
        settle(nodes, url, dropper, 240)
        accepted = check_files(nodes, url, dropper)
        print(f"note: {accepted} files accepted in all")
        check_no_job_twice(url)
        check_outcomes(url, running)
        check_long_journal(url, journal)
        figures(url, dropper, journal)
        error_summary(nodes)
        for name in ("a", "b"):
            nodes[name].stop()
            check(nodes[name].process.returncode == 0, f"node {name} stopped cleanly on SIGTERM "
                                                       f"(exit {nodes[name].process.returncode})")
        ok = True
        print(f"cluster test passed in {time.monotonic() - began:.0f} s")
    except Exception as error:  # noqa: BLE001 - any failure is reported with the nodes' logs, then fails the run
        if not isinstance(error, AssertionError):
            traceback.print_exc()
        print(f"FAILED: {error}", file=sys.stderr)
        for name, node in nodes.items():
            print(f"--- node {name} stderr ({node.log}), last lines:\n{tail(node.log)}", file=sys.stderr)
    finally:
        if journal is not None:
            journal.stop()
        for node in nodes.values():
            if node.process.poll() is None:
                node.process.send_signal(signal.SIGCONT)  # c may have been stopped when the run failed
                try:
                    node.stop(timeout=20)
                except AssertionError as error:
                    print(f"FAILED: node {node.name}: {error}", file=sys.stderr)
        if postgres is not None:
            postgres.stop()
        if ok:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"the nodes' folders are kept in {root}", file=sys.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
