"""FastAPI dependencies and response assembly shared by the service's routers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Query, Request

from service.confidence import Calibration, probabilities, result_probability, state_of
from service.live import GENERATION_STATE
from service.models import (
    Citation,
    FacetValue,
    ModeScore,
    ReferenceInfo,
    SearchFacets,
    SearchResponse,
    SearchResult,
    VersionLink,
)
from service.search import Filters, Hit, SearchEngine, SearchOutcome, SearchPage
from service.web import document_url


def get_engine(request: Request) -> Iterator[SearchEngine]:
    """The engine a request uses, from start to end: leased from the app's :class:`service.live.EngineHolder`
    once, so a generation switch during the request changes nothing it sees (the lease ends after a streamed
    response has been sent). The response names the generation in ``X-Index-Generation``
    (:class:`service.live.GenerationHeader`)."""
    holder = getattr(request.app.state, "holder", None)
    if holder is None:
        engine = request.app.state.engine
        setattr(request.state, GENERATION_STATE, engine.index.generation.name)
        yield engine
        return
    with holder.lease() as engine:
        setattr(request.state, GENERATION_STATE, engine.index.generation.name)
        yield engine


Engine = Annotated[SearchEngine, Depends(get_engine)]


def search_filters(
    symbol: Annotated[list[str], Query(description="Exact symbol or prefix (`CTOC/COP`); repeatable")] = [],  # noqa: B006
    body: Annotated[list[str], Query(description="e.g. `General Assembly`; repeatable")] = [],  # noqa: B006
    type: Annotated[list[str], Query(description="e.g. `resolution`, `report`; repeatable")] = [],  # noqa: B006
    language: Annotated[list[str], Query(description="ISO 639-1, e.g. `en`, `fr`; repeatable")] = [],  # noqa: B006
    date_from: Annotated[str | None, Query(description="YYYY, YYYY-MM or YYYY-MM-DD, inclusive")] = None,
    date_to: Annotated[str | None, Query(description="YYYY, YYYY-MM or YYYY-MM-DD, inclusive")] = None,
) -> Filters:
    return Filters(symbol=symbol, body=body, type=type, language=language, date_from=date_from, date_to=date_to)


def version_links(symbol: str, languages: list[str], para: str | None = None, root: str = "") -> list[VersionLink]:
    """Links to the other language versions of a document, at paragraph ``para``'s anchor when given."""
    return [VersionLink(language=lang, url=document_url(symbol, lang, para, root)) for lang in languages]


def to_response(outcome: SearchOutcome, root: str = "", calibration: Calibration | None = None,
                page: SearchPage | None = None) -> SearchResponse:
    """The API's form of a search; ``root``: the service's root path, for the results' URLs; ``calibration``: the
    engine's (:func:`service.confidence.calibration_of`), for each result's relevance and the search's state;
    ``page``: the page of ``outcome`` to show (:func:`service.search.search_page`), else all its results. The
    search's state is always that of its best results, whichever page or order is shown."""
    shown: list[Hit] = outcome.hits if page is None else page.hits
    relevance = [result_probability(calibration, h) for h in shown]
    results = [
        SearchResult(
            rank=h.rank, score=h.score, symbol=h.row.symbol, para=h.row.para, citation=h.row.citation,
            text=h.row.text, snippet=h.snippet, title=h.row.title, date=h.row.date, body=h.row.body,
            type=h.row.type, language=h.row.language, section=h.row.section,
            url=document_url(h.row.symbol, h.row.language, h.row.para, root),
            versions=version_links(h.row.symbol, h.versions, h.row.para, root),
            also_in=[Citation(symbol=a.symbol, para=a.para, citation=a.citation, language=a.language,
                              url=document_url(a.symbol, a.language, a.para, root)) for a in h.also_in],
            scores={m: ModeScore(**v) for m, v in h.scores.items()},
            relevance=None if p is None else round(p, 4),
            weak=p is not None and calibration is not None and p < calibration.weak_below,
        )
        for h, p in zip(shown, relevance, strict=True)
    ]
    confidence, matched = probabilities(calibration, outcome)
    named = any("reference" in h.scores for h in outcome.hits[:1])
    state = None if confidence is None else (
        "answer" if named else state_of(calibration, confidence, matched=matched))
    ref = outcome.reference
    return SearchResponse(
        query=outcome.query, mode=outcome.mode, took_ms=round(outcome.took_ms, 2), results=results,
        reference=ReferenceInfo(named=ref.named, para=ref.para, found=not ref.unknown) if ref else None,
        notice=outcome.notice, language=outcome.language, years=outcome.years, state=state,
        confidence=None if confidence is None else round(confidence, 4),
        **({} if page is None else _paging(page)),
    )


def _paging(page: SearchPage) -> dict[str, Any]:
    """The page's fields of the response: where it starts, how it is sorted, what follows, the facet counts."""
    facets = None if page.facets is None else SearchFacets(**{
        name: [FacetValue(value=c.value, paragraphs=c.paragraphs, documents=c.documents) for c in counts]
        for name, counts in page.facets.items()})
    return {"offset": page.offset, "sort": page.sort, "pool": page.pool, "has_more": page.has_more, "facets": facets}
