"""service.search's filters (symbol, body, type, language, date range) as document masks over the synthetic index
(tests.unit.synthetic.SAMPLE), and in a search: only what passes them is ever shown."""

from __future__ import annotations

import numpy as np
import pytest

from parasearch.errors import InvalidRequest
from service.search import Filters

# document ids of tests.unit.synthetic.SAMPLE
GA_78, GA_79, SC_EN, SC_FR, CTOC, HRC, CND = range(7)


def docs(engine, **filters) -> list[int]:
    mask = engine.doc_mask(Filters(**filters))
    return np.flatnonzero(mask).tolist()


def test_no_filter_is_no_mask(sample_engine) -> None:
    assert not Filters().active()
    assert sample_engine.doc_mask(None) is None
    assert sample_engine.doc_mask(Filters()) is None
    assert Filters(date_to="2020").active()


@pytest.mark.parametrize(("symbols", "expected"), [
    (["S/RES/2700 (2023)"], [SC_EN, SC_FR]),  # both language versions
    (["s/res/2700(2023)"], [SC_EN, SC_FR]),  # as normalize_symbol folds it
    (["S/RES/2700"], [SC_EN, SC_FR]),  # without its year
    (["A/RES"], [GA_78, GA_79]),  # a prefix of whole parts
    (["A/RES/7"], []),  # not a part: A/RES/7 is not A/RES/78
    (["A/RES/7*"], [GA_78, GA_79]),  # unless asked for with *
    (["A"], [GA_78, GA_79, HRC]),
    (["A/RES/79/10", "CTOC/COP"], [GA_79, CTOC]),  # any of several
])
def test_symbol(sample_engine, symbols: list[str], expected: list[int]) -> None:
    assert docs(sample_engine, symbol=symbols) == expected


def test_body_type_and_language_ignore_case(sample_engine) -> None:
    assert docs(sample_engine, body=["security council"]) == [SC_EN, SC_FR]
    assert docs(sample_engine, type=["Report"]) == [CTOC, HRC]
    assert docs(sample_engine, language=["FR"]) == [SC_FR]
    assert docs(sample_engine, body=["General Assembly", "Human Rights Council"]) == [GA_78, GA_79, HRC]


def test_dates_are_inclusive_and_an_undated_document_never_passes(sample_engine) -> None:
    assert docs(sample_engine, date_from="2023-10-01", date_to="2023-12-19") == [GA_78, SC_EN, SC_FR]
    assert docs(sample_engine, date_from="2024") == [GA_79]
    assert docs(sample_engine, date_to="2019") == [CTOC, HRC]
    assert docs(sample_engine, date_from="2023-11", date_to="2023-12") == [GA_78]


def test_a_date_known_only_to_the_year_spans_the_year(sample_engine) -> None:
    assert docs(sample_engine, date_from="2019-06-01", date_to="2019-06-30") == [HRC]  # dated "2019"
    assert docs(sample_engine, date_from="2020") == [GA_78, GA_79, SC_EN, SC_FR]


def test_filters_combine(sample_engine) -> None:
    assert docs(sample_engine, body=["General Assembly"], date_from="2024") == [GA_79]
    assert docs(sample_engine, symbol=["S/RES/2700"], language=["en"]) == [SC_EN]
    assert docs(sample_engine, type=["report"], language=["fr"]) == []


def test_a_month_or_day_may_be_written_with_one_digit(sample_engine) -> None:
    # "2023-10-1" is 1 October 2023, not October 2023 nor a malformed date (it once read as "2023101" padded)
    assert docs(sample_engine, date_from="2023-10-1", date_to="2023-12-19") == [GA_78, SC_EN, SC_FR]
    assert docs(sample_engine, date_from="2023-11", date_to="2023-12") == docs(sample_engine, date_from="2023-11-1",
                                                                                date_to="2023-12-31")


@pytest.mark.parametrize("bad", ["2024/01/01", "24", "20240", "last year", "2024-13", "2024-02-32", "2024-0-1"])
def test_a_bad_date_is_refused_and_says_the_form(sample_engine, bad: str) -> None:
    with pytest.raises(InvalidRequest, match="date must be YYYY, YYYY-MM or YYYY-MM-DD"):
        sample_engine.doc_mask(Filters(date_from=bad))


def test_a_search_shows_only_what_passes_its_filters(sample_engine) -> None:
    hits = sample_engine.search("Decides to remain seized of the matter", k=5,
                                filters=Filters(body=["Security Council"])).hits
    assert hits and all(h.row.body == "Security Council" for h in hits)
    assert hits[0].row.citation == "S/RES/2700 (2023), para. 3"
    hits = sample_engine.search("trafficking of synthetic drugs", k=5, filters=Filters(date_to="2023")).hits
    assert [h.row.citation for h in hits][:1] == ["A/RES/78/10, para. 1"]  # A/RES/79/10 (2024) is filtered out
    assert all((h.row.date or "") <= "2023-12-31" and h.row.date for h in hits)


def test_k_results_whenever_k_paragraphs_pass(sample_engine) -> None:
    hits = sample_engine.search("education", k=3, mode="bm25", filters=Filters(type=["report"])).hits
    assert [h.row.citation for h in hits] == ["A/HRC/40/59, para. 1"]  # BM25: only paragraphs with a query term
    hits = sample_engine.search("education", k=3, mode="dense", filters=Filters(type=["report"])).hits
    assert len(hits) == 3  # the three paragraphs of reports, the one about education first
    assert hits[0].row.citation == "A/HRC/40/59, para. 1"
