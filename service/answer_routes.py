"""HTTP routes for answers: ``POST /answer`` and ``POST /answer/stream`` (server-sent events).

Included by :func:`service.app.register_routes`. The language model, when
``PARASEARCH_LLM_URL`` is set, is configured once per app on first use
(``app.state.llm``; tests may set it directly).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import StreamingResponse

from service.answer import Answer, AnswerCitation, answer_question, stream_answer
from service.auth import search_access
from service.confidence import Calibration, calibration_of
from service.deps import Engine, to_response, version_links
from service.lists import ListItem
from service.llm import LLMClient, LLMConfig
from service.models import (
    AnswerCitationOut,
    AnswerRequest,
    AnswerResponse,
    AnswerSentenceOut,
    ListItemOut,
    SearchResult,
)
from service.observability import record_answer
from service.search import Filters, SearchOutcome
from service.web import document_url, root_path

router = APIRouter(tags=["answers"], dependencies=[Depends(search_access)])  # service/auth.py

STREAM_DESCRIPTION = """The same answer as `POST /answer`, as server-sent events:

* `event: passages` — `data`: the retrieved passages (as in `passages`), numbered from 1;
* `event: text` — `data`: `{"sentence": i, "text": ...}`, one backed sentence (`sentence` is null for the
  not-found message);
* `event: citation` — `data`: `{"sentence": i, "symbol", "para", "citation", "language", "url", "versions",
  "passage": n}` (as in `sentences[].citations`), right after the text it backs;
* `event: reset` — `data`: `{"reason": ...}`: the language model failed midway; drop what was shown, the
  extractive answer follows;
* `event: done` — `data`: the complete answer (as `POST /answer` returns it), citations and method included.
"""


def get_llm(request: Request) -> LLMClient | None:
    state = request.app.state
    if not hasattr(state, "llm"):
        config = LLMConfig.from_env()
        state.llm = LLMClient(config) if config else None
    return state.llm


Llm = Annotated[LLMClient | None, Depends(get_llm)]


def _filters(req: AnswerRequest) -> Filters | None:
    f = req.filters
    if f is None:
        return None
    return Filters(symbol=f.symbol, body=f.body, type=f.type, language=f.language, date_from=f.date_from,
                   date_to=f.date_to)


def _question(req: AnswerRequest) -> str:
    question = req.question.strip()
    if not question:
        raise HTTPException(400, "the question is empty")
    return question


def _passages(outcome: SearchOutcome, root: str = "", calibration: Calibration | None = None) -> list[SearchResult]:
    return to_response(outcome, root, calibration).results


def _item_out(item: ListItem, root: str) -> ListItemOut:
    row = item.hit.row
    return ListItemOut(symbol=row.symbol, para=row.para, citation=row.citation, language=row.language or None,
                       url=document_url(row.symbol, row.language or None, row.para, root), date=item.date,
                       title=row.title, text=row.text)


def _citation_out(c: AnswerCitation, root: str) -> AnswerCitationOut:
    return AnswerCitationOut(symbol=c.symbol, para=c.para, citation=c.citation, passage=c.passage,
                             language=c.language or None,
                             url=document_url(c.symbol, c.language or None, c.para, root),
                             versions=version_links(c.symbol, c.versions, c.para, root))


def to_answer_response(ans: Answer, root: str = "", calibration: Calibration | None = None) -> AnswerResponse:
    """The API's form of an answer; ``root``: the service's root path, for the citations' URLs; ``calibration``:
    the engine's, for the passages' relevance."""
    return AnswerResponse(
        question=ans.question, answer=ans.answer, found=ans.found, method=ans.method, took_ms=round(ans.took_ms, 2),
        sentences=[
            AnswerSentenceOut(text=s.text, supported=s.supported, score=s.score,
                              citations=[_citation_out(c, root) for c in s.citations])
            for s in ans.sentences
        ],
        passages=_passages(ans.outcome, root, calibration), confidence=ans.confidence,
        state=ans.state or ("answer" if ans.found else "not_found"), items=[_item_out(i, root) for i in ans.items],
    )


@router.post("/answer", response_model=AnswerResponse,
             summary="A short answer, every sentence cited to a paragraph that backs it",
             description="Each citation names the language version it quotes (`language`, `url`) and the other "
                         "languages the document is indexed in (`versions`). The answer quotes the question's "
                         "language version of a paragraph when it is indexed: the same citation in any language.")
def answer(engine: Engine, llm: Llm, req: AnswerRequest, request: Request) -> AnswerResponse:
    ans = answer_question(engine, _question(req), k=req.k, mode=req.mode, filters=_filters(req), llm=llm)
    record_answer(ans)  # /metrics: answer latency
    return to_answer_response(ans, root_path(request), calibration_of(engine))


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _encode(event: str, data: Any, root: str = "", calibration: Calibration | None = None) -> str:
    if event == "passages":
        return _sse(event, [p.model_dump() for p in _passages(data, root, calibration)])
    if event == "done":
        record_answer(data)  # /metrics: answer latency
        return _sse(event, to_answer_response(data, root, calibration).model_dump())
    if event == "citation":
        c = AnswerCitation(symbol=data["symbol"], para=data["para"], citation=data["citation"],
                           passage=data["passage"], language=data.get("language", ""),
                           versions=data.get("versions", []))
        return _sse(event, {"sentence": data["sentence"], **_citation_out(c, root).model_dump()})
    return _sse(event, data)


@router.post("/answer/stream", summary="The answer as server-sent events", description=STREAM_DESCRIPTION,
             response_class=StreamingResponse,
             responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events"}})
def answer_stream(engine: Engine, llm: Llm, req: AnswerRequest, request: Request) -> StreamingResponse:
    events = stream_answer(engine, _question(req), k=req.k, mode=req.mode, filters=_filters(req), llm=llm)
    first = next(events)  # retrieval runs here, so a bad request is a 400, not a broken stream
    root = root_path(request)
    calibration = calibration_of(engine)

    def body() -> Iterator[str]:
        yield _encode(*first, root, calibration)
        for event in events:
            yield _encode(*event, root, calibration)

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
