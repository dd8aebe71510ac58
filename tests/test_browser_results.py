"""The search page as a daily tool, in a real browser (headless chromium): language versions and a preferred
language, paging past ten, sort by date, grouping by document, facet counts, export, honest states (no results
and why, the service unreachable, a missing document or paragraph), the document view's header and keyboard use.

Over test_versions.py's index (S/RES/2672 (2023) and S/RES/2561 (2021) in English and French, S/RES/2562 (2021) in
English: 5 documents, about 150 paragraphs), with the project's re-ranker when it has one, on loopback. What the
page should show is asked of the API itself.
"""

from __future__ import annotations

import csv
import io
import re
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, quote_plus, urlparse

import httpx
import pytest

from service.web import OFFICIAL_URL_ENV
from tests.conftest import CHROMIUM, LiveServer
from tests.test_browser import Watched, re_class
from tests.test_versions import FR_QUESTION, versions_engine

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package")
expect = sync_api.expect

QUERY = "Security Council humanitarian"
# The status once results are shown, whichever the search's state: "10 results for", "10 possible matches for" ...
FOUND = re.compile(r"^\d+ (results?|possible match(es)?) for “|closest passages? shown")
SYRIA_DOC = "/documents/S/RES/2672%20(2023)"


@pytest.fixture(scope="module")
def engine(tmp_path_factory, encoder):
    from service.rerank import default_reranker

    base = versions_engine(tmp_path_factory, encoder)
    from service.search import SearchEngine

    return SearchEngine(base.index, base.encoders, default_reranker())


def make_app(engine):
    from service.app import create_app

    return create_app(engine=engine)


@pytest.fixture(scope="module")
def service(engine) -> Iterator[str]:
    with LiveServer(make_app(engine)) as server:
        yield server.url


@pytest.fixture
def watched(browser) -> Iterator[Watched]:
    w = Watched(browser, viewport={"width": 1024, "height": 800})
    yield w
    w.context.close()


def api(service: str, **params) -> dict:
    r = httpx.get(f"{service}/search", params=params, timeout=60)
    r.raise_for_status()
    return r.json()


def open_search(page, service: str, query: str = QUERY, **params) -> None:
    extra = "".join(f"&{k}={quote_plus(str(v))}" for k, v in params.items())
    page.goto(f"{service}/?q={quote_plus(query)}{extra}")
    expect(page.locator("#status")).to_contain_text(f"“{query}”")


def shown_citations(page) -> list[str]:
    return page.locator("#results li.result h3 a, #results li.result h4 a").all_text_contents()


def url_params(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


# -- language versions ------------------------------------------------------------------------------------------

def test_each_result_opens_its_own_version_and_a_preferred_language_is_remembered(service, watched):
    page = watched.page
    open_search(page, service, FR_QUESTION)
    first = page.locator("#results li.result").first
    expect(first.locator("h3 .lang-badge")).to_have_text("FR")
    href = first.locator("h3 a").get_attribute("href")
    assert re.fullmatch(r"documents/S/RES/2672%20\(2023\)\?language=fr#para-[\w-]+", href), href
    para = href.rsplit("#para-", 1)[1]
    expect(first.locator(".preferred-version")).to_have_count(0)  # no preference yet
    page.select_option("#pref-lang", "en")
    read_en = first.locator(".preferred-version a")
    expect(read_en).to_have_text("Read in English")
    expect(read_en).to_have_attribute("href", f"documents/S/RES/2672%20(2023)?language=en#para-{para}")
    # Remembered: a new visit shows the choice and the links.
    open_search(page, service, FR_QUESTION)
    expect(page.locator("#pref-lang")).to_have_value("en")
    assert page.evaluate("localStorage.getItem('parasearch.language')") == "en"
    page.locator("#results li.result").first.locator(".preferred-version a").click()
    page.wait_for_url(f"{service}{SYRIA_DOC}?language=en#para-{para}")
    expect(page.locator(f"#para-{para}")).to_have_class(re_class("cited"))
    # In a French version, the switch marks the preferred English one.
    page.goto(f"{service}{SYRIA_DOC}?language=fr#para-{para}")
    expect(page.locator("nav.versions a.version.preferred")).to_have_text("English (your language)")
    # The choice sits with the results it changes (nothing to sort or prefer on an empty page).
    page.goto(f"{service}/")
    expect(page.locator("#pref-lang")).to_be_hidden()
    open_search(page, service, FR_QUESTION)
    page.select_option("#pref-lang", "")
    expect(page.locator("#results .preferred-version")).to_have_count(0)
    assert page.evaluate("localStorage.getItem('parasearch.language')") is None
    watched.assert_clean()


# -- results a delegate can work through ------------------------------------------------------------------------

def test_more_results_pages_past_ten_and_the_url_keeps_the_page(service, watched):
    page = watched.page
    expected = api(service, q=QUERY, k=30, facets="true")
    citations = [r["citation"] for r in expected["results"]]
    open_search(page, service)
    assert shown_citations(page) == citations[:10]
    more = page.locator("#more")
    expect(more).to_be_visible()
    more.click()
    expect(page.locator("#results li.result")).to_have_count(20)
    assert shown_citations(page) == citations[:20]
    assert url_params(page)["page"] == ["2"]
    # The keyboard is on the first new result.
    assert page.evaluate("document.activeElement.textContent") == citations[10]
    expect(page.locator("#status")).to_have_text("10 more results; 20 shown.")
    # A bookmark of page 3 shows thirty.
    page.goto(f"{service}/?q={quote_plus(QUERY)}&page=3")
    expect(page.locator("#results li.result")).to_have_count(30)
    assert shown_citations(page) == citations
    # At the end of the list, no more button.
    page.goto(f"{service}/?q={quote_plus(QUERY)}&page=100")
    expect(page.locator("#status")).to_have_text(FOUND)
    expect(more).to_be_hidden()
    n = page.locator("#results li.result").count()
    assert n > 30 and len(set(shown_citations(page))) == n
    watched.assert_clean()


def test_more_results_leaves_the_answer_being_composed(service, watched):
    """"More results" while the answer is still on its way: both arrive (one request does not cancel the other)."""
    import json

    from tests.test_browser import ANSWER

    page = watched.page
    held: list = []
    page.route("**/answer", lambda route: held.append(route))  # answered only when the test says so
    open_search(page, service)
    expect(page.locator("#answer-body")).to_have_text("Composing a cited answer…")
    page.click("#more")
    expect(page.locator("#results li.result")).to_have_count(20)
    assert len(held) == 1
    held[0].fulfill(status=200, content_type="application/json", body=json.dumps(ANSWER))
    expect(page.locator("#answer-body")).to_contain_text("States should <b>record</b> testimony.")
    expect(page.locator("#answer")).not_to_have_attribute("aria-busy", "true")
    watched.assert_clean()


def result_dates(page) -> list[str]:
    return [m.split(" · ")[0] for m in page.locator("#results li.result .meta").all_text_contents()]


def test_sort_by_date_newest_first_is_kept_in_the_url(service, watched):
    page = watched.page
    open_search(page, service)
    by_relevance = shown_citations(page)
    page.select_option("#sort", "date")
    expect(page.locator("#status")).to_have_text(FOUND)
    page.wait_for_function("new URLSearchParams(location.search).get('sort') === 'date'")
    expected = api(service, q=QUERY, k=10, sort="date")
    expect(page.locator("#results li.result h3 a")).to_have_text([r["citation"] for r in expected["results"]])
    dates = result_dates(page)
    assert dates == sorted(dates, reverse=True) and dates[0].startswith("2023"), dates
    assert shown_citations(page) != by_relevance
    page.locator("#more").click()
    expect(page.locator("#results li.result")).to_have_count(20)
    dates = result_dates(page)
    assert dates == sorted(dates, reverse=True)
    page.reload()
    expect(page.locator("#sort")).to_have_value("date")
    expect(page.locator("#results li.result")).to_have_count(20)
    page.go_back()  # back to the search by relevance
    expect(page.locator("#sort")).to_have_value("relevance")
    watched.assert_clean()


def test_grouped_by_document_with_more_from_this_document(service, watched):
    page = watched.page
    data = api(service, q=QUERY, k=10, facets="true")
    symbols = list(dict.fromkeys(r["symbol"] for r in data["results"]))
    assert len(symbols) >= 2
    open_search(page, service)
    page.check("#group")
    cards = page.locator("#results > li.doc-group")
    expect(cards).to_have_count(len(symbols))
    assert "group=document" in page.url
    for card, symbol in zip(cards.all(), symbols, strict=True):
        expect(card).to_have_attribute("data-symbol", symbol)
        mine = [r for r in data["results"] if r["symbol"] == symbol]
        expect(card.locator(".meta")).to_contain_text(symbol)
        paras = card.locator("li.result h4 a")
        expect(paras).to_have_text([r["citation"] for r in mine[:3]])  # its best paragraphs, best first
        expect(card.locator(".group-count")).to_contain_text(f"{len(mine)} matching paragraph")
    # More from one document: the query with its symbol as a filter.
    other = symbols[1]
    cards.nth(1).locator("button.more-from").click()
    page.wait_for_function(f"new URLSearchParams(location.search).get('symbol') === {other!r}")
    expect(page.locator("#f-symbol")).to_have_value(other)
    expect(page.locator("#status")).to_have_text(FOUND)
    expect(cards).to_have_count(1)
    expect(cards.first).to_have_attribute("data-symbol", other)
    expect(cards.first.locator("button.more-from")).to_have_count(0)
    only = api(service, q=QUERY, k=10, symbol=other, facets="true")
    assert {r["symbol"] for r in only["results"]} == {other}
    # Ungrouped, the same results one by one.
    page.uncheck("#group")
    expect(page.locator("#results > li.result h3 a")).to_have_text([r["citation"] for r in only["results"]])
    watched.assert_clean()


def test_every_filter_shows_its_counts_for_the_query(service, watched):
    page = watched.page
    facets = api(service, q=QUERY, k=10, facets="true")["facets"]
    open_search(page, service)
    page.click("#filters summary")
    for name, select in (("body", "#f-body"), ("type", "#f-type"), ("language", "#f-language")):
        labels = page.locator(f"{select} option").all_text_contents()
        for f in facets[name]:
            assert any(label.endswith(f"({f['paragraphs']})") and (f["value"] in label or name == "language")
                       for label in labels), (name, f, labels)
    english = next(f for f in facets["language"] if f["value"] == "en")
    expect(page.locator("#f-language option[value=en]")).to_have_text(f"English (en) ({english['paragraphs']})")
    years = page.locator("#year-counts button.year")
    expect(years).to_have_text([f"{f['value']} ({f['paragraphs']})" for f in facets["year"]])
    # A year's count is a way to that year.
    first = facets["year"][0]
    years.first.click()
    expect(page.locator("#f-from")).to_have_value(first["value"])
    expect(page.locator("#f-to")).to_have_value(first["value"])
    expect(page.locator("#status")).to_have_text(FOUND)
    assert {d[:4] for d in result_dates(page)} == {first["value"]}
    # With a language chosen, that choice is counted and the others are not.
    page.select_option("#f-language", "fr")
    page.click("text=Apply filters")
    expect(page.locator("#status")).to_have_text(FOUND)
    fr = api(service, q=QUERY, k=10, facets="true", language="fr", date_from=first["value"],
             date_to=first["value"])["facets"]["language"]
    expect(page.locator("#f-language option[value=fr]")).to_have_text(f"French (fr) ({fr[0]['paragraphs']})")
    expect(page.locator("#f-language option[value=en]")).to_have_text("English (en)")
    watched.assert_clean()


def test_copy_all_citations_and_download_csv(service, watched):
    page = watched.page
    watched.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=service)
    data = api(service, q=QUERY, k=10, facets="true")
    open_search(page, service)
    page.click("#copy-all")
    expect(page.locator("#status")).to_have_text("Copied 10 citations.")
    lines = page.evaluate("navigator.clipboard.readText()").split("\n")
    assert len(lines) == 10
    r0 = data["results"][0]
    assert lines[0] == f"{r0['citation']} — {r0['title']}, {r0['date']}. {service}{r0['url'].replace(' ', '%20')}"
    with page.expect_download() as info:
        page.click("#download-csv")
    download = info.value
    assert download.suggested_filename == "parasearch-Security-Council-humanitarian.csv"
    text = open(download.path(), encoding="utf-8-sig").read()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["symbol", "paragraph", "citation", "title", "date", "language", "url"]
    assert [r[2] for r in rows[1:]] == [r["citation"] for r in data["results"]]
    assert rows[1][:6] == [r0["symbol"], r0["para"], r0["citation"], r0["title"], r0["date"], r0["language"]]
    assert httpx.get(rows[1][6], headers={"Accept": "text/html"}).status_code == 200
    watched.assert_clean()


# -- honest states ----------------------------------------------------------------------------------------------

def test_no_results_says_why_and_clears_the_filters(service, watched):
    page = watched.page
    open_search(page, service, "humanitarian", **{"from": "1990", "to": "1991"})
    expect(page.locator("#status")).to_have_text("No results for “humanitarian”.")
    expect(page.locator("#empty-reason")).to_have_text("No documents from 1990–1991; the index covers 2021–2023.")
    # Nothing to sort, group, page or export.
    for empty in ("#toolbar", "#more", "#results li"):
        expect(page.locator(empty)).to_be_hidden()
    clear = page.locator("#empty-clear")
    expect(clear).to_be_visible()
    clear.click()
    expect(page.locator("#status")).to_have_text(FOUND)
    expect(page.locator("#empty")).to_be_hidden()
    assert "from" not in url_params(page) and "to" not in url_params(page)
    expect(page.locator("#f-from")).to_have_value("")
    # A filter value the index has none of.
    open_search(page, service, "humanitarian", type="report")
    expect(page.locator("#empty-reason")).to_have_text("The index has no documents of type “report”; it has "
                                                      "resolution.")
    # No filters, nothing found: no button to clear.
    open_search(page, service, "S/RES/9999 (2031) para 4")
    expect(page.locator("#empty-reason")).to_contain_text("The index holds no document S/RES/9999 (2031)")
    expect(page.locator("#empty-clear")).to_be_hidden()
    watched.assert_clean()


def test_a_service_that_cannot_be_reached_says_so_and_retries(engine, browser):
    """The page loaded, then the server stopped: a plain message and "Try again", which works once it is back."""
    import uvicorn

    first = LiveServer(make_app(engine))
    port = first.port
    w = Watched(browser)
    page = w.page
    try:
        with first:
            open_search(page, first.url)
        page.fill("#q", "humanitarian aid")
        page.press("#q", "Enter")
        problem = page.locator("#problem")
        expect(problem).to_be_visible()
        expect(page.locator("#problem-text")).to_have_text(
            "The search service could not be reached, so nothing was searched. Check your connection (or that the "
            "service is running), then try again.")
        expect(page.locator("#status")).not_to_contain_text("Failed to fetch")
        expect(page.locator("#results li")).to_have_count(0)
        expect(page.locator("#toolbar")).to_be_hidden()
        again = LiveServer(make_app(engine))  # the same service back, at the same address
        again.port, again.url = port, f"http://127.0.0.1:{port}"
        again.server = uvicorn.Server(uvicorn.Config(again.server.config.app, host="127.0.0.1", port=port,
                                                     log_level="warning"))
        again.thread = threading.Thread(target=again.server.run, daemon=True)
        with again:
            page.click("#retry")
            expect(page.locator("#status")).to_have_text(FOUND)
            expect(problem).to_be_hidden()
            assert page.locator("#results li.result").count() == 10
        assert not w.errors and not w.dialogs
    finally:
        w.context.close()


def test_a_failing_service_says_so_in_plain_words_and_retries(service, watched):
    page = watched.page
    page.route("**/search?*", lambda route: route.fulfill(status=503, content_type="application/json",
                                                          body='{"detail": "overloaded"}'))
    page.goto(f"{service}/?q={quote_plus(QUERY)}")
    expect(page.locator("#problem-text")).to_have_text(
        "The search service had a problem (HTTP 503). Try again in a moment.")
    expect(page.locator("#status")).to_have_text("The search service had a problem (HTTP 503). Try again in a "
                                                 "moment.")
    expect(page.locator("#toolbar")).to_be_hidden()
    page.unroute("**/search?*")
    page.focus("#retry")
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_have_text(FOUND)
    expect(page.locator("#problem")).to_be_hidden()
    expect(page.locator("#results li.result")).to_have_count(10)
    watched.assert_clean()


def test_a_missing_document_or_paragraph_gets_a_helpful_page(service, watched):
    page = watched.page
    response = page.goto(f"{service}/documents/S/RES/9999%20(2031)")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("Document not found")
    expect(page.locator("[role=alert]")).to_contain_text("no document with symbol")
    page.locator("a", has_text="Search for “S/RES/9999 (2031)”").click()
    expect(page.locator("#q")).to_have_value("S/RES/9999 (2031)")
    expect(page.locator("#empty-reason")).to_contain_text("S/RES/9999 (2031)")
    response = page.goto(f"{service}{SYRIA_DOC}?language=de")
    assert response.status == 404
    expect(page.locator("[role=alert]")).to_contain_text("it is in: en, fr")
    # A paragraph the document does not have: said, the document shown from the start.
    page.goto(f"{service}{SYRIA_DOC}?language=en#para-999")
    expect(page.locator("#para-notice")).to_have_text(
        "This document has no paragraph “999”: it is shown from the start. Its numbered paragraphs are marked in the "
        "margin.")
    expect(page.locator(".para.cited")).to_have_count(0)
    page.locator("#para-3 a.num").click()
    expect(page.locator("#para-notice")).to_be_hidden()
    watched.assert_clean()


def test_the_search_hint_example_is_a_citation_the_index_holds(service, watched):
    page = watched.page
    page.goto(f"{service}/")
    expect(page.locator("h1")).to_have_count(1)
    example = page.locator("#q-example")
    expect(example).to_be_visible()
    text = example.text_content()
    expect(page.locator("#q-example").locator("xpath=..")).to_have_text(
        re.compile(r"find that\s+paragraph\. For example: " + re.escape(text) + "$"))
    assert re.fullmatch(r"S/RES/\d+ \(\d{4}\) para \d+", text), text
    example.click()
    expect(page.locator("#status")).to_contain_text(f"“{text}”")
    symbol, para = text.rsplit(" para ", 1)
    expect(page.locator("#results li.result").first.locator("h3 a")).to_have_text(f"{symbol}, para. {para}")
    watched.assert_clean()


# -- document view ----------------------------------------------------------------------------------------------

def test_symbols_are_offered_as_they_are_typed_in_the_search_box_and_the_symbol_filter(service, watched):
    page = watched.page
    page.goto(f"{service}/")
    box, offered = page.locator("#q"), page.locator("#q-symbols option")
    expect(box).to_have_attribute("list", "q-symbols")
    box.press_sequentially("s/res/25", delay=20)
    expect(offered).to_have_count(2)
    assert sorted(offered.evaluate_all("os => os.map(o => o.value)")) == ["S/RES/2561 (2021)", "S/RES/2562 (2021)"]
    label = offered.first.get_attribute("label")
    assert label and label.endswith("2021"), label  # the title and the year beside each symbol
    box.fill("")
    box.press_sequentially("humanitarian aid to Syria", delay=10)  # a question is not a symbol: nothing offered
    expect(offered).to_have_count(0)
    # choosing a symbol and searching for it finds that document
    box.fill("")
    box.press_sequentially("S/RES/2672", delay=20)
    expect(offered).to_have_count(1)
    box.fill(offered.first.get_attribute("value"))
    box.press("Enter")
    expect(page.locator("#results li.result").first).to_contain_text("S/RES/2672 (2023)")
    page.locator("#filters summary").click()
    page.locator("#f-symbol").press_sequentially("2561", delay=20)
    expect(page.locator("#symbol-list option")).to_have_count(1)
    expect(page.locator("#symbol-list option")).to_have_attribute("value", "S/RES/2561 (2021)")
    watched.assert_clean()


def test_the_document_view_keeps_its_header_in_sight_and_links_the_official_document(service, watched,
                                                                                       monkeypatch):
    page = watched.page
    page.goto(f"{service}{SYRIA_DOC}?language=fr#para-3")
    expect(page.locator(".official")).to_have_count(0)  # no template set
    monkeypatch.setenv(OFFICIAL_URL_ENV, "https://documents.un.org/api/symbol/access?s={symbol}&l={language}")
    last = page.locator(".para").last.get_attribute("id")
    page.goto(f"{service}{SYRIA_DOC}?language=fr#{last}")
    page.reload()  # the same URL but for its fragment: loaded again, now with the template set
    head = page.locator("#doc-head")
    expect(page.locator(f"#{last}")).to_be_in_viewport()
    expect(head).to_be_in_viewport()
    assert head.bounding_box()["y"] <= 1
    expect(head.locator("h1")).to_be_visible()
    expect(head.locator(".doc-symbol")).to_have_text("S/RES/2672 (2023)")
    expect(head.locator("time")).to_have_attribute("datetime", re.compile(r"^2023-"))
    # The cited paragraph is below the sticky header, not under it.
    head_bottom = head.bounding_box()["y"] + head.bounding_box()["height"]
    assert page.locator(f"#{last}").bounding_box()["y"] >= head_bottom - 1
    official = page.locator(".official a")
    expect(official).to_have_attribute("href", "https://documents.un.org/api/symbol/access?s=S%2FRES%2F2672%20"
                                               "%282023%29&l=fr")
    expect(official).to_have_text("Official document (Français)")
    # Copy buttons are visible without hovering.
    expect(page.locator("#para-1 button.copy")).to_be_visible()
    watched.assert_clean()


def test_keyboard_alone_pages_sorts_and_copies(service, browser):
    w = Watched(browser, viewport={"width": 1024, "height": 800})
    w.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=service)
    page = w.page
    try:
        page.goto(f"{service}/")
        page.keyboard.type(QUERY)
        page.keyboard.press("Enter")
        expect(page.locator("#status")).to_have_text(FOUND)
        page.focus("#sort")  # reached by Tab from the results' start; chosen with the arrow keys
        page.keyboard.press("ArrowDown")
        page.wait_for_function("new URLSearchParams(location.search).get('sort') === 'date'")
        expect(page.locator("#status")).to_have_text(FOUND)
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "group"
        page.keyboard.press("Space")
        expect(page.locator("#results > li.doc-group").first).to_be_visible()
        page.keyboard.press("Space")
        expect(page.locator("#results > li.result").first).to_be_visible()
        # Tab through the results to "More results", Enter: the keyboard lands on the first new result.
        for _ in range(80):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == "more":
                break
        else:
            pytest.fail("More results not reachable by Tab")
        page.keyboard.press("Enter")
        expect(page.locator("#results li.result")).to_have_count(20)
        tenth = page.locator("#results li.result").nth(10).locator("h3 a")
        expect(tenth).to_be_focused()
        page.keyboard.press("Enter")
        page.wait_for_url("**/documents/**#para-*")
        expect(page.locator(".para.cited")).to_be_in_viewport()
        # The document view: one tab stop per paragraph, the copy button; Enter copies.
        page.keyboard.press("Tab")
        cited = page.locator(".para.cited")
        expect(cited.locator("button.copy")).to_be_focused()
        page.keyboard.press("Enter")
        expect(cited.locator("button.copy")).to_have_text("Copied")
        assert page.evaluate("navigator.clipboard.readText()").startswith(
            cited.locator("button.copy").get_attribute("data-citation") + " — ")
        stops = page.evaluate("""() => [...document.querySelectorAll('.para')].map(p =>
            [...p.querySelectorAll('a, button, input, [tabindex]')].filter(e => e.tabIndex >= 0).length)""")
        assert set(stops) == {1}, stops
        w.assert_clean()
    finally:
        w.context.close()
