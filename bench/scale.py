"""Scale: a synthetic index of N vectors (default 1M) made from the real ones, exact and approximate FAISS.

The real paragraph vectors of an index are replicated to N with small
Gaussian noise (sigma per dimension, default 0.02: a copy keeps cosine ~0.93
with its original) and renormalised; they are generated chunk by chunk from a
seed, so each index type is built from the same vectors without keeping a
second 1.5 GB copy, and one index is in memory at a time (peak ~2.5 GB at 1M).
Queries are real query embeddings; recall@10 is measured against the exact
(IndexFlatIP) top 10 of the same synthetic vectors. Latency is one query per
search call on one FAISS thread, as the service runs it
(``PARASEARCH_FAISS_THREADS=1``); builds use every core.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Iterator

import numpy as np

from bench.common import load_avg, log, percentiles

CHUNK = 65536


def synthetic_chunks(base: np.ndarray, n: int, sigma: float, seed: int = 0) -> Iterator[np.ndarray]:
    d = base.shape[1]
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        rng = np.random.default_rng([seed, start])
        x = base[np.arange(start, stop) % len(base)].copy()
        x += rng.standard_normal((stop - start, d), dtype=np.float32) * np.float32(sigma)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        yield x


def _rss_mb() -> float:
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        return float("nan")


def _sample(base: np.ndarray, n: int, sigma: float, size: int, seed: int) -> np.ndarray:
    """A training sample: ``size`` of the synthetic vectors, spread over the whole range."""
    parts = []
    per = max(1, size // max(1, math.ceil(n / CHUNK)))
    rng = np.random.default_rng(seed + 7)
    for x in synthetic_chunks(base, n, sigma, seed):
        parts.append(x[rng.choice(len(x), min(per, len(x)), replace=False)])
    return np.ascontiguousarray(np.vstack(parts)[:size])


def _latency_recall(index, queries: np.ndarray, truth: np.ndarray, k: int, params=None) -> dict:
    import faiss

    faiss.omp_set_num_threads(1)
    lat, found = [], []
    for i in range(len(queries)):
        t0 = time.perf_counter()
        _, ids = index.search(queries[i : i + 1], k, params=params)
        lat.append((time.perf_counter() - t0) * 1000)
        found.append(ids[0])
    recall = float(np.mean([len(set(f.tolist()) & set(t.tolist())) / k for f, t in zip(found, truth, strict=True)]))
    res = percentiles(lat)
    return {"p50_ms": res["p50"], "p95_ms": res["p95"], "p99_ms": res["p99"], "recall_at_10": round(recall, 4)}


def scale_test(base: np.ndarray, queries: np.ndarray, *, n: int = 1_000_000, sigma: float = 0.02, seed: int = 0,
               threads: int = 2, hnsw_m: int = 32, hnsw_ef_construction: int = 64,
               ef_search: tuple[int, ...] = (16, 32, 64, 128, 256, 512), nlist: int | None = None,
               nprobe: tuple[int, ...] = (4, 8, 16, 32, 64), pq_m: int = 48,
               kinds: tuple[str, ...] = ("flat", "hnsw", "ivf_flat", "ivf_pq"), k: int = 10) -> dict:
    import faiss

    d = base.shape[1]
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    nlist = nlist or int(2 ** round(math.log2(max(64, 2 * math.sqrt(n)))))
    out: dict = {"n": n, "dim": d, "base_vectors": int(len(base)), "sigma": sigma, "queries": int(len(queries)),
                 "k": k, "build_threads": threads, "search_threads": 1, "load_avg_start": load_avg(), "indexes": {}}
    rss0 = _rss_mb()

    # Exact: build, ground truth, latency.
    faiss.omp_set_num_threads(threads)
    t0 = time.perf_counter()
    flat = faiss.IndexFlatIP(d)
    for x in synthetic_chunks(base, n, sigma, seed):
        flat.add(x)
    build = time.perf_counter() - t0
    _, truth = flat.search(queries, k)
    res = {"build_s": round(build, 1), "memory_mb_estimate": round(n * d * 4 / 2**20, 1),
           "rss_delta_mb": round(_rss_mb() - rss0, 1)}
    res.update(_latency_recall(flat, queries, truth, k))
    out["indexes"]["flat"] = {"params": "IndexFlatIP", **res}
    log(f"scale flat n={n}: build {build:.1f}s, p50 {res['p50_ms']} ms, p95 {res['p95_ms']} ms")
    del flat
    gc.collect()

    if "hnsw" in kinds:
        faiss.omp_set_num_threads(threads)
        t0 = time.perf_counter()
        hnsw = faiss.IndexHNSWFlat(d, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = hnsw_ef_construction
        for x in synthetic_chunks(base, n, sigma, seed):
            hnsw.add(x)
        build = time.perf_counter() - t0
        est = n * d * 4 + n * hnsw_m * 2 * 4 * 1.07
        info = {"params": f"IndexHNSWFlat M={hnsw_m} efConstruction={hnsw_ef_construction}",
                "build_s": round(build, 1), "memory_mb_estimate": round(est / 2**20, 1),
                "rss_delta_mb": round(_rss_mb() - rss0, 1), "sweep": {}}
        for ef in ef_search:
            info["sweep"][f"efSearch={ef}"] = _latency_recall(hnsw, queries, truth, k,
                                                              faiss.SearchParametersHNSW(efSearch=ef))
        out["indexes"]["hnsw"] = info
        log(f"scale hnsw: build {build:.1f}s, sweep {info['sweep']}")
        del hnsw
        gc.collect()

    train = None
    if "ivf_flat" in kinds or "ivf_pq" in kinds:
        train = _sample(base, n, sigma, min(n, 40 * nlist), seed)
    for kind in ("ivf_flat", "ivf_pq"):
        if kind not in kinds:
            continue
        faiss.omp_set_num_threads(threads)
        t0 = time.perf_counter()
        quantizer = faiss.IndexFlatIP(d)
        if kind == "ivf_flat":
            ivf = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
            params, est = f"IndexIVFFlat nlist={nlist}", n * (d * 4 + 8)
        else:
            ivf = faiss.IndexIVFPQ(quantizer, d, nlist, pq_m, 8, faiss.METRIC_INNER_PRODUCT)
            params, est = f"IndexIVFPQ nlist={nlist} m={pq_m}x8bit", n * (pq_m + 8)
        ivf.train(train)
        trained = time.perf_counter() - t0
        for x in synthetic_chunks(base, n, sigma, seed):
            ivf.add(x)
        build = time.perf_counter() - t0
        info = {"params": params, "train_vectors": int(len(train)), "train_s": round(trained, 1),
                "build_s": round(build, 1), "memory_mb_estimate": round((est + nlist * d * 4) / 2**20, 1),
                "rss_delta_mb": round(_rss_mb() - rss0, 1), "sweep": {}}
        for p in nprobe:
            info["sweep"][f"nprobe={p}"] = _latency_recall(ivf, queries, truth, k,
                                                           faiss.SearchParametersIVF(nprobe=p))
        out["indexes"][kind] = info
        log(f"scale {kind}: build {build:.1f}s, sweep {info['sweep']}")
        del ivf, quantizer
        gc.collect()
    out["load_avg_end"] = load_avg()
    out["best"] = best_approximate(out)
    return out


def best_approximate(res: dict, p50_target: float = 20.0, recall_target: float = 0.95) -> dict | None:
    """The fastest approximate setting meeting recall@10 >= target, and whether its p50 meets the target."""
    cands = []
    for kind, info in res["indexes"].items():
        for setting, r in info.get("sweep", {}).items():
            if r["recall_at_10"] >= recall_target:
                cands.append((r["p50_ms"], kind, setting, r))
    if not cands:
        return None
    p50, kind, setting, r = min(cands, key=lambda c: c[0])
    return {"index": kind, "setting": setting, **r, "meets_targets": p50 <= p50_target}
