"""Snippets: a paragraph's text, HTML-escaped, with the query's matching terms in ``<mark>``.

Function words are never marked, even where the query has them and BM25 keeps them as terms: the stop words
BM25 drops in the text's language (:data:`parasearch.analysis.LANGUAGES`), and for English the longer list of
bm25s (NLTK's: "which", "about", "from" ...), which BM25 keeps for its scores; single letters ("l'", "d'") too.
"""

from __future__ import annotations

import html

from bm25s.stopwords import STOPWORDS_EN_PLUS

from parasearch.analysis import DEFAULT_LANGUAGE, LANGUAGES, is_han, normalize, terms, word_spans

# Per language: the words never marked (what BM25 drops there, and more in English).
HIGHLIGHT_STOP_WORDS: dict[str, frozenset[str]] = {
    code: stop | (frozenset(STOPWORDS_EN_PLUS) if code == "en" else frozenset())
    for code, (_, stop) in LANGUAGES.items()
}


def stop_words(language: str | None) -> frozenset[str]:
    """The words not marked in text of ``language``: its list, and English's for the Latin words of texts in
    another script (names and acronyms in Russian or Arabic texts are analysed as English too)."""
    lang = (language or DEFAULT_LANGUAGE).lower()
    own = HIGHLIGHT_STOP_WORDS.get(lang, frozenset())
    if lang in ("ru", "ar", "zh"):
        return own | HIGHLIGHT_STOP_WORDS["en"]
    return own


def query_terms(query: str, language: str | None = DEFAULT_LANGUAGE) -> set[str]:
    """The query's terms as they are matched in text of ``language`` (stop words dropped)."""
    return set(terms(query, language))


def _markable(word: str, stop: frozenset[str]) -> bool:
    w = normalize(word)
    if not w:
        return False
    if is_han(w[0]) or any(c.isdigit() for c in w):
        return True
    return len(w) > 1 and w not in stop


def highlight(text: str, qterms: set[str], language: str | None = DEFAULT_LANGUAGE) -> str:
    """Escape ``text`` (in ``language``) for HTML and wrap each word whose stem is a query term in ``<mark>``
    (never a function word: :func:`stop_words`)."""
    out: list[str] = []
    pos = 0
    stop = stop_words(language)
    for start, end, stem in word_spans(text, language):
        if stem in qterms and _markable(text[start:end], stop):
            out.append(html.escape(text[pos:start]))
            out.append(f"<mark>{html.escape(text[start:end])}</mark>")
            pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)
