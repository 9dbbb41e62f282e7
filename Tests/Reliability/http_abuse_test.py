#!/usr/bin/env python3
"""The HTTP port under abuse, on the real `lph serve`:

- raw junk, oversized headers (a 100 KiB header, 2,000 header fields),
  bad request lines and lengths, each on its own connection;
- slowloris: 200 connections that send a request's headers a byte at a time
  and never finish them, closed by the daemon after its idle time-out;
- 1,000 SSE connections to one job's log that never read a byte while the
  job prints 50,000 lines (each a stream the daemon admitted: answered 200;
  the job's agent waits until they are all there): a reading client still
  gets every line in order, and the daemon's peak memory is reported.

Every well-formed request names the daemon's own address as its Host (but
the one that sends two), so that it gets past the check of Host (421) and as
deep into the daemon as it can.

After each, the daemon must still answer. Prints the figures.
Usage: python3 Tests/Reliability/http_abuse_test.py PATH-TO-LPH
"""
import json, os, random, re, shlex, shutil, socket, sys, tempfile, time, urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Support"))
from lph_support import Daemon, check, until  # noqa: E402

IDLE = 3  # --idle-timeout for this test, seconds
NEVER_READING = 1000  # SSE clients that never read; the daemon lets one user hold that many, and the reader
FLOOD = 50_000  # lines the job prints while they do not read


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s


def answer(s):
    """The status code the daemon answered on this socket, or None if it closed without one."""
    try:
        data = s.recv(4096)
    except (ConnectionResetError, socket.timeout):
        return None
    m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return int(m.group(1)) if m else None


def healthy(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
        return r.status == 200


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024


def malformed(port, token):
    host = b"Host: 127.0.0.1:%d" % port
    post = b"POST /projects/p/jobs HTTP/1.1\r\n" + host + b"\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n" % token.encode()
    requests = [
        b"\x00\x01\x02garbage\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\n" + host + b"\r\nX-Big: " + b"a" * 100 * 1024 + b"\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\n" + host + b"\r\n" + b"".join(b"X-F%d: v\r\n" % i for i in range(2000)) + b"\r\n",
        post + b"Content-Length: -5\r\n\r\n",
        post + b"Content-Length: 99999999999999999999\r\n\r\n",
        post + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
        post + b"Content-Length: 11\r\n\r\n{\"spec\": 1}",
        b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n" + host + b"\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\n" + host + b"\r\nHost: y\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"\r\n\r\n\r\n",
    ]
    rng = random.Random(1)
    requests += [bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 4000))) for _ in range(190)]
    answered_5xx = 0
    for raw in requests:
        s = connect(port)
        try:
            s.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the daemon hung up first: fine
        status = answer(s)
        s.close()
        answered_5xx += status is not None and status >= 500
    check(answered_5xx == 0, f"{len(requests)} malformed requests: none answered 5xx")
    check(healthy(port), "still serving after the malformed requests")
    return len(requests)


def slowloris(port, count=200):
    sockets = [connect(port) for _ in range(count)]
    started = time.monotonic()
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Slow: " % port
    closed = set()
    sent = 0
    while len(closed) < count and time.monotonic() - started < IDLE + 30:
        for i, s in enumerate(sockets):
            if i in closed:
                continue
            try:
                s.sendall(head[sent:sent + 1] if sent < len(head) else b"a")
                s.settimeout(0.001)
                if s.recv(1) == b"":
                    closed.add(i)
            except socket.timeout:
                pass
            except OSError:
                closed.add(i)
        sent += 1
        check_serving = healthy(port)
        if not check_serving:
            raise AssertionError("the daemon stopped answering under slowloris")
        time.sleep(0.5)
    elapsed = time.monotonic() - started
    for s in sockets:
        s.close()
    check(len(closed) == count and elapsed >= IDLE, f"{count} slowloris connections closed by the daemon after {elapsed:.1f} s (idle time-out {IDLE} s), "
                                "other requests served meanwhile")
    return count


def status_peeked(s):
    """The status of the answer waiting on `s` (a non-blocking socket), read
    without taking it off: None while there is none yet, 0 if the daemon
    closed it without one."""
    try:
        head = s.recv(12, socket.MSG_PEEK)
    except BlockingIOError:
        return None
    except OSError:
        return 0
    if len(head) < 12:
        return None if head else 0
    m = re.match(rb"HTTP/1\.1 (\d{3})", head)
    return int(m.group(1)) if m else 0


def flood_job(daemon):
    """The id of the job that will print the flood: dropped now, its agent waits for the go-file."""
    incoming = os.path.join(daemon.root, "Spool", "incoming")
    with open(os.path.join(incoming, ".flood.tmp"), "w") as f:
        json.dump({"project": "Flood", "specification": "print the lines"}, f)
    os.rename(os.path.join(incoming, ".flood.tmp"), os.path.join(incoming, "flood.json"))
    return until("the flood job", lambda: next((j["id"] for j in daemon.get("/jobs?project=Flood")), None))


def never_reading_clients(daemon, count=NEVER_READING):
    """`count` clients follow the flood job's log and never read; one client reads it all."""
    path = f"/jobs/{flood_job(daemon)}/logs/stream"
    idle = []
    try:
        return flood(daemon, path, idle, count)
    finally:
        for s in idle:
            s.close()  # on a failure too: a stream stuck on a full socket would hold up the daemon's stop


def flood(daemon, path, idle, count):
    """Opens the `idle` clients, lets the job print, reads its log with one more client: the daemon's peak RSS."""
    request = b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n\r\n" % (path.encode(), daemon.port, daemon.token.encode())
    for _ in range(count):
        s = connect(daemon.port)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(request)
        s.setblocking(False)
        idle.append(s)
    statuses = {}
    deadline = time.monotonic() + 120
    while len(statuses) < count and time.monotonic() < deadline:
        for i, s in enumerate(idle):
            if i not in statuses and (status := status_peeked(s)) is not None:
                statuses[i] = status
        time.sleep(0.05)
    answered = sorted(set(statuses.values()))
    check(len(statuses) == count and answered == [200],
          f"{count} never-reading clients each admitted to the job's log stream ({len(statuses)} answered, statuses {answered})")
    before = peak_rss_mib(daemon.pid)
    reader = urllib.request.urlopen(urllib.request.Request(daemon.base + path, headers={"Authorization": f"Bearer {daemon.token}"}),
                                    timeout=60)
    open(os.path.join(daemon.root, "go"), "w").close()
    seen = []
    deadline = time.monotonic() + 300
    with reader:
        for raw in reader:
            if raw.startswith(b"event: end") or time.monotonic() > deadline:
                break
            m = re.match(rb'data: .*"text":"n (\d+)"', raw)
            if m:
                seen.append(int(m.group(1)))
    check(seen == list(range(1, FLOOD + 1)), f"a reading client got all {FLOOD} lines in order beside {count} clients that never read")
    check(healthy(daemon.port), "still serving")
    peak = peak_rss_mib(daemon.pid)
    print(f"   peak RSS {peak:.0f} MiB with {count} never-reading SSE clients on a {FLOOD}-line log (before the flood: {before:.0f} MiB)")
    return peak


def main():
    lph = os.path.abspath(sys.argv[1])
    root = tempfile.mkdtemp(prefix="lph-abuse.")
    agent = os.path.join(root, "agent.sh")
    with open(agent, "w") as f:
        # It waits for the go-file for at most 10 minutes: never for ever, should the test fail before making it.
        f.write(f"#!/bin/sh\ni=0\nwhile [ ! -e {shlex.quote(os.path.join(root, 'go'))} ] && [ $i -lt 12000 ]; do sleep 0.05; i=$((i + 1)); done\n"
                f"seq -f 'n %.0f' 1 {FLOOD}\n")
    os.chmod(agent, 0o755)
    daemon = Daemon(lph, root, "--agent", agent, "--idle-timeout", str(IDLE), "--max-streams-per-user", str(NEVER_READING + 1))
    try:
        tried = malformed(daemon.port, daemon.token)
        slow = slowloris(daemon.port)
        peak = never_reading_clients(daemon)
        print(f"http abuse: {tried} malformed requests, {slow} slowloris connections, {NEVER_READING} never-reading SSE clients "
              f"(peak RSS {peak:.0f} MiB); the daemon served throughout")
    finally:
        try:
            daemon.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
