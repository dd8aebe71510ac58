"""Snippets: a paragraph's text, HTML-escaped, with the query's matching terms in ``<mark>``."""

from __future__ import annotations

import html

from parasearch.analysis import STOP_WORDS, terms, word_spans


def query_terms(query: str) -> set[str]:
    return {t for t in terms(query) if t not in STOP_WORDS}


def highlight(text: str, qterms: set[str]) -> str:
    """Escape ``text`` for HTML and wrap each word whose stem is a query term in ``<mark>``."""
    out: list[str] = []
    pos = 0
    for start, end, stem in word_spans(text):
        if stem in qterms:
            out.append(html.escape(text[pos:start]))
            out.append(f"<mark>{html.escape(text[start:end])}</mark>")
            pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)
