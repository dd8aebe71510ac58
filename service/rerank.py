"""Learned re-ranking of hybrid search's top candidates.

Hybrid search (:mod:`service.search`) fuses the dense arms and BM25 with fixed weights. The re-ranker looks again
at its top ``RERANK_DEPTH`` paragraphs with what is known about each of them, and orders them by a LightGBM
LambdaRank model trained on labelled questions (``python -m eval.train_ranker``, which rebuilds the training
data from the corpora and benchmarks at hand and writes the model file with its provenance).

Features (:data:`FEATURES`), all computed per query in a few vectorised passes over the candidates:

- the fused score, its gap to the best and its rank; each dense model's exact cosine similarity (best window of
  the paragraph, so candidates BM25 alone found get theirs too), gap and rank; BM25's score, share of the best
  and rank;
- what the query says about documents: the title/body/type BM25 (z over all documents), year and language match;
- coverage of the query's terms in the paragraph (plain, weighted by rarity among the candidates, adjacent pairs
  as phrases, and the most found together within ``WINDOW`` terms), in its document's title and in its section
  heading; the query's numbers found;
- the paragraph: preambular or numbered, position in its document, length, how many documents repeat it, its
  document's year against the newest candidate's;
- its neighbours: the fused score of the paragraphs before and after it, how many candidates share its document
  and how far it is from its document's best; its document's best BM25 share over all BM25 results and how many
  of its paragraphs BM25 found (what the document as a whole is about);
- the query: number of terms, whether it asks a question, whether it is in a language the index lacks;
- whether the paragraph holds the type of answer the question asks for (who: a person; when: a date; how many:
  a quantity).

The model file is a LightGBM text model (``service/data/reranker.txt``) with a JSON sidecar giving the feature
names, the training command, data and seed, and the model's SHA-256, checked at load: a file that does not match
is refused with a clear error rather than used.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from parasearch.analysis import terms
from parasearch.config import E5_MODEL, MINILM_MODEL
from parasearch.digest import file_sha256
from parasearch.settings import settings

if TYPE_CHECKING:
    from indexer.embed_base import Encoder
    from service.index import LoadedIndex, ParagraphRow


class FeatureSource(Protocol):
    """What the features are computed from: the search engine (:class:`service.search.SearchEngine`), which
    imports this module; described here so that the two do not import each other."""

    @property
    def index(self) -> LoadedIndex: ...

    @property
    def encoders(self) -> Sequence[Encoder]: ...

    @property
    def meta_docs(self) -> np.ndarray: ...  # which documents have document-level metadata scores

    def dense_arms(self, lang: str | None) -> list[int]: ...

    def embed_query(self, query: str, arm: int = 0) -> np.ndarray: ...

    def doc_meta_scores(self, query: str) -> np.ndarray: ...

    def analysis_language(self, language: str | None) -> str: ...

    def crosslingual(self, lang: str | None) -> bool: ...

RERANK_DEPTH = 40  # candidates of the fused list the model re-orders; the rest keep their fused order
MODEL_FILE = Path(__file__).parent / "data" / "reranker.txt"
RERANKER_ENV = "PARASEARCH_RERANKER"  # a model file, or "off"
# Dense models with features of their own, by name; an index's other models only count through the fused score.
ARM_SLOTS = (E5_MODEL, MINILM_MODEL)
QUESTION_START = re.compile(
    r"^\s*(what|which|who|whom|whose|when|where|why|how|is|are|was|were|did|does|do|has|have|can|should|could|"
    r"quel|quelle|quels|quelles|qui|quand|comment|pourquoi|qué|que|cuál|cuáles|quién|cuándo|cómo|dónde)\b",
    re.IGNORECASE)
WINDOW = 16  # terms: about a sentence, for coverage_window
NUMBER = re.compile(r"\d+(?:[./]\d+)*")
# What a question asks for, and whether a paragraph holds something of that type (answer_type: 1 or 0, NaN for a
# question of no such type). English patterns; questions in other languages get NaN.
ASKS = (
    ("person", re.compile(r"^\s*(?:who|whom|whose)\b|\bby whom\b", re.IGNORECASE)),
    ("date", re.compile(r"^\s*(?:when|since when|until when)\b|\b(?:what|which) (?:date|year|day|month)\b",
                        re.IGNORECASE)),
    ("quantity", re.compile(r"\bhow (?:many|much|long|often)\b|\b(?:what|which) (?:number|percentage|share|amount)\b",
                            re.IGNORECASE)),
)
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
HOLDS = {
    # an honorific, a name followed by a country in brackets (UN reports' way: "Cristian Istrate (Romania)"), or
    # someone chairing, presiding, heading or leading
    "person": re.compile(r"\b(?:Mr|Ms|Mrs|Dr|Sir|Dame|H\.E)\.?\s+[A-Z]|\b[A-Z][a-z]+(?:\s+[A-Z][a-zA-Z'-]+)+\s+"
                         r"\([A-Z][a-z]+|\b(?:chaired|presided|headed|led|opened)\s+by\s+[A-Z]"),
    "date": re.compile(rf"\b\d{{1,2}}\s+(?:{_MONTHS})\b|\b(?:{_MONTHS})\s+(?:\d{{1,2}},\s+)?\d{{4}}\b|"
                       r"\b(?:1[89]|20)\d\d\b"),
    "quantity": re.compile(r"\b\d[\d,.]*\s*(?:%|per cent|percent|million|billion|thousand)?|\b(?:one|two|three|four|"
                           r"five|six|seven|eight|nine|ten|twelve|twenty|hundred)\b", re.IGNORECASE),
}


def asks_for(query: str) -> str | None:
    """The type of answer an English question asks for ("person", "date", "quantity"), if any."""
    return next((kind for kind, pattern in ASKS if pattern.search(query)), None)

FEATURES: tuple[str, ...] = (
    "fused", "fused_gap", "fused_rank",
    *(f"{kind}_{slot}" for slot in ("e5", "minilm") for kind in ("cos", "cos_gap", "cos_rank")),
    "bm25", "bm25_share", "bm25_rank",
    "doc_meta", "year_match", "language_match",
    "coverage", "coverage_rare", "coverage_pairs", "coverage_window", "title_coverage", "section_coverage",
    "numbers_found",
    "preamble", "numbered", "position", "length", "repeats", "year_vs_newest",
    "prev_fused", "next_fused", "doc_candidates", "doc_best_gap", "doc_bm25", "doc_bm25_hits",
    "query_terms", "question", "crosslingual", "answer_type",
)


class RerankerError(RuntimeError):
    """A re-ranker model file that cannot be used (missing, altered, or built for other features)."""


@dataclass
class Pool:
    """What hybrid search knew about one query's candidates, best fused first."""

    ids: np.ndarray  # paragraph ids, fused order (at most RERANK_DEPTH)
    fused: np.ndarray  # their fused scores (metadata priors included)
    features: np.ndarray  # (len(ids), len(FEATURES)), float32, NaN where unknown
    rows: dict[int, ParagraphRow] = field(default_factory=dict)  # read once, for the features and the hits


def _coverage(qterms: list[str], texts: list[set[str]]) -> np.ndarray:
    if not qterms:
        return np.zeros(len(texts))
    q = set(qterms)
    return np.array([len(q & t) / len(q) for t in texts])


def _rare_coverage(qterms: list[str], texts: list[set[str]]) -> np.ndarray:
    """Share of the query's terms found, each weighted by its rarity among the candidates."""
    q = set(qterms)
    if not q or not texts:
        return np.zeros(len(texts))
    df = Counter(t for s in texts for t in (s & q))
    weight = {t: math.log(1 + len(texts) / (1 + df[t])) for t in q}
    total = sum(weight.values()) or 1.0
    return np.array([sum(weight[t] for t in (s & q)) / total for s in texts])


def _window_coverage(q: set[str], seq: list[str], width: int) -> float:
    """The largest share of the query's terms found together within ``width`` consecutive terms of ``seq``."""
    if not q:
        return 0.0
    hits = [(i, t) for i, t in enumerate(seq) if t in q]
    best, counts, lo = 0, Counter[str](), 0
    for pos, term in hits:
        counts[term] += 1
        while hits[lo][0] <= pos - width:
            old = hits[lo][1]
            counts[old] -= 1
            if not counts[old]:
                del counts[old]
            lo += 1
        best = max(best, len(counts))
    return best / len(q)


def _pairs(seq: list[str]) -> set[tuple[str, str]]:
    return set(zip(seq, seq[1:], strict=False))


def candidate_features(engine: FeatureSource, query: str, ids: np.ndarray, fused: np.ndarray,
                       per_mode: dict[str, tuple[np.ndarray, np.ndarray]], lang: str | None, years: list[int],
                       rows: dict[int, ParagraphRow]) -> np.ndarray:
    """The feature matrix of the candidates ``ids`` (fused order) for ``query``; see :data:`FEATURES`."""
    ix = engine.index
    n = len(ids)
    col = {name: i for i, name in enumerate(FEATURES)}
    X = np.full((n, len(FEATURES)), np.nan, dtype=np.float32)
    if n == 0:
        return X
    rank = np.arange(n, dtype=np.float64)
    X[:, col["fused"]] = fused
    X[:, col["fused_gap"]] = fused[0] - fused
    X[:, col["fused_rank"]] = np.log1p(rank)

    # Each dense model's exact cosine with the query (the paragraph's best window).
    for arm in engine.dense_arms(lang):
        name = engine.encoders[arm].name
        if name not in ARM_SLOTS:
            continue
        slot = ("e5", "minilm")[ARM_SLOTS.index(name)]
        cos = engine.index.paragraph_cosines(arm, ids, engine.embed_query(query, arm))
        X[:, col[f"cos_{slot}"]] = cos
        X[:, col[f"cos_gap_{slot}"]] = np.nanmax(cos) - cos if np.isfinite(cos).any() else np.nan
        order = np.argsort(-np.nan_to_num(cos, nan=-np.inf), kind="stable")
        r = np.empty(n)
        r[order] = np.arange(n)
        X[:, col[f"cos_rank_{slot}"]] = np.log1p(r)

    bm_ids, bm_scores = per_mode.get("bm25", (np.zeros(0, np.int64), np.zeros(0)))
    bm = np.zeros(n)
    bm_rank = np.full(n, float(len(bm_ids) + 1))
    if len(bm_ids):
        pos = {int(p): i for i, p in enumerate(bm_ids.tolist())}
        for i, pid in enumerate(ids.tolist()):
            j = pos.get(pid)
            if j is not None:
                bm[i], bm_rank[i] = bm_scores[j], j
    X[:, col["bm25"]] = bm
    X[:, col["bm25_share"]] = bm / bm.max() if bm.max() > 0 else 0.0
    X[:, col["bm25_rank"]] = np.log1p(bm_rank)

    docs = ix.para_doc[ids]
    if engine.meta_docs.any():
        X[:, col["doc_meta"]] = engine.doc_meta_scores(query)[docs]
    doc_year = np.where(ix.doc_date_int[docs] > 0, ix.doc_date_int[docs] // 10000, -1)
    X[:, col["year_match"]] = np.isin(doc_year, years) if years else np.nan
    if lang is not None:
        X[:, col["language_match"]] = ix.doc_lang[docs] == lang

    # Lexical evidence, analysed as BM25 analysed the index.
    alang = engine.analysis_language(lang)
    version = ix.analysis_version
    qseq = [t for t in terms(query, alang, version=version)]
    qset_list = list(dict.fromkeys(qseq))
    ordered = [rows[int(p)] for p in ids.tolist()]
    text_seqs = [terms(r.text, engine.analysis_language(r.language), version=version) for r in ordered]
    text_sets = [set(s) for s in text_seqs]
    X[:, col["coverage"]] = _coverage(qset_list, text_sets)
    X[:, col["coverage_rare"]] = _rare_coverage(qset_list, text_sets)
    X[:, col["coverage_window"]] = [_window_coverage(set(qset_list), seq, WINDOW) for seq in text_seqs]
    qpairs = _pairs(qseq)
    if qpairs:
        X[:, col["coverage_pairs"]] = [len(qpairs & _pairs(s)) / len(qpairs) for s in text_seqs]
    X[:, col["title_coverage"]] = _coverage(qset_list, [set(terms(r.title or "", alang, version=version))
                                                        for r in ordered])
    X[:, col["section_coverage"]] = _coverage(qset_list, [set(terms(r.section or "", alang, version=version))
                                                          for r in ordered])
    numbers = set(NUMBER.findall(query))
    if numbers:
        X[:, col["numbers_found"]] = [len(numbers & set(NUMBER.findall(f"{r.text} {r.symbol}"))) / len(numbers)
                                      for r in ordered]

    # The paragraph itself and its place.
    X[:, col["preamble"]] = [r.para.startswith("preamble-") for r in ordered]
    X[:, col["numbered"]] = [r.para[:1].isdigit() for r in ordered]
    n_par = np.maximum(ix.doc_n_paragraphs[docs], 1)
    X[:, col["position"]] = np.array([r.ord for r in ordered]) / n_par
    X[:, col["length"]] = np.log1p([r.n_tokens for r in ordered])
    X[:, col["repeats"]] = np.log1p([len(ix.group_members.get(int(ix.para_group[p]), ())) for p in ids.tolist()])
    if (doc_year > 0).any():
        X[:, col["year_vs_newest"]] = np.where(doc_year > 0, doc_year - doc_year.max(), np.nan)

    # Neighbours among the candidates.
    where = {(r.doc_id, r.ord): i for i, r in enumerate(ordered)}
    prev = [where.get((r.doc_id, r.ord - 1)) for r in ordered]
    nxt = [where.get((r.doc_id, r.ord + 1)) for r in ordered]
    X[:, col["prev_fused"]] = [fused[j] if j is not None else np.nan for j in prev]
    X[:, col["next_fused"]] = [fused[j] if j is not None else np.nan for j in nxt]
    _, inverse, counts = np.unique(docs, return_inverse=True, return_counts=True)
    X[:, col["doc_candidates"]] = counts[inverse]
    best = np.full(len(counts), -np.inf)
    np.maximum.at(best, inverse, fused)
    X[:, col["doc_best_gap"]] = best[inverse] - fused
    # The document as a whole: the best BM25 score of any of its paragraphs (a resolution about Libya names Libya
    # in some paragraph, rarely in the one that extends its panel's mandate) and how many of them BM25 found.
    if len(bm_ids) and bm_scores.max() > 0:
        bm_docs = ix.para_doc[bm_ids]
        share = bm_scores / bm_scores.max()
        doc_best = np.zeros(len(ix.doc_key))
        np.maximum.at(doc_best, bm_docs, share)
        X[:, col["doc_bm25"]] = doc_best[docs]
        X[:, col["doc_bm25_hits"]] = np.bincount(bm_docs, minlength=len(ix.doc_key))[docs]
    else:
        X[:, col["doc_bm25"]] = 0.0
        X[:, col["doc_bm25_hits"]] = 0.0

    X[:, col["query_terms"]] = len(qset_list)
    X[:, col["question"]] = bool(QUESTION_START.match(query)) or query.rstrip().endswith("?")
    X[:, col["crosslingual"]] = engine.crosslingual(lang)
    kind = asks_for(query)
    if kind is not None:
        X[:, col["answer_type"]] = [bool(HOLDS[kind].search(r.text)) for r in ordered]
    return X


class Reranker:
    """A LightGBM ranking model over :data:`FEATURES`."""

    def __init__(self, booster: Any, info: dict[str, Any] | None = None) -> None:
        names = list(booster.feature_name())
        if names != list(FEATURES):
            raise RerankerError(f"the re-ranker model was trained on features {names}, this version computes "
                                f"{list(FEATURES)}: retrain it with `python -m eval.train_ranker`")
        self.booster = booster
        self.info = info or {}

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> Reranker:
        """The model at ``path``, after checking it against its sidecar ``<path>.json`` (SHA-256, features)."""
        import lightgbm

        path = Path(path)
        sidecar = path.with_suffix(path.suffix + ".json")
        if not path.is_file() or not sidecar.is_file():
            raise RerankerError(f"re-ranker model {path} or its description {sidecar.name} is missing")
        info = json.loads(sidecar.read_text())
        digest = file_sha256(path)
        if info.get("sha256") != digest:
            raise RerankerError(f"re-ranker model {path} does not match its description (sha256 {digest}, "
                                f"expected {info.get('sha256')}): rebuild it with `python -m eval.train_ranker`")
        return cls(lightgbm.Booster(model_str=path.read_text()), info)

    def scores(self, X: np.ndarray) -> np.ndarray:
        if len(X) == 0:
            return np.zeros(0)
        return np.asarray(self.booster.predict(X, num_threads=1), dtype=np.float64)


def default_reranker() -> Reranker | None:
    """The service's re-ranker: ``$PARASEARCH_RERANKER`` (a model file, or ``off`` for the fused order), else the
    model that comes with the project. A model file that is missing or altered is an error, not a silent fallback."""
    value = settings().reranker.strip()
    if value.lower() in ("off", "none", "0", "false"):
        return None
    return Reranker.load(Path(value).expanduser() if value else MODEL_FILE)
