"""Checks on a request before any route reads it: the body's size, and URLs that are UTF-8.

:class:`RequestGuards` is a pure ASGI middleware (added by :func:`service.app.create_app`):

* the request body is limited to ``PARASEARCH_MAX_BODY_BYTES`` (default 1 MiB). A ``Content-Length`` over the
  limit is answered 413 at once, before anything is read; a body without one (chunked) is counted as it
  arrives and answered 413 as soon as it passes the limit. Either way the rest is never read into memory
  (uvicorn discards what the client still sends).
* a path or query string whose percent-encoded bytes are not UTF-8 (``q=%ED%A0%80``, the UTF-8 form of a lone
  surrogate) is a 400: Starlette would silently turn them into U+FFFD and search for that.

Both answer JSON ``{"detail": reason}``, like every other error of the service.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parasearch.settings import default, settings

MAX_BODY_ENV = "PARASEARCH_MAX_BODY_BYTES"
# 1 MiB: a question is at most 1,000 characters; an upload API sets its own
DEFAULT_MAX_BODY_BYTES: int = default("max_body_bytes")


def max_body_bytes() -> int:
    """The body size limit in bytes, from ``PARASEARCH_MAX_BODY_BYTES``."""
    return settings().max_body_bytes


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes the limit. An HTTPException, so that FastAPI, which
    turns other errors met while reading a body into a 400, passes it on to the 413 handler."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large(limit))


def too_large(limit: int) -> str:
    return f"the request body is over the service's limit of {limit} bytes ({MAX_BODY_ENV})"


def _utf8(raw: bytes) -> bool:
    try:
        unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


UPLOAD_PATH = "/admin/documents"  # POST: a document file to index (service/admin.py), with its own limit
MAX_UPLOAD_ENV = "PARASEARCH_MAX_UPLOAD_BYTES"
DEFAULT_MAX_UPLOAD_BYTES: int = default("max_upload_bytes")  # 50 MiB, as the indexer's file size cap


def max_upload_bytes() -> int:
    """The body size limit of a document upload, from ``PARASEARCH_MAX_UPLOAD_BYTES``."""
    return settings().max_upload_bytes


class RequestGuards:
    def __init__(self, app: ASGIApp, max_body: int | None = None) -> None:
        self.app = app
        self.max_body = max_body_bytes() if max_body is None else max_body
        self.max_upload = max_upload_bytes()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogateescape")
        if not (_utf8(raw_path) and _utf8(scope.get("query_string", b""))):
            await JSONResponse({"detail": "the URL's path or query string is not valid UTF-8 once percent-decoded "
                                          "(for example an encoded lone surrogate)"}, 400)(scope, receive, send)
            return
        upload = scope.get("method") == "POST" and scope.get("path", "").rstrip("/").endswith(UPLOAD_PATH)
        limit = max(self.max_upload, self.max_body) if upload else self.max_body
        try:
            declared = int(Headers(scope=scope).get("content-length", ""))
        except ValueError:
            declared = None
        if declared is not None and declared > limit:
            await JSONResponse({"detail": too_large(limit)}, 413)(scope, receive, send)
            return

        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:  # a streamed response had begun: nothing to do but end the connection
                raise
            await JSONResponse({"detail": too_large(limit)}, 413)(scope, receive, send)
