"""The HTTP service (FastAPI). The index and the model load once, in the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from parasearch.config import DEFAULT_INDEX
from parasearch.errors import InvalidRequest, NotFound, ParasearchError
from parasearch.settings import MODES, Mode
from service.admin import router as admin_router
from service.answer_routes import router as answer_router
from service.auth import search_access
from service.confidence import calibration_of
from service.deps import Engine, search_filters, to_response, version_links
from service.engine import load_engine
from service.guards import RequestGuards
from service.live import EngineHolder, GenerationHeader
from service.metrics import REGISTRY
from service.models import (
    DocumentList,
    DocumentOut,
    DocumentSummary,
    ErrorOut,
    Health,
    ParagraphOut,
    SearchResponse,
    SymbolSuggestion,
    SymbolSuggestions,
)
from service.observability import (
    REQUEST_ID_HEADER,
    Observability,
    current_request_id,
    record_index,
    record_search,
    safe_text,
)
from service.search import MAX_DEPTH, Filters, SearchEngine, search_page
from service.web import (
    DOCUMENT_HTML_NOTE,
    DOCUMENT_HTML_RESPONSE,
    document_response,
    document_url,
    http_error,
    install_web,
    root_path,
)

log = logging.getLogger("parasearch")
MAX_QUERY_CHARS = 1000
MAX_DETAIL_CHARS = 600  # an error's reason is cut here (the inputs it quotes are cut to 80 characters where quoted)

SYMBOL_HELP = (
    "Document symbols contain slashes and spaces (`S/RES/2672 (2023)`). Put the symbol in the path as it is, "
    "with the space percent-encoded: `/documents/S/RES/2672%20(2023)`; `%2F` for the slashes works too."
)

LANGUAGE_HELP = ("Language version (ISO 639-1, e.g. `fr`); without it, the English version when the document is "
                 "indexed in English, else the first in the UN's order (ar, zh, en, fr, ru, es). A language the "
                 "document is not indexed in is a 404 that lists those it is")

DESCRIPTION = f"""Paragraph-cited semantic search over United Nations documents.

Every result is one paragraph, cited by document symbol and the paragraph number printed in the document
(`CTOC/COP/WG.2/2013/5, para. 9`).

{SYMBOL_HELP}
"""


def create_app(index_dir: Path | None = None, *, model: str | None = None, engine: SearchEngine | None = None,
               follow: bool | None = None) -> FastAPI:
    """The app over the index at ``index_dir`` (loaded in the lifespan) or over ``engine``.

    ``follow``: switch to each newly published generation of the index (:mod:`service.live`: a watcher,
    ``SIGHUP``, ``POST /admin/reload``, the admin API's updates); by default only when the app loads the index
    itself (``parasearch serve`` asks for it too), not for an engine it is given (tests share theirs)."""
    # A given engine lives in app.state from the start, not in this closure: once the app switches to a newer
    # generation nothing keeps the first one alive, and it is freed when its last request ends.
    given = engine
    follows = follow if follow is not None else engine is None
    del engine

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "engine", None) is None:
            directory = index_dir or DEFAULT_INDEX  # $PARASEARCH_INDEX, else .index/default
            app.state.engine = load_engine(directory, model=model)
        app.state.index_dir = app.state.engine.index.dir  # API keys live beside its generations
        record_index(app.state.engine)  # the index gauges of /metrics
        holder = None
        if follows:
            holder = app.state.holder = EngineHolder(app.state.engine, model=model)
            holder.on_switch += [lambda new: setattr(app.state, "engine", new), record_index]
            holder.watch()
            _reload_on_sighup(holder)
        try:
            yield
        finally:
            if holder is not None:
                holder.stop()

    app = FastAPI(title="parasearch", version="0.1.0", description=DESCRIPTION, lifespan=lifespan,
                  responses={400: {"model": ErrorOut}, 404: {"model": ErrorOut}},
                  docs_url=None, redoc_url=None)  # /docs from local files under the CSP: service/web.py
    if given is not None:
        app.state.engine = given

    @app.exception_handler(ParasearchError)
    async def parasearch_error(request: Request, exc: ParasearchError) -> Response:
        # Every error the product raises on purpose carries its status (parasearch/errors.py); its message, cut
        # and escaped, is the detail (as an HTML page for a browser opening a document view).
        return await http_error(request, StarletteHTTPException(exc.status, safe_text(str(exc), MAX_DETAIL_CHARS)))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler echoes each error's input: a 1 MB question came back whole, and one with a lone
        # surrogate could not be encoded at all (a 500). Where, what and which kind of error; never the input.
        return JSONResponse(status_code=422, content={"detail": [
            {"loc": [x if isinstance(x, int) else safe_text(str(x), 100) for x in e.get("loc", ())],
             "msg": safe_text(str(e.get("msg", "")), MAX_DETAIL_CHARS), "type": str(e.get("type", ""))}
            for e in exc.errors()[:20]
        ]})

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:  # no stack traces to clients
        log.exception("unexpected error")
        rid = current_request_id()  # this runs outside Observability: the header is set here
        return JSONResponse(status_code=500, content={"detail": "internal error"},
                            headers={REQUEST_ID_HEADER: rid} if rid else None)

    register_routes(app)
    app.add_middleware(GenerationHeader)  # X-Index-Generation on every response that used the index
    app.add_middleware(RequestGuards)  # body size limit, UTF-8 URLs: inside CORS and the security headers
    install_web(app)  # search page, document view, widget, security headers, CORS
    app.add_middleware(Observability, routes=app.router.routes)  # outermost: request id, access log, metrics
    return app


def register_routes(app: FastAPI) -> None:
    app.include_router(answer_router)  # POST /answer, POST /answer/stream
    app.include_router(admin_router)  # /admin/...: live document updates, generations, reload (admin keys)
    read = [Depends(search_access)]  # an API key when PARASEARCH_SEARCH_REQUIRES_KEY is set (service/auth.py)

    @app.get("/search", response_model=SearchResponse, tags=["search"], dependencies=read,
             summary="Ranked paragraphs for a question, each with its citation",
             description="Each result is one citation (symbol and paragraph) in one language version: `language` "
                         "says which, `url` opens that version at the paragraph "
                         "(`/documents/{symbol}?language=fr#para-3`) and `versions` lists the other languages "
                         "the document is indexed in, each at the same paragraph. `offset` pages through the "
                         "ranked results, `sort=date` orders them newest first, and `facets=true` counts each "
                         "filter's values among them.")
    def search(
        engine: Engine,
        request: Request,
        filters: Annotated[Filters, Depends(search_filters)],
        q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS, description="The question or keywords")],
        k: Annotated[int, Query(ge=1, le=100, description="Number of results")] = 10,
        mode: Annotated[Mode, Query(description=f"One of {', '.join(MODES)}; hybrid also prefers documents in "
                                                "the query's language, of the years it names and whose title, "
                                                "body or type it matches")] = Mode.HYBRID,
        collapse: Annotated[bool, Query(description="Show a paragraph repeated word for word in several "
                                                     "documents once, from the newest, or from a year the query "
                                                     "names (others in also_in); and a paragraph indexed in "
                                                     "several languages once, in the query's language when it "
                                                     "is indexed in it, else the best-scoring version (others "
                                                     "in versions)")] = True,
        offset: Annotated[int, Query(ge=0, le=MAX_DEPTH - 1, description=(
            "Skip this many results: the page of `k` results from this position of the ranked list (0-based; "
            f"`offset` + `k` at most {MAX_DEPTH}). With `offset`, `sort` or `facets`, every page of a search is cut "
            "from one ranked list (the plain search's results, carried on through the candidates it retrieved: "
            "about 100 to 200), so pages never overlap and the first is the plain search's; `pool` says how long "
            "the list is and `has_more` whether another page follows. A page past its end comes from a deeper "
            "search"))] = 0,
        sort: Annotated[str, Query(pattern="^(relevance|date)$", description=(
            "`relevance` (default) or `date`: the ranked list re-ordered by document date, newest first (undated "
            "documents last; the same date in relevance order)"))] = "relevance",
        facets: Annotated[bool, Query(description=(
            "Also count each filter's values (body, type, language, year) among the ranked results: `facets` in "
            "the response"))] = False,
    ) -> SearchResponse:
        if not q.strip():
            raise InvalidRequest("the query is empty")
        if offset + k > MAX_DEPTH:
            raise InvalidRequest(f"offset + k must be at most {MAX_DEPTH}")
        calibration = calibration_of(engine)
        if not offset and sort == "relevance" and not facets:  # a plain search: exactly k results, as ranked
            outcome = engine.search(q, k=k, mode=mode, filters=filters, collapse=collapse)
            record_search(outcome)
            return to_response(outcome, root=root_path(request), calibration=calibration)
        page = search_page(engine, q, k=k, offset=offset, sort=sort, facets=facets, mode=mode, filters=filters,
                           collapse=collapse)
        record_search(page.outcome)
        return to_response(page.outcome, root=root_path(request), calibration=calibration, page=page)

    @app.get("/documents", response_model=DocumentList, tags=["documents"], summary="The indexed documents",
             dependencies=read)
    def documents(
        engine: Engine,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    ) -> DocumentList:
        docs = engine.index.documents()
        return DocumentList(total=len(docs), documents=[DocumentSummary(**d) for d in docs[offset:offset + limit]])

    @app.get("/symbols", response_model=SymbolSuggestions, tags=["documents"], dependencies=read,
             summary="Document symbols that complete what was typed (autocompletion)")
    def symbols(
        engine: Engine,
        request: Request,
        prefix: Annotated[str, Query(min_length=1, max_length=200, examples=["S/RES/26"],
                                     description="The start of a symbol, or of a part of one after a slash")],
        limit: Annotated[int, Query(ge=1, le=50)] = 8,
    ) -> SymbolSuggestions:
        ix, root = engine.index, root_path(request)
        return SymbolSuggestions(prefix=prefix, suggestions=[
            SymbolSuggestion(symbol=ix.doc_symbol[d], title=ix.doc_title[d] or "", date=ix.doc_date[d],
                             languages=list(ix.doc_languages[d]), url=document_url(ix.doc_symbol[d], root=root))
            for d in ix.suggest_symbols(prefix, limit)])

    @app.get("/documents/{symbol:path}/paragraphs/{para}", response_model=ParagraphOut, tags=["documents"],
             dependencies=read,
             summary="One paragraph by document symbol and paragraph locator", description=SYMBOL_HELP)
    def paragraph(engine: Engine, symbol: str, para: str,
                  language: Annotated[str | None, Query(description=LANGUAGE_HELP)] = None
                  ) -> ParagraphOut:
        doc_id = engine.index.document_id(symbol, language)
        row = engine.index.paragraph(doc_id, para)
        if row is None:
            raise NotFound(f"{engine.index.doc_symbol[doc_id]} has no paragraph {_excerpt(para)}")
        return ParagraphOut(symbol=row.symbol, para=row.para, citation=row.citation, kind=row.kind,
                            section=row.section, text=row.text, n_tokens=row.n_tokens)

    @app.get("/documents/{symbol:path}", response_model=DocumentOut, tags=["documents"], dependencies=read,
             summary="A document's metadata and its paragraphs in order",
             description=SYMBOL_HELP + DOCUMENT_HTML_NOTE, responses=DOCUMENT_HTML_RESPONSE)
    def document(engine: Engine, symbol: str, request: Request, response: Response,
                 language: Annotated[str | None, Query(description=LANGUAGE_HELP)] = None
                 ) -> DocumentOut | Response:
        doc_id = engine.index.document_id(symbol, language)
        meta = engine.index.document(doc_id)
        paras = [ParagraphOut(symbol=r.symbol, para=r.para, citation=r.citation, kind=r.kind, section=r.section,
                              text=r.text, n_tokens=r.n_tokens) for r in engine.index.document_paragraphs(doc_id)]
        meta.pop("source", None)
        own = engine.index.doc_lang[doc_id]
        others = [lang for lang in engine.index.doc_languages[doc_id] if lang != own]
        versions = version_links(meta["symbol"], others, root=root_path(request))
        return document_response(request, response, DocumentOut(**meta, versions=versions, paragraphs=paras))

    @app.get("/metrics", tags=["service"], summary="Metrics in Prometheus text format",
             response_class=PlainTextResponse,
             description="Requests and latency by route template and status, search and answer latency, "
                         "query-embedding cache hits and misses, rate-limit refusals, and the index served "
                         "(documents, paragraphs, build time). Names and meanings: `service/metrics.py`.",
             responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
                              "description": "Prometheus text exposition format"}})
    def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    @app.get("/health", response_model=Health, tags=["service"], summary="Liveness and what is loaded")
    def health(engine: Engine) -> Health:
        m = engine.index.manifest
        return Health(status="ok", documents=m["counts"]["documents"], paragraphs=m["counts"]["paragraphs"],
                      vectors=m["counts"]["vectors"], model=m["model"]["name"],
                      models=[x["name"] for x in engine.index.models], index_type=m["index_type"],
                      built_at=m["built_at"], generation=engine.index.generation.name)


def _reload_on_sighup(holder: EngineHolder) -> None:
    """``kill -HUP`` the server to load a newly published generation (only where the loop owns signals: the main
    thread of ``parasearch serve``)."""
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.run_in_executor(None, holder.reload))


def _excerpt(value: str) -> str:
    """A client's value quoted in an error: at most 80 characters of it, safely encoded."""
    return repr(safe_text(value, 80))


__all__ = ["create_app"]
