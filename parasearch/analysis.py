"""Lexical analysis shared by the BM25 index (indexer) and queries (service).

Tokens keep what delegates type to find a document: symbols and numbers such
as ``2672``, ``79/191``, ``WG.2``, ``A/RES/79/191`` survive whole (and their
parts are indexed too), words are lower-cased, English stop words dropped and
the rest stemmed with PyStemmer's English (Porter2) stemmer.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

# Lucene's English stop words (as used by the Anserini BM25 baselines).
STOP_WORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there "
    "these they this to was will with".split()
)

# A "word" is a run of letters/digits, optionally joined by . / - when digits or
# capitals are involved (symbols, references, numbers): 79/191, WG.2, A/RES/79/191.
_TOKEN_RE = re.compile(r"\w+(?:[./-]\w+)*", re.UNICODE)
_HAS_DIGIT = re.compile(r"\d")


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def terms(text: str) -> list[str]:
    """Index/query terms of ``text``: stemmed words plus whole symbols and references."""
    out: list[str] = []
    stem = _stemmer().stemWord
    for m in _TOKEN_RE.finditer(_fold(text)):
        tok = m.group(0)
        if any(c in tok for c in "./-"):
            if _HAS_DIGIT.search(tok):
                out.append(tok)  # the reference as typed: 79/191, wg.2, a/res/79/191
            parts = [p for p in re.split(r"[./-]", tok) if p]
        else:
            parts = [tok]
        for p in parts:
            if p in STOP_WORDS or p == "_":
                continue
            out.append(p if _HAS_DIGIT.search(p) else stem(p))
    return out


def word_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, stemmed term) for each word of ``text``: used to mark matches in snippets."""
    stem = _stemmer().stemWord
    spans = []
    for m in re.finditer(r"\w+", text):
        w = _fold(m.group(0))
        spans.append((m.start(), m.end(), w if _HAS_DIGIT.search(w) else stem(w)))
    return spans
