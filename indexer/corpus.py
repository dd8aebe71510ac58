"""Finding the files to index and their manifest metadata."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from indexer.readers import supported

MANIFEST_GLOB = "*manifest.jsonl"
SKIP_NAMES = {"readme.md", "readme.txt", "license.txt", "license.md"}
ANCESTOR_LEVELS = 2  # manifests are also looked for this many folders above a given folder


@dataclass
class SourceFile:
    path: Path
    meta: dict = field(default_factory=dict)


@dataclass
class Problem:
    """Something that could not be indexed, named with the reason."""

    path: str
    reason: str


def _read_manifest(manifest: Path, problems: list[Problem]) -> dict[Path, dict]:
    rows: dict[Path, dict] = {}
    for lineno, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(f"{manifest}:{lineno}", f"manifest row is not valid JSON ({exc.msg})"))
            continue
        if not isinstance(row, dict) or not row.get("file"):
            problems.append(Problem(f"{manifest}:{lineno}", "manifest row has no 'file'"))
            continue
        rows[(manifest.parent / row["file"]).resolve()] = row
    return rows


def discover(paths: list[Path]) -> tuple[list[SourceFile], list[Problem]]:
    """Supported files under ``paths`` (sorted, each once) with their manifest rows.

    A manifest row whose file lies under a given path but does not exist is
    reported as a problem.
    """
    problems: list[Problem] = []
    files: dict[Path, None] = {}
    manifests: set[Path] = set()
    roots: list[Path] = []
    for given in paths:
        p = Path(given)
        if not p.exists():
            problems.append(Problem(str(p), "no such file or folder"))
            continue
        p = p.resolve()
        roots.append(p)
        folder = p if p.is_dir() else p.parent
        for up in [folder, *list(folder.parents)[:ANCESTOR_LEVELS]]:
            manifests.update(up.glob(MANIFEST_GLOB))
        if p.is_dir():
            manifests.update(p.rglob(MANIFEST_GLOB))
            for f in sorted(p.rglob("*")):
                if f.is_file() and supported(f) and f.name.lower() not in SKIP_NAMES and not f.name.startswith("."):
                    files[f] = None
        elif supported(p):
            files[p] = None
        else:
            problems.append(Problem(str(p), f"unsupported file type {p.suffix or '(none)'}"))
    meta: dict[Path, dict] = {}
    for m in sorted(manifests):
        for path, row in _read_manifest(m, problems).items():
            meta.setdefault(path, row)
            under_root = any(path.is_relative_to(r) for r in roots if r.is_dir())
            if under_root and not path.exists():
                problems.append(Problem(str(path), f"listed in {m.name} but the file is missing"))
    return [SourceFile(f, meta.get(f, {})) for f in files], problems
