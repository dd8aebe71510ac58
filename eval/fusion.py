"""A study of hybrid fusion: RRF with other constants, and convex combinations of normalized scores.

``parasearch eval --fusion-study --beir ../shared/bench/scifact --beir ../shared/bench/arguana``

For each question the dense and BM25 candidate lists are fetched once, as the
engine fetches them for hybrid search (:meth:`SearchEngine.dense`,
:meth:`SearchEngine.bm25`, ``max(100, 3k)`` deep), then fused offline:

* ``rrf k=K``: sum of 1 / (K + rank) over the lists (the engine's first fusion was K = 60);
* ``minmax w=W`` / ``zscore w=W``: W * dense + (1 - W) * bm25 after per-query
  min-max or z-score normalization of each list's scores; a paragraph missing
  from one list gets that list's lowest normalized score.

The weight W is tuned on SciFact's **train** qrels (the first BEIR set given
that has ``qrels/train.tsv``), never on the test queries it is reported on.
The search path's other steps (a document reference in the query, collapsing
repeats) are not applied: the figures compare fusions, not the whole engine.
The row named by :data:`ENGINE` (z-score, the engine's weight) reproduces the engine's hybrid mode on BEIR sets.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from eval import metrics as M
from eval.questions import QuestionSet, para_key
from parasearch.progress import progress_bar
from parasearch.types import normalize_symbol
from service.search import DENSE_WEIGHT, SearchEngine, fuse_convex

Fusion = Callable[["Lists"], tuple[np.ndarray, np.ndarray]]  # a question's candidate lists -> fused ids, scores

RRF_KS = (5, 10, 20, 40, 60, 100)
ENGINE = f"zscore w={DENSE_WEIGHT:.2f}"  # the fusion service.search uses now
WEIGHTS = tuple(round(w, 2) for w in np.arange(0.0, 1.0001, 0.05))
REPORTED = ("ndcg@10", "recall@10", "recall@100", "mrr@10")


@dataclass
class Lists:
    dense: tuple[np.ndarray, np.ndarray]  # paragraph ids, scores (best first)
    bm25: tuple[np.ndarray, np.ndarray]


def candidate_lists(engine: SearchEngine, qset: QuestionSet, k: int, *, progress: bool = True) -> dict[str, Lists]:
    n = max(100, 3 * k)
    out: dict[str, Lists] = {}
    for q in progress_bar(qset.questions, desc=f"{qset.name} candidates", unit="q", disable=not progress):
        out[q.id] = Lists(engine.dense(q.query, n, None), engine.bm25(q.query, n, None))
    return out


def _rrf(lists: Lists, k_rrf: float) -> tuple[np.ndarray, np.ndarray]:
    ids = np.concatenate([lists.dense[0], lists.bm25[0]])
    ranks = np.concatenate([np.arange(1, len(lists.dense[0]) + 1), np.arange(1, len(lists.bm25[0]) + 1)])
    uniq, inv = np.unique(ids, return_inverse=True)
    fused = np.zeros(len(uniq))
    np.add.at(fused, inv, 1.0 / (k_rrf + ranks))
    return uniq, fused


def _minmax(scores: np.ndarray) -> np.ndarray:
    s = scores.astype(np.float64)
    if len(s) == 0:
        return s
    span = s.max() - s.min()
    return (s - s.min()) / span if span > 0 else np.ones_like(s)


def _convex(lists: Lists, w: float, how: str) -> tuple[np.ndarray, np.ndarray]:
    """The engine's convex fusion (:func:`service.search.fuse_convex`), with z-score or min-max normalisation."""
    (d_ids, d_sc), (b_ids, b_sc) = lists.dense, lists.bm25
    if how == "zscore":
        return fuse_convex(d_ids, d_sc, b_ids, b_sc, w)
    return fuse_convex(d_ids, d_sc, b_ids, b_sc, w, normalize=_minmax)


def fused_results(qset: QuestionSet, lists: dict[str, Lists], keys: list[str], k: int,
                  fuse: Fusion, engine: SearchEngine | None = None,
                  collapse: bool = False) -> dict[str, list[M.Slot]]:
    """Results per question for one fusion; with ``collapse``, repeats are collapsed by the engine's own
    rule (:meth:`SearchEngine._collapse`), as the service shows them."""
    results: dict[str, list[M.Slot]] = {}
    for q in qset.questions:
        ids, scores = fuse(lists[q.id])
        ranked = ids[np.argsort(-scores, kind="stable")].astype(np.int64)
        if collapse and engine is not None:
            groups = [(shown, *also) for shown, _, also in engine._collapse(ranked, None, k, True)]
        else:
            groups = [(int(i),) for i in ranked]
        slots: list[M.Slot] = []
        own = normalize_symbol(q.id) + "#" if qset.ignore_identical_ids else None
        for group in groups:
            slot = tuple(keys[i] for i in group if own is None or not keys[i].startswith(own))
            if not slot:
                continue
            slots.append(slot)
            if len(slots) == k:
                break
        results[q.id] = slots
    return results


def variants() -> list[tuple[str, Fusion]]:
    out: list[tuple[str, Fusion]] = [(f"rrf k={k}", partial(_rrf, k_rrf=k)) for k in RRF_KS]
    for how in ("minmax", "zscore"):
        out += [(f"{how} w={w:.2f}", partial(_convex, w=float(w), how=how)) for w in WEIGHTS]
    return out


def paragraph_keys(engine: SearchEngine) -> list[str]:
    rows = engine.index.rows(list(range(engine.index.n_paragraphs)))
    return [para_key(rows[i].symbol, rows[i].para) for i in range(engine.index.n_paragraphs)]


def score_variants(qset: QuestionSet, lists: dict[str, Lists], keys: list[str], k: int,
                   engine: SearchEngine | None = None, collapse: bool = False) -> dict[str, dict[str, Any]]:
    """{fusion: {"per_question": {metric: {question: value}}, metric: mean}}."""
    qrels = qset.qrels()
    out: dict[str, dict[str, Any]] = {}
    for name, fuse in variants():
        results = fused_results(qset, lists, keys, k, fuse, engine, collapse)
        per_q = M.per_question(qrels, results, REPORTED)
        out[name] = {"per_question": per_q, **M.summarize(per_q)}
    return out


def study(sets: list[tuple[QuestionSet, SearchEngine, bool]], tune: tuple[QuestionSet, SearchEngine] | None,
          k: int, *, progress: bool = True) -> dict[str, Any]:
    """Figures of every fusion on every ``(set, engine, collapse)``, and the weights tuned on ``tune``
    (a train split), with a paired randomization test of each tuned fusion against the engine's RRF."""
    result: dict[str, Any] = {"k": k, "sets": {}, "tuned": {}, "significance": {}}
    if tune is not None:
        qset, engine = tune
        tuned = score_variants(qset, candidate_lists(engine, qset, k, progress=progress), paragraph_keys(engine), k)
        result["tuning_set"] = f"{qset.name} ({qset.info.get('split')}, {len(qset.questions)} queries)"
        result["tuning_figures"] = tuned
        for family in ("rrf", "minmax", "zscore"):
            best = max((v for v in tuned if v.startswith(family)), key=lambda v: tuned[v]["ndcg@10"])
            result["tuned"][family] = best
    for qset, engine, collapse in sets:
        keys = paragraph_keys(engine)
        figures = score_variants(qset, candidate_lists(engine, qset, k, progress=progress), keys, k, engine, collapse)
        result["sets"][qset.name] = figures
        base = figures[ENGINE]["per_question"]["ndcg@10"]
        result["significance"][qset.name] = {
            v: paired_randomization(base, figures[v]["per_question"]["ndcg@10"]) for v in result["tuned"].values()
        }
        for v in figures.values():
            v.pop("per_question")
    for v in result.get("tuning_figures", {}).values():
        v.pop("per_question", None)
    return result


def paired_randomization(a: dict[str, float], b: dict[str, float], trials: int = 10000, seed: int = 0
                         ) -> dict[str, float]:
    """Two-sided paired randomization test of mean(b - a) over the questions (Fisher's, as in IR practice)."""
    diffs = np.array([b[q] - a[q] for q in a])
    if len(diffs) == 0:
        return {"delta": 0.0, "p": 1.0, "better": 0, "worse": 0}
    observed = abs(diffs.mean())
    signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=(trials, len(diffs)))
    p = float(((np.abs((signs * diffs).mean(axis=1)) >= observed - 1e-12).sum() + 1) / (trials + 1))
    return {"delta": float(diffs.mean()), "p": p, "better": int((diffs > 1e-9).sum()),
            "worse": int((diffs < -1e-9).sum())}


def render(result: dict[str, Any]) -> str:
    from eval.report import fmt, label, markdown_table

    shown = [ENGINE] + [v for v in result["tuned"].values() if v != ENGINE]
    for extra in ("rrf k=20", "minmax w=0.50", "zscore w=0.50"):
        if extra not in shown:
            shown.append(extra)
    cols = ("ndcg@10", "recall@10", "recall@100")
    header = ["fusion", *(f"{name} {label(m)}" for name in result["sets"] for m in cols)]
    rows = []
    for v in shown:
        tag = " (engine now)" if v == ENGINE else (" (tuned)" if v in result["tuned"].values() else "")
        rows.append([v + tag, *(fmt(result["sets"][s][v][m]) for s in result["sets"] for m in cols)])
    text = "## Hybrid fusion study\n\n" + markdown_table(header, rows)
    sig_rows = [[s, v, f"{r['delta']:+.4f}", f"{r['p']:.4f}", f"{r['better']}/{r['worse']}"]
                for s, by_v in result.get("significance", {}).items() for v, r in by_v.items()]
    if sig_rows:
        text += (f"\n\nnDCG@10 of each tuned fusion against {ENGINE}, paired randomization test (10,000 trials):"
                 "\n\n" + markdown_table(["set", "fusion", "Δ nDCG@10", "p", "questions better/worse"], sig_rows,
                                         ["l", "l", "r", "r", "r"]))
    if result.get("tuning_set"):
        t = result["tuning_figures"]
        tuned = ", ".join(f"{v} {t[v]['ndcg@10']:.4f}" for v in result["tuned"].values())
        text += (f"\n\nTuned on {result['tuning_set']} (best nDCG@10 of each family there): {tuned}; "
                 f"{ENGINE} there: {t[ENGINE]['ndcg@10']:.4f}.")
    else:
        print("fusion study: no set with a train split to tune on; weights are not tuned", file=sys.stderr)
    return text + "\n"
