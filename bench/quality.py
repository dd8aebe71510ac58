"""Retrieval quality per encoder backend: is a faster encoder as good as plain sentence-transformers?

* SciFact (BEIR, test split): dense retrieval only, nDCG@10 with ranx, every
  record embedded by each backend (windows of the record, best window counts,
  as the index does).
* The dev questions over the given index: the index's paragraphs re-embedded
  by each backend, searched with the real search engine (dense and hybrid),
  nDCG@10 against the graded gold paragraphs. Only questions whose gold
  documents are in the index count.

Vectors go into a benchmark embedding cache
(``~/.cache/parasearch/bench-embeddings.sqlite``), so a second run is quick;
throughput is measured elsewhere (:mod:`bench.encoders`) without any cache.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from pathlib import Path

import numpy as np

from bench.common import SCIFACT, all_paragraphs, dev_questions, log
from indexer.cache import EmbeddingCache, embed_sorted
from indexer.embed import Encoder, load_encoder
from parasearch.types import normalize_symbol

K = 10


def bench_cache_path() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "parasearch" / "bench-embeddings.sqlite"


def embed_windows(encoder: Encoder, texts: list[str], cache: EmbeddingCache | None) -> tuple[np.ndarray, np.ndarray]:
    """Vectors of every window of ``texts`` (length-sorted chunks, like the build) and each window's text row."""
    windows = encoder.windows_many(texts)
    flat = [w for ws in windows for w in ws]
    owner = np.repeat(np.arange(len(texts)), [len(ws) for ws in windows])
    vecs, _ = embed_sorted(encoder, flat, cache)
    return vecs, owner


def _record_text(title: str, text: str) -> str:
    title, text = (title or "").strip(), (text or "").strip()
    if not title or not text:
        return title or text
    return f"{title}{' ' if title[-1] in '.?!:;' else '. '}{text}"


def _ndcg(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]) -> float:
    from ranx import Qrels, Run, evaluate

    run = {q: (r if r else {"__none__": 0.0}) for q, r in run.items() if q in qrels}
    return float(evaluate(Qrels(qrels), Run(run), f"ndcg@{K}"))


def scifact(backends: list[str], folder: Path = SCIFACT, encoders: dict | None = None) -> dict:
    """Dense nDCG@10 on SciFact for each backend (the published MTEB figure for the model is 0.6451)."""
    if not (folder / "corpus.jsonl").is_file():
        return {"skipped": f"{folder} not found"}
    docs = [json.loads(x) for x in (folder / "corpus.jsonl").read_text().splitlines() if x.strip()]
    queries = {q["_id"]: q["text"] for q in map(json.loads, (folder / "queries.jsonl").read_text().splitlines())}
    qrels: dict[str, dict[str, int]] = {}
    for line in (folder / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        qid, did, score = line.split("\t")
        qrels.setdefault(qid, {})[did] = int(score)
    qids = [q for q in qrels if q in queries]
    texts = [_record_text(d.get("title", ""), d.get("text", "")) for d in docs]
    ids = [d["_id"] for d in docs]
    cache = EmbeddingCache(bench_cache_path(), 384)
    out: dict = {"documents": len(docs), "queries": len(qids), "metric": f"nDCG@{K} (dense only)", "backends": {}}
    try:
        for b in backends:
            enc = (encoders or {}).get(b) or load_encoder(backend=b)
            cache.dim = enc.dim
            log(f"quality scifact: embedding {len(texts)} records with {b}")
            vecs, owner = embed_windows(enc, texts, cache)
            qv = enc.encode([queries[q] for q in qids], batch_size=64)
            scores = qv @ vecs.T  # (queries, windows)
            best = np.full((len(qids), len(texts)), -np.inf, dtype=np.float32)
            np.maximum.at(best.T, owner, scores.T)
            top = np.argsort(-best, axis=1)[:, :100]
            run = {q: {ids[j]: float(best[i, j]) for j in top[i]} for i, q in enumerate(qids)}
            out["backends"][b] = {"ndcg@10": round(_ndcg(qrels, run), 4)}
            log(f"  {b}: nDCG@10 {out['backends'][b]['ndcg@10']}")
    finally:
        cache.close()
    _deltas(out)
    return out


def _norm_para(para: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(para)).strip().lower()).rstrip(".")


def _key(symbol: str, para: str) -> str:
    return f"{normalize_symbol(symbol)}#{_norm_para(para)}"


def dev(index_dir: Path, backends: list[str], encoders: dict | None = None,
        modes: tuple[str, ...] = ("dense", "hybrid")) -> dict:
    """nDCG@10 of the dev questions over ``index_dir``, the paragraphs re-embedded by each backend."""
    import faiss

    from service.engine import load_engine

    questions = dev_questions()
    if not questions:
        return {"skipped": "no dev questions found"}
    cache = EmbeddingCache(bench_cache_path(), 384)
    out: dict = {"index": str(index_dir), "metric": f"nDCG@{K}", "backends": {}}
    try:
        for b in backends:
            enc = (encoders or {}).get(b) or load_encoder(backend=b)
            engine = load_engine(Path(index_dir), backend=b)
            engine.encoder = enc
            ix = engine.index
            present = [q for q in questions
                       if all(normalize_symbol(g["symbol"]) in ix.key_to_docs for g in q["relevant"])]
            out["questions"] = len(present)
            out["questions_all"] = len(questions)
            if not present:
                return {**out, "skipped": "no dev question has its gold documents in this index"}
            texts = all_paragraphs(Path(index_dir))
            if b == ix.model.get("backend", "torch") and isinstance(ix.faiss, faiss.IndexFlat):
                log(f"quality dev: the index's own vectors ({b})")  # exact search already
            else:
                log(f"quality dev: embedding {len(texts)} paragraphs with {b}")
                vecs, owner = embed_windows(enc, texts, cache)
                if not np.array_equal(owner, ix.vec2para):
                    raise RuntimeError("windows differ from the index's; was it built with another model?")
                flat = faiss.IndexFlatIP(enc.dim)
                flat.add(vecs)
                ix.faiss = flat
            qrels = {q["id"]: {_key(g["symbol"], g["para"]): int(g.get("grade", 1)) for g in q["relevant"]}
                     for q in present}
            row: dict = {}
            for mode in modes:
                run: dict[str, dict[str, float]] = {}
                for q in present:
                    res = engine.search(q["query"], k=K, mode=mode, snippets=False)
                    gold = qrels[q["id"]]
                    r: dict[str, float] = {}
                    for h in res.hits:
                        keys = [_key(h.row.symbol, h.row.para)] + [_key(a.symbol, a.para) for a in h.also_in]
                        key = next((x for x in keys if x in gold), keys[0])
                        r.setdefault(key, float(K - h.rank + 1))
                    run[q["id"]] = r
                row[f"{mode}_ndcg@10"] = round(_ndcg(qrels, run), 4)
            out["backends"][b] = row
            log(f"  {b}: {row}")
            del engine, ix
    finally:
        cache.close()
    _deltas(out)
    return out


def _deltas(out: dict) -> None:
    """Each backend's score minus the reference's (torch, else the first backend), per metric."""
    if not out["backends"]:
        return
    ref = "torch" if "torch" in out["backends"] else next(iter(out["backends"]))
    out["reference"] = ref
    base = out["backends"][ref]
    for b, row in out["backends"].items():
        if b != ref:
            row["delta"] = {m: round(v - base[m], 4) for m, v in list(row.items())
                            if isinstance(v, float) and m in base}
