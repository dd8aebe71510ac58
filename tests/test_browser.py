"""The web front end in a real browser: Debian's chromium, headless, driven by Playwright.

Needs ``/usr/bin/chromium`` (``apt-get install -y chromium``) and the ``playwright`` Python package (a dev
dependency); Playwright's own browser download (``playwright install``) is never used. Without chromium
these tests are skipped, with the reason.

The service runs on a loopback port over the built-in sample (conftest's ``ctoc_index``) with the CORS
allow-list set to one loopback host page; a second host page, on another port, is not on the list. Language
versions are checked on a second service over Security Council resolutions in English and French
(test_versions.py's index), with its own allowed host page.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.conftest import CHROMIUM, LiveServer, free_port
from tests.test_versions import FR_QUESTION
from tests.test_web import CORS_ENV, HOSTILE_SYMBOL, build_hostile_index

QUESTION = "video recording of child witnesses"
GOLD = ("CTOC/COP/WG.2/2013/5, para. 9", "CTOC/COP/WG.2/2013/5, para. 58")

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package (pip install "
                                                                 "playwright; no `playwright install`)")
expect = sync_api.expect

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Legal Office intranet</title>
<style>
  body {{ font-family: "Comic Sans MS", cursive; color: purple; background: #eef; }}
  div, p, input, button, a, li, ol, form {{ border: 3px dashed red !important; font-size: 30px !important;
                                            color: green !important; display: inline !important; }}
</style></head>
<body>
<h1>Legal Office intranet</h1>
<p>Search the UN documents below.</p>
<script src="{service}/widget.js" data-parasearch data-k="3" data-placeholder="Ask about UN documents"{extra}></script>
<p id="after">Footer text of the host page.</p>
</body></html>
"""


class HostPage:
    """A tiny http.server on its own loopback port serving an intranet page that embeds the widget: at ``/`` as
    search only, at ``/with-answer`` with ``data-answer="true"``."""

    def __init__(self, service_url: str, port: int | None = None) -> None:
        pages = {"/": HOST_PAGE.format(service=service_url, extra="").encode(),
                 "/with-answer": HOST_PAGE.format(service=service_url, extra=' data-answer="true"').encode()}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                body = pages.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> HostPage:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def web(ctoc_index, encoder, tmp_path_factory) -> Iterator[dict]:
    """The service over the sample, one allowed and one refused host page, and a server for the hostile document."""
    from service.app import create_app
    from service.index import LoadedIndex
    from service.search import SearchEngine

    allowed_port = free_port()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CORS_ENV, f"http://127.0.0.1:{allowed_port}")
        app = create_app(engine=SearchEngine(LoadedIndex(ctoc_index), encoder))
        mp.delenv(CORS_ENV)
        hostile_app = create_app(engine=SearchEngine(
            LoadedIndex(build_hostile_index(tmp_path_factory.mktemp("hostile-web"), encoder)), encoder))
    with LiveServer(app) as service, LiveServer(hostile_app) as hostile:
        allowed = HostPage(service.url, allowed_port)
        refused = HostPage(service.url)
        allowed.start()
        refused.start()
        try:
            yield {"service": service.url, "hostile": hostile.url, "allowed": allowed.url, "refused": refused.url}
        finally:
            allowed.stop()
            refused.stop()


class Watched:
    """A page with its JavaScript errors, console messages and dialogs recorded (a dialog means script ran)."""

    def __init__(self, browser, **context) -> None:
        self.context = browser.new_context(**context)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.console: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", lambda msg: self.console.append(msg.text))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def assert_clean(self) -> None:
        assert not self.errors, self.errors
        assert not self.dialogs, self.dialogs
        assert not [m for m in self.console if "Content Security Policy" in m], self.console


@pytest.fixture
def watched(browser) -> Iterator[Watched]:
    w = Watched(browser, viewport={"width": 1024, "height": 800})
    yield w
    w.context.close()


def search(page, question: str) -> list[str]:
    page.fill("#q", question)
    page.press("#q", "Enter")
    expect(page.locator("#status")).to_contain_text("result")
    return page.locator("#results li h3 a").all_text_contents()


def test_search_shows_cited_paragraphs_and_the_query_is_in_the_url(web, watched):
    page = watched.page
    page.goto(web["service"] + "/")
    citations = search(page, QUESTION)
    assert set(citations[:3]) & set(GOLD), citations
    expect(page.locator("#status")).to_have_text(f"{len(citations)} results for “{QUESTION}”.")
    assert page.url.endswith("/?q=video+recording+of+child+witnesses")
    first = page.locator("#results li").first
    expect(first.locator("mark").first).to_be_visible()  # the snippet's highlighted terms
    expect(first.locator(".doc-name")).to_contain_text("Report on the meeting of the Working Group")
    watched.assert_clean()


ANSWER = {
    "question": QUESTION, "found": True, "method": "extractive", "took_ms": 1.0, "passages": [], "confidence": {},
    "answer": "States should record testimony. [CTOC/COP/WG.2/2013/5, para. 9]",
    "sentences": [
        {"text": "States should <b>record</b> testimony.", "supported": True,
         "citations": [{"symbol": "CTOC/COP/WG.2/2013/5", "para": "9", "citation": GOLD[0], "passage": 1,
                        "language": "en"}]},
        {"text": "An unbacked sentence.", "supported": False, "citations": []},
    ],
}


@pytest.mark.parametrize("answer", ["composed", "absent", "failing"])
def test_the_cited_answer_is_shown_when_the_service_has_one_and_never_holds_up_results(web, watched, answer):
    import json

    page = watched.page

    def fake(route) -> None:
        if answer == "absent":  # a service without the answer endpoint
            route.fulfill(status=404, content_type="application/json", body='{"detail": "Not Found"}')
        elif answer == "failing" or route.request.method != "POST":
            route.fulfill(status=405 if route.request.method != "POST" else 500, content_type="application/json",
                          body='{"detail": "no"}')
        else:
            route.fulfill(status=200, content_type="application/json", body=json.dumps(ANSWER))

    page.route("**/answer", fake)
    page.goto(web["service"] + "/")
    citations = search(page, QUESTION)
    assert set(citations[:3]) & set(GOLD)
    panel = page.locator("#answer")
    if answer == "composed":
        expect(panel).to_be_visible()
        expect(panel.locator("#answer-body")).to_have_text(f"States should <b>record</b> testimony. [{GOLD[0]}]")
        ref = panel.locator("a.cite-ref").evaluate("a => a.href")
        assert ref == web["service"] + "/documents/CTOC/COP/WG.2/2013/5?language=en#para-9"
        assert panel.locator("b").count() == 0
    else:
        page.wait_for_timeout(300)
        expect(panel).to_be_hidden()
    watched.assert_clean()


def test_citation_link_opens_the_document_at_the_highlighted_paragraph(web, watched):
    page = watched.page
    watched.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=web["service"])
    page.goto(web["service"] + "/?q=" + QUESTION.replace(" ", "+"))
    link = page.locator("#results li h3 a").filter(has_text=re_any(GOLD)).first
    cited = link.text_content()
    para = cited.rsplit(" ", 1)[-1]
    link.click()
    page.wait_for_url(web["service"] + f"/documents/CTOC/COP/WG.2/2013/5?language=en#para-{para}")
    target = page.locator(f"#para-{para}")
    expect(target).to_have_class(re_class("cited"))
    expect(target).to_be_in_viewport()
    expect(page.locator(".para.cited")).to_have_count(1)
    assert page.evaluate("document.activeElement.id") == f"para-{para}"
    copy = target.locator("button.copy")
    expect(copy).to_be_visible()
    copy.click()
    expect(copy).to_have_text("Copied")
    # The citation, the document's title and date, and a link to the paragraph.
    copied = page.evaluate("navigator.clipboard.readText()")
    link = web["service"] + f"/documents/CTOC/COP/WG.2/2013/5?language=en#para-{para}"
    assert copied == f"{cited} — Report on the meeting of the Working Group of Government Experts on Technical " \
                     f"Assistance held in Vienna from 28 to 30 October 2013, 2013-11-19. {link}", copied
    expect(page.locator("#copy-status")).to_have_text(f"Copied: {copied}")
    # Another paragraph's number moves the highlight.
    page.locator("#para-10 a.num").click()
    expect(page.locator("#para-10")).to_have_class(re_class("cited"))
    expect(page.locator(".para.cited")).to_have_count(1)
    watched.assert_clean()


def test_filters_go_to_the_api_and_the_back_button_restores_the_search(web, watched):
    page = watched.page
    page.goto(web["service"] + "/")
    search(page, QUESTION)
    page.click("#filters summary")
    page.select_option("#f-type", "report")
    page.fill("#f-from", "2013")
    page.fill("#f-to", "2014")
    with page.expect_request("**/search?*") as req:
        page.click("text=Apply filters")
    assert "type=report" in req.value.url and "date_from=2013" in req.value.url and "date_to=2014" in req.value.url
    expect(page.locator("#status")).to_contain_text("results")
    assert "type=report&from=2013&to=2014" in page.url
    search(page, "witness protection programmes")
    page.go_back()
    expect(page.locator("#q")).to_have_value(QUESTION)
    expect(page.locator("#f-type")).to_have_value("report")
    page.go_back()
    expect(page.locator("#f-type")).to_have_value("")
    # A bookmarked search runs on load, filters included.
    page.goto(web["service"] + "/?q=witnesses&type=nothing-like-this")
    expect(page.locator("#status")).to_have_text("No results for “witnesses”.")
    watched.assert_clean()


def test_keyboard_alone(web, browser):
    w = Watched(browser, viewport={"width": 375, "height": 800})
    page = w.page
    try:
        page.goto(web["service"] + "/")
        assert page.evaluate("document.activeElement.id") == "q"  # the search box has focus on arrival
        page.keyboard.type(QUESTION)
        page.keyboard.press("Enter")
        expect(page.locator("#status")).to_contain_text("results for")

        def focused() -> dict:
            return page.evaluate("""() => { const e = document.activeElement; const s = getComputedStyle(e);
                return {tag: e.tagName, text: (e.textContent || '').trim(), cls: e.className,
                        outline: s.outlineStyle, width: parseFloat(s.outlineWidth)}; }""")

        page.keyboard.press("Tab")
        assert focused()["text"] == "Search"
        page.keyboard.press("Tab")  # the hint's example, a citation the sample holds
        assert focused()["tag"] == "BUTTON" and " para " in focused()["text"], focused()
        page.keyboard.press("Tab")
        assert focused()["tag"] == "SUMMARY"
        # Then the answer's citations if the service composes one, then the results, in order.
        for _ in range(12):
            page.keyboard.press("Tab")
            f = focused()
            assert f["outline"] == "solid" and f["width"] >= 2, f  # focus is always visible
            if f["tag"] == "A" and "cite-ref" not in f["cls"]:
                break
        assert f["text"] in page.locator("#results li h3 a").all_text_contents()
        page.keyboard.press("Enter")
        page.wait_for_url("**/documents/**#para-*")
        expect(page.locator(".para.cited")).to_be_in_viewport()
        # One tab stop per paragraph: its copy button (the number is a link for the mouse and link lists).
        page.keyboard.press("Tab")
        first = page.evaluate("document.activeElement.closest('.para').id")
        assert "copy" in focused()["cls"]
        page.keyboard.press("Tab")
        assert "copy" in focused()["cls"]
        assert page.evaluate("document.activeElement.closest('.para').id") != first
        # The skip link shows when focused and moves past the header.
        page.go_back()
        page.focus(".skip-link")
        box = page.locator(".skip-link").bounding_box()
        assert box and box["y"] >= 0
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        assert focused()["tag"] in ("A", "SELECT")  # the answer's citations, or the sort of the results
        w.assert_clean()
    finally:
        w.context.close()


def test_document_text_with_markup_renders_as_text(web, watched):
    page = watched.page
    page.goto(web["hostile"] + "/documents/" + HOSTILE_SYMBOL + "#para-1")
    expect(page.locator("#para-1 .text")).to_have_text(
        'Decides that <script>alert("para")</script> witness protection text is shown literally.')
    expect(page.locator("#para-preamble-1 .text")).to_contain_text("<img src=x onerror=alert(1)>")
    expect(page.locator("h1")).to_have_text('Draft resolution <script>alert("title")</script>')
    assert page.locator("main img, main script, .paragraphs a[href^=javascript]").count() == 0
    expect(page.locator("#para-1")).to_have_class(re_class("cited"))
    # The search page: a hostile query and hostile snippets are text too.
    page.goto(web["hostile"] + "/")
    search(page, '<img src=x onerror=alert("q")> witness')
    expect(page.locator("#status")).to_contain_text('“<img src=x onerror=alert("q")> witness”')
    expect(page.locator("#results")).to_contain_text('<script>alert("para")</script>')
    assert page.locator("#results img, #results script").count() == 0
    page.wait_for_timeout(300)
    watched.assert_clean()


def test_widget_on_an_allowed_intranet_page(web, watched):
    page = watched.page
    page.goto(web["allowed"] + "/")
    widget = page.locator("parasearch-widget")
    box = widget.locator("input[type=search]")
    expect(box).to_have_attribute("placeholder", "Ask about UN documents")
    box.fill(QUESTION)
    box.press("Enter")
    links = widget.locator("li a.cite")
    expect(links).to_have_count(3)  # data-k="3"
    assert set(links.all_text_contents()) & set(GOLD)
    href = links.first.get_attribute("href")
    assert href.startswith(web["service"] + "/documents/CTOC/COP/WG.2/2013/5?language=en#para-")
    expect(widget.locator("li").first.locator("abbr.badge")).to_have_text("EN")
    expect(widget.locator("li .versions")).to_have_count(0)  # the sample is in English only
    # Everything lives inside the shadow root, untouched by the host's CSS (dashed red borders, 30px text).
    assert page.evaluate("document.querySelectorAll('li, ol').length") == 0
    style = links.first.evaluate("a => { const s = getComputedStyle(a); return [s.borderTopStyle, s.fontSize]; }")
    assert style == ["none", "15px"], style
    expect(page.locator("#after")).to_have_css("font-size", "30px")  # and the widget's CSS stays inside
    links.first.click()
    page.wait_for_url(href)
    expect(page.locator(".para.cited")).to_be_in_viewport()
    watched.assert_clean()


def test_widget_with_data_answer_shows_the_cited_answer_above_its_results(web, watched):
    page = watched.page
    page.goto(web["allowed"] + "/with-answer")
    widget = page.locator("parasearch-widget")
    box = widget.locator("input[type=search]")
    box.fill(QUESTION)
    box.press("Enter")
    expect(widget.locator("li a.cite")).to_have_count(3)  # the results, never held up by the answer
    answer = widget.locator("section.answer")
    expect(answer).not_to_have_attribute("aria-busy", "true", timeout=60_000)
    api = httpx.post(web["service"] + "/answer", json={"question": QUESTION, "filters": {}}, timeout=60).json()
    heading = {"answer": "Answer", "closest": "Closest passage", "not_found": "Not found"}[api["state"]]
    expect(answer.locator("h2")).to_have_text(heading)
    expect(answer).to_have_attribute("data-state", api["state"])
    lead = api["sentences"][0]["citations"][0]
    first = answer.locator("p.run a.cite").first
    expect(first).to_have_text(lead["citation"])  # each run led by its citation, linking to the paragraph
    assert first.get_attribute("href") == web["service"] + lead["url"]
    assert answer.bounding_box()["y"] < widget.locator("ol.results").bounding_box()["y"]
    # the search-only page asks for no answer
    page.goto(web["allowed"] + "/")
    box.fill(QUESTION)
    box.press("Enter")
    expect(widget.locator("li a.cite")).to_have_count(3)
    expect(answer).to_be_hidden()
    watched.assert_clean()


def test_widget_on_a_page_not_on_the_allow_list_gets_no_results(web, watched):
    page = watched.page
    page.goto(web["refused"] + "/")
    widget = page.locator("parasearch-widget")
    with page.expect_event("requestfailed", predicate=lambda r: "/search?" in r.url):
        widget.locator("input[type=search]").fill(QUESTION)
        widget.locator("input[type=search]").press("Enter")
    error = widget.locator(".status.error")
    expect(error).to_contain_text("refused this page")
    expect(widget.locator("li")).to_have_count(0)
    page.wait_for_timeout(200)
    assert any("CORS policy" in m for m in watched.console), watched.console
    assert not watched.errors and not watched.dialogs


def re_class(name: str) -> re.Pattern:
    return re.compile(rf"(^|\s){re.escape(name)}(\s|$)")


def re_any(options: tuple[str, ...]) -> re.Pattern:
    return re.compile("|".join(re.escape(o) + "$" for o in options))


@pytest.mark.parametrize("blocked", ["clipboard API", "clipboard API and execCommand"])
def test_copy_citation_falls_back_where_the_clipboard_api_is_missing(web, browser, blocked):
    # Plain-http intranet hosts are not secure contexts: navigator.clipboard is undefined there.
    w = Watched(browser)
    script = "Object.defineProperty(Navigator.prototype, 'clipboard', {get: () => undefined});"
    if "execCommand" in blocked:
        script += "Document.prototype.execCommand = () => false;"
    w.context.add_init_script(script)
    page = w.page
    try:
        page.goto(web["service"] + "/documents/CTOC/COP/WG.2/2013/5#para-9")
        button = page.locator("#para-9 button.copy")
        button.click()
        if "execCommand" in blocked:  # last resort: the citation shown selected, for Ctrl+C
            field = page.locator("#para-9 input.manual-copy")
            expect(field).to_be_focused()
            link = web["service"] + "/documents/CTOC/COP/WG.2/2013/5#para-9"
            expect(field).to_have_value(re.compile(re.escape(GOLD[0]) + " — Report on the meeting .* "
                                                   + re.escape(link) + "$"))
            assert page.evaluate("(e => e.selectionStart === 0 && e.selectionEnd === e.value.length)"
                                 "(document.activeElement)")
        else:
            expect(button).to_have_text("Copied")
            expect(button).to_be_focused()
        w.assert_clean()
    finally:
        w.context.close()


# -- language versions ---------------------------------------------------------------------------------------

SYRIA_DOC = "/documents/S/RES/2672%20(2023)"


def test_a_result_opens_its_own_language_version_and_lists_the_others(versions_web, watched):
    page = watched.page
    page.goto(versions_web["service"] + "/")
    search(page, FR_QUESTION)
    first = page.locator("#results li").first
    link = first.locator("h3 a")
    href = link.get_attribute("href")
    assert re.fullmatch(r"documents/S/RES/2672%20\(2023\)\?language=fr#para-[\w-]+", href), href
    para = href.rsplit("#para-", 1)[1]
    expect(first.locator("h3 .lang-badge")).to_have_text("FR")
    other = first.locator(".versions a")
    expect(other).to_have_count(1)
    expect(other).to_have_text("EN")
    expect(other).to_have_attribute("href", f"documents/S/RES/2672%20(2023)?language=en#para-{para}")
    other.click()  # the English version, at the same paragraph
    page.wait_for_url(versions_web["service"] + f"{SYRIA_DOC}?language=en#para-{para}")
    expect(page.locator("main")).to_have_attribute("lang", "en")
    expect(page.locator(f"#para-{para}")).to_have_class(re_class("cited"))
    page.go_back()
    expect(page.locator("#results li").first.locator("h3 a")).to_have_attribute("href", href)
    page.locator("#results li").first.locator("h3 a").click()
    page.wait_for_url(versions_web["service"] + f"{SYRIA_DOC}?language=fr#para-{para}")
    expect(page.locator("main")).to_have_attribute("lang", "fr")
    expect(page.locator(f"#para-{para}")).to_have_class(re_class("cited"))
    expect(page.locator(f"#para-{para}")).to_be_in_viewport()
    watched.assert_clean()


def test_the_language_switch_keeps_the_paragraph(versions_web, watched):
    page = watched.page
    service = versions_web["service"]
    page.goto(f"{service}{SYRIA_DOC}?language=fr#para-3")
    expect(page.locator("#para-3")).to_have_class(re_class("cited"))
    expect(page.locator("nav.versions [aria-current=page]")).to_have_text("Français")
    switch = page.locator("nav.versions a.version")
    expect(switch).to_have_count(1)
    expect(switch).to_have_text("English")
    expect(switch).to_have_attribute("href", f"{SYRIA_DOC}?language=en#para-3")
    # Moving to another paragraph moves the switch's anchor with it.
    page.locator("#para-5 a.num").click()
    expect(page.locator("#para-5")).to_have_class(re_class("cited"))
    expect(switch).to_have_attribute("href", f"{SYRIA_DOC}?language=en#para-5")
    french = page.locator("#para-5 .text").text_content()
    switch.click()
    page.wait_for_url(f"{service}{SYRIA_DOC}?language=en#para-5")
    expect(page.locator("main")).to_have_attribute("lang", "en")
    target = page.locator("#para-5")
    expect(target).to_have_class(re_class("cited"))
    expect(target).to_be_in_viewport()
    expect(page.locator(".para.cited")).to_have_count(1)
    assert target.locator(".text").text_content() != french
    expect(target.locator("button.copy")).to_have_attribute("data-citation", "S/RES/2672 (2023), para. 5")
    # And back to French, still at paragraph 5.
    page.locator("nav.versions a.version").click()
    page.wait_for_url(f"{service}{SYRIA_DOC}?language=fr#para-5")
    expect(page.locator("#para-5 .text")).to_have_text(french)
    # A document indexed in one language has no switch.
    page.goto(f"{service}/documents/S/RES/2562%20(2021)#para-1")
    expect(page.locator("nav.versions")).to_have_count(0)
    watched.assert_clean()


def widget_search(page, host: str, query: str):
    """Open the intranet page at ``host``, ask its widget ``query``: the widget and its search box."""
    page.goto(host + "/")
    widget = page.locator("parasearch-widget")
    box = widget.locator("input[type=search]")
    box.fill(query)
    box.press("Enter")
    return widget, box


def test_widget_results_carry_their_language(versions_web, watched):
    page = watched.page
    service = versions_web["service"]
    widget, _ = widget_search(page, versions_web["allowed"], FR_QUESTION)
    items = widget.locator("li")
    expect(items).to_have_count(3)  # data-k="3"
    first = items.first
    href = first.locator("a.cite").get_attribute("href")
    assert re.fullmatch(re.escape(service + SYRIA_DOC) + r"\?language=fr#para-[\w-]+", href), href
    para = href.rsplit("#para-", 1)[1]
    expect(first.locator("abbr.badge")).to_have_text("FR")
    other = first.locator(".versions a")
    expect(other).to_have_text("EN")
    expect(other).to_have_attribute("href", f"{service}{SYRIA_DOC}?language=en#para-{para}")
    other.click()
    page.wait_for_url(f"{service}{SYRIA_DOC}?language=en#para-{para}")
    expect(page.locator(f"#para-{para}")).to_have_class(re_class("cited"))
    watched.assert_clean()
