"""The six interface languages: the catalogue in service/static/i18n.js (no browser), and the pages in Debian's
chromium (headless, Playwright) in French, Arabic (right to left), Russian and, for the widget, Spanish."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM

STATIC = Path(__file__).resolve().parents[1] / "service" / "static"
LANGS = {"ar", "zh", "en", "fr", "ru", "es"}
QUESTION = "video recording of child witnesses"
# Messages a language writes as English does ("API"; French "document", "Type").
SAME = {"footer.api", "count.documents", "doc.type", "filter.type"}


def catalogue(name: str, marker: str) -> dict:
    text = (STATIC / name).read_text(encoding="utf-8")
    start = text.index(f"/* {marker}:begin */") + len(f"/* {marker}:begin */")
    return json.loads(text[start:text.index(f"/* {marker}:end */")])


def placeholders(message) -> set[str]:
    forms = message.values() if isinstance(message, dict) else [message]
    return {name for form in forms for name in re.findall(r"\{(\w+)\}", form)}


def test_six_catalogues_have_the_same_keys_and_placeholders():
    messages = catalogue("i18n.js", "catalogue")
    assert set(messages) == LANGS
    english = messages["en"]
    for lang, table in messages.items():
        assert set(table) == set(english), (lang, set(table) ^ set(english))
        for key, message in table.items():
            assert placeholders(message) == placeholders(english[key]), (lang, key)
            if isinstance(message, dict):
                assert "other" in message, (lang, key)
                assert set(message) <= {"zero", "one", "two", "few", "many", "other"}, (lang, key)
            if lang != "en" and key not in SAME:
                words = re.sub(r"\{\w+\}", "", str(message))
                assert message != english[key] or not re.search(r"[a-z]{4}", words), (lang, key)


def test_the_widget_embeds_the_same_messages():
    messages = catalogue("i18n.js", "catalogue")
    widget = catalogue("widget.js", "widget-catalogue")
    assert set(widget) == LANGS
    for lang, table in widget.items():
        for key, message in table.items():
            assert messages[lang][key] == message, (lang, key)


browser_only = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")


@pytest.fixture(scope="module")
def service(ctoc_index, encoder):
    pytest.importorskip("playwright.sync_api")
    from service.app import create_app
    from service.index import LoadedIndex
    from service.search import SearchEngine
    from tests.conftest import LiveServer

    with LiveServer(create_app(engine=SearchEngine(LoadedIndex(ctoc_index), encoder))) as server:
        yield server.url


def new_page(browser, locale: str):
    context = browser.new_context(locale=locale, viewport={"width": 1024, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors


@browser_only
def test_a_french_browser_gets_the_french_interface(service, browser):
    from playwright.sync_api import expect

    context, page, errors = new_page(browser, "fr-FR")
    try:
        page.goto(service + "/")
        html = page.locator("html")
        expect(html).to_have_attribute("lang", "fr")
        expect(html).to_have_attribute("dir", "ltr")
        expect(page.locator("button.primary")).to_have_text("Rechercher")
        expect(page.locator("label.search-label")).to_have_text("Rechercher dans les documents de l’ONU")
        expect(page.locator("#ui-lang")).to_have_value("fr")
        assert page.title().startswith("parasearch — rechercher")
        # No element with a key still shows its English text.
        english = catalogue("i18n.js", "catalogue")["en"]
        shown = page.eval_on_selector_all("[data-i18n]", "els => els.map(e => [e.dataset.i18n, e.textContent])")
        left = [(k, v) for k, v in shown if v == english[k] and k not in SAME]
        assert not left, left
        page.fill("#q", QUESTION)
        page.press("#q", "Enter")
        expect(page.locator("#status")).to_contain_text("résultats pour « video recording")
        expect(page.locator("#results li.result").first).to_be_visible()
        assert not errors, errors
    finally:
        context.close()


@browser_only
def test_the_switch_turns_the_page_arabic_right_to_left_and_it_is_remembered(service, browser):
    from playwright.sync_api import expect

    context, page, errors = new_page(browser, "en-US")
    try:
        page.goto(service + "/")
        expect(page.locator("button.primary")).to_have_text("Search")  # English by default
        labels = page.eval_on_selector_all("#ui-lang option", "os => os.map(o => o.textContent)")
        assert labels == ["العربية", "中文", "English", "Français", "Русский", "Español"]
        page.select_option("#ui-lang", "ar")
        html = page.locator("html")
        expect(html).to_have_attribute("dir", "rtl")
        expect(html).to_have_attribute("lang", "ar")
        expect(page.locator("button.primary")).to_have_text("بحث")
        expect(page.locator("#f-body option").first).to_have_text("أي هيئة")
        page.fill("#q", QUESTION)
        page.press("#q", "Enter")
        expect(page.locator("#results li.result").first).to_be_visible()
        expect(page.locator("#status")).to_contain_text("«video recording of child witnesses»")
        # The results' own text is not translated.
        expect(page.locator("#results li.result").first.locator(".doc-name")).to_contain_text("Working Group")
        english = catalogue("i18n.js", "catalogue")["en"]
        shown = page.eval_on_selector_all("[data-i18n]", "els => els.map(e => [e.dataset.i18n, e.textContent])")
        assert not [(k, v) for k, v in shown if v == english[k]]
        page.reload()
        expect(html).to_have_attribute("dir", "rtl")
        expect(page.locator("#ui-lang")).to_have_value("ar")
        expect(page.locator("#results li.result").first).to_be_visible()
        assert page.evaluate("localStorage.getItem('parasearch.ui')") == "ar"
        # The URL may name the language too.
        page.goto(service + "/?ui=es")
        expect(page.locator("button.primary")).to_have_text("Buscar")
        expect(html).to_have_attribute("dir", "ltr")
        assert not errors, errors
    finally:
        context.close()


@browser_only
def test_the_document_view_in_russian(service, browser):
    from playwright.sync_api import expect

    context, page, errors = new_page(browser, "ru-RU")
    try:
        page.goto(service + "/documents/CTOC/COP/WG.2/2013/5#para-9")
        expect(page.locator("html")).to_have_attribute("lang", "ru")
        expect(page.locator("main#document")).to_have_attribute("lang", "en")  # the document's own language
        expect(page.locator(".doc-meta dt").first).to_have_text("Орган")
        expect(page.locator("#para-9 button.copy")).to_have_text("Копировать ссылку")
        expect(page.locator("#para-9 button.copy")).to_have_attribute("lang", "ru")
        expect(page.locator("#back-link")).to_have_text("← Поиск")
        expect(page.locator(".doc-title")).to_contain_text("Report on the meeting")  # not translated
        expect(page.locator("#para-9 .text")).not_to_be_empty()
        page.goto(service + "/documents/CTOC/COP/WG.2/2013/5#para-999")
        expect(page.locator("#para-notice")).to_contain_text("В этом документе нет пункта «999»")
        page.goto(service + "/documents/S/RES/9999%20(2031)", wait_until="domcontentloaded")
        expect(page.locator("h1")).to_have_text("Документ не найден")
        assert not errors, errors
    finally:
        context.close()


@browser_only
def test_the_widget_takes_the_host_pages_language(service, browser, monkeypatch):
    from playwright.sync_api import expect

    import tests.test_browser as tb

    spanish = tb.HOST_PAGE.replace('<html lang="en">', '<html lang="es">').replace(
        ' data-placeholder="Ask about UN documents"', "")
    monkeypatch.setattr(tb, "HOST_PAGE", spanish)
    host_es = tb.HostPage(service).start()
    # data-lang wins over the page's language; Arabic turns the widget (only) right to left.
    monkeypatch.setattr(tb, "HOST_PAGE", spanish.replace("data-parasearch ", 'data-parasearch data-lang="ar" '))
    host_ar = tb.HostPage(service).start()
    context, page, errors = new_page(browser, "en-US")
    try:
        page.goto(host_es.url + "/")
        widget = page.locator("parasearch-widget")
        expect(widget.locator("button")).to_have_text("Buscar")
        expect(widget.locator("label")).to_have_text("Buscar en los documentos de las Naciones Unidas")
        expect(widget.locator("input[type=search]")).to_have_attribute(
            "placeholder", "Buscar en los documentos de las Naciones Unidas")
        expect(widget.locator(".ps")).to_have_attribute("lang", "es")
        widget.locator("input[type=search]").press("Enter")
        expect(widget.locator(".status")).to_have_text("Escriba primero una pregunta o palabras clave.")
        page.goto(host_ar.url + "/")
        expect(widget.locator(".ps")).to_have_attribute("dir", "rtl")
        expect(widget.locator("button")).to_have_text("بحث")
        expect(page.locator("html")).not_to_have_attribute("dir", "rtl")
        assert not errors, errors
    finally:
        context.close()
        host_es.stop()
        host_ar.stop()
