"""Schemathesis against the daemon's own /openapi.json: thousands of generated
requests, every route but the never-ending streams. Fails on any 5xx answer, a
status or content type the document does not list, a method not refused with
405 and Allow, an operation that only ever got 401/403 (the requests did not
reach the code behind the token check), or if the daemon stops answering.

`POST /users/{id}/token` replaces a user's token, the admin's own too (user 1,
the first id the fuzzer tries): it is fuzzed last, on its own, so that the
token every other request carries stays valid.

Usage: .venv/bin/python Tests/Fuzz/api_fuzz_test.py .build/debug/lph
(schemathesis from PyPI, in the .venv that Tests/Support/make-venv.sh makes)
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Support"))
from lph_support import Daemon, check  # noqa: E402

CHECKS = "not_a_server_error,unsupported_method,allow_header_conformance,status_code_conformance,content_type_conformance"
REPLACES_TOKENS = "POST /users/{id}/token"


def fuzz(daemon, *selection):
    """One schemathesis run over the selected operations; its report is printed and answered."""
    schemathesis = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    run = subprocess.run([schemathesis, "run", f"{daemon.base}/openapi.json", "-H", f"Authorization: Bearer {daemon.token}",
                          "--checks", CHECKS, "--max-examples", "50", "--exclude-path-regex", "/streams|/logs/stream",
                          "--seed", "1", *selection], capture_output=True, text=True)
    print(run.stdout[-6000:], run.stderr[-2000:], sep="")
    return run


def main():
    lph = os.path.abspath(sys.argv[1])
    root = tempfile.mkdtemp(prefix="lph-fuzz.")
    log = os.path.join(root, "serve.log")
    daemon = Daemon(lph, root, "--agent", "/bin/true", log=open(log, "w"))
    try:
        most = fuzz(daemon, "--exclude-name", REPLACES_TOKENS)
        check(most.returncode == 0, "every generated request answered as the document says")
        me = daemon.call("GET", "/users/me")
        check(me[0] == 200, f"the token the requests carried still works at the end ({me[0]} {me[1].get('error', '')})")
        check("Authentication failed" not in most.stdout, "every operation got past the token check at least once")
        last = fuzz(daemon, "--include-name", REPLACES_TOKENS)
        check(last.returncode == 0, f"{REPLACES_TOKENS}, fuzzed last: answered as the document says")
        try:
            check(daemon.health()["status"] in ("ok", "degraded"), "the daemon still answers")
        except OSError as error:
            print(open(log).read()[-4000:])
            raise AssertionError(f"the daemon stopped answering: {error}")
    finally:
        daemon.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
