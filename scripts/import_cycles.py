#!/usr/bin/env python3
"""Find import cycles among the project's modules, from their source (nothing is imported).

The graph has one node per module of the project's packages (``parasearch``, ``indexer``, ``service``,
``eval``; a package's ``__init__.py`` is the package's own node) and one edge per import of another of
them, wherever the import stands: at the top of the file, inside a function (a lazy import still ties
the two modules together), or under ``if TYPE_CHECKING:``. Relative imports are resolved, and
``from pkg import name`` is an edge to the module ``pkg.name`` when there is one, else to ``pkg``.
Importing ``pkg.mod`` is an edge to ``pkg.mod`` only, not to ``pkg`` as well (Python runs ``pkg``'s
``__init__`` first, but a package that imports its own modules is not a cycle).

A cycle is a strongly connected component of more than one module (a module importing itself is
ignored). Each is printed with the imports that close it, as ``file:line``; the exit status is 1 when
there is any, 0 when there is none.

    python scripts/import_cycles.py                # every cycle among the project's modules
    python scripts/import_cycles.py --only indexer # only the cycles that take in a module of indexer
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("parasearch", "indexer", "service", "eval")

# an edge: (importing module, imported module) -> the places (file:line) where it is imported
Graph = dict[str, dict[str, list[str]]]


def module_files(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Every module of ``packages`` under ``root``, by dotted name."""
    out: dict[str, Path] = {}
    for pkg in packages:
        base = root / pkg
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.py")):
            rel = path.relative_to(root).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts.pop()
            if any(not p.isidentifier() for p in parts):
                continue  # not importable (a data folder, a file with a dash)
            out[".".join(parts)] = path
    return out


def _resolve_from(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute name of the module a ``from ... import`` names (before its imported names)."""
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    if not is_package:
        parts = parts[:-1]  # a module's level 1 is its package; a package's level 1 is itself
    if node.level > 1:
        parts = parts[: len(parts) - (node.level - 1)]
    if node.module:
        parts += node.module.split(".")
    return ".".join(parts)


def _target(name: str, modules: dict[str, Path]) -> str | None:
    """The project module ``name`` stands for: itself, or the longest enclosing module that is one."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def build_graph(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> Graph:
    modules = module_files(root, packages)
    graph: Graph = {m: {} for m in modules}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        where = str(path.relative_to(root))
        for node in ast.walk(tree):
            targets: list[str | None] = []
            if isinstance(node, ast.Import):
                targets = [_target(alias.name, modules) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve_from(module, is_package, node)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if alias.name != "*" and sub in modules else _target(base, modules))
            else:
                continue
            for target in dict.fromkeys(targets):  # one place per statement, however many names it imports
                if target is not None and target != module:
                    graph[module].setdefault(target, []).append(f"{where}:{node.lineno}")
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted, in name order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(graph) + 100))
    try:
        for v in sorted(graph):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return sorted(found)


def _place_key(place: str) -> tuple[str, int]:
    path, _, line = place.rpartition(":")
    return path, int(line)


def describe(component: list[str], graph: Graph) -> str:
    members = set(component)
    lines = [f"cycle of {len(component)} modules: {', '.join(component)}"]
    for a in component:
        for b, places in sorted(graph[a].items()):
            if b in members:
                lines.append(f"  {a} -> {b}  ({', '.join(sorted(places, key=_place_key))})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=ROOT, help="the checkout (default: this script's)")
    ap.add_argument("--only", action="append", default=[], metavar="PACKAGE",
                    help="report only the cycles that take in a module of PACKAGE (repeatable)")
    args = ap.parse_args(argv)
    graph = build_graph(args.root)
    found = cycles(graph)
    if args.only:
        found = [c for c in found if any(m == p or m.startswith(p + ".") for m in c for p in args.only)]
    for component in found:
        print(describe(component, graph))
    edges = sum(len(v) for v in graph.values())
    print(f"{len(graph)} modules, {edges} imports between them: "
          f"{len(found)} import cycle{'s' if len(found) != 1 else ''}" + (" (in " + ", ".join(args.only) + ")"
                                                                           if args.only else ""))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
