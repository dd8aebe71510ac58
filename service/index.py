"""Loading an index directory once: FAISS, BM25, the paragraph store, metadata arrays."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from parasearch import indexfiles
from parasearch.indexfiles import IndexError_
from parasearch.types import citation

__all__ = ["IndexError_", "LoadedIndex", "ParagraphRow"]


@dataclass
class ParagraphRow:
    id: int
    doc_id: int
    ord: int
    para: str
    kind: str
    section: str
    text: str
    n_tokens: int
    symbol: str
    title: str
    date: str | None
    body: str | None
    type: str | None
    language: str

    @property
    def citation(self) -> str:
        return citation(self.symbol, self.para)


_ROW_SQL = """SELECT p.id, p.doc_id, p.ord, p.para, p.kind, p.section, p.text, p.n_tokens,
                     d.symbol, d.title, d.date, d.body, d.type, d.language
              FROM paragraphs p JOIN documents d ON d.id = p.doc_id"""


class LoadedIndex:
    """Everything search needs, in memory, loaded once at start-up."""

    def __init__(self, index_dir: Path, *, faiss_threads: int | None = None) -> None:
        import bm25s
        import faiss

        self.dir = Path(index_dir)
        self.generation = indexfiles.current_generation(self.dir)
        self.manifest = indexfiles.read_manifest(self.dir)
        # 1: every paragraph's BM25 terms were analysed as English; 2: in its document's language.
        self.analysis_version = int(self.manifest.get("analysis", {}).get("version", 1))
        if self.manifest.get("format") != indexfiles.FORMAT_VERSION:
            raise IndexError_(
                f"index at {self.dir} has format {self.manifest.get('format')}, this version reads "
                f"{indexfiles.FORMAT_VERSION}: rebuild it with `parasearch index`"
            )
        if faiss_threads:
            faiss.omp_set_num_threads(faiss_threads)
        self.faiss = faiss.read_index(str(self.generation / indexfiles.VECTORS))
        self.vec2para = np.load(self.generation / indexfiles.VEC2PARA)
        self.bm25 = bm25s.BM25.load(str(self.generation / indexfiles.BM25_DIR), mmap=False)
        self._db = sqlite3.connect(
            f"file:{self.generation / indexfiles.STORE}?mode=ro", uri=True, check_same_thread=False
        )
        self._lock = threading.Lock()
        self._load_metadata()

    # -- metadata arrays used for filtering and collapsing, all vectorised ----------------------
    def _load_metadata(self) -> None:
        docs = self._db.execute(
            "SELECT id, symbol, symbol_key, title, date, body, type, language, n_paragraphs FROM documents "
            "ORDER BY id"
        ).fetchall()
        self.doc_symbol = [d[1] for d in docs]
        self.doc_key = np.array([d[2] for d in docs], dtype=object)
        self.doc_title = [d[3] for d in docs]
        self.doc_date = [d[4] for d in docs]
        self.doc_body = np.array([(d[5] or "").lower() for d in docs], dtype=object)
        self.doc_type = np.array([(d[6] or "").lower() for d in docs], dtype=object)
        self.doc_lang = np.array([(d[7] or "").lower() for d in docs], dtype=object)
        # A date as YYYYMMDD, -1 when unknown; a date known only to the year (or month) spans it: it starts at
        # YYYY0000 and ends at YYYY1299, so a date filter keeps it when the ranges overlap.
        digits = [d[4].replace("-", "")[:8] if d[4] else "" for d in docs]
        self.doc_date_int = np.array([int(x.ljust(8, "0")) if x else -1 for x in digits], dtype=np.int64)
        self.doc_date_end = np.array([int(x.ljust(8, "9")) if x else -1 for x in digits], dtype=np.int64)
        self.doc_n_paragraphs = np.array([d[8] for d in docs], dtype=np.int64)
        self.key_to_docs: dict[str, list[int]] = {}
        for d in docs:
            self.key_to_docs.setdefault(d[2], []).append(d[0])
        rows = self._db.execute("SELECT doc_id, text_key FROM paragraphs ORDER BY id").fetchall()
        self.para_doc = np.array([r[0] for r in rows], dtype=np.int64)
        # Repeated paragraphs: group id per paragraph; members of each group newest first.
        keys = np.array([r[1] for r in rows], dtype=object)
        _, self.para_group = np.unique(keys, return_inverse=True) if len(keys) else (None, np.zeros(0, int))
        self.para_group = self.para_group.astype(np.int64)
        counts = np.bincount(self.para_group) if len(keys) else np.zeros(0, int)
        self.group_members: dict[int, np.ndarray] = {}
        repeated = np.flatnonzero(counts[self.para_group] > 1)
        if len(repeated):
            dates = self.doc_date_int[self.para_doc[repeated]]
            order = np.lexsort((repeated, -dates, self.para_group[repeated]))
            sorted_ids = repeated[order]
            groups = self.para_group[sorted_ids]
            bounds = np.flatnonzero(np.diff(groups)) + 1
            for chunk in np.split(sorted_ids, bounds):
                self.group_members[int(self.para_group[chunk[0]])] = chunk

    @property
    def n_paragraphs(self) -> int:
        return len(self.para_doc)

    @property
    def model(self) -> dict:
        return self.manifest["model"]

    # -- paragraph store -------------------------------------------------------------------------
    def rows(self, ids: list[int]) -> dict[int, ParagraphRow]:
        if not ids:
            return {}
        q = f"{_ROW_SQL} WHERE p.id IN ({','.join('?' * len(ids))})"
        with self._lock:
            return {r[0]: ParagraphRow(*r) for r in self._db.execute(q, [int(i) for i in ids])}

    def document_paragraphs(self, doc_id: int) -> list[ParagraphRow]:
        with self._lock:
            return [ParagraphRow(*r) for r in self._db.execute(f"{_ROW_SQL} WHERE p.doc_id = ? ORDER BY p.ord",
                                                               (doc_id,))]

    def paragraph(self, doc_id: int, para: str) -> ParagraphRow | None:
        with self._lock:
            r = self._db.execute(f"{_ROW_SQL} WHERE p.doc_id = ? AND p.para = ?", (doc_id, para)).fetchone()
        return ParagraphRow(*r) if r else None

    def document(self, doc_id: int) -> dict:
        with self._lock:
            r = self._db.execute(
                "SELECT symbol, title, date, body, type, language, source, n_paragraphs FROM documents WHERE id=?",
                (doc_id,),
            ).fetchone()
        keys = ("symbol", "title", "date", "body", "type", "language", "source", "n_paragraphs")
        return dict(zip(keys, r, strict=True))

    def documents(self) -> list[dict]:
        with self._lock:
            rows = self._db.execute(
                "SELECT symbol, title, date, body, type, language, n_paragraphs FROM documents ORDER BY id"
            ).fetchall()
        keys = ("symbol", "title", "date", "body", "type", "language", "n_paragraphs")
        return [dict(zip(keys, r, strict=True)) for r in rows]
