"""Snippets: a paragraph's text, HTML-escaped, with the query's matching terms in ``<mark>``."""

from __future__ import annotations

import html

from parasearch.analysis import DEFAULT_LANGUAGE, terms, word_spans


def query_terms(query: str, language: str | None = DEFAULT_LANGUAGE) -> set[str]:
    """The query's terms as they are matched in text of ``language`` (stop words dropped)."""
    return set(terms(query, language))


def highlight(text: str, qterms: set[str], language: str | None = DEFAULT_LANGUAGE) -> str:
    """Escape ``text`` (in ``language``) for HTML and wrap each word whose stem is a query term in ``<mark>``."""
    out: list[str] = []
    pos = 0
    for start, end, stem in word_spans(text, language):
        if stem in qterms:
            out.append(html.escape(text[pos:start]))
            out.append(f"<mark>{html.escape(text[start:end])}</mark>")
            pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)
