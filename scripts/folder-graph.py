#!/usr/bin/env python3
"""Which folder of Sources/LinesPerHour uses which, and whether that graph has a cycle.

A folder uses another when one of its files names a type, enum or function
declared at the top level of the other's files. Prints the edges, then every
cycle; exits 1 when there is one (so `make test` fails on a new cycle), and
with --dot prints the graph for Graphviz instead.
"""
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "Sources" / "LinesPerHour"
DECLARATION = re.compile(
    r"^(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|package|internal|fileprivate|private|final|nonisolated|indirect)\s+)*"
    r"(?:struct|enum|class|protocol|actor|typealias|func|let|var)\s+([A-Za-z_]\w*)",
    re.MULTILINE,
)
COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
STRING = re.compile(r'"""(?:.|\n)*?"""|"(?:\\.|[^"\\\n])*"')


def folder_of(path: Path) -> str:
    return path.relative_to(ROOT).parts[0]


def code_of(path: Path) -> str:
    return STRING.sub('""', COMMENT.sub("", path.read_text()))


def graph() -> dict[str, set[str]]:
    files = [p for p in ROOT.rglob("*.swift")]
    declared: dict[str, str] = {}
    for path in files:
        for name in DECLARATION.findall(code_of(path)):
            declared.setdefault(name, folder_of(path))
    edges: dict[str, set[str]] = defaultdict(set)
    for path in files:
        here = folder_of(path)
        edges[here]
        for word in set(re.findall(r"\b[A-Za-z_]\w*\b", code_of(path))):
            there = declared.get(word)
            if there and there != here:
                edges[here].add(there)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one folder (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def main() -> int:
    edges = graph()
    if "--dot" in sys.argv:
        print("digraph folders {")
        for here in sorted(edges):
            for there in sorted(edges[here]):
                print(f'  "{here}" -> "{there}";')
        print("}")
        return 0
    for here in sorted(edges):
        print(f"{here:12} -> {', '.join(sorted(edges[here])) or '(nothing)'}")
    found = cycles(edges)
    for component in found:
        print("cycle among: " + ", ".join(component), file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
