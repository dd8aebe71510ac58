"""How sure the service is of what it shows: the probability that its first result, the passage an answer rests
on, is right, and a state a user can read.

The probability is a logistic model over the re-ranker's evidence about the first result (:data:`EVIDENCE`): its
re-ranker score, its lead over the second result, its cosine similarity to the question in each dense model, the
share of the question's terms it holds (in all and within a sentence's span), and whether the question is in a
language the index lacks. It is
fitted by ``python -m eval.train_ranker`` on cross-validated re-ranker outputs (no question is scored by a
re-ranker that saw it) for the hand-written questions, with the absent-topic questions of
:mod:`eval.answer_calibration` as questions whose first result is never right, and stored with the re-ranker
(its description's ``confidence``). Three states:

- ``answer``: probability >= ``answer_at``, chosen so that, on held-out folds, at least 90% of the first results
  so labelled are gold;
- ``closest``: shown, but labelled as possibly not answering;
- ``not_found``: nothing matches well. A second logistic model over the same evidence gives the probability that
  the index answers the question at all (fitted on the answerable against the absent-topic questions); "not
  found" is below ``not_found_below``, chosen so that at most 1 answerable question in 20 falls below it
  (held out; the share of absent-topic questions below it is reported with the model).

Each result also carries a relevance probability (a logistic model of its re-ranker score, fitted on the held-out
candidates), and is marked ``weak`` below ``weak_below``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from service.rerank import FEATURES
from service.search import Hit, SearchEngine, SearchOutcome

STATES = ("answer", "closest", "not_found")
EVIDENCE = ("score", "margin", "cos_minilm", "cos_e5", "coverage", "coverage_window", "crosslingual")
STATE_LABELS = {"answer": "Answer", "closest": "Closest passage", "not_found": "Not found"}


@dataclass
class Calibration:
    coef: list[float]  # per EVIDENCE
    intercept: float
    answer_at: float
    not_found_below: float
    result_coef: float  # relevance of one result from its re-ranker score
    result_intercept: float
    weak_below: float = 0.5
    # Whether the index answers the question at all (answerable against absent-topic questions), per EVIDENCE:
    # "not_found" is decided on this probability when present (else on the lead probability).
    found_coef: list[float] | None = None
    found_intercept: float = 0.0

    @classmethod
    def from_info(cls, info: dict[str, Any] | None) -> Calibration | None:
        if not info:
            return None
        return cls(**{k: info[k] for k in cls.__dataclass_fields__ if k in info})


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, x))))


def lead_evidence(outcome: SearchOutcome) -> np.ndarray | None:
    """The evidence about the first result (see :data:`EVIDENCE`), or None when the search was not re-ranked."""
    hits, pool = outcome.hits, outcome.pool
    if not hits or pool is None or "rerank" not in hits[0].scores:
        return None
    at = np.flatnonzero(pool.ids == hits[0].pid)
    if not len(at):
        return None
    row = pool.features[at[0]]
    col = {name: i for i, name in enumerate(FEATURES)}
    score = hits[0].score
    second = hits[1].score if len(hits) > 1 and "rerank" in hits[1].scores else score - 1.0
    # A model that does not serve the question's language (MiniLM for a question in Arabic) counts as 0.
    return np.nan_to_num(np.array([score, score - second, row[col["cos_minilm"]], row[col["cos_e5"]],
                                   row[col["coverage"]], row[col["coverage_window"]], row[col["crosslingual"]]],
                                  dtype=np.float64))


def probabilities(calibration: Calibration | None, outcome: SearchOutcome) -> tuple[float | None, float | None]:
    """The probability that the first result is right, and that the index answers the question at all (each None
    without a re-ranker and that part of its calibration), from one reading of the evidence."""
    x = lead_evidence(outcome) if calibration is not None else None
    if calibration is None or x is None:
        return None, None
    lead = _sigmoid(float(np.dot(calibration.coef, x) + calibration.intercept))
    if calibration.found_coef is None:
        return lead, None
    return lead, _sigmoid(float(np.dot(calibration.found_coef, x) + calibration.found_intercept))


def lead_probability(calibration: Calibration | None, outcome: SearchOutcome) -> float | None:
    """The probability that the first result is right (None without a re-ranker and its calibration)."""
    return probabilities(calibration, outcome)[0]


def match_probability(calibration: Calibration | None, outcome: SearchOutcome) -> float | None:
    """The probability that the index answers the question at all (None without that part of the calibration)."""
    return probabilities(calibration, outcome)[1]


def state_of(calibration: Calibration | None, probability: float | None, found: bool = True,
             matched: float | None = None) -> str:
    """``answer``, ``closest`` or ``not_found`` (see the module docstring); ``found``: what the answerer decided;
    ``matched``: :func:`match_probability`, which decides "not_found" when given (else ``probability`` does)."""
    if not found:
        return "not_found"
    if calibration is None or probability is None:
        return "answer"
    if (matched if matched is not None else probability) < calibration.not_found_below:
        return "not_found"
    return "answer" if probability >= calibration.answer_at else "closest"


def result_probability(calibration: Calibration | None, hit: Hit) -> float | None:
    """The probability that one result is relevant, from its re-ranker score."""
    if calibration is None or "rerank" not in hit.scores:
        return None
    return _sigmoid(calibration.result_coef * hit.scores["rerank"]["score"] + calibration.result_intercept)


def calibration_of(engine: SearchEngine) -> Calibration | None:
    """The calibration that comes with the engine's re-ranker (None without one)."""
    reranker = getattr(engine, "reranker", None)
    return None if reranker is None else Calibration.from_info(reranker.info.get("confidence"))
