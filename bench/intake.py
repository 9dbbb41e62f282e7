#!/usr/bin/env python3
"""Spool intake throughput: N job files written into Spool/incoming/ while the
daemon is stopped, then `lph serve` started; the time until incoming/ is empty
(every file claimed, renamed into accepted/ and marked filed), next to the
floor: renaming the same number of files with nothing else (os.rename).

Usage: bench/intake.py PATH-TO-LPH [--files 20000]
"""
import argparse, os, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Support"))
from lph_support import Daemon  # noqa: E402
import measures  # noqa: E402


def write_files(folder, count):
    os.makedirs(folder)
    for i in range(count):
        with open(os.path.join(folder, f"f{i}.json"), "w") as f:
            f.write('{"project": "P%d", "specification": "x"}' % (i % 50))


def measure(lph, files):
    """Files taken per second at start, and renames per second of the floor."""
    root = measures.scratch("lph-intake.")
    write_files(os.path.join(root, "floor"), files)
    os.makedirs(os.path.join(root, "floor-done"))
    started = time.monotonic()
    for name in os.listdir(os.path.join(root, "floor")):
        os.rename(os.path.join(root, "floor", name), os.path.join(root, "floor-done", name))
    floor = files / (time.monotonic() - started)

    incoming = os.path.join(root, "Spool", "incoming")
    write_files(incoming, files)
    started = time.monotonic()
    # One job runs for the whole measurement: the executor spawns nothing meanwhile.
    daemon = Daemon(os.path.abspath(lph), root, "--agent", "sleep 600", "--max-jobs", "1")
    # Listing 20,000 names takes milliseconds: looked at ten times a second, the harness takes little of the two cores.
    while os.listdir(incoming):
        time.sleep(0.1)
    elapsed = time.monotonic() - started
    daemon.kill9()
    accepted = len(os.listdir(os.path.join(root, "Spool", "accepted")))
    assert accepted == files, f"{accepted} of {files} files in accepted/"
    return files / elapsed, floor


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("lph")
    parser.add_argument("--files", type=int, default=20_000)
    args = parser.parse_args()
    rate, floor = measure(args.lph, args.files)
    print("| what | lph | floor (rename only) | ratio |")
    print("|---|---|---|---|")
    print(f"| {args.files:,} job files dropped while stopped, taken at start | {rate:,.0f} files/s | {floor:,.0f} renames/s | {rate / floor:.3f} |")


if __name__ == "__main__":
    main()
