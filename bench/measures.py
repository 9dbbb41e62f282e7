"""The measurements the benchmarks compose (bench/backbone.py, bench/run.py and
the others), each against a real `lph serve`."""
import atexit, datetime, os, shutil, sqlite3, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Support"))
from lph_support import Daemon  # noqa: E402


# Scratch folders are removed when the bench ends, not after each row: where
# ext4 has no journal (this machine's root filesystem), allocating an inode
# skips every inode freed in the last seconds (minutes while its block is not
# yet written back), and rows run after one that deleted 100,000 files paid up
# to 0.8 ms a file for it (perf: `recently_deleted` under `__ext4_new_inode`).
_scratch_folders = []
atexit.register(lambda: [shutil.rmtree(root, ignore_errors=True) for root in _scratch_folders])


def scratch(prefix):
    """A new scratch folder, removed when the bench ends."""
    root = tempfile.mkdtemp(prefix=prefix)
    _scratch_folders.append(root)
    return root


def ms(ts):
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()


def serve(lph, root, agent, max_jobs=2):
    return subprocess.Popen([lph, "serve", "--listen", "127.0.0.1:0", "--max-jobs", str(max_jobs), "--agent", agent],
                            cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def serve_http(lph, root, agent):
    """`lph serve` on a free loopback port: the process, the port, and the admin token it printed."""
    daemon = Daemon(lph, root, "--agent", agent)
    return daemon.process, daemon.port, daemon.token


def pct(values, p):
    """The p-quantile (0..1) of `values`."""
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]


def wait_db(root):
    path = os.path.join(root, "lph.sqlite")
    while True:
        try:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            db.execute("SELECT 1 FROM jobs LIMIT 1")
            return db
        except sqlite3.Error:
            time.sleep(0.01)


def drop(root, name, spec="x"):
    incoming = os.path.join(root, "Spool", "incoming")
    tmp = os.path.join(incoming, "." + name + ".tmp")
    with open(tmp, "w") as f:
        f.write('{"project": "%s", "specification": "%s"}' % (name.split(".")[0], spec))
    t0 = time.time()
    os.rename(tmp, os.path.join(incoming, name))
    return t0


def row(db, name, column):
    r = db.execute(f"SELECT {column} FROM jobs WHERE spool_name = ?", (name,)).fetchone()
    return r[0] if r else None


def lines_per_second(lph, n):
    root = scratch("lph-bench.")
    daemon = serve(lph, root, f"seq 1 {n}")
    try:
        db = wait_db(root)
        drop(root, "flood.json")
        while row(db, "flood.json", "status") not in ("completed", "failed"):
            time.sleep(0.05)
        started, finished = db.execute("SELECT started_at, finished_at FROM jobs WHERE spool_name = 'flood.json'").fetchone()
        stored = db.execute("SELECT count(*) FROM log_entries WHERE source = 'agent'").fetchone()[0]
        assert stored == n, f"stored {stored} of {n}"
        return n / (ms(finished) - ms(started))
    finally:
        daemon.terminate(); daemon.wait()


def seconds(command):
    """How long a shell command takes."""
    t0 = time.perf_counter()
    subprocess.run(command, shell=True, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def floor(command, n):
    """`n` things a second, done by a shell command."""
    return n / seconds(command)


# The writing job of drop_to_start: `files` files into its project as fast as it can.
WRITER = r"""
import os
for i in range({files}):
    os.makedirs(f"d{{i // 1000}}", exist_ok=True)
    with open(f"d{{i // 1000}}/f{{i}}.txt", "w") as f:
        f.write("one\ntwo\n")
"""


def drop_to_start(lph, drops, writing=0):
    """Job file renamed into incoming/ -> its job started (ms), one drop at a time; with `writing`,
    while another job writes that many files into its project (the index and the intake share the daemon)."""
    root = scratch("lph-bench.")
    writer = os.path.join(root, "writer.py")
    with open(writer, "w") as f:
        f.write(WRITER.format(files=writing))
    # While one job writes, every other job's agent is a shell that ends at once; without, `true`.
    agent = f"""sh -c '[ "$LPH_PROJECT" != Writer ] || exec {sys.executable} {writer}'""" if writing else "true"
    daemon = serve(lph, root, agent, max_jobs=16)  # free slots: measure the pipeline, not the queue
    latencies = []
    try:
        db = wait_db(root)
        if writing:
            drop(root, "Writer.json")
            written = os.path.join(root, "generated_projects", "Writer", "d0")
            while not os.path.isdir(written):
                time.sleep(0.01)
        for i in range(drops):
            name = f"d{i}.json"
            t0 = drop(root, name)
            while (started := row(db, name, "started_at")) is None:
                time.sleep(0.0002)
            latencies.append((ms(started) - t0) * 1000)
        if writing and row(db, "Writer.json", "status") != "in_progress":
            print(f"note: the writing job ended before the {drops} drops did", file=sys.stderr)
        return latencies
    finally:
        daemon.terminate(); daemon.wait()


def cpu_seconds(pid):
    """User and system CPU time of a process so far (/proc/PID/stat)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def write_to_row(lph, files):
    root = scratch("lph-bench.")
    daemon = serve(lph, root, "true")
    latencies = []
    try:
        db = wait_db(root)
        top = os.path.join(root, "generated_projects", "Bench")
        os.makedirs(top)
        time.sleep(0.5)  # let the index watch the new folder before timing starts
        for i in range(files):
            name = f"f{i}.txt"
            t0 = time.perf_counter()
            with open(os.path.join(top, name), "w") as f:
                f.write("one\ntwo\n")
            while db.execute("SELECT 1 FROM artifacts WHERE file_path = ?", (name,)).fetchone() is None:
                time.sleep(0.0001)
            latencies.append((time.perf_counter() - t0) * 1000)
        return sorted(latencies)
    finally:
        daemon.terminate(); daemon.wait()


def scan(lph, folders=1000, per_folder=100):
    """The first index and the start rescan of a tree, in seconds, the peak RSS, and `find`'s floors."""
    root = scratch("lph-bench.")
    top = os.path.join(root, "generated_projects", "Scan")
    for d in range(folders):
        os.makedirs(os.path.join(top, f"d{d}"))
        for n in range(per_folder):
            with open(os.path.join(top, f"d{d}", f"{n}.txt"), "w") as f:
                f.write("x\n")
    floors = {
        "find": seconds(f"find {top} -type f | wc -l"),
        # The index reads every file too (an artifact row holds its first lines).
        "find_reading": seconds(f"find {top} -type f -exec cat {{}} + | wc -c"),
        # A rescan compares each file's size and time with its row.
        "find_stating": seconds(f"find {top} -type f -printf '%s %T@\\n' | wc -l"),
    }
    results = []
    for attempt in range(2):
        t0 = time.perf_counter()
        daemon = serve(lph, root, "true")
        db = wait_db(root)
        while db.execute("SELECT count(*) FROM stream_messages WHERE message_text LIKE 'rescan%(start)%'").fetchone()[0] <= attempt:
            time.sleep(0.01)
        results.append(time.perf_counter() - t0)
        rss = rss_mib(daemon.pid)
        daemon.terminate(); daemon.wait()
    return {"first": results[0], "rescan": results[1], "rss": rss, **floors}
