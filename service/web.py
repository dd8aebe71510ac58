"""The web front end: the search page, the document view, the embeddable widget, OpenSearch, the API pages.

Everything is plain HTML, CSS and JavaScript from ``service/static/``, served by the app itself (no
framework, no CDN), read once and kept in memory with a gzip copy and an ETag. Pages reference their
assets with a content hash (``static/app.js?v=1a2b3c4d``), so browsers cache them for a year and
fetch them again only when they change. Pages use URLs relative to the service's root, so it also works
mounted under a path prefix (ASGI ``root_path``, e.g. behind a reverse proxy at ``/parasearch/``).

:func:`install_web` adds the routes and two middlewares to an app:

* security headers: ``X-Content-Type-Options: nosniff`` on every response, and on HTML responses
  a Content-Security-Policy that allows scripts, styles and requests from the service's own origin
  only (no inline script, no ``eval``), so text from a document can never run as code even if it
  escaped its escaping;
* CORS for the widget: the origins in ``PARASEARCH_CORS_ORIGINS`` (comma-separated, e.g.
  ``https://intranet.example.org``; ``*`` allows any; empty or unset, the default, allows none) may
  call the API from their pages; any other origin gets no ``Access-Control-Allow-Origin`` header, so
  the browser refuses to hand it the response.

The document view is ``GET /documents/{symbol}`` asked for as HTML (``Accept: text/html``, what a
browser sends when one follows a link); the same URL answers JSON to everything else. See
:func:`wants_html` and :func:`document_response`.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote
from xml.sax.saxutils import quoteattr

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parasearch.settings import settings
from parasearch.types import language_order, locator_label
from service.models import DocumentOut, ParagraphOut

if TYPE_CHECKING:
    from service.index import LoadedIndex

STATIC = Path(__file__).resolve().parent / "static"
CORS_ENV = "PARASEARCH_CORS_ORIGINS"
# The official document a document view links to: a URL template with {symbol} and {language} (each
# percent-encoded), e.g. the UN's Official Document System, https://documents.un.org/api/symbol/access?s={symbol}&l={language}.
# Unset or empty: no link.
OFFICIAL_URL_ENV = "PARASEARCH_OFFICIAL_URL"
OFFICIAL_URL_EXAMPLE = "https://documents.un.org/api/symbol/access?s={symbol}&l={language}"

CSP = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'self'",
])

# ReDoc (``/redoc``) alone needs more: its styled-components write <style> elements and inline styles, and its
# search runs in a worker made from a blob. The page shows only this service's own OpenAPI document, never user
# text, so inline styles there open nothing to an attacker; scripts stay the service's own files.
REDOC_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'") + "; worker-src 'self' blob:"

# Static files served under /static/ (nothing else in the folder is reachable: templates stay private).
PUBLIC_ASSETS = ("i18n.js", "app.js", "document.js", "style.css", "favicon.svg", "docs.js")
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".html": "text/html; charset=utf-8",
    ".xml": "application/opensearchdescription+xml; charset=utf-8",
}
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

DOCUMENT_HTML_NOTE = (
    "\n\nAsked for as HTML (`Accept: text/html`, as a browser following a link does), this URL answers the "
    "document view: the whole document with paragraph numbers, each paragraph at the anchor `#para-<locator>` "
    "(`#para-14`, `#para-preamble-3`), the one in the URL fragment highlighted; a document indexed in several "
    "languages has a language switch, whose links go to the same paragraph in the other versions. Any other "
    "`Accept` gets JSON."
)
DOCUMENT_HTML_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {"schema": {"type": "string"}}},
          "description": "The document as JSON, or as an HTML page when the client asks for text/html"},
}


# -- assets ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Asset:
    body: bytes
    gz: bytes
    etag: str
    media_type: str

    @property
    def version(self) -> str:
        return self.etag.strip('"')


def _asset(body: bytes, media_type: str) -> Asset:
    digest = hashlib.sha256(body).hexdigest()[:12]
    return Asset(body=body, gz=gzip.compress(body, 9, mtime=0), etag=f'"{digest}"', media_type=media_type)


def _read(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


class ApiDocAssets:
    """Swagger UI and ReDoc, from the files the package ``fastapi-offline`` bundles (read and compressed on the
    first request for them: 1.7 MB and 0.9 MB that most servers never send)."""

    NAMES = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js")

    def __init__(self) -> None:
        self._assets: dict[str, Asset] = {}

    def get(self, name: str) -> Asset | None:
        if name not in self.NAMES:
            return None
        if name not in self._assets:
            import fastapi_offline

            body = (Path(fastapi_offline.__file__).parent / "static" / name).read_bytes()
            # ReDoc's attribution badge loads its logo from a CDN, which offline and under the CSP can only fail:
            # an empty data: URL fails at once and locally, and the badge hides itself when its image fails.
            body = body.replace(b"https://cdn.redoc.ly/redoc/logo-mini.svg", b"data:,")
            self._assets[name] = _asset(body, MEDIA_TYPES[Path(name).suffix])
        return self._assets[name]

    def url(self, name: str) -> str:
        asset = self.get(name)
        assert asset is not None
        return f"static/api/{name}?v={asset.version}"


class Assets:
    """The front end's files, read once: public assets by name, pages rendered with asset versions."""

    def __init__(self) -> None:
        self.public = {name: _asset((STATIC / name).read_bytes(), MEDIA_TYPES[Path(name).suffix])
                       for name in PUBLIC_ASSETS}
        self.widget = _asset((STATIC / "widget.js").read_bytes(), MEDIA_TYPES[".js"])
        self.document_template = Template(self._versioned(_read("document.html"), "$root/"))
        self.opensearch_template = Template(_read("opensearch.xml"))
        self._index_text = self._versioned(_read("index.html"))
        self._index: dict[str, Asset] = {}
        self.api_docs = ApiDocAssets()
        self._api_page: Asset | None = None
        self._redoc_page: Asset | None = None

    def api_page(self) -> Asset:
        """``/docs``: Swagger UI over ``openapi.json``, every script and style a file of the service's own."""
        if self._api_page is None:
            docs = self.api_docs
            head = f'<link rel="stylesheet" href="{docs.url("swagger-ui.css")}">'
            body = (f'<div id="swagger-ui"></div>\n<script src="{docs.url("swagger-ui-bundle.js")}"></script>\n'
                    f'<script src="{self.url("docs.js")}"></script>')
            page = Template(_read("api-docs.html")).substitute(favicon=self.url("favicon.svg"), head=head, body=body)
            self._api_page = _asset(page.encode(), MEDIA_TYPES[".html"])
        return self._api_page

    def redoc_page(self) -> Asset:
        """``/redoc``: ReDoc over ``openapi.json`` (the ``<redoc>`` element starts it), from local files."""
        if self._redoc_page is None:
            body = (f'<redoc spec-url="openapi.json"></redoc>\n'
                    f'<script src="{self.api_docs.url("redoc.standalone.js")}"></script>')
            page = Template(_read("api-docs.html")).substitute(favicon=self.url("favicon.svg"), head="", body=body)
            self._redoc_page = _asset(page.encode(), MEDIA_TYPES[".html"])
        return self._redoc_page

    def index(self, app: FastAPI) -> Asset:
        """The search page, telling its script which optional endpoints this app has (``POST /answer``)."""
        features = " ".join(f for f, path in (("answer", "/answer"),) if _has_route(app, "POST", path))
        if features not in self._index:
            self._index[features] = _asset(self._index_text.replace("{{features}}", features).encode(),
                                           MEDIA_TYPES[".html"])
        return self._index[features]

    def url(self, name: str) -> str:
        """An asset's versioned path, relative to the service's root."""
        return f"static/{name}?v={self.public[name].version}"

    def _versioned(self, text: str, prefix: str = "") -> str:
        """``{{asset:app.js}}`` -> ``static/app.js?v=<hash>``, after ``prefix`` (the search page sits at the
        root, so its links are relative; the document view's start with ``$root/``, filled in per request)."""
        return re.sub(r"\{\{asset:([\w.-]+)\}\}", lambda m: prefix + self.url(m.group(1)), text)


def _has_route(app: FastAPI, method: str, path: str) -> bool:
    """Whether a request would reach a route (asked the way the router itself matches: included routers too)."""
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": [], "query_string": b""}
    return any(route.matches(scope)[0] == Match.FULL for route in app.router.routes)


def _send(request: Request, asset: Asset, cache: str) -> Response:
    headers = {"ETag": asset.etag, "Cache-Control": cache, "Vary": "Accept-Encoding"}
    if asset.etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", "") and len(asset.gz) < len(asset.body):
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gz, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


# -- content negotiation ---------------------------------------------------------------------------

def _accept_q(accept: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        mtype = fields[0].lower()
        if not mtype:
            continue
        q = 1.0
        for f in fields[1:]:
            if f.lower().startswith("q="):
                try:
                    q = float(f[2:])
                except ValueError:
                    q = 0.0
        out[mtype] = max(q, out.get(mtype, 0.0))
    return out


def wants_html(request: Request) -> bool:
    """True when the client prefers HTML to JSON: it names text/html (or XHTML) above application/json.

    Browsers following a link send ``text/html,...,*/*;q=0.8``; ``fetch``, curl and HTTP libraries send
    ``*/*`` or ``application/json`` and keep getting JSON. A tie goes to JSON, the API's format.
    """
    q = _accept_q(request.headers.get("accept", ""))
    html_q = max(q.get("text/html", 0.0), q.get("application/xhtml+xml", 0.0))
    return html_q > 0 and html_q > q.get("application/json", 0.0)


def _app_path(scope: Scope) -> str:
    """The request path within the app (without the ASGI root_path a proxy may mount it under)."""
    path, root = str(scope.get("path", "")), str(scope.get("root_path", ""))
    return path[len(root):] if root and path.startswith(root) else path


def _document_page_path(scope: Scope) -> bool:
    path = _app_path(scope)
    return path.startswith("/documents/") and "/paragraphs/" not in path


# -- rendering -------------------------------------------------------------------------------------

def para_anchor(para: str) -> str:
    """The element id of a paragraph in the document view: ``14`` -> ``para-14``."""
    return f"para-{para}"


# encodeURIComponent's unreserved characters: the URLs built here and by the pages' scripts are the same.
_URI_SAFE = "!*'()"


def document_url(symbol: str, language: str | None = None, para: str | None = None, root: str = "") -> str:
    """The document view of one language version, at a paragraph's anchor:
    ``/documents/S/RES/2672%20(2023)?language=fr#para-3`` (``root``: the service's root path, "" at the root)."""
    url = f"{root}/documents/{quote(symbol, safe='/' + _URI_SAFE)}"
    if language:
        url += f"?language={quote(language, safe=_URI_SAFE)}"
    if para:
        url += "#" + quote(para_anchor(para), safe=_URI_SAFE)
    return url


def root_path(request: Request) -> str:
    """The service's root path for URLs in API responses ("" unless mounted under a prefix)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


# The versions' names in their own language, for the document view's language switch.
LANGUAGE_NAMES = {"ar": "العربية", "zh": "中文", "en": "English", "fr": "Français", "ru": "Русский",
                  "es": "Español", "de": "Deutsch", "pt": "Português"}
RTL_LANGUAGES = frozenset({"ar", "he", "fa", "ur"})


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code.lower(), code.upper())


def official_url(symbol: str, language: str | None, template: str | None = None) -> str | None:
    """The official document of ``symbol`` in ``language`` from the template in ``PARASEARCH_OFFICIAL_URL`` (or
    ``template``): its ``{symbol}`` and ``{language}`` filled in, percent-encoded; None when no template is set
    or it is not an http(s) URL."""
    raw = (settings().official_url if template is None else template).strip()
    if not raw or not re.match(r"https?://", raw, re.IGNORECASE):
        return None
    return (raw.replace("{symbol}", quote(symbol, safe=""))
            .replace("{language}", quote((language or "").lower(), safe="")))


def _margin_label(p: ParagraphOut) -> str:
    """What the document prints in the margin: the paragraph's number ("14", "5" in an annex), else nothing."""
    if p.kind in ("numbered", "annex"):
        return p.para.rsplit("-", 1)[-1]
    return ""


def _i18n(key: str, **args: str) -> str:
    """The attributes by which i18n.js shows an element's text in the interface language (the server renders
    English): ``data-i18n="key"``, and its {placeholders}' values as JSON in ``data-i18n-args``."""
    out = f'data-i18n="{html.escape(key, quote=True)}"'
    if args:
        out += f' data-i18n-args="{html.escape(json.dumps(args, ensure_ascii=False), quote=True)}"'
    return out


def _paragraphs_html(paragraphs: list[ParagraphOut]) -> str:
    out: list[str] = []
    previous: list[str] = []
    for p in paragraphs:
        parts = [s.strip() for s in p.section.split(" > ") if s.strip()] if p.section else []
        same = 0
        while same < min(len(parts), len(previous)) and parts[same] == previous[same]:
            same += 1
        for depth in range(same, len(parts)):
            level = min(depth + 2, 6)
            out.append(f'<h{level} class="section">{html.escape(parts[depth])}</h{level}>')
        previous = parts
        anchor = html.escape(para_anchor(p.para), quote=True)
        label = html.escape(locator_label(p.para), quote=True)
        cite = html.escape(p.citation, quote=True)
        number = html.escape(_margin_label(p)) or "¶"
        out.append(
            f'<div class="para para-{html.escape(p.kind, quote=True)}" id="{anchor}" tabindex="-1">'
            f'<a class="num" href="#{anchor}" tabindex="-1" aria-label="{label}" title="{label}">{number}</a>'
            f'<p class="text">{html.escape(p.text)}</p>'
            f'<button type="button" class="copy" data-citation="{cite}" data-para="{html.escape(p.para, quote=True)}"'
            f' aria-label="Copy citation: {cite}">Copy citation</button></div>'
        )
    return "\n".join(out)


def _root(request: Request) -> str:
    """The service's root path for links in server-rendered pages ("" unless mounted under a prefix)."""
    return html.escape(request.scope.get("root_path", "").rstrip("/"), quote=True)


def _versions_html(doc: DocumentOut) -> str:
    """The language switch: this version, then a link to each other one. The links carry no paragraph anchor
    (the server never sees the URL's fragment): document.js gives them the one the page is at."""
    if not doc.versions:
        return ""
    own = (doc.language or "").lower()
    items = [(own, None)] + [(v.language, v.url) for v in doc.versions]
    out = []
    for code, url in sorted(items, key=lambda x: language_order(x[0])):
        name = html.escape(language_name(code))
        lang = html.escape(code, quote=True)
        if url is None:
            out.append(f'<li><span class="current" lang="{lang}" aria-current="page">{name}</span></li>')
        else:
            href = html.escape(url, quote=True)  # made with the root path already
            out.append(f'<li><a class="version" href="{href}" hreflang="{lang}" lang="{lang}" '
                       f'data-language="{lang}">{name}</a></li>')
    return ('<nav class="versions" aria-label="Language versions" data-i18n-aria-label="doc.versions">'
            '<span class="versions-label" data-i18n="doc.versionsLabel">Language:</span> '
            f'<ul>{"".join(out)}</ul></nav>')


def _official_html(doc: DocumentOut) -> str:
    url = official_url(doc.symbol, doc.language)
    if url is None:
        return ""
    name = language_name(doc.language or "")
    return (f'<p class="official"><a href="{html.escape(url, quote=True)}" rel="external noopener" '
            f'{_i18n("doc.official", language=name)}>Official document ({html.escape(name)})</a></p>')


def render_document(assets: Assets, doc: DocumentOut, root: str = "") -> str:
    meta = [("Body", doc.body), ("Type", doc.type), ("Language", doc.language),
            ("Paragraphs", str(doc.n_paragraphs))]
    meta_html = "".join(f'<div><dt {_i18n("doc." + k.lower())}>{k}</dt><dd>{html.escape(v)}</dd></div>'
                        for k, v in meta if v)
    lang = (doc.language or "en").lower()
    date = html.escape(doc.date or "", quote=True)
    return assets.document_template.substitute(
        root=root,
        page_title=html.escape(f"{doc.symbol} — {doc.title}" if doc.title else doc.symbol),
        title=html.escape(doc.title or doc.symbol),
        title_attr=html.escape(doc.title or "", quote=True),
        symbol=html.escape(doc.symbol),
        date_html=f'<time class="doc-date" datetime="{date}">{date}</time>' if date else "",
        date_attr=date,
        lang=html.escape(lang, quote=True),
        dir="rtl" if lang in RTL_LANGUAGES else "ltr",
        versions=_versions_html(doc),
        official=_official_html(doc),
        meta=meta_html,
        notice="",
        paragraphs=_paragraphs_html(doc.paragraphs),
    )


def render_not_found(assets: Assets, message: str, root: str = "", symbol: str = "") -> str:
    """The document view's 404: what is missing, a search for the symbol asked for (it may be cited elsewhere, or
    be indexed under a close symbol), and the way back to the search page."""
    links = []
    if symbol.strip():
        q = quote(symbol.strip(), safe="")
        links.append(f'<li><a href="{root}/?q={q}" {_i18n("notFound.searchFor", symbol=symbol.strip())}>'
                     f'Search for “{html.escape(symbol.strip())}”</a></li>')
    links.append(f'<li><a href="{root}/" {_i18n("notFound.searchAll")}>Search all the documents</a></li>')
    body = (f'<p class="error" role="alert">{html.escape(message)}</p>'
            f'<p {_i18n("notFound.why")}>The link may name a document this index does not hold, or a language '
            'version it lacks.</p>'
            f'<ul class="next-steps">{"".join(links)}</ul>')
    return assets.document_template.substitute(
        root=root, page_title="Not found — parasearch",
        title=f'<span {_i18n("notFound.title")}>Document not found</span>', title_attr="", symbol="",
        date_html="", date_attr="", lang="en", dir="ltr", versions="", official="", meta="", notice="",
        paragraphs=body,
    )


def document_response(request: Request, response: Response, doc: DocumentOut) -> DocumentOut | Response:
    """The document as the client asked for it: the HTML view for browsers, else the JSON model."""
    response.headers["Vary"] = "Accept"
    if wants_html(request):
        return HTMLResponse(render_document(request.app.state.web_assets, doc, _root(request)),
                            headers={"Vary": "Accept", "Cache-Control": "no-cache"})
    return doc


# -- middleware ------------------------------------------------------------------------------------

class SecurityHeaders:
    """``nosniff`` on every response; the CSP on HTML responses, except any paths in ``exempt`` (none by
    default: the API page ``/docs`` is served from local files under the same CSP)."""

    def __init__(self, app: ASGIApp, exempt: Iterable[str] = ()) -> None:
        self.app = app
        self.exempt = {p for p in exempt if p}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = _app_path(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                if headers.get("content-type", "").startswith("text/html") and path not in self.exempt:
                    headers.setdefault("Content-Security-Policy", CSP)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def cors_origins(value: str | None = None) -> list[str]:
    """The allowed cross-origin callers, from ``PARASEARCH_CORS_ORIGINS`` unless ``value`` is given."""
    raw = settings().cors_origins if value is None else value
    return [o.strip().rstrip("/") for o in raw.split(",") if o.strip()]


# -- routes ----------------------------------------------------------------------------------------

router = APIRouter(include_in_schema=False)


def _assets(request: Request) -> Assets:
    assets: Assets = request.app.state.web_assets
    return assets


@router.get("/")
def search_page(request: Request) -> Response:
    return _send(request, _assets(request).index(request.app), REVALIDATE)


@router.get("/static/{name}")
def static_asset(request: Request, name: str, v: str | None = None) -> Response:
    assets = _assets(request)
    asset = assets.public.get(name)
    if asset is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return _send(request, asset, IMMUTABLE if v == asset.version else REVALIDATE)


@router.get("/static/api/{name}")
def api_doc_asset(request: Request, name: str, v: str | None = None) -> Response:
    asset = _assets(request).api_docs.get(name)
    if asset is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return _send(request, asset, IMMUTABLE if v == asset.version else REVALIDATE)


@router.get("/docs")
def api_docs(request: Request) -> Response:
    """Swagger UI over this service's OpenAPI document, served offline under the site's CSP."""
    return _send(request, _assets(request).api_page(), REVALIDATE)


@router.get("/redoc")
def api_redoc(request: Request) -> Response:
    """ReDoc over this service's OpenAPI document, served offline (its own CSP: :data:`REDOC_CSP`)."""
    response = _send(request, _assets(request).redoc_page(), REVALIDATE)
    response.headers["Content-Security-Policy"] = REDOC_CSP
    return response


@router.get("/widget.js")
def widget(request: Request) -> Response:
    # Host pages load it by a fixed URL: let them cache it a short while, then revalidate by ETag.
    return _send(request, _assets(request).widget, "public, max-age=300")


PUBLIC_URL_ENV = "PARASEARCH_PUBLIC_URL"


def public_base(request: Request) -> str:
    """The service's address as its users reach it, without a trailing slash: ``PARASEARCH_PUBLIC_URL``
    (``https://search.example.org/parasearch``, for a service behind a proxy), else the address the server
    listens on, with the ASGI ``root_path``. Never the request's ``Host`` or ``X-Forwarded-Host`` header: a
    description cached by a browser or a proxy must not send searches to whatever host a client named."""
    public = settings().public_url.strip().rstrip("/")
    if public:
        return public
    host, port = request.scope.get("server") or ("127.0.0.1", None)
    scheme = request.scope.get("scheme", "http")
    host = f"[{host}]" if ":" in host else host
    default = {"http": 80, "https": 443}.get(scheme)
    netloc = host if port in (None, default) else f"{host}:{port}"
    return f"{scheme}://{netloc}{request.scope.get('root_path', '').rstrip('/')}"


@router.get("/opensearch.xml")
def opensearch(request: Request) -> Response:
    base = public_base(request)
    assets = _assets(request)
    body = assets.opensearch_template.substitute(
        image=html.escape(f"{base}/{assets.url('favicon.svg')}"),
        html_template=quoteattr(base + "/?q={searchTerms}"),
        self_template=quoteattr(base + "/opensearch.xml"),
        search_form=html.escape(base + "/"),
    )
    return Response(body, media_type=MEDIA_TYPES[".xml"], headers={"Cache-Control": "public, max-age=300"})


@router.get("/ui/facets")
def facets(request: Request) -> dict[str, Any]:
    """The filter choices the search page offers: the bodies, types and languages in the index, and its years."""
    engine = request.app.state.engine
    cache = getattr(request.app.state, "web_facets", None)
    if cache is not None and cache[0] is engine.index:
        cached: dict[str, Any] = cache[1]
        return cached
    docs = engine.index.documents()

    def distinct(key: str) -> list[str]:
        seen: dict[str, str] = {}
        for d in docs:
            value = d.get(key)
            if value:
                seen.setdefault(value.lower(), value)
        return sorted(seen.values(), key=str.lower)

    years = sorted({int(d["date"][:4]) for d in docs if d.get("date") and d["date"][:4].isdigit()})
    out: dict[str, Any] = {"body": distinct("body"), "type": distinct("type"), "language": distinct("language"),
           "years": [years[0], years[-1]] if years else None, "example": _example(engine.index)}
    request.app.state.web_facets = (engine.index, out)
    return out


def _example(index: LoadedIndex) -> dict[str, str] | None:
    """A citation the index holds, for the search box's hint: a numbered paragraph (the fifth when there is one)
    of its longest document, in English when it is indexed in English."""
    best = None
    for versions in index.symbol_versions.values():
        doc_id = versions.get("en", next(iter(versions.values()), None))
        if doc_id is None:
            continue
        n = int(index.doc_n_paragraphs[doc_id])
        if best is None or n > best[0]:
            best = (n, doc_id)
    if best is None:
        return None
    rows = [r for r in index.document_paragraphs(best[1]) if r.kind == "numbered"]
    if not rows:
        return None
    row = next((r for r in rows if r.para == "5"), rows[0])
    return {"symbol": row.symbol, "para": row.para, "query": f"{row.symbol} para {row.para}",
            "citation": row.citation}


async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """An HTTP error as its client wants it: the document view's page for a browser (an escaped "not found"
    page), FastAPI's JSON ``{"detail": ...}`` for everyone else."""
    page = request.method == "GET" and _document_page_path(request.scope)
    if page and wants_html(request):
        symbol = _app_path(request.scope)[len("/documents/"):]
        body = render_not_found(request.app.state.web_assets, str(exc.detail), _root(request),
                                unquote(symbol)[:200])
        return HTMLResponse(body, status_code=exc.status_code, headers={"Vary": "Accept"})
    response = await http_exception_handler(request, exc)
    if page:
        response.headers["Vary"] = "Accept"
    return response


def install_web(app: FastAPI, cors: str | None = None) -> None:
    """Add the front end to ``app``: its routes, the HTML document-view errors, security headers and CORS.

    ``cors`` overrides ``PARASEARCH_CORS_ORIGINS`` (same comma-separated format).
    """
    app.state.web_assets = Assets()
    app.include_router(router)
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]  # Starlette's own typing
    app.add_middleware(CORSMiddleware, allow_origins=cors_origins(cors), allow_methods=["GET", "POST"],
                       allow_headers=["Content-Type"], max_age=600)
    exempt = (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
    app.add_middleware(SecurityHeaders, exempt=[p for p in exempt if p])
