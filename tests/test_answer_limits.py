"""Limits on the answer endpoints and bounded model replies (issue 13), over real HTTP on loopback.

* a per-client rate and a server-wide concurrency cap on ``POST /answer`` and ``/answer/stream`` (429 with
  ``Retry-After``, the setting named, counted in ``parasearch_rate_limited_total``);
* work stops when the client goes: the model stand-in sees its connection closed;
* the model's reply is bounded: an overall deadline (a server trickling bytes) and a size limit;
* ``split_sentences`` is linear.

The model is :class:`tests.test_llm.FakeLLM` (an OpenAI-compatible chat-completions server on a loopback port),
extended with replies that never end (a slow stream, a trickle) and a huge one; each reply records when its
connection was closed by the other end.
"""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from parasearch.keys import create_key
from service.limits import AnswerLimits, RateLimiter
from service.llm import LLMClient, LLMConfig, LLMError
from service.metrics import REGISTRY
from service.sentences import split_sentences
from tests.conftest import LiveServer
from tests.test_llm import FAMILY_Q, FakeLLM, serve_handler

ENDLESS_SECONDS = 30  # how long an endless reply goes on when nobody closes it


class SlowLLM(FakeLLM):
    """FakeLLM, plus models ``endless-stream`` (a word every 0.1 s, no full stop), ``trickle`` (a JSON reply,
    one byte every 0.2 s, ``Content-Length`` announced), ``huge`` (a 3 MB reply) and ``huge-stream`` (one 3 MB
    SSE line). ``closed``: set when a write finds the connection closed by the client."""

    closed = threading.Event()
    started = threading.Event()

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        length = int(self.headers["Content-Length"])
        raw = self.rfile.read(length)
        model = json.loads(raw)["model"]
        if model not in ("endless-stream", "trickle", "huge", "huge-stream"):
            self.rfile = _Replay(raw, self.rfile)  # FakeLLM reads the body itself
            super().do_POST()
            return
        SlowLLM.started.set()
        try:
            self._endless(model)
        except (BrokenPipeError, ConnectionResetError):
            SlowLLM.closed.set()

    def _endless(self, model: str) -> None:
        self.send_response(200)
        if model == "endless-stream":
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            deadline = time.monotonic() + ENDLESS_SECONDS
            while time.monotonic() < deadline:
                chunk = {"choices": [{"index": 0, "delta": {"content": " witnesses"}, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
                time.sleep(0.1)
        elif model == "trickle":
            body = b'{"choices": [{"message": {"content": "' + b"x" * 10_000 + b'"}}]}'
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            deadline = time.monotonic() + ENDLESS_SECONDS
            for i in range(len(body)):
                if time.monotonic() > deadline:
                    return
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
                time.sleep(0.2)
        elif model == "huge":  # chunked, no Content-Length: the client only learns the size by reading
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self._chunk(b'{"choices": [{"message": {"content": "')
            for _ in range(3 * 1024):
                self._chunk(b"y" * 1024)
            self._chunk(b'"}}]}')
            self._chunk(b"")
        else:  # huge-stream: one SSE line of 3 MB, never a newline until the end
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(b'data: {"choices": [{"delta": {"content": "')
            for _ in range(3 * 1024):
                self.wfile.write(b"z" * 1024)
            self.wfile.write(b'"}}]}\n\ndata: [DONE]\n\n')
        self.wfile.flush()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")


class _Replay:
    """The request body again, for FakeLLM's handler."""

    def __init__(self, data: bytes, rest) -> None:
        self.data, self.rest = data, rest

    def read(self, n: int = -1) -> bytes:
        out, self.data = self.data[:n] if n >= 0 else self.data, self.data[n:] if n >= 0 else b""
        return out


@pytest.fixture(scope="module")
def slow_llm():
    with serve_handler(SlowLLM) as url:
        yield url


@pytest.fixture
def fresh():
    """The stand-in's events cleared for one test."""
    SlowLLM.closed.clear()
    SlowLLM.started.clear()


def llm_client(url: str, model: str, timeout: float = 20.0, **kw) -> LLMClient:
    return LLMClient(LLMConfig(url=url, model=model, timeout=timeout, **kw))


def serve(engine, monkeypatch, **env: str) -> LiveServer:
    """A live server for a new app, created with the ``PARASEARCH_ANSWER_*`` settings given, that trusts no proxy
    (``X-Forwarded-For`` from loopback is honoured only where ``FORWARDED_ALLOW_IPS`` names it, as uvicorn does)."""
    from service.app import create_app

    for name in ("RATE", "BURST", "CONCURRENCY", "QUEUE_SECONDS"):
        monkeypatch.delenv(f"PARASEARCH_ANSWER_{name}", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(f"PARASEARCH_ANSWER_{name}", value)
    app = create_app(engine=engine)
    server = LiveServer(app, forwarded_allow_ips="192.0.2.1")  # a proxy elsewhere: loopback is a plain client
    server.app = app
    return server


def refused(route: str, reason: str) -> float:
    return REGISTRY.get_sample_value("parasearch_rate_limited_total", {"route": route, "reason": reason}) or 0.0


def assert_429(r: httpx.Response, setting: str) -> int:
    assert r.status_code == 429, r.text
    assert setting in r.json()["detail"], r.json()
    retry = r.headers["Retry-After"]
    assert retry.isdigit() and int(retry) >= 1, retry
    return int(retry)


def first_event(lines) -> str:
    """The name of the next event from ``lines`` (one ``iter_lines()`` iterator, kept open: dropping it closes
    the connection)."""
    for line in lines:
        if line.startswith("event:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("the stream ended without an event")


# -- the rate limit ---------------------------------------------------------------------------------


def test_rate_limit_per_client(ctoc_engine, monkeypatch, tmp_path):
    """A burst of 2 at 6 a minute: the third answer (either route; a forged X-Forwarded-For does not help) is a 429
    naming the setting, with Retry-After about the 10 s one token takes; a client with its own known API key
    has its own bucket, a made-up key does not."""
    server = serve(ctoc_engine, monkeypatch, RATE="6", BURST="2")
    alice, _ = create_key(tmp_path, "alice", ["search"])
    before = refused("/answer", "rate"), refused("/answer/stream", "rate")
    with server:
        server.app.state.index_dir = tmp_path  # keys for this app only (the lifespan set the engine's)
        body = {"question": FAMILY_Q}
        for _ in range(2):
            assert httpx.post(f"{server.url}/answer", json=body, timeout=60).status_code == 200
        r = httpx.post(f"{server.url}/answer", json=body, timeout=60, headers={"X-Forwarded-For": "10.9.8.7"})
        retry = assert_429(r, "PARASEARCH_ANSWER_RATE")
        assert 5 <= retry <= 10, retry
        assert_429(httpx.post(f"{server.url}/answer/stream", json=body, timeout=60), "PARASEARCH_ANSWER_RATE")
        made_up = {"Authorization": "Bearer not-a-key-anyone-issued"}
        assert_429(httpx.post(f"{server.url}/answer", json=body, headers=made_up, timeout=60),
                   "PARASEARCH_ANSWER_RATE")
        r = httpx.post(f"{server.url}/answer", json=body, headers={"Authorization": f"Bearer {alice}"}, timeout=60)
        assert r.status_code == 200, r.text
        r = httpx.post(f"{server.url}/answer", json={"question": "  "}, timeout=60)
        assert r.status_code == 400  # a bad request is refused for what it is, and costs no token
        assert "parasearch_rate_limited_total" in httpx.get(f"{server.url}/metrics").text
    assert refused("/answer", "rate") == before[0] + 2
    assert refused("/answer/stream", "rate") == before[1] + 1


def test_rate_limit_off_and_openapi(ctoc_engine, monkeypatch):
    """``PARASEARCH_ANSWER_RATE=0`` disables the rate; both routes document the 429."""
    server = serve(ctoc_engine, monkeypatch, RATE="0", BURST="1")
    with server:
        for _ in range(3):
            assert httpx.post(f"{server.url}/answer", json={"question": FAMILY_Q}, timeout=60).status_code == 200
        spec = httpx.get(f"{server.url}/openapi.json").json()
    for path in ("/answer", "/answer/stream"):
        doc = spec["paths"][path]["post"]["responses"]["429"]
        assert "Retry-After" in doc["headers"] and "PARASEARCH_ANSWER_CONCURRENCY" in doc["description"]


def test_bucket_table_is_bounded():
    """Idle clients' buckets are dropped (refilled: the same as new), and never more than ``max_clients``."""
    limiter = RateLimiter(60, 5, max_clients=100)  # a full bucket again after 5 s
    for i in range(1000):
        limiter.take(f"ip:10.0.{i // 256}.{i % 256}", now=0.0)
    assert len(limiter) == 100
    limiter.take("ip:late", now=6.0)  # everyone else idle past the refill time
    assert len(limiter) == 1
    for _ in range(4):  # the rest of its burst of 5
        limiter.take("ip:late", now=6.0)
    with pytest.raises(Exception, match="PARASEARCH_ANSWER_RATE"):
        limiter.take("ip:late", now=6.0)


def test_limits_from_env(monkeypatch):
    monkeypatch.setenv("PARASEARCH_ANSWER_RATE", "12")
    monkeypatch.setenv("PARASEARCH_ANSWER_CONCURRENCY", "3")
    monkeypatch.setenv("PARASEARCH_ANSWER_QUEUE_SECONDS", "0.5")
    limits = AnswerLimits.from_env()
    assert (limits.rate.rate, limits.concurrency, limits.queue_seconds) == (12, 3, 0.5)


# -- the concurrency cap ----------------------------------------------------------------------------


def test_concurrency_cap_holds_the_slot_for_the_whole_stream(ctoc_engine, monkeypatch, slow_llm, fresh):
    """One answer at a time: while a stream is open (its model still writing, well after its first event) another
    answer waits ``PARASEARCH_ANSWER_QUEUE_SECONDS`` and is refused; once the stream's client goes, the slot is
    free again and a queued answer gets it."""
    server = serve(ctoc_engine, monkeypatch, RATE="0", CONCURRENCY="1", QUEUE_SECONDS="1")
    server.app.state.llm = llm_client(slow_llm, "endless-stream")
    before = refused("/answer", "concurrency")
    with server, httpx.Client(timeout=60) as http:
        with http.stream("POST", f"{server.url}/answer/stream", json={"question": FAMILY_Q}) as stream:
            assert stream.status_code == 200
            lines = stream.iter_lines()
            assert first_event(lines) == "passages"
            assert SlowLLM.started.wait(10)  # the model is writing
            t0 = time.monotonic()
            r = httpx.post(f"{server.url}/answer", json={"question": FAMILY_Q}, timeout=60)
            assert time.monotonic() - t0 >= 0.9  # it waited for a slot first
            assert_429(r, "PARASEARCH_ANSWER_CONCURRENCY")
            assert_429(httpx.post(f"{server.url}/answer/stream", json={"question": FAMILY_Q}, timeout=60),
                       "PARASEARCH_ANSWER_CONCURRENCY")
        server.app.state.llm = None  # the next answer is extractive
        r = httpx.post(f"{server.url}/answer", json={"question": FAMILY_Q}, timeout=60)
        assert r.status_code == 200, r.text
    assert refused("/answer", "concurrency") == before + 1


# -- work stops when the client goes ----------------------------------------------------------------


def test_stream_disconnect_stops_the_model(ctoc_engine, monkeypatch, slow_llm, fresh):
    """The client of ``/answer/stream`` goes while the model is still writing: the model's connection is closed
    within moments, not when its reply ends (ENDLESS_SECONDS) or times out."""
    server = serve(ctoc_engine, monkeypatch, RATE="0", CONCURRENCY="1", QUEUE_SECONDS="3")
    server.app.state.llm = llm_client(slow_llm, "endless-stream")
    with server:
        with httpx.Client(timeout=60) as http, \
                http.stream("POST", f"{server.url}/answer/stream", json={"question": FAMILY_Q}) as stream:
            lines = stream.iter_lines()
            assert first_event(lines) == "passages"
            assert SlowLLM.started.wait(10)
        gone = time.monotonic()
        assert SlowLLM.closed.wait(5), "the model's stream was still read after the client had gone"
        assert time.monotonic() - gone < 5
        server.app.state.llm = None
        assert httpx.post(f"{server.url}/answer", json={"question": FAMILY_Q}, timeout=60).status_code == 200


def test_answer_disconnect_stops_the_model(ctoc_engine, monkeypatch, slow_llm, fresh):
    """The client of ``POST /answer`` gives up while the model trickles its reply: the model's connection is
    closed within moments and the slot is free at once."""
    server = serve(ctoc_engine, monkeypatch, RATE="0", CONCURRENCY="1", QUEUE_SECONDS="2")
    server.app.state.llm = llm_client(slow_llm, "trickle", timeout=25)
    with server:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{server.url}/answer", json={"question": FAMILY_Q}, timeout=httpx.Timeout(60, read=2))
        gone = time.monotonic()
        assert SlowLLM.started.is_set()
        assert SlowLLM.closed.wait(5), "the model's reply was still read after the client had gone"
        assert time.monotonic() - gone < 5
        server.app.state.llm = None
        assert httpx.post(f"{server.url}/answer", json={"question": FAMILY_Q}, timeout=60).status_code == 200


# -- bounded replies --------------------------------------------------------------------------------


def test_trickled_reply_is_cut_at_the_deadline(slow_llm, fresh):
    """A byte every 0.2 s never trips httpx's per-read timeout; the overall deadline (the timeout, 1 s) does."""
    for call in ("complete", "stream"):
        llm = llm_client(slow_llm, "trickle", timeout=1)
        t0 = time.monotonic()
        with pytest.raises(LLMError) as err:
            reply = llm.complete([]) if call == "complete" else "".join(llm.stream([]))
            raise AssertionError(f"a reply of {len(reply)} characters")
        took = time.monotonic() - t0
        assert err.value.reason == "timeout", (call, err.value)
        assert took < 3, (call, took)
        llm.close()


def test_answer_with_a_trickling_model_falls_back_in_time(ctoc_engine, monkeypatch, slow_llm, fresh):
    server = serve(ctoc_engine, monkeypatch, RATE="0")
    server.app.state.llm = llm_client(slow_llm, "trickle", timeout=1)
    with server:
        t0 = time.monotonic()
        r = httpx.post(f"{server.url}/answer", json={"question": FAMILY_Q}, timeout=60)
        took = time.monotonic() - t0
    assert r.status_code == 200 and r.json()["method"] == "extractive (llm failed: timeout)", r.text
    assert r.json()["found"]
    assert took < 5, took


def test_huge_reply_is_cut_off(ctoc_engine, monkeypatch, slow_llm, fresh):
    """3 MB against the 1 MB default (and a lower PARASEARCH_LLM_MAX_BYTES): LLMError("too large"), whole or
    streamed (one endless line included); /answer falls back to the extractive answer."""
    for model, call in (("huge", "complete"), ("huge", "stream"), ("huge-stream", "stream")):
        llm = llm_client(slow_llm, model)
        assert llm.config.max_bytes == 1_000_000
        with pytest.raises(LLMError) as err:
            llm.complete([]) if call == "complete" else "".join(llm.stream([]))
        assert err.value.reason == "too large", (model, call, err.value)
        llm.close()
    monkeypatch.setenv("PARASEARCH_LLM_URL", slow_llm)
    monkeypatch.setenv("PARASEARCH_LLM_MODEL", "huge")
    monkeypatch.setenv("PARASEARCH_LLM_MAX_BYTES", "20000")
    assert LLMConfig.from_env().max_bytes == 20000
    server = serve(ctoc_engine, monkeypatch, RATE="0")
    with server:
        r = httpx.post(f"{server.url}/answer", json={"question": FAMILY_Q}, timeout=60)
    assert r.status_code == 200 and r.json()["method"] == "extractive (llm failed: too large)", r.text


# -- split_sentences is linear --------------------------------------------------------------------

SENTENCE = ("The Working Group recommended, as in para. 5 of document No. 3, that States consider the protection "
            "of witnesses (e.g. their families) and report to Mr. Smith. ")


def _split_seconds(n: int) -> float:
    text = SENTENCE * n
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        spans = split_sentences(text)
        best = min(best, time.perf_counter() - t0)
    assert len(spans) == n
    return best


def test_split_sentences_is_linear():
    """4 times the sentences take about 4 times as long (the quadratic version: about 18 times, 28 s for
    2,000 sentences), and 2,000 sentences well under a second."""
    small, large = _split_seconds(500), _split_seconds(2000)
    assert large < 1.0, large
    assert large / small < 8, (small, large)
