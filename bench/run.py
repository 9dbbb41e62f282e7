#!/usr/bin/env python3
"""`make bench`: the pipeline measured against this machine's own limits, side by side.

Each row: what, lph's figure, the floor's figure measured in the same run (a
plain program on the same system interface with nothing in between:
bench/floors.c), their ratio, and the spread over the runs. The machine is
shared and noisy: ratios and medians matter more than absolute times.
Prints one table and writes it as JSON to bench/results.json.

Usage: bench/run.py PATH-TO-LPH [--quick] [--runs N]
"""
import argparse, json, os, socket, statistics, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fanout, intake, measures  # noqa: E402
from measures import pct  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def build_floors():
    binary = os.path.join(measures.scratch("lph-floors."), "floors")
    subprocess.run(["cc", "-O2", "-o", binary, os.path.join(HERE, "floors.c"), "-lsqlite3"], check=True)
    return binary


def floor_latencies(floors, *args):
    out = subprocess.run([floors, *map(str, args)], check=True, capture_output=True, text=True).stdout
    return [float(x) for x in out.split()]


def inotify_floor(floors, n):
    root = measures.scratch("lph-floor.")
    os.makedirs(os.path.join(root, "w"))
    return floor_latencies(floors, "inotify", os.path.join(root, "w"), n)


def sqlite_floor(floors, n, mode="sqlite"):
    """Lines stored per second by a bare C loop; `mode` "sqlite-schema" stores them in lph's own table definition."""
    root = measures.scratch("lph-floor.")
    return floor_latencies(floors, mode, os.path.join(root, "floor.sqlite"), n)[0]


def write_to_event(lph, files):
    """File written in a project -> its `artifacts` event read by an SSE client, ms."""
    root = measures.scratch("lph-bench.")
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
        daemon.terminate(); daemon.wait()


def idle(lph, folders, seconds):
    """CPU seconds an idle daemon uses with `folders` watched folders, and its RSS."""
    root = measures.scratch("lph-bench.")
    for d in range(folders):
        os.makedirs(os.path.join(root, "generated_projects", "Idle", f"d{d}"))
    daemon = measures.serve(lph, root, "true")
    try:
        db = measures.wait_db(root)
        while db.execute("SELECT count(*) FROM stream_messages WHERE message_text LIKE 'rescan%(start)%'").fetchone()[0] < 1:
            time.sleep(0.05)
        time.sleep(1)  # let the start settle
        before = measures.cpu_seconds(daemon.pid)
        time.sleep(seconds)
        return measures.cpu_seconds(daemon.pid) - before, measures.rss_mib(daemon.pid)
    finally:
        daemon.terminate(); daemon.wait()


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
    n_written, n_intake, n_folders = (2_000, 1_000, 100) if a.quick else (50_000, 20_000, 1000)
    n_idle, idle_seconds, idle_cpu_seconds = (200, 5, 5) if a.quick else (9000, 35, 60)
    # (clients, lines per second, seconds, target): 20,000 lines each, as the issue measured them.
    fan_rows = [(20, 1000, 3, "< 50 ms")] if a.quick else [
        (100, 1000, 20, "< 50 ms"), (1000, 1000, 20, "< 200 ms"), (1000, 10_000, 2, "complete; ratio to the floor")]
    floors = build_floors()
    table = Table()
    print(f"# lph bench{' --quick' if a.quick else ''}: {os.cpu_count()} cores, {runs} run(s) per row, medians; ratio = lph / floor")
    print("| what | lph | floor | ratio | spread (lph) | target |")
    print("|---|---|---|---|---|---|")

    drops = [measures.drop_to_start(lph, n_drops) for _ in range(runs)]
    ino = [inotify_floor(floors, n_drops) for _ in range(runs)]
    table.add("1. spool drop → job committed, agent spawned: p50", [pct(d, .5) for d in drops], [pct(x, .5) for x in ino], "ms")
    table.add("1. … p99", [pct(d, .99) for d in drops], [pct(x, .99) for x in ino], "ms", target="< 5 ms")
    busy = [measures.drop_to_start(lph, n_drops // 5, writing=n_written) for _ in range(runs)]
    table.add(f"1. … p99 while another job writes {n_written:,} files", [pct(d, .99) for d in busy], [pct(x, .99) for x in ino], "ms",
              target="< 5 ms")

    taken = [intake.measure(lph, n_intake) for _ in range(runs)]
    table.add(f"1. … {n_intake:,} job files waiting at start: taken per second", [t for t, _ in taken], [f for _, f in taken],
              "files/s", target="≥ 2,000")

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
    same_schema = [sqlite_floor(floors, n_lines, "sqlite-schema") for _ in range(runs)]
    table.add("4. … against the same C loop on lph's own log_entries table (AUTOINCREMENT, foreign key, CHECKs, index)",
              stored, same_schema, "lines/s")

    for clients, rate, seconds, target in fan_rows:
        fans = [fanout.measure(lph, clients, rate, seconds) for _ in range(runs)]
        bare = [fanout.floor(clients, rate, seconds) for _ in range(runs)]
        complete = (f"{min(f['complete'] for f in fans)}/{clients} complete{'' if all(f['ordered'] for f in fans) else ', OUT OF ORDER'}, "
                    f"{max(f['overflows'] for f in fans)} fell behind")
        table.add(f"5. SSE fan-out, {clients:,} clients at {rate:,} lines/s, {rate * seconds:,} lines ({complete}): p99",
                  [f["p99_ms"] for f in fans], [b["p99_ms"] for b in bare], "ms", target=target)
        table.add("5. … daemon CPU (floor: its server's); the client's own CPU in the floor run: "
                  f"{statistics.median(b['client_cpu_s'] for b in bare):.2f} s, in lph's: {statistics.median(f['client_cpu_s'] for f in fans):.2f} s",
                  [f["daemon_cpu_s"] for f in fans], [b["server_cpu_s"] for b in bare], "s")
        table.add("5. … daemon peak RSS", [f["peak_rss_mib"] for f in fans], unit="MiB", target="< 150 MiB" if clients >= 1000 and rate <= 1000 else None)

    held = [fanout.idle(lph, n_idle, idle_seconds) for _ in range(runs)]
    late = sum(h["heartbeats_late"] for h in held)
    table.add(f"5. {n_idle:,} idle dashboard streams held {idle_seconds} s ({min(h['connected'] for h in held)} connected, "
              f"{sum(h['heartbeats'] for h in held)} heartbeats, {late} late): daemon memory per stream",
              [h["kib_per_client"] for h in held], unit="KiB", target="< 10 KB")
    table.add("5. … a new client meanwhile: response head", [h["new_client_head_ms"] for h in held], unit="ms", target="< 50 ms")

    cpu, rss = idle(lph, n_folders, idle_cpu_seconds)
    table.add(f"6. idle CPU over {idle_cpu_seconds} s, {n_folders} watched folders", [cpu], unit="s", target="< 0.05 s per 60 s")
    table.add("6. … RSS at idle", [rss], unit="MiB", target="< 40 MB")

    scans = [measures.scan(lph, n_folders, 100) for _ in range(runs)]
    first, rescan = [s["first"] for s in scans], [s["rescan"] for s in scans]
    table.add(f"7. first index of {n_folders} folders × 100 files", first, [s["find"] for s in scans], "s", target="≤ 5× find")
    table.add("7. … against `find` reading every file (an artifact row holds its first lines)", first,
              [s["find_reading"] for s in scans], "s")
    table.add("7. … start rescan, nothing changed", rescan, [s["find"] for s in scans], "s", target="≤ 3× find")
    table.add("7. … against `find` stat-ing every file (a rescan compares size and time)", rescan,
              [s["find_stating"] for s in scans], "s")

    out = os.path.join(HERE, "results.json")
    with open(out, "w") as f:
        json.dump({"quick": a.quick, "runs": runs, "cores": os.cpu_count(), "rows": table.rows}, f, indent=1)
    print(f"written: {out}")


if __name__ == "__main__":
    main()
