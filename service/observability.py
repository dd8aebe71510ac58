"""What an operator sees of ``parasearch serve``: request ids, one access line per request, JSON logs, metrics.

* **Request id.** A client's ``X-Request-ID`` is kept when it is short and printable (at most 64 characters of
  ``[A-Za-z0-9._-]``), else one is made; it comes back in the ``X-Request-ID`` response header (errors too) and
  is in every log line written while the request is handled (a :mod:`contextvars` variable read by
  :class:`RequestIdFilter`, so worker threads and streamed responses carry it too).
* **Access log.** :class:`Observability` writes one line per request to the ``parasearch.access`` logger:
  method, path (never the query string), route template, status, milliseconds, request id. The query text
  (``q``, an answer's question) is added only with ``PARASEARCH_LOG_QUERIES=1``. ``parasearch serve`` turns
  uvicorn's own access log off (it prints the query string).
* **Log format.** ``PARASEARCH_LOG_FORMAT=json``: one JSON object per line (``time``, ``level``, ``logger``,
  ``message``, ``request_id`` and, for access lines, ``method``, ``path``, ``route``, ``status``, ``ms``,
  ``query``); the default is one line of text. :func:`log_config` is the configuration ``serve`` gives uvicorn.
* **Metrics** (:mod:`service.metrics`, served by ``GET /metrics``): requests and latency by route template
  (``/documents/{symbol}``, never the raw path: label values stay bounded), method and status; search and
  answer latency (:func:`record_search`, :func:`record_answer`); the index served (:func:`record_index`).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parasearch.settings import settings

if TYPE_CHECKING:
    from service.answer_types import Answer
    from service.search import SearchEngine, SearchOutcome
from service.metrics import (
    ANSWER_SECONDS,
    INDEX_DOCUMENTS,
    INDEX_GENERATION_BUILT,
    INDEX_PARAGRAPHS,
    REQUEST_SECONDS,
    REQUESTS,
    SEARCH_SECONDS,
)

REQUEST_ID_HEADER = "X-Request-ID"
LOG_FORMAT_ENV = "PARASEARCH_LOG_FORMAT"
LOG_QUERIES_ENV = "PARASEARCH_LOG_QUERIES"
ACCESS_LOGGER = "parasearch.access"
LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # the route label of a request no route matches (404s of any path)
MAX_LOGGED_CHARS = 300  # a logged path or query is cut here

_CLIENT_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

access_log = logging.getLogger(ACCESS_LOGGER)


@dataclass
class RequestContext:
    """The request being handled. One mutable object per request, shared by the copies of the context that
    worker threads run in, so what a route notes (the query text) is seen by the middleware."""

    request_id: str
    query: str | None = None


_current: ContextVar[RequestContext | None] = ContextVar("parasearch_request", default=None)


def current_request_id() -> str | None:
    ctx = _current.get()
    return ctx.request_id if ctx else None


def note_query(text: str) -> None:
    """The query text of this request (logged only with ``PARASEARCH_LOG_QUERIES=1``)."""
    ctx = _current.get()
    if ctx is not None:
        ctx.query = text


def request_id_for(scope: Scope) -> str:
    """The client's ``X-Request-ID`` when it is short and printable, else a new one."""
    given = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
    return given if _CLIENT_ID.fullmatch(given) else uuid.uuid4().hex


def safe_text(text: str, limit: int = MAX_LOGGED_CHARS) -> str:
    """``text`` cut to ``limit`` characters, with control characters and lone surrogates escaped: one log line,
    encodable in any stream."""
    cut = text[:limit] + ("…" if len(text) > limit else "")
    return "".join(c if c.isprintable() and not 0xD800 <= ord(c) <= 0xDFFF else ascii(c)[1:-1] for c in cut)


# -- logging ---------------------------------------------------------------------------------------

class RequestIdFilter(logging.Filter):
    """Gives every record the request id of the request it was written for (``-`` outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id() or "-"
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT, defaults={"request_id": "-"})

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        query = (getattr(record, "access", None) or {}).get("query")
        return line if query is None else f"{line} query={json.dumps(query)}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id, access fields."""

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", "-")
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
            "request_id": None if rid == "-" else rid,
        }
        out.update(getattr(record, "access", None) or {})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)  # ASCII: any text, any stream encoding


def log_format(fmt: str | None = None) -> str:
    fmt = (fmt or settings().log_format).strip().lower()
    if fmt not in LOG_FORMATS:
        raise ValueError(f"{LOG_FORMAT_ENV} must be one of {', '.join(LOG_FORMATS)}, got {fmt!r}")
    return fmt


def formatter(fmt: str | None = None) -> logging.Formatter:
    return JsonFormatter() if log_format(fmt) == "json" else TextFormatter()


def log_handler(stream: IO[str] | None = None, fmt: str | None = None) -> logging.Handler:
    """A handler writing the service's log lines (request ids, ``PARASEARCH_LOG_FORMAT``) to ``stream``."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(fmt))
    handler.addFilter(RequestIdFilter())
    return handler


def log_config(level: str = "info", fmt: str | None = None) -> dict[str, Any]:
    """The :func:`logging.config.dictConfig` of ``parasearch serve``, also given to uvicorn (``log_config``):
    one stderr handler on the root logger, so the service's, uvicorn's and libraries' lines share one format."""
    level = level.upper()
    name = log_format(fmt)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"default": {"()": JsonFormatter if name == "json" else TextFormatter}},
        "handlers": {"default": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                 "formatter": "default", "filters": ["request_id"]}},
        "root": {"handlers": ["default"], "level": "WARNING"},
        "loggers": {
            "parasearch": {"level": level},
            "uvicorn": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},  # serve turns it off
        },
    }


# -- the middleware --------------------------------------------------------------------------------

def route_template(scope: Scope, routes: Sequence[BaseRoute] | None = None) -> str:
    """The template of the route that handled (or would handle) the request: ``/documents/{symbol}``."""
    route = scope.get("route")
    if route is None and routes:  # answered before routing (413, 400 of the guards): ask the routes
        for candidate in routes:
            match, child = candidate.matches(scope)
            if match != Match.NONE:
                route = child.get("route", candidate)
                if match == Match.FULL:
                    break
    if route is None:
        return UNMATCHED
    return getattr(route, "path_format", None) or getattr(route, "path", None) or UNMATCHED


class Observability:
    """Pure ASGI middleware, outermost: request id, access line, request metrics.

    The request's context variable is left set when the request ends, so that the 500 handler (run by
    Starlette's outermost error middleware, outside this one) and uvicorn's error log still see the request id;
    each request runs in a task of its own, so it never leaks into another."""

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute] | None = None,
                 log_queries: bool | None = None) -> None:
        self.app = app
        self.routes = routes
        self.log_queries = settings().log_queries if log_queries is None else log_queries

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctx = RequestContext(request_id_for(scope))
        _current.set(ctx)
        if self.log_queries:
            q = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("q")
            ctx.query = q[0] if q else None
        status = 500  # unless a response starts
        recorded = False
        t0 = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, recorded
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = ctx.request_id
            elif message["type"] == "http.response.body" and not message.get("more_body") and not recorded:
                # recorded before the last bytes go out: once a client has its answer, the line and the
                # metrics are there (a client reading /metrics next sees its own request counted)
                recorded = True
                self._record(scope, ctx, status, time.perf_counter() - t0)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if not recorded:  # no response, or one cut off: recorded as it ended
                self._record(scope, ctx, status, time.perf_counter() - t0)

    def _record(self, scope: Scope, ctx: RequestContext, status: int, seconds: float) -> None:
        method = scope.get("method", "GET")
        method = method if method in METHODS else "other"
        route = route_template(scope, self.routes)
        REQUESTS.labels(route, method, str(status)).inc()
        REQUEST_SECONDS.labels(route, method).observe(seconds)
        path = safe_text(scope.get("path", ""))
        fields: dict[str, Any] = {"method": method, "path": path, "route": route, "status": status,
                                  "ms": round(seconds * 1000, 2)}
        if self.log_queries and ctx.query is not None:
            fields["query"] = safe_text(ctx.query, 1000)
        access_log.info("%s %s %d %.1fms", method, path, status, seconds * 1000, extra={"access": fields})


# -- what the routes and the engine's owner record -------------------------------------------------

def record_index(engine: SearchEngine) -> None:
    """The index generation being served, into the index gauges: call when an engine is loaded or swapped in."""
    manifest = engine.index.manifest
    counts = manifest.get("counts", {})
    INDEX_DOCUMENTS.set(counts.get("documents", 0))
    INDEX_PARAGRAPHS.set(counts.get("paragraphs", 0))
    built = manifest.get("built_at")
    if built:
        try:
            INDEX_GENERATION_BUILT.set(datetime.fromisoformat(built.replace("Z", "+00:00")).timestamp())
        except ValueError:
            pass


def record_search(outcome: SearchOutcome) -> None:
    """A ``GET /search``: its engine time (``took_ms``) by mode; its query text for the access line."""
    SEARCH_SECONDS.labels(outcome.mode).observe(outcome.took_ms / 1000)
    note_query(outcome.query)


def answer_method(method: str) -> str:
    """An answer's method as a bounded label: ``extractive``, ``llm``, or ``extractive_fallback`` (the language
    model failed; the answer's own method names the reason)."""
    if method.startswith("extractive ("):
        return "extractive_fallback"
    return method if method in ("extractive", "llm") else "other"


def record_answer(answer: Answer) -> None:
    """An answer (``POST /answer``, or ``/answer/stream``'s last event): its time by method; its question."""
    ANSWER_SECONDS.labels(answer_method(answer.method)).observe(answer.took_ms / 1000)
    note_query(answer.question)
