"""Context at index time (indexer/context.py): paragraphs embedded after their document's title and section
heading, recorded in the manifest and kept by incremental updates; the stored text, BM25 and citations unchanged."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from indexer.context import CONTEXTS, DEFAULT_CONTEXT, embedding_text
from parasearch import indexfiles
from tests.conftest import REPO, shared_path

TITLE = "Report on the meeting of the Working Group of Government Experts on Technical Assistance"


def test_the_text_embedded_under_each_context():
    assert embedding_text(TITLE, "III. Organization > A. Opening", "The meeting was chaired by X.", "none") == \
        "The meeting was chaired by X."
    assert embedding_text(TITLE, "III. Organization > A. Opening", "The meeting was chaired by X.", "title") == \
        f"{TITLE}\nThe meeting was chaired by X."
    assert embedding_text(TITLE, "III. Organization > A. Opening", "The meeting was chaired by X.",
                          "title+section") == f"{TITLE}\nIII. Organization: A. Opening\nThe meeting was chaired by X."
    # nothing to add: the text alone; a long title is cut to 24 words
    assert embedding_text("", "", "Decides to remain seized.", "title+section") == "Decides to remain seized."
    long = embedding_text(" ".join(f"w{i}" for i in range(40)), "", "Text.", "title")
    assert long.split("\n")[0] == " ".join(f"w{i}" for i in range(24)) + " …"
    with pytest.raises(ValueError, match="title\\+section"):
        embedding_text(TITLE, "", "Text.", "everything")
    assert CONTEXTS == ("none", "title", "title+section")


def _cosines(index_dir, encoder, symbol: str, para: str, context: str) -> tuple[list[float], str, str]:
    """Per dense arm, the cosine of paragraph ``para`` of ``symbol`` to its text embedded under ``context``; and
    the stored text and the text so embedded."""
    from service.index import LoadedIndex

    ix = LoadedIndex(index_dir)
    try:
        doc = ix.doc_symbol.index(symbol)
        pids = np.flatnonzero(ix.para_doc == doc)
        rows = ix.rows(pids.tolist())
        pid = next(p for p in pids.tolist() if rows[p].para == para)
        row = rows[pid]
        text = embedding_text(ix.doc_title[doc], row.section, row.text, context)
        cos = [float(ix.paragraph_cosines(arm, np.array([pid]), enc.encode([text])[0])[0])
               for arm, enc in enumerate(encoder)]
        return cos, row.text, text
    finally:
        ix.close()


def test_a_context_build_embeds_title_and_heading_and_an_update_keeps_it(tmp_path, encoder, ctoc_index):
    from indexer.build import build_index
    from indexer.update import add_paths

    assert DEFAULT_CONTEXT == "title+section"
    assert indexfiles.read_manifest(ctoc_index)["embedding_context"] == DEFAULT_CONTEXT  # built by default
    idx, plain, cache = tmp_path / "idx", tmp_path / "plain", tmp_path / "cache.sqlite"
    assert build_index([REPO / "corpus"], idx, encoder=encoder, progress=False, cache_path=cache).published
    assert build_index([REPO / "corpus"], plain, encoder=encoder, progress=False, cache_path=cache,
                       context="none").published
    assert indexfiles.read_manifest(idx)["embedding_context"] == "title+section"
    assert indexfiles.read_manifest(plain)["embedding_context"] == "none"
    symbol = "CTOC/COP/WG.2/2013/5"
    ctx_cos, stored, embedded = _cosines(idx, encoder, symbol, "38", "title+section")
    assert stored.startswith("The meeting was chaired by Cristian Istrate (Romania).")  # the paragraph's own text
    assert embedded.endswith(stored) and embedded.startswith("Report on the meeting of the Working Group")
    assert all(c > 0.995 for c in ctx_cos), ctx_cos  # its vector is the contextualised text's
    plain_cos, _, _ = _cosines(plain, encoder, symbol, "38", "title+section")
    assert all(c < 0.99 for c in plain_cos), plain_cos  # which a plain index's is not
    assert all(c > 0.995 for c in _cosines(plain, encoder, symbol, "38", "none")[0])

    # an update embeds what it adds with the index's context
    extra = tmp_path / "extra"
    extra.mkdir()
    shutil.copy(shared_path("sc/en/S_RES_2672_E.xml"), extra)
    update = add_paths([extra], idx, cache_path=cache)
    assert update.added and indexfiles.read_manifest(idx)["embedding_context"] == "title+section"
    cos, stored, embedded = _cosines(idx, encoder, "S/RES/2672 (2023)", "1", "title+section")
    assert embedded != stored and all(c > 0.995 for c in cos), cos
