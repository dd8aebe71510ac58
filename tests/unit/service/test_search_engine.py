"""service.search.SearchEngine end to end on the synthetic index (tests.unit.synthetic: a bag-of-words encoder, no
model): the three modes, a document or paragraph named in the query, notices, pages, sorting and facets."""

from __future__ import annotations

import pytest

from parasearch.errors import InvalidRequest
from service.search import facet_counts, newest_first, query_words, search_page
from tests.unit.synthetic import hit, row


def citations(outcome) -> list[str]:
    return [h.row.citation for h in outcome.hits]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_each_mode_ranks_the_paragraphs_that_answer_first(sample_engine, mode: str) -> None:
    outcome = sample_engine.search("prevent trafficking of synthetic drugs across borders", k=3, mode=mode)
    assert citations(outcome)[:2] == ["A/RES/79/10, para. 1", "A/RES/78/10, para. 1"]
    assert [h.rank for h in outcome.hits] == list(range(1, len(outcome.hits) + 1))
    ranked_by = "fused" if mode == "hybrid" else mode
    assert all(ranked_by in h.scores for h in outcome.hits)
    assert outcome.hits[0].snippet.count("<mark>") >= 2  # the query's words marked in the snippet


def test_hybrid_records_each_modes_rank(sample_engine) -> None:
    first = sample_engine.search("technical assistance to counter the smuggling of migrants", k=1).hits[0]
    assert first.row.citation == "CTOC/COP/WG.2/2013/5, para. 2"
    assert first.scores["dense"]["rank"] == first.scores["bm25"]["rank"] == first.scores["fused"]["rank"] == 1
    assert first.score == first.scores["fused"]["score"]


def test_a_named_paragraph_comes_first_then_the_rest_of_its_document(sample_engine) -> None:
    outcome = sample_engine.search("A/RES/78/10 para 2")
    assert outcome.reference is not None and outcome.reference.para == "2"
    assert citations(outcome) == ["A/RES/78/10, para. 2", "A/RES/78/10, preamble, para. 1", "A/RES/78/10, para. 1"]
    assert outcome.hits[0].scores["reference"] == {"rank": 1, "score": 1.0}


def test_a_named_document_and_words_searches_that_document(sample_engine) -> None:
    outcome = sample_engine.search("res 79/10 trafficking")
    assert {h.row.symbol for h in outcome.hits} == {"A/RES/79/10"}
    assert citations(outcome)[0] == "A/RES/79/10, para. 1"


def test_a_document_the_index_lacks_is_said_not_ignored(sample_engine) -> None:
    outcome = sample_engine.search("A/RES/80/1 para 2")
    assert outcome.hits == []
    assert outcome.notice == "The index holds no document A/RES/80/1."
    outcome = sample_engine.search("A/RES/80/1 synthetic drugs")
    assert outcome.notice == ("The index holds no document A/RES/80/1; showing the closest paragraphs of other "
                              "documents.")
    assert citations(outcome)[0] in ("A/RES/79/10, para. 1", "A/RES/78/10, para. 1")
    outcome = sample_engine.search("A/RES/78/10 para 9 drugs")
    assert outcome.notice == "A/RES/78/10 has no paragraph 9; showing its closest paragraphs."
    assert {h.row.symbol for h in outcome.hits} == {"A/RES/78/10"}


def test_a_question_in_french_is_answered_from_the_french_version(sample_engine) -> None:
    outcome = sample_engine.search("Quel est le mandat du Groupe d'experts sur la Libye ?", k=2)
    assert outcome.language == "fr"
    first = outcome.hits[0]
    assert (first.row.citation, first.row.language, first.versions) == ("S/RES/2700 (2023), para. 1", "fr", ["en"])


def test_a_question_in_a_script_no_document_is_written_in_gets_a_notice(sample_engine) -> None:
    outcome = sample_engine.search("Группа экспертов по Ливии", k=2)
    assert outcome.notice is not None and "no documents in Russian" in outcome.notice


def test_a_bad_mode_is_refused(sample_engine) -> None:
    with pytest.raises(InvalidRequest, match="mode must be one of hybrid, dense, bm25"):
        sample_engine.search("drugs", mode="semantic")


def test_pages_are_slices_of_one_ranked_list(sample_engine) -> None:
    whole = search_page(sample_engine, "Decides", k=20)
    assert not whole.has_more
    first, second = (search_page(sample_engine, "Decides", k=2, offset=o) for o in (0, 2))
    assert [h.row.citation for h in first.hits + second.hits] == [h.row.citation for h in whole.hits][:4]
    assert first.has_more and first.pool == whole.pool
    with pytest.raises(InvalidRequest):
        search_page(sample_engine, "Decides", k=0)
    with pytest.raises(InvalidRequest):
        search_page(sample_engine, "Decides", sort="title")


def test_by_date_newest_first(sample_engine) -> None:
    page = search_page(sample_engine, "Decides", k=20, sort="date", collapse=False)
    dates = [h.row.date for h in page.hits]
    dated = [d for d in dates if d]
    assert dated == sorted(dated, reverse=True)
    assert dates[-1] is None  # undated last
    ranks = [h.rank for h in page.hits]
    assert sorted(ranks) == list(range(1, len(ranks) + 1))  # each keeps its rank by relevance


def test_newest_first_keeps_the_ranked_order_among_equal_dates() -> None:
    hits = [hit(row("A/1", date=None), 1), hit(row("A/2", date="2023"), 2), hit(row("A/3", date="2023-05-01"), 3),
            hit(row("A/4", date="2024-01-02"), 4), hit(row("A/5", date="2023-05-01"), 5)]
    assert [h.row.symbol for h in newest_first(hits)] == ["A/4", "A/3", "A/5", "A/2", "A/1"]


def test_facet_counts() -> None:
    hits = [hit(row("A/RES/1", "1", doc_id=0, date="2024-01-01")),
            hit(row("A/RES/1", "2", doc_id=0, date="2024-01-01")),
            hit(row("S/RES/2", "1", doc_id=1, body="Security Council", date="2023-05-05", language="fr")),
            hit(row("X/1", doc_id=2, body=None, type=None, date=None))]
    facets = facet_counts(hits)
    assert [(f.value, f.paragraphs, f.documents) for f in facets["body"]] == [
        ("General Assembly", 2, 1), ("Security Council", 1, 1)]
    assert [(f.value, f.paragraphs) for f in facets["year"]] == [("2024", 2), ("2023", 1)]
    assert [(f.value, f.documents) for f in facets["language"]] == [("en", 2), ("fr", 1)]
    assert [(f.value, f.paragraphs) for f in facets["type"]] == [("resolution", 3)]


def test_query_words() -> None:
    assert query_words("What did the Council decide on the mandate?") == 5  # stop words are not counted
    assert query_words("安全理事会") == 9 * 0.25  # Chinese: characters and pairs, a quarter each
