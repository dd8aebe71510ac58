"""Stand-ins for what the service gets from a model and a built index, made of a few inline paragraphs.

* :class:`BagOfWords`: an encoder (the ``indexer`` Encoder protocol) that hashes a text's analysed terms into a
  vector: texts that share terms are close, as with a model, but nothing is loaded.
* :func:`tiny_index`: a :class:`service.index.LoadedIndex` held in memory (an SQLite store in memory, BM25 built by
  bm25s, one exact FAISS arm of :class:`BagOfWords` vectors); its metadata arrays (filters, repeated paragraphs,
  language versions) are computed by the index's own loader, from the same tables a build writes.
* :func:`row` and :func:`hit`: a paragraph row and a search hit, for functions that take them.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from parasearch import indexfiles
from parasearch.analysis import ANALYSIS_VERSION, terms
from parasearch.types import ANNEX, NUMBERED, PREAMBLE, UNNUMBERED, normalize_symbol, normalize_text


class BagOfWords:
    """Hashed bag of analysed terms (stemmed, stop words dropped), L2-normalised."""

    name = "bag-of-words"
    backend = "hash"
    identity = "bag-of-words@0001"
    dim = 512
    max_tokens = 100_000
    query_prompt = ""
    passage_prompt = ""

    def encode(self, texts: list[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for t in terms(text):
                out[i, zlib.crc32(t.encode()) % self.dim] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)

    def encode_queries(self, texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        return self.encode(texts, batch_size=batch_size)

    def token_lengths(self, texts: list[str]) -> list[int]:
        return [len(t.split()) for t in texts]

    def windows(self, text: str) -> list[str]:
        return [text]

    def windows_many(self, texts: list[str]) -> list[list[str]]:
        return [[t] for t in texts]


@dataclass
class Doc:
    """A document of the synthetic index: its symbol, its paragraphs as (locator, text), its metadata."""

    symbol: str
    paragraphs: list[tuple[str, str]]
    language: str = "en"
    date: str | None = None
    body: str | None = "General Assembly"
    type: str | None = "resolution"
    title: str = ""
    sections: dict[str, str] = field(default_factory=dict)  # locator -> section heading


def kind_of(para: str) -> str:
    if para.startswith("preamble-"):
        return PREAMBLE
    if para.startswith("annex-"):
        return ANNEX
    if para.startswith("u-"):
        return UNNUMBERED
    return NUMBERED


def tiny_index(docs: list[Doc], encoder: BagOfWords | None = None):
    """A LoadedIndex of ``docs`` (document ids in list order, paragraph ids in reading order), without files."""
    import bm25s
    import faiss

    from service.index import LoadedIndex

    encoder = encoder or BagOfWords()
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.executescript(indexfiles.SCHEMA)
    texts: list[str] = []
    langs: list[str] = []
    pid = 0
    for doc_id, d in enumerate(docs):
        db.execute("INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                   (doc_id, d.symbol, normalize_symbol(d.symbol), d.title or d.symbol, d.date, d.body, d.type,
                    d.language, f"{d.symbol}.txt", "0" * 64, len(d.paragraphs)))
        for order, (para, text) in enumerate(d.paragraphs):
            key = hashlib.blake2b(normalize_text(text).encode(), digest_size=12).hexdigest()
            db.execute("INSERT INTO paragraphs VALUES (?,?,?,?,?,?,?,?,?,?)",
                       (pid, doc_id, order, para, kind_of(para), d.sections.get(para, ""), text,
                        len(text.split()), 1, key))
            texts.append(text)
            langs.append(d.language)
            pid += 1

    ix = LoadedIndex.__new__(LoadedIndex)
    ix.dir = Path("synthetic-index")
    ix.generation = ix.dir
    ix.analysis_version = ANALYSIS_VERSION
    built = {"name": encoder.name, "identity": encoder.identity, "dim": encoder.dim}
    ix.manifest = {"format": indexfiles.FORMAT_VERSION, "analysis": {"version": ANALYSIS_VERSION},
                   "model": built, "models": [built]}
    ix.models = [built]
    vectors = faiss.IndexFlatIP(encoder.dim)
    vectors.add(encoder.encode(texts))
    ix.arms = [(vectors, np.arange(len(texts), dtype=np.int64))]
    ix.faiss, ix.vec2para = ix.arms[0]
    ix.arm_live, ix.arm_live_bits = [None], [None]
    ix._para_vectors = [None]
    bm25 = bm25s.BM25(k1=0.9, b=0.4)  # indexer.build.BM25_PARAMS
    bm25.index([terms(t, lang) or ["_"] for t, lang in zip(texts, langs, strict=True)], show_progress=False)
    ix.bm25 = bm25
    ix._db = db
    ix._lock = threading.Lock()
    ix._load_metadata()
    return ix


def tiny_engine(docs: list[Doc], reranker=None):
    """A SearchEngine over :func:`tiny_index` with the :class:`BagOfWords` encoder."""
    from service.search import SearchEngine

    encoder = BagOfWords()
    return SearchEngine(tiny_index(docs, encoder), encoder, reranker)


def row(symbol: str = "A/RES/79/1", para: str = "1", text: str = "Decides to remain seized of the matter.", *,
        id: int = 0, doc_id: int = 0, language: str = "en", date: str | None = "2024-12-17",
        body: str | None = "General Assembly", type: str | None = "resolution", section: str = ""):
    from service.index import ParagraphRow

    return ParagraphRow(id=id, doc_id=doc_id, ord=0, para=para, kind=kind_of(para), section=section, text=text,
                        n_tokens=len(text.split()), symbol=symbol, title=symbol, date=date, body=body, type=type,
                        language=language)


def hit(r, rank: int = 1, score: float = 1.0, *, scores: dict | None = None, versions: list[str] | None = None):
    from service.search import Hit

    return Hit(row=r, rank=rank, score=score, scores=scores or {}, versions=versions or [], pid=r.id)


# A small collection: General Assembly and Security Council resolutions (one in English and French), a report,
# a year-only date and an undated document; "Decides to remain seized of the matter." is repeated in four.
# Paragraph ids, in this order: A/RES/78/10 0-2, A/RES/79/10 3-4, S/RES/2700 en 5-7 and fr 8-10, CTOC 11-12,
# A/HRC/40/59 13, CND 14.
SEIZED = "Decides to remain seized of the matter."
SAMPLE = [
    Doc("A/RES/78/10", [("preamble-1", "Recalling its earlier resolutions on international drug control,"),
                        ("1", "Requests the Secretary-General to report on synthetic drugs and their trafficking."),
                        ("2", SEIZED)], date="2023-12-19"),
    Doc("A/RES/79/10", [("1", "Calls upon Member States to prevent the trafficking of synthetic drugs across borders."),
                        ("2", SEIZED)], date="2024-12-17"),
    Doc("S/RES/2700 (2023)", [("1", "Decides to extend the mandate of the Panel of Experts on Libya until 15 May "
                                    "2025."),
                              ("2", "Requests the Panel of Experts to provide a final report to the Council."),
                              ("3", SEIZED)], date="2023-10-01", body="Security Council"),
    Doc("S/RES/2700 (2023)", [("1", "Décide de proroger le mandat du Groupe d'experts sur la Libye jusqu'au 15 mai "
                                    "2025."),
                              ("2", "Prie le Groupe d'experts de présenter un rapport final au Conseil."),
                              ("3", "Décide de demeurer saisi de la question.")],
        date="2023-10-01", body="Security Council", language="fr"),
    Doc("CTOC/COP/WG.2/2013/5",
        [("1", "The Working Group on Technical Assistance met in Vienna on 7 and 8 October 2013."),
         ("2", "States should provide technical assistance to counter the smuggling of migrants.")],
        date="2013-11-19", body="Conference of the Parties", type="report",
        title="Report on the meeting of the Working Group on Technical Assistance"),
    Doc("A/HRC/40/59", [("1", "The Special Rapporteur on the right to education visited schools in rural areas.")],
        date="2019", body="Human Rights Council", type="report"),
    Doc("UNODC/CND/2099/1", [("1", SEIZED)], date=None, body="Commission on Narcotic Drugs", type="decision"),
]
