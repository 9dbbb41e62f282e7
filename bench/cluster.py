"""Several nodes on one PostgreSQL, measured on this machine in one run:
log lines stored per second on PostgreSQL next to SQLite (the same agent
printing the same lines), and, for one, two and three nodes, jobs started per
second and drop -> started p50/p99 (jobs that do nothing, so the figures are
the queue's, not the agents').

PostgreSQL runs with fsync on and synchronous_commit off: a commit is not
waited for on disk, as SQLite in WAL mode with synchronous=NORMAL does not.

    python3 bench/cluster.py .build/release/lph [--lines 100000] [--jobs 120]
"""
import argparse, datetime, os, sqlite3, subprocess, sys, tempfile, time, shutil

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Support"))
from lph_support import Daemon, Postgres, until  # noqa: E402
from measures import pct  # noqa: E402


class DurablePostgres(Postgres):
    SETTINGS = "-c listen_addresses=127.0.0.1 -c max_connections=200 -c synchronous_commit=off"


def seconds(timestamp):
    return datetime.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()


def psql(url, sql):
    return [line.split("|") for line in subprocess.run(["psql", url, "-Atc", sql], capture_output=True, text=True,
                                                        check=True).stdout.split("\n") if line]


def lines_per_second(lph, n, url=None):
    """Lines an agent prints, stored per second: from the job's start to its end."""
    root = tempfile.mkdtemp(prefix="lph-bench.", dir="/dev/shm")
    daemon = Daemon(lph, root, "--agent", f"seq 1 {n}", *(["--db", url] if url else []))
    try:
        status, job = daemon.call("POST", "/projects/flood/jobs", {"specification": "x"})
        assert status == 201, f"POST: {status} {job}"
        until("the flood job ends", lambda: daemon.get(f"/jobs/{job['id']}")["status"] in ("completed", "failed"), timeout=600)
        state = daemon.get(f"/jobs/{job['id']}")
        if url:
            stored = int(psql(url, "SELECT count(*) FROM log_entries WHERE source = 'agent'")[0][0])
        else:
            stored = sqlite3.connect(os.path.join(root, "lph.sqlite")).execute(
                "SELECT count(*) FROM log_entries WHERE source = 'agent'").fetchone()[0]
        assert stored == n, f"stored {stored} of {n}"
        return n / (seconds(state["finished_at"]) - seconds(state["started_at"]))
    finally:
        daemon.stop(); shutil.rmtree(root, ignore_errors=True)


def queue(lph, postgres, nodes, jobs):
    """`jobs` files dropped at once across the nodes' spools: jobs started a second, drop -> started p50 and p99 (ms)."""
    url = postgres.database()
    roots = [tempfile.mkdtemp(prefix=f"lph-bench-node{i}.", dir="/dev/shm") for i in range(nodes)]
    first = Daemon(lph, roots[0], "--db", url, "--node", "n0", "--agent", "true", "--max-jobs", "4")
    daemons = [first] + [Daemon(lph, roots[i], "--db", url, "--node", f"n{i}", "--agent", "true", "--max-jobs", "4",
                                token=first.token) for i in range(1, nodes)]
    try:
        dropped = {}
        for j in range(jobs):
            node = j % nodes
            incoming = os.path.join(roots[node], "Spool", "incoming")
            name = f"q{j}.json"
            with open(os.path.join(incoming, "." + name), "w") as f:
                f.write('{"project": "q%d", "specification": "x"}' % j)
            dropped[(f"n{node}", name)] = time.time()
            os.rename(os.path.join(incoming, "." + name), os.path.join(incoming, name))
        until("every job completed", lambda: int(psql(url, "SELECT count(*) FROM jobs WHERE status = 'completed'")[0][0]) == jobs,
              timeout=600)
        rows = psql(url, "SELECT spool_node, spool_name, started_at FROM jobs")
        starts = [seconds(started) for _, _, started in rows]
        latencies = [(seconds(started) - dropped[(node, name)]) * 1000 for node, name, started in rows]
        return jobs / (max(starts) - min(starts)), pct(latencies, 0.5), pct(latencies, 0.99)
    finally:
        for daemon in daemons:
            daemon.stop()
        for root in roots:
            shutil.rmtree(root, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("lph")
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=120)
    options = parser.parse_args()
    lph = os.path.abspath(options.lph)
    with DurablePostgres() as postgres:
        sqlite_rate = lines_per_second(lph, options.lines)
        postgres_rate = lines_per_second(lph, options.lines, postgres.database())
        print(f"| log lines stored per second ({options.lines:,} lines) | SQLite {sqlite_rate:,.0f} | PostgreSQL {postgres_rate:,.0f} "
              f"| {postgres_rate / sqlite_rate:.2f} of SQLite |")
        for nodes in (1, 2, 3):
            rate, p50, p99 = queue(lph, postgres, nodes, options.jobs)
            print(f"| {nodes} node{'s' if nodes > 1 else ''}, {options.jobs} job files dropped at once | {rate:.1f} jobs started/s "
                  f"| drop -> started p50 {p50:,.0f} ms | p99 {p99:,.0f} ms |")


if __name__ == "__main__":
    main()
