"""``parasearch index``: corpus files -> a complete, self-describing index directory.

Reading and paragraph finding never stop the build: a file that cannot be
read is named with its reason in the report and skipped. The new index is
written into a fresh generation directory and published atomically (see
:mod:`parasearch.indexfiles`); if anything fails, the previous index stays.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from indexer.cache import EmbeddingCache, ParseCache, embed_sorted, prepare_with_cache
from indexer.context import CONTEXTS, DEFAULT_CONTEXT, embedding_texts
from indexer.corpus import Problem, discover
from indexer.embed import describe, load_encoders
from indexer.embed_base import Encoder
from indexer.readers import read_document
from parasearch import indexfiles
from parasearch.analysis import ANALYSIS_VERSION, terms
from parasearch.digest import file_sha256
from parasearch.progress import progress_bar
from parasearch.types import DocumentError, Manifest, ParsedDocument, normalize_symbol, normalize_text

if TYPE_CHECKING:
    import faiss

INDEX_TYPES = ("auto", "flat", "hnsw")
# "auto" (the default) builds an arm of this many vectors or more as HNSW, a smaller one flat (exact): a flat scan
# costs time in proportion to the vectors, and from about this many it is the largest part of a query, while HNSW
# still returns nearly all of the exact top 10 (docs/performance.md, "Index types by corpus size").
AUTO_HNSW_VECTORS = 40_000


def resolve_index_type(index_type: str, n_vectors: int) -> str:
    """The FAISS index an arm of ``n_vectors`` vectors gets: ``index_type``, or for "auto" flat or HNSW by size."""
    if index_type != "auto":
        return index_type
    return "hnsw" if n_vectors >= AUTO_HNSW_VECTORS else "flat"


@dataclass
class BuildReport:
    index_dir: Path
    documents: int = 0
    paragraphs: int = 0
    vectors: int = 0
    embedded_now: int = 0
    problems: list[Problem] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    published: bool = False

    def summary(self) -> str:
        lines = [
            f"Indexed {self.documents} documents, {self.paragraphs} paragraphs "
            f"({self.vectors} vectors, {self.embedded_now} embedded now, "
            f"{self.vectors - self.embedded_now} from the cache) into {self.index_dir}",
            "Time: " + ", ".join(f"{k} {v:.1f}s" for k, v in self.seconds.items()),
        ]
        if self.paragraphs and self.seconds.get("embed"):
            lines.append(f"Rate: {self.paragraphs / sum(self.seconds.values()):.1f} paragraphs/s overall")
        if self.problems:
            lines.append(f"{len(self.problems)} problem(s):")
            lines += [f"  {p.path}: {p.reason}" for p in self.problems]
        if not self.published:
            lines.append("Nothing was indexed; the previous index (if any) is unchanged.")
        return "\n".join(lines)


def default_cache_path(index_dir: Path) -> Path:
    """The embedding and parse cache beside the index directory: it outlives rebuilds and swaps."""
    return index_dir.parent / ".embedding-cache.sqlite"


def _parse_all(paths: list[Path], report: BuildReport, progress: bool,
               cache: ParseCache | None = None) -> list[tuple[ParsedDocument, str]]:
    sources, problems = discover(paths)
    report.problems.extend(problems)
    docs: list[tuple[ParsedDocument, str]] = []
    seen_hash: dict[str, str] = {}
    seen_symbol: dict[tuple[str, str], str] = {}
    bar = progress_bar(sources, desc="Reading", unit="doc", disable=not progress)
    for src in bar:
        try:
            digest = file_sha256(src.path)
            if digest in seen_hash:
                raise DocumentError(f"duplicate: same content as {seen_hash[digest]}")
            if cache is not None:
                ckey = cache.key(digest, src.meta)
                parsed = cache.get(ckey)
                if parsed is None:
                    parsed = read_document(src.path, src.meta)
                    cache.put(ckey, parsed)
            else:
                parsed = read_document(src.path, src.meta)
            parsed.doc.source = str(src.path)
            key = (normalize_symbol(parsed.doc.symbol), parsed.doc.language)
            if key in seen_symbol:
                raise DocumentError(
                    f"duplicate: {parsed.doc.symbol} ({parsed.doc.language}) already read from {seen_symbol[key]}"
                )
        except DocumentError as exc:
            report.problems.append(Problem(str(src.path), str(exc)))
            continue
        except Exception as exc:  # a reader bug must not lose the rest of the corpus
            report.problems.append(Problem(str(src.path), f"could not be read ({type(exc).__name__}: {exc})"))
            continue
        report.problems.extend(Problem(str(src.path), f"warning: {w}") for w in parsed.warnings)
        seen_hash[digest] = str(src.path)
        seen_symbol[key] = str(src.path)
        docs.append((parsed, digest))
    return docs


def _write_store(path: Path, docs: list[tuple[ParsedDocument, str]], n_tokens: list[int],
                 n_windows: list[int]) -> None:
    db = sqlite3.connect(path)
    db.executescript(indexfiles.SCHEMA)
    with db:
        insert_documents(db, docs, n_tokens, n_windows)
    db.execute("ANALYZE")
    db.close()


def insert_documents(db: sqlite3.Connection, docs: list[tuple[ParsedDocument, str]], n_tokens: list[int],
                     n_windows: list[int], first_doc: int = 0, first_paragraph: int = 0) -> None:
    """Insert documents and their paragraphs, numbered from ``first_doc`` and ``first_paragraph``;
    ``n_tokens`` and ``n_windows``: per paragraph, in order."""
    pid = first_paragraph
    i = 0
    for doc_id, (parsed, digest) in enumerate(docs, first_doc):
        d = parsed.doc
        db.execute(
            "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (doc_id, d.symbol, normalize_symbol(d.symbol), d.title or "", d.date, d.body, d.type,
             d.language, d.source, digest, len(parsed.paragraphs)),
        )
        rows = []
        for ord_, p in enumerate(parsed.paragraphs):
            key = hashlib.blake2b(normalize_text(p.text).encode(), digest_size=12).hexdigest()
            rows.append((pid, doc_id, ord_, p.para, p.kind, p.section, p.text, n_tokens[i], n_windows[i], key))
            pid += 1
            i += 1
        db.executemany("INSERT INTO paragraphs VALUES (?,?,?,?,?,?,?,?,?,?)", rows)


def _build_faiss(vectors: np.ndarray, index_type: str) -> faiss.Index:
    import faiss

    dim = vectors.shape[1]
    index: faiss.Index
    if index_type == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 128
        index.hnsw.efSearch = 128
    else:
        index = faiss.IndexFlatIP(dim)
    index.add(vectors)
    return index


BM25_PARAMS = {"k1": 0.9, "b": 0.4}


def save_terms(path: Path, ids: np.ndarray, offsets: np.ndarray, vocab: list[str]) -> None:
    """Every paragraph's analysed BM25 terms: paragraph ``i``'s are ``vocab[ids[offsets[i]:offsets[i + 1]]]``."""
    np.savez(path, ids=ids.astype(np.int32), offsets=offsets.astype(np.int64), vocab=np.array(vocab, dtype=object))


def encode_terms(term_lists: list[list[str]]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(ids, offsets, vocab) of analysed term lists (the form of :func:`save_terms`)."""
    vocab: dict[str, int] = {}
    flat = [vocab.setdefault(t, len(vocab)) for ts in term_lists for t in ts]
    offsets = np.zeros(len(term_lists) + 1, dtype=np.int64)
    np.cumsum([len(ts) for ts in term_lists], out=offsets[1:])
    return np.array(flat, dtype=np.int32), offsets, list(vocab)


def bm25_matrix(ids: np.ndarray, offsets: np.ndarray, n_vocab: int, k1: float, b: float) -> dict[str, Any]:
    """bm25s's score matrix (its default "lucene" BM25, term-major CSC: ``data``, ``indices``, ``indptr``,
    ``num_docs``) of documents given as term ids, computed with whole-array operations: what ``bm25s.BM25.index``
    computes with a Python loop over documents (4 s for the 83k paragraphs of the English corpus, 0.4 s here).
    ``tests/test_update.py`` checks it equals bm25s's own."""
    n_docs = len(offsets) - 1
    doc_len = np.diff(offsets)
    avg_len = doc_len.mean() if n_docs else 0.0
    doc_of = np.repeat(np.arange(n_docs, dtype=np.int64), doc_len)
    # One sort of (term, document) keys gives each pair's frequency, already in term-major (CSC) order.
    pairs, tf = np.unique(ids.astype(np.int64) * max(n_docs, 1) + doc_of, return_counts=True)
    term, doc = pairs // max(n_docs, 1), pairs % max(n_docs, 1)
    df = np.bincount(term, minlength=n_vocab)
    idf = np.zeros(n_vocab, dtype=np.float32)
    seen = df > 0
    idf[seen] = np.log(1 + (n_docs - df[seen] + 0.5) / (df[seen] + 0.5))
    tf = tf.astype(np.float32)
    tfc = tf / (k1 * ((1 - b) + b * doc_len[doc] / avg_len) + tf)
    indptr = np.zeros(n_vocab + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    return {"data": (idf[term] * tfc).astype(np.float32), "indices": doc.astype(np.int32), "indptr": indptr,
            "num_docs": n_docs}


def write_bm25(ids: np.ndarray, offsets: np.ndarray, vocab: list[str], out: Path) -> None:
    """The bm25s index of paragraphs given as term ids (row order = paragraph id), and the terms beside it, in
    generation directory ``out.parent``. Unused vocabulary is dropped, so a removed document leaves no trace."""
    import bm25s

    counts = np.bincount(ids, minlength=len(vocab)) if len(ids) else np.zeros(len(vocab), dtype=np.int64)
    used = np.flatnonzero(counts)
    remap = np.cumsum(counts > 0) - 1
    dense = remap[ids].astype(np.int32) if len(ids) else ids.astype(np.int32)
    words = [vocab[i] for i in used.tolist()]
    retriever = bm25s.BM25(**BM25_PARAMS)
    retriever.scores = bm25_matrix(dense, offsets, len(words), **BM25_PARAMS)
    # as bm25s.BM25.index names the vocabulary of ids it is given, with its empty token after it
    retriever.vocab_dict = {w: i for i, w in enumerate(words)}
    retriever.vocab_dict.setdefault("", len(words))
    retriever.unique_token_ids_set = set(retriever.vocab_dict.values())
    retriever.nonoccurrence_array = None  # only BM25L and BM25+ have one
    retriever.save(str(out))
    save_terms(out.parent / indexfiles.TERMS, dense, offsets, words)


def _build_bm25(texts: list[str], languages: list[str], out: Path) -> None:
    """BM25 over the paragraphs, each analysed in its document's language (parasearch.analysis)."""
    write_bm25(*encode_terms([terms(t, lang) for t, lang in zip(texts, languages, strict=True)]), out)


Arm = tuple[list[list[str]], np.ndarray]  # one model's windows per paragraph, and the windows' vectors


def embed_arms(encoders: list[Encoder], texts: list[str], cache_path: Path | None, report: BuildReport, *,
               batch_size: int = 64, progress: bool = False,
               embed_texts: list[str] | None = None) -> tuple[list[int], list[Arm]]:
    """Each paragraph's token count, and per model (dense arm) its windows and their vectors, taking what the
    embedding cache at ``cache_path`` has (None: no cache). Adds the time spent to ``report``.

    ``embed_texts``: what each paragraph is embedded as when it is not its own text (a context,
    :mod:`indexer.context`); the token counts are still those of ``texts``."""
    to_embed = texts if embed_texts is None else embed_texts
    own_text = to_embed == texts
    arms: list[Arm] = []  # (windows per paragraph, vectors) per model
    report.seconds["prepare"] = report.seconds.get("prepare", 0.0)
    report.seconds["embed"] = report.seconds.get("embed", 0.0)
    n_tokens: list[int] = []
    for enc in encoders:
        t0 = time.perf_counter()
        cache = EmbeddingCache(cache_path, enc.dim) if cache_path is not None else None
        try:
            n_tokens, windows = prepare_with_cache(enc, to_embed, cache)
            win_texts = [w for ws in windows for w in ws]
            report.seconds["prepare"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            vectors, now = embed_sorted(enc, win_texts, cache, batch_size=batch_size, progress=progress)
        finally:
            if cache is not None:
                cache.close()
        report.embedded_now += now
        report.seconds["embed"] += time.perf_counter() - t0
        arms.append((windows, vectors))
    if not own_text:
        from indexer.tokens import count_tokens

        n_tokens = count_tokens(texts)
    return n_tokens, arms


def build_index(
    paths: list[Path],
    index_dir: Path,
    *,
    progress: bool = True,
    **options: Any,
) -> BuildReport:
    """Read the documents under ``paths`` and index them into ``index_dir``.

    ``options`` are those of :func:`build_from_documents`.
    """
    report = BuildReport(index_dir=Path(index_dir))
    t0 = time.perf_counter()
    parse_cache = None
    with indexfiles.space_errors(Path(index_dir)):  # the parse cache beside the index is written as files are read
        if options.get("use_cache", True):
            parse_cache = ParseCache(options.get("cache_path") or default_cache_path(Path(index_dir)))
        try:
            docs = _parse_all([Path(p) for p in paths], report, progress, parse_cache)
        finally:
            if parse_cache:
                parse_cache.close()
    report.seconds["read"] = time.perf_counter() - t0
    return build_from_documents(docs, index_dir, report=report, progress=progress, **options)


def build_from_documents(
    docs: list[tuple[ParsedDocument, str]],
    index_dir: Path,
    *,
    report: BuildReport | None = None,
    model: str | None = None,
    encoder: Encoder | list[Encoder] | None = None,
    backend: str | None = None,
    index_type: str = "auto",
    cache_path: Path | None = None,
    use_cache: bool = True,
    batch_size: int = 64,
    progress: bool = True,
    context: str = DEFAULT_CONTEXT,
) -> BuildReport:
    """Index already parsed documents ``(document, content hash)`` into ``index_dir``.

    ``context``: what each paragraph is embedded with besides its text (:mod:`indexer.context`).

    ``model``: one model or several joined by "+" (default
    :data:`parasearch.config.DEFAULT_MODELS`), or ``encoder``: one encoder or a
    list; each model is a dense arm of the index, with its own windows and vectors.
    Used by :func:`build_index` and by evaluation, which indexes benchmark
    collections (BEIR) that come as records rather than files.
    """

    if index_type not in INDEX_TYPES:
        raise ValueError(f"index type must be one of {INDEX_TYPES}")
    if context not in CONTEXTS:
        raise ValueError(f"embedding context must be one of {CONTEXTS}")
    index_dir = Path(index_dir)
    report = report or BuildReport(index_dir=index_dir)
    paragraphs = [p for parsed, _ in docs for p in parsed.paragraphs]
    if not paragraphs:
        return report

    encoders = encoder if isinstance(encoder, list) else [encoder] if encoder is not None else \
        load_encoders(model, backend)
    texts = [p.text for p in paragraphs]
    # Out of space (the embedding cache, the new generation): a NoSpaceError that says so; the index is unchanged
    with indexfiles.space_errors(index_dir):
        n_tokens, arms = embed_arms(encoders, texts,
                                    cache_path or default_cache_path(index_dir) if use_cache else None,
                                    report, batch_size=batch_size, progress=progress,
                                    embed_texts=embedding_texts(docs, context))
        t0 = time.perf_counter()
        with indexfiles.writer(index_dir):  # one writer at a time; removes what a killed one left
            _write_generation(index_dir, docs, texts, arms, encoders, n_tokens, index_type, report, t0, context)
    report.published = True
    return report


def _write_generation(index_dir: Path, docs: list[tuple[ParsedDocument, str]], texts: list[str], arms: list[Arm],
                      encoders: list[Encoder], n_tokens: list[int], index_type: str, report: BuildReport,
                      t0: float, context: str = DEFAULT_CONTEXT) -> None:
    import faiss

    gen = indexfiles.new_generation(index_dir)
    try:
        built_types = [resolve_index_type(index_type, len(vectors)) for _, vectors in arms]
        for arm, (windows, vectors) in enumerate(arms):
            vec_file, map_file = indexfiles.arm_files(arm)
            faiss.write_index(_build_faiss(vectors, built_types[arm]), str(gen / vec_file))
            np.save(gen / map_file, np.repeat(np.arange(len(texts), dtype=np.int32), [len(ws) for ws in windows]))
        windows = arms[0][0]
        _write_store(gen / indexfiles.STORE, docs, n_tokens, [len(ws) for ws in windows])
        languages = [parsed.doc.language for parsed, _ in docs for _p in parsed.paragraphs]
        _build_bm25(texts, languages, gen / indexfiles.BM25_DIR)
        report.documents, report.paragraphs = len(docs), len(texts)
        report.vectors = sum(len(v) for _, v in arms)
        report.seconds["write"] = time.perf_counter() - t0
        manifest: Manifest = {
            "format": indexfiles.FORMAT_VERSION,
            "model": describe(encoders[0]),
            # Every dense arm, in order (the first is "model"); an index of one model may have no "models".
            "models": [describe(enc) for enc in encoders],
            "index_type": built_types[0],  # what was built (for "auto": by size), per arm in "index_types"
            "index_types": built_types,
            "index_type_requested": index_type,
            "analysis": {"version": ANALYSIS_VERSION, "bm25": "per document language"},
            "embedding_context": context,  # what paragraphs were embedded with (indexer.context)
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "counts": {"documents": report.documents, "paragraphs": report.paragraphs,
                       "vectors": len(arms[0][1]), "vectors_per_model": [len(v) for _, v in arms]},
            "build_seconds": {k: round(v, 2) for k, v in report.seconds.items()},
            "files": {parsed.doc.source: digest for parsed, digest in docs},
            "problems": [{"path": p.path, "reason": p.reason} for p in report.problems],
        }
        (gen / indexfiles.MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
        indexfiles.publish(index_dir, gen)
    except BaseException:
        indexfiles.discard(gen)
        raise
