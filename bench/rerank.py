"""What the learned re-ranker costs: in-process hybrid search with and without it, and answers.

    python -m bench.rerank --index .index/full-en-dual [--out bench/out/rerank.json]

Queries: the development questions (their text only), each timed with the query-embedding cache emptied first,
so that every figure includes encoding the question with each dense model. Prints p50/p95 per configuration and
the machine it ran on.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bench.common import dev_questions, load_avg, log, machine, percentiles


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.rerank", description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("--repeat", type=int, default=2, help="passes over the questions (default 2)")
    ap.add_argument("--out", default="bench/out/rerank.json")
    args = ap.parse_args(argv)

    from service.answer import answer_question
    from service.engine import load_engine
    from service.rerank import default_reranker

    engine = load_engine(Path(args.index))
    reranker = default_reranker()
    queries = [q["query"] for q in dev_questions()] * args.repeat
    for q in queries[:10]:  # warm-up: models, caches, the paragraph-to-vector maps
        answer_question(engine, q)
    out: dict = {"machine": machine(), "index": args.index, "queries": len(queries), "load_avg_start": load_avg()}

    def timed(label: str, fn) -> None:
        lat = []
        for q in queries:
            engine.clear_query_cache()
            t0 = time.perf_counter()
            fn(q)
            lat.append((time.perf_counter() - t0) * 1000)
        out[label] = percentiles(lat)
        log(f"{label}: p50 {out[label]['p50']} ms, p95 {out[label]['p95']} ms")

    engine.reranker = None
    timed("search_fused", lambda q: engine.search(q, k=10))
    engine.reranker = reranker
    timed("search_reranked", lambda q: engine.search(q, k=10))
    timed("answer_reranked", lambda q: answer_question(engine, q))
    out["load_avg_end"] = load_avg()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(json.dumps({k: v for k, v in out.items() if k != "machine"} | {"cpu": out["machine"].get("cpu")},
                     indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
