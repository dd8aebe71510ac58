"""Short answers to questions, every sentence cited to a paragraph that backs it.

Two answerers share retrieval (hybrid search over paragraphs) and the rule that
**a citation the system cannot back is never shown**:

Extractive (the default; no language model)
    The top passages are split into sentences (:func:`split_sentences`, aware of UN
    abbreviations and sub-items), all candidate sentences are encoded in one batch with
    the already loaded sentence model and scored by cosine similarity to the question.
    The answer rests on **one passage**, the lead (:func:`passage_priority`: the best
    retrieval score, where a resolution's operative paragraphs come before its preambular
    ones), or on the paragraphs the question names. Citing only the lead is what keeps the
    citations right: on the development questions, 0.41 of the citations were gold when each
    of 2-3 sentences could come from any of the top passages, against 0.72 (English index)
    and 0.77 (with French and Spanish) citing the lead only; see docs/evaluation.md.
    Up to ``MAX_SENTENCES`` of the lead's sentences are picked with maximal marginal
    relevance (MMR), so that none repeats another, preferring sentences that also contain
    the question's rarer words (:func:`lexical_overlap`, ``LEXICAL_WEIGHT``), and shown in
    reading order; a sub-item ("(a) ...") is preceded by its lead-in ("Requests the
    Secretary-General to:"). Each sentence is a verbatim slice of its paragraph; before it is
    returned the code checks that the text occurs in the cited paragraph's text.

    When the evidence is too weak (see :func:`confidence`: the best sentence's cosine
    similarity, helped a little by the share of question terms found in the passages,
    below :func:`answer_threshold`), the answer is "The documents do not contain an
    answer to this question." (``found=False``) and the closest passages are still returned.
    A question that names a paragraph that exists (``A/RES/79/191 para 59``) is always
    answered from that paragraph.

    Language versions: the passages come from :meth:`SearchEngine.search`, which shows a paragraph indexed in
    several languages once, in the question's language (``SearchOutcome.language``) when that version is
    indexed and passes the filters. So when the lead passage ranked best in another language, the answer quotes
    the question's language version of the same symbol and paragraph, with the same citation; each citation
    says which version it quotes (``AnswerCitation.language``) and which others exist (``versions``).

Generative (when ``PARASEARCH_LLM_URL`` is set; see :mod:`service.llm`)
    The passages are numbered ``[1]..[n]`` in the prompt, packed into a token budget
    counted with tiktoken; the model must end every sentence with ``[n]``. Citations are
    mapped back to symbol and paragraph in code. A number that names no passage given is
    dropped; every remaining citation must pass the **support check** (:func:`supports`):

    * the sentence's content terms (stemmed, stop words dropped) are mostly in the
      passage: lexical support >= ``LEXICAL_MIN`` (0.5), or
    * the sentence means what the passage says: cosine similarity of the two embeddings
      >= ``SEMANTIC_MIN`` (0.6) with lexical support of at least ``LEXICAL_FLOOR`` (0.25);
    * and every number in the sentence (dates, amounts, article numbers) occurs in the
      passages it cites.

    A sentence left with no backed citation is flagged ``supported=False``, kept out of the
    answer text and shown without citations. Time-outs, HTTP errors, malformed replies and
    replies without a single backed sentence fall back to the extractive answer; ``method``
    says which answered (``"llm"``, ``"extractive"``, ``"extractive (llm failed: timeout)"``).

Cancelling: :func:`answer_question` and :func:`stream_answer` take ``cancel``, a :class:`threading.Event` the
HTTP routes set when the client goes away. It is checked between the stages (retrieval, the model, the
extractive answer) and, through :mod:`service.llm`, after every piece of the model's reply: the work stops with
:class:`~service.llm.Cancelled` (the model's connection closed), which is not a model failure, so no extractive
answer is computed for nobody.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from parasearch.analysis import terms
from parasearch.config import env_float
from service.confidence import calibration_of, lead_probability, state_of
from service.lists import LIST_K, ListItem, is_list_question, list_items, topic_first
from service.llm import LLMClient, LLMError, check_cancel
from service.search import Filters, Hit, SearchEngine, SearchOutcome

NOT_FOUND_TEXT = "The documents do not contain an answer to this question."

# Calibrated with eval/answer_calibration.py (k=8): on the full English corpus (1,685 documents, 82,804
# paragraphs) the 16 absent-topic questions score up to 0.439 and the 56 dev questions the threshold decides from
# 0.604; with the SC resolutions in French and Spanish too (2,300 documents), up to 0.417 and from 0.623
# (4 more name a paragraph and are answered from it). 0.52 lies in both gaps: 16/16 absent not found,
# 0/56 answerable not found, on either index.
DEFAULT_THRESHOLD = 0.52
THRESHOLD_ENV = "PARASEARCH_ANSWER_THRESHOLD"
# The confidence compares the question's vector with sentence vectors of one model (SearchEngine.answer_arm:
# all-MiniLM-L6-v2 for English or unknown-language questions, multilingual-e5-small for the others), so the
# threshold is that model's. e5's cosines run high for unrelated texts too; calibrated the same way over the full
# English corpus with both models, scoring every question with e5 (eval/answer_calibration.py --arm 0): absent
# topics up to 0.885, answerable questions from 0.892 (2/56 below 0.888, 15/16 absent-topic questions below).
MODEL_THRESHOLDS = {"all-MiniLM-L6-v2": DEFAULT_THRESHOLD, "multilingual-e5-small": 0.888}
# A question in a language the index holds no document in is compared across languages: its cosines run lower,
# and no word of it occurs in the passages (coverage 0). Calibrated over the English Security Council resolutions
# with the 65 cross-lingual questions (eval/question_sets/xl_*.jsonl; scores from 0.811) and the 16 absent topics
# asked in Arabic, Chinese, French, Russian and Spanish (eval.answer_calibration --crosslingual; up to 0.836, 15
# of 16 below 0.815): a narrow gap, to be replaced by a learned confidence (issue 12).
CROSSLINGUAL_THRESHOLDS = {"multilingual-e5-small": 0.815}
COVERAGE_WEIGHT = 0.15  # weight of the question-term coverage in the confidence

MAX_SENTENCES = 3
# Passages whose sentences are candidates (and judged for "not found"). 4 since the learned re-ranker: on the full
# English index /answer p50 208 -> 106 ms (python -m bench.rerank), with the calibration still met: English
# 0/56 answerable and 16/16 absent-topic questions on the right side of 0.52 (as with 8), cross-lingual 3/65 and
# 15/16 of 0.815 (2/65 and 15/16 with 8).
MAX_PASSAGES = 4
ANSWER_K = 8  # passages retrieved for an answer unless the caller asks for another number
MIN_WORDS = 4  # shorter segments ("Other matters.") are not answers
MMR_LAMBDA = 0.7
DUPLICATE_SIM = 0.92  # a sentence this similar to a chosen one says the same thing
# Choosing the passage an answer rests on (passage_priority): a preambular paragraph loses this much fused score.
# Share of the development questions whose cited lead passage is gold, for 0 / 1 / 2 / 3 (before reports were
# dated by their symbol; docs/evaluation.md): English index 0.617 / 0.650 / 0.683 / 0.683; with the SC resolutions
# in French and Spanish 0.667 / 0.700 / 0.733 / 0.733. On the final code, 2 / 4 / 6 / 100: English 0.700 / 0.717 /
# 0.717 / 0.717, with fr/es 0.750 / 0.767 / 0.767 / 0.767: 4 is where it levels off (fused scores with the
# metadata priors differ by several points between the top passages).
PREAMBLE_PRIOR = 4.0
# The same on the learned re-ranker's scores (when the engine has one): share of the development questions whose
# lead is gold, cross-validated (python -m eval.train_ranker, eval/out/ranker-cv.json), for 0 / 1 / 2 / 4:
# 0.678 / 0.678 / 0.695 / 0.695 (the fused order with PREAMBLE_PRIOR 4: 0.712).
RERANK_PREAMBLE_PRIOR = 2.0
LEXICAL_WEIGHT = 0.5  # selection: weight of the question's (rarer) words found in the sentence
# Words that shape a question rather than name its subject (stemmed as terms() stems them).
QUESTION_WORDS = frozenset(terms(
    "what which who whom whose when where why how did does do has have had was were is are can could would may "
    "might according say said tell told ask asked"
))

LEXICAL_MIN = 0.5
SEMANTIC_MIN = 0.6
LEXICAL_FLOOR = 0.25


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
    return env_float(THRESHOLD_ENV, default)


# ---------------------------------------------------------------------------------------------
# Sentences of UN text
# ---------------------------------------------------------------------------------------------

ABBREVIATIONS = frozenset(
    """para paras subpara subparas no nos art arts e.g i.e cf mr mrs ms dr prof st vol vols pp p ch chap
    sect sec rev corr add approx inc ltd co vs viz al fig figs op cit ibid ed eds jr sr gen gov rep res doc
    suppl sess nr resp incl est jan feb mar apr jun jul aug sep sept oct nov dec h.e u.s u.k u.n""".split()
)

# A sub-item label at the start of a segment: (a) (iv) a) - •
ITEM_LABEL = re.compile(
    r"(?:(?:and|or) )?(?:\((?:[a-z]{1,2}|[ivxlc]{1,6}|\d{1,2})\)|(?:[a-z]|[ivx]{1,4})\)|[-•\u2013*]\s)"
)
# Terminal punctuation and closing quotes/brackets, followed by whitespace and a sentence start.
_END = re.compile(r"([.!?]+)[\"'\u201d\u2019)\]]*(?=\s+[\"'\u201c\u2018(\[]?[A-Z\u00C0-\u00DE])")
# In-line enumerations: before "(b) " or "and (c) " that follows ";" or ":".
_ITEM_BREAK = re.compile(r"(?<=[;:])\s+(?=(?:(?:and|or) )?\((?:[a-z]{1,2}|[ivxlc]{1,6})\)\s)")
_DOTTED = re.compile(r"(?:[a-z]\.)+[a-z]")


@dataclass(frozen=True)
class Span:
    """A sentence of a paragraph: ``paragraph_text[start:end] == text``."""

    start: int
    end: int
    text: str
    lead: str = ""  # the lead-in a sub-item depends on ("States should:"), "" otherwise

    @property
    def context(self) -> str:
        """What the segment is judged by: its lead-in, if any, and itself."""
        return f"{self.lead} {self.text}" if self.lead else self.text


def _word_before(text: str, dot: int) -> str:
    """The run of non-space characters that ends at ``dot`` (as ``(\\S+)$`` matches ``text[:dot]``, a final
    newline aside), found by walking back from ``dot``: searching ``text[:dot]`` from its start made
    :func:`split_sentences` quadratic in the length of the text."""
    end = dot - 1 if dot > 0 and text[dot - 1] == "\n" else dot  # `$` also matches before a final newline
    start = end
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    return text[start:end]


def _closes_abbreviation(text: str, dot: int) -> bool:
    word_before = _word_before(text, dot)
    if not word_before:
        return False
    raw = word_before.lstrip("(\"'\u201c\u2018[")
    word = raw.lower()
    return word in ABBREVIATIONS or bool(_DOTTED.fullmatch(word)) or (len(raw) == 1 and raw.isalpha())


def _cuts(text: str) -> list[int]:
    cuts: set[int] = set()
    for m in _END.finditer(text):
        if m.group(1) == "." and _closes_abbreviation(text, m.start(1)):
            continue
        cuts.add(m.end())
    cuts.update(m.start() for m in _ITEM_BREAK.finditer(text))
    cuts.update(m.start() for m in re.finditer(r"\n", text))
    return sorted(cuts)


def split_sentences(text: str) -> list[Span]:
    """The sentences and list segments of ``text`` as verbatim spans, in order.

    Handles ``para. 5``, ``No. 3``, ``art. 26``, ``e.g.``, ``i.e.``, initials and dotted
    acronyms (no break), symbols and decimals (``WG.2``, ``1.5``: no break, as no space
    follows the stop), sub-items ``(a) ...; (b) ...`` in-line or on their own lines (one
    segment each, remembering the lead-in that ends with ``:``), and line breaks.
    """
    out: list[Span] = []
    prev = 0
    lead = ""
    for cut in [*_cuts(text), len(text)]:
        raw = text[prev:cut]
        offset = prev
        prev = cut
        stripped = raw.strip()
        if not stripped:
            continue
        start = offset + raw.index(stripped)
        is_item = bool(ITEM_LABEL.match(stripped))
        out.append(Span(start, start + len(stripped), stripped, lead if is_item else ""))
        if stripped.endswith(":"):
            lead = stripped
        elif not is_item:
            lead = ""
    return out


# ---------------------------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------------------------


@dataclass
class AnswerCitation:
    symbol: str
    para: str
    citation: str
    passage: int  # 1-based number of the passage (its rank in ``Answer.outcome.hits``)
    language: str = ""  # the language version quoted
    versions: list[str] = field(default_factory=list)  # the other languages the document is indexed in


@dataclass
class AnswerSentence:
    text: str
    citations: list[AnswerCitation] = field(default_factory=list)
    supported: bool = True  # False: no citation could be backed; not part of the answer text
    score: float | None = None  # extractive: cosine similarity to the question


@dataclass
class Answer:
    question: str
    answer: str
    sentences: list[AnswerSentence]
    outcome: SearchOutcome  # the passages, best first
    method: str
    found: bool
    took_ms: float = 0.0
    confidence: dict[str, float] = field(default_factory=dict)
    # "answer", "closest" (shown, but possibly not answering) or "not_found"; see settle()
    state: str = ""
    items: list[ListItem] = field(default_factory=list)  # a list question's answer: one line per document


def compose(sentences: list[AnswerSentence]) -> str:
    """The answer text: backed sentences in order, each run of sentences citing the same paragraphs led once by
    those citations (``S/RES/2542 (2020), para. 7: Decides ...``)."""
    runs: list[tuple[str, list[str]]] = []  # (bracketed citations, texts)
    for s in sentences:
        if not (s.supported and s.citations):
            continue
        cites = "; ".join(c.citation for c in s.citations)
        if runs and runs[-1][0] == cites:
            runs[-1][1].append(s.text)
        else:
            runs.append((cites, [s.text]))
    return " ".join(f"{cites}: {' '.join(texts)}" for cites, texts in runs) if runs else NOT_FOUND_TEXT


def _cite(hit: Hit) -> AnswerCitation:
    return AnswerCitation(symbol=hit.row.symbol, para=hit.row.para, citation=hit.row.citation, passage=hit.rank,
                          language=hit.row.language, versions=list(hit.versions))


def occurs_in(sentence: str, paragraph: str) -> bool:
    """The extractive check: the sentence occurs in the paragraph (whitespace runs folded)."""
    fold = lambda s: re.sub(r"\s+", " ", s).strip()  # noqa: E731
    return bool(sentence.strip()) and fold(sentence) in fold(paragraph)


def retrieve(engine: SearchEngine, question: str, *, k: int = ANSWER_K, mode: str = "hybrid",
             filters: Filters | None = None) -> SearchOutcome:
    """The passages for an answer: ``k``, or ``LIST_K`` for a list question (its lines come from many
    documents); the answer itself rests on the first ``MAX_PASSAGES``."""
    if not is_list_question(question):
        return engine.search(question, k=k, mode=mode, filters=filters)
    return topic_first(engine, engine.search(question, k=max(k, LIST_K), mode=mode, filters=filters))


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
            sentences.append(AnswerSentence(c.span.lead, [_cite(c.hit)], True, None))
        sentences.append(AnswerSentence(c.span.text, [_cite(c.hit)], True, round(float(rel[i]), 4)))
    found = bool(sentences)
    text = compose(sentences) if found else NOT_FOUND_TEXT
    return Answer(question, text, sentences, outcome, method, found, (time.perf_counter() - t0) * 1000, conf)


# ---------------------------------------------------------------------------------------------
# Generative answers: prompt, citations, support
# ---------------------------------------------------------------------------------------------

SYSTEM_PROMPT = """You answer questions about United Nations documents using only the numbered passages given.
Rules:
- Answer in 1 to 4 short sentences, in the language of the question.
- End every sentence with the number of the passage that supports it in square brackets, e.g. [2], or [1][3].
- State only what the passages say. Cite only the passage numbers given.
- If the passages do not answer the question, reply exactly: NOT FOUND"""

_MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,;\u2013-]\s*\d{1,3})*)\]")
_MARKERS_AFTER_STOP = re.compile(r"([.!?])((?:\s*\[\d{1,3}(?:\s*[,;\u2013-]\s*\d{1,3})*\])+)")
_NOT_FOUND = re.compile(r"^\W*not\s+found\W*$", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass
class Prompt:
    messages: list[dict]
    passages: dict[int, Hit]  # passage number -> hit, only those in the prompt
    tokens: int


def _passage_block(n: int, hit: Hit, text: str) -> str:
    head = f"[{n}] {hit.row.citation}" + (f" ({hit.row.title})" if hit.row.title else "")
    return f"{head}\n{text}"


def build_prompt(question: str, hits: list[Hit], token_budget: int) -> Prompt:
    """Numbered passages, best first, as many as fit in ``token_budget`` (cl100k_base tokens).

    A passage that does not fit is left out (a later, shorter one may still fit); the
    first passage is cut to fit rather than left out, so the model always has one.
    """
    from indexer.tokens import count_tokens, encoding

    question_part = f"Question: {question}\n\nPassages:\n\n"
    tail = "\n\nAnswer with [n] citations:"
    blocks = [_passage_block(h.rank, h, h.row.text) for h in hits]
    fixed, q_tokens, tail_tokens, *block_tokens = count_tokens([SYSTEM_PROMPT, question_part, tail, *blocks])
    used = fixed + q_tokens + tail_tokens + 12  # message framing
    chosen: list[str] = []
    passages: dict[int, Hit] = {}
    for hit, block, n in zip(hits, blocks, block_tokens, strict=True):
        if used + n + 2 <= token_budget:
            chosen.append(block)
            passages[hit.rank] = hit
            used += n + 2
        elif not chosen and token_budget - used > 50:
            room = token_budget - used - 2
            head = count_tokens([_passage_block(hit.rank, hit, "")])[0]
            ids = encoding().encode_ordinary(hit.row.text)[: max(0, room - head - 1)]
            chosen.append(_passage_block(hit.rank, hit, encoding().decode(ids) + " \u2026"))
            passages[hit.rank] = hit
            used += room
    user = question_part + "\n\n".join(chosen) + tail
    messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]
    return Prompt(messages, passages, used)


def _numbers_in(marker: str) -> list[int]:
    out: list[int] = []
    for part in re.split(r"\s*[,;]\s*", marker):
        if m := re.fullmatch(r"(\d+)\s*[\u2013-]\s*(\d+)", part):
            lo, hi = int(m.group(1)), int(m.group(2))
            out.extend(range(lo, hi + 1) if 0 < hi - lo < 20 else (lo, hi))
        elif part.strip().isdigit():
            out.append(int(part))
    return out


def normalize_reply(text: str) -> str:
    """Markers written after the full stop (``... members. [2]``) moved before it (``... members [2].``)."""
    return _MARKERS_AFTER_STOP.sub(lambda m: f"{m.group(2)}{m.group(1)}", text)


def parse_sentence(raw: str) -> tuple[str, list[int]]:
    """A reply sentence without its ``[n]`` markers, and the passage numbers it cites, in order."""
    numbers: list[int] = []
    for m in _MARKER.finditer(raw):
        numbers.extend(n for n in _numbers_in(m.group(1)) if n not in numbers)
    text = _MARKER.sub("", raw)
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    text = re.sub(r"\s{2,}", " ", text).strip()
    text = re.sub(r"^[-*\u2022]\s+|^\d+\.\s+", "", text)  # list bullets of the reply
    return text, numbers


def lexical_support(sentence: str, passage: str) -> float:
    """Share of the sentence's content terms (stemmed, no stop words) that occur in the passage."""
    s = {t for t in terms(sentence) if not t.isdigit()}
    if not s:
        return 0.0
    return len(s & set(terms(passage))) / len(s)


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def supports(sentence: str, passage: str, cosine: float) -> bool:
    """Whether the passage backs the sentence (the documented support check, numbers apart)."""
    lex = lexical_support(sentence, passage)
    return lex >= LEXICAL_MIN or (cosine >= SEMANTIC_MIN and lex >= LEXICAL_FLOOR)


class SupportChecker:
    """Backs (or not) each citation of a reply sentence; passage vectors are encoded once."""

    def __init__(self, engine: SearchEngine, passages: dict[int, Hit], arm: int = 0) -> None:
        self.engine = engine
        self.encoder = engine.encoders[arm]  # SEMANTIC_MIN was set on all-MiniLM-L6-v2's cosines
        self.passages = passages
        self._numbers = sorted(passages)
        texts = [passages[n].row.text for n in self._numbers]
        self._vecs = self.encoder.encode(texts) if texts else np.zeros((0, 1), np.float32)
        self._row = {n: i for i, n in enumerate(self._numbers)}

    def check(self, raw_sentences: list[str]) -> list[AnswerSentence]:
        parsed = [parse_sentence(r) for r in raw_sentences]
        texts = [t for t, _ in parsed]
        svecs = self.encoder.encode(texts) if texts else np.zeros((0, 1), np.float32)  # one batch
        cos = svecs @ self._vecs.T if len(self._numbers) and len(texts) else np.zeros((len(texts), 0))
        out = []
        for i, (text, numbers) in enumerate(parsed):
            given = [n for n in numbers if n in self.passages]  # an invented [9] is dropped here
            backed = [n for n in given if supports(text, self.passages[n].row.text, float(cos[i, self._row[n]]))]
            if backed:
                cited_numbers = set().union(*(_numbers(self.passages[n].row.text) for n in backed))
                if not _numbers(text) <= cited_numbers:  # a date or amount the passages do not give
                    backed = []
            cites = [_cite(self.passages[n]) for n in backed]
            out.append(AnswerSentence(text, cites, bool(cites)))
        return out


def split_reply(text: str) -> list[str]:
    """The sentences of a model's reply (markers kept with the sentence they end)."""
    return [s.text for s in split_sentences(normalize_reply(text)) if _MARKER.sub("", s.text).strip(" .")]


def generative_answer(engine: SearchEngine, outcome: SearchOutcome, client: LLMClient, *,
                      cancel: threading.Event | None = None) -> Answer:
    """The model's answer, citations mapped and checked; raises :class:`LLMError` when unusable,
    :class:`~service.llm.Cancelled` once ``cancel`` is set."""
    t0 = time.perf_counter()
    prompt = build_prompt(outcome.query, outcome.hits, client.config.token_budget)
    if not prompt.passages:
        raise LLMError("no passages fit the token budget")
    reply = client.complete(prompt.messages, cancel=cancel)
    if not reply.strip():
        raise LLMError("malformed reply", "empty answer")
    if _NOT_FOUND.match(reply.strip()):
        return Answer(outcome.query, NOT_FOUND_TEXT, [], outcome, "llm", False, (time.perf_counter() - t0) * 1000)
    sentences = SupportChecker(engine, prompt.passages, engine.answer_arm(outcome.language)).check(split_reply(reply))
    if not any(s.supported for s in sentences):
        raise LLMError("no backed citations")
    return Answer(outcome.query, compose(sentences), sentences, outcome, "llm", True,
                  (time.perf_counter() - t0) * 1000)


# ---------------------------------------------------------------------------------------------
# Entry points: one answer, or a stream of events
# ---------------------------------------------------------------------------------------------


def fallback_method(exc: LLMError) -> str:
    return f"extractive (llm failed: {exc.reason})"


def answer_question(engine: SearchEngine, question: str, *, k: int = ANSWER_K, mode: str = "hybrid",
                    filters: Filters | None = None, llm: LLMClient | None = None,
                    threshold: float | None = None, cancel: threading.Event | None = None) -> Answer:
    """Retrieve, then answer with the model when one is configured, else (or on failure) extractively.

    Raises :class:`~service.llm.Cancelled` once ``cancel`` is set (checked between the stages and while the
    model's reply is read)."""
    t0 = time.perf_counter()
    check_cancel(cancel)
    outcome = retrieve(engine, question, k=k, mode=mode, filters=filters)
    check_cancel(cancel)
    ans: Answer | None = None
    method = "extractive"
    if llm is not None and outcome.hits:
        try:
            ans = generative_answer(engine, outcome, llm, cancel=cancel)
        except LLMError as exc:
            method = fallback_method(exc)
    check_cancel(cancel)
    if ans is None:
        ans = extractive_answer(engine, outcome, threshold=threshold, method=method)
    settle(engine, ans)
    ans.took_ms = (time.perf_counter() - t0) * 1000
    return ans


def settle(engine: SearchEngine, ans: Answer) -> Answer:
    """Add how sure the answer is (``confidence["probability"]``: that its lead passage is right, from the
    re-ranker's calibration, :mod:`service.confidence`), its ``state``, and a list question's ``items``.

    "not_found" is the answerer's decision (the calibrated evidence threshold above, or the model's "not found");
    a found answer is "answer" when the probability reaches the calibration's ``answer_at`` (held out: 9 in 10
    such leads are gold), else "closest"; a question that names its paragraph is always "answer", and without a
    re-ranker every found answer is.
    """
    outcome = ans.outcome
    calibration = calibration_of(engine)
    probability = lead_probability(calibration, outcome)
    if probability is not None:
        ans.confidence["probability"] = round(probability, 4)
    named = any("reference" in h.scores for h in outcome.hits)
    ans.state = "answer" if ans.found and named else state_of(calibration, probability, ans.found)
    if ans.state == "not_found" and ans.found:  # the answerer found one: shown, as possibly not answering
        ans.state = "closest"
    if is_list_question(outcome.query):
        ans.items = list_items(engine, outcome)
    return ans


Event = tuple[str, Any]


def _sentence_events(index: int, sentence: AnswerSentence) -> Iterator[Event]:
    yield "text", {"sentence": index, "text": sentence.text}
    for c in sentence.citations:
        yield "citation", {"sentence": index, "symbol": c.symbol, "para": c.para, "citation": c.citation,
                           "passage": c.passage, "language": c.language, "versions": c.versions}


def _extractive_events(engine: SearchEngine, outcome: SearchOutcome, method: str, threshold: float | None,
                       t0: float) -> Iterator[Event]:
    ans = extractive_answer(engine, outcome, threshold=threshold, method=method)
    if not ans.found:
        yield "text", {"sentence": None, "text": NOT_FOUND_TEXT}
    for i, s in enumerate(ans.sentences):
        yield from _sentence_events(i, s)
    settle(engine, ans)
    ans.took_ms = (time.perf_counter() - t0) * 1000
    yield "done", ans


def stream_answer(engine: SearchEngine, question: str, *, k: int = ANSWER_K, mode: str = "hybrid",
                  filters: Filters | None = None, llm: LLMClient | None = None,
                  threshold: float | None = None, cancel: threading.Event | None = None) -> Iterator[Event]:
    """The answer as events: ``passages``, then ``text`` and ``citation`` per sentence, then ``done``.

    With a model, each sentence is checked and sent as soon as the model has finished it
    (its citations follow at once); unsupported sentences are not sent. If the model fails
    before anything was sent, the extractive answer is sent instead; if it fails midway, a
    ``reset`` event tells the client to drop what it has shown, and the extractive answer
    follows. ``done`` always carries the complete answer, citations included.

    Once ``cancel`` is set the events stop with :class:`~service.llm.Cancelled`; closing the iterator closes the
    model's stream too.
    """
    t0 = time.perf_counter()
    check_cancel(cancel)
    outcome = retrieve(engine, question, k=k, mode=mode, filters=filters)
    yield "passages", outcome
    check_cancel(cancel)
    if llm is None or not outcome.hits:
        yield from _extractive_events(engine, outcome, "extractive", threshold, t0)
        return

    sentences: list[AnswerSentence] = []
    sent_any = False
    try:
        prompt = build_prompt(outcome.query, outcome.hits, llm.config.token_budget)
        if not prompt.passages:
            raise LLMError("no passages fit the token budget")
        checker = SupportChecker(engine, prompt.passages, engine.answer_arm(outcome.language))
        buffer = ""
        reply = ""

        def finish(raws: list[str]) -> Iterator[Event]:
            nonlocal sent_any
            for s in checker.check(raws):
                sentences.append(s)
                if s.supported:
                    sent_any = True
                    yield from _sentence_events(len(sentences) - 1, s)

        with closing(llm.stream(prompt.messages, cancel=cancel)) as pieces:  # closed: the connection too
            for piece in pieces:
                reply += piece
                buffer = normalize_reply(buffer + piece)
                segs = split_sentences(buffer)
                # A sentence is complete once the next one has begun with words (not just markers).
                if len(segs) >= 2 and _MARKER.sub("", segs[-1].text).strip(" ."):
                    done_raw = [s.text for s in segs[:-1] if _MARKER.sub("", s.text).strip(" .")]
                    buffer = buffer[segs[-1].start:]
                    yield from finish(done_raw)
        if not reply.strip():
            raise LLMError("malformed reply", "empty answer")
        if _NOT_FOUND.match(reply.strip()):
            yield "text", {"sentence": None, "text": NOT_FOUND_TEXT}
            yield "done", settle(engine, Answer(outcome.query, NOT_FOUND_TEXT, [], outcome, "llm", False,
                                                (time.perf_counter() - t0) * 1000))
            return
        yield from finish(split_reply(buffer))
        if not sent_any:
            raise LLMError("no backed citations")
    except LLMError as exc:
        check_cancel(cancel)
        if sent_any:
            yield "reset", {"reason": exc.reason}
        yield from _extractive_events(engine, outcome, fallback_method(exc), threshold, t0)
        return
    yield "done", settle(engine, Answer(outcome.query, compose(sentences), sentences, outcome, "llm", True,
                                        (time.perf_counter() - t0) * 1000))
