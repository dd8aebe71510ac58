"""Small helpers shared by the benchmark sections: timing, percentiles, the machine, the data."""

from __future__ import annotations

import json
import os
import platform
import random
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from parasearch import indexfiles
from parasearch.config import REPO_ROOT

SHARED = REPO_ROOT.parent / "shared"
DEV_QUESTIONS = SHARED / "eval" / "dev_questions.jsonl"
SCIFACT = SHARED / "bench" / "scifact"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def percentiles(ms: list[float] | np.ndarray) -> dict[str, float]:
    a = np.asarray(ms, dtype=np.float64)
    if a.size == 0:
        return {"n": 0}
    p50, p95, p99 = np.percentile(a, [50, 95, 99])
    return {"n": int(a.size), "mean": round(float(a.mean()), 3), "p50": round(float(p50), 3),
            "p95": round(float(p95), 3), "p99": round(float(p99), 3), "max": round(float(a.max()), 3)}


@dataclass
class Clock:
    """Wall time and this process's CPU time (all threads) over a block."""

    wall: float = 0.0
    cpu: float = 0.0


@contextmanager
def clock() -> Iterator[Clock]:
    c = Clock()
    w0, c0 = time.perf_counter(), time.process_time()
    try:
        yield c
    finally:
        c.wall = time.perf_counter() - w0
        c.cpu = time.process_time() - c0


@contextmanager
def encoder_threads(threads: int | None) -> Iterator[None]:
    """Encoders loaded inside use ``threads`` threads (PyTorch for the process, ONNX Runtime per session)."""
    if not threads:
        yield
        return
    import torch

    saved_torch, saved_env = torch.get_num_threads(), os.environ.get("PARASEARCH_ONNX_THREADS")
    torch.set_num_threads(threads)
    os.environ["PARASEARCH_ONNX_THREADS"] = str(threads)
    try:
        yield
    finally:
        torch.set_num_threads(saved_torch)
        if saved_env is None:
            os.environ.pop("PARASEARCH_ONNX_THREADS", None)
        else:
            os.environ["PARASEARCH_ONNX_THREADS"] = saved_env


def simd_level(flags: set[str]) -> str:
    """The widest vector instructions the CPU has (from /proc/cpuinfo's flags)."""
    for flag, name in (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"), ("sse4_2", "SSE4.2"),
                       ("asimd", "NEON")):
        if flag in flags:
            return name
    return "none known"


def memory_bandwidth(mb: int = 256, repeats: int = 5) -> float:
    """Memory bandwidth in GB/s from the best of ``repeats`` copies of an ``mb`` MB array (bytes read plus bytes
    written): a flat index scan reads its vectors from memory, so this bounds how fast exact search can be here."""
    import numpy as np

    src = np.ones(mb * 2**20 // 8, dtype=np.float64)
    dst = np.empty_like(src)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - t0)
    return round(2 * src.nbytes / best / 1e9, 1)


def machine() -> dict:
    """What the figures were measured on, and how busy it was."""
    info: dict = {"python": platform.python_version(), "platform": platform.platform()}
    try:
        info["cores_usable"] = len(os.sched_getaffinity(0))
    except AttributeError:
        info["cores_usable"] = os.cpu_count()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and "cpu" not in info:
                info["cpu"] = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and "simd" not in info:
                info["simd"] = simd_level(set(line.split(":", 1)[1].split()))
    except OSError:
        pass
    try:
        import faiss

        info["faiss_simd"] = faiss.get_compile_options().strip()  # the kernels FAISS was built with (e.g. AVX2)
    except (ImportError, AttributeError):
        pass
    info["memory_copy_gb_s"] = memory_bandwidth()
    try:
        import psutil

        info["memory_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    info["load_avg"] = [round(x, 2) for x in os.getloadavg()]
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for dist in ("torch", "sentence-transformers", "transformers", "onnxruntime", "faiss-cpu", "bm25s", "numpy",
                 "fastapi", "uvicorn", "txtai"):
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            versions[dist] = None
    info["versions"] = versions
    return info


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def sample_paragraphs(index_dir: Path, n: int, seed: int = 0) -> list[str]:
    """``n`` paragraph texts drawn at random (seeded) from the index's store."""
    gen = indexfiles.current_generation(Path(index_dir))
    db = sqlite3.connect(f"file:{gen / indexfiles.STORE}?mode=ro", uri=True)
    try:
        total = db.execute("SELECT COUNT(*) FROM paragraphs").fetchone()[0]
        ids = sorted(random.Random(seed).sample(range(total), min(n, total)))
        out: list[str] = []
        for i in range(0, len(ids), 900):
            chunk = ids[i : i + 900]
            q = f"SELECT text FROM paragraphs WHERE id IN ({','.join('?' * len(chunk))})"
            out += [r[0] for r in db.execute(q, chunk)]
    finally:
        db.close()
    random.Random(seed + 1).shuffle(out)
    return out


def all_paragraphs(index_dir: Path) -> list[str]:
    gen = indexfiles.current_generation(Path(index_dir))
    db = sqlite3.connect(f"file:{gen / indexfiles.STORE}?mode=ro", uri=True)
    try:
        return [r[0] for r in db.execute("SELECT text FROM paragraphs ORDER BY id")]
    finally:
        db.close()


def dev_questions(path: Path = DEV_QUESTIONS) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


_LEAD = re.compile(r"^\s*(?:\(?[0-9ivxlcA-Za-z]{1,4}[.)]\s+)+")
_SENT_END = re.compile(r"(?<=[.;:!?])\s+")


def first_sentence_queries(texts: list[str], n: int, seed: int = 1, max_words: int = 24) -> list[str]:
    """Queries made of the first sentence of random paragraphs (numbering stripped, at most ``max_words``)."""
    rng = random.Random(seed)
    order = list(range(len(texts)))
    rng.shuffle(order)
    out: list[str] = []
    seen: set[str] = set()
    for i in order:
        text = _LEAD.sub("", texts[i]).strip()
        sent = _SENT_END.split(text, maxsplit=1)[0]
        words = sent.split()
        if len(words) < 4:
            continue
        q = " ".join(words[:max_words]).rstrip(",;:")
        if q.lower() in seen:
            continue
        seen.add(q.lower())
        out.append(q)
        if len(out) >= n:
            break
    return out


def query_set(index_dir: Path, n: int, seed: int = 1) -> tuple[list[str], int]:
    """The dev questions, then generated queries, ``n`` in all (distinct); and how many are dev questions."""
    dev = [q["query"] for q in dev_questions()]
    need = max(0, n - len(dev))
    texts = sample_paragraphs(index_dir, max(need * 3, 50), seed=seed + 100)
    gen = [q for q in first_sentence_queries(texts, need * 2, seed=seed) if q not in dev][:need]
    return (dev + gen)[:n], min(len(dev), n)


def timed_loop(fn: Callable[[], object], *, seconds: float, max_iter: int) -> list[float]:
    """Call ``fn`` until ``seconds`` pass or ``max_iter`` calls; milliseconds per call."""
    out: list[float] = []
    end = time.perf_counter() + seconds
    while len(out) < max_iter and time.perf_counter() < end:
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out
