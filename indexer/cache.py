"""Embedding cache: vectors keyed by model identity and the exact text embedded.

A rebuild re-embeds only paragraphs (or windows) whose text changed. The cache
is a SQLite file (default ``<index parent>/.embedding-cache.sqlite``, or any
path the user gives with ``--cache``); it survives index rebuilds and swaps.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from indexer.embed_base import Encoder
from parasearch.types import Document, Paragraph, ParsedDocument

_CHUNK = 900  # SQLite's host-parameter limit is 999 on old builds


def text_key(identity: str, text: str) -> bytes:
    return hashlib.blake2b(f"{identity}\x00{text}".encode(), digest_size=20).digest()


def cache_identity(encoder: Encoder) -> str:
    """What cached vectors are keyed on: the model's identity and, but for torch, the backend.

    Backends differ in their vectors (int8 weights, float rounding), so each
    has its own entries; torch keeps the plain identity, so caches written
    before backends existed stay valid.
    """
    backend: str = getattr(encoder, "backend", "torch")
    return encoder.identity if backend == "torch" else f"{encoder.identity}#{backend}"


class EmbeddingCache:
    def __init__(self, path: Path, dim: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.dim = dim
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS emb (key BLOB PRIMARY KEY, vec BLOB NOT NULL)")
        # Per paragraph text: tiktoken count and the character spans of its embedding windows.
        self.db.execute("CREATE TABLE IF NOT EXISTS prepared (key BLOB PRIMARY KEY, n_tokens INTEGER NOT NULL, "
                        "spans TEXT NOT NULL)")

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


def prepare_with_cache(encoder: Encoder, texts: list[str],
                       cache: EmbeddingCache | None) -> tuple[list[int], list[list[str]]]:
    """Token counts (tiktoken) and embedding windows of ``texts``, taking what the cache has."""
    from indexer.tokens import count_tokens

    if cache is None:
        return count_tokens(texts), encoder.windows_many(texts)
    ident = "prep\x00" + cache_identity(encoder)
    keys = [text_key(ident, t) for t in texts]
    found: dict[bytes, tuple[int, Sequence[Sequence[int]]]] = {}  # n_tokens, window spans
    uniq = list(dict.fromkeys(keys))
    for i in range(0, len(uniq), _CHUNK):
        chunk = uniq[i : i + _CHUNK]
        q = f"SELECT key, n_tokens, spans FROM prepared WHERE key IN ({','.join('?' * len(chunk))})"
        for key, n, spans_json in cache.db.execute(q, chunk):
            found[key] = (n, json.loads(spans_json))
    missing = [i for i, k in enumerate(keys) if k not in found]
    if missing:
        m_texts = [texts[i] for i in missing]
        counts, wins = count_tokens(m_texts), encoder.windows_many(m_texts)
        rows = []
        for i, t, n, ws in zip(missing, m_texts, counts, wins, strict=True):
            spans: list[tuple[int, int]] = []
            pos = 0
            for w in ws:  # windows are verbatim, overlapping slices in order
                start = t.index(w, pos)
                spans.append((start, start + len(w)))
                pos = start + 1
            found[keys[i]] = (n, spans)
            rows.append((keys[i], n, json.dumps(spans)))
        with cache.db:
            cache.db.executemany("INSERT OR REPLACE INTO prepared (key, n_tokens, spans) VALUES (?, ?, ?)", rows)
    n_tokens = [found[k][0] for k in keys]
    windows = [[t[a:b] for a, b in found[k][1]] for t, k in zip(texts, keys, strict=True)]
    return n_tokens, windows


def embed_with_cache(encoder: Encoder, texts: list[str], cache: EmbeddingCache | None, *, batch_size: int = 64,
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


def _reader_version() -> str:
    """Hash of the code that turns files into paragraphs: a change to it invalidates parsed documents."""
    import parasearch.types
    from indexer import paragraphs, readers

    h = hashlib.blake2b(digest_size=12)
    sources = [Path(paragraphs.__file__), Path(parasearch.types.__file__),
               *sorted(Path(readers.__file__).parent.glob("*.py"))]
    for f in sources:
        h.update(f.read_bytes())
    return h.hexdigest()


class ParseCache:
    """Parsed documents keyed by file content, manifest metadata and the readers' code.

    Lives in the embedding cache's SQLite file. A rebuild of an unchanged corpus
    then neither parses nor embeds again; files that failed are always read again.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS parsed (key BLOB PRIMARY KEY, doc TEXT NOT NULL)")
        self.version = _reader_version()

    def key(self, digest: str, meta: Mapping[str, Any]) -> bytes:
        raw = f"{self.version}\x00{digest}\x00{json.dumps(meta, sort_keys=True, ensure_ascii=False)}"
        return hashlib.blake2b(raw.encode(), digest_size=20).digest()

    def get(self, key: bytes) -> ParsedDocument | None:
        row = self.db.execute("SELECT doc FROM parsed WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        d = json.loads(row[0])
        return ParsedDocument(Document(**d["doc"]), [Paragraph(**p) for p in d["paragraphs"]], d["warnings"])

    def put(self, key: bytes, parsed: ParsedDocument) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO parsed (key, doc) VALUES (?, ?)",
                            (key, json.dumps(asdict(parsed), ensure_ascii=False)))

    def close(self) -> None:
        self.db.close()


EMBED_CHUNK = 1024  # texts per progress step (each chunk is length-homogeneous)


def embed_sorted(encoder: Encoder, texts: list[str], cache: EmbeddingCache | None, *, batch_size: int = 64,
                 progress: bool = False) -> tuple[np.ndarray, int]:
    """Embed ``texts`` in length-sorted chunks (batches of similar length pad less), through the cache.

    Returns the vectors in the order of ``texts`` and how many were embedded now (not from the cache).
    """
    from parasearch.progress import progress_bar

    order = np.argsort([len(t) for t in texts], kind="stable")
    vectors = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    fresh_total = 0
    with progress_bar(total=len(texts), desc="Embedding", unit="para", disable=not progress, smoothing=0.1) as bar:
        for start in range(0, len(order), EMBED_CHUNK):
            idx = order[start : start + EMBED_CHUNK]
            vectors[idx], fresh = embed_with_cache(encoder, [texts[i] for i in idx], cache, batch_size=batch_size)
            fresh_total += fresh
            bar.update(len(idx))
    return vectors, fresh_total
