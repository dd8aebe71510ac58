"""Pages of a search over HTTP: ``offset``, ``sort=date``, ``facets=true``; unmarked stop words; the document
view's official link and its 404 page.

Over test_versions.py's index (real Security Council resolutions, English and French), served on loopback. The
browser checks of the same features are in test_browser_results.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from service.web import OFFICIAL_URL_ENV
from tests.conftest import LiveServer
from tests.test_versions import versions_engine

QUERY = "Security Council humanitarian"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,*/*;q=0.8"


@pytest.fixture(scope="module")
def client(tmp_path_factory, encoder) -> Iterator[httpx.Client]:
    from service.app import create_app

    with LiveServer(create_app(engine=versions_engine(tmp_path_factory, encoder))) as server:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            yield c


def get(client: httpx.Client, **params) -> dict:
    r = client.get("/search", params={"q": QUERY, **params})
    assert r.status_code == 200, r.text
    return r.json()


def cites(data: dict) -> list[str]:
    return [f"{r['citation']} [{r['language']}]" for r in data["results"]]


def test_pages_are_consecutive_slices_of_one_ranked_list(client):
    whole = get(client, k=30, facets="true")
    assert whole["pool"] > 30 and whole["has_more"] is True and whole["offset"] == 0
    pages = [get(client, k=10, offset=o) for o in (0, 10, 20)]
    assert sum((cites(p) for p in pages), []) == cites(whole)
    assert [p["offset"] for p in pages] == [0, 10, 20]
    assert [r["rank"] for r in pages[1]["results"]] == list(range(11, 21))
    # The state is the search's (its best results), on every page.
    assert {p["state"] for p in pages} == {whole["state"]}
    # Walked to the end: pages within the list are disjoint; a page past its end comes from a deeper search.
    seen: list[str] = []
    offset, data = 0, whole
    while True:
        data = get(client, k=10, offset=offset, **({"facets": "true"} if offset == 0 else {}))
        if offset + 10 <= whole["pool"]:
            seen += cites(data)
        if not data["has_more"]:
            break
        offset += 10
        assert offset < 1000
    assert len(seen) == len(set(seen)) and seen[:30] == cites(whole)
    assert 0 < len(data["results"]) <= 10 and data["pool"] >= whole["pool"]
    end = get(client, k=10, offset=data["pool"])
    assert end["results"] == [] and end["has_more"] is False


def test_a_plain_search_is_unchanged_and_says_nothing_of_pages(client):
    plain = get(client, k=10)
    assert plain["pool"] is None and plain["has_more"] is None and plain["facets"] is None
    assert len(plain["results"]) == 10
    # A page shows the same results, snippets and all (marked up only for the page, not the whole list).
    paged = get(client, k=10, facets="true")
    assert [(r["citation"], r["snippet"]) for r in paged["results"]] == \
        [(r["citation"], r["snippet"]) for r in plain["results"]]
    second = get(client, k=10, offset=10)["results"]
    assert all(r["snippet"] for r in second) and any("<mark>" in r["snippet"] for r in second)


def test_sort_by_date_is_newest_first_over_the_same_results(client):
    pool = get(client, k=10, facets="true")["pool"]
    by_relevance = get(client, k=pool - 1, facets="true")
    by_date = get(client, k=pool - 1, sort="date")
    assert by_date["sort"] == "date" and by_date["pool"] == pool
    dates = [r["date"] for r in by_date["results"]]
    assert dates == sorted(dates, reverse=True) and dates[0] > dates[-1]
    # The same list re-ordered: each result keeps its rank by relevance, in relevance order within a date.
    ranks = {r["rank"] for r in by_date["results"]}
    assert len(ranks) == pool - 1 and ranks <= set(range(1, pool + 1))
    assert [r["rank"] for r in by_relevance["results"]] == list(range(1, pool))
    same_day = [r["rank"] for r in by_date["results"] if r["date"] == dates[0]]
    assert same_day == sorted(same_day)
    second = get(client, k=10, offset=10, sort="date")
    assert cites(second) == cites(by_date)[10:20]


def test_facet_counts_are_those_of_the_ranked_results(client):
    first = get(client, k=10, facets="true")
    pool = first["pool"]
    # All but the list's last result, and that last one (with sort=date, the list re-ordered: the same results).
    data = get(client, k=pool - 1, facets="true")
    results = data["results"] + [r for r in get(client, k=pool - 1, sort="date")["results"]
                                 if r["rank"] == pool]
    assert len(results) == pool and data["pool"] == pool
    facets = data["facets"]
    assert facets == first["facets"]  # a page's counts are the whole list's, whatever its k
    for name in ("body", "type", "language"):
        expected = Counter(r[name] for r in results if r[name])
        assert {f["value"]: f["paragraphs"] for f in facets[name]} == dict(expected), name
        counts = [f["paragraphs"] for f in facets[name]]
        assert counts == sorted(counts, reverse=True)
    years = Counter(r["date"][:4] for r in results if r["date"])
    assert {f["value"]: f["paragraphs"] for f in facets["year"]} == dict(years)
    assert [f["value"] for f in facets["year"]] == sorted(years, reverse=True)
    assert {f["value"] for f in facets["language"]} == {"en", "fr"} or len(facets["language"]) >= 1
    for f in facets["language"]:
        assert f["documents"] == len({r["symbol"] for r in results if r["language"] == f["value"]})
    # Filtered: counted over the filtered results.
    fr = get(client, k=10, facets="true", language="fr")["facets"]
    assert [f["value"] for f in fr["language"]] == ["fr"]


@pytest.mark.parametrize(("params", "status"), [
    ({"offset": -1}, 422), ({"offset": "ten"}, 422), ({"offset": 1000}, 422), ({"sort": "newest"}, 422),
    ({"facets": "maybe"}, 422), ({"offset": 950, "k": 60}, 400),
])
def test_bad_paging_values_are_refused(client, params, status):
    r = client.get("/search", params={"q": QUERY, **params})
    assert r.status_code == status, r.text


def test_openapi_documents_the_paging_parameters_and_the_facets(client):
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/search"]["get"]
    params = {p["name"]: p for p in op["parameters"]}
    assert params["offset"]["schema"]["minimum"] == 0 and "ranked list" in params["offset"]["description"]
    assert params["sort"]["schema"]["pattern"] == "^(relevance|date)$"
    assert params["facets"]["schema"]["type"] == "boolean"
    schemas = spec["components"]["schemas"]
    assert {"offset", "sort", "pool", "has_more", "facets"} <= set(schemas["SearchResponse"]["properties"])
    assert set(schemas["SearchFacets"]["properties"]) == {"body", "type", "language", "year"}
    assert set(schemas["FacetValue"]["properties"]) == {"value", "paragraphs", "documents"}


def test_stop_words_are_not_highlighted(client):
    data = client.get("/search", params={"q": "which resolutions are about the humanitarian situation", "k": 10,
                                         "language": "en"}).json()
    marked = {m.lower() for r in data["results"] for m in _marks(r["snippet"])}
    assert "humanitarian" in marked
    assert not marked & {"which", "about", "the", "are"}, marked
    fr = client.get("/search", params={"q": "l'aide de la communauté", "k": 10, "language": "fr"}).json()
    marked = {m.lower() for r in fr["results"] for m in _marks(r["snippet"])}
    assert marked and not marked & {"l", "de", "la"}, marked


def _marks(snippet: str) -> list[str]:
    import re

    return re.findall(r"<mark>(.*?)</mark>", snippet)


def test_the_document_view_links_to_the_official_document_when_a_template_is_set(client, monkeypatch):
    page = "/documents/S/RES/2672%20(2023)?language=fr"
    html = client.get(page, headers={"Accept": BROWSER_ACCEPT}).text
    assert 'class="official"' not in html
    monkeypatch.setenv(OFFICIAL_URL_ENV, "https://documents.un.org/api/symbol/access?s={symbol}&l={language}")
    html = client.get(page, headers={"Accept": BROWSER_ACCEPT}).text
    assert 'href="https://documents.un.org/api/symbol/access?s=S%2FRES%2F2672%20%282023%29&amp;l=fr"' in html
    assert "Official document (Français)" in html
    monkeypatch.setenv(OFFICIAL_URL_ENV, "javascript:alert(1)//{symbol}")  # never a script URL
    assert 'class="official"' not in client.get(page, headers={"Accept": BROWSER_ACCEPT}).text


def test_a_missing_document_page_offers_a_search_for_it(client):
    r = client.get("/documents/S/RES/9999%20(2031)", headers={"Accept": BROWSER_ACCEPT})
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "no document with symbol" in r.text
    assert 'href="/?q=S%2FRES%2F9999%20%282031%29"' in r.text
    assert "Search all the documents" in r.text
