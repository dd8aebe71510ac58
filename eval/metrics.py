"""Retrieval metrics, computed by ranx from what the search returned.

What the search returns for a question is a list of *results* best first;
each result shows one paragraph and may list the same paragraph, word for
word, in other documents (``also_in``, when repeats are collapsed). A result is
a :data:`Slot`: the keys (:func:`eval.questions.para_key`) of the paragraph it
shows, then of its ``also_in`` paragraphs.

A result counts for every gold paragraph it holds, shown or in ``also_in``,
at its own rank: the user sees them all in that one place. So that ranx
scores this, the run handed to it is built per question as follows
(:func:`scored_run`): each result becomes its gold members, best grade first,
or, if it holds no gold, the shown paragraph alone; a paragraph already met
higher up is not counted again. Then

* ``recall@c``: share of the gold found in the first ``c`` results
  (ranx ``recall`` on the run cut after ``c`` results, so a result holding
  several gold paragraphs counts them all, even at rank ``c``);
* ``mrr@c``: 1 / rank of the first result holding any gold, 0 beyond ``c``
  (ranx ``mrr`` on the run cut after ``c`` results);
* ``ndcg@c``: ranx ``ndcg@c`` (linear gain, as pytrec_eval and BEIR), the
  gold members of one result at consecutive positions.

Without ``also_in`` (BEIR, or ``collapse`` off) this is exactly the usual
run: one result, one paragraph, one position.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping

Slot = tuple[str, ...]  # keys of one result: the shown paragraph, then its also_in paragraphs
Results = Mapping[str, list[Slot]]  # question id -> results, best first
Qrels = Mapping[str, Mapping[str, int]]  # question id -> {paragraph key: grade}

METRICS = ("recall@1", "recall@5", "recall@10", "recall@100", "mrr@10", "ndcg@10")
CURVE_KS = (1, 2, 3, 5, 10, 20, 30, 50, 100)

_METRIC_RE = re.compile(r"^(recall|mrr|ndcg)@(\d+)$")


def scored_run(results: Results, qrels: Qrels, max_results: int | None = None) -> dict[str, dict[str, float]]:
    """The run ranx scores (see the module docstring): for every question of ``qrels``,
    {paragraph key: score}, scores strictly decreasing down the list."""
    run: dict[str, dict[str, float]] = {}
    for qid, gold in qrels.items():
        entries: list[str] = []
        seen: set[str] = set()
        for slot in list(results.get(qid, []))[:max_results]:
            members = [m for m in dict.fromkeys(slot) if m not in seen]
            if not members:
                continue
            seen.update(members)
            hits = sorted((m for m in members if gold.get(m, 0) > 0), key=lambda m: -gold[m])
            entries.extend(hits or members[:1])
        run[qid] = {key: float(len(entries) - i) for i, key in enumerate(entries)}
    return run


def _ranx_per_question(qrels: Qrels, run: dict[str, dict[str, float]], metrics: list[str]
                       ) -> dict[str, dict[str, float]]:
    from ranx import Qrels as RQrels
    from ranx import Run as RRun
    from ranx import evaluate

    if not any(run.values()):  # ranx cannot build a run without a single result: every figure is 0
        return {m: {q: 0.0 for q in qrels} for m in metrics}
    r_run = RRun(run)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's "unsafe cast from uint64 to int64" on hashed ids
        evaluate(RQrels({q: dict(g) for q, g in qrels.items()}), r_run, metrics, return_mean=False,
                 save_results_in_run=True, threads=1)
    return {m: {q: float(v) for q, v in r_run.scores[m].items()} for m in metrics}


def per_question(qrels: Qrels, results: Results, metrics: Iterable[str] = METRICS) -> dict[str, dict[str, float]]:
    """{metric: {question id: value}} for every question of ``qrels`` (a question with no results scores 0)."""
    metrics = list(metrics)
    if not qrels:
        return {m: {} for m in metrics}
    # Which run each metric is read from: cut after c results (recall, mrr) or whole (ndcg), and the ranx name.
    plan: dict[int | None, list[tuple[str, str]]] = {}
    for m in metrics:
        match = _METRIC_RE.match(m)
        if not match:
            raise ValueError(f"unsupported metric {m!r}: use recall@k, mrr@k or ndcg@k")
        name, c = match.group(1), int(match.group(2))
        if name == "ndcg":
            plan.setdefault(None, []).append((m, m))
        else:
            plan.setdefault(c, []).append((m, name))
    out: dict[str, dict[str, float]] = {}
    for cut, wanted in plan.items():
        run = scored_run(results, qrels, cut)
        names = sorted({r for _, r in wanted})
        scores = _ranx_per_question(qrels, run, names)
        for m, r in wanted:
            out[m] = scores[r]
    return {m: out[m] for m in metrics}


def mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def summarize(per_q: dict[str, dict[str, float]], ids: Iterable[str] | None = None) -> dict[str, float]:
    """Mean of each metric over the questions ``ids`` (all when None)."""
    out = {}
    for m, by_q in per_q.items():
        keep = by_q if ids is None else {q: by_q[q] for q in ids if q in by_q}
        out[m] = mean(keep.values())
    return out


def breakdown(per_q: dict[str, dict[str, float]], groups: Mapping[str, str]) -> dict[str, dict[str, float]]:
    """{group: {"n": questions, metric: mean}} for a question -> group mapping (kind, language)."""
    members: dict[str, list[str]] = {}
    for qid, g in groups.items():
        members.setdefault(g, []).append(qid)
    return {g: {"n": len(ids), **summarize(per_q, ids)} for g, ids in sorted(members.items())}


def recall_curve(qrels: Qrels, results: Results, ks: Iterable[int] = CURVE_KS) -> dict[int, float]:
    """Mean recall after each number of results ``k`` in ``ks`` (for the chart)."""
    ks = list(ks)
    per_q = per_question(qrels, results, [f"recall@{k}" for k in ks])
    return {k: mean(per_q[f"recall@{k}"].values()) for k in ks}
