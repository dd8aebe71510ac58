"""A small client for any OpenAI-compatible ``/v1/chat/completions`` endpoint.

Configured from the environment (nothing is called unless ``PARASEARCH_LLM_URL`` is set):

* ``PARASEARCH_LLM_URL``      base URL (``http://host:8080``, ``http://host:8080/v1``) or the full
                               ``.../v1/chat/completions`` URL
* ``PARASEARCH_LLM_MODEL``    model name sent in the request (default ``default``)
* ``PARASEARCH_LLM_API_KEY``  sent as ``Authorization: Bearer ...`` when set
* ``PARASEARCH_LLM_TIMEOUT``  seconds: connecting, waiting for the reply, and between two pieces of it
                               (httpx's per-read timeout); also the OVERALL deadline of a whole reply, whole
                               or streamed, checked as each piece arrives, so a server that trickles a byte
                               at a time is cut off too (a reply takes at most about twice this; default 30)
* ``PARASEARCH_LLM_MAX_BYTES`` the most bytes a reply (the HTTP body, whole or streamed) may have; past it
                               the reply is cut off with ``LLMError("too large")`` (default 1000000)
* ``PARASEARCH_LLM_TOKEN_BUDGET``  tokens (cl100k_base) the prompt may use, passages included (default 3000)
* ``PARASEARCH_LLM_MAX_TOKENS``    tokens the model may write (default 400)

Every failure (timeout, connection refused, HTTP error status, a reply that is not the
expected JSON) is raised as :class:`LLMError` with a short ``reason`` ("timeout",
"HTTP 503", "malformed reply", "too large", ...) that callers show when they fall back.

Both calls take ``cancel``, a :class:`threading.Event`: once it is set (the HTTP client that asked went away)
the reply is no longer read, its connection is closed, and :class:`Cancelled` (not an :class:`LLMError`: there
is nobody to fall back for) is raised; it is checked before the request and after every piece received.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from parasearch.settings import default, settings

DEFAULT_TIMEOUT: float = default("llm_timeout")
DEFAULT_TOKEN_BUDGET: int = default("llm_token_budget")
DEFAULT_MAX_TOKENS: int = default("llm_max_tokens")
DEFAULT_MAX_BYTES: int = default("llm_max_bytes")
ERROR_BODY_BYTES = 1000  # of an error reply's body, read for the reason shown


class LLMError(Exception):
    """The model could not give a usable reply; ``reason`` says why in a few words."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class Cancelled(Exception):
    """The reply is no longer wanted: the ``cancel`` event was set (the client went away)."""


def check_cancel(cancel: threading.Event | None) -> None:
    """Raise :class:`Cancelled` once ``cancel`` is set."""
    if cancel is not None and cancel.is_set():
        raise Cancelled()


def chat_url(url: str) -> str:
    """The chat-completions endpoint for a base URL, a ``/v1`` URL or the endpoint itself."""
    url = url.rstrip("/")
    if url.endswith("/chat/completions"):
        return url
    if url.endswith("/v1"):
        return f"{url}/chat/completions"
    return f"{url}/v1/chat/completions"


@dataclass
class LLMConfig:
    url: str
    model: str = "default"
    api_key: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    token_budget: int = DEFAULT_TOKEN_BUDGET
    max_tokens: int = DEFAULT_MAX_TOKENS
    temperature: float = 0.0
    max_bytes: int = DEFAULT_MAX_BYTES

    @classmethod
    def from_env(cls) -> LLMConfig | None:
        """The configuration from ``PARASEARCH_LLM_*``; ``None`` when no URL is set."""
        s = settings()
        url = s.llm_url.strip()
        if not url:
            return None
        return cls(url=url, model=s.llm_model.strip() or "default", api_key=s.llm_api_key or None,
                   timeout=s.llm_timeout, token_budget=s.llm_token_budget, max_tokens=s.llm_max_tokens,
                   max_bytes=s.llm_max_bytes)


class LLMClient:
    """Chat completions over HTTP, whole or streamed (server-sent events)."""

    def __init__(self, config: LLMConfig, *, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self.url = chat_url(config.url)
        headers = {"Content-Type": "application/json"}
        if config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
        self._http = httpx.Client(headers=headers, timeout=httpx.Timeout(config.timeout), transport=transport)

    def close(self) -> None:
        self._http.close()

    def _payload(self, messages: list[dict[str, str]], stream: bool) -> dict[str, Any]:
        return {
            "model": self.config.model,
            "messages": messages,
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
            "stream": stream,
        }

    # -- reading a reply, bounded in time and size ----------------------------------------------------

    def _check(self, deadline: float, cancel: threading.Event | None) -> None:
        check_cancel(cancel)
        if time.monotonic() > deadline:
            raise LLMError("timeout", f"reply not finished after {self.config.timeout:g} s")

    def _chunks(self, r: httpx.Response, deadline: float, cancel: threading.Event | None,
                limit: int | None = None) -> Iterator[bytes]:
        """The body as it arrives, at most ``limit`` bytes (default: ``max_bytes``, else ``LLMError``), the
        deadline and ``cancel`` checked after every piece."""
        limit = self.config.max_bytes if limit is None else limit
        declared = r.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise LLMError("too large", f"the reply has {declared} bytes, more than PARASEARCH_LLM_MAX_BYTES={limit}")
        received = 0
        for chunk in r.iter_bytes():
            received += len(chunk)
            if received > limit:
                raise LLMError("too large", f"the reply passed PARASEARCH_LLM_MAX_BYTES={limit} bytes")
            self._check(deadline, cancel)
            yield chunk

    def _body(self, r: httpx.Response, deadline: float, cancel: threading.Event | None) -> bytes:
        return b"".join(self._chunks(r, deadline, cancel))

    def _error(self, r: httpx.Response, deadline: float, cancel: threading.Event | None) -> LLMError:
        """The error for an HTTP error status, with the start of its body (the rest is not read)."""
        head = bytearray()
        for chunk in self._chunks(r, deadline, cancel, limit=2**62):
            head += chunk
            if len(head) >= ERROR_BODY_BYTES:
                break
        return LLMError(f"HTTP {r.status_code}", head[:200].decode("utf-8", "replace"))

    def _lines(self, r: httpx.Response, deadline: float, cancel: threading.Event | None) -> Iterator[str]:
        """The lines of a streamed body (split here, so that the size limit holds inside a line too)."""
        buffer = bytearray()
        for chunk in self._chunks(r, deadline, cancel):
            buffer += chunk
            if b"\n" not in chunk:
                continue
            *lines, rest = bytes(buffer).split(b"\n")
            buffer = bytearray(rest)
            for line in lines:
                yield line.decode("utf-8", "replace")
        if buffer:
            yield bytes(buffer).decode("utf-8", "replace")

    # -- the calls ----------------------------------------------------------------------------------------

    def complete(self, messages: list[dict[str, str]], *, cancel: threading.Event | None = None) -> str:
        """The whole reply text, read within the deadline and the size limit."""
        deadline = time.monotonic() + self.config.timeout
        check_cancel(cancel)
        try:
            with self._http.stream("POST", self.url, json=self._payload(messages, False)) as r:
                if r.status_code >= 400:
                    raise self._error(r, deadline, cancel)
                body = self._body(r, deadline, cancel)
        except httpx.TimeoutException as exc:
            raise LLMError("timeout", str(exc)) from exc
        except httpx.HTTPError as exc:
            raise LLMError("connection error", str(exc)) from exc
        try:
            content = json.loads(body)["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise LLMError("malformed reply", body[:200].decode("utf-8", "replace")) from exc
        if not isinstance(content, str):
            raise LLMError("malformed reply", "message content is not text")
        return content

    def stream(self, messages: list[dict[str, str]], *, cancel: threading.Event | None = None
               ) -> Generator[str, None, None]:
        """The reply as it is written: pieces of text from ``stream: true`` SSE chunks, read within the deadline
        and the size limit. Closing the iterator closes the connection."""
        deadline = time.monotonic() + self.config.timeout
        check_cancel(cancel)
        try:
            with self._http.stream("POST", self.url, json=self._payload(messages, True)) as r:
                if r.status_code >= 400:
                    raise self._error(r, deadline, cancel)
                ctype = r.headers.get("content-type", "")
                if "text/event-stream" not in ctype:
                    # A server that ignores stream: true and answers with one JSON reply.
                    body = self._body(r, deadline, cancel)
                    try:
                        yield json.loads(body)["choices"][0]["message"]["content"]
                    except (ValueError, KeyError, IndexError, TypeError) as exc:
                        raise LLMError("malformed reply", body[:200].decode("utf-8", "replace")) from exc
                    return
                for line in self._lines(r, deadline, cancel):
                    line = line.strip()
                    if not line or line.startswith(":") or not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    try:
                        chunk = json.loads(data)
                        if "error" in chunk:
                            raise LLMError("model error", str(chunk["error"])[:200])
                        choices = chunk["choices"]
                        piece = choices[0].get("delta", {}).get("content") if choices else None
                    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
                        raise LLMError("malformed reply", data[:200]) from exc
                    if piece:
                        if not isinstance(piece, str):
                            raise LLMError("malformed reply", "delta content is not text")
                        yield piece
        except httpx.TimeoutException as exc:
            raise LLMError("timeout", str(exc)) from exc
        except httpx.HTTPError as exc:
            raise LLMError("connection error", str(exc)) from exc
