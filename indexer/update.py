"""Incremental updates: a new generation from the current one plus a change (documents added, replaced, removed).

``parasearch index PATH... --index DIR --add`` and ``parasearch remove SYMBOL... --index DIR`` (and the admin
API) come here. The cost grows with the change, not with the corpus:

* the paragraph store is copied inside SQLite (``INSERT ... SELECT`` through id maps), and only the new
  documents' rows are written from Python;
* each dense arm's FAISS index is read, the new paragraphs' vectors are *added* to it, and the vectors of removed
  paragraphs stay in it as tombstones: their ``vec2para`` entry is -1, which search never returns
  (:class:`service.index.LoadedIndex` masks them). A flat arm is compacted at once (a copy of the live vectors);
  an HNSW arm, whose graph cannot drop nodes, is rebuilt from its live vectors only once a quarter of it is dead;
* BM25 is rebuilt from every paragraph's stored, already analysed terms (``terms.npz``); only new paragraphs are
  analysed. An index written before terms were stored is analysed once, as it was built (its analysis version);
* only new paragraphs are embedded, and the embedding cache is used as in a full build.

Paragraph and document ids stay dense (0..n-1): kept rows keep their order and new documents follow. The update
holds the index's writer lock from reading the current generation to publishing (:func:`parasearch.indexfiles
.writer`), so two updates never build on the same base; a killed update leaves the previous generation current.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from indexer.build import (
    BuildReport,
    default_cache_path,
    embed_arms,
    encode_terms,
    insert_documents,
    write_bm25,
)
from indexer.context import embedding_texts
from indexer.corpus import Problem
from indexer.embed import describe, load_encoder
from indexer.embed_base import Encoder
from parasearch import indexfiles
from parasearch.analysis import terms
from parasearch.config import recorded_model
from parasearch.errors import Conflict
from parasearch.types import Manifest, ParsedDocument, normalize_symbol

if TYPE_CHECKING:
    import faiss

# An HNSW arm is rebuilt from its live vectors once this share of its vectors are tombstones.
HNSW_REBUILD_DEAD_SHARE = 0.25


class UpdateError(Conflict):
    """The update cannot be made (nothing to change, a model that does not match); the message says why. The
    current generation is unchanged."""


class UnknownDocument(UpdateError):
    """The update names a document the index does not hold (404)."""

    status = 404


@dataclass
class UpdateReport:
    index_dir: Path
    generation: str | None = None
    base: str | None = None
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    documents: int = 0
    paragraphs: int = 0
    embedded_now: int = 0
    problems: list[Problem] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    published: bool = False

    def summary(self) -> str:
        lines = []
        if self.published:
            lines.append(f"Updated {self.index_dir}: {self.generation} (from {self.base})")
            for what, names in (("added", self.added), ("replaced", self.replaced), ("removed", self.removed)):
                if names:
                    lines.append(f"  {what}: {', '.join(names)}")
            lines.append(f"Now {self.documents} documents, {self.paragraphs} paragraphs; "
                         f"{self.embedded_now} windows embedded now")
            lines.append("Time: " + ", ".join(f"{k} {v:.2f}s" for k, v in self.seconds.items()))
        if self.problems:
            lines.append(f"{len(self.problems)} problem(s):")
            lines += [f"  {p.path}: {p.reason}" for p in self.problems]
        if not self.published:
            lines.append("Nothing was changed; the current index is unchanged.")
        return "\n".join(lines)


def label(symbol: str, language: str) -> str:
    return f"{symbol} ({language})"


def index_encoders(manifest: Manifest, backend: str | None = None) -> list[Encoder]:
    """The encoders of the models an index was built with, loaded as the service loads them."""
    return [load_encoder(recorded_model(m), backend) for m in manifest.get("models") or [manifest["model"]]]


def _check_encoders(manifest: Manifest, encoders: list[Encoder]) -> None:
    models = manifest.get("models") or [manifest["model"]]
    if len(encoders) != len(models):
        raise UpdateError(f"the index has {len(models)} dense arm(s) ({', '.join(m['name'] for m in models)}); "
                          f"{len(encoders)} encoder(s) given")
    for built, enc in zip(models, encoders, strict=True):
        now = describe(enc)
        if now["identity"] != built["identity"] or now["dim"] != built["dim"]:
            raise UpdateError(f"the index was built with {built['name']} ({built['identity']}); the encoder "
                              f"given is {now['name']} ({now['identity']}): rebuild with `parasearch index`")


def update_index(
    index_dir: Path,
    *,
    add: list[tuple[ParsedDocument, str]] | None = None,
    remove: list[tuple[str, str | None]] | None = None,
    encoders: list[Encoder] | None = None,
    backend: str | None = None,
    cache_path: Path | None = None,
    use_cache: bool = True,
    batch_size: int = 64,
    progress: bool = False,
    report: UpdateReport | None = None,
) -> UpdateReport:
    """Publish a new generation of ``index_dir``: the current one with ``add`` (parsed documents and their
    content hashes; one with the symbol and language of an indexed document replaces it) and without
    ``remove`` (``(symbol, language)``; language None: every language version).

    ``encoders``: the index's models, already loaded (the server passes its own); by default loaded from the
    manifest. Raises :class:`UpdateError` (nothing published) when a document to remove is not indexed, when the
    change would leave the index empty, or when the encoders do not match the index.
    """
    index_dir = Path(index_dir)
    report = report or UpdateReport(index_dir=index_dir)
    add, remove = list(add or []), list(remove or [])
    if not add and not remove:
        raise UpdateError("nothing to add or remove")
    keys = [(normalize_symbol(p.doc.symbol), p.doc.language) for p, _ in add]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise UpdateError(f"the change adds {dup[0]} ({dup[1]}) twice")
    t_start = time.perf_counter()
    with indexfiles.space_errors(index_dir), indexfiles.writer(index_dir):  # out of space: NoSpaceError, unchanged
        base = indexfiles.current_generation(index_dir)
        manifest: Manifest = json.loads((base / indexfiles.MANIFEST).read_text())
        if manifest.get("format") != indexfiles.FORMAT_VERSION:
            raise UpdateError(f"index at {index_dir} has format {manifest.get('format')}: rebuild it")
        if encoders is None and add:
            encoders = index_encoders(manifest, backend)
        if encoders is not None:
            _check_encoders(manifest, encoders)
        report.base = base.name
        return _update(index_dir, base, manifest, add, keys, remove, encoders or [], report, t_start,
                       cache_path=(cache_path or default_cache_path(index_dir)) if use_cache else None,
                       batch_size=batch_size, progress=progress)


def _update(index_dir: Path, base: Path, manifest: Manifest, add: list[tuple[ParsedDocument, str]],
            keys: list[tuple[str, str]], remove: list[tuple[str, str | None]], encoders: list[Encoder],
            report: UpdateReport, t_start: float, *, cache_path: Path | None, batch_size: int,
            progress: bool) -> UpdateReport:
    import faiss

    t0 = time.perf_counter()
    old_db = sqlite3.connect(f"file:{base / indexfiles.STORE}?mode=ro", uri=True)
    try:
        docs = old_db.execute("SELECT id, symbol, symbol_key, language, source FROM documents ORDER BY id").fetchall()
        para_doc = np.array([r[0] for r in old_db.execute("SELECT doc_id FROM paragraphs ORDER BY id")],
                            dtype=np.int64)
    finally:
        old_db.close()
    by_key: dict[tuple[str, str], int] = {(d[2], d[3]): d[0] for d in docs}
    keep_doc = np.ones(len(docs), dtype=bool)
    for symbol, language in remove:
        symbol_key = normalize_symbol(symbol)
        hits = [d[0] for d in docs if d[2] == symbol_key and (not language or d[3] == language.strip().lower())]
        if not hits:
            where = f" in language {language!r}" if language else ""
            raise UnknownDocument(f"no document {symbol!r}{where} in the index")
        for i in hits:
            if keep_doc[i]:
                keep_doc[i] = False
                report.removed.append(label(docs[i][1], docs[i][3]))
    for (parsed, _), key in zip(add, keys, strict=True):
        old = by_key.get(key)
        if old is not None and keep_doc[old]:
            keep_doc[old] = False
            report.replaced.append(label(parsed.doc.symbol, parsed.doc.language))
        elif old is None:
            report.added.append(label(parsed.doc.symbol, parsed.doc.language))
        else:  # also named for removal: adding it back is a replacement
            report.removed.remove(label(docs[old][1], docs[old][3]))
            report.replaced.append(label(parsed.doc.symbol, parsed.doc.language))
    keep_para = keep_doc[para_doc] if len(para_doc) else np.zeros(0, dtype=bool)
    new_doc_id = np.cumsum(keep_doc) - 1
    new_pid = np.where(keep_para, np.cumsum(keep_para) - 1, -1)
    n_kept_docs, n_kept = int(keep_doc.sum()), int(keep_para.sum())
    paragraphs = [p for parsed, _ in add for p in parsed.paragraphs]
    if n_kept + len(paragraphs) == 0:
        raise UpdateError("the change would leave the index empty; build a new index instead")
    texts = [p.text for p in paragraphs]
    build = BuildReport(index_dir=index_dir)
    # the documents added are embedded as the index's own were (indexer.context; none before it was recorded)
    context = manifest.get("embedding_context", "none")
    n_arms = len(manifest.get("models") or [manifest["model"]])
    n_tokens, arms = embed_arms(encoders, texts, cache_path, build, batch_size=batch_size, progress=progress,
                                embed_texts=embedding_texts(add, context)) \
        if paragraphs else ([], [([], np.zeros((0, 1), np.float32)) for _ in range(n_arms)])
    report.embedded_now = build.embedded_now
    report.seconds["read"] = time.perf_counter() - t0 - build.seconds.get("prepare", 0) - \
        build.seconds.get("embed", 0)
    report.seconds["embed"] = build.seconds.get("prepare", 0) + build.seconds.get("embed", 0)

    t0 = time.perf_counter()
    gen = indexfiles.new_generation(index_dir)
    try:
        _write_store(base, gen, keep_doc, new_doc_id, new_pid, add, n_tokens,
                     [len(ws) for ws in arms[0][0]] if paragraphs else [], n_kept_docs, n_kept)
        report.seconds["store"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        index_types = manifest.get("index_types") or [manifest.get("index_type", "flat")] * len(arms)
        vectors_per_model, dead_per_model = [], []
        for arm, (windows, vectors) in enumerate(arms):
            vec_file, map_file = indexfiles.arm_files(arm)
            index = faiss.read_index(str(base / vec_file))
            vec2para = np.load(base / map_file)
            mapped = np.where(vec2para >= 0, new_pid[np.maximum(vec2para, 0)], -1).astype(np.int32)
            if paragraphs:
                index.add(np.ascontiguousarray(vectors, dtype=np.float32))
                own = np.repeat(np.arange(n_kept, n_kept + len(paragraphs), dtype=np.int32),
                                [len(ws) for ws in windows])
                mapped = np.concatenate([mapped, own])
            index, mapped = _compact(index, mapped, index_types[arm])
            faiss.write_index(index, str(gen / vec_file))
            np.save(gen / map_file, mapped)
            vectors_per_model.append(int(index.ntotal))
            dead_per_model.append(int((mapped < 0).sum()))
        report.seconds["vectors"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        analysis_version = int(manifest.get("analysis", {}).get("version", 1))
        _write_terms(base, gen, keep_para, add, analysis_version)
        report.seconds["bm25"] = time.perf_counter() - t1
        report.documents, report.paragraphs = n_kept_docs + len(add), n_kept + len(paragraphs)
        removed_sources = {d[4] for d in docs if not keep_doc[d[0]]}
        files = {k: v for k, v in manifest.get("files", {}).items() if k not in removed_sources}
        files.update({parsed.doc.source: digest for parsed, digest in add})
        seconds = dict(report.seconds)
        seconds["total"] = time.perf_counter() - t_start
        manifest.update({
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "counts": {"documents": report.documents, "paragraphs": report.paragraphs,
                       "vectors": vectors_per_model[0], "vectors_per_model": vectors_per_model,
                       "dead_vectors_per_model": dead_per_model},
            "files": files,
            "problems": manifest.get("problems", []) + [{"path": p.path, "reason": p.reason}
                                                        for p in report.problems],
            "update": {"base": base.name, "added": report.added, "replaced": report.replaced,
                       "removed": report.removed, "seconds": {k: round(v, 3) for k, v in seconds.items()}},
        })
        (gen / indexfiles.MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
        final = indexfiles.publish(index_dir, gen)
    except BaseException:
        indexfiles.discard(gen)
        raise
    report.generation = final.name
    report.published = True
    report.seconds["total"] = time.perf_counter() - t_start
    return report


def _write_store(base: Path, gen: Path, keep_doc: np.ndarray, new_doc_id: np.ndarray, new_pid: np.ndarray,
                 add: list[tuple[ParsedDocument, str]], n_tokens: list[int], n_windows: list[int],
                 n_kept_docs: int, n_kept: int) -> None:
    """The new paragraph store: the kept rows copied inside SQLite under their new ids, then the new documents."""
    db = sqlite3.connect(gen / indexfiles.STORE)
    try:
        db.executescript(indexfiles.SCHEMA)
        db.execute("ATTACH DATABASE ? AS old", (f"file:{base / indexfiles.STORE}?mode=ro",))
        db.execute("CREATE TEMP TABLE dmap (old INTEGER PRIMARY KEY, new INTEGER NOT NULL)")
        db.execute("CREATE TEMP TABLE pmap (old INTEGER PRIMARY KEY, new INTEGER NOT NULL)")
        kept_docs = np.flatnonzero(keep_doc)
        kept_paras = np.flatnonzero(new_pid >= 0)
        with db:
            db.executemany("INSERT INTO dmap VALUES (?, ?)",
                           zip(kept_docs.tolist(), new_doc_id[kept_docs].tolist(), strict=True))
            db.executemany("INSERT INTO pmap VALUES (?, ?)",
                           zip(kept_paras.tolist(), new_pid[kept_paras].tolist(), strict=True))
            db.execute("""INSERT INTO main.documents SELECT m.new, d.symbol, d.symbol_key, d.title, d.date, d.body,
                          d.type, d.language, d.source, d.sha256, d.n_paragraphs
                          FROM old.documents d JOIN dmap m ON m.old = d.id ORDER BY m.new""")
            db.execute("""INSERT INTO main.paragraphs SELECT pm.new, dm.new, p.ord, p.para, p.kind, p.section,
                          p.text, p.n_tokens, p.n_windows, p.text_key
                          FROM old.paragraphs p JOIN pmap pm ON pm.old = p.id JOIN dmap dm ON dm.old = p.doc_id
                          ORDER BY pm.new""")
            insert_documents(db, add, n_tokens, n_windows, first_doc=n_kept_docs, first_paragraph=n_kept)
        db.execute("DETACH DATABASE old")
        db.execute("ANALYZE")
    finally:
        db.close()


def _compact(index: faiss.Index, vec2para: np.ndarray, index_type: str) -> tuple[faiss.Index, np.ndarray]:
    """Drop tombstoned vectors: always from a flat index (a copy), from HNSW once a quarter of it is dead."""
    import faiss

    dead = vec2para < 0
    if not dead.any():
        return index, vec2para
    if isinstance(index, faiss.IndexHNSW) and dead.mean() < HNSW_REBUILD_DEAD_SHARE:
        return index, vec2para
    live = np.flatnonzero(~dead)
    vectors = index.reconstruct_batch(live) if len(live) else np.zeros((0, index.d), np.float32)
    fresh: faiss.Index
    if isinstance(index, faiss.IndexHNSW):
        neighbours = index.hnsw.nb_neighbors(1)  # type: ignore[attr-defined]  # in faiss, not in its stubs
        fresh = faiss.IndexHNSWFlat(index.d, neighbours or 32, faiss.METRIC_INNER_PRODUCT)
        fresh.hnsw.efConstruction = index.hnsw.efConstruction
        fresh.hnsw.efSearch = index.hnsw.efSearch
    else:
        fresh = faiss.IndexFlatIP(index.d)
    fresh.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return fresh, vec2para[live]


def _write_terms(base: Path, gen: Path, keep_para: np.ndarray, add: list[tuple[ParsedDocument, str]],
                 analysis_version: int) -> None:
    """BM25 over the kept paragraphs' stored terms and the new paragraphs' terms (analysed as the index was)."""
    stored = base / indexfiles.TERMS
    if stored.is_file():
        with np.load(stored, allow_pickle=True) as z:
            ids, offsets, vocab = z["ids"], z["offsets"], [str(w) for w in z["vocab"]]
    else:  # an index written before terms were stored: analyse its paragraphs once, as it was built
        db = sqlite3.connect(f"file:{base / indexfiles.STORE}?mode=ro", uri=True)
        try:
            rows = db.execute("SELECT p.text, d.language FROM paragraphs p JOIN documents d ON d.id = p.doc_id "
                              "ORDER BY p.id").fetchall()
        finally:
            db.close()
        language = (lambda lang: "en") if analysis_version < 2 else (lambda lang: lang)
        ids, offsets, vocab = encode_terms([terms(t, language(lang), version=analysis_version) for t, lang in rows])
    lengths = np.diff(offsets)
    kept_ids = ids[np.repeat(keep_para, lengths)]
    kept_len = lengths[keep_para]
    positions = {w: i for i, w in enumerate(vocab)}
    new_lists = [terms(p.text, parsed.doc.language if analysis_version >= 2 else "en", version=analysis_version)
                 for parsed, _ in add for p in parsed.paragraphs]
    new_ids = np.array([positions.setdefault(t, len(positions)) for ts in new_lists for t in ts], dtype=np.int32)
    vocab = list(positions)
    all_ids = np.concatenate([kept_ids.astype(np.int32), new_ids])
    all_len = np.concatenate([kept_len, np.array([len(ts) for ts in new_lists], dtype=np.int64)])
    all_offsets = np.zeros(len(all_len) + 1, dtype=np.int64)
    np.cumsum(all_len, out=all_offsets[1:])
    write_bm25(all_ids, all_offsets, vocab, gen / indexfiles.BM25_DIR)


def add_paths(paths: list[Path], index_dir: Path, *, backend: str | None = None, cache_path: Path | None = None,
              use_cache: bool = True, batch_size: int = 64, progress: bool = False) -> UpdateReport:
    """``parasearch index PATH... --add``: read the documents under ``paths`` (every reader rule of a full build:
    a file that cannot be read is a named problem and skipped) and add or replace them in ``index_dir``."""
    from indexer.build import _parse_all
    from indexer.cache import ParseCache

    build = BuildReport(index_dir=Path(index_dir))
    t0 = time.perf_counter()
    with indexfiles.space_errors(Path(index_dir)):
        cache = ParseCache(cache_path or default_cache_path(Path(index_dir))) if use_cache else None
        try:
            docs = _parse_all([Path(p) for p in paths], build, progress, cache)
        finally:
            if cache:
                cache.close()
    report = UpdateReport(index_dir=Path(index_dir), problems=build.problems)
    report.seconds["parse"] = time.perf_counter() - t0
    if not docs:
        return report
    return update_index(index_dir, add=docs, backend=backend, cache_path=cache_path, use_cache=use_cache,
                        batch_size=batch_size, progress=progress, report=report)
