"""The HTTP API over real HTTP on loopback: answers, documents, and 4xx (never 500) for bad requests."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture(scope="module")
def client(mini_server):
    with httpx.Client(base_url=mini_server.url, timeout=30) as c:
        yield c


def test_search_cites_the_paragraph(client):
    r = client.get("/search", params={"q": "video recording of child witnesses"})
    assert r.status_code == 200
    body = r.json()
    assert body["query"] == "video recording of child witnesses" and body["took_ms"] > 0
    first = body["results"][0]
    assert first["citation"] in ("CTOC/COP/WG.2/2013/5, para. 9", "CTOC/COP/WG.2/2013/5, para. 58")
    assert set(first) >= {"rank", "score", "symbol", "para", "citation", "text", "title", "date", "body",
                          "language", "section", "snippet", "also_in", "scores"}
    assert first["rank"] == 1 and first["date"] == "2013-11-19" and first["language"] == "en"


def test_search_modes_and_k(client):
    for mode in ("dense", "bm25", "hybrid"):
        r = client.get("/search", params={"q": "death penalty moratorium", "k": 7, "mode": mode})
        assert r.status_code == 200 and len(r.json()["results"]) == 7


def test_search_says_what_it_read_in_the_query(client):
    r = client.get("/search", params={"q": "Le Conseil de sécurité a-t-il prolongé l'acheminement de l'aide "
                                           "humanitaire en Syrie en 2023 ?", "k": 3})
    body = r.json()
    assert body["language"] == "fr" and body["years"] == [2023]
    assert body["results"][0]["language"] == "fr" and body["results"][0]["symbol"] == "S/RES/2672 (2023)"
    body = client.get("/search", params={"q": "A/RES/79/191 para 59"}).json()
    assert body["language"] is None and body["years"] == []


def test_filters_over_http(client):
    r = client.get("/search", params=[("q", "humanitarian"), ("body", "Security Council"), ("language", "en"),
                                      ("k", 5)])
    assert r.status_code == 200
    assert {x["symbol"] for x in r.json()["results"]} <= {"S/RES/2672 (2023)", "S/RES/2561 (2021)"}


def test_documents_with_slashes_and_spaces_in_the_symbol(client):
    listing = client.get("/documents").json()
    assert listing["total"] >= 9
    for path in ("/documents/S/RES/2672%20(2023)", "/documents/S%2FRES%2F2672%20%282023%29",
                 "/documents/s/res/2672(2023)"):
        r = client.get(path)
        assert r.status_code == 200, path
        doc = r.json()
        assert doc["symbol"] == "S/RES/2672 (2023)" and doc["language"] == "en"
    fr = client.get("/documents/S/RES/2672%20(2023)", params={"language": "fr"}).json()
    assert fr["language"] == "fr" and fr["paragraphs"]
    ctoc = client.get("/documents/CTOC/COP/WG.2/2013/5").json()
    assert [p["para"] for p in ctoc["paragraphs"] if p["kind"] == "numbered"] == [str(i) for i in range(1, 91)]


def test_one_paragraph(client):
    r = client.get("/documents/CTOC/COP/WG.2/2013/5/paragraphs/9")
    assert r.status_code == 200
    assert r.json()["citation"] == "CTOC/COP/WG.2/2013/5, para. 9"
    assert r.json()["text"] == ("States should consider setting up special facilities for recording the testimony "
                                "of vulnerable witnesses such as children.")


@pytest.mark.parametrize(
    ("path", "params", "status", "says"),
    [
        ("/search", {"q": ""}, 422, "q"),
        ("/search", {"q": "   "}, 400, "empty"),
        ("/search", {"q": "x" * 1001}, 422, "q"),
        ("/search", {"q": "witnesses", "k": 0}, 422, "k"),
        ("/search", {"q": "witnesses", "k": 101}, 422, "k"),
        ("/search", {"q": "witnesses", "k": "ten"}, 422, "k"),
        ("/search", {"q": "witnesses", "mode": "magic"}, 422, "mode"),
        ("/search", {"q": "witnesses", "date_from": "yesterday"}, 400, "date"),
        ("/search", {}, 422, "q"),
        ("/documents/A/RES/1/1", {}, 404, "A/RES/1/1"),
        ("/documents/CTOC/COP/WG.2/2013/5/paragraphs/999", {}, 404, "999"),
        ("/documents/CTOC/COP/WG.2/2013/5", {"language": "fr"}, 404, "fr"),
    ],
)
def test_bad_requests_get_a_4xx_with_a_reason(client, path, params, status, says):
    r = client.get(path, params=params)
    assert r.status_code == status, r.text
    assert says in r.text
    assert "Traceback" not in r.text


def test_health_and_openapi(client):
    h = client.get("/health").json()
    assert h["status"] == "ok" and h["model"] == "multilingual-e5-small" and h["documents"] >= 9
    assert h["models"] == ["multilingual-e5-small", "all-MiniLM-L6-v2"]
    spec = client.get("/openapi.json").json()
    for path in ("/search", "/documents", "/documents/{symbol}", "/documents/{symbol}/paragraphs/{para}", "/health"):
        assert path in spec["paths"], path
    assert "percent-encoded" in spec["paths"]["/documents/{symbol}"]["get"]["description"]
