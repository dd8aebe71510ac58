"""The web front end over HTTP: security headers, CORS, escaping, content negotiation, assets, OpenSearch.

A tiny index is built from a Markdown document full of markup (``<script>``, ``<img onerror>``) to check
that document text always reaches the page as text. The browser-level checks are in test_browser.py.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from service.web import CORS_ENV, CSP, wants_html

HOSTILE_SYMBOL = "TEST/XSS/1"
HOSTILE_MD = """# General Assembly

## Draft resolution <script>alert("title")</script>

The General Assembly,

Recalling that <img src=x onerror=alert(1)> must stay text & nothing else,

1. Decides that <script>alert("para")</script> witness protection text is shown literally.

2. Requests that "quotes" & ampersands in witness statements stay as they are.

3. Notes <a href="javascript:alert(3)">a link</a> about video recording of witnesses.
"""
HOSTILE_TITLE = 'Draft resolution <script>alert("title")</script>'
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def write_hostile_corpus(folder: Path) -> Path:
    """A one-document corpus whose title and paragraphs are HTML that must never run."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "XSS_1.md").write_text(HOSTILE_MD, encoding="utf-8")
    meta = {"file": "XSS_1.md", "symbol": HOSTILE_SYMBOL, "title": HOSTILE_TITLE, "date": "2024-01-02",
            "body": "General Assembly", "type": "draft resolution", "language": "en"}
    (folder / "manifest.jsonl").write_text(json.dumps(meta) + "\n", encoding="utf-8")
    return folder


def build_hostile_index(root: Path, encoder) -> Path:
    from indexer.build import build_index

    out = root / "index"
    report = build_index([write_hostile_corpus(root / "corpus")], out, encoder=encoder, progress=False)
    assert report.published and report.paragraphs == 4, report.summary()
    return out


@pytest.fixture(scope="module")
def engine(tmp_path_factory, encoder):
    from service.index import LoadedIndex
    from service.search import SearchEngine

    return SearchEngine(LoadedIndex(build_hostile_index(tmp_path_factory.mktemp("hostile"), encoder)), encoder)


def make_client(engine, monkeypatch: pytest.MonkeyPatch, cors: str | None = None) -> TestClient:
    from service.app import create_app

    if cors is None:
        monkeypatch.delenv(CORS_ENV, raising=False)
    else:
        monkeypatch.setenv(CORS_ENV, cors)
    return TestClient(create_app(engine=engine))


@pytest.fixture(scope="module")
def client(engine):
    with pytest.MonkeyPatch.context() as mp:
        with make_client(engine, mp) as c:
            yield c


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text inside <script> elements."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text: list[str] = []
        self._in_script = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.script_text.append(data)


def assert_no_inline_code(page: str) -> Tags:
    tags = Tags(page)
    assert not tags.script_text, "inline script"
    for tag, attrs in tags.tags:
        if tag == "script":
            assert re.match(r"(/parasearch)?/?static/\w+\.js\?v=\w+$", attrs.get("src", "")), attrs
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        assert "style" not in attrs, (tag, attrs)
        assert tag != "img", (tag, attrs)
    return tags


def assert_csp(r) -> None:
    csp = r.headers["content-security-policy"]
    assert csp == CSP
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"


# -- the search page and its assets ------------------------------------------------------------------

def test_search_page_is_plain_html_with_a_strict_csp(client):
    r = client.get("/", headers={"Accept": BROWSER_ACCEPT})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert_csp(r)
    tags = assert_no_inline_code(r.text)
    names = {(t, a.get("id") or a.get("rel") or a.get("class")) for t, a in tags.tags}
    assert ("link", "search") in names and ("input", "q") in names and ("a", "skip-link") in names
    assert any(t == "label" and a.get("for") == "q" for t, a in tags.tags)
    assert any(a.get("role") == "status" and a.get("aria-live") == "polite" for _, a in tags.tags)
    assert not re.search(r"https?://", " ".join(a.get("src", "") + a.get("href", "") for _, a in tags.tags
                                                if a.get("src") or a.get("href"))), "no CDN, no external asset"


def test_assets_are_versioned_cached_and_compressed(client):
    page = client.get("/").text
    url = re.search(r'src="static/(app\.js\?v=[0-9a-f]+)"', page)  # relative: the page is the root
    assert url, page
    r = client.get("/static/" + url.group(1), headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["content-encoding"] == "gzip" and "safeSnippet" in r.text
    assert r.headers["x-content-type-options"] == "nosniff"
    again = client.get("/static/" + url.group(1), headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    stale = client.get("/static/app.js?v=old")
    assert stale.status_code == 200 and stale.headers["cache-control"] == "no-cache"
    for private in ("/static/document.html", "/static/opensearch.xml", "/static/..%2Fweb.py", "/static/nope.js"):
        assert client.get(private).status_code == 404, private


def test_api_responses_are_nosniff_and_openapi_pages_keep_working(client):
    r = client.get("/health")
    assert r.status_code == 200 and r.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in r.headers
    docs = client.get("/docs")  # Swagger UI from the service's own files, under the site's CSP
    assert docs.status_code == 200 and docs.headers["content-security-policy"] == CSP
    assert "cdn" not in docs.text.lower()


def test_widget_script_is_served_for_other_origins_to_load(client):
    r = client.get("/widget.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert "attachShadow" in r.text and "data-parasearch" in r.text
    assert r.headers["x-content-type-options"] == "nosniff" and "max-age" in r.headers["cache-control"]


def test_opensearch_description_names_this_service(client):
    r = client.get("/opensearch.xml")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/opensearchdescription+xml")
    root = ET.fromstring(r.content)
    ns = {"os": "http://a9.com/-/spec/opensearch/1.1/"}
    urls = {u.get("type"): u.get("template") for u in root.findall("os:Url", ns)}
    assert urls["text/html"] == "http://testserver/?q={searchTerms}"
    assert urls["application/opensearchdescription+xml"] == "http://testserver/opensearch.xml"
    assert len(root.find("os:ShortName", ns).text) <= 16
    assert 'rel="search"' in client.get("/").text


def test_facets_list_the_filter_choices(client):
    r = client.get("/ui/facets")
    assert r.json() == {"body": ["General Assembly"], "type": ["draft resolution"], "language": ["en"],
                        "years": [2024, 2024],
                        # the search box's example: a numbered paragraph the index holds
                        "example": {"symbol": HOSTILE_SYMBOL, "para": "1", "query": f"{HOSTILE_SYMBOL} para 1",
                                    "citation": f"{HOSTILE_SYMBOL}, para. 1"}}


# -- the document view: content negotiation and escaping ------------------------------------------------

@pytest.mark.parametrize(("accept", "html"), [
    (BROWSER_ACCEPT, True),
    ("text/html", True),
    ("application/xhtml+xml", True),
    ("", False),
    ("*/*", False),
    ("application/json", False),
    ("application/json, text/plain, */*", False),
    ("text/html;q=0.5, application/json", False),
    ("text/html, application/json", False),  # a tie: the API's format
    ("application/json;q=0.5, text/html", True),
    ("text/html;q=0", False),
])
def test_wants_html(accept, html):
    scope = {"type": "http", "headers": [(b"accept", accept.encode())] if accept else []}
    assert wants_html(Request(scope)) is html


def test_document_url_answers_json_to_api_clients_and_html_to_browsers(client):
    path = "/documents/TEST/XSS/1"
    plain = client.get(path)
    as_json = client.get(path, headers={"Accept": "application/json"})
    any_type = client.get(path, headers={"Accept": "*/*"})
    for r in (plain, as_json, any_type):
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert "accept" in r.headers["vary"].lower()
    doc = plain.json()
    assert doc == as_json.json() == any_type.json()
    assert doc["symbol"] == HOSTILE_SYMBOL and doc["title"] == HOSTILE_TITLE
    assert [p["para"] for p in doc["paragraphs"]] == ["preamble-1", "1", "2", "3"]

    page = client.get(path, headers={"Accept": BROWSER_ACCEPT})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "accept" in page.headers["vary"].lower()
    assert_csp(page)
    tags = assert_no_inline_code(page.text)
    ids = [a["id"] for _, a in tags.tags if "para" in (a.get("class") or "").split()]
    assert ids == ["para-preamble-1", "para-1", "para-2", "para-3"]
    copy = [a["data-citation"] for t, a in tags.tags if t == "button" and "copy" in (a.get("class") or "")]
    assert copy == ["TEST/XSS/1, preamble, para. 1", "TEST/XSS/1, para. 1", "TEST/XSS/1, para. 2",
                    "TEST/XSS/1, para. 3"]
    assert ('a', '#para-1') in {(t, a.get("href")) for t, a in tags.tags}


def test_document_view_shows_markup_in_the_text_as_text(client):
    page = client.get("/documents/TEST/XSS/1", headers={"Accept": "text/html"}).text
    assert "<script>alert" not in page and "<img" not in page and 'href="javascript' not in page
    assert "&lt;script&gt;alert(&quot;para&quot;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt; must stay text &amp; nothing else" in page
    assert "<title>TEST/XSS/1 — Draft resolution &lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt;</title>" in page
    assert "&lt;a href=&quot;javascript:alert(3)&quot;&gt;a link&lt;/a&gt;" in page


def test_unknown_document_is_an_escaped_html_404_for_browsers_and_json_for_the_api(client):
    path = "/documents/%3Cscript%3Ealert(1)%3C%2Fscript%3E"
    page = client.get(path, headers={"Accept": BROWSER_ACCEPT})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert_csp(page)
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    api = client.get(path)
    assert api.status_code == 404 and "no document with symbol" in api.json()["detail"]
    assert "accept" in page.headers["vary"].lower() and "accept" in api.headers["vary"].lower()
    other = client.get("/documents/TEST/XSS/1/paragraphs/99", headers={"Accept": BROWSER_ACCEPT})
    assert other.status_code == 404 and other.headers["content-type"] == "application/json"


def test_search_snippets_are_escaped_with_marks(client):
    r = client.get("/search", params={"q": "witness protection", "k": 4})
    assert r.status_code == 200
    snippets = {x["para"]: x["snippet"] for x in r.json()["results"]}
    assert "&lt;script&gt;alert(&quot;para&quot;)&lt;/script&gt;" in snippets["1"] and "<mark>" in snippets["1"]
    assert all("<script" not in s and "<img" not in s for s in snippets.values())


def test_openapi_documents_both_forms_of_the_document_route(client):
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/documents/{symbol}"]["get"]
    content = op["responses"]["200"]["content"]
    assert content["application/json"]["schema"]["$ref"].endswith("/DocumentOut")
    assert "text/html" in content
    assert "percent-encoded" in op["description"] and "#para-14" in op["description"]
    assert [p["name"] for p in op["parameters"]] == ["symbol", "language"]
    for page in ("/", "/widget.js", "/opensearch.xml", "/static/{name}", "/ui/facets"):
        assert page not in spec["paths"], page


# -- CORS --------------------------------------------------------------------------------------------

ALLOWED = "http://intranet.example.org"


def test_cors_allows_the_listed_origins_only(engine, monkeypatch):
    with make_client(engine, monkeypatch, cors=f" {ALLOWED} , http://other.example:8080/") as c:
        ok = c.get("/search", params={"q": "witness"}, headers={"Origin": ALLOWED})
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == ALLOWED
        assert "origin" in ok.headers["vary"].lower()
        second = c.get("/health", headers={"Origin": "http://other.example:8080"})
        assert second.headers["access-control-allow-origin"] == "http://other.example:8080"
        for origin in ("http://evil.example", "http://intranet.example.org:8080", "https://intranet.example.org",
                       "null"):
            r = c.get("/search", params={"q": "witness"}, headers={"Origin": origin})
            assert "access-control-allow-origin" not in r.headers, origin

        pre = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
        ok = c.options("/answer", headers={"Origin": ALLOWED, **pre})
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == ALLOWED
        assert "POST" in ok.headers["access-control-allow-methods"]
        refused = c.options("/answer", headers={"Origin": "http://evil.example", **pre})
        assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers


def test_no_cross_origin_access_by_default(engine, monkeypatch):
    with make_client(engine, monkeypatch, cors=None) as c:
        r = c.get("/search", params={"q": "witness"}, headers={"Origin": ALLOWED})
        assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
        assert c.get("/widget.js", headers={"Origin": ALLOWED}).status_code == 200  # a script tag needs no CORS


def test_pages_work_under_a_path_prefix(engine, monkeypatch):
    """Behind a reverse proxy at /parasearch/ (ASGI root_path), every link stays under the prefix."""
    from service.app import create_app

    monkeypatch.delenv(CORS_ENV, raising=False)
    with TestClient(create_app(engine=engine), root_path="/parasearch") as c:
        page = c.get("/parasearch/documents/TEST/XSS/1", headers={"Accept": "text/html"})
        assert page.status_code == 200 and page.headers["content-security-policy"] == CSP
        tags = assert_no_inline_code(page.text)
        links = [a.get("href") or a.get("src") or a.get("action") for t, a in tags.tags
                 if t in ("a", "link", "script", "form") and (a.get("href") or a.get("src") or a.get("action"))]
        assert links and all(x.startswith(("/parasearch/", "#")) for x in links), links
        xml = c.get("/parasearch/opensearch.xml").text
        assert 'template="http://testserver/parasearch/?q={searchTerms}"' in xml
        search_page = c.get("/parasearch/")
        assert search_page.status_code == 200 and 'href="static/style.css?v=' in search_page.text
        docs = c.get("/parasearch/docs")
        assert docs.headers.get("content-security-policy") == CSP
        for asset in re.findall(r'(?:src|href)="([^"]+)"', docs.text):  # relative: under the prefix too
            assert c.get("/parasearch/" + asset).status_code == 200, asset


def test_search_page_tells_its_script_whether_answers_exist(engine, monkeypatch):
    from service.app import create_app

    monkeypatch.delenv(CORS_ENV, raising=False)
    app = create_app(engine=engine)
    with TestClient(app) as c:
        has_answer = c.post("/answer", json={"question": "witness protection"}).status_code != 404
        expected = "answer" if has_answer else ""
        assert f'<meta name="parasearch-features" content="{expected}">' in c.get("/").text
    monkeypatch.setattr("service.app.register_routes", lambda app: None)  # an app with no API routes at all
    with TestClient(create_app(engine=engine)) as c:
        assert c.post("/answer", json={"question": "witness protection"}).status_code == 404
        assert '<meta name="parasearch-features" content="">' in c.get("/").text
