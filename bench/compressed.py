"""Fewer bytes per query: the flat scan over float32 vectors against compressed scans (8-bit scalar quantizer,
fp16) re-scored exactly, and the index's own HNSW, on one index's real vectors and real questions.

    python -m bench.compressed --index .index/full-en-dual-ctx [--rescore 50] [--repeats 3]

For each dense arm: the vectors are read back from the index; the queries are the development questions and the
project's question sets (eval/question_sets), encoded by that arm's model. Each query is searched alone on one
thread (as the service does, PARASEARCH_FAISS_THREADS=1). Reported: p50/p95 ms per query, bytes per vector, and
recall of the exact top 10 (flat float32) after re-scoring the compressed scan's top ``--rescore`` candidates with
the float32 vectors. The machine line says what it ran on (CPU, SIMD, memory bandwidth): a flat scan is bound by
memory bandwidth, so figures from other machines differ.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from bench.common import DEV_QUESTIONS, machine, percentiles
from parasearch.config import REPO_ROOT


def _questions() -> list[str]:
    texts: list[str] = []
    for path in [DEV_QUESTIONS, *sorted((REPO_ROOT / "eval" / "question_sets").glob("*.jsonl"))]:
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                text = row.get("query") or row.get("question")
                if text:
                    texts.append(str(text))
    return texts


def _vectors(index) -> np.ndarray:  # noqa: ANN001 (a faiss index)
    import faiss

    store = faiss.downcast_index(index.storage) if isinstance(index, faiss.IndexHNSW) else index
    return np.asarray(store.reconstruct_n(0, store.ntotal), dtype=np.float32)


def _time(search, queries: np.ndarray, repeats: int) -> tuple[dict[str, float], list[np.ndarray]]:  # noqa: ANN001
    out: list[np.ndarray] = []
    ms: list[float] = []
    for r in range(repeats):
        for q in queries:
            t0 = time.perf_counter()
            ids = search(q[None, :])
            ms.append((time.perf_counter() - t0) * 1000)
            if r == 0:
                out.append(ids)
    return percentiles(ms), out


def _recall(found: list[np.ndarray], exact: list[np.ndarray], k: int = 10) -> float:
    return float(np.mean([len(set(f[:k].tolist()) & set(e[:k].tolist())) / k for f, e in zip(found, exact,
                                                                                              strict=True)]))


def run(index_dir: Path, rescore: int, repeats: int) -> dict[str, object]:
    import faiss

    from service.engine import load_engine

    faiss.omp_set_num_threads(1)
    engine = load_engine(index_dir, reranker=None)
    texts = _questions()
    arms: list[dict[str, object]] = []
    report: dict[str, object] = {"machine": machine(), "index": str(index_dir), "queries": len(texts),
                                 "rescore": rescore, "arms": arms}
    for arm, (index, _) in enumerate(engine.index.arms):
        X = _vectors(index)
        n, d = X.shape
        Q = np.asarray(engine.encoders[arm].encode_queries(texts), dtype=np.float32)
        flat = faiss.IndexFlatIP(d)
        flat.add(X)

        def exact(q: np.ndarray, idx=flat) -> np.ndarray:  # noqa: ANN001
            return idx.search(q, 10)[1][0]

        base, truth = _time(exact, Q, repeats)
        rows = [{"index": "flat float32", "bytes_per_vector": 4 * d, **base, "recall@10": 1.0}]
        for name, qtype in (("SQ8 + re-score", faiss.ScalarQuantizer.QT_8bit),
                            ("fp16 + re-score", faiss.ScalarQuantizer.QT_fp16)):
            sq = faiss.IndexScalarQuantizer(d, qtype, faiss.METRIC_INNER_PRODUCT)
            sq.train(X)
            sq.add(X)

            def compressed(q: np.ndarray, idx=sq, X=X) -> np.ndarray:  # noqa: ANN001, N803
                cand = idx.search(q, rescore)[1][0]
                cand = cand[cand >= 0]
                return cand[np.argsort(-(X[cand] @ q[0]), kind="stable")][:10]

            stats, found = _time(compressed, Q, repeats)
            rows.append({"index": name, "bytes_per_vector": sq.code_size, **stats,
                         "recall@10": round(_recall(found, truth), 4)})
        if isinstance(index, faiss.IndexHNSW):
            index.hnsw.efSearch = 128

            def hnsw(q: np.ndarray, idx=index, X=X) -> np.ndarray:  # noqa: ANN001, N803
                cand = idx.search(q, rescore)[1][0]
                cand = cand[cand >= 0]
                return cand[np.argsort(-(X[cand] @ q[0]), kind="stable")][:10]

            stats, found = _time(hnsw, Q, repeats)
            rows.append({"index": "the index's HNSW (efSearch 128) + re-score", "bytes_per_vector": None, **stats,
                         "recall@10": round(_recall(found, truth), 4)})
        arms.append({"model": engine.encoders[arm].name, "vectors": n, "dim": d, "rows": rows})
    return report


def render(report: dict[str, object]) -> str:
    m = report["machine"]
    assert isinstance(m, dict)
    lines = [f"Machine: {m.get('cpu')}, {m.get('cores_usable')} cores, {m.get('simd')}, memory copy "
             f"{m.get('memory_copy_gb_s')} GB/s, load {m.get('load_avg')}; {report['queries']} queries, one thread, "
             f"re-scoring the top {report['rescore']}.", ""]
    for arm in report["arms"]:  # type: ignore[attr-defined]
        lines += [f"{arm['model']} ({arm['vectors']:,} x {arm['dim']}):", "",
                  "| index | bytes/vector | p50 ms | p95 ms | recall of the exact top 10 |",
                  "|---|---:|---:|---:|---:|"]
        for r in arm["rows"]:
            lines.append(f"| {r['index']} | {r['bytes_per_vector'] or ''} | {r['p50']:.3f} | {r['p95']:.3f} | "
                         f"{r['recall@10']:.4f} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--rescore", type=int, default=50, help="candidates of a compressed scan re-scored exactly")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", type=Path, help="also write the report as JSON here")
    args = p.parse_args()
    report = run(args.index, args.rescore, args.repeats)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print(render(report))


if __name__ == "__main__":
    main()
