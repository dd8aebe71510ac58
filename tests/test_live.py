"""The server follows its index: the admin API's live updates, reload without restart, no request seeing two
generations, the old generation closed when its last request ends. Real uvicorn servers on loopback."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from indexer.build import build_index
from indexer.update import update_index
from parasearch import indexfiles
from parasearch.keys import create_key
from service.app import create_app
from service.index import LoadedIndex
from service.live import GENERATION_HEADER, wait_for_generation
from service.search import SearchEngine
from tests.conftest import REPO, LiveServer

NOTE = "# Note on birds\n\n1. The Committee discussed flamingo nesting sites in the delta.\n\n" \
       "2. The Committee adjourned.\n"


@pytest.fixture()
def live(tmp_path, encoder, monkeypatch):
    """A server following a fresh index of the sample, with an admin and a search key."""
    monkeypatch.setenv("PARASEARCH_RELOAD_SECONDS", "0.2")
    idx = tmp_path / "idx"
    assert build_index([REPO / "corpus"], idx, encoder=encoder, progress=False).published
    admin, _ = create_key(idx, "ops", ["admin"])
    search, _ = create_key(idx, "reader", ["search"])
    app = create_app(engine=SearchEngine(LoadedIndex(idx), encoder, None), follow=True)
    with LiveServer(app) as server:
        server.idx, server.app = idx, app
        server.admin = {"Authorization": f"Bearer {admin}"}
        server.search_key = {"X-API-Key": search}
        yield server


def upload(server, text=NOTE, name="note.md", meta=None, headers=None):
    meta = {"symbol": "TEST/NOTE/1", "title": "Note on birds", "date": "2026-12-01"} if meta is None else meta
    return httpx.post(f"{server.url}/admin/documents", headers=server.admin if headers is None else headers,
                      files={"file": (name, text.encode(), "text/markdown")},
                      data={"metadata": json.dumps(meta)}, timeout=60)


def search(server, q, **params):
    return httpx.get(f"{server.url}/search", params={"q": q, "k": 3, **params}, timeout=30)


def test_admin_adds_replaces_removes_live(live):
    first = httpx.get(f"{live.url}/health").json()["generation"]
    assert not [r for r in search(live, "flamingo nesting").json()["results"] if r["symbol"] == "TEST/NOTE/1"]
    r = upload(live)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["added"] == ["TEST/NOTE/1 (en)"] and body["base"] == first
    # the very next request already sees it, and says from which generation it answers
    r = search(live, "flamingo nesting")
    assert r.headers[GENERATION_HEADER] == body["generation"]
    assert r.json()["results"][0]["citation"] == "TEST/NOTE/1, para. 1"
    assert httpx.get(f"{live.url}/health").json()["generation"] == body["generation"]
    r = upload(live, NOTE.replace("flamingo nesting sites", "pelican migration routes"))
    assert r.status_code == 201 and r.json()["replaced"] == ["TEST/NOTE/1 (en)"]
    assert search(live, "pelican migration").json()["results"][0]["citation"] == "TEST/NOTE/1, para. 1"
    r = httpx.delete(f"{live.url}/admin/documents/TEST/NOTE/1", headers=live.admin)
    assert r.status_code == 200 and r.json()["removed"] == ["TEST/NOTE/1 (en)"]
    gone = httpx.get(f"{live.url}/documents/TEST/NOTE/1")
    # a 404 depends on the generation too: it says which one answered
    assert gone.status_code == 404 and gone.headers[GENERATION_HEADER] == r.json()["generation"]
    r = httpx.delete(f"{live.url}/admin/documents/TEST/NOTE/1", headers=live.admin)
    assert r.status_code == 404 and "no document" in r.json()["detail"]
    gens = httpx.get(f"{live.url}/admin/generations", headers=live.admin).json()
    assert [g["serving"] for g in gens][-1] and gens[-1]["kind"] == "update"
    assert gens[-1]["change"]["removed"] == ["TEST/NOTE/1 (en)"]


def test_admin_needs_an_admin_key(live):
    assert upload(live, headers={}).status_code == 401
    assert upload(live, headers=live.search_key).status_code == 403
    assert upload(live, headers={"X-API-Key": "ps_wrong"}).status_code == 403
    assert httpx.post(f"{live.url}/admin/reload").status_code == 401
    assert httpx.get(f"{live.url}/admin/generations", headers=live.search_key).status_code == 403


@pytest.mark.parametrize("name, text, meta, reason", [
    ("empty.pdf", "", None, "empty.pdf: "),
    ("broken.pdf", "%PDF-1.4 this is not a pdf", None, "broken.pdf: "),
    ("note.exe", "MZ", None, "unsupported file type .exe"),
    ("note.md", NOTE, {"symbol": "X/1", "date": "yesterday"}, "metadata: "),
    ("note.md", NOTE, {"symbol": "X/1", "color": "red"}, "metadata: "),
])
def test_bad_upload_is_422_and_publishes_nothing(live, name, text, meta, reason):
    before = indexfiles.current_name(live.idx)
    r = upload(live, text, name=name, meta=meta)
    assert r.status_code == 422, r.text
    assert reason in r.json()["detail"]
    assert indexfiles.current_name(live.idx) == before
    assert httpx.get(f"{live.url}/health").json()["generation"] == before


def test_upload_out_of_space_is_507_with_the_reason(live):
    """A write that fails for want of space (here a file size limit, set for the moment of the upload) is a 507
    saying so, not a 500; nothing is published, no ``gen-*.tmp`` is left, and the same upload works again."""
    import resource

    before = indexfiles.current_name(live.idx)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, hard))  # Python ignores SIGXFSZ: writes get EFBIG
    try:
        r = upload(live)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert r.status_code == 507, r.text
    assert "out of space" in r.json()["detail"] and "unchanged" in r.json()["detail"]
    assert indexfiles.current_name(live.idx) == before and not list(live.idx.glob("gen-*.tmp"))
    assert httpx.get(f"{live.url}/health").json()["generation"] == before
    assert upload(live).status_code == 201


def test_generation_switched_from_is_freed(live):
    """Once the server has switched to a new generation and no request uses the old one, nothing keeps it alive:
    its vectors and arrays are freed (the app used to keep the engine it was created with, for good)."""
    import gc
    import weakref

    first = weakref.ref(live.app.state.engine.index)
    assert search(live, "flamingo").status_code == 200
    assert upload(live).status_code == 201
    deadline = time.monotonic() + 10
    while first() is not None and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.1)
    assert first() is None, "the generation switched from is still referenced"


def test_follows_a_generation_published_by_another_process(live, encoder):
    """An update from the CLI (another writer) is noticed by the watcher and switched to without a restart."""
    from indexer.build import BuildReport, _parse_all

    note = live.idx.parent / "docs"
    note.mkdir()
    (note / "note.md").write_text(NOTE)
    (note / "manifest.jsonl").write_text(json.dumps({"file": "note.md", "symbol": "TEST/NOTE/2"}) + "\n")
    docs = _parse_all([note], BuildReport(index_dir=live.idx), progress=False)
    report = update_index(live.idx, add=docs, encoders=encoder)
    assert wait_for_generation(live.app.state.holder, report.generation, timeout=10)
    assert search(live, "flamingo nesting").json()["results"][0]["symbol"] == "TEST/NOTE/2"
    # a rollback is followed too, and POST /admin/reload says there is nothing new
    indexfiles.rollback(live.idx)
    assert wait_for_generation(live.app.state.holder, report.base, timeout=10)
    r = httpx.post(f"{live.url}/admin/reload", headers=live.admin)
    assert r.json() == {"generation": report.base, "switched": False}


def test_no_request_sees_two_generations(live):
    """Searches run while the note is added and removed 6 times: every answer is whole and from one generation
    (the note is in the results exactly when the generation that answered holds it), and old engines close."""
    holds: dict[str, bool] = {indexfiles.current_name(live.idx): False}
    errors, checked = [], [0]
    stop = threading.Event()

    def reader():
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                r = client.get(f"{live.url}/search", params={"q": "flamingo nesting sites", "k": 5})
                if r.status_code != 200:
                    errors.append(r.status_code)
                    continue
                gen = r.headers[GENERATION_HEADER]
                found = any(x["symbol"] == "TEST/NOTE/1" for x in r.json()["results"])
                if gen in holds and holds[gen] != found:
                    errors.append(f"{gen}: note found={found}")
                checked[0] += 1

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for _ in range(3):
            r = upload(live)
            assert r.status_code == 201
            holds[r.json()["generation"]] = True
            r = httpx.delete(f"{live.url}/admin/documents/TEST/NOTE/1", headers=live.admin)
            assert r.status_code == 200
            holds[r.json()["generation"]] = False
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors and checked[0] > 10
    holder = live.app.state.holder
    deadline = time.time() + 5
    # a request's lease ends after its response is sent, so the last ones may still be ending here
    while (holder.retired() or holder.leased()) and time.time() < deadline:
        time.sleep(0.05)
    assert holder.retired() == 0 and holder.leased() == 0 and holder.switches == 6


def test_answer_stream_survives_a_switch(live):
    """A streamed answer begun before a switch ends normally, from the generation it started on."""
    with httpx.stream("POST", f"{live.url}/answer/stream", json={"question": "How should child witnesses testify?"},
                      timeout=60) as r:
        gen = r.headers[GENERATION_HEADER]
        lines = r.iter_lines()
        first = next(lines)
        assert upload(live).status_code == 201
        rest = list(lines)
    assert first.startswith("event:") and any(line.startswith("event: done") for line in rest)
    assert gen != httpx.get(f"{live.url}/health").json()["generation"]
