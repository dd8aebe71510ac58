"""No import cycle among the project's modules (scripts/import_cycles.py: an AST graph, lazy imports included)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "import_cycles.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120)


def test_no_import_cycles() -> None:
    done = _run()
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_cycle_is_found(tmp_path: Path) -> None:
    """The script sees a cycle made by a lazy import, a relative import and ``from pkg import module``."""
    pkg = tmp_path / "indexer"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from indexer.sub import b\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("from .. import a\n")
    (pkg / "c.py").write_text("import indexer.a\n")  # into the cycle, not part of it
    done = _run("--root", str(tmp_path))
    assert done.returncode == 1
    assert "cycle of 2 modules: indexer.a, indexer.sub.b" in done.stdout
    assert "indexer.sub.b -> indexer.a  (indexer/sub/b.py:1)" in done.stdout
    assert "indexer.c" not in done.stdout.split("import cycle")[0]
    assert _run("--root", str(tmp_path), "--only", "service").returncode == 0  # a cycle elsewhere
    (pkg / "sub" / "b.py").write_text("import json\n")
    assert _run("--root", str(tmp_path)).returncode == 0
