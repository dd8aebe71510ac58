"""Sentences of UN text: a paragraph cut into verbatim spans (:func:`split_sentences`).

Aware of UN abbreviations (``para. 5``, ``No. 3``, ``e.g.``), symbols and decimals, and sub-items
(``(a) ...; (b) ...``) with the lead-in they depend on. Every span is a slice of the paragraph's text, which is
what lets an answer quote it and :func:`occurs_in` check the quote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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



def occurs_in(sentence: str, paragraph: str) -> bool:
    """The extractive check: the sentence occurs in the paragraph (whitespace runs folded)."""
    return bool(sentence.strip()) and _fold(sentence) in _fold(paragraph)


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
