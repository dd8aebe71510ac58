"""service.search's collapse on the synthetic index (tests.unit.synthetic.SAMPLE): one result per citation.

A paragraph repeated word for word in several documents is shown once, from the newest document (or the newest
of a year the query names), the others listed in ``also_in``; the language versions of a paragraph are one
result, shown in the query's language when that version is indexed and passes the filters.
"""

from __future__ import annotations

import numpy as np

from service.search import Filters

# paragraph ids of tests.unit.synthetic.SAMPLE
GA78_PRE1, GA78_1, GA78_SEIZED = 0, 1, 2
GA79_1, GA79_SEIZED = 3, 4
SC_EN_1, SC_EN_2, SC_EN_SEIZED = 5, 6, 7
SC_FR_1, SC_FR_2, SC_FR_SEIZED = 8, 9, 10
CND_SEIZED = 14


def collapse(engine, ids: list[int], *, k: int = 10, collapse: bool = True, filters: Filters | None = None,
             years: list[int] | None = None, lang: str | None = None) -> list[tuple[int, int, list[int]]]:
    ix = engine.index
    dmask = engine.doc_mask(filters)
    para_mask = None if dmask is None else dmask[ix.para_doc]
    prefer = np.isin(ix.doc_date_int // 10000, years) if years else None
    return engine._collapse(np.array(ids, dtype=np.int64), para_mask, k, collapse, prefer, lang)


def test_a_repeated_paragraph_is_shown_once_from_the_newest_document(sample_engine) -> None:
    got = collapse(sample_engine, [GA78_SEIZED, GA78_1, GA79_SEIZED, CND_SEIZED])
    # (shown, the hit whose scores it carries, the other documents that hold it: newest first, undated last)
    assert got == [(GA79_SEIZED, GA78_SEIZED, [GA78_SEIZED, SC_EN_SEIZED, CND_SEIZED]), (GA78_1, GA78_1, [])]


def test_without_collapse_every_paragraph_is_a_result(sample_engine) -> None:
    got = collapse(sample_engine, [GA78_SEIZED, GA78_1, GA79_SEIZED], collapse=False)
    assert got == [(GA78_SEIZED, GA78_SEIZED, []), (GA78_1, GA78_1, []), (GA79_SEIZED, GA79_SEIZED, [])]


def test_a_year_the_query_names_picks_the_document_shown(sample_engine) -> None:
    shown, _, also = collapse(sample_engine, [GA79_SEIZED], years=[2023])[0]
    assert shown == GA78_SEIZED  # the newest of 2023, not A/RES/79/10 of 2024
    assert also == [GA79_SEIZED, SC_EN_SEIZED, CND_SEIZED]


def test_filters_decide_which_repeat_is_shown_and_listed(sample_engine) -> None:
    got = collapse(sample_engine, [GA79_SEIZED], filters=Filters(body=["Security Council"]))
    assert got == [(SC_EN_SEIZED, GA79_SEIZED, [])]


def test_language_versions_are_one_result_in_the_querys_language(sample_engine) -> None:
    assert collapse(sample_engine, [SC_EN_1, SC_FR_1, SC_EN_2], lang="fr") == \
        [(SC_FR_1, SC_EN_1, []), (SC_FR_2, SC_EN_2, [])]
    assert collapse(sample_engine, [SC_FR_1, SC_EN_1], lang="en") == [(SC_EN_1, SC_FR_1, [])]
    # no language known: the best-ranked version
    assert collapse(sample_engine, [SC_FR_1, SC_EN_1]) == [(SC_FR_1, SC_FR_1, [])]


def test_a_version_the_filters_exclude_is_not_shown(sample_engine) -> None:
    assert collapse(sample_engine, [SC_EN_1], lang="fr", filters=Filters(language=["en"])) == [(SC_EN_1, SC_EN_1, [])]


def test_a_version_of_a_repeat_already_shown_is_not_shown_again(sample_engine) -> None:
    # S/RES/2700 para. 3 is shown (as A/RES/79/10 para. 2, its newest repeat): its French version is the same citation
    got = collapse(sample_engine, [GA79_SEIZED, SC_FR_SEIZED, SC_FR_2])
    assert [shown for shown, _, _ in got] == [GA79_SEIZED, SC_FR_2]


def test_k_results_at_most(sample_engine) -> None:
    assert len(collapse(sample_engine, list(range(15)), k=3)) == 3
    # 15 paragraphs, 9 citations: the four "remain seized" as one, the three French versions with the English
    assert len(collapse(sample_engine, list(range(15)))) == 9


def test_in_a_search(sample_engine) -> None:
    hits = sample_engine.search("remain seized of the matter", k=5).hits
    seized = [h for h in hits if h.row.text == "Decides to remain seized of the matter."]
    assert len(seized) == 1
    assert seized[0].row.citation == "A/RES/79/10, para. 2"
    assert [r.citation for r in seized[0].also_in] == [
        "A/RES/78/10, para. 2", "S/RES/2700 (2023), para. 3", "UNODC/CND/2099/1, para. 1"]
    hit = sample_engine.search("remain seized of the matter in 2023", k=5).hits[0]
    assert hit.row.citation == "A/RES/78/10, para. 2"
    flat = sample_engine.search("remain seized of the matter", k=10, collapse=False).hits
    assert sum(h.row.text == "Decides to remain seized of the matter." for h in flat) == 4
