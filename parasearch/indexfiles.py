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
* ``terms.npz``      every paragraph's analysed BM25 terms (ids into ``vocab``, with offsets), so that an
  incremental update (:mod:`indexer.update`) rebuilds BM25 without analysing the corpus again; indexes built
  before it have none and are analysed again once

Generations are kept: the current one and the ``keep`` newest before it
(``PARASEARCH_KEEP_GENERATIONS``, default 3 in all), so ``parasearch rollback``
can go back and a server still serving an older one keeps its files. A writer
(a build, an update, a rollback) holds ``DIR/.lock`` (``flock``) from creating
its generation until it is published; so any ``gen-*.tmp`` found while holding
the lock was left by a writer that died (``kill -9``, power loss) and is removed.
Key files and other state beside the generations (``keys.json``) are never touched.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import resource
import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from parasearch.errors import Conflict, IndexUnavailable, NoSpaceError, NotFound, ParasearchError, WriteError
from parasearch.settings import default, settings
from parasearch.types import Manifest, ManifestUpdate

FORMAT_VERSION = 1
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"
VEC2PARA = "vec2para.npy"
STORE = "store.sqlite"
TERMS = "terms.npz"
LOCK = ".lock"
# 3: the current generation and the two before it, unless $PARASEARCH_KEEP_GENERATIONS
KEEP_GENERATIONS: int = default("keep_generations")


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


# ENOSPC: the disk is full; EDQUOT: the user's quota is; EFBIG: a file passed the process's size limit (ulimit -f)
_SPACE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_SPACE_WORDS = tuple(os.strerror(e) for e in sorted(_SPACE_ERRNOS))  # FAISS reports a failed fwrite in words


def out_of_space(exc: BaseException) -> bool:
    """Whether ``exc`` says a write failed for want of space: an ``OSError`` (numpy, files), SQLite's
    ``SQLITE_FULL``, or FAISS's write error (a ``RuntimeError`` naming the C library's reason)."""
    if isinstance(exc, OSError):
        return exc.errno in _SPACE_ERRNOS
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        # SQLite says SQLITE_FULL for ENOSPC, but only "disk I/O error" for a write past the file size limit
        return code == sqlite3.SQLITE_FULL or "disk is full" in str(exc) or (_sqlite_io_error(exc) and _size_limited())
    if isinstance(exc, RuntimeError):
        return any(words in str(exc) for words in _SPACE_WORDS)
    return False


def _sqlite_io_error(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF == 10


def _size_limited() -> bool:
    """Whether this process has a limit on the size of the files it writes (``ulimit -f``)."""
    return resource.getrlimit(resource.RLIMIT_FSIZE)[0] != resource.RLIM_INFINITY


def _space_reason(exc: BaseException) -> str:
    """What ran out, in words: the C library's reason (FAISS names it inside a long message), or SQLite's."""
    code: int | None
    if isinstance(exc, OSError) and exc.errno in _SPACE_ERRNOS:
        code = exc.errno
    elif _sqlite_io_error(exc) and _size_limited():
        code = errno.EFBIG
    else:
        code = next((e for e in sorted(_SPACE_ERRNOS) if os.strerror(e) in str(exc)), None)
    if code == errno.EFBIG:
        return f"{os.strerror(code)}: a limit on the size of a file (ulimit -f)"
    if code is not None:
        return os.strerror(code)
    return str(exc).strip().splitlines()[-1][:200]


def _free_space(path: Path) -> str:
    for p in (path, *path.parents):
        if p.exists():
            with contextlib.suppress(OSError):
                return f"{shutil.disk_usage(p).free / 1e6:,.1f} MB free there"
            break
    return "free space unknown"


@contextlib.contextmanager
def space_errors(index_dir: Path) -> Iterator[None]:
    """Turn running out of space while building or updating ``index_dir`` into a :class:`NoSpaceError` that
    says so, and another I/O error (``OSError``, SQLite's disk I/O error) into a :class:`WriteError`, instead of
    a traceback from whichever library was writing. The writer's own ``except`` has already
    removed its ``gen-*.tmp``; nothing else is touched."""
    try:
        yield
    except ParasearchError:
        raise
    except Exception as exc:
        if not out_of_space(exc):
            if isinstance(exc, OSError | sqlite3.OperationalError) and (
                    _sqlite_io_error(exc) or isinstance(exc, OSError) and exc.errno is not None):
                raise WriteError(f"could not write the index at {index_dir} ({exc}): nothing was published and "
                                 "the current index is unchanged") from exc
            raise
        raise NoSpaceError(
            f"out of space writing the index at {index_dir} ({_space_reason(exc)}; "
            f"{_free_space(Path(index_dir))}): nothing was published and the current index is unchanged; free "
            f"some space (a new generation takes about as much as the current one) and run again") from exc


def current_generation(index_dir: Path) -> Path:
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        raise IndexUnavailable(f"no index at {index_dir} (run `parasearch index PATH --index {index_dir}` first)")
    gen = index_dir / pointer.read_text().strip()
    if not (gen / MANIFEST).is_file():
        raise IndexUnavailable(f"index at {index_dir} is incomplete: {gen.name} has no {MANIFEST}")
    return gen


def current_name(index_dir: Path) -> str | None:
    """The name of the current generation (what ``CURRENT`` says), None when there is no index."""
    try:
        return (Path(index_dir) / CURRENT).read_text().strip() or None
    except OSError:
        return None


def read_manifest(index_dir: Path) -> Manifest:
    manifest: Manifest = json.loads((current_generation(index_dir) / MANIFEST).read_text())
    return manifest


def keep_generations() -> int:
    """How many published generations an index directory keeps, the current one included (at least 1)."""
    return settings().keep_generations


@contextlib.contextmanager
def writer(index_dir: Path) -> Iterator[None]:
    """Hold the index directory's writer lock: one build, update or rollback at a time, in any process.

    A writer that dies releases the lock with its process; the ``gen-*.tmp`` it leaves is removed by the next
    writer (:func:`clean_debris`), which can tell it is debris because no other writer can be running.
    """
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / LOCK, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            clean_debris(index_dir)
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def clean_debris(index_dir: Path) -> list[str]:
    """Remove what a writer that died left behind: ``gen-*.tmp`` directories and a stray ``CURRENT.tmp``.
    Call only while holding :func:`writer`. Returns the names removed."""
    removed = []
    for tmp in Path(index_dir).glob("gen-*.tmp"):
        shutil.rmtree(tmp, ignore_errors=True)
        removed.append(tmp.name)
    stray = Path(index_dir) / (CURRENT + ".tmp")
    if stray.exists():
        stray.unlink(missing_ok=True)
        removed.append(stray.name)
    return removed


def new_generation(index_dir: Path) -> Path:
    index_dir.mkdir(parents=True, exist_ok=True)
    # Names sort in creation order (nanoseconds) and are unique even for two builds at once.
    now = time.time_ns()
    name = (time.strftime("gen-%Y%m%dT%H%M%S", time.gmtime(now // 10**9)) + f".{now % 10**9:09d}"
            + f"-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    gen = index_dir / (name + ".tmp")
    gen.mkdir()
    return gen


def _point_to(index_dir: Path, name: str) -> None:
    pointer_tmp = index_dir / (CURRENT + ".tmp")
    with open(pointer_tmp, "w") as f:
        f.write(name + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(pointer_tmp, index_dir / CURRENT)
    with contextlib.suppress(OSError):  # the rename itself durable: fsync the directory
        fd = os.open(index_dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def published(index_dir: Path) -> list[Path]:
    """The complete generations in ``index_dir``, oldest first (names sort in creation order)."""
    gens = [g for g in Path(index_dir).glob("gen-*")
            if g.is_dir() and not g.name.endswith(".tmp") and (g / MANIFEST).is_file()]
    return sorted(gens, key=lambda g: g.name)


def publish(index_dir: Path, tmp_gen: Path, keep: int | None = None) -> Path:
    """Make the fully written ``tmp_gen`` current, atomically; keep the ``keep`` newest generations
    (:func:`keep_generations` by default), the new one included, and drop older ones."""
    final = tmp_gen.with_suffix("")
    tmp_gen.rename(final)
    _point_to(index_dir, final.name)
    prune(index_dir, keep)
    return final


def prune(index_dir: Path, keep: int | None = None) -> list[str]:
    """Drop all but the ``keep`` newest generations and the current one. Returns the names dropped."""
    keep = keep_generations() if keep is None else max(1, keep)
    current = current_name(index_dir)
    gens = published(index_dir)
    dropped = []
    for old in gens[:-keep] if len(gens) > keep else []:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)
            dropped.append(old.name)
    return dropped


@dataclass
class GenerationInfo:
    name: str
    current: bool
    built_at: str | None
    documents: int | None
    paragraphs: int | None
    kind: str  # "build" (a full build) or "update" (an incremental update, see indexer.update)
    change: ManifestUpdate | None  # for an update: what it added and removed


def generations(index_dir: Path) -> list[GenerationInfo]:
    """The kept generations, oldest first, with what each holds."""
    current = current_name(index_dir)
    out = []
    for gen in published(index_dir):
        try:
            m = json.loads((gen / MANIFEST).read_text())
        except (OSError, ValueError):
            m = {}
        counts = m.get("counts", {})
        update = m.get("update")
        out.append(GenerationInfo(name=gen.name, current=gen.name == current, built_at=m.get("built_at"),
                                  documents=counts.get("documents"), paragraphs=counts.get("paragraphs"),
                                  kind="update" if update else "build", change=update))
    return out


def rollback(index_dir: Path) -> str:
    """Make the generation published before the current one current again; returns its name.

    The generation rolled back from stays on disk until pruned (a later publish drops the oldest)."""
    index_dir = Path(index_dir)
    with writer(index_dir):
        current = current_name(index_dir)
        names = [g.name for g in published(index_dir)]
        if current not in names:
            raise NotFound(f"no index at {index_dir} to roll back")
        pos = names.index(current)
        if pos == 0:
            raise Conflict(f"{index_dir} keeps no generation older than {current} to roll back to")
        _point_to(index_dir, names[pos - 1])
        return names[pos - 1]


def discard(tmp_gen: Path) -> None:
    shutil.rmtree(tmp_gen, ignore_errors=True)
