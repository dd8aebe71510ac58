"""HTTP routes for answers: ``POST /answer`` and ``POST /answer/stream`` (server-sent events).

Included by :func:`service.app.register_routes`. The language model, when
``PARASEARCH_LLM_URL`` is set, is configured once per app on first use
(``app.state.llm``; tests may set it directly).

Both routes are limited (:mod:`service.limits`: a rate per client, a number of answers computed at once; 429
with ``Retry-After`` past either) and stop working for a client that has gone: the answer is computed in a
worker thread with a cancel event, set as soon as the client's disconnect is seen, which the answer code checks
between its stages and after every piece of the model's reply (the model's connection is then closed). The slot
is given back at once; for the stream, when the stream ends or the client goes.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable, Generator
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from parasearch.errors import InvalidRequest
from service.answer import Event, answer_question, stream_answer
from service.answer_types import Answer, AnswerCitation
from service.auth import key_store, presented_key, search_access
from service.confidence import Calibration, calibration_of
from service.deps import Engine, to_response, version_links
from service.limits import Refused, Slot, client_id, limits_of
from service.lists import ListItem
from service.llm import Cancelled, LLMClient, LLMConfig
from service.metrics import ANSWERS_IN_PROGRESS, RATE_LIMITED
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
    llm: LLMClient | None = state.llm
    return llm


Llm = Annotated[LLMClient | None, Depends(get_llm)]

T = TypeVar("T")
DISCONNECTED_STATUS = 499  # logged for an answer whose client went away (nothing is sent)
Responses = dict[int | str, dict[str, Any]]  # a route's documented responses, by status
LIMITED: Responses = {429: {"description": "Too many answers: this client's rate (`PARASEARCH_ANSWER_RATE`, "
                                "`PARASEARCH_ANSWER_BURST`) or the answers computed at once "
                                "(`PARASEARCH_ANSWER_CONCURRENCY`, waited for `PARASEARCH_ANSWER_QUEUE_SECONDS`). "
                                "`Retry-After` says in how many seconds to retry; `detail` names the setting.",
                 "headers": {"Retry-After": {"description": "seconds", "schema": {"type": "integer"}}},
                 "content": {"application/json": {"example": {"detail": "too many answers from this client: "
                                                                         "PARASEARCH_ANSWER_RATE=60 per minute "
                                                                         "(burst PARASEARCH_ANSWER_BURST=30); "
                                                                         "retry in 1 s"}}}}}


def _key_name(request: Request, key: str | None) -> str | None:
    """The name of the API key the request carries, when the key file knows it (search_access has looked it up
    when keys are required); an unknown key is no identity: the client is then its address."""
    name = getattr(request.state, "api_key", None)
    if name or not key:
        return name
    try:
        store = key_store(request)
        found = store.lookup(key) if store is not None else None
    except Exception:  # noqa: BLE001 (an unreadable key file: count by address)
        return None
    return found.name if found is not None else None


PresentedKey = Annotated[str | None, Depends(presented_key)]


async def admit(request: Request, key: str | None) -> Slot:
    """A slot for one answer within the limits (:mod:`service.limits`), or 429 with ``Retry-After``. Asked for
    once the request is known to be valid, so that a malformed request (422, 400) costs the client nothing."""
    limits = limits_of(request.app.state)
    client = client_id(_key_name(request, key), request.client.host if request.client else None)
    route = getattr(request.scope.get("route"), "path", request.url.path)
    try:
        slot = await limits.admit(client)
    except Refused as exc:
        RATE_LIMITED.labels(route=route, reason=exc.reason).inc()
        raise HTTPException(429, exc.detail, headers={"Retry-After": str(exc.retry_after)}) from None
    ANSWERS_IN_PROGRESS.inc()
    slot.on_release(ANSWERS_IN_PROGRESS.dec)
    return slot


async def _until_disconnected(request: Request) -> None:
    """Return once the client has gone (its body is read: the next message is ``http.disconnect``)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return
        await asyncio.sleep(0.05)  # not a disconnect (a server that repeats empty bodies): look again soon


async def _unless_disconnected(request: Request, cancel: threading.Event, work: Callable[[], T]) -> T | None:
    """``work()`` in a worker thread; None, with ``cancel`` set, as soon as the client disconnects (the thread
    then stops at its next check of ``cancel``; its result is dropped)."""
    async def run() -> T:
        return await anyio.to_thread.run_sync(work, abandon_on_cancel=True)

    task = asyncio.ensure_future(run())
    watch = asyncio.ensure_future(_until_disconnected(request))
    try:
        await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not task.done():
            cancel.set()
            task.cancel()
        watch.cancel()
    if task.cancelled():
        return None
    try:
        return task.result()
    except Cancelled:
        return None


def _filters(req: AnswerRequest) -> Filters | None:
    return None if req.filters is None else Filters.of(req.filters)


def _question(req: AnswerRequest) -> str:
    question = req.question.strip()
    if not question:
        raise InvalidRequest("the question is empty")
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
                         "language version of a paragraph when it is indexed: the same citation in any language.",
             responses=LIMITED)
async def answer(engine: Engine, llm: Llm, req: AnswerRequest, request: Request, key: PresentedKey) -> Any:
    question = _question(req)
    cancel = threading.Event()
    slot = await admit(request, key)
    try:
        ans = await _unless_disconnected(request, cancel, lambda: answer_question(
            engine, question, k=req.k, mode=req.mode, filters=_filters(req), llm=llm, cancel=cancel))
    finally:
        slot.release()  # at once, also when the client has gone and the thread is still winding down
    if ans is None:
        return Response(status_code=DISCONNECTED_STATUS)  # nobody reads it
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


class _Events:
    """The answer's events, each computed in a worker thread; :meth:`stop` sets the cancel event and closes the
    generator (at once when no event is being computed, else the thread closes it when it sees the event)."""

    def __init__(self, events: Generator[Event, None, None], cancel: threading.Event) -> None:
        self.events = events
        self.cancel = cancel
        self._lock = threading.Lock()

    def step(self) -> Event | None:
        """The next event, or None at the end (or once cancelled)."""
        with self._lock:
            try:
                if self.cancel.is_set():
                    return None
                return next(self.events)
            except (StopIteration, Cancelled):
                return None
            finally:
                if self.cancel.is_set():
                    self.events.close()

    def stop(self) -> None:
        self.cancel.set()
        if self._lock.acquire(blocking=False):
            try:
                self.events.close()
            finally:
                self._lock.release()


class _SlotStreamingResponse(StreamingResponse):
    """A streamed response that gives its answer slot back, and stops its events, when it ends: finished, failed
    or cut off by the client's disconnect (Starlette listens for it while streaming)."""

    def __init__(self, events: _Events, slot: Slot, content: AsyncIterator[str], **kw: Any) -> None:
        super().__init__(content, **kw)
        self._events = events
        self._slot = slot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._events.stop()
            self._slot.release()


@router.post("/answer/stream", summary="The answer as server-sent events", description=STREAM_DESCRIPTION,
             response_class=StreamingResponse,
             responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events"}, **LIMITED})
async def answer_stream(engine: Engine, llm: Llm, req: AnswerRequest, request: Request, key: PresentedKey) -> Any:
    question = _question(req)
    cancel = threading.Event()
    events = _Events(stream_answer(engine, question, k=req.k, mode=req.mode, filters=_filters(req), llm=llm,
                                   cancel=cancel), cancel)
    slot = await admit(request, key)
    try:
        # retrieval runs here, so a bad request is a 400, not a broken stream
        first = await _unless_disconnected(request, cancel, events.step)
    except BaseException:
        events.stop()
        slot.release()
        raise
    if first is None:
        events.stop()
        slot.release()
        return Response(status_code=DISCONNECTED_STATUS)
    root = root_path(request)
    calibration = calibration_of(engine)

    async def body() -> AsyncIterator[str]:
        event: Event | None = first
        while event is not None:
            yield _encode(*event, root, calibration)
            event = await anyio.to_thread.run_sync(events.step, abandon_on_cancel=True)

    # the slot is released by the response, when the stream ends or the client goes
    return _SlotStreamingResponse(events, slot, body(), media_type="text/event-stream",
                                  headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
