"""Retrieval as delegates use it: questions, references, filters, repeated paragraphs, snippets."""

from __future__ import annotations

import sqlite3

import pytest

from parasearch import indexfiles
from parasearch.errors import InvalidRequest
from service.search import Filters

# Questions a delegate asks, and the paragraph that answers each (from the printed documents).
QUESTIONS = [
    ("video recording of child witnesses", {("CTOC/COP/WG.2/2013/5", "9"), ("CTOC/COP/WG.2/2013/5", "58")}),
    ("When did UNODC create its model law on witness protection?", {("CTOC/COP/WG.2/2013/5", "15")}),
    ("Did the 2013 working group ask UNODC for any written analysis on holding companies and other legal entities "
     "liable?", {("CTOC/COP/WG.2/2013/5", "28")}),
    ("Which national steps away from capital punishment did the General Assembly welcome in its 2024 resolution "
     "on a moratorium on the death penalty?", {("A/RES/79/179", "5"), ("A/RES/79/179", "6"), ("A/RES/79/179", "7")}),
    ("Which medicine does the General Assembly mention for reversing opioid overdoses in national drug policies?",
     {("A/RES/79/191", "12")}),
    ("What does the General Assembly suggest instead of imprisonment for people charged with small, "
     "non-violent drug offences?", {("A/RES/79/191", "23")}),
    ("Second Optional Protocol death penalty", {("A/RES/79/179", "11")}),
    ("mock trials training prosecutors", {("CTOC/COP/WG.2/2013/5", "23"), ("CTOC/COP/WG.2/2013/5", "66")}),
]


@pytest.mark.parametrize(("question", "gold"), QUESTIONS, ids=[q[:40] for q, _ in QUESTIONS])
def test_questions_cite_the_answering_paragraph(mini_engine, question, gold):
    hits = mini_engine.search(question, k=3).hits
    cited = [(h.row.symbol, h.row.para) for h in hits]
    assert gold & set(cited), f"{question!r}: got {cited}"


def test_each_mode_finds_the_sample_answer(ctoc_index, encoder):
    from service.index import LoadedIndex
    from service.search import SearchEngine

    engine = SearchEngine(LoadedIndex(ctoc_index), encoder)
    for mode in ("dense", "bm25", "hybrid"):
        first = engine.search("video recording of child witnesses", k=1, mode=mode).hits[0]
        assert first.row.citation in ("CTOC/COP/WG.2/2013/5, para. 9", "CTOC/COP/WG.2/2013/5, para. 58"), mode
        assert mode in first.scores or "fused" in first.scores


@pytest.mark.parametrize("query", ["A/RES/79/191 para 59", "a/res/79/191 paragraph 59", "res 79/191 § 59",
                                   "resolution 79/191 op 59"])
def test_symbol_and_paragraph_returns_that_paragraph_first(mini_engine, query):
    out = mini_engine.search(query, k=5)
    assert out.hits[0].row.citation == "A/RES/79/191, para. 59"
    assert all(h.row.symbol == "A/RES/79/191" for h in out.hits)


def test_symbol_query_restricts_to_the_document(mini_engine):
    out = mini_engine.search("resolution 2672 (2023) humanitarian assistance", k=5)
    assert out.hits and {h.row.symbol for h in out.hits} == {"S/RES/2672 (2023)"}
    out = mini_engine.search("What does paragraph 80 of A/65/162 say about sexual education in schools?", k=3)
    assert out.hits[0].row.citation == "A/65/162, para. 80"


def test_unknown_symbol_is_said_not_searched_around(mini_engine):
    out = mini_engine.search("A/RES/99/999 para 3", k=5)
    assert out.hits == []
    assert out.reference is not None and out.reference.unknown
    assert "A/RES/99/999" in out.notice


def test_filters_apply_inside_retrieval(mini_engine):
    # k results whenever k exist: a narrow filter still fills the page.
    out = mini_engine.search("drugs", k=20, filters=Filters(symbol=["A/RES/79/191"]))
    assert len(out.hits) == 20 and {h.row.symbol for h in out.hits} == {"A/RES/79/191"}
    for mode in ("dense", "bm25", "hybrid"):
        out = mini_engine.search("protection of witnesses", k=10, mode=mode, filters=Filters(symbol=["CTOC/COP"]))
        assert out.hits and all(h.row.symbol.startswith("CTOC/COP/") for h in out.hits)
    out = mini_engine.search("humanitarian", k=10, filters=Filters(body=["Security Council"]))
    assert out.hits and all(h.row.body == "Security Council" for h in out.hits)
    out = mini_engine.search("aide humanitaire", k=5, filters=Filters(language=["fr"]))
    assert out.hits and all(h.row.language == "fr" for h in out.hits)
    out = mini_engine.search("education", k=10, filters=Filters(type=["report"]))
    assert out.hits and all(h.row.type == "report" for h in out.hits)
    out = mini_engine.search("drugs", k=10, filters=Filters(date_from="2024-01-01", date_to="2024-12-31"))
    assert out.hits and all("2024-01-01" <= h.row.date <= "2024-12-31" for h in out.hits)
    # A filter that matches nothing returns nothing, not everything.
    assert mini_engine.search("drugs", k=5, filters=Filters(body=["Economic and Social Council"])).hits == []
    with pytest.raises(InvalidRequest):
        mini_engine.search("drugs", filters=Filters(date_from="last year"))


def test_a_report_dated_by_its_symbol_is_found_by_a_year(mini_engine):
    # A/65/162 has no date in its manifest: a document of the General Assembly's 65th session, so 2010.
    assert mini_engine.index.doc_date_int[mini_engine.index.key_to_docs["a/65/162"][0]] // 10000 == 2010
    out = mini_engine.search("comprehensive sexual education", k=5,
                             filters=Filters(date_from="2010-08-01", date_to="2010-12-31"))
    assert out.hits and {h.row.symbol for h in out.hits} == {"A/65/162"} and out.hits[0].row.date == "2010"
    hits = mini_engine.search("What did the Special Rapporteur's 2010 report say about sexual education?", k=3).hits
    assert hits[0].row.symbol == "A/65/162"


def _repeated_pair(index_dir):
    db = sqlite3.connect(indexfiles.current_generation(index_dir) / indexfiles.STORE)
    row = db.execute(
        """SELECT a.text, da.symbol, a.para, db.symbol, b.para FROM paragraphs a JOIN paragraphs b
           ON a.text_key = b.text_key AND a.id < b.id
           JOIN documents da ON da.id = a.doc_id JOIN documents db ON db.id = b.doc_id
           WHERE da.symbol = 'A/RES/78/229' AND db.symbol = 'A/RES/80/229' AND length(a.text) > 150 LIMIT 1"""
    ).fetchone()
    assert row, "78/229 and 80/229 share paragraphs word for word"
    return row


def test_repeated_paragraph_is_shown_once_from_the_newest(mini_engine, mini_index):
    text, old_sym, old_para, new_sym, new_para = _repeated_pair(mini_index)
    hits = mini_engine.search(text[:300], k=10).hits
    same = [h for h in hits if h.row.text == text or (old_sym, old_para) in {(a.symbol, a.para) for a in h.also_in}]
    assert len(same) == 1
    assert (same[0].row.symbol, same[0].row.para) == (new_sym, new_para)
    assert (old_sym, old_para) in {(a.symbol, a.para) for a in same[0].also_in}
    # Switched off, both are listed.
    cited = {(h.row.symbol, h.row.para) for h in mini_engine.search(text[:300], k=10, collapse=False).hits}
    assert {(old_sym, old_para), (new_sym, new_para)} <= cited
    # Restricted to the older document, the older citation is shown.
    hits = mini_engine.search(text[:300], k=3, filters=Filters(symbol=[old_sym])).hits
    assert (hits[0].row.symbol, hits[0].row.para) == (old_sym, old_para) and not hits[0].also_in


def test_a_year_the_question_names_picks_that_years_repeat(mini_engine, mini_index):
    text, old_sym, old_para, new_sym, new_para = _repeated_pair(mini_index)  # 78/229 is of 2023, 80/229 of 2025
    query = f"In its 2023 resolution, what did the General Assembly say? {text[:200]}"
    hit = next(h for h in mini_engine.search(query, k=10).hits
               if (h.row.symbol, h.row.para) in {(old_sym, old_para), (new_sym, new_para)})
    assert (hit.row.symbol, hit.row.para) == (old_sym, old_para)  # cited as the 2023 resolution asked about
    assert (new_sym, new_para) in {(a.symbol, a.para) for a in hit.also_in}


@pytest.mark.parametrize(("query", "years"), [
    ("in its 2024 resolution", [2024]),
    ("resolutions from 2020 to 2023", [2020, 2021, 2022, 2023]),
    ("between 2019\u20132020", [2019, 2020]),
    ("A/RES/79/191 para 59", []),  # document numbers are not years
    ("S/RES/2672 (2023)", [2023]),
    ("856.4 million dollars in 2014", [2014]),
    ("adopted by the General Assembly at its eightieth session", [2025, 2026]),  # September 2025 to 2026
    ("the General Assembly's seventy-ninth session", [2024, 2025]),
    ("the 78th session of the General Assembly", [2023, 2024]),
    ("at the fortieth session of the Human Rights Council", [2019]),
    ("the second session of the Working Group", []),  # a body whose sessions name no year
])
def test_years_a_query_names(query, years):
    from service.search import query_years

    assert query_years(query) == years


def test_query_language_among_the_index_languages():
    from service.language import QueryLanguage

    ql = QueryLanguage(["en", "fr", "es"])
    assert ql.detect("Quelle pause humanitaire le Conseil de sécurité a-t-il demandée ?") == "fr"
    assert ql.detect("¿Por cuánto tiempo autorizó el Consejo de Seguridad la misión?") == "es"
    assert ql.detect("What did the Security Council decide about Haiti?") == "en"
    assert ql.detect("A/RES/79/191 para 59") is None  # unsure: no preference
    assert not QueryLanguage(["en"]).active and QueryLanguage(["en"]).detect("Quelle pause ?") is None


def test_a_question_in_french_is_answered_from_the_french_version(mini_engine):
    ix = mini_engine.index
    fr = mini_engine.search("Le Conseil de sécurité a-t-il prolongé l'acheminement de l'aide humanitaire à "
                            "travers les frontières en Syrie ?", k=3).hits
    assert fr[0].row.symbol == "S/RES/2672 (2023)" and ix.doc_lang[ix.para_doc[fr[0].row.id]] == "fr"
    en = mini_engine.search("Did the Security Council extend cross-border humanitarian aid into Syria?", k=3).hits
    assert en[0].row.symbol == "S/RES/2672 (2023)" and ix.doc_lang[ix.para_doc[en[0].row.id]] == "en"


def test_french_snippets_mark_french_words(mini_engine):
    hit = mini_engine.search("Le Conseil de sécurité a-t-il prolongé l'acheminement de l'aide humanitaire à "
                             "travers les frontières en Syrie ?", k=1).hits[0]
    assert hit.row.language == "fr" and "<mark>humanitaire</mark>" in hit.snippet


def test_an_index_built_before_per_language_analysis_is_queried_in_english(tmp_path, mini_index, mini_engine,
                                                                           encoder):
    import json
    import shutil

    from parasearch.analysis import ANALYSIS_VERSION
    from service.index import LoadedIndex
    from service.search import SearchEngine

    old = tmp_path / "old"
    shutil.copytree(mini_index, old)
    manifest = indexfiles.current_generation(old) / indexfiles.MANIFEST
    data = json.loads(manifest.read_text())
    assert data["analysis"]["version"] == ANALYSIS_VERSION
    del data["analysis"]
    manifest.write_text(json.dumps(data))
    engine = SearchEngine(LoadedIndex(old), encoder)
    assert engine.index.analysis_version == 1 and engine.analysis_language("fr") == "en"
    assert mini_engine.analysis_language("fr") == "fr"


def test_snippet_marks_terms_and_escapes_markup(tmp_path, encoder):
    from indexer.build import build_index
    from service.index import LoadedIndex
    from service.search import SearchEngine

    doc = tmp_path / "docs" / "TEST_1.md"
    doc.parent.mkdir()
    doc.write_text("TEST/1\n\n1. Witnesses <script>alert('x')</script> must be protected.\n\n"
                   "2. Unrelated text about budgets.\n", encoding="utf-8")
    (doc.parent / "manifest.jsonl").write_text('{"file": "TEST_1.md", "symbol": "TEST/1", "title": "T"}\n')
    assert build_index([doc.parent], tmp_path / "idx", encoder=encoder, progress=False).published
    hit = SearchEngine(LoadedIndex(tmp_path / "idx"), encoder).search("protected witnesses", k=1).hits[0]
    assert "<script>" not in hit.snippet
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in hit.snippet
    assert "<mark>Witnesses</mark>" in hit.snippet and "<mark>protected</mark>" in hit.snippet
    assert hit.row.text.startswith("Witnesses <script>")  # the text itself is kept verbatim


def test_same_results_after_restart(mini_index, encoder, mini_engine):
    from service.index import LoadedIndex
    from service.search import SearchEngine

    again = SearchEngine(LoadedIndex(mini_index), encoder)
    for q, _ in QUESTIONS:
        a = [(h.row.citation, round(h.score, 5)) for h in mini_engine.search(q, k=10).hits]
        b = [(h.row.citation, round(h.score, 5)) for h in again.search(q, k=10).hits]
        assert a == b


def test_dense_arms_follow_the_question_language(mini_engine):
    """The default index has two arms: e5 (any language) and MiniLM (English); answers score with MiniLM in English."""
    assert [m["name"] for m in mini_engine.index.models] == ["multilingual-e5-small", "all-MiniLM-L6-v2"]
    assert mini_engine.dense_arms("en") == mini_engine.dense_arms(None) == [0, 1]
    assert mini_engine.dense_arms("fr") == mini_engine.dense_arms("zh") == [0]
    assert (mini_engine.answer_arm("en"), mini_engine.answer_arm(None), mini_engine.answer_arm("ru")) == (1, 1, 0)
    # Both arms' candidates are fused: a French question is searched by e5 alone, an English one by both.
    fr = mini_engine.search("Quelles sanctions le Conseil a-t-il imposées ?", k=3, mode="dense")
    en = mini_engine.search("What sanctions did the Council impose?", k=3, mode="dense")
    assert fr.hits and en.hits and fr.language == "fr"


def test_fuse_many_is_fuse_convex_for_two_lists():
    import numpy as np

    from service.search import fuse_convex, fuse_many

    a_ids, a = np.array([1, 2, 3]), np.array([0.9, 0.5, 0.1])
    b_ids, b = np.array([3, 4]), np.array([7.0, 1.0])
    u1, s1 = fuse_convex(a_ids, a, b_ids, b, w=0.6)
    u2, s2 = fuse_many([(a_ids, a), (b_ids, b)], [0.6, 0.4])
    assert np.array_equal(u1, u2) and np.allclose(s1, s2)
    assert list(u1[np.argsort(-s1)]) == [1, 3, 2, 4]  # z-scores: 0.335, -0.335, -0.4, -1.135
