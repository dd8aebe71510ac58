"""The extractive answer: up to three sentences of the lead passage, or "not found" when the evidence is weak.

See :mod:`service.answer` for how it is chosen and checked. The calibration figures behind the thresholds are in
docs/evaluation.md ("Answers").
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np

from parasearch.analysis import terms
from parasearch.settings import settings
from service.answer_types import NOT_FOUND_TEXT, Answer, AnswerSentence, cite, compose
from service.search import Hit, SearchEngine, SearchOutcome
from service.sentences import Span, occurs_in, split_sentences

# Calibrated with eval/answer_calibration.py (k=8) on the full English corpus, and with the SC resolutions in
# French and Spanish too: the absent-topic questions score below the answerable dev questions, and this value lies
# in the gap on either index, so that none of either is on the wrong side (docs/evaluation.md, "Tuned constants").
DEFAULT_THRESHOLD = 0.52
THRESHOLD_ENV = "PARASEARCH_ANSWER_THRESHOLD"
# The confidence compares the question's vector with sentence vectors of one model (SearchEngine.answer_arm:
# all-MiniLM-L6-v2 for English or unknown-language questions, multilingual-e5-small for the others), so the
# threshold is that model's. e5's cosines run high for unrelated texts too, so its threshold is higher and its
# margin narrow; calibrated the same way over the full English corpus with both models, scoring every question
# with e5 (eval/answer_calibration.py --arm 0; docs/evaluation.md, "Six languages", "Answers").
MODEL_THRESHOLDS = {"all-MiniLM-L6-v2": DEFAULT_THRESHOLD, "multilingual-e5-small": 0.888}
# A question in a language the index holds no document in is compared across languages: its cosines run lower,
# and no word of it occurs in the passages (coverage 0). Calibrated over the English Security Council resolutions
# with the cross-lingual questions (eval/question_sets/xl_*.jsonl) and the absent topics asked in Arabic, Chinese,
# French, Russian and Spanish (eval.answer_calibration --crosslingual): a narrow gap, to be replaced by a learned
# confidence (issue 12; docs/evaluation.md, "Tuned constants").
CROSSLINGUAL_THRESHOLDS = {"multilingual-e5-small": 0.815}
COVERAGE_WEIGHT = 0.15  # weight of the question-term coverage in the confidence

MAX_SENTENCES = 3
# Passages whose sentences are candidates (and judged for "not found"). 4 since the learned re-ranker: /answer is
# much faster than with 8 (python -m bench.rerank), and the calibrated thresholds still sort the calibration
# questions about as they did with 8 (docs/evaluation.md, "Tuned constants").
MAX_PASSAGES = 4
MIN_WORDS = 4  # shorter segments ("Other matters.") are not answers
MMR_LAMBDA = 0.7
DUPLICATE_SIM = 0.92  # a sentence this similar to a chosen one says the same thing
# Choosing the passage an answer rests on (passage_priority): a preambular paragraph loses this much fused score.
# The share of the development questions whose cited lead passage is gold rises with it up to 4, where it levels
# off (fused scores with the metadata priors differ by several points between the top passages); measured on the
# English index and with the SC resolutions in French and Spanish (docs/evaluation.md, "Answers").
PREAMBLE_PRIOR = 4.0
# The same on the learned re-ranker's scores (when the engine has one), chosen among 0, 1, 2 and 4 by the share
# of the development questions whose lead is gold, cross-validated (python -m eval.train_ranker,
# eval/out/ranker-cv.json; docs/evaluation.md, "Tuned constants").
RERANK_PREAMBLE_PRIOR = 2.0
LEXICAL_WEIGHT = 0.5  # selection: weight of the question's (rarer) words found in the sentence
# Words that shape a question rather than name its subject (stemmed as terms() stems them).
QUESTION_WORDS = frozenset(terms(
    "what which who whom whose when where why how did does do has have had was were is are can could would may "
    "might according say said tell told ask asked"
))


def answer_threshold(engine: SearchEngine | None = None, arm: int = 0, crosslingual: bool = False) -> float:
    """The not-found threshold: ``PARASEARCH_ANSWER_THRESHOLD``, else the one calibrated for the model of the
    engine's arm ``arm`` (the answer arm; ``crosslingual``: for a question in a language the index lacks), else
    the default."""
    default = DEFAULT_THRESHOLD
    if engine is not None:
        name = engine.encoders[arm].name
        default = MODEL_THRESHOLDS.get(name, DEFAULT_THRESHOLD)
        if crosslingual:
            default = CROSSLINGUAL_THRESHOLDS.get(name, default)
    asked = settings().answer_threshold
    return default if asked is None else asked


def confidence(outcome: SearchOutcome, sentence_max: float) -> dict[str, float]:
    """The evidence that the passages answer the question.

    ``sentence``: the best candidate sentence's cosine similarity to the question;
    ``dense``: the best passage's dense (cosine) score; ``coverage``: the share of the
    question's content terms that occur in the top three passages (BM25's evidence);
    ``score`` = ``sentence + COVERAGE_WEIGHT * coverage``, compared with the threshold.
    """
    dense = max((h.scores["dense"]["score"] for h in outcome.hits if "dense" in h.scores), default=0.0)
    rest = outcome.reference.rest if outcome.reference else outcome.query
    qterms = {t for t in terms(rest) if not t.isdigit()}
    if qterms:
        found_terms: set[str] = set()
        for h in outcome.hits[:3]:
            found_terms |= set(terms(h.row.text))
        coverage = len(qterms & found_terms) / len(qterms)
    else:
        coverage = 0.0
    score = sentence_max + COVERAGE_WEIGHT * coverage
    return {"score": round(float(score), 4), "sentence": round(float(sentence_max), 4),
            "dense": round(float(dense), 4), "coverage": round(coverage, 4)}


def lexical_overlap(question: str, texts: list[str]) -> np.ndarray:
    """Share of the question's terms each text contains, each term weighted by its rarity among ``texts``.

    A word of the question that few candidate sentences contain ("families" among sentences
    that all say "witnesses") tells most about which sentence answers it.
    """
    q = set(terms(question)) - QUESTION_WORDS
    if not q or not texts:
        return np.zeros(len(texts))
    found = [set(terms(t)) & q for t in texts]
    df = Counter(t for f in found for t in f)
    weight = {t: math.log(1 + len(texts) / (1 + df[t])) for t in q}
    total = sum(weight.values())
    return np.array([sum(weight[t] for t in f) / total for f in found])


def mmr(rel: np.ndarray, vecs: np.ndarray, *, n: int = MAX_SENTENCES, eligible: np.ndarray | None = None,
        lam: float = MMR_LAMBDA) -> list[int]:
    """Indices of up to ``n`` items by maximal marginal relevance (best first), among ``eligible`` ones."""
    if len(rel) == 0:
        return []
    eligible = np.ones(len(rel), dtype=bool) if eligible is None else eligible
    sims = vecs @ vecs.T
    chosen = [int(np.argmax(np.where(eligible, rel, -np.inf)))]
    while len(chosen) < n:
        redundancy = sims[:, chosen].max(axis=1)
        score = lam * rel - (1 - lam) * redundancy
        score[~eligible | (redundancy >= DUPLICATE_SIM)] = -np.inf
        score[chosen] = -np.inf
        best = int(np.argmax(score))
        if not np.isfinite(score[best]):
            break
        chosen.append(best)
    return chosen


def passage_priority(hits: list[Hit]) -> np.ndarray:
    """Which passage an answer should rest on (the highest value).

    The retrieval score (re-ranked: the re-ranker's, less ``RERANK_PREAMBLE_PRIOR`` for a preambular paragraph;
    hybrid: the fused score, already on a z scale; other modes: z-normalised over
    the pool), less ``PREAMBLE_PRIOR`` for a resolution's preambular paragraphs ("Recalling...",
    "Noting..."): they give the background, while what the body asks, urges or decides is in its
    operative paragraphs.
    """
    if hits and all("rerank" in h.scores for h in hits):  # re-ranked: the learned score, which knows the kind
        z = np.array([h.scores["rerank"]["score"] for h in hits], dtype=np.float64)
        pre = np.array([h.row.para.startswith("preamble-") for h in hits], dtype=np.float64)
        return z - RERANK_PREAMBLE_PRIOR * pre
    if all("fused" in h.scores for h in hits):  # hybrid: already on a z scale (over each mode's top 100)
        z = np.array([h.scores["fused"]["score"] for h in hits], dtype=np.float64)
    else:
        s = np.array([h.score for h in hits], dtype=np.float64)
        z = (s - s.mean()) / s.std() if len(s) > 1 and s.std() > 0 else np.zeros(len(s))
    pre = np.array([h.row.para.startswith("preamble-") for h in hits], dtype=np.float64)
    return z - PREAMBLE_PRIOR * pre


@dataclass
class _Candidate:
    hit: Hit
    span: Span


def extractive_answer(engine: SearchEngine, outcome: SearchOutcome, *, threshold: float | None = None,
                      method: str = "extractive", arm: int | None = None) -> Answer:
    """Up to ``MAX_SENTENCES`` sentences of the lead passage (a sub-item with its lead-in), or the not-found
    answer when the evidence is weak. Sentences are scored with the model of dense arm ``arm`` (default:
    :meth:`SearchEngine.answer_arm` for the question's language)."""
    t0 = time.perf_counter()
    arm = engine.answer_arm(outcome.language) if arm is None else arm
    if threshold is None:
        threshold = answer_threshold(engine, arm, engine.crosslingual(outcome.language))
    question = outcome.query
    exact = [h for h in outcome.hits if "reference" in h.scores]
    pool = exact or outcome.hits[:MAX_PASSAGES]
    cands = [_Candidate(h, s) for h in pool for s in split_sentences(h.row.text)
             if len(s.text.split()) >= MIN_WORDS and not s.text.endswith(":")]  # a lead-in alone answers nothing
    if not cands:  # only very short segments: judge whole paragraphs
        cands = [_Candidate(h, Span(0, len(h.row.text), h.row.text)) for h in pool if h.row.text.strip()]
    if not cands:
        return Answer(question, NOT_FOUND_TEXT, [], outcome, method, False, (time.perf_counter() - t0) * 1000,
                      confidence(outcome, 0.0))

    rest = outcome.reference.rest if outcome.reference else question
    qvec = engine.embed_query(rest or question, arm)
    vecs = engine.encoders[arm].encode([c.span.context for c in cands])  # one batch for all candidates
    rel = vecs @ qvec
    conf = confidence(outcome, float(rel.max()))  # the not-found decision: meaning, helped by term coverage
    found = bool(exact) or conf["score"] >= threshold
    if not found:
        return Answer(question, NOT_FOUND_TEXT, [], outcome, method, False, (time.perf_counter() - t0) * 1000, conf)

    if exact and not (outcome.reference and outcome.reference.rest):
        picked = list(range(min(MAX_SENTENCES, len(cands))))  # "what does para 5 say": its opening sentences
    else:
        # The answer rests on one passage: any paragraph the question names, else the lead passage.
        lead = pool[int(np.argmax(passage_priority(pool)))]
        eligible = np.array([bool(exact) or c.hit is lead for c in cands])
        sel = rel + LEXICAL_WEIGHT * lexical_overlap(rest or question, [c.span.context for c in cands])
        picked = mmr(sel, vecs, eligible=eligible)
    picked.sort(key=lambda i: (cands[i].hit.rank, cands[i].span.start))
    sentences = []
    shown: set[tuple[int, str]] = set()
    for i in picked:
        c = cands[i]
        if not occurs_in(c.span.text, c.hit.row.text):  # never show a citation the text does not bear out
            continue
        # A sub-item ("(a) Provide the Council ...") reads only after its lead-in ("Requests the
        # Secretary-General to:"): the lead-in, from the same paragraph, goes first, once.
        if c.span.lead and (c.hit.rank, c.span.lead) not in shown and occurs_in(c.span.lead, c.hit.row.text):
            shown.add((c.hit.rank, c.span.lead))
            sentences.append(AnswerSentence(c.span.lead, [cite(c.hit)], True, None))
        sentences.append(AnswerSentence(c.span.text, [cite(c.hit)], True, round(float(rel[i]), 4)))
    found = bool(sentences)
    text = compose(sentences) if found else NOT_FOUND_TEXT
    return Answer(question, text, sentences, outcome, method, found, (time.perf_counter() - t0) * 1000, conf)

