"""Accessibility, checked by axe-core (the engine that browsers' own audits use, bundled in the package
``axe-playwright-python``) in headless chromium: the search page with results and an answer, in English and in
right-to-left Arabic, at desktop and phone width; a search with no results; the document view with its language
switch; and the widget on an intranet page. No violation of impact "serious" or "critical" is allowed; axe's
"moderate" and "minor" findings are listed in the failure message of a serious one only.

Over test_browser.py's index of two resolutions in English and French (and one in English only), on loopback.
"""

from __future__ import annotations

import pytest

from tests.conftest import CHROMIUM
from tests.test_browser import SYRIA_DOC, Watched
from tests.test_versions import FR_QUESTION

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package")
axe_sync = pytest.importorskip("axe_playwright_python.sync_playwright",
                               reason="needs the axe-playwright-python package (pip install -e '.[dev]')")
expect = sync_api.expect

SERIOUS = ("serious", "critical")


def serious_violations(page, context: str | None = None) -> list[str]:
    """axe-core's serious and critical violations on the page (or inside ``context``, a CSS selector), one line
    each: rule, impact, how many elements, and the first element's selector."""
    results = axe_sync.Axe().run(page, context=context, options={"resultTypes": ["violations"]}).response
    assert results.get("testEngine", {}).get("name") == "axe-core"  # axe ran, and ran on this page
    return [f"{v['id']} ({v['impact']}): {len(v['nodes'])} element(s), e.g. {v['nodes'][0]['target']}"
            for v in results["violations"] if v["impact"] in SERIOUS]


@pytest.fixture
def page_at(browser):
    contexts: list = []

    def open_page(width: int = 1024, height: int = 800, locale: str = "en-GB") -> Watched:
        w = Watched(browser, viewport={"width": width, "height": height}, locale=locale)
        contexts.append(w.context)
        return w

    yield open_page
    for c in contexts:
        c.close()


@pytest.mark.parametrize("ui, width", [("en", 1024), ("en", 390), ("ar", 1024), ("fr", 390)])
def test_the_search_page_with_results_and_an_answer(versions_web, page_at, ui, width):
    watched = page_at(width=width)
    page = watched.page
    page.goto(f"{versions_web['service']}/?q=humanitarian+access+in+Syria&ui={ui}")
    expect(page.locator("#results li.result").first).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", ui)
    if page.locator("#answer").count():  # the answer box, once composed, is checked too
        expect(page.locator("#answer")).not_to_have_attribute("aria-busy", "true", timeout=30_000)
    assert serious_violations(page) == []
    watched.assert_clean()


def test_a_search_with_no_results_and_its_way_out(versions_web, page_at):
    watched = page_at()
    page = watched.page
    page.goto(f"{versions_web['service']}/?q=humanitarian&from=1990&to=1991")
    expect(page.locator("#empty-reason")).to_contain_text("1990")
    expect(page.locator("#empty-clear")).to_be_visible()
    assert serious_violations(page) == []
    watched.assert_clean()


@pytest.mark.parametrize("language, ui", [("fr", "en"), ("en", "ar")])
def test_the_document_view_with_its_language_switch(versions_web, page_at, language, ui):
    watched = page_at()
    page = watched.page
    page.goto(f"{versions_web['service']}{SYRIA_DOC}?language={language}&ui={ui}#para-3")
    expect(page.locator("nav.versions")).to_be_visible()
    expect(page.locator("#para-3")).to_be_visible()
    assert serious_violations(page) == []
    watched.assert_clean()


@pytest.mark.parametrize("path", ["/", "/with-answer"])
def test_the_widget_on_an_intranet_page(versions_web, page_at, path):
    watched = page_at()
    page = watched.page
    page.goto(versions_web["allowed"] + path)
    widget = page.locator("parasearch-widget")
    widget.locator("input[type=search]").fill(FR_QUESTION)
    widget.locator("input[type=search]").press("Enter")
    expect(widget.locator("li").first).to_be_visible()
    if path == "/with-answer":
        expect(widget.locator("section.answer h2")).to_be_visible()
        expect(widget.locator("section.answer")).not_to_have_attribute("aria-busy", "true", timeout=60_000)
    # the widget only: the host page's own markup is the intranet's business
    assert serious_violations(page, context="parasearch-widget") == []
    watched.assert_clean()


def test_the_widget_by_keyboard_alone(versions_web, page_at):
    """Tab into the widget from the host page, ask, Tab to the first result's citation (focus visible at every
    stop), Enter opens that paragraph in the document view."""
    watched = page_at()
    page = watched.page
    page.goto(versions_web["allowed"] + "/")

    def focused() -> dict:  # the focused element, inside the widget's shadow root too
        return page.evaluate("""() => { let e = document.activeElement;
            while (e && e.shadowRoot && e.shadowRoot.activeElement) e = e.shadowRoot.activeElement;
            const s = getComputedStyle(e);
            return {tag: e.tagName, type: e.type || '', cls: e.className || '', href: e.href || '',
                    outline: s.outlineStyle, width: parseFloat(s.outlineWidth)}; }""")

    for _ in range(6):
        page.keyboard.press("Tab")
        if focused()["type"] == "search":
            break
    assert focused()["type"] == "search", focused()
    page.keyboard.type(FR_QUESTION)
    page.keyboard.press("Enter")
    widget = page.locator("parasearch-widget")
    expect(widget.locator("li").first).to_be_visible()
    first_cite = widget.locator("li a.cite").first.get_attribute("href")
    for _ in range(4):
        page.keyboard.press("Tab")
        f = focused()
        assert f["outline"] != "none" and f["width"] >= 2, f  # focus is always visible
        if f["tag"] == "A":
            break
    assert f["tag"] == "A" and f["href"] == first_cite, f
    page.keyboard.press("Enter")
    page.wait_for_url(first_cite)
    expect(page.locator(".para.cited")).to_be_in_viewport()
    watched.assert_clean()
