"""The generative answerer against a small OpenAI-compatible server on a loopback port.

The server speaks real HTTP (``http.server`` in a thread) and answers
``POST /v1/chat/completions`` with a reply scripted by the request's ``model``
name: a good answer, an invented citation, a sentence without citation, a claim
the passage does not back, NOT FOUND, a timeout, malformed JSON, an HTTP error, and
``stream: true`` server-sent events (also one that breaks midway). The scripted
replies read the numbered passages of the prompt the way a model would, so the
citations they write are the prompt's own numbers.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from service.answer import answer_question, stream_answer
from service.answer_types import NOT_FOUND_TEXT
from service.llm import LLMClient, LLMConfig, LLMError, chat_url
from service.llm_answer import build_prompt, parse_sentence, split_reply
from tests.conftest import LiveServer, paragraph_text

FAMILY_Q = "What did the Working Group recommend on protecting witnesses' families?"
# Passages retrieved for FAMILY_Q: enough to hold both paragraphs the scripted model cites (paras. 18 and 16)
FAMILY_K = 8


def passage_numbers(prompt: str) -> dict[int, str]:
    """Passage number -> text, as the prompt lists them."""
    out = {}
    for m in re.finditer(r"^\[(\d+)\] [^\n]*\n(.*?)(?=\n\n\[\d+\] |\n\nAnswer with)", prompt, re.S | re.M):
        out[int(m.group(1))] = m.group(2)
    return out


def number_of(prompt: str, phrase: str) -> int:
    for n, text in passage_numbers(prompt).items():
        if phrase in text:
            return n
    raise AssertionError(f"no passage with {phrase!r} in the prompt")


def scripted_reply(model: str, prompt: str) -> str:
    if model in ("good", "stream-good", "stream-break", "stream-pause"):
        n = number_of(prompt, "family members")
        m = number_of(prompt, "expeditiously handle cases")
        return (f"The Working Group recommended that States provide appropriate protection measures for the family "
                f"members of witnesses and victims, and also of judges and prosecutors. [{n}] States should also "
                f"endeavour to handle cases in which witnesses are receiving protection expeditiously [{m}].")
    if model == "invented":
        n = number_of(prompt, "family members")
        return ("States should protect the family members of witnesses [9]. "
                f"Protection measures should also cover judges, prosecutors and their family members [{n}]. "
                "Witness protection is a priority for every State.")
    if model == "unbacked":
        n = number_of(prompt, "family members")
        return f"Football transfer windows close at the end of August every year [{n}]."
    if model == "wrong-number":
        n = number_of(prompt, "model law on witness protection")
        return (f"UNODC created the model law on witness protection in 2011 [{n}]. States should consider enacting "
                f"legislation to regulate the protection of witnesses [{n}].")
    if model == "not-found":
        return "NOT FOUND"
    raise AssertionError(f"unscripted model {model}")


class FakeLLM(BaseHTTPRequestHandler):
    requests: list[dict] = []

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        if self.path != "/v1/chat/completions":
            self._send(404, b'{"error": "not found"}')
            return
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeLLM.requests.append({"body": req, "auth": self.headers.get("Authorization")})
        model = req["model"]
        prompt = req["messages"][-1]["content"]
        if model == "slow":
            time.sleep(3)
        if model == "http-error":
            self._send(503, b'{"error": {"message": "overloaded"}}')
            return
        if model == "malformed":
            self._send(200, b'{"choices": [{"message": {"content": "unterminated')
            return
        if model == "no-choices":
            self._send(200, b'{"object": "chat.completion", "choices": []}')
            return
        if model == "slow":
            text = "Too late [1]."
        else:
            text = scripted_reply(model, prompt)
        if not req.get("stream"):
            body = {"id": "x", "object": "chat.completion", "model": model,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                 "finish_reason": "stop"}]}
            self._send(200, json.dumps(body).encode())
            return
        # stream: true -> server-sent events, small pieces, "[n]" markers cut across chunks
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        pieces = [text[i:i + 7] for i in range(0, len(text), 7)]
        second = text.index("States should also")
        for i, piece in enumerate(pieces):
            if model == "stream-pause" and i * 7 > second + 7:
                time.sleep(1.5)  # the model is still writing its second sentence
                model = "stream-good"
            if model == "stream-break" and i == len(pieces) * 2 // 3:
                self.wfile.write(b"data: {this is not json\n\n")
                self.wfile.flush()
                return
            chunk = {"id": "x", "object": "chat.completion.chunk",
                     "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


@contextlib.contextmanager
def serve_handler(handler: type) -> Iterator[str]:
    """``handler`` served on a loopback port in a thread; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def fake_llm():
    with serve_handler(FakeLLM) as url:
        yield url


def client(url: str, model: str, **kw) -> LLMClient:
    return LLMClient(LLMConfig(url=url, model=model, api_key="sk-test", **kw))


@pytest.fixture(scope="module")
def engine(ctoc_engine):
    return ctoc_engine


# -- the client ---------------------------------------------------------------------------------


def test_chat_url_forms():
    assert chat_url("http://h:1") == "http://h:1/v1/chat/completions"
    assert chat_url("http://h:1/v1/") == "http://h:1/v1/chat/completions"
    assert chat_url("http://h:1/v1/chat/completions") == "http://h:1/v1/chat/completions"


def test_config_from_env(monkeypatch):
    monkeypatch.delenv("PARASEARCH_LLM_URL", raising=False)
    assert LLMConfig.from_env() is None
    monkeypatch.setenv("PARASEARCH_LLM_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("PARASEARCH_LLM_MODEL", "m")
    monkeypatch.setenv("PARASEARCH_LLM_API_KEY", "k")
    monkeypatch.setenv("PARASEARCH_LLM_TIMEOUT", "2.5")
    monkeypatch.setenv("PARASEARCH_LLM_TOKEN_BUDGET", "1200")
    c = LLMConfig.from_env()
    assert (c.url, c.model, c.api_key, c.timeout, c.token_budget) == ("http://127.0.0.1:9/v1", "m", "k", 2.5, 1200)


def test_client_errors_are_named(fake_llm):
    msgs = [{"role": "user", "content": "hi"}]
    with pytest.raises(LLMError) as e:
        client(fake_llm, "malformed").complete(msgs)
    assert e.value.reason == "malformed reply"
    with pytest.raises(LLMError) as e:
        client(fake_llm, "no-choices").complete(msgs)
    assert e.value.reason == "malformed reply"
    with pytest.raises(LLMError) as e:
        client(fake_llm, "http-error").complete(msgs)
    assert e.value.reason == "HTTP 503"
    with pytest.raises(LLMError) as e:
        client(fake_llm, "slow", timeout=0.5).complete(msgs)
    assert e.value.reason == "timeout"
    with pytest.raises(LLMError) as e:
        client("http://127.0.0.1:9", "good", timeout=2).complete(msgs)
    assert e.value.reason in ("connection error", "timeout")


# -- prompt and parsing -------------------------------------------------------------------------


def test_prompt_packs_passages_into_the_token_budget(engine):
    from indexer.tokens import count_tokens

    outcome = engine.search(FAMILY_Q, k=10)
    full = build_prompt(FAMILY_Q, outcome.hits, 100_000)
    assert sorted(full.passages) == list(range(1, 11))
    small = build_prompt(FAMILY_Q, outcome.hits, 400)
    assert 1 <= len(small.passages) < 10
    text = "\n".join(m["content"] for m in small.messages)
    assert sum(count_tokens([m["content"] for m in small.messages])) <= 400
    for n, hit in small.passages.items():
        assert f"[{n}] {hit.row.citation}" in text
    left_out = set(range(1, 11)) - set(small.passages)
    assert all(f"[{n}] " not in text for n in left_out)


def test_reply_parsing():
    raws = split_reply("States should act. [2] They should train judges [1][3]. Nothing cited here.\n- Bullet [4-5].")
    assert [parse_sentence(r) for r in raws] == [
        ("States should act.", [2]), ("They should train judges.", [1, 3]), ("Nothing cited here.", []),
        ("Bullet.", [4, 5]),
    ]


# -- the generative answer ----------------------------------------------------------------------


def test_good_answer_is_cited_to_real_paragraphs(engine, fake_llm):
    FakeLLM.requests.clear()
    ans = answer_question(engine, FAMILY_Q, k=FAMILY_K, llm=client(fake_llm, "good"))
    assert ans.method == "llm" and ans.found
    assert FakeLLM.requests[-1]["auth"] == "Bearer sk-test"
    cited = {(c.symbol, c.para) for s in ans.sentences for c in s.citations}
    assert ("CTOC/COP/WG.2/2013/5", "18") in cited and ("CTOC/COP/WG.2/2013/5", "16") in cited
    assert all(s.supported for s in ans.sentences)
    for s in ans.sentences:
        for c in s.citations:
            assert ans.outcome.hits[c.passage - 1].row.para == c.para
            paragraph_text(engine, c.symbol, c.para)
    assert "CTOC/COP/WG.2/2013/5, para. 18: " in ans.answer and "[" not in ans.sentences[0].text


def test_invented_citation_and_uncited_sentence_are_not_shown(engine, fake_llm):
    ans = answer_question(engine, FAMILY_Q, k=FAMILY_K, llm=client(fake_llm, "invented"))
    assert ans.method == "llm"
    invented, backed, uncited = ans.sentences
    assert not invented.supported and invented.citations == []  # [9]: only 5 passages were given
    assert backed.supported and [c.para for c in backed.citations] == ["18"]
    assert not uncited.supported and uncited.citations == []
    assert invented.text not in ans.answer and uncited.text not in ans.answer and backed.text in ans.answer


def test_claim_the_passage_does_not_back_falls_back(engine, fake_llm):
    ans = answer_question(engine, FAMILY_Q, k=FAMILY_K, llm=client(fake_llm, "unbacked"))
    assert ans.method == "extractive (llm failed: no backed citations)"
    assert ans.found and all(c.para != "" for s in ans.sentences for c in s.citations)


def test_a_number_the_passage_does_not_give_is_not_backed(engine, fake_llm):
    ans = answer_question(engine, "When did UNODC create its model law on witness protection?", k=5,
                          llm=client(fake_llm, "wrong-number"))
    assert ans.method == "llm"
    wrong, right = ans.sentences
    assert "2011" in wrong.text and not wrong.supported
    assert right.supported and right.citations[0].para == "15"


def test_not_found_reply(engine, fake_llm):
    ans = answer_question(engine, FAMILY_Q, llm=client(fake_llm, "not-found"))
    assert (ans.method, ans.found, ans.answer, ans.sentences) == ("llm", False, NOT_FOUND_TEXT, [])
    assert ans.outcome.hits  # the closest passages are still returned


@pytest.mark.parametrize("model,reason", [("slow", "timeout"), ("malformed", "malformed reply"),
                                          ("http-error", "HTTP 503"), ("no-choices", "malformed reply")])
def test_failures_fall_back_to_the_extractive_answer(engine, fake_llm, model, reason):
    ans = answer_question(engine, FAMILY_Q, k=FAMILY_K, llm=client(fake_llm, model, timeout=1.0))
    assert ans.method == f"extractive (llm failed: {reason})"
    assert ans.found and ans.sentences
    for s in ans.sentences:
        assert s.text in paragraph_text(engine, s.citations[0].symbol, s.citations[0].para)


# -- over HTTP ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_server(engine):
    from service.app import create_app

    app = create_app(engine=engine)
    with LiveServer(app) as server:
        server.app = app
        yield server


def sse_events(text: str) -> list[tuple[str, object]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_answer_over_http_with_the_model(app_server, fake_llm):
    app_server.app.state.llm = client(fake_llm, "good")
    r = httpx.post(f"{app_server.url}/answer", json={"question": FAMILY_Q, "k": FAMILY_K}, timeout=60)
    assert r.status_code == 200
    body = r.json()
    assert body["method"] == "llm" and body["found"] is True
    assert body["sentences"][0]["citations"][0] == {
        "symbol": "CTOC/COP/WG.2/2013/5", "para": "18", "citation": "CTOC/COP/WG.2/2013/5, para. 18",
        "language": "en", "url": "/documents/CTOC/COP/WG.2/2013/5?language=en#para-18", "versions": [],
        "passage": body["sentences"][0]["citations"][0]["passage"]}
    assert len(body["passages"]) == FAMILY_K


def test_streamed_answer_keeps_its_citations(app_server, fake_llm):
    FakeLLM.requests.clear()
    app_server.app.state.llm = client(fake_llm, "stream-good")
    with httpx.stream("POST", f"{app_server.url}/answer/stream", json={"question": FAMILY_Q, "k": FAMILY_K},
                      timeout=60) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = sse_events(r.read().decode())
    assert FakeLLM.requests[-1]["body"]["stream"] is True
    names = [e for e, _ in events]
    assert names[0] == "passages" and names[-1] == "done" and "reset" not in names
    texts = [d for e, d in events if e == "text"]
    cites = [d for e, d in events if e == "citation"]
    assert len(texts) == 2 and {c["para"] for c in cites} == {"18", "16"}
    # each citation comes right after the text it backs, and names the passage it came from
    assert names.index("citation") == names.index("text") + 1
    passages = events[0][1]
    for c in cites:
        assert passages[c["passage"] - 1]["para"] == c["para"]
    done = events[-1][1]
    assert done["method"] == "llm" and done["found"] is True
    assert [s["text"] for s in done["sentences"]] == [t["text"] for t in texts]
    assert {c["para"] for s in done["sentences"] for c in s["citations"]} == {"18", "16"}


def test_stream_that_breaks_midway_is_reset_and_answered_extractively(engine, fake_llm):
    events = list(stream_answer(engine, FAMILY_Q, k=FAMILY_K, llm=client(fake_llm, "stream-break")))
    names = [e for e, _ in events]
    assert "reset" in names and names.index("reset") > names.index("text")
    after = names[names.index("reset"):]
    assert "text" in after and "citation" in after
    done = events[-1][1]
    assert done.method == "extractive (llm failed: malformed reply)" and done.found


def test_stream_timeout_falls_back(engine, fake_llm):
    events = list(stream_answer(engine, FAMILY_Q, k=FAMILY_K, llm=client(fake_llm, "slow", timeout=1.0)))
    done = events[-1][1]
    assert events[-1][0] == "done" and done.method == "extractive (llm failed: timeout)"
    assert "reset" not in [e for e, _ in events]


def test_sentences_are_sent_while_the_model_is_still_writing(engine, fake_llm):
    stamps = []
    for event, data in stream_answer(engine, FAMILY_Q, k=FAMILY_K, llm=client(fake_llm, "stream-pause", timeout=10)):
        stamps.append((event, time.monotonic(), data))
    first_text = next(t for e, t, _ in stamps if e == "text")
    first_cite = next(t for e, t, _ in stamps if e == "citation")
    done_at = stamps[-1][1]
    assert done_at - first_text >= 1.0 and done_at - first_cite >= 1.0
    assert stamps[-1][2].method == "llm" and len(stamps[-1][2].sentences) == 2


def test_a_passage_longer_than_the_budget_is_cut_to_fit():
    from indexer.tokens import count_tokens
    from service.index import ParagraphRow
    from service.search import Hit

    text = " ".join(f"States should protect witness number {i} and the family members of that witness." for i in
                    range(200))
    rows = [ParagraphRow(i, 0, i, str(i), "numbered", "", text, 0, "X/1", "", None, None, None, "en")
            for i in (1, 2)]
    prompt = build_prompt("Who is protected?", [Hit(r, rank, 1.0) for rank, r in enumerate(rows, 1)], 400)
    assert list(prompt.passages) == [1]
    user = prompt.messages[-1]["content"]
    assert "[1] X/1, para. 1" in user and "\u2026" in user and "[2] " not in user
    assert sum(count_tokens([m["content"] for m in prompt.messages])) <= 400
