#!/usr/bin/env python3
"""`make bench`: the pipeline measured against this machine's own limits, side by side.

Each row: what, lph's figure, the floor's figure measured in the same run (a
plain program on the same system interface with nothing in between:
bench/floors.c), their ratio, and the spread over the runs. The machine is
shared and noisy: ratios and medians matter more than absolute times.
Prints one table and writes it as JSON to bench/results.json.

Usage: bench/run.py PATH-TO-LPH [--quick] [--runs N]
"""
import argparse, json, os, shutil, socket, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fanout, measures  # noqa: E402
from measures import pct  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def build_floors():
    binary = os.path.join(tempfile.mkdtemp(prefix="lph-floors."), "floors")
    subprocess.run(["cc", "-O2", "-o", binary, os.path.join(HERE, "floors.c"), "-lsqlite3"], check=True)
    return binary


def floor_latencies(floors, *args):
    out = subprocess.run([floors, *map(str, args)], check=True, capture_output=True, text=True).stdout
    return [float(x) for x in out.split()]


def inotify_floor(floors, n):
    root = tempfile.mkdtemp(prefix="lph-floor.")
    os.makedirs(os.path.join(root, "w"))
    try:
        return floor_latencies(floors, "inotify", os.path.join(root, "w"), n)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def sqlite_floor(floors, n):
    root = tempfile.mkdtemp(prefix="lph-floor.")
    try:
        return floor_latencies(floors, "sqlite", os.path.join(root, "floor.sqlite"), n)[0]
    finally:
        shutil.rmtree(root, ignore_errors=True)


def write_to_event(lph, files):
    """File written in a project -> its `artifacts` event read by an SSE client, ms."""
    root = tempfile.mkdtemp(prefix="lph-bench.")
    daemon, port, token = measures.serve_http(lph, root, "true")
    try:
        top = os.path.join(root, "generated_projects", "Events")
        os.makedirs(top)
        client = socket.create_connection(("127.0.0.1", port))
        client.sendall(f"GET /streams/artifacts HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
        buffer = b""
        latencies = []
        # The folder's own watch is in place once a first file shows up as an event.
        for i in range(files + 1):
            name = f"e{i}.txt"
            t0 = time.perf_counter()
            with open(os.path.join(top, name), "w") as f:
                f.write("one\n")
            while f"Events/{name} indexed".encode() not in buffer:
                chunk = client.recv(1 << 16)
                if not chunk:
                    raise SystemExit(f"the artifacts stream ended before {name} was indexed: {buffer[:200]!r}")
                buffer += chunk
            if i > 0:
                latencies.append((time.perf_counter() - t0) * 1000)
            buffer = buffer[buffer.rindex(b"\n\n") + 2:] if b"\n\n" in buffer else buffer
        client.close()
        return latencies
    finally:
        daemon.terminate(); daemon.wait(); shutil.rmtree(root, ignore_errors=True)


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle(lph, folders, seconds):
    """CPU seconds an idle daemon uses with `folders` watched folders, and its RSS."""
    root = tempfile.mkdtemp(prefix="lph-bench.")
    for d in range(folders):
        os.makedirs(os.path.join(root, "generated_projects", "Idle", f"d{d}"))
    daemon = measures.serve(lph, root, "true")
    try:
        db = measures.wait_db(root)
        while db.execute("SELECT count(*) FROM stream_messages WHERE message_text LIKE 'rescan%(start)%'").fetchone()[0] < 1:
            time.sleep(0.05)
        time.sleep(1)  # let the start settle
        before = cpu_seconds(daemon.pid)
        time.sleep(seconds)
        return cpu_seconds(daemon.pid) - before, measures.rss_mib(daemon.pid)
    finally:
        daemon.terminate(); daemon.wait(); shutil.rmtree(root, ignore_errors=True)


class Table:
    def __init__(self):
        self.rows = []

    def add(self, what, runs, floor=None, unit="", target=None):
        """`runs`: lph's figure per run; `floor`: the floor's figure per run (same length or one)."""
        value = statistics.median(runs)
        floor_value = statistics.median(floor) if floor else None
        ratio = value / floor_value if floor_value else None
        spread = f"{min(runs):.3g}–{max(runs):.3g}" if len(runs) > 1 else ""
        self.rows.append({"what": what, "lph": value, "floor": floor_value, "ratio": ratio, "unit": unit,
                          "runs": runs, "floor_runs": floor or [], "target": target})
        fmt = lambda v: "" if v is None else (f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}")
        print(f"| {what} | {fmt(value)} {unit} | {fmt(floor_value)} {unit if floor_value is not None else ''} | "
              f"{'' if ratio is None else f'{ratio:.2f}'} | {spread} | {target or ''} |", flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("lph")
    p.add_argument("--quick", action="store_true", help="small counts, one run: proves the harness in under 2 minutes")
    p.add_argument("--runs", type=int, default=3)
    a = p.parse_args()
    lph = os.path.abspath(a.lph)
    runs = 1 if a.quick else a.runs
    n_drops, n_files, n_lines = (100, 100, 100_000) if a.quick else (1000, 1000, 2_000_000)
    floors = build_floors()
    table = Table()
    print(f"# lph bench{' --quick' if a.quick else ''}: {os.cpu_count()} cores, {runs} run(s) per row, medians; ratio = lph / floor")
    print("| what | lph | floor | ratio | spread (lph) | target |")
    print("|---|---|---|---|---|---|")

    drops = [measures.drop_to_start(lph, n_drops) for _ in range(runs)]
    ino = [inotify_floor(floors, n_drops) for _ in range(runs)]
    table.add("1. spool drop → job committed, agent spawned: p50", [pct(d, .5) for d in drops], [pct(x, .5) for x in ino], "ms")
    table.add("1. … p99", [pct(d, .99) for d in drops], [pct(x, .99) for x in ino], "ms", target="< 5 ms")

    rows = [measures.write_to_row(lph, n_files) for _ in range(runs)]
    table.add("2. file written → artifact row committed: p50", [pct(r, .5) for r in rows], [pct(x, .5) for x in ino], "ms")
    table.add("2. … p99", [pct(r, .99) for r in rows], [pct(x, .99) for x in ino], "ms", target="< 10 ms")

    sock = [floor_latencies(floors, "socket", n_files) for _ in range(runs)]
    events = [write_to_event(lph, n_files) for _ in range(runs)]
    both = [pct(i, .99) + pct(s, .99) for i, s in zip(ino, sock)]
    table.add("3. file written → SSE artifacts event read: p50", [pct(e, .5) for e in events],
              [pct(i, .5) + pct(s, .5) for i, s in zip(ino, sock)], "ms")
    table.add("3. … p99", [pct(e, .99) for e in events], both, "ms", target="< 20 ms")

    stored = [measures.lines_per_second(lph, n_lines) for _ in range(runs)]
    sqlite = [sqlite_floor(floors, n_lines) for _ in range(runs)]
    table.add(f"4. log lines stored per second ({n_lines:,} lines)", stored, sqlite, "lines/s", target="≥ 0.6 of the floor")

    fan = fanout.measure(lph, 20 if a.quick else 100, 1000, 3 if a.quick else 10)
    table.add(f"5. SSE fan-out, {fan['clients']} clients at {fan['rate']} lines/s: p99 "
              f"({fan['complete']}/{fan['clients']} complete{'' if fan['ordered'] else ', OUT OF ORDER'})", [fan["p99_ms"]],
              unit="ms", target="< 100 ms")
    table.add("5. … daemon peak RSS", [fan["peak_rss_mib"]], unit="MiB")

    cpu, rss = idle(lph, 100 if a.quick else 1000, 5 if a.quick else 60)
    table.add(f"6. idle CPU over {5 if a.quick else 60} s, {100 if a.quick else 1000} watched folders", [cpu], unit="s",
              target="< 0.05 s per 60 s")
    table.add("6. … RSS at idle", [rss], unit="MiB", target="< 40 MB")

    first, again, find, scan_rss = measures.scan(lph, 100 if a.quick else 1000, 100)
    table.add(f"7. first index of {100 if a.quick else 1000} folders × 100 files", [first], [find], "s")
    table.add("7. … start rescan, nothing changed", [again], [find], "s")

    out = os.path.join(HERE, "results.json")
    with open(out, "w") as f:
        json.dump({"quick": a.quick, "runs": runs, "cores": os.cpu_count(), "rows": table.rows}, f, indent=1)
    print(f"written: {out}")


if __name__ == "__main__":
    main()
