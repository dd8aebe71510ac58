"""Retrieval: dense (FAISS), BM25 (bm25s) and their fusion, with filters, document
references, and repeated paragraphs collapsed.

All per-candidate work is vectorised with numpy; filters are applied inside
FAISS (an ID-selector bitmap) and inside BM25 (a weight mask), so ``k`` results
come back whenever ``k`` paragraphs match.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import bm25s
import numpy as np

from indexer.embed_base import Encoder
from parasearch.analysis import DEFAULT_LANGUAGE, is_han, terms
from parasearch.config import model_languages
from parasearch.errors import IndexIncompatible, InvalidRequest
from parasearch.settings import MODES
from parasearch.types import LANGUAGE_NAMES, UN_LANGUAGES, normalize_symbol
from service.dates import query_years
from service.index import LoadedIndex, ParagraphRow
from service.language import SCRIPT_LANGUAGE_NAMES, QueryLanguage, unindexed_script
from service.metrics import QUERY_CACHE_HITS, QUERY_CACHE_MISSES, QUERY_EMBED_SECONDS
from service.references import Reference, parse_reference
from service.rerank import RERANK_DEPTH, Pool, Reranker, candidate_features
from service.snippets import highlight, query_terms
from service.translate import TARGET as TRANSLATE_TARGET
from service.translate import default_lexicon

# Hybrid fusion: DENSE_WEIGHT * z(dense) + (1 - DENSE_WEIGHT) * z(bm25), each list's scores z-normalised per
# query. Chosen over reciprocal rank fusion (k=60) by `parasearch eval --fusion-study`, the weight tuned on
# SciFact's train queries only: it ranked better than RRF on SciFact, ArguAna and the dev questions
# (docs/evaluation.md, "Tuned constants").
DENSE_WEIGHT = 0.6
# A question in a language the index holds no document in (French over English-only resolutions) shares with the
# paragraphs only numbers, names and symbols: BM25 finds little, and its noise drowns the dense match at 0.6.
# Its dense weight is this instead, which finds more of the cross-lingual questions' paragraphs over the English
# resolutions (docs/evaluation.md, "Six languages").
CROSSLINGUAL_DENSE_WEIGHT = 0.9
# The same, when BM25 also gets the question's English translation (service.translate): BM25 then carries meaning
# again, and weighs more (docs/evaluation.md, "Query translation").
TRANSLATED_DENSE_WEIGHT = 0.6
# The re-ranker was trained on questions and search-box queries (at most 23 words: query_words, in the question's
# language): a longer query, such as a pasted paragraph, is another task, and keeps the fused order. With a
# resolution's paragraph in another language as the query for its English version (parasearch eval --parallel),
# re-ranking every query found fewer than the fused order, and this limit gives most of that back: the re-ranker
# still demotes the short preambular paragraphs such queries often are (docs/evaluation.md, "Learned re-ranker").
RERANK_MAX_WORDS = 24
# The re-ranked order is the learned model's score plus this much of the fused score (which the model also sees
# as a feature). Adding it did not help: the cross-validated dev nDCG@10 (python -m eval.train_ranker
# --fused-weight W) was best without it (docs/evaluation.md, "Learned re-ranker").
RERANK_FUSED_WEIGHT = 0.0
QUERY_CACHE_SIZE = 1024  # query vectors kept per dense arm (least recently used dropped first)


class QueryCache:
    """One dense arm's query vectors, least recently used dropped past ``QUERY_CACHE_SIZE``. Request threads share
    it: every read and change of the dict holds the lock (a ``move_to_end`` racing another thread's eviction was a
    ``KeyError``), and the lock is never held while a query is encoded. Hits and misses are counted by model."""

    def __init__(self, model: str) -> None:
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = QUERY_CACHE_HITS.labels(model)
        self.misses = QUERY_CACHE_MISSES.labels(model)
        self.encode_seconds = QUERY_EMBED_SECONDS.labels(model)

    def get(self, query: str) -> np.ndarray | None:
        with self._lock:
            vec = self._vectors.get(query)
            if vec is not None:
                self._vectors.move_to_end(query)
        (self.misses if vec is None else self.hits).inc()
        return vec

    def missing(self, queries: list[str]) -> list[str]:
        """The distinct queries not cached, in order (each counted as a hit or a miss)."""
        wanted = list(dict.fromkeys(queries))
        with self._lock:
            todo = [q for q in wanted if q not in self._vectors]
        self.hits.inc(len(wanted) - len(todo))
        self.misses.inc(len(todo))
        return todo

    def put(self, query: str, vec: np.ndarray) -> None:
        with self._lock:
            self._vectors[query] = vec
            self._vectors.move_to_end(query)
            while len(self._vectors) > QUERY_CACHE_SIZE:
                self._vectors.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()

    def queries(self) -> set[str]:
        with self._lock:
            return set(self._vectors)

    def __len__(self) -> int:
        return len(self._vectors)
# Hybrid search adds to each paragraph's fused (z-normalised) score what the query says about the documents it
# wants (SearchEngine._metadata_prior). Chosen on the development questions over the full English corpus plus the
# Security Council resolutions in French and Spanish (hybrid nDCG@10; docs/evaluation.md, "Tuned constants"):
# - its language, when the index holds several and service.language is sure of the query's: a question in French
#   is answered from the French version of a resolution, one in English from the English version;
LANGUAGE_BOOST = 1.0
# - the years it names ("in its 2024 resolution", "from 2020 to 2025"), for documents dated in one of them:
#   1.0 ranked best of none, 0.5 and 1.0;
YEAR_BOOST = 1.0
# - how well it matches the document's title, body, type and year (BM25 over those, z-normalised over all
#   documents): 0.25 ranks better than none, on the dev questions and on the project's own; 0.5 loses answers.
META_WEIGHT = 0.25


def query_words(query: str, language: str | None = DEFAULT_LANGUAGE) -> float:
    """A query's length in words: its distinct terms as analysed in ``language`` (stop words dropped), a Chinese
    term (a character or a pair of them) counting a quarter (a Chinese word is about two characters: two unigrams
    and two bigrams)."""
    return sum(0.25 if is_han(t[0]) else 1 for t in set(terms(query, language)) if t)


Normalizer = Callable[[np.ndarray], np.ndarray]  # a score list's normalisation before fusion


def _zscore(scores: np.ndarray) -> np.ndarray:
    s = scores.astype(np.float64)
    std = s.std() if len(s) else 0.0
    return (s - s.mean()) / std if std > 0 else np.zeros_like(s)


def fuse_convex(dense_ids: np.ndarray, dense_scores: np.ndarray, bm25_ids: np.ndarray, bm25_scores: np.ndarray,
                w: float = DENSE_WEIGHT, normalize: Normalizer = _zscore) -> tuple[np.ndarray, np.ndarray]:
    """Convex combination of normalised (by default z-normalised) scores over the union of both lists.

    A paragraph missing from one list gets that list's lowest normalised score.
    """
    return fuse_many([(dense_ids, dense_scores), (bm25_ids, bm25_scores)], [w, 1 - w], normalize)


def fuse_many(lists: list[tuple[np.ndarray, np.ndarray]], weights: list[float], normalize: Normalizer = _zscore
              ) -> tuple[np.ndarray, np.ndarray]:
    """Weighted sum of each list's normalised scores over the union of the lists' ids (ids, scores).

    A paragraph missing from a list gets that list's lowest normalised score.
    """
    uniq = np.unique(np.concatenate([ids for ids, _ in lists])) if lists else np.zeros(0, np.int64)
    total = np.zeros(len(uniq))
    for (ids, scores), w in zip(lists, weights, strict=True):
        z = normalize(scores)
        full = np.full(len(uniq), z.min() if len(z) else 0.0)
        full[np.searchsorted(uniq, ids)] = z
        total += w * full
    return uniq, total


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

    @classmethod
    def of(cls, source: object) -> Filters:
        """The filters an object names in attributes of the same names (a command line's parsed arguments, an
        answer request's ``filters``); a missing attribute is no filter."""
        return cls(**{f.name: getattr(source, f.name) for f in fields(cls) if getattr(source, f.name, None)})


@dataclass
class Hit:
    row: ParagraphRow
    rank: int
    score: float
    also_in: list[ParagraphRow] = field(default_factory=list)
    snippet: str = ""
    # per-mode rank and score, for debugging and evaluation
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    versions: list[str] = field(default_factory=list)  # the other languages its document's symbol is indexed in
    pid: int = -1  # the paragraph id whose scores it carries (the best-ranked language version)


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
    pool: Pool | None = None  # the re-ranker's candidates and features (when re-ranked, or features=True)


_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?|(\d{2})(\d{2})?)?")  # 2024, 2024-1(-5), 202401(05)


def _date_int(value: str | None, end: bool) -> int | None:
    """A filter's date bound as YYYYMMDD: the first day of the year or month it names (``end``: the last)."""
    if not value:
        return None
    m = _DATE.fullmatch(value.strip())
    month = day = None
    if m:
        month = m.group(2) or m.group(4)
        day = m.group(3) or m.group(5)
    if not m or (month and not 1 <= int(month) <= 12) or (day and not 1 <= int(day) <= 31):
        raise InvalidRequest(f"date must be YYYY, YYYY-MM or YYYY-MM-DD, got {value[:80]!r}")
    fill = 99 if end else 0
    return int(m.group(1)) * 10000 + (int(month) if month else fill) * 100 + (int(day) if day else fill)


def _metadata_bm25(index: LoadedIndex) -> bm25s.BM25:
    """A small BM25 index with one entry per document: its title, body, type and year."""
    texts = [f"{title} {body} {dtype} {date // 10000 if date > 0 else ''}" for title, body, dtype, date in
             zip(index.doc_title, index.doc_body, index.doc_type, index.doc_date_int.tolist(), strict=True)]
    bm25 = bm25s.BM25()
    if texts:
        bm25.index([terms(t) or ["_"] for t in texts], show_progress=False)
    return bm25


class SearchEngine:
    def __init__(self, index: LoadedIndex, encoder: Encoder | Sequence[Encoder],
                 reranker: Reranker | None = None) -> None:
        """``encoder``: the query encoder of the index's model, or a list with one per dense arm (model), in the
        index's order (:func:`service.engine.load_engine` loads them). ``reranker``: the learned re-ranking of
        hybrid search's top candidates (:mod:`service.rerank`), or None for the fused order."""
        encoders: list[Encoder] = list(encoder) if isinstance(encoder, Sequence) else [encoder]
        if len(encoders) != len(index.models):
            raise IndexIncompatible(f"index {index.dir} was built with {len(index.models)} model(s) "
                              f"({', '.join(m['name'] for m in index.models)}) but {len(encoders)} query encoder(s) "
                              f"were given")
        for enc, built in zip(encoders, index.models, strict=True):
            # Identity is "name@hash of the model files": the files decide, not the name they were given.
            if enc.identity.split("@")[-1] != built["identity"].split("@")[-1] or enc.dim != built["dim"]:
                raise IndexIncompatible(
                    f"index {index.dir} was built with model {built['name']} ({built['identity']}, dim "
                    f"{built['dim']}) but the query model is {enc.name} ({enc.identity}, dim {enc.dim}): "
                    f"use the same model or rebuild the index"
                )
        self.index = index
        self.encoders = encoders
        self.reranker = reranker
        self.encoder = encoders[0]  # the first arm's: answers compare its sentence vectors with its query vector
        # The languages each arm's model serves (None: any): an English model's arm is left out for a question
        # known to be in another language.
        self._arm_languages = [built.get("languages", model_languages(built["name"])) for built in index.models]
        languages = sorted(set(index.doc_lang.tolist()))
        self.languages = languages
        # The query's language is told among the index's and the six UN languages: a question in Chinese over
        # English documents is known as Chinese, and searched by meaning across languages.
        self.query_language = QueryLanguage(languages, also=UN_LANGUAGES if languages else ())
        # How query terms are analysed when the query's language is not known: the index's one language, or English.
        self._default_language = languages[0] if len(languages) == 1 else DEFAULT_LANGUAGE
        # Only documents of several paragraphs: a one-paragraph record's title is already in its text
        # (BEIR records are indexed as "title. text"), and counting it twice lowers SciFact's nDCG@10
        # (docs/evaluation.md, "Tuned constants").
        self.meta_docs = index.doc_n_paragraphs > 1
        self._meta_bm25 = _metadata_bm25(index)
        self._qcaches = [QueryCache(built["name"]) for built in index.models]  # one per arm, thread-safe
        # Query translation for BM25 (service.translate): used for a question in a language the index holds no
        # document in, when the index holds English and analyses its terms as the lexicon's were made.
        lexicon = default_lexicon() if TRANSLATE_TARGET in languages else None
        self.lexicon = lexicon if lexicon is not None and index.analysis_version == \
            lexicon.info.get("analysis_version") else None

    # -- building blocks ------------------------------------------------------------------------
    def embed_query(self, query: str, arm: int = 0) -> np.ndarray:
        """The query's vector for dense arm ``arm`` (its model, with its query prompt), cached."""
        cache = self._qcaches[arm]
        vec = cache.get(query)
        if vec is None:
            t0 = time.perf_counter()
            vec = self.encoders[arm].encode_queries([query], batch_size=1)[0]  # outside the cache's lock
            cache.encode_seconds.observe(time.perf_counter() - t0)
            cache.put(query, vec)
        return vec

    def embed_queries(self, queries: list[str], *, batch_size: int = 64) -> None:
        """Embed many queries at once for every arm (one batched encoder call each, for those not cached yet), as
        :meth:`embed_query` does one by one; the vectors stay in the query caches, so searching the queries next
        costs no encoding. For evaluations of many queries: keep a batch under ``QUERY_CACHE_SIZE``."""
        for enc, cache in zip(self.encoders, self._qcaches, strict=True):
            todo = cache.missing(queries)
            if todo:
                for q, vec in zip(todo, enc.encode_queries(todo, batch_size=batch_size), strict=True):
                    cache.put(q, vec)

    def answer_arm(self, lang: str | None) -> int:
        """The arm whose model scores answer sentences for a question in ``lang``: a model trained on that language
        (all-MiniLM-L6-v2 for English or an unknown language, as calibrated before multilingual arms), else the
        first arm that serves it."""
        arms = self.dense_arms(lang)
        return next((a for a in arms if self._arm_languages[a]), arms[0])

    def share_query_caches(self, other: SearchEngine) -> None:
        """Use ``other``'s query-vector caches (an engine over a newer generation with the same encoders: a query's
        vector does not depend on the index)."""
        if [id(e) for e in self.encoders] == [id(e) for e in other.encoders]:
            self._qcaches = other._qcaches

    def clear_query_cache(self) -> None:
        """Forget every cached query vector (benchmarks time the encoding this way)."""
        for cache in self._qcaches:
            cache.clear()

    def cached_queries(self) -> set[str]:
        """The queries whose vectors every arm has cached."""
        return set.intersection(*(c.queries() for c in self._qcaches))

    def dense_arms(self, lang: str | None) -> list[int]:
        """The dense arms that serve a query in ``lang`` (None: unknown): every arm whose model is multilingual,
        or trained on ``lang``; all of them when none is."""
        arms = [i for i, langs in enumerate(self._arm_languages) if not langs or lang is None or lang in langs]
        return arms or list(range(len(self.encoders)))

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

    def dense(self, query: str, n: int, para_mask: np.ndarray | None, lang: str | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``n`` paragraphs by meaning: one arm's cosine similarities, or the z-score fusion (equal weights)
        of the arms that serve a query in ``lang`` (:meth:`dense_arms`)."""
        arms = self.dense_arms(lang)
        if len(arms) == 1:
            return self.dense_arm(query, n, para_mask, arms[0])
        lists = [self.dense_arm(query, n, para_mask, arm) for arm in arms]
        uniq, fused = fuse_many(lists, [1.0 / len(lists)] * len(lists))
        order = np.argsort(-fused, kind="stable")[:n]
        return uniq[order], fused[order]

    def dense_arm(self, query: str, n: int, para_mask: np.ndarray | None, arm: int = 0
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``n`` paragraphs by cosine similarity in dense arm ``arm`` (best window per paragraph)."""
        import faiss

        index, vec2para = self.index.arms[arm]
        qvec = self.embed_query(query, arm)[None, :]
        n_vec = index.ntotal
        # Long paragraphs have several windows: over-fetch so that n distinct paragraphs remain.
        kv = min(n_vec, max(n + 16, int(n * 1.5)))
        params = None
        live = self.index.arm_live[arm]  # None unless an update left tombstoned vectors (mapped to -1)
        if para_mask is not None or live is not None:
            if para_mask is None:
                bits = self.index.arm_live_bits[arm]
                assert bits is not None  # the packed bits of `live`
            else:
                keep = para_mask[np.maximum(vec2para, 0)]
                bits = np.packbits(keep if live is None else keep & live, bitorder="little")
            sel = faiss.IDSelectorBitmap(n_vec, faiss.swig_ptr(bits))
            # faiss's stubs lack SearchParametersHNSW and the SWIG keyword arguments
            params = (faiss.SearchParametersHNSW(sel=sel, efSearch=max(128, kv))  # type: ignore[attr-defined]
                      if isinstance(index, faiss.IndexHNSW) else faiss.SearchParameters(sel=sel))  # type: ignore[call-arg]
        elif isinstance(index, faiss.IndexHNSW):
            params = faiss.SearchParametersHNSW(efSearch=max(128, kv))  # type: ignore[attr-defined]
        scores, vids = index.search(qvec, kv, params=params)
        valid = vids[0] >= 0
        pids, pscores = vec2para[vids[0][valid]], scores[0][valid]
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
        if self.lexicon is not None and language is not None and self.translates(language):
            qterms = self.lexicon.translate(query, language)  # the question's terms and their English translations
        else:  # analysed as the index's paragraphs were (an index built before records an older analysis version)
            qterms = terms(query, self.analysis_language(language), version=ix.analysis_version)
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
        if lang is not None and len(self.languages) > 1:
            prior = prior + LANGUAGE_BOOST * (ix.doc_lang[docs] == lang)
        if META_WEIGHT and self.meta_docs.any():
            prior = prior + META_WEIGHT * self.doc_meta_scores(query)[docs]
        if years:
            prior = prior + YEAR_BOOST * np.isin(ix.doc_date_int[docs] // 10000, years)
        return prior

    def doc_meta_scores(self, query: str) -> np.ndarray:
        """Per document: BM25 of the query over its title, body, type and year, z-normalised over all documents."""
        out = np.zeros(len(self.index.doc_key))
        q = terms(query)
        if not q:
            return out
        s = self._meta_bm25.get_scores(q)[self.meta_docs]
        std = s.std()
        if std > 0:
            out[self.meta_docs] = (s - s.mean()) / std
        return out

    def crosslingual(self, lang: str | None) -> bool:
        """Whether a query in ``lang`` (as detected) is in a language none of the index's documents are in."""
        return lang is not None and bool(self.languages) and lang not in self.languages

    def translates(self, lang: str | None) -> bool:
        """Whether BM25 gets a query in ``lang`` translated into English (:mod:`service.translate`)."""
        return self.lexicon is not None and self.crosslingual(lang) and lang in self.lexicon.tables

    def language_notice(self, query: str, lang: str | None) -> str | None:
        """What to tell a user whose question is in a language (or script) the index holds no document in."""
        if lang is not None and self.crosslingual(lang):
            name = LANGUAGE_NAMES.get(lang, lang)
        else:
            script = unindexed_script(query, self.languages) if lang is None else None
            if script is None:
                return None
            name = SCRIPT_LANGUAGE_NAMES.get(script, script)
        held = ", ".join(LANGUAGE_NAMES.get(x, x) for x in self.languages)
        return (f"The index holds no documents in {name}: results are matched by meaning, across languages, "
                f"from documents in {held}.")

    def other_versions(self, row: ParagraphRow) -> list[str]:
        """The other languages the row's document (its symbol) is indexed in, in the UN's order."""
        own = self.index.doc_lang[row.doc_id]
        return [lang for lang in self.index.doc_languages[row.doc_id] if lang != own]

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
            per_mode["dense"] = self.dense(query, n, para_mask, lang)
        if mode in ("bm25", "hybrid"):
            per_mode["bm25"] = self.bm25(query, n, para_mask, lang)
        if mode != "hybrid":
            return per_mode[mode][0], per_mode
        w = (TRANSLATED_DENSE_WEIGHT if self.translates(lang) else CROSSLINGUAL_DENSE_WEIGHT) \
            if self.crosslingual(lang) else DENSE_WEIGHT
        uniq, fused = fuse_convex(*per_mode["dense"], *per_mode["bm25"], w=w)
        fused = fused + self._metadata_prior(query, uniq, lang, years or [])
        order = np.argsort(-fused, kind="stable")
        per_mode["fused"] = (uniq[order], fused[order])
        return uniq[order], per_mode

    def pool(self, query: str, per_mode: dict[str, tuple[np.ndarray, np.ndarray]], lang: str | None,
             years: list[int]) -> Pool:
        """The top ``RERANK_DEPTH`` fused candidates of a hybrid search and their re-ranking features."""
        ids, fused = per_mode["fused"]
        ids, fused = ids[:RERANK_DEPTH], fused[:RERANK_DEPTH]
        rows = self.index.rows(ids.tolist())
        return Pool(ids, fused, candidate_features(self, query, ids, fused, per_mode, lang, years, rows), rows)

    def _reranked(self, ids: np.ndarray, pool: Pool, per_mode: dict[str, Any]) -> np.ndarray:
        """``ids`` (fused order) with the pool's candidates in the re-ranker's order first."""
        assert self.reranker is not None
        scores = self.reranker.scores(pool.features) + RERANK_FUSED_WEIGHT * pool.fused
        order = np.argsort(-scores, kind="stable")
        per_mode["rerank"] = (pool.ids[order], scores[order])
        return np.concatenate([pool.ids[order], ids[len(pool.ids):]])

    def _collapse(self, ids: np.ndarray, para_mask: np.ndarray | None, k: int, collapse: bool,
                  prefer_docs: np.ndarray | None = None, lang: str | None = None,
                  versions: bool | None = None) -> list[tuple[int, int, list[int]]]:
        """(shown id, hit id, also_in ids) for the first k distinct citations.

        A paragraph repeated word for word in several documents is shown once, from the newest document,
        or from the newest of ``prefer_docs`` (those of a year the query names) when one holds it.

        The language versions of a paragraph (the same symbol and locator in another language) are one citation,
        shown once (``versions``, by default as ``collapse``): in ``lang``, the query's language, when that version
        is indexed and passes the filters, else the best-ranked version. The hit id stays the best-ranked one,
        whose scores the result carries.
        """
        ix = self.index
        versions = collapse if versions is None else versions
        out: list[tuple[int, int, list[int]]] = []
        seen: set[int] = set()  # repeated-text groups shown
        seen_ids: set[int] = set()
        seen_versions: set[int] = set()  # version groups shown
        for pid in ids.tolist():
            if pid in seen_ids:
                continue
            seen_ids.add(pid)
            base = pid
            vg = int(ix.para_version[pid])
            if versions and vg >= 0:
                if vg in seen_versions:
                    continue
                if lang is not None and ix.doc_lang[ix.para_doc[pid]] != lang:
                    alt = ix.version_in(pid, lang)
                    if alt is not None and (para_mask is None or para_mask[alt]):
                        base = alt
            g = int(ix.para_group[base])
            if collapse and g in seen:
                continue
            members = ix.group_members.get(g) if collapse else None
            if members is None:
                out.append((base, pid, []))
            else:
                if para_mask is not None:
                    members = members[para_mask[members]]
                pool = members
                if versions and lang is not None:  # the question's language, when a document holds it in it
                    in_lang = members[ix.doc_lang[ix.para_doc[members]] == lang]
                    pool = in_lang if len(in_lang) else members
                shown = int(pool[0])
                if prefer_docs is not None:
                    preferred = pool[prefer_docs[ix.para_doc[pool]]]
                    shown = int(preferred[0]) if len(preferred) else shown
                out.append((shown, pid, [int(m) for m in members if m != shown]))
            seen.add(g)
            if versions:
                shown, _, also = out[-1]
                seen_versions.update(int(v) for v in ix.para_version[[shown, *also]] if v >= 0)
            if len(out) == k:
                break
        return out

    def search(self, query: str, *, k: int = 10, mode: str = "hybrid", filters: Filters | None = None,
               collapse: bool = True, snippets: bool = True, rerank: bool = True,
               features: bool = False, extend: int = 0) -> SearchOutcome:
        """The ``k`` best paragraphs for ``query``. Hybrid search re-orders its top candidates with the
        re-ranker when the engine has one and ``rerank`` is true; ``features``: keep the candidates and their
        re-ranking features in ``SearchOutcome.pool`` (for training the re-ranker); ``extend``: go on past the
        ``k`` best, up to ``extend`` results in all, through the candidates retrieved for ``k`` (the first ``k``
        are exactly those of the same search without it: pages are cut from this longer list)."""
        t0 = time.perf_counter()
        if mode not in MODES:
            raise InvalidRequest(f"mode must be one of {', '.join(MODES)}")
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
        if text_query and notice is None:
            notice = self.language_notice(text_query, lang)
        years = query_years(text_query)
        prefer_docs = np.isin(ix.doc_date_int // 10000, years) if years else None
        per_mode: dict[str, Any] = {}
        pool = None
        rerank = rerank and self.reranker is not None and bool(text_query) and \
            query_words(text_query, self.analysis_language(lang)) <= RERANK_MAX_WORDS
        if text_query:
            n = max(100, 3 * k)
            while True:
                ids, per_mode = self._ranked(text_query, mode, n, para_mask, lang, years)
                if mode == "hybrid" and (rerank or features):
                    pool = self.pool(text_query, per_mode, lang, years)
                    if rerank:
                        ids = self._reranked(ids, pool, per_mode)
                picked = self._collapse(np.concatenate([np.array(exact, np.int64), ids]), para_mask,
                                        max(k, extend), collapse, prefer_docs, lang)
                if len(picked) >= k or n >= n_allowed:
                    break
                n = min(n_allowed, n * 4)
        else:  # only a reference: the document's paragraphs in order, the named one first
            ids = np.flatnonzero(para_mask) if para_mask is not None else np.arange(ix.n_paragraphs)
            picked = self._collapse(np.concatenate([np.array(exact, np.int64), ids]), para_mask, max(k, extend),
                                    False, lang=lang, versions=collapse)

        wanted = {i for shown, _, also in picked for i in (shown, *also)}
        known = pool.rows if pool is not None else {}  # the candidates' rows, read once for the re-ranker
        rows = known | ix.rows(sorted(wanted - known.keys()))
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
            main = (scores.get("rerank") or scores.get("fused") or scores.get(mode) or scores.get("reference")
                    or {"score": 0.0})
            hits.append(Hit(
                row=rows[shown], rank=rank, score=float(main["score"]),
                also_in=[rows[a] for a in also],
                snippet=self._snippet(rows[shown], text_query, qterms) if snippets else "",
                scores=scores, versions=self.other_versions(rows[shown]), pid=hit,
            ))
        return SearchOutcome(query, mode, hits, (time.perf_counter() - t0) * 1000, ref, notice, lang, years,
                             pool if features or per_mode.get("rerank") is not None else None)


# -- pages of a search: offset, sort by date, facet counts -----------------------------------------------------
# Every page of one search is cut from one ranked list: the search of the first ``PAGE_K`` results, carried on
# through the candidates it retrieved (``SearchEngine.search``'s ``extend``), so its first results are exactly those
# of a plain search (any k up to 33 retrieves the same candidates) and its pages are disjoint whichever is asked
# first. The facet counts and the date order are over that same list. Only a page past its end (it holds about 100
# to 200 results) needs a deeper search, whose list is longer and may order its results a little differently.
# The ranking itself is the search's, untouched.
SORTS = ("relevance", "date")
PAGE_K = 10
POOL_MAX = 1000  # results kept in a ranked list at most
MAX_DEPTH = 1000  # offset + k at most
FACET_FIELDS = ("body", "type", "language", "year")


@dataclass
class FacetCount:
    value: str
    paragraphs: int  # results (citations) in the pool with this value
    documents: int  # distinct documents (symbol and language version) among them


@dataclass
class SearchPage:
    outcome: SearchOutcome  # the whole ranked list, best first (its first results decide the search's state)
    hits: list[Hit]  # this page's, in the order asked for (each keeps its rank by relevance)
    offset: int
    sort: str
    pool: int  # results in the ranked list the page was cut from
    has_more: bool  # results after this page
    facets: dict[str, list[FacetCount]] | None = None


def newest_first(hits: list[Hit]) -> list[Hit]:
    """Hits by document date, newest first; undated last; equal dates in their ranked order."""
    def key(item: tuple[int, Hit]) -> tuple[int, int]:
        i, h = item
        digits = (h.row.date or "").replace("-", "")
        date = int(digits.ljust(8, "0")) if digits.isdigit() else -1
        return (-date, i)

    return [h for _, h in sorted(enumerate(hits), key=key)]


def facet_counts(hits: list[Hit]) -> dict[str, list[FacetCount]]:
    """Per filter (body, type, language, year): each value among ``hits``, with its results and documents, most
    results first (years newest first)."""
    out: dict[str, list[FacetCount]] = {}
    for name in FACET_FIELDS:
        paras: dict[str, int] = {}
        docs: dict[str, set[int]] = {}
        for h in hits:
            if name == "year":
                value = (h.row.date or "")[:4]
                value = value if value.isdigit() else ""
            else:
                value = getattr(h.row, name) or ""
            if not value:
                continue
            paras[value] = paras.get(value, 0) + 1
            docs.setdefault(value, set()).add(h.row.doc_id)
        order = (sorted(paras, reverse=True) if name == "year"
                 else sorted(paras, key=lambda v: (-paras[v], v.lower())))
        out[name] = [FacetCount(v, paras[v], len(docs[v])) for v in order]
    return out


def search_page(engine: SearchEngine, query: str, *, k: int = 10, offset: int = 0, sort: str = "relevance",
                facets: bool = False, mode: str = "hybrid", filters: Filters | None = None,
                collapse: bool = True) -> SearchPage:
    """Results ``offset`` to ``offset + k`` of ``query``, by relevance (the search's order) or by date, newest first
    (the ranked list re-ordered); ``facets``: the counts of each filter's values over the ranked list."""
    if sort not in SORTS:
        raise InvalidRequest(f"sort must be one of {', '.join(SORTS)}")
    if offset < 0 or k < 1:
        raise InvalidRequest("offset must be 0 or more and k 1 or more")
    if offset + k > MAX_DEPTH:
        raise InvalidRequest(f"offset + k must be at most {MAX_DEPTH}")
    t0 = time.perf_counter()
    # Snippets only for the page shown: marking up the whole list (100 to 200 paragraphs) would cost the most.
    outcome = engine.search(query, k=PAGE_K, mode=mode, filters=filters, collapse=collapse, extend=POOL_MAX,
                            snippets=False)
    if PAGE_K <= len(outcome.hits) <= offset + k:
        # Past the end of the list the first candidates give (not the end of the matches: a list shorter than
        # PAGE_K is all the search found): a deeper search.
        deeper = engine.search(query, k=offset + k + 1, mode=mode, filters=filters, collapse=collapse,
                               extend=POOL_MAX, snippets=False)
        if len(deeper.hits) > len(outcome.hits):
            outcome = deeper
    hits = outcome.hits if sort == "relevance" else newest_first(outcome.hits)
    shown = hits[offset:offset + k]
    ref = outcome.reference
    text_query = ref.rest if ref is not None and not ref.unknown else query.strip()
    qterms: dict[str, set[str]] = {}
    for h in shown:
        h.snippet = engine._snippet(h.row, text_query, qterms)
    outcome.took_ms = (time.perf_counter() - t0) * 1000
    counted = facet_counts(outcome.hits) if facets else None
    return SearchPage(outcome, shown, offset, sort, len(hits), len(hits) > offset + k, counted)
