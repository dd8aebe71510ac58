"""The model's answer: numbered passages in a prompt, the reply's ``[n]`` markers mapped back to citations, and
every citation checked against the passage it names (:func:`supports`) before it is shown.

See :mod:`service.answer` for the rules, and :mod:`service.llm` for the client.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

import numpy as np

from parasearch.analysis import terms
from service.answer_types import NOT_FOUND_TEXT, Answer, AnswerSentence, cite, compose
from service.llm import LLMClient, LLMError
from service.search import Hit, SearchEngine, SearchOutcome
from service.sentences import split_sentences

LEXICAL_MIN = 0.5
SEMANTIC_MIN = 0.6
LEXICAL_FLOOR = 0.25

SYSTEM_PROMPT = """You answer questions about United Nations documents using only the numbered passages given.
Rules:
- Answer in 1 to 4 short sentences, in the language of the question.
- End every sentence with the number of the passage that supports it in square brackets, e.g. [2], or [1][3].
- State only what the passages say. Cite only the passage numbers given.
- If the passages do not answer the question, reply exactly: NOT FOUND"""

MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,;\u2013-]\s*\d{1,3})*)\]")
_MARKERS_AFTER_STOP = re.compile(r"([.!?])((?:\s*\[\d{1,3}(?:\s*[,;\u2013-]\s*\d{1,3})*\])+)")
NOT_FOUND_REPLY = re.compile(r"^\W*not\s+found\W*$", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass
class Prompt:
    messages: list[dict[str, str]]
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
    for m in MARKER.finditer(raw):
        numbers.extend(n for n in _numbers_in(m.group(1)) if n not in numbers)
    text = MARKER.sub("", raw)
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
            cites = [cite(self.passages[n]) for n in backed]
            out.append(AnswerSentence(text, cites, bool(cites)))
        return out


def split_reply(text: str) -> list[str]:
    """The sentences of a model's reply (markers kept with the sentence they end)."""
    return [s.text for s in split_sentences(normalize_reply(text)) if MARKER.sub("", s.text).strip(" .")]


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
    if NOT_FOUND_REPLY.match(reply.strip()):
        return Answer(outcome.query, NOT_FOUND_TEXT, [], outcome, "llm", False, (time.perf_counter() - t0) * 1000)
    sentences = SupportChecker(engine, prompt.passages, engine.answer_arm(outcome.language)).check(split_reply(reply))
    if not any(s.supported for s in sentences):
        raise LLMError("no backed citations")
    return Answer(outcome.query, compose(sentences), sentences, outcome, "llm", True,
                  (time.perf_counter() - t0) * 1000)

