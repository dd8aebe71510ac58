"""In-process query latency: the search engine's ``search`` per mode, and where its time goes."""

from __future__ import annotations

import time
from pathlib import Path

from bench.common import load_avg, log, percentiles
from service.engine import load_engine


def _ms(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def _snippet_fn():
    """The engine's snippet step (highlighting the query terms in each hit) on its own, if it is there."""
    try:
        from service.snippets import highlight, query_terms
    except ImportError:
        return None

    def run(query: str, texts: list[str]) -> None:
        terms = query_terms(query)
        for t in texts:
            highlight(t, terms)

    return run


def in_process(index_dir: Path, queries: list[str], backend: str | None, *, k: int = 10,
               modes: tuple[str, ...] = ("dense", "bm25", "hybrid")) -> dict:
    """p50/p95/p99 of ``engine.search`` for every query in every mode, query-embedding cache emptied each time.

    The parts are timed on their own too (same queries): the query embedding,
    the FAISS search with the embedding cached, BM25, so that a slow mode
    names its cause.
    """
    t0 = time.perf_counter()
    engine = load_engine(Path(index_dir), backend=backend)
    load_s = time.perf_counter() - t0
    enc = engine.encoder
    for q in queries[:10]:  # warm-up
        for m in modes:
            engine.search(q, k=k, mode=m)
    out: dict = {"queries": len(queries), "k": k, "encoder_backend": getattr(enc, "backend", "torch"),
                 "engine_load_s": round(load_s, 2), "load_avg_start": load_avg(), "modes": {}, "parts": {}}
    for m in modes:
        lat = []
        cpu0 = time.process_time()
        for q in queries:
            engine.clear_query_cache()
            lat.append(_ms(lambda q=q, m=m: engine.search(q, k=k, mode=m)))
        out["modes"][m] = percentiles(lat)
        # CPU time of the process per query: what the latency would be on an idle machine for the
        # single-threaded parts (the query embedding may use more than one core).
        out["modes"][m]["cpu_ms_per_query"] = round((time.process_time() - cpu0) * 1000 / len(queries), 3)
        log(f"in-process {m}: p50 {out['modes'][m]['p50']} ms, p95 {out['modes'][m]['p95']} ms")
    n = max(100, 3 * k)
    parts: dict[str, list[float]] = {"embed_query": [], "faiss_dense": [], "bm25": [], "snippets": []}
    snippet_fn = _snippet_fn()
    for q in queries:
        # Every dense arm's model encodes the query (one after the other, as the engine does).
        parts["embed_query"].append(_ms(lambda q=q: [e.encode_queries([q], batch_size=1) for e in engine.encoders]))
        engine.embed_query(q)  # cached: the next timing is FAISS and the paragraph de-duplication only
        parts["faiss_dense"].append(_ms(lambda q=q: engine.dense(q, n, None)))
        parts["bm25"].append(_ms(lambda q=q: engine.bm25(q, n, None)))
        if snippet_fn is not None:
            hits = engine.search(q, k=k, mode="hybrid", snippets=False).hits
            parts["snippets"].append(_ms(lambda q=q, hits=hits: snippet_fn(q, [h.row.text for h in hits])))
    out["parts"] = {name: percentiles(v) for name, v in parts.items() if v}
    out["load_avg_end"] = load_avg()
    ix = engine.index
    out["index"] = {"paragraphs": ix.n_paragraphs, "vectors": int(ix.faiss.ntotal), "faiss": type(ix.faiss).__name__,
                    "built_with": ix.model.get("backend", "torch")}
    return out
