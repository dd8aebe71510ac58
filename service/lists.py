"""List answers: a question whose answer spans documents ("Which resolutions renewed the mandate of ...", "When
did the Council extend ...") is answered with one line per document, newest first, each citing its paragraph.

No language model: the lines are grouped from the re-ranked search results (``LIST_K`` of them). Going down the
results, a document is listed with its first result, as long as

- the re-ranker's score has not fallen off a cliff: each line scores within ``LIST_GAP`` of the line before it
  (the renewals of a panel's mandate score together, the other paragraphs of the same resolutions far below);
- it says the same kind of thing as the first result: it shares at least ``LIST_SHARED_TERMS`` of the first
  result's words that the question also uses;
- its document holds the question's *topic names*: names the question uses ("Libya") that some of the results'
  documents hold, in any paragraph. A resolution on Libya says "Libya" in its preamble, not in the paragraph that
  extends the Panel of Experts' mandate, which reads the same for every sanctions regime; so the first result
  itself may be another regime's renewal, and the list starts at the first result whose document holds them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from parasearch.analysis import terms
from service.search import Hit, SearchEngine, SearchOutcome

LIST_K = 30  # results searched for a list question
LIST_MAX = 12  # lines at most
LIST_SHARED_TERMS = 0.6
TOPIC_K = 2000  # paragraphs read per topic name
LIST_GAP = 1.0  # re-ranker score: a line is listed within this of the line before it
LIST_QUESTION = re.compile(
    r"^\s*(?:(?:which|what)\s+(?:\w+\s+){0,2}(?:resolutions|decisions|documents|reports|statements|texts|"
    r"meetings|sessions)\b|when\s+(?:did|has|have|was|were)\b.*\b(?:extend|renew|prolong)|"  # repeated acts only
    r"list\s+(?:all\s+|the\s+)?\w+|quelles\s+résolutions|qué\s+resoluciones|"
    r"какие\s+резолюции)",
    re.IGNORECASE)


@dataclass
class ListItem:
    hit: Hit  # the document's best result
    date: str | None


def is_list_question(question: str) -> bool:
    """Whether the question asks for several documents (which resolutions ..., when did the Council extend ...)."""
    return bool(LIST_QUESTION.search(question or ""))


def _content(text: str, language: str | None) -> set[str]:
    return {t for t in terms(text, language) if not t.isdigit()}


def _names(question: str, language: str | None) -> set[str]:
    """The terms of the names a question uses (capitalised words past its first: "Libya", "UNSMIL", "Haiti")."""
    words = re.findall(r"\w[\w'-]*", question)
    return {t for w in words[1:] if w[:1].isupper() for t in terms(w, language) if not t.isdigit()}


def _topic_documents(engine: SearchEngine, outcome: SearchOutcome) -> set[int] | None:
    """The documents that hold every *topic name* of the question: a name the question uses ("Libya") that some of
    the results' documents hold, in any paragraph (the paragraph that extends a Panel of Experts' mandate reads the
    same for every sanctions regime: only its resolution's preamble names the country). None when there is none."""
    ix = engine.index
    question = outcome.reference.rest if outcome.reference else outcome.query
    result_docs = {h.row.doc_id for h in outcome.hits}
    docs: set[int] | None = None
    for term in sorted(_names(question, engine.analysis_language(outcome.language))):
        if term not in ix.bm25.vocab_dict:
            continue
        found, scores = ix.bm25.retrieve([[term]], k=min(TOPIC_K, ix.n_paragraphs), show_progress=False,
                                         n_threads=0)
        holding = {int(d) for d in ix.para_doc[found[0][scores[0] > 0]]}
        if not holding & result_docs:
            continue  # no result is about it
        narrowed = holding if docs is None else docs & holding
        if narrowed & result_docs:  # names that no result's document holds together are not all kept
            docs = narrowed
    return docs


def topic_first(engine: SearchEngine, outcome: SearchOutcome) -> SearchOutcome:
    """A list question's results with those whose document holds the question's topic names first (each group in
    its order, ranks renumbered), so that the answer's sentences rest on a document the question is about: for
    "Which resolutions renewed the mandate of the Panel of Experts on Libya?" a renewal of another regime's panel
    may rank first. Unchanged when the question names no topic, or the first result's document holds it."""
    topic = _topic_documents(engine, outcome)
    if topic is None or not outcome.hits or outcome.hits[0].row.doc_id in topic:
        return outcome
    inside = [h for h in outcome.hits if h.row.doc_id in topic]
    if not inside:
        return outcome
    others = [h for h in outcome.hits if h.row.doc_id not in topic]
    return replace(outcome, hits=[replace(h, rank=i + 1) for i, h in enumerate(inside + others)])


def list_items(engine: SearchEngine, outcome: SearchOutcome) -> list[ListItem]:
    """The lines of a list answer from ``outcome``'s results: one per document, newest first (undated last)."""
    hits = outcome.hits
    if not hits:
        return []
    question = _content(outcome.reference.rest if outcome.reference else outcome.query,
                        engine.analysis_language(outcome.language))
    topic = _topic_documents(engine, outcome)
    first = next((h for h in hits if topic is None or h.row.doc_id in topic), None)
    if first is None:
        return []
    lead = _content(first.row.text, engine.analysis_language(first.row.language)) & question
    best: dict[str, Hit] = {}
    last = first.score
    for h in hits[hits.index(first):]:
        if "rerank" in h.scores and h.score < last - LIST_GAP:
            break  # the re-ranker's scores fall off a cliff: what follows answers something else
        key = h.row.symbol
        if key in best or (topic is not None and h.row.doc_id not in topic):
            continue
        if lead and len(lead & _content(h.row.text, engine.analysis_language(h.row.language))) < \
                LIST_SHARED_TERMS * len(lead):
            continue
        best[key] = h
        last = h.score
        if len(best) == LIST_MAX:
            break
    items = [ListItem(h, h.row.date) for h in best.values()]
    items.sort(key=lambda it: it.date or "", reverse=True)
    return items
