"""How sure the service is, on the search page and in the widget, in a real browser (headless chromium).

The API says how sure it is: a search's ``state`` ("answer", "closest", "not_found"; null without a learned
re-ranker) and each result's ``weak`` flag; an answer's ``state``, its citation-led sentences and a list
question's ``items``. These tests load the page against a live service over conftest's mini corpus (with the
project's re-ranker when it has one), ask the API itself what to expect, and check what the page shows for it.

Where the running service cannot produce a state (no re-ranker: ``state`` is null), the check that needs it is
skipped; the page's rendering of every state is still checked with the service's own response, its ``state`` and
``weak`` flags changed in flight (``page.route``), so that the code is exercised either way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import quote_plus

import httpx
import pytest

from tests.conftest import CHROMIUM, service_with_host_page
from tests.test_browser import Watched, widget_search

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package")
expect = sync_api.expect

QUESTION = "cross-border humanitarian assistance to Syria"
LIST_QUESTION = "Which resolutions renewed the cross-border humanitarian mechanism?"
NONSENSE = "qwxz plokm zzyv"
HEADINGS = {"answer": "Answer", "closest": "Closest passage", "not_found": "Not found"}
NOT_FOUND_NOTICE = "No paragraph matches this query well. The closest passages are shown below."


@pytest.fixture(scope="session")
def states_web(mini_index, encoder) -> Iterator[dict]:
    """The service over the mini corpus, with the project's re-ranker when it has one, and an intranet page
    allowed to embed its widget."""
    from service.index import LoadedIndex
    from service.rerank import default_reranker
    from service.search import SearchEngine

    with service_with_host_page(SearchEngine(LoadedIndex(mini_index), encoder, default_reranker())) as web:
        yield web


@pytest.fixture
def watched(browser) -> Iterator[Watched]:
    w = Watched(browser, viewport={"width": 1024, "height": 800})
    yield w
    w.context.close()


def api_answer(service: str, question: str) -> dict:
    r = httpx.post(f"{service}/answer", json={"question": question, "filters": {}, "mode": "hybrid"}, timeout=60)
    r.raise_for_status()
    return r.json()


def api_search(service: str, q: str) -> dict:
    r = httpx.get(f"{service}/search", params={"q": q, "k": 10}, timeout=60)
    r.raise_for_status()
    return r.json()


def open_search(page, service: str, q: str) -> None:
    """The search page for ``q``, once its results and its answer have both arrived."""
    page.goto(f"{service}/?q={quote_plus(q)}")
    expect(page.locator("#status")).to_contain_text(f"“{q}”")
    expect(page.locator("#answer")).not_to_have_attribute("aria-busy", "true")


def expected_runs(answer: dict) -> list[tuple[str, str]]:
    """The answer's runs as the API composes them: (leading citations, the run's sentences)."""
    runs: list[tuple[str, list[str]]] = []
    for s in answer["sentences"]:
        if s.get("supported") is False or not s["citations"]:
            continue
        cites = "; ".join(c["citation"] for c in s["citations"])
        if runs and runs[-1][0] == cites:
            runs[-1][1].append(s["text"])
        else:
            runs.append((cites, [s["text"]]))
    return [(cites, " ".join(texts)) for cites, texts in runs]


def test_the_answer_is_headed_by_its_state_and_each_run_led_by_its_citation(states_web, watched):
    service = states_web["service"]
    data = api_answer(service, QUESTION)
    assert data["state"] in HEADINGS, data.get("state")
    page = watched.page
    open_search(page, service, QUESTION)
    panel = page.locator("#answer")
    expect(panel).to_be_visible()
    expect(panel).to_have_attribute("data-state", data["state"])
    expect(panel.locator("h2")).to_have_text(HEADINGS[data["state"]])
    if data["state"] == "closest":
        expect(panel.locator("#answer-state")).to_have_text("This passage may not answer the question.")
    else:
        expect(panel.locator("#answer-state")).to_be_hidden()
    if data["state"] == "not_found":
        pytest.skip(f"the service found no answer to {QUESTION!r} here")
    runs = expected_runs(data)
    assert runs, data
    shown = panel.locator("#answer-body p.answer-run")
    expect(shown).to_have_count(len(runs))
    # The citation comes first, then ": " and the run's sentences; together they read as the API's `answer`.
    for i, (cites, text) in enumerate(runs):
        expect(shown.nth(i)).to_have_text(f"{cites}: {text}")
        first = shown.nth(i).evaluate("p => p.firstChild.nodeName + ' ' + p.firstChild.className")
        assert first == "A cite-ref lead-cite", first
    assert " ".join(shown.all_text_contents()) == data["answer"]
    citation = next(s["citations"][0] for s in data["sentences"] if s["citations"])
    link = shown.first.locator("a.lead-cite").first
    expect(link).to_have_text(citation["citation"])
    expect(link).to_have_attribute("hreflang", citation["language"])
    assert link.evaluate("a => a.href") == service + citation["url"]
    # One click away: the document view at the cited paragraph.
    link.click()
    page.wait_for_url(service + citation["url"])
    cited = page.locator(f"#para-{citation['para']}")
    expect(cited).to_have_class(re.compile(r"(^|\s)cited(\s|$)"))
    expect(cited).to_be_in_viewport()
    watched.assert_clean()


def test_a_nonsense_query_is_not_announced_as_matches(states_web, watched):
    service = states_web["service"]
    answer = api_answer(service, NONSENSE)
    search = api_search(service, NONSENSE)
    page = watched.page
    open_search(page, service, NONSENSE)
    panel = page.locator("#answer")
    expect(panel.locator("h2")).to_have_text(HEADINGS[answer["state"]])
    if answer["state"] == "not_found":
        expect(panel).to_have_attribute("data-state", "not_found")
        expect(panel.locator("#answer-body")).to_have_text(answer["answer"])
        expect(panel.locator("a.lead-cite")).to_have_count(0)
    if search.get("state") is None:
        pytest.skip("the service has no re-ranker: /search returns state null and no weak flags")
    results = search["results"]
    weak = [r["citation"] for r in results if r.get("weak")]
    assert search["state"] == "not_found" or weak, search  # nonsense matches nothing well
    expect(page.locator("#results li.result")).to_have_count(len(results))
    expect(page.locator("#results li.weak .weak-tag")).to_have_count(len(weak))
    expect(page.locator("#results li.weak h3 a")).to_have_text(weak)
    if search["state"] == "not_found":
        expect(page.locator("#match-notice")).to_have_text(NOT_FOUND_NOTICE)
        n = len(results)
        expect(page.locator("#status")).to_have_text(
            f"No good match for “{NONSENSE}”; {n} closest passage{'' if n == 1 else 's'} shown.")
    watched.assert_clean()


def test_a_list_answer_shows_one_line_per_document_newest_first(states_web, watched):
    service = states_web["service"]
    data = api_answer(service, LIST_QUESTION)
    if not data.get("items"):
        pytest.skip(f"the service gave no list for {LIST_QUESTION!r}")
    page = watched.page
    open_search(page, service, LIST_QUESTION)
    lines = page.locator("#answer ol#answer-items > li")
    expect(lines).to_have_count(len(data["items"]))
    for line, item in zip(lines.all(), data["items"], strict=True):
        link = line.locator("a.item-cite")
        expect(link).to_have_text(item["citation"])
        assert link.evaluate("a => a.href") == service + item["url"]
        if item.get("date"):
            expect(line.locator("time")).to_have_attribute("datetime", item["date"])
        text = line.locator(".item-text")
        shown = text.text_content()
        full = " ".join(item["text"].split())
        if len(full) <= 300:
            assert shown == full
        else:  # shortened at a word, with an ellipsis; the whole paragraph in its title and behind the link
            assert shown.endswith("…") and len(shown) <= 301 and full.startswith(shown[:-1])
            assert " ".join(text.get_attribute("title").split()) == full
    watched.assert_clean()


# -- every state, with the service's own responses relabelled in flight -------------------------------------------

def relabel_search(page, state: str, weak_from: int) -> None:
    """The page's /search responses, with ``state`` set and the results from ``weak_from`` on marked weak."""
    def handle(route) -> None:
        response = route.fetch()
        data = response.json()
        data["state"] = state
        for i, r in enumerate(data["results"]):
            r["weak"] = i >= weak_from
            r["relevance"] = 0.2 if i >= weak_from else 0.8
        route.fulfill(response=response, body=json.dumps(data), content_type="application/json")

    page.route(re.compile(r".*/search\?.*"), handle)


def relabel_answer(page, state: str, items: list[dict] | None = None) -> None:
    def handle(route) -> None:
        response = route.fetch()
        data = response.json()
        data["state"] = state
        data["found"] = state != "not_found"
        data["confidence"]["probability"] = {"answer": 0.93, "closest": 0.41, "not_found": 0.05}[state]
        if items is not None:
            data["items"] = items
        route.fulfill(response=response, body=json.dumps(data), content_type="application/json")

    page.route(re.compile(r".*/answer$"), handle)


@pytest.mark.parametrize("state", ["answer", "closest", "not_found"])
def test_each_search_state_is_said_in_words(states_web, watched, state):
    service = states_web["service"]
    page = watched.page
    relabel_search(page, state, weak_from={"answer": 3, "closest": 1, "not_found": 0}[state])
    relabel_answer(page, "closest" if state == "closest" else "answer")
    open_search(page, service, QUESTION)
    results = page.locator("#results li.result")
    n = results.count()
    assert n >= 3
    weak = page.locator("#results li.result.weak")
    expect(weak).to_have_count({"answer": n - 3, "closest": n - 1, "not_found": n}[state])
    expect(weak.locator("h3 .weak-tag")).to_have_count(weak.count())
    if weak.count():
        expect(weak.first.locator(".weak-tag")).to_have_text("weak match")
    expect(page.locator("#results li.result:not(.weak) .weak-tag")).to_have_count(0)
    notice = page.locator("#match-notice")
    heading = page.locator("#results-heading")
    status = page.locator("#status")
    if state == "not_found":
        expect(notice).to_have_text(NOT_FOUND_NOTICE)
        expect(heading).to_have_text("Closest passages")
        expect(status).to_have_text(f"No good match for “{QUESTION}”; {n} closest passages shown.")
        # The notice sits above the results (below the answer box).
        assert notice.bounding_box()["y"] < results.first.bounding_box()["y"]
    elif state == "closest":
        expect(notice).to_contain_text("Possible matches")
        expect(heading).to_have_text("Possible matches")
        expect(status).to_have_text(f"{n} possible matches for “{QUESTION}”.")
    else:
        expect(notice).to_be_hidden()
        expect(heading).to_have_text("Results")
        expect(status).to_have_text(f"{n} results for “{QUESTION}”.")
    # A weak result's text is muted, not hidden.
    if weak.count():
        muted = weak.first.locator(".snippet").evaluate("e => getComputedStyle(e).color")
        plain = page.evaluate("getComputedStyle(document.body).color")
        assert muted != plain
    watched.assert_clean()


@pytest.mark.parametrize("state", ["answer", "closest", "not_found"])
def test_each_answer_state_has_its_heading_and_note(states_web, watched, state):
    service = states_web["service"]
    page = watched.page
    relabel_answer(page, state)
    open_search(page, service, QUESTION)
    panel = page.locator("#answer")
    expect(panel).to_be_visible()
    expect(panel).to_have_attribute("data-state", state)
    expect(panel.locator("h2")).to_have_text(HEADINGS[state])
    note = panel.locator("#answer-state")
    if state == "closest":
        expect(note).to_have_text("This passage may not answer the question.")
    else:
        expect(note).to_be_hidden()
    if state == "not_found":
        expect(panel.locator("a.cite-ref")).to_have_count(0)
        expect(panel.locator("#answer-note")).to_have_text("")
    else:
        expect(panel.locator("p.answer-run").first.locator("a.lead-cite").first).to_be_visible()
        expect(panel.locator("#answer-note")).to_contain_text(
            "Confidence: 93%." if state == "answer" else "Confidence: 41%.")
    watched.assert_clean()


def test_the_three_answer_states_are_styled_apart(states_web, watched):
    page = watched.page
    relabel_answer(page, "answer")
    open_search(page, states_web["service"], QUESTION)
    styles = page.evaluate("""() => {
        const e = document.getElementById('answer'); const out = {};
        for (const s of ['answer', 'closest', 'not_found']) {
          e.dataset.state = s; const c = getComputedStyle(e);
          out[s] = c.borderLeftColor + ' ' + c.borderLeftStyle + ' ' + c.backgroundColor;
        }
        return out; }""")
    assert len(set(styles.values())) == 3, styles


def test_list_items_are_shortened_with_the_whole_paragraph_in_reach(states_web, watched):
    service = states_web["service"]
    long_text = ("Decides to renew the measures set out in paragraphs 2 and 3 of resolution 2165 (2014) for a "
                 "period of six months, " * 6).strip()
    items = [
        {"symbol": "S/RES/2672 (2023)", "para": "2", "citation": "S/RES/2672 (2023), para. 2", "language": "en",
         "url": "/documents/S/RES/2672%20(2023)?language=en#para-2", "date": "2023-01-09",
         "title": "Resolution 2672 (2023)", "text": long_text},
        {"symbol": "S/RES/2561 (2021)", "para": "1", "citation": "S/RES/2561 (2021), para. 1", "language": "en",
         "url": "/documents/S/RES/2561%20(2021)?language=en#para-1", "date": "2021-01-29",
         "title": "Resolution 2561 (2021)", "text": "Reaffirms all its relevant resolutions on Cyprus."},
    ]
    page = watched.page
    relabel_answer(page, "answer", items)
    open_search(page, service, LIST_QUESTION)
    lines = page.locator("#answer-items > li")
    expect(lines).to_have_count(2)
    expect(lines.nth(0).locator("time")).to_have_text("2023-01-09")
    expect(lines.nth(1).locator("time")).to_have_text("2021-01-29")
    first = lines.nth(0).locator(".item-text")
    shown = first.text_content()
    assert shown.endswith("…") and len(shown) <= 301 and long_text.startswith(shown[:-1].rstrip())
    expect(first).to_have_attribute("title", long_text)
    expect(first).to_have_attribute("lang", "en")
    expect(lines.nth(1).locator(".item-text")).to_have_text("Reaffirms all its relevant resolutions on Cyprus.")
    assert lines.nth(1).locator(".item-text").get_attribute("title") is None
    link = lines.nth(0).locator("a.item-cite")
    expect(link).to_have_text("S/RES/2672 (2023), para. 2")
    link.click()
    page.wait_for_url(service + items[0]["url"])
    expect(page.locator("#para-2")).to_have_class(re.compile(r"(^|\s)cited(\s|$)"))
    watched.assert_clean()


def test_the_widget_marks_weak_results_and_a_search_with_no_good_match(states_web, watched):
    page = watched.page
    relabel_search(page, "not_found", weak_from=0)
    widget, box = widget_search(page, states_web["allowed"], NONSENSE)
    items = widget.locator("li")
    expect(items).to_have_count(3)  # data-k="3"
    expect(widget.locator("li.weak .tag")).to_have_count(3)
    expect(widget.locator("li.weak .tag").first).to_have_text("weak match")
    expect(widget.locator(".status")).to_have_text(f"No good match for “{NONSENSE}”; 3 closest passages shown.")
    page.unroute(re.compile(r".*/search\?.*"))
    relabel_search(page, "answer", weak_from=2)
    box.fill(QUESTION)
    box.press("Enter")
    expect(widget.locator(".status")).to_have_text(f"3 results for “{QUESTION}”.")
    expect(widget.locator("li.weak .tag")).to_have_count(1)
    watched.assert_clean()
