"""Lexical analysis shared by the BM25 index (indexer) and queries (service).

Tokens keep what delegates type to find a document: symbols and numbers such
as ``2672``, ``79/191``, ``WG.2``, ``A/RES/79/191`` survive whole (and their
parts are indexed too), words are lower-cased, stop words dropped and the rest
stemmed with PyStemmer's Snowball stemmer for the text's language: English
(Porter2, Lucene's stop words) by default; French, Spanish and Russian (bm25s's
stop word lists) and Arabic (no stop words) for documents and queries in those
languages. Other languages are lower-cased and split only.

Version 3 (``ANALYSIS_VERSION``) analyses the six UN languages whatever the text
is labelled: Chinese (Han) runs become overlapping character bigrams plus
unigrams (Chinese is written without spaces; bigrams found the paragraph a span
or a few words were taken from far more often than jieba's words, see
docs/evaluation.md); a Cyrillic word is stemmed as Russian and an Arabic one as
Arabic in any text, so a query whose language was not recognised, or a document
labelled wrongly, is still stemmed as what it is written in; Latin-script words
in Russian, Arabic or Chinese text are analysed as English. Text is normalised
first: combining marks (Arabic harakat, stress accents) and the Arabic tatweel
are dropped, so they no longer cut a word in pieces (a word written with marks
is a term as written too, for queries pasted with them); Arabic-Indic digits
read as 0-9, and ``ё`` as ``е``.

Indexes record the version they were built with: pass it as ``version`` so that
queries are analysed as their index was (version 2: the analysis before the
above; version 1: every text as English).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable

import Stemmer
from bm25s.stopwords import STOPWORDS_FRENCH, STOPWORDS_RUSSIAN, STOPWORDS_SPANISH

# The BM25 index records this in its manifest; indexes without it analysed every text as English (version 1);
# version 2 stemmed each text in its language but split Chinese only at punctuation and spaces.
ANALYSIS_VERSION = 3
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
# Languages not written in the Latin script: their texts' Latin words (names, acronyms) are analysed as English.
NON_LATIN = frozenset({"ru", "ar", "zh"})

# A "word" is a run of letters/digits, optionally joined by . / - when digits or
# capitals are involved (symbols, references, numbers): 79/191, WG.2, A/RES/79/191.
_TOKEN_RE = re.compile(r"\w+(?:[./-]\w+)*", re.UNICODE)
_HAS_DIGIT = re.compile(r"\d")

# Han ideographs: CJK unified ideographs and their extensions, compatibility ideographs.
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# Version 3: a run of Han characters, or a word as above of non-Han letters and digits.
_TOKEN_V3 = re.compile(rf"([{HAN}]+)|[^\W{HAN}]+(?:[./-][^\W{HAN}]+)*")
# Combining marks left after NFKC (Latin/Cyrillic accents with no precomposed form, Cyrillic titlo, Arabic harakat,
# superscript alef, Quranic marks) and the Arabic tatweel (a letter stretcher): dropped before splitting into words.
_MARKS = "\u0300-\u036f\u0483-\u0489\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed"
_DROP = re.compile(f"[{_MARKS}\u0640]")
# Words in the original text, marks included (for snippets: spans index the text as it is).
_SPAN_V3 = re.compile(rf"[{HAN}]|(?:[^\W{HAN}]|[{_MARKS}\u0640])+")
# A word written with marks (harakat: فِي, البنّاءة) is a term as written too: a query pasted with the same marks
# then finds the very text it was copied from first, and one typed without finds it among the others.
_HAS_MARK = re.compile(f"[{_MARKS}]")
_MARKED_WORD = re.compile(rf"(?:[^\W{HAN}]|\u0640)*(?:[{_MARKS}]+(?:[^\W{HAN}]|\u0640)*)+")
# Arabic-Indic and Eastern Arabic-Indic digits as ASCII; ё as е (Russian texts rarely print the diaeresis).
_FOLD_V3 = str.maketrans({**{chr(0x0660 + i): str(i) for i in range(10)},
                          **{chr(0x06F0 + i): str(i) for i in range(10)}, "ё": "е"})
_NEEDS_FOLD = re.compile("[\u0660-\u0669\u06f0-\u06f9ё]")  # str.translate is slow: only when there is something


_local = threading.local()


# A language's (stem function, stop words)
Analyzer = tuple[Callable[[str], str], frozenset[str]]


def _same(word: str) -> str:
    return word


def _analyzer(language: str | None) -> Analyzer:
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


def _plain_digits(text: str) -> str:
    return text.translate(_FOLD_V3) if _NEEDS_FOLD.search(text) else text


def normalize(text: str) -> str:
    """Text as version 3 reads it: NFKC, lower case, no combining marks or tatweel, ASCII digits, ё as е."""
    return _plain_digits(_DROP.sub("", _fold(text)))


_IS_HAN = re.compile(f"[{HAN}]")


def is_han(char: str) -> bool:
    """Whether ``char`` (one character) is a Han ideograph."""
    return _IS_HAN.match(char) is not None


def _script_analyzers(language: str | None) -> Callable[[str], Analyzer]:
    """Version 3: a function word -> (stem, stop words) choosing by the word's script, then by ``language``."""
    lang = (language or DEFAULT_LANGUAGE).lower()
    latin = _analyzer(DEFAULT_LANGUAGE if lang in NON_LATIN else lang)
    cyrillic, arabic = _analyzer("ru"), _analyzer("ar")

    def pick(word: str) -> Analyzer:
        c = word[0]
        if "\u0400" <= c <= "\u052f":
            return cyrillic
        if "\u0600" <= c <= "\u06ff" or "\u0750" <= c <= "\u077f" or "\u08a0" <= c <= "\u08ff":
            return arabic
        return latin

    return pick


def _han_terms(run: str) -> list[str]:
    """Unigrams and overlapping bigrams of a run of Han characters: 安理会 -> 安 理 会 安理 理会."""
    return list(run) + [run[i:i + 2] for i in range(len(run) - 1)]


def terms(text: str, language: str | None = DEFAULT_LANGUAGE, version: int = ANALYSIS_VERSION) -> list[str]:
    """Index/query terms of ``text`` (in ``language``): stemmed words plus whole symbols and references.

    ``version``: the analysis an index was built with (its manifest's ``analysis.version``), so that its queries
    are analysed the same way; 1 analyses every text as English, 2 is the analysis before Chinese segmentation.
    """
    if version < 3:
        return _terms_v2(text, DEFAULT_LANGUAGE if version < 2 else language)
    out: list[str] = []
    pick = _script_analyzers(language)
    folded = _fold(text)
    if _HAS_MARK.search(folded):
        out.extend(_plain_digits(w.replace("\u0640", "")) for w in _MARKED_WORD.findall(folded))
    text = _DROP.sub("", folded)
    for m in _TOKEN_V3.finditer(_plain_digits(text)):
        tok = m.group(0)
        if m.lastindex:  # a run of Han characters
            out.extend(_han_terms(tok))
            continue
        for p in _parts(tok, out):
            if p == "_":
                continue
            if _HAS_DIGIT.search(p):
                out.append(p)
                continue
            stem, stop = pick(p)
            if p not in stop:
                out.append(stem(p))
    return out


def _parts(tok: str, out: list[str]) -> list[str]:
    """The words of a token joined by . / - (``a/res/79/191``), after appending the token itself to ``out`` when
    it holds a digit (the reference as typed: 79/191, wg.2, a/res/79/191); a plain word is its own part."""
    if "." not in tok and "/" not in tok and "-" not in tok:
        return [tok]
    if _HAS_DIGIT.search(tok):
        out.append(tok)
    return [p for p in re.split(r"[./-]", tok) if p]


def _terms_v2(text: str, language: str | None) -> list[str]:
    """The analysis of indexes at version 2 (and, in English, version 1)."""
    out: list[str] = []
    stem, stop = _analyzer(language)
    for m in _TOKEN_RE.finditer(_fold(text)):
        for p in _parts(m.group(0), out):
            if p in stop or p == "_":
                continue
            out.append(p if _HAS_DIGIT.search(p) else stem(p))
    return out


def word_spans(text: str, language: str | None = DEFAULT_LANGUAGE,
               version: int = ANALYSIS_VERSION) -> list[tuple[int, int, str]]:
    """(start, end, stemmed term) for each word of ``text``: used to mark matches in snippets.

    From version 3 each Han character is a word of its own (its term: the character, which a query containing it
    has among its terms), and a word's combining marks and tatweel belong to it.
    """
    if version < 3:
        stem, _ = _analyzer(DEFAULT_LANGUAGE if version < 2 else language)
        spans = []
        for m in re.finditer(r"\w+", text):
            w = _fold(m.group(0))
            spans.append((m.start(), m.end(), w if _HAS_DIGIT.search(w) else stem(w)))
        return spans
    pick = _script_analyzers(language)
    spans = []
    for m in _SPAN_V3.finditer(text):
        w = normalize(m.group(0))
        if not w:
            continue
        if _HAS_DIGIT.search(w) or is_han(w[0]):
            spans.append((m.start(), m.end(), w))
        else:
            spans.append((m.start(), m.end(), pick(w)[0](w)))
    return spans
