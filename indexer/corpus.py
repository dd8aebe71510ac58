"""Finding the files to index and their manifest metadata."""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer.readers import MANIFEST_FIELDS, supported

Row = dict[str, Any]  # a manifest row: a JSON object (its values are checked by row_problems)

MANIFEST_GLOB = "*manifest.jsonl"
SKIP_NAMES = {"readme.md", "readme.txt", "license.txt", "license.md"}
ANCESTOR_LEVELS = 2  # manifests are also looked for this many folders above a given folder
DATE_RE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
LANGUAGE_RE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")


@dataclass
class SourceFile:
    path: Path
    meta: Row = field(default_factory=dict)


@dataclass
class Problem:
    """Something that could not be indexed, named with the reason."""

    path: str
    reason: str


def row_problems(row: Row) -> list[str]:
    """What is wrong with a manifest row's metadata (``file`` aside): each field must be text, ``date`` an ISO
    date (``2013``, ``2013-11`` or ``2013-11-19``), ``language`` a language code (``en``, ``fr``, ``zh-Hans``)."""
    found = []
    for key in MANIFEST_FIELDS:
        value = row.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            found.append(f"'{key}' must be text, not {_json_type(value)}")
        elif key == "date" and value.strip() and not _valid_date(value.strip()):
            found.append(f"'date' must be an ISO date such as 2013-11-19 (or 2013-11, 2013), not {value[:40]!r}")
        elif key == "language" and value.strip() and not LANGUAGE_RE.fullmatch(value.strip()):
            found.append(f"'language' must be a language code such as en or fr, not {value[:40]!r}")
    return found


def _json_type(value: object) -> str:
    return {list: "a list", dict: "an object", bool: "true/false", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__)


def _valid_date(value: str) -> bool:
    m = DATE_RE.fullmatch(value)
    if not m:
        return False
    year, month, day = (int(g) if g else 1 for g in m.groups())
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True


def _clean(row: Row) -> Row:
    """The row's metadata as the readers take it: text fields stripped, the language code in lower case."""
    out = dict(row)
    for key in MANIFEST_FIELDS:
        if isinstance(out.get(key), str):
            out[key] = out[key].strip()
    if out.get("language"):
        out["language"] = out["language"].lower()
    return out


@dataclass
class Manifest:
    """One manifest's rows: the metadata of each file it lists, and the files whose row is invalid (with why)."""

    rows: dict[Path, Row] = field(default_factory=dict)
    invalid: dict[Path, str] = field(default_factory=dict)


def read_manifest(manifest: Path, problems: list[Problem]) -> Manifest:
    """The rows of ``manifest``, each checked on its own: a row that is not UTF-8, not JSON, has no ``file`` or
    has invalid metadata is reported (``manifest.jsonl:LINE``) and never stops the others. A file whose row is
    invalid is left out of the index, with the reason, rather than indexed with metadata it was not meant to
    have (its symbol, title or date would be wrong in every citation)."""
    out = Manifest()
    try:
        raw = manifest.read_bytes()
    except OSError as exc:
        problems.append(Problem(str(manifest), f"cannot read manifest: {exc.strerror or exc}"))
        return out
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]  # a byte-order mark
    for lineno, line_bytes in enumerate(raw.split(b"\n"), 1):
        where = f"{manifest}:{lineno}"
        if not line_bytes.strip():
            continue
        try:
            line, not_utf8 = line_bytes.decode("utf-8"), None
        except UnicodeDecodeError as exc:  # Latin-1 or Windows-1252, say: read on to name the file
            line = line_bytes.decode("latin-1")
            bad = line_bytes[exc.start:exc.start + 1]
            not_utf8 = f"manifest row is not UTF-8 text (byte {exc.start + 1}: {bad!r}); save the manifest as UTF-8"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(where, not_utf8 or f"manifest row is not valid JSON ({exc.msg})"))
            continue
        file = row.get("file") if isinstance(row, dict) else None
        if not isinstance(row, dict):
            problems.append(Problem(where, not_utf8 or "manifest row is not a JSON object"))
            continue
        if not isinstance(file, str) or not file.strip():
            problems.append(Problem(where, not_utf8 or "manifest row has no 'file' (the document's path, as text)"))
            continue
        path = (manifest.parent / file.strip()).resolve()
        wrong = [not_utf8] if not_utf8 else row_problems(row)
        if wrong:
            problems.append(Problem(where, "; ".join(wrong)))
            out.invalid.setdefault(path, f"not indexed: its row in {manifest.name} (line {lineno}) is invalid: "
                                         + "; ".join(wrong))
            continue
        out.rows[path] = _clean(row)
    return out


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
    meta: dict[Path, Row] = {}
    invalid: dict[Path, str] = {}
    for m in sorted(manifests):
        read = read_manifest(m, problems)
        for path, reason in read.invalid.items():
            if path not in meta:
                invalid.setdefault(path, reason)
        for path, row in read.rows.items():
            if path in invalid:
                continue  # the first manifest that lists a file decides, as for valid rows
            meta.setdefault(path, row)
            under_root = any(path.is_relative_to(r) for r in roots if r.is_dir())
            if under_root and not path.exists():
                problems.append(Problem(str(path), f"listed in {m.name} but the file is missing"))
    problems.extend(Problem(str(f), invalid[f]) for f in files if f in invalid)
    return [SourceFile(f, meta.get(f, {})) for f in files if f not in invalid], problems
