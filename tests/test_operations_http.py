"""Operating ``parasearch serve``: limits, errors, request ids, logs, metrics, OpenSearch and offline API docs.

Everything runs over real HTTP on loopback (uvicorn ``LiveServer`` over the built-in sample, ``ctoc_engine``);
requests a normal client cannot make (a declared 300 MB body, a chunked body that never ends, bytes that are
not UTF-8) go over a raw socket. The query cache's race is shown on the engine itself, with many threads.
"""

from __future__ import annotations

import calendar
import io
import json
import logging
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from contextlib import contextmanager

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import CHROMIUM, REPO, LiveServer, free_port

QUESTION = "video recording of child witnesses"
SECRET = "zebra crossings of witness protection"  # a query text that must not reach the logs
ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")


def make_app(engine, monkeypatch, **env: str):
    """The service's app over ``engine`` with ``PARASEARCH_*`` settings ``env`` (and no others of this file's)."""
    from service.app import create_app

    for name in ("PARASEARCH_MAX_BODY_BYTES", "PARASEARCH_LOG_QUERIES", "PARASEARCH_PUBLIC_URL",
                 "PARASEARCH_LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return create_app(engine=engine)


@pytest.fixture(scope="module")
def server(ctoc_engine):
    with pytest.MonkeyPatch.context() as mp:
        app = make_app(ctoc_engine, mp)

    def boom() -> dict:  # an unexpected error inside a request, after a log line written while handling it
        logging.getLogger("parasearch.test").warning("about to fail")
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom, methods=["GET"])
    with LiveServer(app) as live:
        yield live


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


def raw_request(port: int, head: bytes, body: bytes = b"", timeout: float = 10) -> tuple[int, dict, bytes]:
    """Send ``head`` (request line and headers) and ``body`` as they are; the status, headers and body read back."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head + b"\r\n" + body)
        return read_response(s)


def read_response(s: socket.socket) -> tuple[int, dict, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed after {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return int(lines[0].split()[1]), headers, rest[:length]


def metrics(client) -> dict[tuple[str, tuple], float]:
    """``/metrics`` parsed: ``{(sample name, sorted labels): value}``."""
    r = client.get("/metrics")
    assert r.status_code == 200
    from prometheus_client import CONTENT_TYPE_LATEST

    assert r.headers["content-type"] == CONTENT_TYPE_LATEST
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def sample(values: dict, name: str, **labels: str) -> float:
    return values.get((name, tuple(sorted(labels.items()))), 0.0)


@contextmanager
def captured_logs(fmt: str = "json"):
    """The service's log lines (logger ``parasearch``, INFO and up) as the service formats them."""
    from service.observability import log_handler

    stream = io.StringIO()
    handler = log_handler(stream, fmt)
    logger = logging.getLogger("parasearch")
    old = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)


def access_records(stream: io.StringIO) -> list[dict]:
    return [r for r in map(json.loads, stream.getvalue().splitlines()) if r["logger"] == "parasearch.access"]


# -- 1. request body size ----------------------------------------------------------------------------

def test_a_body_declared_over_the_limit_is_refused_before_it_is_read(server):
    """A 300 MB Content-Length is answered 413 at once, having sent 64 KB of it: nothing waits for the rest."""
    head = (b"POST /answer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 300000000\r\n")
    status, headers, body = raw_request(server.port, head, b'{"question": "' + b"a" * 65536, timeout=10)
    assert status == 413
    assert "1048576" in json.loads(body)["detail"]
    assert ID_PATTERN.fullmatch(headers["x-request-id"])


def test_a_streamed_body_is_cut_off_as_it_arrives(server):
    """A chunked body (no Content-Length) is counted as it arrives: 413 once past the limit, long before its end."""
    chunk = b"a" * 65536
    sent = 0
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(b"POST /answer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        first = b'{"question": "witnesses", "pad": "'
        s.sendall(b"%x\r\n%s\r\n" % (len(first), first))
        while sent < 64 * 1024 * 1024 and not select.select([s], [], [], 0)[0]:
            try:
                s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:
                break
            sent += len(chunk)
        else:
            if sent >= 64 * 1024 * 1024:  # the server read it all: end the body and take its answer
                s.sendall(b'3\r\n"}\n\r\n0\r\n\r\n')
        status, _, body = read_response(s)
    assert status == 413, body[:200]
    assert "detail" in json.loads(body)
    assert sent < 16 * 1024 * 1024  # answered while the body was still coming: the rest was never read


def test_the_body_limit_is_a_setting(ctoc_engine, monkeypatch):
    with LiveServer(make_app(ctoc_engine, monkeypatch, PARASEARCH_MAX_BODY_BYTES="300")) as live:
        small = {"question": QUESTION, "k": 2}
        big = {"question": QUESTION, "k": 2, "padding": "x" * 400}  # unknown fields are ignored, but still sent
        assert httpx.post(live.url + "/answer", json=small, timeout=60).status_code == 200
        r = httpx.post(live.url + "/answer", json=big, timeout=60)
        assert r.status_code == 413 and "300" in r.json()["detail"]


# -- 2. validation errors and echoed input ----------------------------------------------------------

@pytest.mark.parametrize("path", ["/answer", "/answer/stream"])
def test_a_lone_surrogate_in_a_question_is_a_422_that_does_not_echo_it(server, path):
    body = b'{"question": "\\ud800 x"}'  # the JSON escape, as a client would send it
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n").encode()
    status, headers, out = raw_request(server.port, head, body)
    assert status == 422, out[:300]
    detail = json.loads(out)["detail"]
    assert detail and all(set(e) == {"loc", "msg", "type"} for e in detail), detail
    assert detail[0]["loc"] == ["body", "question"]
    assert ID_PATTERN.fullmatch(headers["x-request-id"])


def test_validation_errors_never_echo_the_whole_input(client):
    r = client.post("/answer", json={"question": "witness " * 120_000})  # 960 kB: under the body limit
    assert r.status_code == 422
    assert len(r.content) < 2000, len(r.content)
    assert r.json()["detail"][0]["type"] == "string_too_long"
    r = client.get("/search", params={"q": QUESTION, "k": "ten" * 10_000})
    assert r.status_code == 422 and len(r.content) < 2000


def test_other_errors_echo_at_most_a_short_excerpt(client):
    r = client.get("/documents/" + "X" * 5000)
    assert r.status_code == 404 and len(r.json()["detail"]) < 300, len(r.content)
    r = client.get("/search", params={"q": QUESTION, "date_from": "2" * 5000})
    assert r.status_code == 400 and len(r.json()["detail"]) < 300, len(r.content)


def test_bytes_that_are_not_utf8_in_the_query_string_are_a_400(server):
    # The UTF-8 form of the lone surrogate U+D800, percent-encoded.
    for target in (b"/search?q=%ED%A0%80%20x", b"/search?q=witness&body=%ED%A0%80", b"/documents/%ED%A0%80"):
        status, _, body = raw_request(server.port, b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                      b"Connection: close\r\n")
        assert status == 400, (target, body[:200])
        assert "UTF-8" in json.loads(body)["detail"]


# -- 3. the query-embedding cache -------------------------------------------------------------------

def test_the_query_cache_is_safe_under_many_threads(ctoc_index, encoder, monkeypatch):
    """Sixteen threads on a two-entry cache: every vector is the query's own, no thread ever fails."""
    import numpy as np

    import service.search as search_module
    from service.index import LoadedIndex
    from service.search import SearchEngine

    engine = SearchEngine(LoadedIndex(ctoc_index), encoder)
    queries = [f"witness protection measure {i}" for i in range(4)]
    expected = [[enc.encode_queries([q], batch_size=1)[0] for q in queries] for enc in engine.encoders]
    monkeypatch.setattr(search_module, "QUERY_CACHE_SIZE", 2)
    errors: list[BaseException] = []
    wrong: list[tuple[int, int]] = []
    calls = 0
    lock = threading.Lock()

    def hammer(seed: int) -> None:
        nonlocal calls
        n = 0
        try:
            for i in range(300):
                qi, arm = (seed + i * 7) % len(queries), i % len(engine.encoders)
                vec = engine.embed_query(queries[qi], arm)
                n += 1
                if not np.allclose(vec, expected[arm][qi], atol=1e-5):
                    wrong.append((arm, qi))
        except BaseException as exc:  # noqa: BLE001 (any failure in a thread is the finding)
            errors.append(exc)
        with lock:
            calls += n

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: the race shows at once
    try:
        threads = [threading.Thread(target=hammer, args=(s,)) for s in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(switch)
    assert not errors, repr(errors[:3])
    assert not wrong
    assert calls == 16 * 300
    assert len(engine.cached_queries()) <= 2


def test_query_cache_hits_and_misses_are_counted(ctoc_index, encoder, client):
    from service.index import LoadedIndex
    from service.search import SearchEngine

    engine = SearchEngine(LoadedIndex(ctoc_index), encoder)
    before = metrics(client)
    for _ in range(3):
        for arm in range(len(engine.encoders)):
            engine.embed_query("a question asked three times", arm)
    engine.embed_queries(["a question asked three times", "and one more"])
    after = metrics(client)
    for built in engine.index.models:
        labels = {"model": built["name"]}
        hits = sample(after, "parasearch_query_cache_hits_total", **labels) - \
            sample(before, "parasearch_query_cache_hits_total", **labels)
        misses = sample(after, "parasearch_query_cache_misses_total", **labels) - \
            sample(before, "parasearch_query_cache_misses_total", **labels)
        assert (hits, misses) == (3, 2), built["name"]


# -- 4. request ids, logs, metrics ------------------------------------------------------------------

def test_request_ids_are_taken_from_the_client_or_made(client):
    assert client.get("/health", headers={"X-Request-ID": "req-42.a_B"}).headers["x-request-id"] == "req-42.a_B"
    for bad in ("x" * 65, "has space", "semi;colon", "ünïcode"):
        rid = client.get("/health", headers={"X-Request-ID": bad.encode()}).headers["x-request-id"]
        assert rid != bad and ID_PATTERN.fullmatch(rid), rid
    ids = {client.get("/health").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3 and all(ID_PATTERN.fullmatch(i) for i in ids)
    for r in (client.get("/documents/NO/SUCH/DOC"), client.get("/search"), client.get("/nowhere")):
        assert r.status_code in (404, 422) and ID_PATTERN.fullmatch(r.headers["x-request-id"])


def test_an_unexpected_error_is_a_plain_500_with_its_request_id_in_the_logs(client):
    with captured_logs() as stream:
        # uvicorn closes a connection whose app raised (after the 500 is sent): not one to keep alive
        r = client.get("/boom", headers={"X-Request-ID": "boom-1", "Connection": "close"})
    assert r.status_code == 500 and r.json() == {"detail": "internal error"}
    assert r.headers["x-request-id"] == "boom-1"
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    inside = [x for x in records if x["message"] == "about to fail"]
    assert inside and inside[0]["request_id"] == "boom-1"  # logged in the request's worker thread
    assert any(x["level"] == "ERROR" and x["request_id"] == "boom-1" for x in records)
    access = [x for x in records if x["logger"] == "parasearch.access"]
    assert access and access[0]["status"] == 500 and access[0]["request_id"] == "boom-1"


def test_one_access_line_per_request_without_the_query_text(client):
    with captured_logs() as stream:
        r = client.get("/search", params={"q": SECRET, "k": 2}, headers={"X-Request-ID": "access-1"})
        a = client.post("/answer", json={"question": SECRET, "k": 2}, headers={"X-Request-ID": "access-2"})
    assert r.status_code == 200 and a.status_code == 200
    assert "zebra" not in stream.getvalue()
    records = access_records(stream)
    assert [(x["method"], x["path"], x["status"], x["request_id"]) for x in records] == [
        ("GET", "/search", 200, "access-1"), ("POST", "/answer", 200, "access-2")]
    assert all(x["ms"] > 0 and x["level"] == "INFO" and "time" in x for x in records)
    with captured_logs("text") as text:
        client.get("/search", params={"q": SECRET}, headers={"X-Request-ID": "access-3"})
    line = text.getvalue().strip()
    assert "access-3" in line and "GET /search 200" in line and "zebra" not in line


def test_the_query_text_is_logged_only_when_asked(ctoc_engine, monkeypatch):
    with LiveServer(make_app(ctoc_engine, monkeypatch, PARASEARCH_LOG_QUERIES="1")) as live:
        with captured_logs() as stream:
            httpx.get(live.url + "/search", params={"q": SECRET, "k": 2}, timeout=60)
            httpx.post(live.url + "/answer", json={"question": SECRET + " again", "k": 2}, timeout=60)
    assert [x.get("query") for x in access_records(stream)] == [SECRET, SECRET + " again"]


def test_metrics_by_route_template(client, ctoc_engine):
    before = metrics(client)
    symbol = "CTOC/COP/WG.2/2013/5"
    assert client.get(f"/documents/{symbol}").status_code == 200
    assert client.get(f"/documents/{symbol}/paragraphs/9").status_code == 200
    assert client.get("/documents/NO/SUCH").status_code == 404
    assert client.get("/search", params={"q": QUESTION, "k": 3, "mode": "bm25"}).status_code == 200
    assert client.post("/answer", json={"question": QUESTION, "k": 3}).status_code == 200
    assert client.post("/answer/stream", json={"question": QUESTION, "k": 3}).status_code == 200
    after = metrics(client)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("parasearch_requests_total", route="/documents/{symbol}", method="GET", status="200") == 1
    assert delta("parasearch_requests_total", route="/documents/{symbol}", method="GET", status="404") == 1
    assert delta("parasearch_requests_total", route="/documents/{symbol}/paragraphs/{para}", method="GET",
                 status="200") == 1
    assert delta("parasearch_request_seconds_count", route="/documents/{symbol}", method="GET") == 2
    assert delta("parasearch_requests_total", route="/answer/stream", method="POST", status="200") == 1
    routes = {dict(labels).get("route") for (_, labels) in after}
    assert not [r for r in routes if r and ("CTOC" in r or "NO/SUCH" in r)], routes  # templates, not paths
    assert delta("parasearch_search_seconds_count", mode="bm25") == 1
    assert delta("parasearch_answer_seconds_count", method="extractive") == 2
    m = ctoc_engine.index.manifest
    assert sample(after, "parasearch_index_documents") == m["counts"]["documents"]
    assert sample(after, "parasearch_index_paragraphs") == m["counts"]["paragraphs"]
    built = calendar.timegm(time.strptime(m["built_at"], "%Y-%m-%dT%H:%M:%SZ"))
    assert abs(sample(after, "parasearch_index_built_timestamp_seconds") - built) < 2
    names = {name for name, _ in after}
    assert "parasearch_rate_limited_total" in client.get("/metrics").text
    assert {"parasearch_query_cache_hits_total", "parasearch_query_cache_misses_total"} <= names


# -- 4. OpenSearch and API docs ---------------------------------------------------------------------

def opensearch_urls(xml: bytes) -> dict[str, str]:
    root = ET.fromstring(xml)
    ns = {"os": "http://a9.com/-/spec/opensearch/1.1/"}
    urls = {u.get("type"): u.get("template") for u in root.findall("os:Url", ns)}
    urls["image"] = root.find("os:Image", ns).text
    urls["form"] = root.find("{http://www.mozilla.org/2006/browser/search/}SearchForm").text
    return urls


def test_opensearch_never_reflects_the_host_header(client, server):
    r = client.get("/opensearch.xml", headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
    assert r.status_code == 200 and b"evil.example" not in r.content
    urls = opensearch_urls(r.content)
    assert urls["text/html"] == f"http://127.0.0.1:{server.port}/?q={{searchTerms}}"
    assert all(u.startswith(f"http://127.0.0.1:{server.port}/") for u in urls.values()), urls
    age = re.search(r"max-age=(\d+)", r.headers["cache-control"])
    assert age is None or int(age.group(1)) <= 300, r.headers["cache-control"]


def test_opensearch_uses_the_public_url(ctoc_engine, monkeypatch):
    public = "https://search.example.org/parasearch"
    with LiveServer(make_app(ctoc_engine, monkeypatch, PARASEARCH_PUBLIC_URL=public + "/")) as live:
        r = httpx.get(live.url + "/opensearch.xml", headers={"Host": "evil.example"})
    urls = opensearch_urls(r.content)
    assert urls["text/html"] == public + "/?q={searchTerms}"
    assert urls["application/opensearchdescription+xml"] == public + "/opensearch.xml"
    assert urls["form"] == public + "/" and urls["image"].startswith(public + "/static/favicon.svg")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
@pytest.mark.parametrize("page_path, ready", [("/docs", ".opblock"), ("/redoc", "[data-section-id^='operation/']")])
def test_api_docs_render_offline_under_the_sites_csp(server, browser, page_path, ready):
    from service.web import CSP, REDOC_CSP

    context = browser.new_context()
    page = context.new_page()
    outside: list[str] = []
    problems: list[str] = []

    def only_this_service(route) -> None:
        if route.request.url.startswith(server.url + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_service)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None)
    try:
        response = page.goto(server.url + page_path)
        assert response.headers.get("content-security-policy") == (REDOC_CSP if page_path == "/redoc" else CSP)
        page.wait_for_selector(ready, timeout=30_000)
        assert page.locator(ready).count() >= 5
        text = page.inner_text("body")
        assert "/answer" in text and "/search" in text
    finally:
        context.close()
    assert not outside, outside
    assert not problems, problems


@pytest.mark.parametrize("page_path", ["/docs", "/redoc"])
def test_docs_assets_are_served_by_the_service(client, page_path):
    page = client.get(page_path).text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and not [a for a in assets if a.startswith(("http:", "https:", "//"))], assets
    for asset in assets:
        r = client.get("/" + asset)
        assert r.status_code == 200, asset


# -- cmd_serve: uvicorn's access log off, our own lines, JSON on request ----------------------------

def test_serve_writes_json_logs_with_one_access_line_and_no_query_text(ctoc_index):
    port = free_port()
    env = {**os.environ, "PARASEARCH_LOG_FORMAT": "json"}
    env.pop("PARASEARCH_LOG_QUERIES", None)
    proc = subprocess.Popen([sys.executable, "-m", "parasearch.cli", "serve", "--index", str(ctoc_index),
                             "--port", str(port)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.time() < deadline, "serve did not start"
            time.sleep(0.2)
        r = httpx.get(f"http://127.0.0.1:{port}/search", params={"q": SECRET, "k": 2},
                      headers={"X-Request-ID": "serve-1"}, timeout=60)
        assert r.status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    lines = [line for line in out.splitlines() if line.strip()]
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON log line: {line!r}\n{out}")
    assert "zebra" not in out
    access = [x for x in records if x["logger"] == "parasearch.access" and x["path"] == "/search"]
    assert len(access) == 1 and access[0]["status"] == 200 and access[0]["request_id"] == "serve-1", out
    assert not [x for x in records if x["logger"] == "uvicorn.access"], out
    assert any(x["logger"].startswith("uvicorn") for x in records), out  # uvicorn's own lines are JSON too
