#!/usr/bin/env python3
"""Backbone figures for the release build of lph, each next to this machine's floor.

  1. log lines stored per second from an agent printing as fast as it can,
     next to `yes | head -n N > /dev/null` and `seq 1 N > /dev/null`;
  2. spool drop (rename into incoming/) -> job committed as started, p50/p99.

Usage: bench/backbone.py PATH-TO-LPH [--lines N] [--drops N]
"""
import argparse, datetime, os, shutil, sqlite3, statistics, subprocess, tempfile, time


def ms(ts):
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()


def serve(lph, root, agent, max_jobs=2):
    return subprocess.Popen([lph, "serve", "--listen", "127.0.0.1:0", "--max-jobs", str(max_jobs), "--agent", agent],
                            cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


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
        f.write('{"project": "Bench", "specification": "%s"}' % spec)
    t0 = time.time()
    os.rename(tmp, os.path.join(incoming, name))
    return t0


def row(db, name, column):
    r = db.execute(f"SELECT {column} FROM jobs WHERE spool_name = ?", (name,)).fetchone()
    return r[0] if r else None


def lines_per_second(lph, n):
    root = tempfile.mkdtemp(prefix="lph-bench.")
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
        daemon.terminate(); daemon.wait(); shutil.rmtree(root, ignore_errors=True)


def floor(command, n):
    t0 = time.perf_counter()
    subprocess.run(["sh", "-c", command], check=True)
    return n / (time.perf_counter() - t0)


def drop_to_start(lph, drops):
    root = tempfile.mkdtemp(prefix="lph-bench.")
    daemon = serve(lph, root, "true")
    latencies = []
    try:
        db = wait_db(root)
        for i in range(drops):
            name = f"d{i}.json"
            t0 = drop(root, name)
            while (started := row(db, name, "started_at")) is None:
                time.sleep(0.0002)
            latencies.append((ms(started) - t0) * 1000)
        return latencies
    finally:
        daemon.terminate(); daemon.wait(); shutil.rmtree(root, ignore_errors=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("lph")
    p.add_argument("--lines", type=int, default=2_000_000)
    p.add_argument("--drops", type=int, default=1000)
    a = p.parse_args()
    lph = os.path.abspath(a.lph)
    stored = lines_per_second(lph, a.lines)
    yes = floor(f"yes | head -n {a.lines} > /dev/null", a.lines)
    seq = floor(f"seq 1 {a.lines} > /dev/null", a.lines)
    lat = sorted(drop_to_start(lph, a.drops))
    p50, p99 = lat[len(lat) // 2], lat[int(len(lat) * 0.99) - 1]
    print(f"| what | lph | floor | ratio |")
    print(f"|---|---|---|---|")
    print(f"| lines stored/s ({a.lines:,} lines) | {stored:,.0f} | yes\\|head: {yes:,.0f} | {stored / yes:.3f} |")
    print(f"| lines stored/s | {stored:,.0f} | seq > /dev/null: {seq:,.0f} | {stored / seq:.3f} |")
    print(f"| drop -> started, p50 ({a.drops} files, ms resolution) | {p50:.1f} ms | | |")
    print(f"| drop -> started, p99 | {p99:.1f} ms | | |")


if __name__ == "__main__":
    main()
