"""What an answer is: its sentences, each with the citations that back it, and the answer text they compose.

Shared by the extractive answer (:mod:`service.extractive`), the model's answer (:mod:`service.llm_answer`) and
the entry points (:mod:`service.answer`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from service.lists import ListItem
from service.search import Hit, SearchOutcome

NOT_FOUND_TEXT = "The documents do not contain an answer to this question."



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


def cite(hit: Hit) -> AnswerCitation:
    return AnswerCitation(symbol=hit.row.symbol, para=hit.row.para, citation=hit.row.citation, passage=hit.rank,
                          language=hit.row.language, versions=list(hit.versions))
