"""service.lists: a question whose answer spans documents gets one line per document, newest first, each citing its
paragraph, and only documents about the question's topic (on a synthetic index: tests.unit.synthetic)."""

from __future__ import annotations

import pytest

from service.lists import is_list_question, list_items, topic_first
from service.search import SearchOutcome
from tests.unit.synthetic import Doc, hit, tiny_engine

RENEWALS = [
    Doc("S/RES/2676 (2023)", [("preamble-1", "Recalling its resolutions on the Sudan,"),
                              ("1", "Decides to extend the mandate of the Panel of Experts until 12 March 2024.")],
        date="2023-03-08", body="Security Council"),
    Doc("S/RES/2644 (2022)", [("preamble-1", "Reaffirming its commitment to the sovereignty of Libya,"),
                              ("1", "Decides to extend the mandate of the Panel of Experts until 15 May 2024.")],
        date="2022-07-01", body="Security Council"),
    Doc("S/RES/2701 (2023)", [("preamble-1", "Recalling its resolutions on Libya,"),
                              ("1", "Decides to extend the mandate of the Panel of Experts until 15 May 2025.")],
        date="2023-10-02", body="Security Council"),
    Doc("S/RES/2600 (2021)", [("1", "Condemns the attacks on civilians in Libya.")], date="2021-09-01",
        body="Security Council"),
]
QUESTION = "Which resolutions extended the mandate of the Panel of Experts on Libya?"


@pytest.fixture(scope="module")
def engine():
    return tiny_engine(RENEWALS)


@pytest.mark.parametrize(("question", "is_list"), [
    (QUESTION, True),
    ("When did the Council extend the mandate of UNSMIL?", True),
    ("When was the mandate of the Panel renewed?", True),
    # a one-time act has one answer, not a list of documents
    ("When was the Working Group established?", False),
    ("When did the General Assembly adopt the Convention?", False),
    ("List all resolutions on Haiti", True),
    ("Quelles résolutions ont prorogé le mandat ?", True),
    ("What is the mandate of the Panel of Experts on Libya?", False),
    ("What does resolution 2701 (2023) decide?", False),
    ("", False),
])
def test_list_questions(question: str, is_list: bool) -> None:
    assert is_list_question(question) is is_list


def ranked(engine, order: list[str]) -> SearchOutcome:
    """A search outcome for QUESTION with the engine's paragraphs in the order given (by citation)."""
    by_citation = {r.citation: r for r in engine.index.rows(list(range(engine.index.n_paragraphs))).values()}
    hits = [hit(by_citation[c], rank, 10.0 - rank) for rank, c in enumerate(order, 1)]
    return SearchOutcome(QUESTION, "hybrid", hits, 0.0)


# The Sudan renewal reads like the Libya ones and may rank first: only the preamble names the country.
ORDER = ["S/RES/2676 (2023), para. 1", "S/RES/2644 (2022), para. 1", "S/RES/2701 (2023), para. 1",
         "S/RES/2701 (2023), preamble, para. 1", "S/RES/2600 (2021), para. 1"]


def test_one_line_per_document_about_the_topic_newest_first(engine) -> None:
    items = list_items(engine, ranked(engine, ORDER))
    assert [(it.hit.row.citation, it.date) for it in items] == [
        ("S/RES/2701 (2023), para. 1", "2023-10-02"), ("S/RES/2644 (2022), para. 1", "2022-07-01")]
    # the same from the engine's own ranking
    items = list_items(engine, engine.search(QUESTION, k=30))
    assert [it.hit.row.citation for it in items] == ["S/RES/2701 (2023), para. 1", "S/RES/2644 (2022), para. 1"]


def test_results_about_the_topic_come_first(engine) -> None:
    reordered = topic_first(engine, ranked(engine, ORDER))
    assert [h.row.citation for h in reordered.hits] == [
        "S/RES/2644 (2022), para. 1", "S/RES/2701 (2023), para. 1", "S/RES/2701 (2023), preamble, para. 1",
        "S/RES/2676 (2023), para. 1", "S/RES/2600 (2021), para. 1"]
    assert [h.rank for h in reordered.hits] == [1, 2, 3, 4, 5]
    already = ranked(engine, ORDER[1:])
    assert topic_first(engine, already) is already  # the first result is about the topic: unchanged


def test_no_results_no_lines(engine) -> None:
    assert list_items(engine, engine.search("A/RES/80/1 para 2")) == []
