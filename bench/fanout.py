#!/usr/bin/env python3
"""SSE fan-out: N clients on one job's log while the agent prints at a fixed rate.

Each line the agent prints carries the wall-clock time it was printed; each
client stamps the time it read the frame. The figures: every client complete
and in order (ids strictly increasing, every line once), delivery latency
p50/p99 over all clients and lines, and the daemon's peak RSS. The clients run
in this one Python process, so the latency is an upper bound that includes
their own lag.

Usage: bench/fanout.py PATH-TO-LPH [--clients N] [--rate LINES_PER_S] [--seconds S]
"""
import argparse, asyncio, json, os, re, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import measures  # noqa: E402


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


async def client(port, token, job, lines, latencies, connected):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /jobs/{job}/logs/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    await writer.drain()
    buffer, last_id, numbers = b"", 0, []
    ordered = True
    while True:
        chunk = await reader.read(1 << 16)
        if not chunk:
            break
        now = time.time()
        buffer += chunk
        # Each chunk holds whole frames, so chunk-size lines only ever prefix a frame.
        frames = buffer.split(b"\n\n")
        buffer = frames.pop()
        for frame in frames:
            if b"event: end" in frame:
                writer.close()
                lines.append(numbers)
                return ordered
            id_match = re.search(rb"id: (\d+)", frame)
            data = re.search(rb"data: (\{.*\})", frame)
            if not id_match or not data:
                continue
            frame_id = int(id_match.group(1))
            ordered &= frame_id > last_id
            last_id = frame_id
            text = json.loads(data.group(1))["text"]
            if text == "ready":
                connected.append(1)
            parts = text.split(" ")
            if len(parts) == 2 and parts[0].isdigit():
                numbers.append(int(parts[0]))
                latencies.append(now - float(parts[1]))
    lines.append(numbers)
    return ordered


async def run(clients, port, token, daemon, go):
    latencies, lines, connected = [], [], []
    job = 1
    tasks = [asyncio.create_task(client(port, token, job, lines, latencies, connected)) for _ in range(clients)]
    peak = 0
    while len(connected) < clients:
        if any(t.done() for t in tasks):
            raise SystemExit("a client's stream ended before the job began: the harness is broken")
        await asyncio.sleep(0.05)
    open(go, "w").close()
    while not all(t.done() for t in tasks):
        peak = max(peak, measures.rss_mib(daemon.pid))
        await asyncio.sleep(0.1)
    ordered = all(t.result() for t in tasks)
    return latencies, lines, ordered, peak


def measure(lph, clients, rate, seconds):
    """Runs the fan-out once; answers the figures as a dict."""
    total = rate * seconds
    root = tempfile.mkdtemp(prefix="lph-fanout.")
    agent = os.path.join(root, "agent.py")
    with open(agent, "w") as f:
        f.write(AGENT.format(rate=rate, total=total, flush_every=max(1, rate // 1000), go=os.path.join(root, "go")))
    daemon, port, token = measures.serve_http(os.path.abspath(lph), root, f"{sys.executable} {agent}")
    try:
        # The job exists before the clients connect (a stream of a job not yet claimed is a 404);
        # they get its log from the first line, live.
        measures.drop(root, "Fan.json", "fan-out")
        db = measures.wait_db(root)
        while measures.row(db, "Fan.json", "id") is None:
            time.sleep(0.01)
        latencies, lines, ordered, peak = asyncio.run(run(clients, port, token, daemon, os.path.join(root, "go")))
        return {"clients": clients, "rate": rate, "lines": total, "ordered": ordered,
                "complete": sum(1 for numbers in lines if numbers == list(range(1, total + 1))),
                "p50_ms": measures.pct(latencies, 0.5) * 1000, "p99_ms": measures.pct(latencies, 0.99) * 1000, "peak_rss_mib": peak}
    finally:
        daemon.terminate()
        daemon.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("lph")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    r = measure(args.lph, args.clients, args.rate, args.seconds)
    print("| clients | lines/s | lines | complete and in order | latency p50 | p99 | daemon peak RSS |")
    print(f"| {r['clients']} | {r['rate']} | {r['lines']} | {r['complete']}/{r['clients']}{'' if r['ordered'] else ' (ids out of order!)'} "
          f"| {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms | {r['peak_rss_mib']:.0f} MiB |")


if __name__ == "__main__":
    main()
