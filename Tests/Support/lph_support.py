"""What the Python tests and benchmarks share: a real `lph serve` as a fixture,
a free loopback port, and waiting with a deadline (never for a fixed time).

Scripts import it after putting this folder on their path:

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Support"))
    from lph_support import Daemon, check, free_port, until
"""
import json
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request


def free_port():
    """A port of 127.0.0.1 nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def until(what, condition, timeout=60):
    """Waits until `condition()` is true and returns its value; fails after
    `timeout` seconds naming `what`. An exception counts as "not yet" (a page
    re-rendered under the reader, a database being created) and is named if
    the deadline passes."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except Exception as error:  # noqa: BLE001 - any failure is "not yet"; the last one is reported
            last_error = error
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise AssertionError(f"timed out after {timeout} s waiting for {what}{detail}")
        time.sleep(0.05)


def check(condition, what):
    """Fails naming `what` unless `condition`; says it otherwise."""
    if not condition:
        raise AssertionError(what)
    print("ok:", what)


class Daemon:
    """`lph serve` in `root` on 127.0.0.1 (a free port unless given), with its
    admin token, until `stop()` (SIGTERM) or `kill9()`.

    `arguments` are more `lph serve` options. Its standard error goes to `log`
    (a file, `subprocess.STDOUT`, or nowhere); its output is read on a thread
    of its own after the first lines, so a chatty daemon never blocks on a full pipe.
    """

    def __init__(self, lph, root, *arguments, port=None, env=None, log=subprocess.DEVNULL):
        self.root = root
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([lph, "serve", "--listen", f"127.0.0.1:{self.port}", *arguments],
                                        cwd=root, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
        self.address = None
        for line in self.process.stdout:
            match = re.search(r"dashboard at (\S+)", line)
            if match:
                self.address = match.group(1)
                break
        if self.address is None:
            raise AssertionError(f"lph serve exited ({self.process.wait()}) before printing its dashboard address")
        self.token = self.address.split("token=")[1]
        threading.Thread(target=self.process.stdout.read, daemon=True).start()

    @property
    def pid(self):
        return self.process.pid

    def call(self, method, path, body=None, timeout=30):
        """(status, JSON answer) of a request with the admin token; errors are answers too."""
        request = urllib.request.Request(self.base + path, method=method,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    def get(self, path):
        """The JSON answer of a GET that must succeed."""
        status, body = self.call("GET", path)
        if status != 200:
            raise AssertionError(f"GET {path}: {status} {body}")
        return body

    def health(self):
        return self.call("GET", "/healthz")[1]

    def stop(self, timeout=60):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=timeout)

    def kill9(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
