#!/usr/bin/env python3
"""SSE fan-out: N clients on one job's log while the agent prints at a fixed rate.

Each line the agent prints carries the wall-clock time it was printed; each
client stamps the time it read the frame. The figures: every client complete
and in order (ids strictly increasing, every line once), delivery latency
p50/p99/max over all clients and lines, and the daemon's peak RSS. The clients
are one C program (bench/fanout.c: one thread, epoll), so they are not what
saturates first; its own CPU time is reported. The floor is the same client
on a bare C server that sends lph's bytes (head, chunks, frames) at the same
rate: lph / floor is what the daemon costs.

With FANOUT_TRACE=PREFIX in the environment the client also writes PREFIX.<pid>:
for each line, when it was printed and how many ms later the daemon read it,
the first client got it and the last one did (where a latency comes from).

`--idle N` instead holds N idle dashboard streams: the daemon's memory per
stream, whether the heartbeats come on time, and how long a new client waits.

Usage: bench/fanout.py PATH-TO-LPH [--clients N] [--rate LINES_PER_S] [--seconds S]
       bench/fanout.py PATH-TO-LPH --idle N [--idle-seconds S]
"""
import argparse, json, os, subprocess, sys, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import measures  # noqa: E402
from measures import Daemon  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# What an open dashboard holds (Sources/LinesPerHour/Web/Assets/app.js, openJournal).
DASHBOARD_STREAM = "/streams?types=jobs,artifacts,insights,knowledge&tail=5000"

AGENT = r"""
import os, sys, time
rate, total = {rate}, {total}
print("ready", flush=True)
while not os.path.exists({go!r}):   # every client is connected and has its first frame
    time.sleep(0.01)
start = time.time()
for i in range(1, total + 1):
    due = start + i / rate
    while time.time() < due:
        time.sleep(max(0, min(due - time.time(), 0.01)))
    sys.stdout.write(f"{{i}} {{time.time():.6f}}\n")
    if i % {flush_every} == 0: sys.stdout.flush()   # about once a millisecond
sys.stdout.flush()
"""

_binary = None


def build():
    """bench/fanout.c, compiled once per process."""
    global _binary
    if _binary is None:
        binary = os.path.join(measures.scratch("lph-fanout."), "fanout")
        subprocess.run(["cc", "-O2", "-o", binary, os.path.join(HERE, "fanout.c")], check=True)
        _binary = binary
    return _binary


def serve(lph, root, agent, clients):
    # The default of 64 streams per user would refuse most of the clients (all use the admin token).
    return Daemon(os.path.abspath(lph), root, "--agent", agent, "--max-streams-per-user", str(clients + 16))


def result(process, timeout):
    """The one JSON object the C client printed; fails if it did not finish in time."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise SystemExit(f"the fan-out client did not finish within {timeout:.0f} s")
    if process.returncode != 0 or not out.strip():
        raise SystemExit(f"the fan-out client failed ({process.returncode}): {err.strip()}")
    return json.loads(out)


def measure(lph, clients, rate, seconds):
    """Runs the fan-out once against lph; answers the figures as a dict."""
    total = rate * seconds
    root = measures.scratch("lph-fanout.")
    go = os.path.join(root, "go")
    agent = os.path.join(root, "agent.py")
    with open(agent, "w") as f:
        f.write(AGENT.format(rate=rate, total=total, flush_every=max(1, rate // 1000), go=go))
    daemon = serve(lph, root, f"{sys.executable} {agent}", clients)
    try:
        # The job exists before the clients connect (a stream of a job not yet claimed is a 404);
        # they get its log from the first line, live.
        measures.drop(root, "Fan.json", "fan-out")
        db = measures.wait_db(root)
        while (job := measures.row(db, "Fan.json", "id")) is None:
            time.sleep(0.01)
        cpu0 = measures.cpu_seconds(daemon.pid)
        client = subprocess.Popen([build(), "clients", str(daemon.port), f"/jobs/{job}/logs/stream", daemon.token,
                                   str(clients), go, str(total)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        peak = 0.0
        deadline = time.monotonic() + seconds + 60 + clients / 50
        while client.poll() is None and time.monotonic() < deadline:
            peak = max(peak, measures.rss_mib(daemon.pid))
            time.sleep(0.1)
        r = result(client, max(1, deadline - time.monotonic()))
        if r["failed"]:
            raise SystemExit(f"{r['failed']} of {clients} streams were refused or failed: {r}")
        return {"overflows": overflows(daemon.port), "clients": clients, "rate": rate, "lines": total, "ordered": r["ordered"], "complete": r["complete"],
                "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"], "max_ms": r["max_ms"], "client_cpu_s": r["client_cpu_s"],
                "daemon_cpu_s": measures.cpu_seconds(daemon.pid) - cpu0, "peak_rss_mib": peak}
    finally:
        daemon.stop()


def overflows(port):
    """How many times a stream fell further behind than its live feed holds and read the database instead."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).read().decode()
    return sum(int(float(line.split()[-1])) for line in text.splitlines() if line.startswith("lph_sse_overflows_total"))


def floor(clients, rate, seconds):
    """The same client on a bare C server sending lph's bytes at the same rate."""
    process = subprocess.Popen([build(), "floor", str(clients), str(rate), str(rate * seconds)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    r = result(process, seconds + 60 + clients / 50)
    return {k: r[k] for k in ("clients", "complete", "ordered", "p50_ms", "p99_ms", "max_ms", "client_cpu_s", "server_cpu_s")}


def idle(lph, clients, seconds):
    """N idle dashboard streams held `seconds`: RSS per stream, heartbeats, a new client's wait."""
    root = measures.scratch("lph-fanout.")
    daemon = serve(lph, root, "true", clients)
    try:
        # One finished job: the journal has rows, so a new dashboard gets frames at once (its replay).
        measures.drop(root, "Idle.json")
        db = measures.wait_db(root)
        while measures.row(db, "Idle.json", "status") not in ("completed", "failed"):
            time.sleep(0.05)
        time.sleep(2)  # the curator's events after the job's end
        before = measures.rss_mib(daemon.pid)
        client = subprocess.Popen([build(), "idle", str(daemon.port), DASHBOARD_STREAM, daemon.token, str(clients), str(seconds)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for line in client.stderr:  # "connected N" once every stream has its head
            if line.startswith("connected"):
                break
            sys.stderr.write(line)
        time.sleep(1)
        after, cpu0 = measures.rss_mib(daemon.pid), measures.cpu_seconds(daemon.pid)
        end = after
        deadline = time.monotonic() + seconds + 30
        while client.poll() is None and time.monotonic() < deadline:  # the RSS at the window's end, heartbeats and all
            end = measures.rss_mib(daemon.pid)
            time.sleep(0.5)
        r = result(client, max(1, deadline - time.monotonic()))
        r.update({"rss_before_mib": before, "rss_after_mib": after, "rss_end_mib": end, "seconds": seconds,
                  "kib_per_client": (after - before) * 1024 / clients, "daemon_cpu_s": measures.cpu_seconds(daemon.pid) - cpu0})
        return r
    finally:
        daemon.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("lph")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--idle", type=int, metavar="N", help="hold N idle dashboard streams instead")
    parser.add_argument("--idle-seconds", type=int, default=35, help="how long (a heartbeat is due every 15 s)")
    args = parser.parse_args()
    if args.idle:
        r = idle(args.lph, args.idle, args.idle_seconds)
        print("| idle streams | held | daemon RSS before → after (at the end) | per stream | heartbeats (late) | largest gap "
              "| new client: head / first frame | daemon CPU | client CPU |")
        print("|---|---|---|---|---|---|---|---|---|")
        frame = "none" if r["new_client_first_frame_ms"] is None else f"{r['new_client_first_frame_ms']:.1f} ms"
        print(f"| {r['connected']}/{r['clients']} | {r['seconds']} s | {r['rss_before_mib']:.0f} → {r['rss_after_mib']:.0f} ({r['rss_end_mib']:.0f}) MiB "
              f"| {r['kib_per_client']:.0f} KiB | {r['heartbeats']} ({r['heartbeats_late']}) | {r['max_gap_s']:.1f} s "
              f"| {r['new_client_head_ms']:.1f} ms / {frame} | {r['daemon_cpu_s']:.2f} s | {r['cpu_s']:.2f} s |")
        return
    r = measure(args.lph, args.clients, args.rate, args.seconds)
    f = floor(args.clients, args.rate, args.seconds)
    print("| what | clients | lines/s | lines | complete and in order | p50 | p99 | max | client CPU | server CPU | daemon peak RSS "
          "| streams that fell behind |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, x, cpu, rss, behind in (("lph", r, r["daemon_cpu_s"], f"{r['peak_rss_mib']:.0f} MiB", r["overflows"]),
                                      ("floor", f, f["server_cpu_s"], "", "")):
        print(f"| {name} | {args.clients} | {args.rate} | {r['lines']} | {x['complete']}/{args.clients}"
              f"{'' if x['ordered'] else ' (ids out of order!)'} | {x['p50_ms']:.2f} ms | {x['p99_ms']:.2f} ms "
              f"| {x['max_ms']:.1f} ms | {x['client_cpu_s']:.2f} s | {cpu:.2f} s | {rss} | {behind} |")
    ratio = lambda k: f"{r[k] / f[k]:.0f}" if f[k] else ""
    print(f"| ratio lph / floor | | | | | {ratio('p50_ms')} | {ratio('p99_ms')} | {ratio('max_ms')} | | "
          f"{r['daemon_cpu_s'] / f['server_cpu_s']:.1f} | | |" if f["server_cpu_s"] else "|")


if __name__ == "__main__":
    main()
