"""Indexing: embedding throughput of each encoder backend on the same paragraphs, and a warm-cache rebuild."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import clock, encoder_threads, load_avg, log, sample_paragraphs
from indexer.embed import DEFAULT_BACKEND, load_encoder
from parasearch.config import REPO_ROOT


def split_spec(spec: str) -> tuple[str | None, str]:
    """``"onnx"`` -> (None, "onnx"): the default model; ``"multilingual-e5-small:onnx-int8"`` -> (model, backend)."""
    model, _, backend = spec.rpartition(":")
    return (model or None), backend


def encoder_throughput(index_dir: Path, n: int, backends: list[str], *, rounds: int = 2,
                       batch_size: int = 64, threads: int | None = None) -> dict:
    """Paragraphs/s of each encoder embedding the windows of the same ``n`` paragraphs.

    An entry of ``backends`` is a backend (``onnx``: the default model run by
    it) or ``MODEL:BACKEND`` (``multilingual-e5-small:onnx-int8``), so models
    are compared on the same paragraphs. Each model cuts its own windows.
    Rounds are interleaved (A B C A B C) so that a burst of load from other
    processes hits every encoder alike; the best round counts (least
    disturbed), and CPU seconds per paragraph are reported beside wall time.
    ``threads`` sets the threads of every backend (PyTorch's intra-op threads,
    ONNX Runtime's); default: each backend's own default (all usable cores).
    """
    texts = sample_paragraphs(index_dir, n)
    encoders = {}
    load_s = {}
    with encoder_threads(threads):
        for b in backends:
            model, backend = split_spec(b)
            with clock() as c:
                encoders[b] = load_encoder(model, backend=backend)
            load_s[b] = round(c.wall, 2)
        return _throughput(texts, encoders, load_s, backends, rounds, batch_size, threads)


def _throughput(texts: list[str], encoders: dict, load_s: dict, backends: list[str], rounds: int, batch_size: int,
                threads: int | None) -> dict:
    # Windows per model (its own tokenizer and window length); backends of one model share them.
    flats: dict[str, list[str]] = {}
    for enc in encoders.values():
        if enc.name not in flats:
            flats[enc.name] = [w for ws in enc.windows_many(texts) for w in ws]
    first = encoders[backends[0]]
    windows = first.windows_many(texts)
    flat = flats[first.name]
    first_win = np.cumsum([0] + [len(ws) for ws in windows])[:-1]
    n_tokens = int(sum(first.token_lengths(flat)))
    log(f"encoders: {len(texts)} paragraphs, {len(flat)} windows, {n_tokens} word pieces; backends {backends}")
    for enc in encoders.values():  # warm-up: first-call allocations, lazy initialisation
        enc.encode(flats[enc.name][:32], batch_size=batch_size)
    runs: dict[str, list[dict]] = {b: [] for b in backends}
    vecs: dict[str, np.ndarray] = {}
    query_ms: dict[str, float] = {}
    for r in range(rounds):
        for b in backends:
            with clock() as c:
                v = encoders[b].encode(flats[encoders[b].name], batch_size=batch_size)
            vecs[b] = v
            runs[b].append({"wall_s": round(c.wall, 3), "cpu_s": round(c.cpu, 3), "load_avg": load_avg()[0]})
            log(f"  round {r + 1} {b}: {len(texts) / c.wall:.1f} paragraphs/s (wall {c.wall:.1f}s, cpu {c.cpu:.1f}s)")
    out: dict = {"paragraphs": len(texts), "windows": len(flat), "word_pieces": n_tokens, "batch_size": batch_size,
                 "rounds": rounds, "threads": threads or "default (all usable cores)",
                 "default_backend": DEFAULT_BACKEND, "backends": {}}
    questions = [f"What did the Council decide in {2020 + i % 7} about item {i}?" for i in range(40)]
    for b in backends:  # one question at a time, as the service embeds them
        lat = []
        for q in questions:
            t0 = time.perf_counter()
            encoders[b].encode_queries([q], batch_size=1)
            lat.append(1000 * (time.perf_counter() - t0))
        query_ms[b] = round(float(np.median(lat[5:])), 2)
    ref = vecs.get("torch")
    for b in backends:
        best = min(runs[b], key=lambda x: x["wall_s"])
        row = {
            "model": encoders[b].name,
            "load_s": load_s[b],
            "paragraphs_per_s": round(len(texts) / best["wall_s"], 1),
            "windows_per_s": round(len(flats[encoders[b].name]) / best["wall_s"], 1),
            "query_ms_p50": query_ms[b],
            "cpu_ms_per_paragraph": round(1000 * min(x["cpu_s"] for x in runs[b]) / len(texts), 2),
            "runs": runs[b],
        }
        for attr in ("threads", "token_budget"):
            if hasattr(encoders[b], attr):
                row[attr] = getattr(encoders[b], attr)
        if b == "torch":
            import torch

            row["threads"] = torch.get_num_threads()
        if ref is not None and encoders[b].name == encoders["torch"].name:
            cos = np.sum(ref * vecs[b], axis=1)
            para_cos = cos[first_win]
            row["cosine_vs_torch"] = {"mean": round(float(cos.mean()), 6), "min": round(float(cos.min()), 6),
                                      "p01": round(float(np.percentile(cos, 1)), 6),
                                      "first_window_mean": round(float(para_cos.mean()), 6)}
        out["backends"][b] = row
    if "torch" in out["backends"]:
        base = out["backends"]["torch"]
        for row in out["backends"].values():
            row["speedup_wall"] = round(row["paragraphs_per_s"] / base["paragraphs_per_s"], 2)
            row["speedup_cpu"] = round(base["cpu_ms_per_paragraph"] / row["cpu_ms_per_paragraph"], 2)
    return out


_TIME = re.compile(r"Time: (.*)")
_COUNTS = re.compile(r"Indexed (\d+) documents, (\d+) paragraphs \((\d+) vectors, (\d+) embedded now")


def _index_once(paths: list[Path], index: Path, cache: Path, backend: str | None) -> dict:
    cmd = [sys.executable, "-m", "parasearch.cli", "index", *map(str, paths), "--index", str(index),
           "--cache", str(cache), "--quiet"]
    if backend:
        cmd += ["--encoder", backend]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, env={**os.environ})
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"parasearch index failed ({proc.returncode}): {proc.stderr[-2000:]}")
    res: dict = {"wall_s": round(wall, 2), "load_avg": load_avg()[0]}
    m = _COUNTS.search(proc.stderr)
    if m:
        res.update(documents=int(m[1]), paragraphs=int(m[2]), vectors=int(m[3]), embedded_now=int(m[4]))
    m = _TIME.search(proc.stderr)
    if m:
        res["stages_s"] = {k: float(v.rstrip("s")) for k, v in (p.split(" ") for p in m[1].split(", "))}
    return res


def rebuild(corpus: Path, n_files: int | None, backend: str | None) -> dict:
    """``parasearch index`` of a corpus folder twice into a fresh index and cache: cold, then unchanged (warm)."""
    files = sorted(p for p in corpus.rglob("*") if p.is_file() and p.suffix.lower() in (".xml", ".txt", ".md"))
    if n_files:
        files = files[:n_files]
    if not files:
        raise RuntimeError(f"no documents under {corpus}")
    tmp = Path(tempfile.mkdtemp(prefix="parasearch-bench-rebuild-"))
    try:
        index, cache = tmp / "index", tmp / "cache.sqlite"
        log(f"rebuild: {len(files)} files of {corpus}, backend {backend or 'default'}: cold build")
        cold = _index_once(files, index, cache, backend)
        log(f"  cold {cold['wall_s']}s; warm rebuild")
        warm = _index_once(files, index, cache, backend)
        log(f"  warm {warm['wall_s']}s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"corpus": str(corpus), "files": len(files), "backend": backend or DEFAULT_BACKEND, "cold": cold,
            "warm": warm, "warm_over_cold": round(warm["wall_s"] / cold["wall_s"], 3)}
