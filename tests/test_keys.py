"""API keys: ``parasearch keys create|list|revoke`` on a real index directory, and the service's admin and search
checks over real HTTP (a running server that sees a new or revoked key without restarting)."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import httpx
import pytest
from fastapi import Depends

from parasearch.cli import main
from parasearch.keys import KEY_FILE
from service.auth import require_admin
from tests.conftest import REPO, LiveServer


def create(capsys, index: Path, name: str, *scopes: str) -> str:
    argv = ["keys", "create", name, "--index", str(index)]
    for s in scopes:
        argv += ["--scope", s]
    assert main(argv) == 0
    out = capsys.readouterr().out
    return out.rstrip("\n").splitlines()[-1]


# -- the command line ------------------------------------------------------------------------------


def test_create_prints_the_key_once_and_stores_only_its_hash(tmp_path, capsys):
    key = create(capsys, tmp_path, "ops")
    assert key.startswith("ps_") and len(key) >= 40 and " " not in key
    path = tmp_path / KEY_FILE
    text = path.read_text()
    assert key not in text and key[3:] not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    (entry,) = json.loads(text)["keys"]
    assert entry["name"] == "ops" and entry["scopes"] == ["admin"]  # admin by default
    assert entry["sha256"] == hashlib.sha256(key.encode()).hexdigest()
    assert entry["created"].endswith("Z") and entry["created"][:2] == "20"
    # Another key is another random value, and the first one is still there.
    other = create(capsys, tmp_path, "reader", "search")
    assert other != key
    assert [(k["name"], k["scopes"]) for k in json.loads(path.read_text())["keys"]] == [("ops", ["admin"]),
                                                                                       ("reader", ["search"])]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_taken_name_is_refused(tmp_path, capsys):
    create(capsys, tmp_path, "ops")
    before = (tmp_path / KEY_FILE).read_text()
    assert main(["keys", "create", "ops", "--index", str(tmp_path), "--scope", "search"]) == 2
    captured = capsys.readouterr()
    assert "already exists" in captured.err and "ops" in captured.err and "ps_" not in captured.out
    assert (tmp_path / KEY_FILE).read_text() == before


def test_list_shows_names_scopes_and_times_never_keys(tmp_path, capsys):
    admin = create(capsys, tmp_path, "ops")
    both = create(capsys, tmp_path, "ci-bot", "search", "admin")
    assert main(["keys", "list", "--index", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:]}
    created = {k["name"]: k["created"] for k in json.loads((tmp_path / KEY_FILE).read_text())["keys"]}
    assert rows == {"ops": ["admin", created["ops"]], "ci-bot": ["search,admin", created["ci-bot"]]}
    for key in (admin, both):
        assert key not in out and hashlib.sha256(key.encode()).hexdigest() not in out


def test_revoke_removes_the_key(tmp_path, capsys):
    create(capsys, tmp_path, "ops")
    keep = create(capsys, tmp_path, "reader", "search")
    assert main(["keys", "revoke", "ops", "--index", str(tmp_path)]) == 0
    capsys.readouterr()
    entries = json.loads((tmp_path / KEY_FILE).read_text())["keys"]
    assert [k["name"] for k in entries] == ["reader"]
    assert entries[0]["sha256"] == hashlib.sha256(keep.encode()).hexdigest()
    assert main(["keys", "revoke", "ops", "--index", str(tmp_path)]) == 2
    assert "no key named 'ops'" in capsys.readouterr().err


def test_no_index_directory_is_a_message(tmp_path, capsys):
    assert main(["keys", "create", "ops", "--index", str(tmp_path / "missing")]) == 2
    assert "no index directory" in capsys.readouterr().err
    assert not (tmp_path / "missing").exists()


# -- the service -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(ctoc_engine):
    from service.app import create_app

    app = create_app(engine=ctoc_engine)

    @app.get("/test-only/admin", dependencies=[Depends(require_admin)])
    def admin_probe() -> dict:  # stands for the admin endpoints
        return {"ok": True}

    return app


@pytest.fixture(scope="module")
def server(app):
    with LiveServer(app) as s:
        yield s


@pytest.fixture
def keys_dir(app, server, tmp_path):
    """A fresh index directory for the running server's keys (set after startup, so a lifespan cannot undo it)."""
    app.state.index_dir = tmp_path
    yield tmp_path
    app.state.index_dir = None


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def test_admin_needs_an_admin_key(keys_dir, client, capsys):
    r = client.get("/test-only/admin")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert "parasearch keys create NAME --index DIR" in r.json()["detail"]  # none configured: how to make one
    r = client.get("/test-only/admin", headers=bearer("ps_guess"))
    assert r.status_code == 403 and "parasearch keys create NAME --index DIR" in r.json()["detail"]

    admin = create(capsys, keys_dir, "ops")
    reader = create(capsys, keys_dir, "reader", "search")
    r = client.get("/test-only/admin")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer KEY" in r.json()["detail"]
    for headers in (bearer(admin[:-1]), bearer("ps_" + "x" * 43), {"X-API-Key": admin + "x"}, bearer(reader)):
        r = client.get("/test-only/admin", headers=headers)
        assert r.status_code == 403, headers
        assert admin not in r.text
    assert "lacks the admin scope" in client.get("/test-only/admin", headers=bearer(reader)).json()["detail"]
    assert client.get("/test-only/admin", headers=bearer(admin)).json() == {"ok": True}
    assert client.get("/test-only/admin", headers={"authorization": f"bearer {admin}"}).status_code == 200
    assert client.get("/test-only/admin", headers={"X-API-Key": admin}).status_code == 200


def test_admin_with_no_index_directory_is_refused(app, server, client):
    app.state.index_dir = None  # an app that serves no index directory: no keys configured
    r = client.get("/test-only/admin", headers=bearer("ps_anything"))
    assert r.status_code == 403 and "parasearch keys create" in r.json()["detail"]
    assert client.get("/test-only/admin").status_code == 401


def test_search_is_open_by_default(keys_dir, client, capsys, monkeypatch):
    monkeypatch.delenv("PARASEARCH_SEARCH_REQUIRES_KEY", raising=False)
    create(capsys, keys_dir, "ops")
    r = client.get("/search", params={"q": "video recording of child witnesses", "k": 2})
    assert r.status_code == 200 and r.json()["results"]
    assert client.get("/search", params={"q": "witness", "k": 1}, headers=bearer("ps_wrong")).status_code == 200


def test_search_with_the_setting_needs_a_search_or_admin_key(keys_dir, client, capsys, monkeypatch):
    monkeypatch.setenv("PARASEARCH_SEARCH_REQUIRES_KEY", "1")
    q = {"q": "video recording of child witnesses", "k": 2}
    r = client.get("/search", params=q)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert "--scope search" in r.json()["detail"]  # no keys yet: how to make one

    reader = create(capsys, keys_dir, "reader", "search")
    admin = create(capsys, keys_dir, "ops", "admin")
    r = client.get("/search", params=q)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer" and r.json()["detail"]
    assert client.get("/search", params=q, headers=bearer("ps_wrong")).status_code == 403
    r = client.get("/search", params=q, headers=bearer(reader))
    assert r.status_code == 200 and r.json()["results"][0]["symbol"] == "CTOC/COP/WG.2/2013/5"
    assert client.get("/search", params=q, headers={"X-API-Key": admin}).status_code == 200

    # Every read endpoint, the answers included; not the page, its assets or the health check.
    symbol = r.json()["results"][0]["symbol"]
    para = r.json()["results"][0]["para"]
    reads = [("GET", "/documents", None), ("GET", f"/documents/{symbol}", None),
             ("GET", f"/documents/{symbol}/paragraphs/{para}", None),
             ("POST", "/answer", {"question": "How should child witnesses testify?"}),
             ("POST", "/answer/stream", {"question": "How should child witnesses testify?"})]
    for method, path, body in reads:
        r = client.request(method, path, json=body)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", path
        assert client.request(method, path, json=body, headers=bearer("ps_wrong")).status_code == 403, path
        assert client.request(method, path, json=body, headers=bearer(reader)).status_code == 200, path
    for path in ("/health", "/", "/widget.js", "/openapi.json"):
        assert client.get(path).status_code == 200, path
    schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]  # /docs offers "Authorize"
    assert schemes["HTTPBearer"]["scheme"] == "bearer" and schemes["APIKeyHeader"]["name"] == "X-API-Key"


def test_a_revoked_key_is_refused_without_a_restart(keys_dir, client, capsys, monkeypatch):
    monkeypatch.setenv("PARASEARCH_SEARCH_REQUIRES_KEY", "1")
    reader = create(capsys, keys_dir, "reader", "search")
    admin = create(capsys, keys_dir, "ops")
    q = {"q": "protection of witnesses", "k": 1}
    assert client.get("/search", params=q, headers=bearer(reader)).status_code == 200
    assert client.get("/test-only/admin", headers=bearer(admin)).status_code == 200

    assert main(["keys", "revoke", "reader", "--index", str(keys_dir)]) == 0
    r = client.get("/search", params=q, headers=bearer(reader))
    assert r.status_code == 403 and "revoked" in r.json()["detail"]
    assert client.get("/search", params=q, headers=bearer(admin)).status_code == 200  # the others still work

    assert main(["keys", "revoke", "ops", "--index", str(keys_dir)]) == 0
    assert client.get("/test-only/admin", headers=bearer(admin)).status_code == 403
    again = create(capsys, keys_dir, "ops")  # the name is free again, with a new key
    assert client.get("/test-only/admin", headers=bearer(admin)).status_code == 403
    assert client.get("/test-only/admin", headers=bearer(again)).status_code == 200


def test_an_unreadable_key_file_refuses_and_is_no_500(keys_dir, client, capsys, monkeypatch):
    monkeypatch.setenv("PARASEARCH_SEARCH_REQUIRES_KEY", "1")
    admin = create(capsys, keys_dir, "ops")
    assert client.get("/test-only/admin", headers=bearer(admin)).status_code == 200
    (keys_dir / KEY_FILE).write_text('{"version": 1, "keys": [{"name": "ops"')  # a hand edit gone wrong
    for path in ("/test-only/admin", "/search?q=witness"):
        r = client.get(path, headers=bearer(admin))
        assert r.status_code == 503 and "key file" in r.json()["detail"], path
        assert str(keys_dir) not in r.text
    assert client.get("/health").status_code == 200


def test_keys_survive_a_rebuild_of_the_index(tmp_path, encoder, app, server, client, capsys):
    from indexer.build import build_index

    index = tmp_path / "index"
    assert build_index([REPO / "corpus"], index, encoder=encoder, progress=False).published
    admin = create(capsys, index, "ops")
    app.state.index_dir = index
    try:
        first = (index / "CURRENT").read_text()
        assert build_index([REPO / "corpus"], index, encoder=encoder, progress=False).published  # a new generation
        assert (index / "CURRENT").read_text() != first
        assert client.get("/test-only/admin", headers=bearer(admin)).status_code == 200
        assert main(["keys", "list", "--index", str(index)]) == 0
        assert "ops" in capsys.readouterr().out
    finally:
        app.state.index_dir = None
