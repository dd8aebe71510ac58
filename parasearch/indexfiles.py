"""The index directory: its layout, its SQLite schema, and the atomic swap.

An index directory ``DIR`` holds generations; ``DIR/CURRENT`` names the one in
use. A build writes a new generation ``DIR/gen-<time>`` completely, then
replaces ``CURRENT`` with ``os.replace`` (atomic on POSIX): a reader sees the
old index or the new one, never half of one, and a failed build leaves the old
one in place. Each generation holds:

* ``manifest.json``  model (name, identity, dimension), counts, build time,
  per-file content hashes, problems met while indexing
* ``vectors.faiss``  one vector per paragraph window (inner product on
  normalized vectors = cosine), of the index's first model (its first dense arm)
* ``vec2para.npy``   paragraph row of each vector
* ``vectors-N.faiss``, ``vec2para-N.npy``  the same for the N-th other model,
  when the index was built with several (``models`` in the manifest)
* ``store.sqlite``   documents and paragraphs with all metadata
* ``bm25/``          the bm25s index over paragraphs (row order = paragraph id)
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path

FORMAT_VERSION = 1
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"
VEC2PARA = "vec2para.npy"
STORE = "store.sqlite"


def arm_files(arm: int) -> tuple[str, str]:
    """(vectors, vec2para) file names of dense arm ``arm`` (0: the first model, ``model`` in the manifest)."""
    return (VECTORS, VEC2PARA) if arm == 0 else (f"vectors-{arm}.faiss", f"vec2para-{arm}.npy")
BM25_DIR = "bm25"

SCHEMA = """
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,          -- 0-based, dense
    symbol TEXT NOT NULL,
    symbol_key TEXT NOT NULL,        -- parasearch.types.normalize_symbol(symbol)
    title TEXT NOT NULL,
    date TEXT,
    body TEXT,
    type TEXT,
    language TEXT NOT NULL,
    source TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    n_paragraphs INTEGER NOT NULL
);
CREATE UNIQUE INDEX documents_symbol_lang ON documents(symbol_key, language);
CREATE TABLE paragraphs (
    id INTEGER PRIMARY KEY,          -- 0-based, dense; = bm25 row
    doc_id INTEGER NOT NULL REFERENCES documents(id),
    ord INTEGER NOT NULL,            -- position in the document
    para TEXT NOT NULL,              -- locator printed in the document (see parasearch.types)
    kind TEXT NOT NULL,
    section TEXT NOT NULL,
    text TEXT NOT NULL,
    n_tokens INTEGER NOT NULL,       -- tiktoken cl100k_base
    n_windows INTEGER NOT NULL,      -- embedding windows (1 unless longer than the model's window)
    text_key TEXT NOT NULL           -- hash of the normalized text: finds repeated paragraphs
);
CREATE UNIQUE INDEX paragraphs_doc_para ON paragraphs(doc_id, para);
CREATE INDEX paragraphs_text_key ON paragraphs(text_key);
"""


class IndexError_(Exception):
    """The index directory is missing, incomplete or incompatible; the message says why."""


def current_generation(index_dir: Path) -> Path:
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        raise IndexError_(f"no index at {index_dir} (run `parasearch index PATH --index {index_dir}` first)")
    gen = index_dir / pointer.read_text().strip()
    if not (gen / MANIFEST).is_file():
        raise IndexError_(f"index at {index_dir} is incomplete: {gen.name} has no {MANIFEST}")
    return gen


def read_manifest(index_dir: Path) -> dict:
    return json.loads((current_generation(index_dir) / MANIFEST).read_text())


def new_generation(index_dir: Path) -> Path:
    index_dir.mkdir(parents=True, exist_ok=True)
    # Unique even for two builds in the same second in one process.
    name = time.strftime("gen-%Y%m%dT%H%M%S") + f"-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    gen = index_dir / (name + ".tmp")
    gen.mkdir()
    return gen


def publish(index_dir: Path, tmp_gen: Path) -> Path:
    """Make the fully written ``tmp_gen`` current, atomically; drop older generations."""
    final = tmp_gen.with_suffix("")
    tmp_gen.rename(final)
    pointer_tmp = index_dir / (CURRENT + ".tmp")
    pointer_tmp.write_text(final.name + "\n")
    with open(pointer_tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(pointer_tmp, index_dir / CURRENT)
    for old in index_dir.glob("gen-*"):
        if old != final and old.is_dir() and not old.name.endswith(".tmp"):  # .tmp: a build in progress
            shutil.rmtree(old, ignore_errors=True)
    return final


def discard(tmp_gen: Path) -> None:
    shutil.rmtree(tmp_gen, ignore_errors=True)
