"""Retrieval: dense (FAISS), BM25 (bm25s) and their fusion, with filters, document
references, and repeated paragraphs collapsed.

All per-candidate work is vectorised with numpy; filters are applied inside
FAISS (an ID-selector bitmap) and inside BM25 (a weight mask), so ``k`` results
come back whenever ``k`` paragraphs match.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field

import bm25s
import numpy as np

from parasearch.analysis import DEFAULT_LANGUAGE, terms
from parasearch.types import normalize_symbol
from service.dates import query_years
from service.index import LoadedIndex, ParagraphRow
from service.language import QueryLanguage
from service.references import Reference, parse_reference
from service.snippets import highlight, query_terms

MODES = ("hybrid", "dense", "bm25")
# Hybrid fusion: DENSE_WEIGHT * z(dense) + (1 - DENSE_WEIGHT) * z(bm25), each list's scores z-normalised per
# query. Chosen over reciprocal rank fusion (k=60) by `parasearch eval --fusion-study`, the weight tuned on
# SciFact's train queries only: nDCG@10 SciFact 0.737 vs 0.721, ArguAna 0.501 vs 0.481, dev 0.581 vs 0.539.
DENSE_WEIGHT = 0.6
QUERY_CACHE_SIZE = 1024
# Hybrid search adds to each paragraph's fused (z-normalised) score what the query says about the documents it
# wants (SearchEngine._metadata_prior). Chosen on the development questions over the full English corpus plus the
# Security Council resolutions in French and Spanish (hybrid nDCG@10; see docs/evaluation.md):
# - its language, when the index holds several and service.language is sure of the query's: a question in French
#   is answered from the French version of a resolution, one in English from the English version;
LANGUAGE_BOOST = 1.0
# - the years it names ("in its 2024 resolution", "from 2020 to 2025"), for documents dated in one of them:
#   nDCG@10 0.684 without, 0.686 with 0.5, 0.690 with 1.0;
YEAR_BOOST = 1.0
# - how well it matches the document's title, body, type and year (BM25 over those, z-normalised over all
#   documents): 0.690 without, 0.710 with 0.25 (own questions 0.958 -> 0.969); 0.5 loses answers.
META_WEIGHT = 0.25


def _zscore(scores: np.ndarray) -> np.ndarray:
    s = scores.astype(np.float64)
    std = s.std() if len(s) else 0.0
    return (s - s.mean()) / std if std > 0 else np.zeros_like(s)


def fuse_convex(dense_ids: np.ndarray, dense_scores: np.ndarray, bm25_ids: np.ndarray, bm25_scores: np.ndarray,
                w: float = DENSE_WEIGHT, normalize=_zscore) -> tuple[np.ndarray, np.ndarray]:
    """Convex combination of normalised (by default z-normalised) scores over the union of both lists.

    A paragraph missing from one list gets that list's lowest normalised score.
    """
    d, b = normalize(dense_scores), normalize(bm25_scores)
    uniq = np.union1d(dense_ids, bm25_ids)
    d_full = np.full(len(uniq), d.min() if len(d) else 0.0)
    b_full = np.full(len(uniq), b.min() if len(b) else 0.0)
    d_full[np.searchsorted(uniq, dense_ids)] = d
    b_full[np.searchsorted(uniq, bm25_ids)] = b
    return uniq, w * d_full + (1 - w) * b_full


class EngineError(Exception):
    """A search request that cannot be answered as asked (the message says why)."""


@dataclass
class Filters:
    symbol: list[str] = field(default_factory=list)  # exact symbol or prefix (CTOC/COP, S/RES/2672)
    body: list[str] = field(default_factory=list)
    type: list[str] = field(default_factory=list)
    language: list[str] = field(default_factory=list)
    date_from: str | None = None  # ISO date, inclusive
    date_to: str | None = None

    def active(self) -> bool:
        return bool(self.symbol or self.body or self.type or self.language or self.date_from or self.date_to)


@dataclass
class Hit:
    row: ParagraphRow
    rank: int
    score: float
    also_in: list[ParagraphRow] = field(default_factory=list)
    snippet: str = ""
    scores: dict = field(default_factory=dict)  # per-mode rank and score, for debugging and evaluation


@dataclass
class SearchOutcome:
    query: str
    mode: str
    hits: list[Hit]
    took_ms: float
    reference: Reference | None = None
    notice: str | None = None
    language: str | None = None  # the query's language, when service.language was sure of it
    years: list[int] = field(default_factory=list)  # the years the query names (service.dates)


def _date_int(value: str | None, end: bool) -> int | None:
    if not value:
        return None
    digits = value.replace("-", "")
    if not digits.isdigit() or len(digits) not in (4, 6, 8):
        raise EngineError(f"date must be YYYY, YYYY-MM or YYYY-MM-DD, got {value!r}")
    pad = "9999" if end else "0000"
    return int((digits + pad)[:8])


def _metadata_bm25(index: LoadedIndex) -> bm25s.BM25:
    """A small BM25 index with one entry per document: its title, body, type and year."""
    texts = [f"{title} {body} {dtype} {date // 10000 if date > 0 else ''}" for title, body, dtype, date in
             zip(index.doc_title, index.doc_body, index.doc_type, index.doc_date_int.tolist(), strict=True)]
    bm25 = bm25s.BM25()
    if texts:
        bm25.index([terms(t) or ["_"] for t in texts], show_progress=False)
    return bm25


class SearchEngine:
    def __init__(self, index: LoadedIndex, encoder) -> None:
        built = index.model
        # Identity is "name@hash of the model files": the files decide, not the name they were given.
        if encoder.identity.split("@")[-1] != built["identity"].split("@")[-1] or encoder.dim != built["dim"]:
            raise EngineError(
                f"index {index.dir} was built with model {built['name']} ({built['identity']}, dim {built['dim']}) "
                f"but the query model is {encoder.name} ({encoder.identity}, dim {encoder.dim}): "
                f"use the same model or rebuild the index"
            )
        self.index = index
        self.encoder = encoder
        languages = sorted(set(index.doc_lang.tolist()))
        self.query_language = QueryLanguage(languages)
        # How query terms are analysed when the query's language is not known: the index's one language, or English.
        self._default_language = languages[0] if len(languages) == 1 else DEFAULT_LANGUAGE
        # Only documents of several paragraphs: a one-paragraph record's title is already in its text
        # (BEIR records are indexed as "title. text"), and counting it twice lowers SciFact's nDCG@10 by 0.024.
        self._meta_docs = index.doc_n_paragraphs > 1
        self._meta_bm25 = _metadata_bm25(index)
        self._qcache: OrderedDict[str, np.ndarray] = OrderedDict()

    # -- building blocks ------------------------------------------------------------------------
    def embed_query(self, query: str) -> np.ndarray:
        vec = self._qcache.get(query)
        if vec is None:
            vec = self.encoder.encode([query], batch_size=1)[0]
            self._qcache[query] = vec
            if len(self._qcache) > QUERY_CACHE_SIZE:
                self._qcache.popitem(last=False)
        else:
            self._qcache.move_to_end(query)
        return vec

    def doc_mask(self, filters: Filters | None) -> np.ndarray | None:
        if filters is None or not filters.active():
            return None
        ix = self.index
        mask = np.ones(len(ix.doc_key), dtype=bool)
        if filters.symbol:
            m = np.zeros_like(mask)
            for s in filters.symbol:
                key = normalize_symbol(s)
                raw_prefix = key.endswith("*")
                key = key.rstrip("*")
                for i, k in enumerate(ix.doc_key):
                    if k == key or (k.startswith(key) and (raw_prefix or k[len(key)] in "/(")):
                        m[i] = True
            mask &= m
        for values, column in ((filters.body, ix.doc_body), (filters.type, ix.doc_type),
                               (filters.language, ix.doc_lang)):
            if values:
                mask &= np.isin(column, [v.lower() for v in values])
        lo, hi = _date_int(filters.date_from, False), _date_int(filters.date_to, True)
        if lo is not None:
            mask &= ix.doc_date_end >= lo
        if hi is not None:
            mask &= (ix.doc_date_int <= hi) & (ix.doc_date_int >= 0)
        return mask

    def dense(self, query: str, n: int, para_mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Top ``n`` paragraphs by cosine similarity (best window per paragraph)."""
        import faiss

        ix = self.index
        qvec = self.embed_query(query)[None, :]
        n_vec = ix.faiss.ntotal
        # Long paragraphs have several windows: over-fetch so that n distinct paragraphs remain.
        kv = min(n_vec, max(n + 16, int(n * 1.5)))
        params = None
        if para_mask is not None:
            bits = np.packbits(para_mask[ix.vec2para], bitorder="little")
            sel = faiss.IDSelectorBitmap(n_vec, faiss.swig_ptr(bits))
            params = (faiss.SearchParametersHNSW(sel=sel, efSearch=max(128, kv))
                      if isinstance(ix.faiss, faiss.IndexHNSW) else faiss.SearchParameters(sel=sel))
        elif isinstance(ix.faiss, faiss.IndexHNSW):
            params = faiss.SearchParametersHNSW(efSearch=max(128, kv))
        scores, vids = ix.faiss.search(qvec, kv, params=params)
        valid = vids[0] >= 0
        pids, pscores = ix.vec2para[vids[0][valid]], scores[0][valid]
        _, first = np.unique(pids, return_index=True)
        first.sort()
        return pids[first][:n].astype(np.int64), pscores[first][:n]

    def analysis_language(self, language: str | None) -> str:
        """The language to analyse a query in, for BM25 and snippets (its own when known)."""
        if self.index.analysis_version < 2:
            return DEFAULT_LANGUAGE  # an index built when every text was analysed as English
        return language or self._default_language

    def bm25(self, query: str, n: int, para_mask: np.ndarray | None,
             language: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top ``n`` paragraphs by BM25; ``language``: the query's, when known (see :meth:`analysis_language`)."""
        ix = self.index
        qterms = terms(query, self.analysis_language(language))
        if not qterms or ix.n_paragraphs == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        weight = None if para_mask is None else para_mask.astype(np.float32)
        docs, scores = ix.bm25.retrieve([qterms], k=min(n, ix.n_paragraphs), show_progress=False,
                                        weight_mask=weight, n_threads=0)  # 0: inline, no thread per query
        keep = scores[0] > 0
        return docs[0][keep].astype(np.int64), scores[0][keep]

    def _metadata_prior(self, query: str, ids: np.ndarray, lang: str | None, years: list[int]
                        ) -> np.ndarray | float:
        """What the query says about the documents it wants, as fused-score points per paragraph in ``ids``:
        its language (``LANGUAGE_BOOST``), the years it names (``YEAR_BOOST``, for documents of that year) and
        how well it matches their title, body and type (``META_WEIGHT``)."""
        ix = self.index
        docs = ix.para_doc[ids]
        prior: np.ndarray | float = 0.0
        if lang is not None and self.query_language.active:
            prior = prior + LANGUAGE_BOOST * (ix.doc_lang[docs] == lang)
        if META_WEIGHT and self._meta_docs.any():
            prior = prior + META_WEIGHT * self._doc_meta_scores(query)[docs]
        if years:
            prior = prior + YEAR_BOOST * np.isin(ix.doc_date_int[docs] // 10000, years)
        return prior

    def _doc_meta_scores(self, query: str) -> np.ndarray:
        """Per document: BM25 of the query over its title, body, type and year, z-normalised over all documents."""
        out = np.zeros(len(self.index.doc_key))
        q = terms(query)
        if not q:
            return out
        s = self._meta_bm25.get_scores(q)[self._meta_docs]
        std = s.std()
        if std > 0:
            out[self._meta_docs] = (s - s.mean()) / std
        return out

    def _snippet(self, row: ParagraphRow, query: str, qterms: dict[str, set[str]]) -> str:
        lang = self.analysis_language(row.language)
        if lang not in qterms:
            qterms[lang] = query_terms(query, lang)
        return highlight(row.text, qterms[lang], lang)

    # -- the search -----------------------------------------------------------------------------
    def _ranked(self, query: str, mode: str, n: int, para_mask: np.ndarray | None, lang: str | None = None,
                years: list[int] | None = None) -> tuple[np.ndarray, dict[str, tuple[np.ndarray, np.ndarray]]]:
        """Paragraph ids best first, and each mode's (ids, scores) best first, for the debug field.

        ``lang``: the query's language when service.language is sure of it; ``years``: those it names."""
        per_mode: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if mode in ("dense", "hybrid"):
            per_mode["dense"] = self.dense(query, n, para_mask)
        if mode in ("bm25", "hybrid"):
            per_mode["bm25"] = self.bm25(query, n, para_mask, lang)
        if mode != "hybrid":
            return per_mode[mode][0], per_mode
        uniq, fused = fuse_convex(*per_mode["dense"], *per_mode["bm25"])
        fused = fused + self._metadata_prior(query, uniq, lang, years or [])
        order = np.argsort(-fused, kind="stable")
        per_mode["fused"] = (uniq[order], fused[order])
        return uniq[order], per_mode

    def _collapse(self, ids: np.ndarray, para_mask: np.ndarray | None, k: int, collapse: bool,
                  prefer_docs: np.ndarray | None = None) -> list[tuple[int, int, list[int]]]:
        """(shown id, hit id, also_in ids) for the first k distinct paragraphs.

        A paragraph repeated word for word in several documents is shown once, from the newest document,
        or from the newest of ``prefer_docs`` (those of a year the query names) when one holds it.
        """
        ix = self.index
        out: list[tuple[int, int, list[int]]] = []
        seen: set[int] = set()
        seen_ids: set[int] = set()
        for pid in ids.tolist():
            g = int(ix.para_group[pid])
            if pid in seen_ids or (collapse and g in seen):
                continue
            seen_ids.add(pid)
            members = ix.group_members.get(g) if collapse else None
            if members is None:
                out.append((pid, pid, []))
            else:
                if para_mask is not None:
                    members = members[para_mask[members]]
                shown = int(members[0])
                if prefer_docs is not None:
                    preferred = members[prefer_docs[ix.para_doc[members]]]
                    shown = int(preferred[0]) if len(preferred) else shown
                out.append((shown, pid, [int(m) for m in members if m != shown]))
            seen.add(g)
            if len(out) == k:
                break
        return out

    def search(self, query: str, *, k: int = 10, mode: str = "hybrid", filters: Filters | None = None,
               collapse: bool = True, snippets: bool = True) -> SearchOutcome:
        t0 = time.perf_counter()
        if mode not in MODES:
            raise EngineError(f"mode must be one of {', '.join(MODES)}")
        query = query.strip()
        ix = self.index
        dmask = self.doc_mask(filters)
        ref = parse_reference(query, ix.key_to_docs)
        notice = None
        exact: list[int] = []
        text_query = query
        if ref is not None and ref.unknown:
            if not ref.rest or ref.para:
                # Only a citation (or a paragraph of a missing document): nothing to show but the fact.
                took = (time.perf_counter() - t0) * 1000
                return SearchOutcome(query, mode, [], took, ref, f"The index holds no document {ref.named}.")
            notice = f"The index holds no document {ref.named}; showing the closest paragraphs of other documents."
        elif ref is not None:
            rmask = np.zeros(len(ix.doc_key), dtype=bool)
            rmask[ref.doc_ids] = True
            dmask = rmask if dmask is None else dmask & rmask
            if ref.para:
                for d in ref.doc_ids:
                    row = ix.paragraph(d, ref.para)
                    if row is not None and dmask[d]:
                        exact.append(row.id)
                if not exact:
                    notice = f"{ref.named} has no paragraph {ref.para}; showing its closest paragraphs."
            text_query = ref.rest
        para_mask = None if dmask is None else dmask[ix.para_doc]
        n_allowed = ix.n_paragraphs if para_mask is None else int(para_mask.sum())

        lang = self.query_language.detect(text_query) if text_query else None
        years = query_years(text_query)
        prefer_docs = np.isin(ix.doc_date_int // 10000, years) if years else None
        per_mode: dict = {}
        if text_query:
            n = max(100, 3 * k)
            while True:
                ids, per_mode = self._ranked(text_query, mode, n, para_mask, lang, years)
                picked = self._collapse(np.concatenate([np.array(exact, np.int64), ids]), para_mask, k, collapse,
                                        prefer_docs)
                if len(picked) >= k or n >= n_allowed:
                    break
                n = min(n_allowed, n * 4)
        else:  # only a reference: the document's paragraphs in order, the named one first
            ids = np.flatnonzero(para_mask) if para_mask is not None else np.arange(ix.n_paragraphs)
            picked = self._collapse(np.concatenate([np.array(exact, np.int64), ids]), para_mask, k, False)

        wanted = {i for shown, _, also in picked for i in (shown, *also)}
        rows = ix.rows(sorted(wanted))
        qterms: dict[str, set[str]] = {}  # per language of the text it marks
        hits = []
        for rank, (shown, hit, also) in enumerate(picked, 1):
            scores = {}
            for m, (ids_m, scores_m) in per_mode.items():
                at = np.flatnonzero(ids_m == hit)
                if len(at):
                    scores[m] = {"rank": int(at[0]) + 1, "score": round(float(scores_m[at[0]]), 6)}
            if hit in exact:
                scores["reference"] = {"rank": 1, "score": 1.0}
            main = scores.get("fused") or scores.get(mode) or scores.get("reference") or {"score": 0.0}
            hits.append(Hit(
                row=rows[shown], rank=rank, score=float(main["score"]),
                also_in=[rows[a] for a in also],
                snippet=self._snippet(rows[shown], text_query, qterms) if snippets else "",
                scores=scores,
            ))
        return SearchOutcome(query, mode, hits, (time.perf_counter() - t0) * 1000, ref, notice, lang, years)
