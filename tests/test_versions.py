"""Language versions: one paragraph in several languages is one citation.

A small index of real Security Council resolutions from ``../shared/corpus/sc``: S/RES/2672 (2023) and
S/RES/2561 (2021) in English and French, S/RES/2562 (2021) in English only. Searches, documents and answers
over real HTTP on loopback; the browser checks are in test_browser.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import LiveServer, shared_path

VERSIONS_CORPUS = [
    "sc/en/S_RES_2672_E.xml",
    "sc/fr/S_RES_2672_F.xml",
    "sc/en/SC_2561_2021-E.xml",
    "sc/fr/SC_2561_2021-F.xml",
    "sc/en/SC_2562_2021-E.xml",
]
SYRIA = "S/RES/2672 (2023)"
SYRIA_PATH = "/documents/S/RES/2672%20(2023)"
FR_QUESTION = "Le Conseil de sécurité prolonge-t-il l'acheminement de l'aide humanitaire en Syrie ?"
EN_QUESTION = "Did the Security Council extend cross-border humanitarian aid deliveries to Syria?"

_BUILT: dict[str, Path] = {}


def versions_index_path(tmp_path_factory, encoder) -> Path:
    """The index, built once per test session (test_browser.py shares it)."""
    if "index" not in _BUILT:
        from indexer.build import build_index

        files = [shared_path(rel) for rel in VERSIONS_CORPUS]
        out = tmp_path_factory.mktemp("versions") / "index"
        report = build_index(files, out, encoder=encoder, progress=False)
        assert report.published and report.documents == len(VERSIONS_CORPUS), report.summary()
        _BUILT["index"] = out
    return _BUILT["index"]


def versions_engine(tmp_path_factory, encoder):
    from service.index import LoadedIndex
    from service.search import SearchEngine

    return SearchEngine(LoadedIndex(versions_index_path(tmp_path_factory, encoder)), encoder)


@pytest.fixture(scope="module")
def engine(tmp_path_factory, encoder):
    return versions_engine(tmp_path_factory, encoder)


@pytest.fixture(scope="module")
def server(engine):
    from service.app import create_app

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("PARASEARCH_LLM_URL", raising=False)
        mp.setenv("PARASEARCH_ANSWER_THRESHOLD", "0")  # these tests are about citations, not about not-found
        with LiveServer(create_app(engine=engine)) as s:
            yield s


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


def url(language: str, para: str | None = None, path: str = SYRIA_PATH) -> str:
    return f"{path}?language={language}" + (f"#para-{para}" if para else "")


def search(client, q: str, **params) -> dict:
    r = client.get("/search", params={"q": q, **params})
    assert r.status_code == 200, r.text
    return r.json()


# -- the index: languages per symbol, versions per paragraph --------------------------------------------------

def test_the_index_knows_each_symbols_languages_and_each_paragraphs_versions(engine):
    ix = engine.index
    assert ix.symbol_versions["s/res/2672(2023)"].keys() == {"en", "fr"}
    assert list(ix.symbol_versions["s/res/2672(2023)"]) == ["en", "fr"]  # the UN's order
    assert ix.symbol_versions["s/res/2562(2021)"].keys() == {"en"}
    en, fr = ix.symbol_versions["s/res/2672(2023)"]["en"], ix.symbol_versions["s/res/2672(2023)"]["fr"]
    assert ix.doc_languages[en] == ix.doc_languages[fr] == ("en", "fr")
    en3, fr3 = ix.paragraph(en, "3"), ix.paragraph(fr, "3")
    assert ix.version_in(en3.id, "fr") == fr3.id and ix.version_in(fr3.id, "en") == en3.id
    assert sorted(ix.versions_of(en3.id).tolist()) == sorted([en3.id, fr3.id])
    assert ix.version_in(en3.id, "es") is None
    only_en = ix.paragraph(ix.symbol_versions["s/res/2562(2021)"]["en"], "1")
    assert ix.para_version[only_en.id] == -1 and ix.versions_of(only_en.id).tolist() == [only_en.id]


# -- search: language, url, versions, one result per citation ----------------------------------------------

def test_a_french_result_links_to_the_french_version_and_lists_the_english_one(client):
    body = search(client, FR_QUESTION, k=5)
    assert body["language"] == "fr"
    first = body["results"][0]
    assert first["symbol"] == SYRIA and first["language"] == "fr"
    para = first["para"]
    assert first["url"] == url("fr", para)
    assert first["versions"] == [{"language": "en", "url": url("en", para)}]
    # The url answers the French document, which holds that paragraph with that text.
    doc = client.get(first["url"].split("#")[0]).json()
    assert doc["language"] == "fr"
    assert {"language": "en", "url": url("en")} in doc["versions"]
    assert first["text"] in [p["text"] for p in doc["paragraphs"] if p["para"] == para]


def test_an_english_question_gets_the_english_version_of_the_same_citations(client):
    body = search(client, EN_QUESTION, k=5)
    assert body["language"] == "en"
    for r in body["results"]:
        assert r["language"] == "en" and r["url"].endswith(f"?language=en#para-{r['para']}")
        expected = [] if r["symbol"] == "S/RES/2562 (2021)" else [
            {"language": "fr", "url": r["url"].replace("language=en", "language=fr")}]
        assert r["versions"] == expected, r


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_one_result_per_citation_in_the_question_language(client, mode):
    """Dense retrieval with an English-trained model often ranks an English version above the French one:
    the citation is still shown once, in French, with English among its versions."""
    results = search(client, FR_QUESTION, k=20, mode=mode)["results"]
    citations = [r["citation"] for r in results]
    assert len(citations) == len(set(citations)), citations
    for r in results:
        if r["symbol"] == "S/RES/2562 (2021)":  # indexed in English only
            assert r["language"] == "en" and r["versions"] == []
        else:
            assert r["language"] == "fr", r
            assert [v["language"] for v in r["versions"]] == ["en"]
    assert [r["rank"] for r in results] == list(range(1, len(results) + 1))


def _rank_first(engine, monkeypatch, language: str) -> list[int]:
    """Make retrieval rank S/RES/2672 (2023)'s paragraphs in ``language`` above their other versions (what a
    dense model trained on English does with many questions in other languages)."""
    import numpy as np

    ix = engine.index
    docs = ix.symbol_versions["s/res/2672(2023)"]
    first = [p.id for p in ix.document_paragraphs(docs[language])]
    rest = [p.id for d in docs.values() if d != docs[language] for p in ix.document_paragraphs(d)]
    ids = np.array(first + rest, dtype=np.int64)
    scores = np.linspace(1.0, 0.1, len(ids)).astype(np.float32)
    monkeypatch.setattr(engine, "_ranked", lambda *a, **kw: (ids, {"dense": (ids, scores)}))
    return first


@pytest.mark.parametrize(("ranked_first", "question", "shown"), [
    ("en", FR_QUESTION, "fr"), ("fr", EN_QUESTION, "en"), ("fr", FR_QUESTION, "fr")])
def test_the_question_language_version_is_shown_whichever_version_ranked_first(engine, monkeypatch, ranked_first,
                                                                                 question, shown):
    first = _rank_first(engine, monkeypatch, ranked_first)
    out = engine.search(question, k=6, mode="dense")
    assert out.language == shown
    ix = engine.index
    assert [h.row.language for h in out.hits] == [shown] * 6
    assert [h.row.para for h in out.hits] == [ix.rows(first[:6])[i].para for i in first[:6]]  # the same order
    # The scores are the best-ranked version's: the citation's.
    assert [h.scores["dense"]["rank"] for h in out.hits] == [1, 2, 3, 4, 5, 6]
    assert all(h.versions == [x for x in ("en", "fr") if x != shown] for h in out.hits)


def test_with_no_clear_question_language_the_best_ranked_version_is_shown(engine, monkeypatch):
    _rank_first(engine, monkeypatch, "fr")
    monkeypatch.setattr(engine.query_language, "detect", lambda text: None)
    out = engine.search(EN_QUESTION, k=4, mode="dense")
    assert out.language is None and [h.row.language for h in out.hits] == ["fr"] * 4
    assert len({h.row.citation for h in out.hits}) == 4


def test_the_answer_quotes_the_question_language_version_of_a_lead_that_ranked_in_another(engine, monkeypatch):
    from service.answer import answer_question

    first = _rank_first(engine, monkeypatch, "en")
    ans = answer_question(engine, FR_QUESTION, k=5, mode="dense", threshold=0.0)
    assert ans.found and ans.sentences
    ix = engine.index
    fr_doc = ix.symbol_versions["s/res/2672(2023)"]["fr"]
    en_paras = {r.para for r in ix.rows(first).values()}
    for s in ans.sentences:
        for c in s.citations:
            assert c.language == "fr" and c.versions == ["en"] and c.para in en_paras
            assert s.text in ix.paragraph(fr_doc, c.para).text
            assert c.citation == f"{SYRIA}, " + c.citation.split(", ", 1)[1]


def test_without_collapse_every_version_is_listed(client):
    results = search(client, FR_QUESTION, k=60, mode="dense", collapse="false")["results"]
    langs: dict[str, set[str]] = {}
    for r in results:
        langs.setdefault(r["citation"], set()).add(r["language"])
    assert any(v == {"en", "fr"} for v in langs.values()), langs


def test_a_language_filter_wins_over_the_question_language(client):
    results = search(client, FR_QUESTION, k=5, language="en")["results"]
    assert results and all(r["language"] == "en" for r in results)
    for r in results:
        if r["symbol"] != "S/RES/2562 (2021)":
            assert r["versions"] == [{"language": "fr", "url": r["url"].replace("language=en", "language=fr")}]


def test_a_named_paragraph_is_one_result(client):
    results = search(client, "S/RES/2672 (2023) para 3", k=4)["results"]
    assert results[0]["citation"] == "S/RES/2672 (2023), para. 3" and results[0]["scores"]["reference"]
    citations = [r["citation"] for r in results]
    assert len(citations) == len(set(citations)) == 4
    assert results[0]["versions"][0]["url"].endswith("#para-3")


def test_urls_follow_the_root_path(engine):
    from service.app import create_app

    with TestClient(create_app(engine=engine), root_path="/parasearch") as c:
        r = c.get("/parasearch/search", params={"q": FR_QUESTION, "k": 1}).json()["results"][0]
        assert r["url"] == "/parasearch" + url("fr", r["para"])
        assert r["versions"][0]["url"] == "/parasearch" + url("en", r["para"])
        doc = c.get("/parasearch" + SYRIA_PATH, params={"language": "fr"}).json()
        assert doc["versions"] == [{"language": "en", "url": "/parasearch" + url("en")}]


# -- documents -------------------------------------------------------------------------------------

def test_documents_by_language_list_their_versions(client):
    en = client.get(SYRIA_PATH).json()  # no language: the English version
    fr = client.get(SYRIA_PATH, params={"language": "FR"}).json()
    assert en["language"] == "en" and fr["language"] == "fr"
    assert en["versions"] == [{"language": "fr", "url": url("fr")}]
    assert fr["versions"] == [{"language": "en", "url": url("en")}]
    assert [p["para"] for p in en["paragraphs"]] == [p["para"] for p in fr["paragraphs"]]
    assert en["paragraphs"][0]["text"] != fr["paragraphs"][0]["text"]
    assert client.get("/documents/S/RES/2562%20(2021)").json()["versions"] == []
    para = client.get(f"{SYRIA_PATH}/paragraphs/3", params={"language": "fr"}).json()
    assert para["text"] == next(p["text"] for p in fr["paragraphs"] if p["para"] == "3")


def test_symbols_complete_what_was_typed_once_per_symbol_newest_first(client):
    docs = {d["symbol"]: d for d in client.get("/documents").json()["documents"] if d["language"] == "en"}
    r = client.get("/symbols", params={"prefix": "s/res/25"})  # case and spaces folded
    assert r.status_code == 200
    got = r.json()["suggestions"]
    want = sorted({"S/RES/2561 (2021)", "S/RES/2562 (2021)"}, key=lambda s: docs[s]["date"], reverse=True)
    assert [s["symbol"] for s in got] == want
    first = got[[s["symbol"] for s in got].index("S/RES/2561 (2021)")]
    assert first["languages"] == ["en", "fr"] and first["url"] == "/documents/S/RES/2561%20(2021)"
    assert first["title"] == docs["S/RES/2561 (2021)"]["title"] and first["date"] == docs["S/RES/2561 (2021)"]["date"]
    # a part after a slash, after the symbols that start with the text
    assert [s["symbol"] for s in client.get("/symbols", params={"prefix": "2672"}).json()["suggestions"]] == [
        "S/RES/2672 (2023)"]
    assert [s["symbol"] for s in client.get("/symbols", params={"prefix": "S/RES/2672 (20"}).json()["suggestions"]] \
        == ["S/RES/2672 (2023)"]
    assert len(client.get("/symbols", params={"prefix": "S/", "limit": 2}).json()["suggestions"]) == 2
    for nothing in ("A/RES", "   ", "zzz"):
        assert client.get("/symbols", params={"prefix": nothing}).json()["suggestions"] == []


@pytest.mark.parametrize("params", [{}, {"prefix": ""}, {"prefix": "S" * 201}, {"prefix": "S", "limit": 0},
                                    {"prefix": "S", "limit": 51}])
def test_symbol_completion_refuses_what_it_cannot_take(client, params):
    r = client.get("/symbols", params=params)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][0] == "query"


@pytest.mark.parametrize("path", [SYRIA_PATH, f"{SYRIA_PATH}/paragraphs/3"])
def test_a_language_the_document_is_not_in_is_a_404_naming_those_it_is(client, path):
    r = client.get(path, params={"language": "es"})
    assert r.status_code == 404
    detail = r.json()["detail"]
    assert "S/RES/2672 (2023)" in detail and "'es'" in detail and detail.endswith("it is in: en, fr")


def test_the_document_view_has_a_language_switch(client):
    page = client.get(SYRIA_PATH, params={"language": "fr"}, headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    assert '<main id="document" class="document" tabindex="-1" lang="fr" dir="ltr">' in text
    assert '<nav class="versions" aria-label="Language versions" data-i18n-aria-label="doc.versions">' in text
    assert '<span class="current" lang="fr" aria-current="page">Français</span>' in text
    assert (f'<a class="version" href="{url("en")}" hreflang="en" lang="en" data-language="en">English</a>'
            in text)
    assert text.index(">English<") < text.index(">Français<")  # the UN's order
    single = client.get("/documents/S/RES/2562%20(2021)", headers={"Accept": "text/html"}).text
    assert 'class="versions"' not in single


# -- answers -----------------------------------------------------------------------------------------

def test_the_answer_quotes_the_question_language_version_with_the_same_citation(client, engine):
    from parasearch.types import citation, normalize_symbol

    ix = engine.index
    for mode in ("hybrid", "dense"):
        r = client.post("/answer", json={"question": FR_QUESTION, "mode": mode, "k": 5})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["found"] and body["sentences"], body
        for s in body["sentences"]:
            for c in s["citations"]:
                assert c["symbol"] != "S/RES/2562 (2021)" or c["language"] == "en"
                if c["symbol"] == "S/RES/2562 (2021)":
                    continue
                path = "/documents/" + c["symbol"].replace(" ", "%20")
                assert c["language"] == "fr" and c["url"] == url("fr", c["para"], path), c
                assert c["versions"] == [{"language": "en", "url": url("en", c["para"], path)}]
                assert c["citation"] == citation(c["symbol"], c["para"])  # the same in every language
                docs = ix.symbol_versions[normalize_symbol(c["symbol"])]
                assert s["text"] in ix.paragraph(docs["fr"], c["para"]).text  # the French text is quoted
                assert s["text"] not in ix.paragraph(docs["en"], c["para"]).text
        assert all(p["language"] == "fr" for p in body["passages"] if p["symbol"] != "S/RES/2562 (2021)")


def test_an_english_question_is_answered_from_the_english_version(client):
    body = client.post("/answer", json={"question": EN_QUESTION, "k": 5}).json()
    assert body["found"]
    cites = [c for s in body["sentences"] for c in s["citations"]]
    assert cites and all(c["language"] == "en" and c["url"] == url("en", c["para"]) for c in cites)


def test_streamed_citations_carry_the_language_and_the_urls(client):
    with client.stream("POST", "/answer/stream", json={"question": FR_QUESTION, "k": 5}) as r:
        assert r.status_code == 200
        raw = r.read().decode()
    events = [(b.split("\n")[0].removeprefix("event: "), json.loads(b.split("\n")[1].removeprefix("data: ")))
              for b in raw.strip().split("\n\n")]
    cites = [d for e, d in events if e == "citation"]
    done = events[-1][1]
    assert cites and [c["url"] for c in cites] == [c["url"] for s in done["sentences"] for c in s["citations"]]
    for c in cites:
        assert c["language"] == "fr" and c["url"] == url("fr", c["para"])
        assert c["versions"] == [{"language": "en", "url": url("en", c["para"])}]
    assert events[0][0] == "passages" and events[0][1][0]["url"].startswith(f"{SYRIA_PATH}?language=")


# -- OpenAPI -------------------------------------------------------------------------------------------

def test_openapi_documents_language_url_and_versions(client):
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    result = schemas["SearchResult"]["properties"]
    assert {"language", "url", "versions"} <= set(result)
    assert "?language=" in result["url"]["description"] and "#para-" in result["url"]["description"]
    assert "one citation" in result["versions"]["description"]
    assert schemas["SearchResult"]["examples"][0]["versions"][0]["language"] == "en"
    assert set(schemas["VersionLink"]["properties"]) == {"language", "url"}
    assert "versions" in schemas["DocumentOut"]["properties"]
    assert {"language", "url", "versions"} <= set(schemas["AnswerCitationOut"]["properties"])
    assert "versions" in spec["paths"]["/search"]["get"]["description"]
