"""The HTTP service (FastAPI). The index and the model load once, in the lifespan."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse

from parasearch.config import DEFAULT_INDEX
from service.answer_routes import router as answer_router
from service.confidence import calibration_of
from service.deps import Engine, search_filters, to_response, version_links
from service.engine import load_engine
from service.index import IndexError_
from service.models import (
    DocumentList,
    DocumentOut,
    DocumentSummary,
    ErrorOut,
    Health,
    ParagraphOut,
    SearchResponse,
)
from service.search import MODES, EngineError, Filters, SearchEngine
from service.web import DOCUMENT_HTML_NOTE, DOCUMENT_HTML_RESPONSE, document_response, install_web, root_path

log = logging.getLogger("parasearch")
MAX_QUERY_CHARS = 1000

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


def create_app(index_dir: Path | None = None, *, model: str | None = None, engine: SearchEngine | None = None
               ) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if engine is not None:
            app.state.engine = engine
        else:
            directory = index_dir or DEFAULT_INDEX  # $PARASEARCH_INDEX, else .index/default
            app.state.engine = load_engine(directory, model=model)
        yield

    app = FastAPI(title="parasearch", version="0.1.0", description=DESCRIPTION, lifespan=lifespan,
                  responses={400: {"model": ErrorOut}, 404: {"model": ErrorOut}})

    @app.exception_handler(EngineError)
    async def engine_error(_: Request, exc: EngineError) -> JSONResponse:
        return JSONResponse(status_code=400, content={"detail": str(exc)})

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:  # no stack traces to clients
        log.exception("unexpected error")
        return JSONResponse(status_code=500, content={"detail": "internal error"})

    register_routes(app)
    install_web(app)  # search page, document view, widget, security headers, CORS
    return app


def register_routes(app: FastAPI) -> None:
    app.include_router(answer_router)  # POST /answer, POST /answer/stream

    @app.get("/search", response_model=SearchResponse, tags=["search"],
             summary="Ranked paragraphs for a question, each with its citation",
             description="Each result is one citation (symbol and paragraph) in one language version: `language` "
                         "says which, `url` opens that version at the paragraph "
                         "(`/documents/{symbol}?language=fr#para-3`) and `versions` lists the other languages "
                         "the document is indexed in, each at the same paragraph.")
    def search(
        engine: Engine,
        request: Request,
        filters: Annotated[Filters, Depends(search_filters)],
        q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS, description="The question or keywords")],
        k: Annotated[int, Query(ge=1, le=100, description="Number of results")] = 10,
        mode: Annotated[str, Query(pattern="^(hybrid|dense|bm25)$",
                                   description=f"One of {', '.join(MODES)}; hybrid also prefers documents "
                                               "in the query's language, of the years it names and whose "
                                               "title, body or type it matches")] = "hybrid",
        collapse: Annotated[bool, Query(description="Show a paragraph repeated word for word in several "
                                                     "documents once, from the newest, or from a year the query "
                                                     "names (others in also_in); and a paragraph indexed in "
                                                     "several languages once, in the query's language when it "
                                                     "is indexed in it, else the best-scoring version (others "
                                                     "in versions)")] = True,
    ) -> SearchResponse:
        if not q.strip():
            raise HTTPException(400, "the query is empty")
        return to_response(engine.search(q, k=k, mode=mode, filters=filters, collapse=collapse),
                           root=root_path(request), calibration=calibration_of(engine))

    @app.get("/documents", response_model=DocumentList, tags=["documents"], summary="The indexed documents")
    def documents(
        engine: Engine,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    ) -> DocumentList:
        docs = engine.index.documents()
        return DocumentList(total=len(docs), documents=[DocumentSummary(**d) for d in docs[offset:offset + limit]])

    @app.get("/documents/{symbol:path}/paragraphs/{para}", response_model=ParagraphOut, tags=["documents"],
             summary="One paragraph by document symbol and paragraph locator", description=SYMBOL_HELP)
    def paragraph(engine: Engine, symbol: str, para: str,
                  language: Annotated[str | None, Query(description=LANGUAGE_HELP)] = None
                  ) -> ParagraphOut:
        doc_id = _doc_id(engine, symbol, language)
        row = engine.index.paragraph(doc_id, para)
        if row is None:
            raise HTTPException(404, f"{engine.index.doc_symbol[doc_id]} has no paragraph {para!r}")
        return ParagraphOut(symbol=row.symbol, para=row.para, citation=row.citation, kind=row.kind,
                            section=row.section, text=row.text, n_tokens=row.n_tokens)

    @app.get("/documents/{symbol:path}", response_model=DocumentOut, tags=["documents"],
             summary="A document's metadata and its paragraphs in order",
             description=SYMBOL_HELP + DOCUMENT_HTML_NOTE, responses=DOCUMENT_HTML_RESPONSE)
    def document(engine: Engine, symbol: str, request: Request, response: Response,
                 language: Annotated[str | None, Query(description=LANGUAGE_HELP)] = None
                 ) -> DocumentOut | Response:
        doc_id = _doc_id(engine, symbol, language)
        meta = engine.index.document(doc_id)
        paras = [ParagraphOut(symbol=r.symbol, para=r.para, citation=r.citation, kind=r.kind, section=r.section,
                              text=r.text, n_tokens=r.n_tokens) for r in engine.index.document_paragraphs(doc_id)]
        meta.pop("source", None)
        own = engine.index.doc_lang[doc_id]
        others = [lang for lang in engine.index.doc_languages[doc_id] if lang != own]
        versions = version_links(meta["symbol"], others, root=root_path(request))
        return document_response(request, response, DocumentOut(**meta, versions=versions, paragraphs=paras))

    @app.get("/health", response_model=Health, tags=["service"], summary="Liveness and what is loaded")
    def health(engine: Engine) -> Health:
        m = engine.index.manifest
        return Health(status="ok", documents=m["counts"]["documents"], paragraphs=m["counts"]["paragraphs"],
                      vectors=m["counts"]["vectors"], model=m["model"]["name"],
                      models=[x["name"] for x in engine.index.models], index_type=m["index_type"],
                      built_at=m["built_at"])


def _doc_id(engine: SearchEngine, symbol: str, language: str | None) -> int:
    from parasearch.types import normalize_symbol

    versions = engine.index.symbol_versions.get(normalize_symbol(symbol))
    if not versions:
        raise HTTPException(404, f"no document with symbol {symbol!r} in the index")
    if language:
        doc_id = versions.get(language.strip().lower())
        if doc_id is None:
            symbol = engine.index.doc_symbol[next(iter(versions.values()))]
            raise HTTPException(404, f"{symbol} is not in the index in language {language!r}; it is in: "
                                     f"{', '.join(versions)}")
        return doc_id
    return versions["en"] if "en" in versions else next(iter(versions.values()))


__all__ = ["create_app", "IndexError_"]
