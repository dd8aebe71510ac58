"""Loading an index directory once: FAISS, BM25, the paragraph store, metadata arrays."""

from __future__ import annotations

import bisect
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from parasearch import indexfiles
from parasearch.errors import IndexIncompatible, NotFound
from parasearch.types import ModelRecord, citation, language_order, normalize_symbol

__all__ = ["LoadedIndex", "ParagraphRow"]


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
            raise IndexIncompatible(
                f"index at {self.dir} has format {self.manifest.get('format')}, this version reads "
                f"{indexfiles.FORMAT_VERSION}: rebuild it with `parasearch index`"
            )
        if faiss_threads:
            faiss.omp_set_num_threads(faiss_threads)
        # One dense arm per model the index was built with: (FAISS index, paragraph of each vector).
        self.models: list[ModelRecord] = self.manifest.get("models") or [self.manifest["model"]]
        self.arms = []
        for arm in range(len(self.models)):
            vec_file, map_file = indexfiles.arm_files(arm)
            self.arms.append((faiss.read_index(str(self.generation / vec_file)), np.load(self.generation / map_file)))
        self.faiss, self.vec2para = self.arms[0]
        # Vectors of paragraphs removed by an incremental update (indexer.update) stay in an HNSW arm as
        # tombstones, mapped to paragraph -1: per arm, which vectors are live (None: all), and as a FAISS bitmap.
        self.arm_live: list[np.ndarray | None] = []
        self.arm_live_bits: list[np.ndarray | None] = []
        for _, v2p in self.arms:
            dead = v2p < 0
            live = ~dead if dead.any() else None
            self.arm_live.append(live)
            self.arm_live_bits.append(None if live is None else np.packbits(live, bitorder="little"))
        self.bm25 = bm25s.BM25.load(str(self.generation / indexfiles.BM25_DIR), mmap=False)
        self._db = sqlite3.connect(
            f"file:{self.generation / indexfiles.STORE}?mode=ro", uri=True, check_same_thread=False
        )
        self._lock = threading.Lock()
        self._para_vectors: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(self.arms)
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
        # Language versions: the same symbol indexed in several languages. Per document, the languages its
        # symbol is indexed in (UN order), and per symbol key, the document of each language.
        self.symbol_versions: dict[str, dict[str, int]] = {
            key: dict(sorted(((str(self.doc_lang[i]), i) for i in ids), key=lambda x: language_order(x[0])))
            for key, ids in self.key_to_docs.items()}
        self.doc_languages: list[tuple[str, ...]] = [tuple(self.symbol_versions[d[2]]) for d in docs]
        self._load_symbol_keys()
        rows = self._db.execute("SELECT doc_id, para, text_key FROM paragraphs ORDER BY id").fetchall()
        self.para_doc = np.array([r[0] for r in rows], dtype=np.int64)
        self._load_versions([r[1] for r in rows])
        # Repeated paragraphs: group id per paragraph; members of each group newest first.
        keys = np.array([r[2] for r in rows], dtype=object)
        groups = np.unique(keys, return_inverse=True)[1] if len(keys) else np.zeros(0, int)
        self.para_group: np.ndarray = groups.astype(np.int64)
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

    def _load_symbol_keys(self) -> None:
        """For symbol autocompletion: each symbol key once, sorted (a prefix is a range found by bisection), with
        the document that stands for it (the English version, else the first in the UN's order) and its date."""
        keys = sorted(self.symbol_versions)
        self._symbol_keys = keys
        self._symbol_key_array = np.array(keys, dtype=str) if keys else np.zeros(0, dtype="<U1")
        lead = [self.symbol_versions[k].get("en", next(iter(self.symbol_versions[k].values()))) for k in keys]
        self._symbol_key_doc = np.array(lead, dtype=np.int64)

    def suggest_symbols(self, text: str, limit: int = 8) -> list[int]:
        """Documents (one per symbol: see :meth:`_load_symbol_keys`) whose symbol completes ``text``, compared as
        :func:`normalize_symbol` compares symbols: first those whose symbol starts with it, then those where it
        starts a part after a ``/`` (``79/191`` finds ``A/RES/79/191``); newest first within each. Empty for
        text that folds to nothing."""
        key = normalize_symbol(text)
        if not key or limit <= 0:
            return []
        lo = bisect.bisect_left(self._symbol_keys, key)
        hi = bisect.bisect_left(self._symbol_keys, key + "\U0010ffff")
        starts = np.arange(lo, hi, dtype=np.int64)
        inner = np.flatnonzero(np.char.find(self._symbol_key_array, "/" + key) >= 0)
        inner = inner[(inner < lo) | (inner >= hi)]
        out: list[int] = []
        for group in (starts, inner):
            docs = self._symbol_key_doc[group]
            docs = docs[np.lexsort((docs, -self.doc_date_int[docs]))]  # newest first, then in index order
            out.extend(int(d) for d in docs[: limit - len(out)])
            if len(out) >= limit:
                break
        return out

    def _load_versions(self, paras: list[str]) -> None:
        """The language versions of each paragraph: the paragraphs with the same symbol and locator in the other
        languages of a document indexed in several. ``para_version[pid]``: its version group, -1 for a paragraph
        of a document indexed in one language (or with no counterpart); the members of group ``g`` are
        ``version_ids[version_start[g]:version_start[g + 1]]``, in paragraph-id order."""
        n = len(paras)
        self.para_version = np.full(n, -1, dtype=np.int64)
        self.version_ids = np.zeros(0, dtype=np.int64)
        self.version_start = np.zeros(1, dtype=np.int64)
        multi = np.array([len(langs) > 1 for langs in self.doc_languages], dtype=bool)
        if not n or not multi.any():
            return
        _, sym = np.unique(self.doc_key, return_inverse=True)  # one integer per symbol key
        cand = np.flatnonzero(multi[self.para_doc])
        keys = np.array([f"{sym[self.para_doc[i]]}\t{paras[i]}" for i in cand.tolist()], dtype=object)
        _, group = np.unique(keys, return_inverse=True)
        counts = np.bincount(group)
        keep = counts[group] > 1  # a locator only one version has is no version group
        cand, group = cand[keep], group[keep]
        if not len(cand):
            return
        _, group = np.unique(group, return_inverse=True)  # renumber 0..G-1
        order = np.lexsort((cand, group))
        self.version_ids = cand[order]
        self.para_version[cand] = group
        self.version_start = np.concatenate([[0], np.cumsum(np.bincount(group))]).astype(np.int64)

    def versions_of(self, pid: int) -> np.ndarray:
        """The paragraph ids of every language version of paragraph ``pid`` (itself included)."""
        g = int(self.para_version[pid])
        if g < 0:
            return np.array([pid], dtype=np.int64)
        return self.version_ids[self.version_start[g]:self.version_start[g + 1]]

    def version_in(self, pid: int, language: str) -> int | None:
        """The paragraph id of paragraph ``pid``'s version in ``language``, when that version is indexed."""
        for v in self.versions_of(pid).tolist():
            if self.doc_lang[self.para_doc[v]] == language:
                return int(v)
        return None

    def paragraph_cosines(self, arm: int, ids: np.ndarray, qvec: np.ndarray) -> np.ndarray:
        """Each paragraph's cosine similarity to ``qvec`` in dense arm ``arm``: its best window's (the vectors are
        normalised, so this is the inner product). NaN for a paragraph with no vector."""
        index, vec2para = self.arms[arm]
        if self._para_vectors[arm] is None:  # built once per arm: the vector ids of each paragraph, in runs
            order = np.argsort(vec2para, kind="stable")
            starts = np.searchsorted(vec2para[order], np.arange(self.n_paragraphs + 1))
            self._para_vectors[arm] = (order.astype(np.int64), starts)
        runs = self._para_vectors[arm]
        assert runs is not None
        order, starts = runs
        ids = np.asarray(ids, dtype=np.int64)
        lo, hi = starts[ids], starts[ids + 1]
        counts = hi - lo
        out = np.full(len(ids), np.nan)
        if counts.sum() == 0:
            return out
        owner = np.repeat(np.arange(len(ids)), counts)
        within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        vids = order[np.repeat(lo, counts) + within]
        sims = index.reconstruct_batch(vids) @ np.asarray(qvec, dtype=np.float32)
        best = np.full(len(ids), -np.inf)
        np.maximum.at(best, owner, sims)
        out[counts > 0] = best[counts > 0]
        return out

    def close(self) -> None:
        """Close the paragraph store (the server calls this once no request uses this generation)."""
        with self._lock:
            self._db.close()

    @property
    def n_paragraphs(self) -> int:
        return len(self.para_doc)

    @property
    def model(self) -> ModelRecord:
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

    def document_id(self, symbol: str, language: str | None = None) -> int:
        """The document with ``symbol`` (any spelling :func:`~parasearch.types.normalize_symbol` folds), in
        ``language`` when given, else its English version, else its first; :class:`NotFound` says which
        versions there are when the one asked for is not indexed."""
        versions = self.symbol_versions.get(normalize_symbol(symbol))
        if not versions:
            raise NotFound(f"no document with symbol {symbol[:80]!r} in the index")
        if not language:
            return versions["en"] if "en" in versions else next(iter(versions.values()))
        doc_id = versions.get(language.strip().lower())
        if doc_id is None:
            raise NotFound(f"{self.doc_symbol[next(iter(versions.values()))]} is not in the index in language "
                           f"{language[:80]!r}; it is in: {', '.join(versions)}")
        return doc_id

    def paragraph(self, doc_id: int, para: str) -> ParagraphRow | None:
        with self._lock:
            r = self._db.execute(f"{_ROW_SQL} WHERE p.doc_id = ? AND p.para = ?", (doc_id, para)).fetchone()
        return ParagraphRow(*r) if r else None

    def document(self, doc_id: int) -> dict[str, Any]:
        with self._lock:
            r = self._db.execute(
                "SELECT symbol, title, date, body, type, language, source, n_paragraphs FROM documents WHERE id=?",
                (doc_id,),
            ).fetchone()
        keys = ("symbol", "title", "date", "body", "type", "language", "source", "n_paragraphs")
        return dict(zip(keys, r, strict=True))

    def documents(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT symbol, title, date, body, type, language, n_paragraphs FROM documents ORDER BY id"
            ).fetchall()
        keys = ("symbol", "title", "date", "body", "type", "language", "n_paragraphs")
        return [dict(zip(keys, r, strict=True)) for r in rows]
