"""Scoring one question set with one searcher: every figure of the results file for that set."""

from __future__ import annotations

from typing import Any

from eval import metrics as M
from eval.questions import QuestionSet
from eval.retrieve import ModeRun, Searcher, retrieve

NOTICE_EXAMPLES = 5


def score_runs(qset: QuestionSet, runs: dict[str, ModeRun], *, metrics: tuple[str, ...] = M.METRICS,
               curve_ks: tuple[int, ...] = M.CURVE_KS, keep_shown: bool | None = None) -> dict[str, dict[str, Any]]:
    """{mode: figures} from what each mode returned (see :mod:`eval.metrics` for how results are counted)."""
    qrels = qset.qrels()
    kinds, languages, collections = qset.groups("kind"), qset.groups("language"), qset.groups("collection")
    keep_shown = qset.kind != "beir" if keep_shown is None else keep_shown
    out: dict[str, dict[str, Any]] = {}
    for mode, run in runs.items():
        per_q = M.per_question(qrels, run.results, metrics)
        n = max(1, len(run.results))
        figures = {
            "all": M.summarize(per_q),
            "by_kind": M.breakdown(per_q, kinds) if kinds else {},
            "by_language": M.breakdown(per_q, languages) if languages else {},
            "by_collection": M.breakdown(per_q, collections) if collections else {},
            "recall_curve": {str(k): v for k, v in M.recall_curve(qrels, run.results, curve_ks).items()},
            "notices": len(run.notices),
            "notice_examples": dict(list(run.notices.items())[:NOTICE_EXAMPLES]),
            "self_hits_dropped": run.self_hits_dropped,
            "ms_per_query": 1000 * run.seconds / n,
            "per_question": {q: {m: per_q[m][q] for m in metrics} for q in qrels},
        }
        if keep_shown:
            figures["shown"] = run.shown
        out[mode] = figures
    return out


def metrics_for(k: int) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The metrics and recall-curve points that ``k`` results deep can measure."""
    return (tuple(m for m in M.METRICS if int(m.split("@")[1]) <= k),
            tuple(c for c in M.CURVE_KS if c <= k) or (k,))


def evaluate_set(qset: QuestionSet, searcher: Searcher, modes: list[str], k: int, *,
                 progress: bool = True) -> tuple[dict[str, Any], dict[str, ModeRun]]:
    """Search every question in every mode, ``k`` results deep, and score it: ``(set figures, raw runs)``."""
    runs = retrieve(qset, searcher, modes, k, progress=progress)
    metrics, curve_ks = metrics_for(k)
    return {"modes": score_runs(qset, runs, metrics=metrics, curve_ks=curve_ks)}, runs


def pooled_breakdown(scored: list[tuple[QuestionSet, dict[str, Any]]], attribute: str = "language"
                     ) -> dict[str, dict[str, dict[str, float]]]:
    """{mode: {group: {"n", metric: mean}}} over the questions of several sets together, grouped by
    ``attribute`` (``language``: the language each question is asked in), from each set's per-question figures
    (``scored``: the set and its ``modes`` figures). Only the modes every set was searched in."""
    if not scored:
        return {}
    modes = [m for m in scored[0][1] if all(m in figures for _, figures in scored)]
    out: dict[str, dict[str, dict[str, float]]] = {}
    for mode in modes:
        per_q: dict[str, dict[str, float]] = {}
        groups: dict[str, str] = {}
        for qset, figures in scored:
            for qid, values in figures[mode]["per_question"].items():
                key = f"{qset.name}/{qid}"
                for metric, v in values.items():
                    per_q.setdefault(metric, {})[key] = v
            groups.update({f"{qset.name}/{qid}": g for qid, g in qset.groups(attribute).items()})
        out[mode] = M.breakdown(per_q, groups) if groups else {}
    return out
