"""Embedding cache: vectors keyed by model identity and the exact text embedded.

A rebuild re-embeds only paragraphs (or windows) whose text changed. The cache
is a SQLite file (default ``<index parent>/.embedding-cache.sqlite``, or any
path the user gives with ``--cache``); it survives index rebuilds and swaps.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import numpy as np

_CHUNK = 900  # SQLite's host-parameter limit is 999 on old builds


def text_key(identity: str, text: str) -> bytes:
    return hashlib.blake2b(f"{identity}\x00{text}".encode(), digest_size=20).digest()


def cache_identity(encoder) -> str:
    """What cached vectors are keyed on: the model's identity and, but for torch, the backend.

    Backends differ in their vectors (int8 weights, float rounding), so each
    has its own entries; torch keeps the plain identity, so caches written
    before backends existed stay valid.
    """
    backend = getattr(encoder, "backend", "torch")
    return encoder.identity if backend == "torch" else f"{encoder.identity}#{backend}"


class EmbeddingCache:
    def __init__(self, path: Path, dim: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.dim = dim
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS emb (key BLOB PRIMARY KEY, vec BLOB NOT NULL)")

    def get_many(self, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i : i + _CHUNK]
            q = f"SELECT key, vec FROM emb WHERE key IN ({','.join('?' * len(chunk))})"
            for key, blob in self.db.execute(q, chunk):
                vec = np.frombuffer(blob, dtype=np.float32)
                if vec.shape[0] == self.dim:
                    found[key] = vec
        return found

    def put_many(self, keys: list[bytes], vecs: np.ndarray) -> None:
        rows = [(k, np.ascontiguousarray(v, dtype=np.float32).tobytes()) for k, v in zip(keys, vecs, strict=True)]
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO emb (key, vec) VALUES (?, ?)", rows)

    def close(self) -> None:
        self.db.close()


def embed_with_cache(encoder, texts: list[str], cache: EmbeddingCache | None, *, batch_size: int = 64,
                     progress: bool = False) -> tuple[np.ndarray, int]:
    """Embed ``texts``, taking what the cache has; returns (vectors, number embedded now)."""
    out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    if cache is None:
        out[:] = encoder.encode(texts, batch_size=batch_size, progress=progress)
        return out, len(texts)
    ident = cache_identity(encoder)
    keys = [text_key(ident, t) for t in texts]
    found = cache.get_many(list(dict.fromkeys(keys)))
    missing = [i for i, k in enumerate(keys) if k not in found]
    for i, k in enumerate(keys):
        if k in found:
            out[i] = found[k]
    if missing:
        # Embed each distinct missing text once.
        uniq: dict[bytes, int] = {}
        for i in missing:
            uniq.setdefault(keys[i], i)
        order = list(uniq.values())
        vecs = encoder.encode([texts[i] for i in order], batch_size=batch_size, progress=progress)
        cache.put_many([keys[i] for i in order], vecs)
        pos = {keys[i]: j for j, i in enumerate(order)}
        out[missing] = vecs[[pos[keys[i]] for i in missing]]
    return out, len(missing)
