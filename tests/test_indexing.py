"""Indexing: bad input is named and skipped, nothing good is lost, a failed build leaves the old index."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from parasearch import indexfiles
from tests.conftest import REPO, shared_path

CTOC_MD = REPO / "corpus" / "CTOC_COP_WG.2_2013_5.md"


def _bad_corpus(root):
    root.mkdir()
    shutil.copy(CTOC_MD, root / "CTOC_COP_WG.2_2013_5.md")
    shutil.copy(CTOC_MD, root / "copy-of-the-report.md")  # the same document twice
    (root / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<>> garbage without xref")
    (root / "empty.txt").write_bytes(b"")
    (root / "binary.txt").write_bytes(bytes(range(256)) * 20)
    (root / "not-akn.xml").write_text("<?xml version='1.0'?><html><body><p>1. Hello</p></body></html>")
    (root / "malformed.xml").write_text("<akomaNtoso><unclosed></akomaNtoso>")
    (root / "manifest.jsonl").write_text(
        json.dumps({"file": "CTOC_COP_WG.2_2013_5.md", "symbol": "CTOC/COP/WG.2/2013/5", "date": "2013-11-19",
                    "language": "en"}) + "\n"
        + json.dumps({"file": "missing.md", "symbol": "X/1"}) + "\n"
    )
    return root


def test_bad_files_are_named_and_the_rest_indexed(tmp_path, encoder):
    from indexer.build import build_index

    corpus = _bad_corpus(tmp_path / "corpus")
    shutil.copy(shared_path("sc/en/S_RES_2672_E.xml"), corpus)
    shutil.copy(shared_path("sc/fr/S_RES_2672_F.xml"), corpus)  # same symbol, other language: not a duplicate
    report = build_index([corpus], tmp_path / "idx", encoder=encoder, progress=False)
    assert report.published and report.documents == 3
    reasons = {p.path.rsplit("/", 1)[-1]: p.reason for p in report.problems}
    assert "duplicate" in reasons["copy-of-the-report.md"]
    assert "PDF" in reasons["broken.pdf"]
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "not an Akoma Ntoso" in reasons["not-akn.xml"]
    assert "malformed XML" in reasons["malformed.xml"]
    assert "missing" in reasons["missing.md"]
    summary = report.summary()
    for name in ("broken.pdf", "empty.txt", "binary.txt", "not-akn.xml", "missing.md", "copy-of-the-report.md"):
        assert name in summary
    manifest = indexfiles.read_manifest(tmp_path / "idx")
    assert manifest["counts"]["documents"] == 3 and len(manifest["files"]) == 3
    assert manifest["model"]["name"] == "multilingual-e5-small" and manifest["model"]["dim"] == 384
    assert [m["name"] for m in manifest["models"]] == ["multilingual-e5-small", "all-MiniLM-L6-v2"]
    assert manifest["counts"]["vectors_per_model"][1] >= manifest["counts"]["paragraphs"]
    assert all(len(h) == 64 for h in manifest["files"].values())


def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "parasearch.cli", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=600, **kw)


def test_cli_exit_status_and_old_index_kept(tmp_path, ctoc_index):
    idx = tmp_path / "idx"
    shutil.copytree(ctoc_index, idx)
    before = (idx / indexfiles.CURRENT).read_text()
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    (nothing / "empty.md").write_text("")
    r = _cli("index", str(nothing), "--index", str(idx), "--quiet")
    assert r.returncode != 0
    assert "empty.md: empty file" in r.stderr and "previous index" in r.stderr
    assert (idx / indexfiles.CURRENT).read_text() == before
    r = _cli("search", "video recording of child witnesses", "--index", str(idx), "-k", "2")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].split("   ")[0].endswith(("CTOC/COP/WG.2/2013/5, para. 9",
                                                               "CTOC/COP/WG.2/2013/5, para. 58"))


def test_failed_build_never_replaces_a_good_index(tmp_path, ctoc_index, encoder):
    from indexer import build

    idx = tmp_path / "idx"
    shutil.copytree(ctoc_index, idx)
    before = (idx / indexfiles.CURRENT).read_text()

    first = encoder[0]  # one arm is enough to crash the build

    class Exploding:
        def __getattr__(self, name):
            return getattr(first, name)

        def encode(self, *a, **kw):
            raise MemoryError("simulated crash while embedding")

    with pytest.raises(MemoryError):
        build.build_index([CTOC_MD], idx, encoder=Exploding(), use_cache=False, progress=False)

    class FailingWrite(Exploding):
        def encode(self, *a, **kw):
            return first.encode(*a, **kw)

    orig = build._build_bm25
    build._build_bm25 = lambda *a: (_ for _ in ()).throw(OSError("disk full"))
    try:
        with pytest.raises(OSError):
            build.build_index([CTOC_MD], idx, encoder=FailingWrite(), progress=False)
    finally:
        build._build_bm25 = orig
    assert (idx / indexfiles.CURRENT).read_text() == before
    assert not list(idx.glob("*.tmp")), "a half-written generation is cleaned up"
    from service.index import LoadedIndex

    assert LoadedIndex(idx).n_paragraphs >= 90


def test_rebuild_uses_the_embedding_cache(tmp_path, encoder):
    from indexer.build import build_index

    first = build_index([CTOC_MD], tmp_path / "idx", encoder=encoder, cache_path=tmp_path / "c.sqlite",
                        progress=False)
    again = build_index([CTOC_MD], tmp_path / "idx", encoder=encoder, cache_path=tmp_path / "c.sqlite",
                        progress=False)
    assert first.embedded_now == first.vectors > 0
    assert again.embedded_now == 0 and again.vectors == first.vectors
    # An edited paragraph is read and embedded again; nothing else is.
    edited = tmp_path / "CTOC_COP_WG.2_2013_5.md"
    edited.write_text(CTOC_MD.read_text(encoding="utf-8").replace(
        "9. States should consider setting up special facilities", "9. States should set up special facilities"),
        encoding="utf-8")
    (tmp_path / "manifest.jsonl").write_text(json.dumps({"file": edited.name, "symbol": "CTOC/COP/WG.2/2013/5"}))
    third = build_index([edited], tmp_path / "idx", encoder=encoder, cache_path=tmp_path / "c.sqlite",
                        progress=False)
    assert third.embedded_now == len(encoder)  # once per model (dense arm)
    from service.index import LoadedIndex

    row = LoadedIndex(tmp_path / "idx").paragraph(0, "9")
    assert row.text.startswith("States should set up special facilities")


def test_long_paragraph_is_embedded_in_windows_and_returned_once(tmp_path, encoder):
    from indexer.build import build_index
    from service.index import LoadedIndex
    from service.search import SearchEngine

    folder = tmp_path / "docs"
    folder.mkdir()
    filler = " ".join(f"The Committee considered item {i} of its agenda on budgetary matters." for i in range(60))
    (folder / "LONG_1.md").write_text(
        f"1. {filler} Finally, the delegates discussed the protection of coral reefs in the Pacific.\n\n"
        "2. The budget for staff travel was approved.\n", encoding="utf-8")
    (folder / "manifest.jsonl").write_text('{"file": "LONG_1.md", "symbol": "LONG/1"}\n')
    report = build_index([folder], tmp_path / "idx", encoder=encoder, progress=False)
    assert report.paragraphs == 2 and report.vectors > 3  # paragraph 1 needs several windows
    engine = SearchEngine(LoadedIndex(tmp_path / "idx"), encoder)
    hits = engine.search("delegates discussed the protection of coral reefs in the Pacific", k=5, mode="dense").hits
    assert [h.row.para for h in hits] == ["1", "2"]  # each paragraph once, the one with the reefs first
    assert hits[0].row.n_tokens > 256


def test_opening_an_index_with_another_model_is_a_clear_error(tmp_path, ctoc_index, encoder):
    from parasearch.errors import IndexIncompatible
    from service.index import LoadedIndex
    from service.search import SearchEngine

    idx = tmp_path / "idx"
    shutil.copytree(ctoc_index, idx)
    manifest_path = indexfiles.current_generation(idx) / indexfiles.MANIFEST
    manifest = json.loads(manifest_path.read_text())
    for model in (manifest["model"], manifest["models"][0]):
        model.update(name="bge-small-en-v1.5", identity="bge-small-en-v1.5@0123456789abcdef")
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexIncompatible, match="built with model bge-small-en-v1.5"):
        SearchEngine(LoadedIndex(idx), encoder)


def test_serve_without_an_index_says_so(tmp_path):
    r = _cli("serve", "--index", str(tmp_path / "none"), "--port", "1")
    assert r.returncode == 2
    assert "no index at" in r.stderr and "parasearch index" in r.stderr and "Traceback" not in r.stderr
