"""A bounded load test of the live service while its documents change: ``python -m bench.load --index DIR``.

It starts ``parasearch serve`` over ``DIR`` (a real process on a loopback port; it follows its index) and, for
``--minutes``, keeps ``--concurrency`` clients busy with a mix of requests (``--mix``):

* ``search``: ``GET /search`` with a development question;
* ``churn_search``: ``GET /search?language=fr`` with a sentence of one of the changing documents, so that what it
  may return depends on the generation;
* ``churn_doc``: ``GET /documents/{symbol}?language=fr`` of a changing document: 200 exactly when the
  generation that answered holds it, else 404;
* ``answer`` and ``answer_stream``: ``POST /answer`` and ``POST /answer/stream`` with a development question
  (429 with ``Retry-After`` is an intended refusal of the answer limits, counted apart; a client retries later).

Meanwhile ``--updates`` changes go through the admin API, spread over the run: the ``--churn`` documents (French
Security Council resolutions, which the English index does not hold) are added, replaced and removed in turn.
Each change's response names the generation it published; the generations' holdings are known from them.

What it checks and prints (JSON, with the machine it ran on):

* **failures**: anything but 2xx, an intended 429 (with ``Retry-After``) or an expected 404, and every transport
  error;
* **mixing**: every response names its generation (``X-Index-Generation``); a ``churn_doc`` status or a
  ``churn_search`` result that disagrees with what that generation holds, a result from a document no generation
  held, or a generation the run never published, is a mixed response;
* requests/s and latency by kind; each change's time;
* the server's resident memory every ``--rss-every`` seconds: its median over the second minute and over the
  last minute, and the peak (a generation is loaded beside the old one while it is switched to).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import quote

import httpx

from bench.common import SHARED, dev_questions, first_sentence_queries, load_avg, log, machine, percentiles
from bench.http import parasearch_server, rss_mb
from indexer.readers import read_document
from parasearch.config import offline
from parasearch.keys import create_key, revoke_key

GENERATION = "x-index-generation"
SC_FR = SHARED / "corpus" / "sc" / "fr"
DEFAULT_CHURN = [SC_FR / "S_RES_2672_F.xml", SC_FR / "SC_2561_2021-F.xml", SC_FR / "SC_2562_2021-F.xml"]
DEFAULT_MIX = "search=50,churn_search=12,churn_doc=10,answer=20,answer_stream=8"


class Run:
    """What the clients saw, and what each generation holds."""

    def __init__(self, churn: list[str]) -> None:
        self.churn = churn  # the changing documents' symbols
        self.holds: dict[str, frozenset[str]] = {}  # generation -> the changing documents it holds
        self.statuses: dict[str, Counter] = defaultdict(Counter)
        self.ms: dict[str, list[float]] = defaultdict(list)
        self.failures: list[dict] = []
        self.mixed: list[dict] = []
        self.seen: dict[str, list[tuple[str, object]]] = defaultdict(list)  # generation -> checks to verify
        self.no_retry_after = 0
        self.lock = threading.Lock()

    def fail(self, kind: str, what: str) -> None:
        if len(self.failures) < 50:
            self.failures.append({"kind": kind, "what": what[:300]})


def _choice(rng: random.Random, mix: dict[str, int]) -> str:
    return rng.choices(list(mix), weights=list(mix.values()))[0]


async def client_loop(i: int, base: str, deadline: float, run: Run, mix: dict[str, int], questions: list[str],
                      churn_queries: dict[str, list[str]], seed: int) -> None:
    rng = random.Random(seed * 1000 + i)
    async with httpx.AsyncClient(base_url=base, timeout=120.0) as client:
        while time.perf_counter() < deadline:
            kind = _choice(rng, mix)
            t0 = time.perf_counter()
            try:
                if kind == "search":
                    r = await client.get("/search", params={"q": rng.choice(questions), "k": 10})
                elif kind == "churn_search":
                    symbol = rng.choice(run.churn)
                    r = await client.get("/search", params={"q": rng.choice(churn_queries[symbol]), "k": 10,
                                                            "language": "fr", "mode": "bm25"})
                elif kind == "churn_doc":
                    symbol = rng.choice(run.churn)
                    r = await client.get(f"/documents/{quote(symbol, safe='/ ()')}", params={"language": "fr"})
                elif kind == "answer":
                    r = await client.post("/answer", json={"question": rng.choice(questions), "k": 5})
                else:
                    async with client.stream("POST", "/answer/stream",
                                             json={"question": rng.choice(questions), "k": 5}) as r:
                        body = b"".join([chunk async for chunk in r.aiter_bytes()])
                    if r.status_code == 200 and b"event: done" not in body:
                        run.fail(kind, "a stream ended without its done event")
            except httpx.HTTPError as exc:
                run.statuses[kind][type(exc).__name__] += 1
                run.fail(kind, f"{type(exc).__name__}: {exc}")
                continue
            ms = (time.perf_counter() - t0) * 1000
            status = r.status_code
            run.statuses[kind][str(status)] += 1
            if status == 429 and kind.startswith("answer"):
                if not r.headers.get("retry-after"):
                    run.no_retry_after += 1
                    run.fail(kind, "429 without Retry-After")
                continue
            gen = r.headers.get(GENERATION)
            if gen is None and status < 400:
                run.fail(kind, f"{status} without {GENERATION}")
                continue
            if kind == "churn_doc":
                if status not in (200, 404):
                    run.fail(kind, f"{status}: {r.text[:200]}")
                    continue
                run.seen[gen].append(("doc", (symbol, status == 200)))
                if status == 404:
                    continue
            elif status != 200:
                run.fail(kind, f"{status}: {r.text[:200]}")
                continue
            elif kind == "churn_search":
                run.seen[gen].append(("search", frozenset(h["symbol"] for h in r.json()["results"])))
            else:
                run.seen[gen].append(("any", None))
            run.ms[kind].append(ms)


def admin_loop(base: str, key: str, files: list[Path], symbols: list[str], n: int, minutes: float, run: Run,
               t_start: float, changes: list[dict]) -> None:
    """``n`` changes at even intervals: each document in turn is added, replaced, removed (a state machine)."""
    held: set[str] = set()
    replaced: set[str] = set()
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, headers=headers, timeout=300.0) as client:
        for i in range(n):
            at = t_start + (i + 0.5) * minutes * 60 / n
            time.sleep(max(0.0, at - time.perf_counter()))
            j = i % len(files)
            symbol, path = symbols[j], files[j]
            t0 = time.perf_counter()
            if symbol not in held:
                op = "add"
            elif symbol not in replaced:
                op = "replace"
            else:
                op = "remove"
            if op == "remove":
                r = client.delete(f"/admin/documents/{quote(symbol, safe='/ ()')}", params={"language": "fr"})
            else:
                with open(path, "rb") as f:
                    r = client.post("/admin/documents", files={"file": (path.name, f, "application/xml")},
                                    data={"metadata": json.dumps({"language": "fr"})})
            wall = (time.perf_counter() - t0) * 1000
            if r.status_code not in (200, 201):
                changes.append({"op": op, "symbol": symbol, "status": r.status_code, "detail": r.text[:300]})
                run.fail("admin", f"{op} {symbol}: {r.status_code} {r.text[:200]}")
                continue
            body = r.json()
            if op == "add":
                held.add(symbol)
            elif op == "replace":
                replaced.add(symbol)
            else:
                held.discard(symbol)
                replaced.discard(symbol)
            run.holds[body["generation"]] = frozenset(held)
            changes.append({"op": op, "symbol": symbol, "status": r.status_code, "generation": body["generation"],
                            "server_ms": body["took_ms"], "wall_ms": round(wall, 1)})
            log(f"change {i + 1}/{n}: {op} {symbol} -> {body['generation']} in {wall:.0f} ms")


def check_mixing(run: Run) -> None:
    churn = set(run.churn)
    for gen, checks in run.seen.items():
        holds = run.holds.get(gen)
        if holds is None:
            run.mixed.append({"generation": gen, "why": "a generation this run did not publish", "n": len(checks)})
            continue
        for what, value in checks:
            if what == "doc":
                symbol, present = value
                if present != (symbol in holds):
                    run.mixed.append({"generation": gen, "why": f"{symbol} {'found' if present else 'missing'}"})
            elif what == "search":
                extra = (value & churn) - holds
                other = value - churn
                if extra or other:
                    run.mixed.append({"generation": gen, "why": f"results from {sorted(extra | other)}"})


def rss_loop(pid: int, every: float, stop: threading.Event, samples: list[tuple[float, float]], t0: float) -> None:
    while not stop.wait(every):
        m = rss_mb(pid)
        if "rss_mb" in m:
            samples.append((time.perf_counter() - t0, m["rss_mb"]))


def main(argv: list[str] | None = None) -> int:
    offline()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, required=True, help="an index directory (it gets new generations)")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--updates", type=int, default=20)
    ap.add_argument("--mix", default=DEFAULT_MIX, help=f"kind=weight,... (default {DEFAULT_MIX})")
    ap.add_argument("--churn", type=Path, nargs="+", default=DEFAULT_CHURN,
                    help="documents the index does not hold, added, replaced and removed in turn")
    ap.add_argument("--rss-every", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    args = ap.parse_args(argv)
    mix = {k: int(v) for k, v in (part.split("=") for part in args.mix.split(","))}

    parsed = [read_document(p, {"language": "fr"}) for p in args.churn]
    symbols = [d.doc.symbol for d in parsed]
    churn_queries = {d.doc.symbol: first_sentence_queries([p.text for p in d.paragraphs], 20, seed=args.seed)
                     for d in parsed}
    questions = [q["query"] for q in dev_questions() if q.get("language", "en") == "en"]
    run = Run(symbols)
    key, _ = create_key(args.index, "bench-load", ["admin"])
    out: dict = {"machine": machine(), "load_avg_start": load_avg(), "index": str(args.index),
                 "minutes": args.minutes, "concurrency": args.concurrency, "mix": mix, "churn": symbols}
    try:
        with parasearch_server(args.index, None, sys.executable) as server:
            out["server_started_s"] = round(server.started_s, 1)
            base = server.base
            health = httpx.get(base + "/health").json()
            run.holds[health["generation"]] = frozenset()  # the English index holds none of them
            for s in symbols:
                r = httpx.get(f"{base}/documents/{quote(s, safe='/ ()')}", params={"language": "fr"})
                if r.status_code != 404:
                    raise SystemExit(f"the index already holds {s} (fr): pick --churn documents it does not hold")
            out["rss_start_mb"] = server.memory().get("rss_mb")
            samples: list[tuple[float, float]] = []
            stop = threading.Event()
            t_start = time.perf_counter()
            threading.Thread(target=rss_loop, args=(server.proc.pid, args.rss_every, stop, samples, t_start),
                             daemon=True).start()
            changes: list[dict] = []
            admin = threading.Thread(target=admin_loop, args=(base, key, args.churn, symbols, args.updates,
                                                              args.minutes, run, t_start, changes))
            admin.start()
            deadline = t_start + args.minutes * 60

            async def clients() -> None:
                await asyncio.gather(*(client_loop(i, base, deadline, run, mix, questions, churn_queries,
                                                   args.seed) for i in range(args.concurrency)))

            log(f"{args.concurrency} clients for {args.minutes} min, {args.updates} changes")
            asyncio.run(clients())
            elapsed = time.perf_counter() - t_start
            admin.join()
            stop.set()
            out["memory_end"] = server.memory()
    finally:
        revoke_key(args.index, "bench-load")
    check_mixing(run)
    completed = sum(n for c in run.statuses.values() for status, n in c.items() if status.startswith("2"))
    refused = sum(c["429"] for k, c in run.statuses.items() if k.startswith("answer"))
    expected_404 = run.statuses["churn_doc"]["404"]
    sent = sum(sum(c.values()) for c in run.statuses.values())
    failed = sent - completed - refused - expected_404
    second = [r for t, r in samples if 60 <= t < 120]
    last = [r for t, r in samples if t >= elapsed - 60]
    out.update({
        "seconds": round(elapsed, 1),
        "requests": sent, "completed_2xx": completed, "intended_429": refused, "expected_404": expected_404,
        "failed": failed, "failures": run.failures, "mixed_responses": len(run.mixed), "mixed": run.mixed[:20],
        "checked_against_generation": sum(len(v) for v in run.seen.values()),
        "generations_seen": len(run.seen), "generations_published": len(run.holds) - 1,
        "req_per_s": round(completed / elapsed, 2),
        "statuses": {k: dict(v) for k, v in run.statuses.items()},
        "ms": {k: percentiles(v) for k, v in run.ms.items()},
        "changes": changes,
        "change_ms": percentiles([c["wall_ms"] for c in changes if "wall_ms" in c]),
        "rss_mb": {"second_minute_median": statistics.median(second) if second else None,
                   "last_minute_median": statistics.median(last) if last else None,
                   "max": max((r for _, r in samples), default=None), "samples": len(samples),
                   "median_by_minute": [round(statistics.median(ms), 1) for minute in range(int(elapsed // 60) + 1)
                                        if (ms := [r for t, r in samples if minute * 60 <= t < (minute + 1) * 60])]},
        "load_avg_end": load_avg(),
    })
    text = json.dumps(out, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text)
    ok = failed == 0 and not run.mixed and run.no_retry_after == 0
    log(f"{'OK' if ok else 'FAILED'}: {completed} answered, {refused} refused (429), {failed} failed, "
        f"{len(run.mixed)} mixed, {completed / elapsed:.1f} req/s")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
