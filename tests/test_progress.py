"""Progress output is line-based in a log: tqdm's in-place redraws (``\\r``) would make one long line there."""

from __future__ import annotations

import io
import subprocess
import sys

from parasearch.progress import progress_bar
from tests.conftest import REPO


def test_bar_in_a_log_is_one_line_per_update():
    log = io.StringIO()  # not a terminal
    for _ in progress_bar(range(4), file=log, desc="Embedding", mininterval=0, maxinterval=0):
        pass
    text = log.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert lines[0].startswith("Embedding:   0%") and lines[-1].startswith("Embedding: 100%"), lines
    assert len(lines) == len(set(lines)) == 5  # 0/4 .. 4/4, the last one not repeated on close


def test_index_progress_in_a_log_file(ctoc_index, tmp_path):
    """``parasearch index ... 2> build.log``: readable lines, no carriage returns."""
    log = tmp_path / "build.log"
    with log.open("w") as err:
        result = subprocess.run([sys.executable, "-m", "parasearch.cli", "index", str(REPO / "corpus"),
                                 "--index", str(tmp_path / "idx"),
                                 "--cache", str(ctoc_index.parent / ".embedding-cache.sqlite")],
                                stdout=subprocess.DEVNULL, stderr=err, cwd=REPO, timeout=600)
    text = log.read_text()
    assert result.returncode == 0, text
    assert "\r" not in text
    assert any(line.startswith("Reading: 100%") for line in text.splitlines()), text
