"""Committed expected figures (``eval/regressions/*.yaml``) and ``parasearch eval --regression FILE``.

As Anserini's and Pyserini's regression files do, each file keeps, as data, the
figures one command produces and how far each may drop::

    description: BEIR SciFact, test split (300 queries), as the service searches
    requires: what must exist first (say, how to build the index it names), optional
    command: parasearch eval --beir ../shared/bench/scifact
    recorded: "2026-12-06"
    tolerance: 0.01                 # the default of the entries below
    expected:
      - {set: scifact, mode: hybrid, metric: ndcg@10, value: 0.7570}
      - {set: scifact, mode: bm25, metric: recall@100, value: 0.9213, tolerance: 0.02}
      - {path: parse_quality.ga_text.extra_rate, metric: ga/text extra rate, value: 0.0, better: lower}

* ``command``: the exact ``parasearch eval`` command, run from the repository root
  (or ``cwd``, relative to the repository root), that produces every figure of
  the file; it may start with environment assignments
  (``PARASEARCH_RERANKER=off parasearch eval ...``). It must not name ``--out``,
  ``--results``, ``--compare`` or ``--regression``.
* Each entry of ``expected``: ``metric`` (its name), ``value``, ``tolerance``
  (absolute; else the file's, else :data:`DEFAULT_TOLERANCE`) and where the
  figure is in the command's ``results.json``: ``set`` and ``mode`` (the mean
  ``sets.<set>.modes.<mode>.all.<metric>``), or ``path`` (dotted keys). ``better``:
  ``higher`` (default) or ``lower`` (a rate of errors).

A figure **fails** when it is worse than ``value`` by more than ``tolerance``
(or is missing); one better by more than ``tolerance`` is marked ``better``
(update the file). ``parasearch eval --regression FILE`` runs the command
in-process (its outputs under ``--out``, default :func:`eval.paths.regression_root`
``/<file>/``), prints the table and exits 1 on a failure; with ``--results
RESULTS.json`` it checks a saved run instead. ``python -m eval.regression --docs``
rewrites the table of every file in ``docs/evaluation.md`` (between
:data:`DOC_START` and :data:`DOC_END`); ``--check-docs`` exits 1 when it is not
up to date (tests/test_eval_regression.py checks it too).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shlex
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parasearch.config import REPO_ROOT

REGRESSIONS_DIR = REPO_ROOT / "eval" / "regressions"
DOC_FILE = REPO_ROOT / "docs" / "evaluation.md"
DOC_START = "<!-- regression-figures:start (python -m eval.regression --docs) -->"
DOC_END = "<!-- regression-figures:end -->"
DEFAULT_TOLERANCE = 0.01
FORBIDDEN = ("--out", "--results", "--compare", "--regression")
METRIC_LABELS = {"recall@1": "R@1", "recall@5": "R@5", "recall@10": "R@10", "recall@100": "R@100",
                 "mrr@10": "MRR@10", "ndcg@10": "nDCG@10"}


class RegressionError(ValueError):
    """A regression file that cannot be used; the message says why."""


@dataclass(frozen=True)
class Expected:
    """One expected figure."""

    metric: str
    value: float
    tolerance: float
    path: tuple[str, ...]  # keys into results.json
    better: str = "higher"
    set: str | None = None
    mode: str | None = None

    @property
    def label(self) -> str:
        metric = METRIC_LABELS.get(self.metric, self.metric)
        return " ".join(x for x in (self.set, self.mode, metric) if x)

    def measured(self, results: Mapping[str, Any]) -> float | None:
        """The figure in ``results`` (a ``results.json``), or None when it is not there."""
        node: Any = results
        for key in self.path:
            if not isinstance(node, Mapping) or key not in node:
                return None
            node = node[key]
        if isinstance(node, bool) or not isinstance(node, (int, float)) or math.isnan(node):
            return None
        return float(node)

    def worse_by(self, measured: float) -> float:
        """How much worse ``measured`` is than the expected value (negative: better)."""
        return self.value - measured if self.better == "higher" else measured - self.value


@dataclass(frozen=True)
class Regression:
    """A regression file: the command and the figures it must produce."""

    file: Path
    command: str
    expected: tuple[Expected, ...]
    description: str = ""
    recorded: str = ""
    cwd: str = "."
    requires: str = ""

    @property
    def name(self) -> str:
        return self.file.stem

    def invocation(self) -> tuple[dict[str, str], list[str]]:
        """``(environment assignments, arguments of parasearch eval)`` of the command."""
        try:
            words = shlex.split(self.command)
        except ValueError as exc:
            raise RegressionError(f"{self.file}: command: {exc}") from None
        env: dict[str, str] = {}
        while words and "=" in words[0] and not words[0].startswith("-"):
            key, _, value = words.pop(0).partition("=")
            env[key] = value
        if words[:2] != ["parasearch", "eval"]:
            raise RegressionError(f"{self.file}: command must be 'parasearch eval ...', got {self.command!r}")
        args = words[2:]
        for option in FORBIDDEN:
            if any(a == option or a.startswith(option + "=") for a in args):
                raise RegressionError(f"{self.file}: command must not name {option} (the check sets it)")
        return env, args


def _entry(raw: Any, n: int, file: Path, default_tolerance: float) -> Expected:
    where = f"{file}: expected[{n}]"
    if not isinstance(raw, dict):
        raise RegressionError(f"{where}: not a mapping")
    unknown = set(raw) - {"metric", "value", "tolerance", "set", "mode", "path", "better"}
    if unknown:
        raise RegressionError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    metric, value = raw.get("metric"), raw.get("value")
    if not isinstance(metric, str) or not metric:
        raise RegressionError(f"{where}: 'metric' (a name) is required")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RegressionError(f"{where}: 'value' (a number) is required")
    tolerance = raw.get("tolerance", default_tolerance)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or tolerance < 0:
        raise RegressionError(f"{where}: 'tolerance' must be a number >= 0")
    better = raw.get("better", "higher")
    if better not in ("higher", "lower"):
        raise RegressionError(f"{where}: 'better' must be higher or lower")
    set_name, mode, path = raw.get("set"), raw.get("mode"), raw.get("path")
    if path is not None:
        if set_name is not None or mode is not None or not isinstance(path, str) or not path:
            raise RegressionError(f"{where}: give either 'path' or 'set' and 'mode'")
        keys = tuple(path.split("."))
    elif isinstance(set_name, str) and isinstance(mode, str):
        keys = ("sets", set_name, "modes", mode, "all", metric)
    else:
        raise RegressionError(f"{where}: give 'set' and 'mode' (a retrieval figure) or 'path' (any figure)")
    return Expected(metric=metric, value=float(value), tolerance=float(tolerance), path=keys, better=better,
                    set=set_name if isinstance(set_name, str) else None, mode=mode if isinstance(mode, str) else None)


def load(file: Path) -> Regression:
    """Read and check a regression file."""
    import yaml

    file = Path(file)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RegressionError(f"{file}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise RegressionError(f"{file}: not YAML ({exc})") from None
    if not isinstance(data, dict):
        raise RegressionError(f"{file}: expected a mapping with 'command' and 'expected'")
    unknown = set(data) - {"description", "requires", "command", "recorded", "tolerance", "expected", "cwd"}
    if unknown:
        raise RegressionError(f"{file}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    command = data.get("command")
    if not isinstance(command, str) or not command.strip():
        raise RegressionError(f"{file}: 'command' (the parasearch eval command) is required")
    tolerance = data.get("tolerance", DEFAULT_TOLERANCE)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or tolerance < 0:
        raise RegressionError(f"{file}: 'tolerance' must be a number >= 0")
    entries = data.get("expected")
    if not isinstance(entries, list) or not entries:
        raise RegressionError(f"{file}: 'expected' (a list of figures) is required")
    expected = tuple(_entry(e, n, file, float(tolerance)) for n, e in enumerate(entries))
    reg = Regression(file=file, command=" ".join(command.split()), expected=expected,
                     description=str(data.get("description") or "").strip(),
                     recorded=str(data.get("recorded") or ""), cwd=str(data.get("cwd") or "."),
                     requires=" ".join(str(data.get("requires") or "").split()))
    reg.invocation()  # the command is checked now, not after a long run
    return reg


ORDER = ("dev", "dev-reranked", "scifact", "arguana", "parse")  # as the docs show them; others after, by name


def regression_files(folder: Path = REGRESSIONS_DIR) -> list[Path]:
    files = Path(folder).glob("*.yaml")
    return sorted(files, key=lambda f: (ORDER.index(f.stem) if f.stem in ORDER else len(ORDER), f.stem))


# -- checking -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    expected: Expected
    measured: float | None

    @property
    def status(self) -> str:
        if self.measured is None:
            return "MISSING"
        worse = self.expected.worse_by(self.measured)
        if worse > self.expected.tolerance + 1e-12:
            return "FAIL"
        if -worse > self.expected.tolerance + 1e-12:
            return "better"
        return "ok"

    @property
    def failed(self) -> bool:
        return self.status in ("FAIL", "MISSING")


def check(reg: Regression, results: Mapping[str, Any]) -> list[Outcome]:
    """Every expected figure of ``reg`` against a ``results.json``."""
    return [Outcome(e, e.measured(results)) for e in reg.expected]


def _num(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def figure(value: float) -> str:
    """A figure as the docs show it: 4 decimals at most, no trailing zeros (``0.7567``, ``90``, ``1``)."""
    return f"{value:.4f}".rstrip("0").rstrip(".") or "0"


def render(reg: Regression, outcomes: list[Outcome], source: str = "") -> str:
    """The table printed by ``--regression``."""
    from eval.report import markdown_table

    rows = []
    for o in outcomes:
        e = o.expected
        delta = "–" if o.measured is None else f"{(o.measured - e.value) + 0.0:+.4f}".replace("-0.0000", "+0.0000")
        allowed = f"{'-' if e.better == 'higher' else '+'}{e.tolerance:.4f}" if e.tolerance else "0"
        rows.append([e.label, _num(e.value), allowed,
                     _num(o.measured), delta, o.status])
    table = markdown_table(["figure", "expected", "tolerance", "measured", "Δ", "status"], rows,
                           ["l", "r", "r", "r", "r", "l"])
    failed = [o for o in outcomes if o.failed]
    better = [o for o in outcomes if o.status == "better"]
    head = f"## Regression: {_shown(reg.file)}\n\ncommand: {reg.command}" + (f"\nchecked: {source}" if source else "")
    tail = (f"{len(failed)} of {len(outcomes)} figure(s) dropped beyond their tolerance." if failed
            else f"All {len(outcomes)} figures within their tolerance.")
    if better:
        tail += f" {len(better)} better beyond it: update {_shown(reg.file)}."
    return f"{head}\n\n{table}\n\n{tail}\n"


def failure_lines(outcomes: list[Outcome]) -> list[str]:
    out = []
    for o in outcomes:
        if not o.failed:
            continue
        e = o.expected
        if o.measured is None:
            out.append(f"{e.label}: missing from the results ({'.'.join(e.path)})")
        else:
            out.append(f"{e.label}: expected {e.value:.4f}, measured {o.measured:.4f} "
                       f"({o.measured - e.value:+.4f}, tolerance {e.tolerance:.4f})")
    return out


def _shown(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


# -- running --------------------------------------------------------------------------------------
@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_command(reg: Regression, out_dir: Path, evaluate: Callable[[list[str]], int],
                extra: list[str] | None = None) -> tuple[int, dict[str, Any] | None]:
    """Run the file's command in-process (``evaluate``: :func:`eval.cli.main`) with ``--out out_dir``, from the
    repository root (or the file's ``cwd``); ``(exit status, its results.json or None)``."""
    from eval.report import read_json

    env, args = reg.invocation()
    out_dir = Path(out_dir).resolve()
    results_file = out_dir / "results.json"
    results_file.unlink(missing_ok=True)
    with _environment(env), contextlib.chdir(REPO_ROOT / reg.cwd):
        status = evaluate([*args, *(extra or []), "--out", str(out_dir)])
    if status not in (0, 1) or not results_file.is_file():
        return status, None
    return status, read_json(results_file)


# -- the documentation's table ----------------------------------------------------------------------
def docs_table(files: list[Path] | None = None) -> str:
    """The committed figures of every regression file, as the Markdown that docs/evaluation.md shows."""
    from eval.report import markdown_table

    parts = []
    for file in files if files is not None else regression_files():
        reg = load(file)
        rows = [[e.label, figure(e.value), figure(e.tolerance) + (" (lower is better)" if e.better == "lower"
                                                                   else "")] for e in reg.expected]
        when = f", recorded {reg.recorded}" if reg.recorded else ""
        first = f"\n\nFirst: `{reg.requires}`" if reg.requires else ""
        parts.append(f"`{_shown(file)}`{when}: {reg.description}{first}\n\n```sh\n{reg.command}\n```\n\n"
                     + markdown_table(["figure", "value", "tolerance"], rows, ["l", "r", "l"]))
    return "\n\n".join(parts)


def docs_section(text: str) -> str | None:
    """What ``text`` holds between :data:`DOC_START` and :data:`DOC_END` (None: no such section)."""
    if DOC_START not in text or DOC_END not in text:
        return None
    return text.split(DOC_START, 1)[1].split(DOC_END, 1)[0].strip("\n")


def write_docs(doc: Path = DOC_FILE, files: list[Path] | None = None) -> bool:
    """Rewrite the section of ``doc`` between the markers; True when it changed."""
    text = doc.read_text(encoding="utf-8")
    if docs_section(text) is None:
        raise RegressionError(f"{doc}: no section between {DOC_START!r} and {DOC_END!r}")
    before, rest = text.split(DOC_START, 1)
    after = rest.split(DOC_END, 1)[1]
    new = f"{before}{DOC_START}\n{docs_table(files)}\n{DOC_END}{after}"
    if new != text:
        doc.write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.regression",
                                description="The committed expected figures (eval/regressions/*.yaml) in the docs")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--docs", action="store_true", help=f"rewrite the figures' section of {_shown(DOC_FILE)}")
    what.add_argument("--check-docs", action="store_true", help="exit 1 when that section is not up to date")
    args = p.parse_args(argv)
    try:
        if args.docs:
            changed = write_docs()
            print(f"{_shown(DOC_FILE)}: {'rewritten' if changed else 'up to date'}", file=sys.stderr)
            return 0
        ok = docs_section(DOC_FILE.read_text(encoding="utf-8")) == docs_table()
        if not ok:
            print(f"{_shown(DOC_FILE)}: the figures' section is not up to date: python -m eval.regression --docs",
                  file=sys.stderr)
        return 0 if ok else 1
    except (RegressionError, OSError, ValueError) as exc:
        print(f"python -m eval.regression: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
