#!/usr/bin/env python3
"""Backbone and artifact figures for the release build of lph, next to this machine's floors.

  1. log lines stored per second from an agent printing as fast as it can,
     next to `yes | head -n N > /dev/null` and `seq 1 N > /dev/null`;
  2. spool drop (rename into incoming/) -> job committed as started, p50/p99;
  3. file written in a project -> artifact row committed, p50/p99;
  4. full scan of 100,000 files in 1,000 folders (first index, then a start
     with nothing changed) next to `find DIR -type f | wc -l`;
  5. the daemon's memory with 1,000 watched folders.

Usage: bench/backbone.py PATH-TO-LPH [--lines N] [--drops N] [--files N]
"""
import argparse, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from measures import drop_to_start, floor, lines_per_second, scan, write_to_row  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("lph")
    p.add_argument("--lines", type=int, default=2_000_000)
    p.add_argument("--drops", type=int, default=1000)
    p.add_argument("--files", type=int, default=1000)
    a = p.parse_args()
    lph = os.path.abspath(a.lph)
    stored = lines_per_second(lph, a.lines)
    yes = floor(f"yes | head -n {a.lines} > /dev/null", a.lines)
    seq = floor(f"seq 1 {a.lines} > /dev/null", a.lines)
    lat = sorted(drop_to_start(lph, a.drops))
    p50, p99 = lat[len(lat) // 2], lat[int(len(lat) * 0.99) - 1]
    print(f"| what | lph | floor | ratio |")
    print(f"|---|---|---|---|")
    print(f"| lines stored/s ({a.lines:,} lines) | {stored:,.0f} | yes\\|head: {yes:,.0f} | {stored / yes:.3f} |")
    print(f"| lines stored/s | {stored:,.0f} | seq > /dev/null: {seq:,.0f} | {stored / seq:.3f} |")
    print(f"| drop -> started, p50 ({a.drops} files, ms resolution) | {p50:.1f} ms | | |")
    print(f"| drop -> started, p99 | {p99:.1f} ms | | |")
    w = write_to_row(lph, a.files)
    print(f"| file written -> artifact row, p50 ({a.files} files) | {w[len(w) // 2]:.2f} ms | | |")
    print(f"| file written -> artifact row, p99 | {w[int(len(w) * 0.99) - 1]:.2f} ms | | |")
    s = scan(lph)
    first, again, find = s["first"], s["rescan"], s["find"]
    print(f"| first index of 100,000 files in 1,000 folders (start to committed) | {first:.2f} s | find: {find:.2f} s | {first / find:.1f}x |")
    print(f"| start rescan, nothing changed | {again:.2f} s | find: {find:.2f} s | {again / find:.1f}x |")
    print(f"| daemon memory (RSS) with 1,000 watched folders, 100,000 rows | {s['rss']:.0f} MiB | | |")


if __name__ == "__main__":
    main()
