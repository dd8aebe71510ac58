"""A small client for any OpenAI-compatible ``/v1/chat/completions`` endpoint.

Configured from the environment (nothing is called unless ``PARASEARCH_LLM_URL`` is set):

* ``PARASEARCH_LLM_URL``      base URL (``http://host:8080``, ``http://host:8080/v1``) or the full
                               ``.../v1/chat/completions`` URL
* ``PARASEARCH_LLM_MODEL``    model name sent in the request (default ``default``)
* ``PARASEARCH_LLM_API_KEY``  sent as ``Authorization: Bearer ...`` when set
* ``PARASEARCH_LLM_TIMEOUT``  seconds: connecting, waiting for the reply, and between two streamed
                               chunks; also the limit on a whole reply (default 30)
* ``PARASEARCH_LLM_TOKEN_BUDGET``  tokens (cl100k_base) the prompt may use, passages included (default 3000)
* ``PARASEARCH_LLM_MAX_TOKENS``    tokens the model may write (default 400)

Every failure (timeout, connection refused, HTTP error status, a reply that is not the
expected JSON) is raised as :class:`LLMError` with a short ``reason`` ("timeout",
"HTTP 503", "malformed reply", ...) that callers show when they fall back.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from parasearch.config import env_float

DEFAULT_TIMEOUT = 30.0
DEFAULT_TOKEN_BUDGET = 3000
DEFAULT_MAX_TOKENS = 400


class LLMError(Exception):
    """The model could not give a usable reply; ``reason`` says why in a few words."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


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

    @classmethod
    def from_env(cls) -> LLMConfig | None:
        """The configuration from ``PARASEARCH_LLM_*``; ``None`` when no URL is set."""
        url = os.environ.get("PARASEARCH_LLM_URL", "").strip()
        if not url:
            return None
        return cls(
            url=url,
            model=os.environ.get("PARASEARCH_LLM_MODEL", "").strip() or "default",
            api_key=os.environ.get("PARASEARCH_LLM_API_KEY") or None,
            timeout=env_float("PARASEARCH_LLM_TIMEOUT", DEFAULT_TIMEOUT),
            token_budget=int(env_float("PARASEARCH_LLM_TOKEN_BUDGET", DEFAULT_TOKEN_BUDGET)),
            max_tokens=int(env_float("PARASEARCH_LLM_MAX_TOKENS", DEFAULT_MAX_TOKENS)),
        )


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

    def _payload(self, messages: list[dict], stream: bool) -> dict:
        return {
            "model": self.config.model,
            "messages": messages,
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
            "stream": stream,
        }

    def complete(self, messages: list[dict]) -> str:
        """The whole reply text."""
        try:
            r = self._http.post(self.url, json=self._payload(messages, False))
        except httpx.TimeoutException as exc:
            raise LLMError("timeout", str(exc)) from exc
        except httpx.HTTPError as exc:
            raise LLMError("connection error", str(exc)) from exc
        if r.status_code >= 400:
            raise LLMError(f"HTTP {r.status_code}", r.text[:200])
        try:
            content = r.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise LLMError("malformed reply", r.text[:200]) from exc
        if not isinstance(content, str):
            raise LLMError("malformed reply", "message content is not text")
        return content

    def stream(self, messages: list[dict]) -> Iterator[str]:
        """The reply as it is written: pieces of text from ``stream: true`` SSE chunks."""
        deadline = time.monotonic() + self.config.timeout
        try:
            with self._http.stream("POST", self.url, json=self._payload(messages, True)) as r:
                if r.status_code >= 400:
                    r.read()
                    raise LLMError(f"HTTP {r.status_code}", r.text[:200])
                ctype = r.headers.get("content-type", "")
                if "text/event-stream" not in ctype:
                    # A server that ignores stream: true and answers with one JSON reply.
                    r.read()
                    try:
                        yield r.json()["choices"][0]["message"]["content"]
                    except (ValueError, KeyError, IndexError, TypeError) as exc:
                        raise LLMError("malformed reply", r.text[:200]) from exc
                    return
                for line in r.iter_lines():
                    if time.monotonic() > deadline:
                        raise LLMError("timeout", f"reply not finished after {self.config.timeout:g} s")
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
