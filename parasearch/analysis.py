"""Lexical analysis shared by the BM25 index (indexer) and queries (service).

Tokens keep what delegates type to find a document: symbols and numbers such
as ``2672``, ``79/191``, ``WG.2``, ``A/RES/79/191`` survive whole (and their
parts are indexed too), words are lower-cased, stop words dropped and the rest
stemmed with PyStemmer's Snowball stemmer for the text's language: English
(Porter2, Lucene's stop words) by default; French, Spanish and Russian (bm25s's
stop word lists) and Arabic (no stop words) for documents and queries in those
languages. Other languages are lower-cased and split only.
"""

from __future__ import annotations

import re
import threading
import unicodedata

import Stemmer
from bm25s.stopwords import STOPWORDS_FRENCH, STOPWORDS_RUSSIAN, STOPWORDS_SPANISH

# The BM25 index records this in its manifest; indexes without it analysed every text as English (version 1).
ANALYSIS_VERSION = 2
DEFAULT_LANGUAGE = "en"

# Lucene's English stop words (as used by the Anserini BM25 baselines).
STOP_WORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there "
    "these they this to was will with".split()
)
# language code -> (Snowball algorithm or None, stop words)
LANGUAGES: dict[str, tuple[str | None, frozenset[str]]] = {
    "en": ("english", STOP_WORDS),
    "fr": ("french", frozenset(STOPWORDS_FRENCH)),
    "es": ("spanish", frozenset(STOPWORDS_SPANISH)),
    "ru": ("russian", frozenset(STOPWORDS_RUSSIAN)),
    "ar": ("arabic", frozenset()),
}

# A "word" is a run of letters/digits, optionally joined by . / - when digits or
# capitals are involved (symbols, references, numbers): 79/191, WG.2, A/RES/79/191.
_TOKEN_RE = re.compile(r"\w+(?:[./-]\w+)*", re.UNICODE)
_HAS_DIGIT = re.compile(r"\d")


_local = threading.local()


def _same(word: str) -> str:
    return word


def _analyzer(language: str | None) -> tuple:
    """(stem function, stop words) for a language code; unknown languages: no stemming, no stop words.

    PyStemmer's stemmers are not thread-safe (the service searches in a thread pool): each thread
    gets its own.
    """
    algorithm, stop = LANGUAGES.get((language or DEFAULT_LANGUAGE).lower(), (None, frozenset()))
    if algorithm is None:
        return _same, stop
    stemmers = getattr(_local, "stemmers", None)
    if stemmers is None:
        stemmers = _local.stemmers = {}
    stemmer = stemmers.get(algorithm)
    if stemmer is None:
        stemmer = stemmers[algorithm] = Stemmer.Stemmer(algorithm)
    return stemmer.stemWord, stop


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def terms(text: str, language: str | None = DEFAULT_LANGUAGE) -> list[str]:
    """Index/query terms of ``text`` (in ``language``): stemmed words plus whole symbols and references."""
    out: list[str] = []
    stem, stop = _analyzer(language)
    for m in _TOKEN_RE.finditer(_fold(text)):
        tok = m.group(0)
        if any(c in tok for c in "./-"):
            if _HAS_DIGIT.search(tok):
                out.append(tok)  # the reference as typed: 79/191, wg.2, a/res/79/191
            parts = [p for p in re.split(r"[./-]", tok) if p]
        else:
            parts = [tok]
        for p in parts:
            if p in stop or p == "_":
                continue
            out.append(p if _HAS_DIGIT.search(p) else stem(p))
    return out


def word_spans(text: str, language: str | None = DEFAULT_LANGUAGE) -> list[tuple[int, int, str]]:
    """(start, end, stemmed term) for each word of ``text``: used to mark matches in snippets."""
    stem, _ = _analyzer(language)
    spans = []
    for m in re.finditer(r"\w+", text):
        w = _fold(m.group(0))
        spans.append((m.start(), m.end(), w if _HAS_DIGIT.search(w) else stem(w)))
    return spans
