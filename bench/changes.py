"""Figures for lines written as a diff, against the real `lph serve`.

Usage: python3 bench/changes.py .build/release/lph [--files 50000] [--edits 50]

1. A project with a `node_modules/` of --files files (50 per folder) exists
   before the daemon starts: the time to the start rescan's note, beside
   `find` over the same tree, and the inotify watches the daemon holds.
2. A job runs in a project holding a 10,000-line file; one line of it is
   changed --edits times (the file rewritten whole, as editors do), each after
   a quiet spell longer than the measurement window: the time from each write
   to the job's counts committed (lines_written moves).
"""
import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time

parser = argparse.ArgumentParser()
parser.add_argument("lph")
parser.add_argument("--files", type=int, default=50_000)
parser.add_argument("--edits", type=int, default=50)
args = parser.parse_args()
LPH = os.path.abspath(args.lph)
WORK = tempfile.mkdtemp(prefix="lph-changes-")
PROJECTS = os.path.join(WORK, "generated_projects")


def wait(what, condition, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.002)
    raise SystemExit(f"timed out waiting for {what}")


def query(sql, *parameters):
    try:
        with sqlite3.connect(f"file:{WORK}/lph.sqlite?mode=ro", uri=True, timeout=10) as db:
            return db.execute(sql, parameters).fetchall()
    except sqlite3.OperationalError:
        return []


def watches(pid):
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:inotify":
                count += sum(1 for line in open(f"/proc/{pid}/fdinfo/{fd}") if line.startswith("inotify wd:"))
        except OSError:
            pass
    return count


# 1. A dependency tree present at start.
modules = os.path.join(PROJECTS, "Deps", "node_modules")
for n in range(args.files):
    folder = os.path.join(modules, f"pkg{n // 50}")
    if n % 50 == 0:
        os.makedirs(folder)
    with open(os.path.join(folder, f"f{n % 50}.js"), "w") as f:
        f.write("module.exports = 1;\n" * 20)
with open(os.path.join(PROJECTS, "Deps", "index.js"), "w") as f:
    f.write("require('pkg0');\n")
started = time.time()
subprocess.run(["find", PROJECTS, "-type", "f"], stdout=subprocess.DEVNULL, check=True)
find_seconds = time.time() - started

agent = os.path.join(WORK, "agent.sh")
with open(agent, "w") as f:
    f.write("#!/bin/sh\nwhile [ ! -e ../stop ]; do sleep 0.05; done\n")
os.chmod(agent, 0o755)
started = time.time()
daemon = subprocess.Popen([LPH, "serve", "--listen", "127.0.0.1:0", "--agent", agent], cwd=WORK,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    wait("the start rescan", lambda: query("SELECT 1 FROM stream_messages WHERE message_text LIKE 'rescan of % (start)%'"))
    rescan_seconds = time.time() - started
    held = watches(daemon.pid)
    indexed = query("SELECT count(*) FROM artifacts")[0][0]

    # 2. One line of a 10,000-line file changed, again and again, while a job runs.
    project = os.path.join(PROJECTS, "Edits")
    os.makedirs(project)
    lines = [f"line {n}\n" for n in range(10_000)]
    with open(os.path.join(project, "big.txt"), "w") as f:
        f.writelines(lines)
    os.makedirs(os.path.join(WORK, "Spool", "incoming"), exist_ok=True)
    with open(os.path.join(WORK, "Spool", "incoming", ".edits.tmp"), "w") as f:
        f.write('{"project": "Edits", "specification": "wait"}')
    os.rename(os.path.join(WORK, "Spool", "incoming", ".edits.tmp"), os.path.join(WORK, "Spool", "incoming", "edits.json"))
    wait("the job to start measuring", lambda: query("SELECT 1 FROM jobs WHERE start_tree IS NOT NULL AND status = 'in_progress'"))
    latencies = []
    for edit in range(1, args.edits + 1):
        time.sleep(0.6)   # past the tracker's 500 ms window: each edit is the first change in a quiet spell
        lines[edit * 97] = f"changed {edit}\n"
        started = time.time()
        with open(os.path.join(project, "big.txt"), "w") as f:
            f.writelines(lines)
        wait(f"edit {edit} counted", lambda: query("SELECT 1 FROM jobs WHERE project_id = (SELECT id FROM projects WHERE name = 'Edits') "
                                                  "AND lines_written = ?", edit))
        latencies.append((time.time() - started) * 1000)
    open(os.path.join(PROJECTS, "stop"), "w").close()
finally:
    daemon.terminate()
    daemon.wait(timeout=60)
    if not os.environ.get("KEEP"): shutil.rmtree(WORK, ignore_errors=True)
    else: print(WORK)

latencies.sort()
print(f"| node_modules/ of {args.files:,} files at start | start rescan done | find over the same tree | watches held | artifacts |")
print("|---|---|---|---|---|")
print(f"| | {rescan_seconds:.2f} s (daemon start included) | {find_seconds:.2f} s | {held} | {indexed} |")
print()
print(f"| one line of a 10,000-line file changed, {args.edits} times | p50 | p99 | max |")
print("|---|---|---|---|")
p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
print(f"| write → counts committed | {statistics.median(latencies):.0f} ms | {p99:.0f} ms | {latencies[-1]:.0f} ms |")
