"""Indexing survives bad input and a full disk (issue 13): every problem is named, the rest is indexed, and the
current index is never lost.

* a malformed manifest row (``{"file": 12345}``, a list-valued title, a Latin-1 line, an impossible date) is
  reported with its line and skipped, before any embedding, and the other rows are used;
* a file over ``PARASEARCH_MAX_FILE_BYTES`` is named and skipped;
* run-on PDF text (one block without paragraph breaks) is read in linear time;
* running out of space (a file size limit in a real subprocess; ``ENOSPC`` itself needs a small file system,
  which only root can mount) ends in one clear message, exit status 2, no ``gen-*.tmp``, the index unchanged.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from indexer.build import build_index
from indexer.corpus import discover
from indexer.readers import DEFAULT_MAX_FILE_BYTES, max_file_bytes, read_document
from indexer.readers.pdftext import _block_text, read_text
from parasearch import indexfiles
from parasearch.types import DocumentError
from tests.conftest import REPO

DOC = """# {title}

1. The Working Group recommended that States {topic}.

2. The Working Group also noted the importance of {topic} for victims and witnesses.
"""


def write_doc(folder: Path, name: str, topic: str) -> Path:
    path = folder / name
    path.write_text(DOC.format(title=f"Report on {topic}", topic=topic), encoding="utf-8")
    return path


@pytest.fixture
def messy_corpus(tmp_path) -> Path:
    """Five documents and a manifest with one good row, four bad ones and a line that is not JSON."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    topics = ["protect witnesses", "train prosecutors", "share evidence", "seize assets", "extradite suspects"]
    for i, topic in enumerate(topics, 1):
        write_doc(folder, f"doc{i}.md", topic)
    rows = [
        json.dumps({"file": "doc1.md", "symbol": "CTOC/COP/2099/1", "title": "Good row", "date": "2099-01-02",
                    "language": "EN"}).encode(),
        json.dumps({"file": 12345, "symbol": "CTOC/COP/2099/9"}).encode(),
        json.dumps({"file": "doc2.md", "symbol": "CTOC/COP/2099/2", "title": ["a", "list"]}).encode(),
        '{"file": "doc3.md", "symbol": "CTOC/COP/2099/3", "title": "Réunion"}'.encode("latin-1"),
        json.dumps({"file": "doc4.md", "symbol": "CTOC/COP/2099/4", "date": "2099-02-30"}).encode(),
        b"{not json",
        json.dumps({"file": "doc5.md", "symbol": "CTOC/COP/2099/5", "title": "Also good"}).encode(),
    ]
    (folder / "manifest.jsonl").write_bytes(b"\n".join(rows) + b"\n")
    return folder


def test_bad_manifest_rows_are_named_and_skipped(messy_corpus):
    """Each bad row is a problem naming its line and what is wrong; files with a bad row are left out (their
    citations would carry the wrong symbol or title); the good rows are used, cleaned."""
    sources, problems = discover([messy_corpus])
    by_line = {p.path.rsplit(":", 1)[-1]: p.reason for p in problems if "manifest.jsonl:" in p.path}
    assert set(by_line) == {"2", "3", "4", "5", "6"}, problems
    assert "no 'file'" in by_line["2"]
    assert "'title' must be text, not a list" in by_line["3"]
    assert "not UTF-8" in by_line["4"] and "save the manifest as UTF-8" in by_line["4"]
    assert "'date' must be an ISO date" in by_line["5"]
    assert "not valid JSON" in by_line["6"]
    left_out = {Path(p.path).name: p.reason for p in problems if p.path.endswith(".md")}
    assert set(left_out) == {"doc2.md", "doc3.md", "doc4.md"}
    assert all(r.startswith("not indexed: its row in manifest.jsonl") for r in left_out.values()), left_out
    kept = {s.path.name: s.meta for s in sources}
    assert set(kept) == {"doc1.md", "doc5.md"}
    assert kept["doc1.md"]["language"] == "en" and kept["doc5.md"]["title"] == "Also good"


def test_build_with_bad_manifest_rows_indexes_the_rest(messy_corpus, tmp_path, encoder):
    """The build publishes the two good documents and lists every problem; before, the first bad row aborted the
    build with a traceback, and the list-valued title only after all the embedding."""
    index = tmp_path / "index"
    report = build_index([messy_corpus], index, encoder=encoder, progress=False, use_cache=False)
    assert report.published and report.documents == 2, report.summary()
    summary = report.summary()
    for needle in ("manifest.jsonl:2", "manifest.jsonl:3", "manifest.jsonl:4", "doc2.md", "doc3.md"):
        assert needle in summary, summary
    manifest = json.loads((indexfiles.current_generation(index) / indexfiles.MANIFEST).read_text())
    assert len(manifest["problems"]) == len(report.problems)


def test_metadata_that_is_not_text_is_refused_before_reading(tmp_path):
    path = write_doc(tmp_path, "doc.md", "protect witnesses")
    with pytest.raises(DocumentError, match="'title' must be text, not list"):
        read_document(path, {"symbol": "X/1", "title": ["a"]})


def test_file_size_cap(tmp_path, monkeypatch):
    """Over PARASEARCH_MAX_FILE_BYTES a file is a named problem and is not read (default 50 MiB); 0: no cap."""
    assert max_file_bytes() == DEFAULT_MAX_FILE_BYTES == 50 * 1024 * 1024
    big = write_doc(tmp_path, "big.md", "protect witnesses " * 200)
    small = write_doc(tmp_path, "small.md", "train prosecutors")
    monkeypatch.setenv("PARASEARCH_MAX_FILE_BYTES", "2000")
    with pytest.raises(DocumentError, match="larger than PARASEARCH_MAX_FILE_BYTES=2000"):
        read_document(big, {"symbol": "X/1"})
    assert read_document(small, {"symbol": "X/2"}).paragraphs
    monkeypatch.setenv("PARASEARCH_MAX_FILE_BYTES", "0")
    assert read_document(big, {"symbol": "X/1"}).paragraphs


# -- run-on text ----------------------------------------------------------------------------------------

COVER = "United Nations\nA/99/L.1\n \nGeneral Assembly\nDistr.: Limited\n9 September 2099\nOriginal: English\n" \
        " \n99-14304 (E)    100999\n*9914304*\n \nNinety-ninth session\n\n"
WORDS = ("the Assembly calls upon Member States to strengthen cooperation in criminal matters including "
         "extradition mutual legal assistance and the confiscation of proceeds of crime in accordance with "
         "domestic law and recommen- dation of the Working Group").split()


def run_on(n_bytes: int) -> str:
    """Raw PDF text of one block of ``n_bytes`` without a blank line or a paragraph number: lines of 12 words."""
    lines, size, i = [], 0, 0
    while size < n_bytes:
        line = " ".join(WORDS[(i + j) % len(WORDS)] for j in range(12))
        lines.append(line)
        size += len(line) + 1
        i += 7
    return COVER + "\n".join(lines) + "\n"


def _read_seconds(text: str) -> float:
    t0 = time.perf_counter()
    parsed = read_text(text, "A_99_L.1.txt")
    took = time.perf_counter() - t0
    words = sum(len(p.text.split()) for p in parsed.paragraphs)
    assert words > 0.95 * len(text.split()) - 40, "the run-on text was not kept"
    return took


def test_run_on_pdf_text_is_read_in_linear_time():
    """Four times the text takes about four times as long (before: 1 MB in 22 s, 2 MB in 96 s)."""
    small = min(_read_seconds(run_on(250_000)) for _ in range(2))
    large = _read_seconds(run_on(1_000_000))
    assert large < 6.0, large
    assert large / small < 8, (small, large)


def test_line_end_hyphens():
    vocab = {"recommendation", "well-being", "low", "income"}
    assert _block_text(["the recom-", "mendation of"], vocab) == "the recommendation of"
    assert _block_text(["their well-", "being"], vocab) == "their well-being"
    assert _block_text(["low-", "and middle-income"], vocab) == "low- and middle-income"
    assert _block_text(["self-", "help"], vocab) == "self-help"  # not in the vocabulary: the hyphen stays
    assert _block_text(["measures:", "(a) to protect;"], vocab) == "measures:\n(a) to protect;"


# -- out of space ---------------------------------------------------------------------------------------


def _limited(limit_bytes: int):
    def preexec() -> None:  # Python ignores SIGXFSZ: a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    return preexec


def _cli(*args: str, limit_bytes: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "parasearch.cli", *args], capture_output=True, text=True,
                          cwd=REPO, env=env, preexec_fn=_limited(limit_bytes), timeout=600)


def _assert_unchanged(index: Path, before: str, result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "out of space writing the index" in result.stderr and "the current index is unchanged" in result.stderr
    assert "ulimit -f" in result.stderr, result.stderr  # which limit it was
    assert (index / indexfiles.CURRENT).read_text().strip() == before
    assert not list(index.glob("gen-*.tmp"))


def test_out_of_space_during_an_update(mini_index, tmp_path):
    index = tmp_path / "index"
    shutil.copytree(mini_index, index)
    before = (index / indexfiles.CURRENT).read_text().strip()
    result = _cli("remove", "A/RES/79/191", "--index", str(index), limit_bytes=64 * 1024)
    _assert_unchanged(index, before, result)
    ok = subprocess.run([sys.executable, "-m", "parasearch.cli", "remove", "A/RES/79/191", "--index", str(index)],
                        capture_output=True, text=True, cwd=REPO, timeout=600)
    assert ok.returncode == 0, ok.stderr  # with room again, the same change goes through


def test_out_of_space_during_a_full_build(ctoc_index, tmp_path):
    index = tmp_path / "index"
    shutil.copytree(ctoc_index, index)
    before = (index / indexfiles.CURRENT).read_text().strip()
    result = _cli("index", str(REPO / "corpus"), "--index", str(index), "--no-cache", "--quiet",
                  limit_bytes=64 * 1024)
    _assert_unchanged(index, before, result)
    from service.index import LoadedIndex

    loaded = LoadedIndex(index)
    assert loaded.n_paragraphs > 50
    loaded.close()
