"""Incremental updates (indexer.update), kept generations, rollback and debris: `parasearch index --add`,
`parasearch remove`, `parasearch rollback`."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from indexer.build import build_index
from indexer.update import UpdateError, update_index
from parasearch import indexfiles
from parasearch.cli import main
from service.index import LoadedIndex
from service.search import SearchEngine
from tests.conftest import REPO, shared_path

SAMPLE = REPO / "corpus"


def _parsed(path):
    from indexer.build import BuildReport, _parse_all

    report = BuildReport(index_dir=path)
    docs = _parse_all([path], report, progress=False)
    assert docs, report.summary()
    return docs


def _top(engine, query, k=5, mode="hybrid"):
    return [h.row.citation for h in engine.search(query, k=k, mode=mode, snippets=False).hits]


def test_add_equals_full_build(tmp_path, encoder):
    """Adding a document to an index gives what a full build of both gives: same rows, BM25 scores, results."""
    extra = shared_path("ga/text/A_RES_79_191.txt")
    inc, full = tmp_path / "inc", tmp_path / "full"
    assert build_index([SAMPLE], inc, encoder=encoder, progress=False, index_type="flat").published
    assert build_index([SAMPLE, extra], full, encoder=encoder, progress=False, index_type="flat").published
    before = indexfiles.current_name(inc)
    report = update_index(inc, add=_parsed(extra), encoders=encoder)
    assert report.published and report.added == ["A/RES/79/191 (en)"] and report.base == before
    a, b = LoadedIndex(inc), LoadedIndex(full)
    assert a.n_paragraphs == b.n_paragraphs and a.doc_symbol == b.doc_symbol
    assert [r.text for r in a.rows(list(range(a.n_paragraphs))).values()] == \
        [r.text for r in b.rows(list(range(b.n_paragraphs))).values()]
    ea, eb = SearchEngine(a, encoder, None), SearchEngine(b, encoder, None)
    for q in ("video recording of child witnesses", "sustainable fisheries bycatch", "witness protection"):
        for mode in ("bm25", "dense", "hybrid"):
            assert _top(ea, q, mode=mode) == _top(eb, q, mode=mode), (q, mode)
    assert "A/RES/79/191" in " ".join(_top(ea, "A/RES/79/191 para 5"))
    # the generation before is kept, and the manifest says what changed
    assert [g.name for g in indexfiles.generations(inc)] == [before, report.generation]
    m = indexfiles.read_manifest(inc)
    assert m["update"]["added"] == ["A/RES/79/191 (en)"] and m["counts"]["paragraphs"] == a.n_paragraphs


def test_replace_and_remove(tmp_path, encoder):
    doc = tmp_path / "docs" / "note.md"
    doc.parent.mkdir()
    doc.write_text("# Note on tests\n\n1. The Committee discussed pelican migration routes.\n\n"
                   "2. The Committee adjourned.\n")
    (doc.parent / "manifest.jsonl").write_text(json.dumps({"file": "note.md", "symbol": "TEST/NOTE/1"}) + "\n")
    idx = tmp_path / "idx"
    assert build_index([SAMPLE, doc.parent], idx, encoder=encoder, progress=False).published
    doc.write_text("# Note on tests\n\n1. The Committee discussed flamingo nesting sites.\n\n"
                   "2. The Committee adjourned.\n")
    report = update_index(idx, add=_parsed(doc.parent), encoders=encoder)
    assert report.replaced == ["TEST/NOTE/1 (en)"] and not report.added
    engine = SearchEngine(LoadedIndex(idx), encoder, None)
    assert _top(engine, "flamingo nesting", k=1) == ["TEST/NOTE/1, para. 1"]
    assert not [c for c in _top(engine, "pelican migration", mode="bm25") if c.startswith("TEST/NOTE/1")]
    report = update_index(idx, remove=[("test/note/1", None)])
    assert report.removed == ["TEST/NOTE/1 (en)"]
    engine = SearchEngine(LoadedIndex(idx), encoder, None)
    assert engine.index.symbol_versions.get("test/note/1") is None
    assert not [c for c in _top(engine, "flamingo nesting", k=20, mode="dense") if c.startswith("TEST/NOTE/1")]
    with pytest.raises(UpdateError, match="no document 'TEST/NOTE/1'"):
        update_index(idx, remove=[("TEST/NOTE/1", None)])


def test_hnsw_tombstones_never_returned(tmp_path, encoder, monkeypatch):
    """Removing from an HNSW arm keeps the vectors as tombstones; dense search never returns them. Past the
    dead share (lowered here) the arm is rebuilt from its live vectors."""
    import indexer.update

    monkeypatch.setattr(indexer.update, "HNSW_REBUILD_DEAD_SHARE", 0.99)
    extra = shared_path("ga/text/A_RES_79_191.txt")
    idx = tmp_path / "idx"
    assert build_index([SAMPLE, extra], idx, encoder=encoder, progress=False, index_type="hnsw").published
    update_index(idx, remove=[("A/RES/79/191", "en")])
    ix = LoadedIndex(idx)
    assert all(live is not None for live in ix.arm_live)  # the vectors are still there, marked dead
    assert ix.doc_symbol == ["CTOC/COP/WG.2/2013/5"]
    engine = SearchEngine(ix, encoder, None)
    hits = engine.search("oceans fisheries marine biodiversity", k=50, mode="dense", snippets=False).hits
    assert hits and all(h.row.symbol == "CTOC/COP/WG.2/2013/5" for h in hits)
    m = indexfiles.read_manifest(idx)
    assert all(d > 0 for d in m["counts"]["dead_vectors_per_model"])
    monkeypatch.setattr(indexer.update, "HNSW_REBUILD_DEAD_SHARE", 0.0)
    update_index(idx, add=_parsed(extra), encoders=encoder)
    ix = LoadedIndex(idx)
    assert all(live is None for live in ix.arm_live)  # rebuilt: no tombstones left
    assert indexfiles.read_manifest(idx)["counts"]["dead_vectors_per_model"] == [0, 0]
    assert "A/RES/79/191" in SearchEngine(ix, encoder, None).search(
        "oceans fisheries marine biodiversity", k=5, mode="dense", snippets=False).hits[0].row.symbol


def test_index_without_stored_terms_updates(tmp_path, encoder):
    """An index written before terms.npz existed is analysed once and updated."""
    idx = tmp_path / "idx"
    assert build_index([SAMPLE], idx, encoder=encoder, progress=False).published
    (indexfiles.current_generation(idx) / indexfiles.TERMS).unlink()
    before = SearchEngine(LoadedIndex(idx), encoder, None)
    expected = _top(before, "video recording of child witnesses", mode="bm25")
    update_index(idx, add=_parsed(shared_path("hr/A_65_162.txt")), encoders=encoder)
    after = SearchEngine(LoadedIndex(idx), encoder, None)
    assert (indexfiles.current_generation(idx) / indexfiles.TERMS).is_file()
    assert [c for c in _top(after, "video recording of child witnesses", k=10, mode="bm25")
            if c.startswith("CTOC")][:3] == expected[:3]


def test_cli_add_remove_rollback_and_debris(tmp_path, capsys, encoder):
    idx = tmp_path / "idx"
    assert build_index([SAMPLE], idx, encoder=encoder, progress=False).published
    first = indexfiles.current_name(idx)
    debris = idx / "gen-20200101T000000-1-deadbeef.tmp"  # what a writer killed with -9 leaves
    debris.mkdir()
    (debris / "vectors.faiss").write_bytes(b"half")
    extra = shared_path("hr/A_65_162.txt")
    assert main(["index", str(extra), "--index", str(idx), "--add", "--quiet"]) == 0
    assert not debris.exists()
    second = indexfiles.current_name(idx)
    assert second != first and "A/65/162" in capsys.readouterr().err
    assert main(["remove", "A/65/162", "--index", str(idx)]) == 0
    third = indexfiles.current_name(idx)
    assert LoadedIndex(idx).doc_symbol == ["CTOC/COP/WG.2/2013/5"]
    assert main(["remove", "NO/SUCH/1", "--index", str(idx)]) == 2
    assert "no document 'NO/SUCH/1'" in capsys.readouterr().err
    assert indexfiles.current_name(idx) == third
    assert main(["rollback", "--index", str(idx)]) == 0
    assert indexfiles.current_name(idx) == second
    assert "A/65/162" in LoadedIndex(idx).doc_symbol
    assert main(["generations", "--index", str(idx)]) == 0
    out = capsys.readouterr().out
    assert first in out and second in out and third in out


def test_keeps_the_newest_generations(tmp_path, encoder, monkeypatch):
    monkeypatch.setenv("PARASEARCH_KEEP_GENERATIONS", "2")
    idx = tmp_path / "idx"
    for _ in range(3):
        assert build_index([SAMPLE], idx, encoder=encoder, progress=False).published
    gens = indexfiles.generations(idx)
    assert len(gens) == 2 and gens[-1].current
    (idx / "keys.json").write_text("{}")  # state beside the generations is never touched
    assert build_index([SAMPLE], idx, encoder=encoder, progress=False).published
    assert (idx / "keys.json").exists()


def test_vectors_match_after_compaction(tmp_path, encoder):
    """A flat arm is compacted at once: the remaining vectors are exactly those of a full build."""
    extra = shared_path("hr/A_65_162.txt")
    a, b = tmp_path / "a", tmp_path / "b"
    assert build_index([SAMPLE, extra], a, encoder=encoder, progress=False, index_type="flat").published
    assert build_index([SAMPLE], b, encoder=encoder, progress=False, index_type="flat").published
    update_index(a, remove=[("A/65/162", None)])
    ia, ib = LoadedIndex(a), LoadedIndex(b)
    for (fa, ma), (fb, mb) in zip(ia.arms, ib.arms, strict=True):
        assert fa.ntotal == fb.ntotal and np.array_equal(ma, mb)
        np.testing.assert_allclose(fa.reconstruct_n(0, fa.ntotal), fb.reconstruct_n(0, fb.ntotal), atol=1e-6)
    assert os.listdir(a) and all(not n.endswith(".tmp") for n in os.listdir(a))


def test_bm25_matrix_equals_bm25s():
    """The vectorised BM25 matrix is bm25s's own (its default BM25 variant), on real paragraphs and an empty one."""
    import bm25s
    from bm25s.tokenization import Tokenized

    from indexer.build import BM25_PARAMS, bm25_matrix, encode_terms
    from parasearch.analysis import terms

    texts = [t for t in (SAMPLE / "CTOC_COP_WG.2_2013_5.md").read_text().split("\n\n") if t.strip()]
    ids, offsets, vocab = encode_terms([terms(t, "en") for t in texts] + [[]] + [terms(texts[3], "en")])
    docs = [a.tolist() for a in np.split(ids, offsets[1:-1])]
    ref = bm25s.BM25(**BM25_PARAMS)
    ref.index(Tokenized(ids=docs, vocab={w: i for i, w in enumerate(vocab)}), show_progress=False)
    ours = bm25_matrix(ids, offsets, len(vocab), **BM25_PARAMS)
    assert ours["num_docs"] == ref.scores["num_docs"]
    np.testing.assert_array_equal(ours["indptr"], ref.scores["indptr"])
    np.testing.assert_array_equal(ours["indices"], ref.scores["indices"])
    np.testing.assert_allclose(ours["data"], ref.scores["data"], rtol=1e-6)
