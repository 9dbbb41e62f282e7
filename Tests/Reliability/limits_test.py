#!/usr/bin/env python3
"""Limits: the database's disk full, and the inotify watch limit reached, on
the real `lph serve`.

Usage: python3 Tests/Reliability/limits_test.py PATH-TO-LPH

- Disk full: the database lives on a 16 MiB tmpfs that the test fills. Job
  files dropped meanwhile stay in incoming/ (none rejected, none lost), an
  HTTP job is answered 503, /healthz says "degraded"; once space returns every
  file becomes one job and runs, and the database is intact.
- Watch limit: fs.inotify.max_user_watches is lowered just above what is in
  use, and folders are made past it. The daemon names the limit (the logs
  stream, /healthz), finds every file by rescanning, and once the limit is
  raised watches everything again. The limit is always restored.

Each part needs root (mount, sysctl) and says SKIPPED when the machine does not allow it
(a failure under LPH_NO_SKIPS=1, as in CI).
"""
import glob, json, os, shutil, signal, sqlite3, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Support"))
import lph_support as support  # noqa: E402
from lph_support import Daemon, check  # noqa: E402

AGENT = "#!/bin/sh\ni=1\nwhile [ $i -le 200 ]; do echo \"line $i\"; i=$((i + 1)); done\n"
WATCHES = "/proc/sys/fs/inotify/max_user_watches"


def start(lph, root, *arguments):
    """The daemon with a quick agent of 200 lines, its errors in root/serve.log."""
    agent = os.path.join(root, "agent.sh")
    with open(agent, "w") as f:
        f.write(AGENT)
    os.chmod(agent, 0o755)
    return Daemon(lph, root, "--agent", agent, *arguments, log=open(os.path.join(root, "serve.log"), "w"))


def until(what, condition, timeout=60):
    support.until(what, condition, timeout)
    print("ok:", what)


def drop(root, name, specification):
    incoming = os.path.join(root, "Spool", "incoming")
    with open(os.path.join(incoming, "." + name), "w") as f:
        json.dump({"project": name.split(".")[0], "specification": specification}, f)
    os.rename(os.path.join(incoming, "." + name), os.path.join(incoming, name))


def disk_full(lph):
    root = tempfile.mkdtemp(prefix="lph-diskfull.")
    db_dir = os.path.join(root, "db")
    os.makedirs(db_dir)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", db_dir], capture_output=True).returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        support.skip("disk full: cannot mount a tmpfs here (not root?)")
        return
    daemon = None
    try:
        daemon = start(lph, root, "--db", "db/lph.sqlite")
        jobs = lambda: daemon.call("GET", "/jobs?limit=10000")[1]
        drop(root, "warmup.json", "warm up")
        until("a first job completes", lambda: [j["status"] for j in jobs()] == ["completed"])
        filler = os.path.join(db_dir, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"\0" * 65536):
                pass
        except OSError:
            pass
        os.close(fd)
        big = "x" * 300_000  # larger than what the WAL already holds: the claim must grow the files
        names = [f"full{i}.json" for i in range(10)]
        for name in names:
            drop(root, name, big)
        until("/healthz says degraded", lambda: daemon.health()["status"] == "degraded")
        print("   ", daemon.health()["problems"][0][:160])
        status, body = daemon.call("POST", "/projects/Posted/jobs", {"specification": big})
        check(status == 503, f"an HTTP job is answered 503 while the disk is full ({status}: {body.get('error', '')[:80]})")
        incoming = os.listdir(os.path.join(root, "Spool", "incoming"))
        taken = [a.split("-", 1)[1] for a in os.listdir(os.path.join(root, "Spool", "accepted"))]
        check(incoming and sorted(incoming + [t for t in taken if t in names]) == sorted(names),
              f"the dropped files wait in incoming/ ({len(incoming)} of {len(names)}; any other was taken before the disk filled)")
        check(os.listdir(os.path.join(root, "Spool", "rejected")) == [], "none rejected")
        os.unlink(filler)
        until("every waiting file is taken once space returns",
              lambda: len(jobs()) == 11 and os.listdir(os.path.join(root, "Spool", "incoming")) == [], timeout=90)
        until("every job completes", lambda: all(j["status"] == "completed" for j in jobs()), timeout=120)
        until("/healthz is ok again", lambda: daemon.health()["status"] == "ok" or print("   ", daemon.health()["problems"]))
        accepted = os.listdir(os.path.join(root, "Spool", "accepted"))
        check(sorted(a.split("-", 1)[1] for a in accepted if not a.endswith("api.json")) == sorted(names + ["warmup.json"]),
              "each file filed in accepted/ exactly once")
        daemon.stop()
        daemon = None
        db = sqlite3.connect(os.path.join(db_dir, "lph.sqlite"))
        check(db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "integrity_check ok")
        lines = db.execute("SELECT COUNT(*) FROM log_entries WHERE source = 'agent'").fetchone()[0]
        check(lines == 11 * 200, f"every agent line stored ({lines})")
        db.close()
        print(f"disk full: {len(names)} files dropped on a full disk, lost 0, rejected 0, duplicated 0; recovered")
    finally:
        try:
            if daemon:
                daemon.stop()
        finally:
            subprocess.run(["umount", db_dir])
            if not os.environ.get("LPH_KEEP"):
                shutil.rmtree(root, ignore_errors=True)


def watches_in_use():
    count = 0
    for path in glob.glob("/proc/[0-9]*/fdinfo/*"):
        try:
            with open(path) as f:
                count += sum(1 for line in f if line.startswith("inotify wd:"))
        except OSError:
            pass
    return count


def watch_limit(lph):
    try:
        with open(WATCHES) as f:
            original = f.read().strip()
        with open(WATCHES, "w") as f:
            f.write(original)
    except OSError:
        support.skip("watch limit: cannot write fs.inotify.max_user_watches here (not root?)")
        return
    root = tempfile.mkdtemp(prefix="lph-watches.")
    daemon = start(lph, root, "--sweep-interval", "600")  # files are found by watches and the degraded rescans only
    try:
        top = os.path.join(root, "generated_projects", "Deep")
        db = sqlite3.connect(f"file:{os.path.join(root, 'lph.sqlite')}?mode=ro", uri=True, timeout=30)
        indexed = lambda: {r[0] for r in db.execute(
            "SELECT file_path FROM artifacts JOIN projects ON projects.id = project_id WHERE projects.name = 'Deep'")}
        try:
            with open(WATCHES, "w") as f:
                f.write(str(watches_in_use() + 10))
            folders = 40
            for i in range(folders):
                os.makedirs(os.path.join(top, f"d{i}"))
                with open(os.path.join(top, f"d{i}", "f.txt"), "w") as f:
                    f.write("a\n")
            until("/healthz names the watch limit",
                  lambda: any("max_user_watches" in p for p in daemon.health()["problems"]))
            errors = [r[0] for r in db.execute("SELECT message_text FROM stream_messages WHERE level = 'error'")]
            check(any("max_user_watches" in e for e in errors), "an error in the logs stream names the limit")
            started = time.monotonic()
            until("every file is indexed by the degraded rescans", lambda: len(indexed()) == folders)
            with open(os.path.join(top, f"d{folders - 1}", "late.txt"), "w") as f:
                f.write("late\n")
            until("a file written later in an unwatched folder is indexed", lambda: f"d{folders - 1}/late.txt" in indexed())
            found = time.monotonic() - started
        finally:
            with open(WATCHES, "w") as f:
                f.write(original)
        raised = time.monotonic()
        until("everything is watched again once the limit is raised", lambda: daemon.health()["status"] == "ok")
        recovered = time.monotonic() - raised
        # In the last folder made, which was past the limit: only its new watch can find the file now.
        with open(os.path.join(top, f"d{folders - 1}", "live.txt"), "w") as f:
            f.write("live\n")
        until("a folder that was past the limit is watched", lambda: f"d{folders - 1}/live.txt" in indexed())
        daemon.stop()
    finally:
        if daemon.process.poll() is None:
            daemon.kill9()
        shutil.rmtree(root, ignore_errors=True)
    print(f"watch limit: {folders} folders made past the limit, every file indexed within {found:.1f} s by rescans; "
          f"watched again {recovered:.1f} s after the limit was raised")


if __name__ == "__main__":
    # A time-out's SIGTERM runs the `finally`s: the watch limit restored, the tmpfs unmounted.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped by SIGTERM"))
    lph = os.path.abspath(sys.argv[1])
    disk_full(lph)
    watch_limit(lph)
