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

import threading
import time
from collections.abc import Generator, Iterator
from contextlib import closing
from typing import Any

from service.answer_types import NOT_FOUND_TEXT, Answer, AnswerSentence, compose
from service.confidence import calibration_of, lead_probability, state_of
from service.extractive import extractive_answer
from service.lists import LIST_K, is_list_question, list_items, topic_first
from service.llm import LLMClient, LLMError, check_cancel
from service.llm_answer import (
    MARKER,
    NOT_FOUND_REPLY,
    SupportChecker,
    build_prompt,
    generative_answer,
    normalize_reply,
    split_reply,
)
from service.search import Filters, SearchEngine, SearchOutcome
from service.sentences import split_sentences

ANSWER_K = 8  # passages retrieved for an answer unless the caller asks for another number


def retrieve(engine: SearchEngine, question: str, *, k: int = ANSWER_K, mode: str = "hybrid",
             filters: Filters | None = None) -> SearchOutcome:
    """The passages for an answer: ``k``, or ``LIST_K`` for a list question (its lines come from many
    documents); the answer itself rests on the first ``MAX_PASSAGES``."""
    if not is_list_question(question):
        return engine.search(question, k=k, mode=mode, filters=filters)
    return topic_first(engine, engine.search(question, k=max(k, LIST_K), mode=mode, filters=filters))



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
                  threshold: float | None = None, cancel: threading.Event | None = None
                  ) -> Generator[Event, None, None]:
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
                if len(segs) >= 2 and MARKER.sub("", segs[-1].text).strip(" ."):
                    done_raw = [s.text for s in segs[:-1] if MARKER.sub("", s.text).strip(" .")]
                    buffer = buffer[segs[-1].start:]
                    yield from finish(done_raw)
        if not reply.strip():
            raise LLMError("malformed reply", "empty answer")
        if NOT_FOUND_REPLY.match(reply.strip()):
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
