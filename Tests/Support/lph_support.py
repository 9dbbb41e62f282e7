"""What the Python tests and benchmarks share: a real `lph serve` as a fixture,
a PostgreSQL server of their own, a free loopback port, and waiting with a
deadline (never for a fixed time).

Scripts import it after putting this folder on their path:

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Support"))
    from lph_support import Daemon, Postgres, check, free_port, until
"""
import glob
import itertools
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
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


def skip(what):
    """A part this machine cannot run (no root, no package): said, and passed,
    but failed under LPH_NO_SKIPS=1, which CI sets, so that CI never passes a
    test it did not run."""
    if os.environ.get("LPH_NO_SKIPS") == "1":
        raise SystemExit(f"FAILED: {what}, and LPH_NO_SKIPS=1 asks for every test to run")
    print(f"SKIPPED: {what}")


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

    A node joining a shared database that has its admin already prints no
    token: `token` is then the one to call it with (the first node's).
    """

    def __init__(self, lph, root, *arguments, port=None, env=None, log=subprocess.DEVNULL, token=None):
        self.root = root
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([lph, "serve", "--listen", f"127.0.0.1:{self.port}", *arguments],
                                        cwd=root, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
        self.address = None
        for line in self.process.stdout:
            match = re.search(r"dashboard at (\S+)|serving on (\S+);", line)
            if match:
                self.address = match.group(1) or match.group(2)
                break
        if self.address is None:
            raise AssertionError(f"lph serve exited ({self.process.wait()}) before printing its dashboard address")
        self.token = self.address.split("token=")[1] if "token=" in self.address else token
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
        """SIGTERM, and fails if the daemon is not gone within `timeout` s (it is then killed, not left running)."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise AssertionError(f"lph serve (pid {self.pid}) had not stopped {timeout} s after SIGTERM; killed") from None

    def kill9(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


def postgres_programs():
    """The folder of initdb, pg_ctl and createdb: the one of an initdb on PATH
    (a symbolic link is followed), else the newest of Debian's
    /usr/lib/postgresql/<version>/bin, which Debian keeps off PATH."""
    def version(folder):
        try:
            return float(folder.split("/")[-2])
        except ValueError:
            return 0.0

    on_path = shutil.which("initdb")
    candidates = [os.path.dirname(os.path.realpath(on_path))] if on_path else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    for folder in candidates:
        if all(os.access(os.path.join(folder, p), os.X_OK) for p in ("initdb", "pg_ctl", "createdb")):
            return folder
    raise AssertionError("no PostgreSQL server programs (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin: "
                         "run scripts/install-deps.sh")


class Postgres:
    """A PostgreSQL server of its own on 127.0.0.1 (a free port) in a new
    folder under /tmp, until `stop()` or the end of a `with` block: stopped at
    once then (its data is thrown away) and the folder removed. `database()`
    makes a fresh, empty database and answers its URL.

    Under root the server programs run as the `postgres` user (initdb refuses
    root), in a folder given to it. Durability is off: a test server's data
    need not survive a crash.

        with Postgres() as postgres:
            url = postgres.database()   # postgres://postgres@127.0.0.1:PORT/lph_test_1_PID
    """

    SETTINGS = ("-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
                " -c full_page_writes=off -c max_connections=200")

    def __init__(self):
        self.programs = postgres_programs()
        self.as_postgres = os.geteuid() == 0
        self.port = free_port()
        # Under /tmp, not TMPDIR: the postgres user must reach it, and the
        # socket's path in it must stay under 108 bytes.
        self.folder = tempfile.mkdtemp(prefix="lph-pg.", dir="/tmp")
        self.data = os.path.join(self.folder, "data")
        self.log = os.path.join(self.folder, "pg.log")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}"
        self._numbers = itertools.count(1)
        try:
            if self.as_postgres:
                user = pwd.getpwnam("postgres")
                os.chown(self.folder, user.pw_uid, user.pw_gid)
            self._run("initdb", "-D", self.data, "-A", "trust", "-U", "postgres",
                      "-E", "UTF8", "--no-locale", "--no-sync")
            self._run("pg_ctl", "-D", self.data, "-o", f"-p {self.port} -k {self.folder} {self.SETTINGS}",
                      "-l", self.log, "-w", "start")
        except KeyError:
            self.stop()
            raise AssertionError("running as root, but there is no postgres user to run the server as: "
                                 "run scripts/install-deps.sh") from None
        except BaseException:
            self.stop()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.stop()

    def database(self):
        """A fresh, empty database's URL."""
        name = f"lph_test_{next(self._numbers)}_{os.getpid()}"
        # A client program: it runs as whoever we are; -w: never ask for a password.
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-w", name, as_server=False)
        return f"{self.url}/{name}"

    def stop(self):
        """Stops the server at once (no checkpoint) and removes its folder; again is harmless."""
        if self.folder is None:
            return
        subprocess.run(self._command("pg_ctl", "-D", self.data, "-m", "immediate", "stop"), cwd=self.folder,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None

    def _command(self, program, *arguments, as_server=True):
        """`program` of PostgreSQL's folder, as the postgres user when we are root and it is a server program."""
        command = [os.path.join(self.programs, program), *arguments]
        runuser = shutil.which("runuser") or "/usr/sbin/runuser"
        return [runuser, "-u", "postgres", "--", *command] if as_server and self.as_postgres else command

    def _run(self, program, *arguments, as_server=True):
        """Runs `program` to its end (in the server's folder: the postgres user
        cannot enter most others); fails with its error output and the server
        log's last lines."""
        result = subprocess.run(self._command(program, *arguments, as_server=as_server), cwd=self.folder,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if result.returncode != 0:
            raise AssertionError(f"PostgreSQL: {program} failed ({result.returncode}): {result.stderr.strip()}\n"
                                 f"server log, last lines:\n{self._log_tail()}")

    def _log_tail(self, lines=20):
        try:
            with open(self.log, encoding="utf-8", errors="replace") as log:
                return "".join(log.readlines()[-lines:])
        except OSError:
            return "(no server log)"
