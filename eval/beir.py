"""BEIR benchmark folders: their questions and gold, and an index of their corpus.

A BEIR folder holds ``corpus.jsonl`` (``_id``, ``title``, ``text``),
``queries.jsonl`` (``_id``, ``text``) and ``qrels/<split>.tsv``
(``query-id corpus-id score``, header line).

* Only the queries named in ``qrels/<split>.tsv`` are scored (SciFact's
  ``queries.jsonl`` also holds its train queries).
* Each corpus record becomes one document whose symbol is its ``_id``, with a
  single paragraph ``"1"``: ``"<title>. <text>"``. Gold is matched on
  ``(_id, "1")``.
* Gold pointing to a document missing from the corpus (5 in ArguAna) stays in
  the gold by default, unfindable, as pytrec_eval and BEIR score it, so the
  figures are comparable with published ones; ``drop_missing`` removes it
  (and a query left without gold).
* ArguAna's queries are themselves corpus documents: a result that is the
  query's own document is dropped before scoring (BEIR's
  ``ignore_identical_ids``), which ``ignore_identical_ids`` turns on
  (by default for ArguAna and Quora, as BEIR does).

* A corpus record whose title and text are both empty is still indexed (an
  empty paragraph no query can find), with a warning that names it
  (:func:`empty_records`).
* A record's ``metadata`` may give its document a ``body``, ``type`` and
  ``date`` (strings), which the engine's filters select on (``--filter``).
  A query's ``metadata`` (or top-level) field can limit that query's candidates
  (``--query-filter FIELD=KEY``: the filter ``FIELD`` takes the value of the
  query's ``KEY``, for sets like PolicyQA where each question is about one
  document or group of documents).

The index is built once with :func:`indexer.build.build_from_documents` and
cached under ``<cache>/<name>-<model>`` (default cache: :func:`eval.paths.beir_cache`,
outside the checkout); it is rebuilt when the corpus file or the way records are
turned into paragraphs changes.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval.paths import beir_cache
from eval.questions import Gold, Question, QuestionSet
from parasearch.config import model_list, resolve_model
from parasearch.errors import ParasearchError
from parasearch.types import Document, Paragraph, ParsedDocument, normalize_symbol

if TYPE_CHECKING:
    from indexer.embed import Encoder

SOURCE_FILE = "beir-source.json"
RECIPE = "title. text, one paragraph '1' per record (v1)"  # change it when corpus_documents changes
IDENTICAL_IDS_SETS = ("arguana", "quora")  # where BEIR evaluates with ignore_identical_ids=True
BEIR_PARA = "1"
DOC_METADATA = ("body", "type", "date")  # a corpus record's metadata fields its document takes
METADATA_RECIPE = "metadata body, type, date (v1)"  # in the fingerprint only when some record has them
FILTER_FIELDS = ("symbol", "body", "type", "language", "date_from", "date_to")  # service.search.Filters
NAMED_EMPTY = 10  # empty records named in a warning

# Published figures on the test split (from ../shared/bench/README.md): nDCG@10 (linear gain) and Recall@100.
REFERENCE: dict[str, list[tuple[str, dict[str, float]]]] = {
    "scifact": [
        ("BM25, Anserini flat", {"ndcg@10": 0.6789, "recall@100": 0.9253}),
        ("BM25, Anserini multifield", {"ndcg@10": 0.6647, "recall@100": 0.9076}),
        ("BM25 + cross-encoder rerank (BEIR paper)", {"ndcg@10": 0.688}),
        ("all-MiniLM-L6-v2 dense (MTEB)", {"ndcg@10": 0.6451, "recall@100": 0.925}),
        ("bge-small-en-v1.5 dense (MTEB)", {"ndcg@10": 0.7127, "recall@100": 0.945}),
        ("BM25 k1 0.9 b 0.4, bench README", {"ndcg@10": 0.677, "recall@100": 0.929}),
    ],
    "arguana": [
        ("BM25, Anserini flat", {"ndcg@10": 0.3970, "recall@100": 0.9324}),
        ("BM25, Anserini multifield", {"ndcg@10": 0.4142, "recall@100": 0.9431}),
        ("BM25 + cross-encoder rerank (BEIR paper)", {"ndcg@10": 0.311}),
        ("all-MiniLM-L6-v2 dense (MTEB)", {"ndcg@10": 0.5017, "recall@100": 0.9772}),
        ("bge-small-en-v1.5 dense (MTEB)", {"ndcg@10": 0.6035, "recall@100": 0.9879}),
        ("BM25 k1 0.9 b 0.4, bench README", {"ndcg@10": 0.404, "recall@100": 0.932}),
    ],
    "squad-dev": [
        ("BM25 k1 0.9 b 0.4, bench README", {"ndcg@10": 0.870, "recall@100": 0.992}),
    ],
}


class BeirError(ValueError):
    """A folder that is not a readable BEIR folder; the message says why."""


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise BeirError(f"{path} not found")
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict) or "_id" not in row:
            raise BeirError(f"{path}: record {n} is not an object with an '_id'")
    return rows


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """``qrels/<split>.tsv`` -> {query id: {corpus id: score}} (header line skipped)."""
    if not path.is_file():
        raise BeirError(f"{path} not found")
    out: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8", newline="") as f:
        rows = csv.reader(f, delimiter="\t")
        for n, row in enumerate(rows):
            if not row or (n == 0 and not row[-1].strip().lstrip("-").isdigit()):
                continue  # header
            if len(row) < 3:
                raise BeirError(f"{path}:{n + 1}: expected query-id, corpus-id, score")
            out.setdefault(row[0], {})[row[1]] = int(row[2])
    return out


def record_text(title: str, text: str) -> str:
    """The paragraph text of a corpus record: ``"<title>. <text>"`` (no dot doubled, none for no title)."""
    title, text = (title or "").strip(), (text or "").strip()
    if not title:
        return text
    if not text:
        return title
    sep = " " if title[-1] in ".?!:;" else ". "
    return f"{title}{sep}{text}"


def set_name(folder: Path) -> str:
    return Path(folder).resolve().name


def empty_records(records: list[dict[str, Any]]) -> list[str]:
    """The ids of corpus records whose title and text are both empty (or only spaces)."""
    return [str(r["_id"]) for r in records
            if not record_text(str(r.get("title") or ""), str(r.get("text") or ""))]


def empty_warning(ids: list[str], total: int, name: str) -> str:
    """The warning for a corpus's empty records, naming the first :data:`NAMED_EMPTY`."""
    named = ", ".join(repr(i) for i in ids[:NAMED_EMPTY]) + (" ..." if len(ids) > NAMED_EMPTY else "")
    return (f"{len(ids)} of {total} {name} corpus records have empty text (no title, no text): {named}; "
            f"they are indexed as empty paragraphs no query can find")


def parse_filter_specs(specs: list[str], option: str) -> list[tuple[str, str]]:
    """``["symbol=policy", "body=x"]`` -> ``[("symbol", "policy"), ("body", "x")]``; :class:`BeirError` on a
    field that is not one of :data:`FILTER_FIELDS` (``date-from`` is read as ``date_from``) or a missing ``=``."""
    out: list[tuple[str, str]] = []
    for spec in specs:
        key, sep, value = spec.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not value.strip():
            raise BeirError(f"{option} {spec!r}: expected FIELD=VALUE")
        if key not in FILTER_FIELDS:
            raise BeirError(f"{option} {spec!r}: FIELD must be one of {', '.join(FILTER_FIELDS)}")
        out.append((key, value.strip()))
    return out


def _query_value(query: Mapping[str, Any], key: str) -> list[str]:
    """A query record's ``key``, in its ``metadata`` or at its top level, as a list of strings."""
    meta = query.get("metadata")
    value = meta.get(key) if isinstance(meta, dict) and key in meta else query.get(key)
    values = value if isinstance(value, list) else [value]
    return [str(v) for v in values if v is not None and str(v) != ""]


def query_filters(query: Mapping[str, Any], fields: Mapping[str, str]) -> dict[str, list[str]]:
    """The filters of one query: for each ``field -> key`` of ``fields`` (``--query-filter FIELD=KEY``), the
    query's ``key`` values; a key ending in ``*`` makes a symbol value a raw prefix (``amazon`` -> ``amazon*``)."""
    out: dict[str, list[str]] = {}
    for field_name, key in fields.items():
        raw_prefix = key.endswith("*")
        values = _query_value(query, key.rstrip("*"))
        if values:
            out[field_name] = [v + "*" for v in values] if raw_prefix else values
    return out


def load_beir(folder: Path, *, split: str = "test", ignore_identical_ids: bool | None = None,
              drop_missing: bool = False, name: str | None = None,
              filter_fields: Mapping[str, str] | None = None) -> QuestionSet:
    """The queries of ``qrels/<split>.tsv`` with their gold, as a question set.

    ``filter_fields``: ``{filter field: query key}`` (``--query-filter``): each question's candidates are limited
    to the documents whose ``field`` matches the query's ``key`` (:func:`query_filters`)."""
    folder = Path(folder)
    name = name or set_name(folder)
    qrels = read_qrels(folder / "qrels" / f"{split}.tsv")
    query_rows = {str(q["_id"]): q for q in _read_jsonl(folder / "queries.jsonl")}
    queries = {qid: str(q.get("text") or "") for qid, q in query_rows.items()}
    corpus = _read_jsonl(folder / "corpus.jsonl")
    corpus_ids = {str(d["_id"]) for d in corpus}
    doc_ids: dict[str, str] = {}
    for d in corpus:
        doc_ids.setdefault(normalize_symbol(str(d["_id"])), str(d["_id"]))  # the first is indexed
    if ignore_identical_ids is None:
        ignore_identical_ids = name.lower() in IDENTICAL_IDS_SETS

    notes: list[str] = []
    missing_docs = sorted({(q, d) for q, rel in qrels.items() for d in rel if d not in corpus_ids})
    unknown_queries = sorted(q for q in qrels if q not in queries)
    questions: list[Question] = []
    dropped_no_gold = 0
    for qid, rel in qrels.items():
        if qid not in queries:
            continue
        gold = [Gold(d, BEIR_PARA, g) for d, g in rel.items() if not (drop_missing and d not in corpus_ids)]
        if not any(g.grade > 0 for g in gold):
            dropped_no_gold += 1
            continue
        filters = query_filters(query_rows[qid], filter_fields) if filter_fields else {}
        questions.append(Question(id=qid, query=queries[qid], relevant=gold, language="", kind="",
                                  filters=filters))
    if not questions:
        raise BeirError(f"{folder}: no query of qrels/{split}.tsv found in queries.jsonl")

    if missing_docs:
        how = "dropped" if drop_missing else "kept as unfindable gold, as pytrec_eval/BEIR score them"
        pairs = ", ".join(f"{q} -> {d}" for q, d in missing_docs[:5]) + (" ..." if len(missing_docs) > 5 else "")
        notes.append(f"{len(missing_docs)} gold pair(s) point to documents missing from the corpus ({how}): {pairs}")
    if dropped_no_gold:
        notes.append(f"{dropped_no_gold} query(ies) left without gold were not scored")
    if unknown_queries:
        notes.append(f"{len(unknown_queries)} qrels query id(s) not in queries.jsonl were skipped")
    self_ids = sum(1 for q in questions if q.id in corpus_ids)
    if ignore_identical_ids:
        notes.append(f"{self_ids} of {len(questions)} queries are also corpus documents: a result that is the "
                     f"query's own document is dropped before scoring (ignore_identical_ids)")
    n_train = len(queries) - len(questions)
    if n_train > 0:
        notes.append(f"{len(questions)} {split} queries scored; {n_train} other queries in queries.jsonl ignored")
    empty = empty_records(corpus)
    warnings = [empty_warning(empty, len(corpus), name)] if empty else []
    notes += warnings
    if filter_fields:
        how = ", ".join(f"{f} from the query's {k!r}" for f, k in filter_fields.items())
        limited = sum(1 for q in questions if q.filters)
        notes.append(f"candidates limited per query ({how}): {limited} of {len(questions)} queries have a value"
                     + ("; the others are searched unfiltered" if limited < len(questions) else ""))
    info = {"split": split, "questions": len(questions), "corpus_documents": len(corpus_ids),
            "empty_passages": len(empty),
            "gold_pairs": sum(len(q.relevant) for q in questions), "gold_missing_from_corpus": len(missing_docs),
            "queries_that_are_corpus_ids": self_ids, "ignore_identical_ids": ignore_identical_ids}
    return QuestionSet(name=name, questions=questions, source=str(folder), kind="beir",
                       ignore_identical_ids=ignore_identical_ids, notes=notes, info=info, doc_ids=doc_ids,
                       warnings=warnings)


def _doc_metadata(rec: Mapping[str, Any]) -> dict[str, str]:
    """The :data:`DOC_METADATA` fields a record's ``metadata`` gives (strings only)."""
    meta = rec.get("metadata")
    if not isinstance(meta, dict):
        return {}
    return {k: str(meta[k]).strip() for k in DOC_METADATA if isinstance(meta.get(k), str) and meta[k].strip()}


def corpus_documents(folder: Path) -> tuple[list[tuple[ParsedDocument, str]], list[str]]:
    """Each corpus record as one parsed document ``(document, content hash)``; and notes on records skipped
    or empty."""
    folder = Path(folder)
    docs: list[tuple[ParsedDocument, str]] = []
    seen: dict[str, str] = {}
    notes: list[str] = []
    records = _read_jsonl(folder / "corpus.jsonl")
    empty = empty_records(records)
    if empty:
        notes.append(empty_warning(empty, len(records), set_name(folder)))
    for rec in records:
        doc_id = str(rec["_id"])
        key = normalize_symbol(doc_id)
        if key in seen:  # the index keys documents by normalized symbol
            notes.append(f"corpus id {doc_id!r} is the same key as {seen[key]!r}: skipped")
            continue
        seen[key] = doc_id
        title = str(rec.get("title") or "")
        text = record_text(title, str(rec.get("text") or ""))
        meta = _doc_metadata(rec)
        digest = hashlib.sha256(f"{doc_id}\n{text}".encode()).hexdigest()
        doc = Document(symbol=doc_id, title=title, language="en", source=f"{folder.name}/corpus.jsonl#{doc_id}",
                       body=meta.get("body"), type=meta.get("type"), date=meta.get("date"))
        docs.append((ParsedDocument(doc=doc, paragraphs=[Paragraph(para=BEIR_PARA, text=text)]), digest))
    return docs, notes


def _fingerprint(folder: Path, model_name: str) -> dict[str, str]:
    h = hashlib.sha256()
    with open(folder / "corpus.jsonl", "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    out = {"corpus_sha256": h.hexdigest(), "recipe": RECIPE, "model": model_name}
    if any(_doc_metadata(r) for r in _read_jsonl(folder / "corpus.jsonl")):
        out["metadata"] = METADATA_RECIPE  # an index built before records gave their metadata is rebuilt
    return out


def _model_names(model: str | None, encoder: Encoder | list[Encoder] | None) -> str:
    """The models' short names joined by "+" (``multilingual-e5-small+all-MiniLM-L6-v2``)."""
    if encoder is not None:
        names = [e.name for e in (encoder if isinstance(encoder, list) else [encoder])]
    else:
        names = [resolve_model(m)[0] for m in model_list(model)]
    return "+".join(n.split("/")[-1] for n in names)


def index_dir_for(folder: Path, model: str | None = None, cache: Path | None = None,
                  encoder: Encoder | list[Encoder] | None = None) -> Path:
    """``<cache>/<name>-<models>``, the models as their short names (``all-MiniLM-L6-v2``); the default cache is
    :func:`eval.paths.beir_cache`, outside the checkout."""
    safe = re.sub(r"[^A-Za-z0-9._+-]+", "_", _model_names(model, encoder))
    return Path(cache or beir_cache()) / f"{set_name(folder)}-{safe}"


def ensure_index(folder: Path, *, model: str | None = None, cache: Path | None = None,
                 encoder: Encoder | list[Encoder] | None = None, rebuild: bool = False, progress: bool = True,
                 batch_size: int = 64) -> Path:
    """The cached index of the folder's corpus, built first if missing or stale (``encoder``: the encoders to
    build with, which name the index; None: ``model``'s, loaded only if the index must be built)."""
    from indexer.build import build_from_documents
    from parasearch import indexfiles

    folder = Path(folder)
    index_dir = index_dir_for(folder, model, cache, encoder)
    want = _fingerprint(folder, _model_names(model, encoder))
    stamp = index_dir / SOURCE_FILE
    if not rebuild and stamp.is_file():
        try:
            indexfiles.current_generation(index_dir)
            if json.loads(stamp.read_text()) == want:
                return index_dir
        except (ParasearchError, json.JSONDecodeError):
            pass
    docs, notes = corpus_documents(folder)
    for note in notes:
        print(f"parasearch eval: {note}", file=sys.stderr)
    print(f"parasearch eval: indexing {len(docs)} {set_name(folder)} documents into {index_dir} "
          f"(once; later runs reuse it)", file=sys.stderr)
    # context "none": a record's paragraph is already "<title>. <text>", so a title line would say it twice
    report = build_from_documents(docs, index_dir, model=model, encoder=encoder, progress=progress,
                                  batch_size=batch_size, context="none")
    if not report.published:
        raise BeirError(f"{folder}: nothing was indexed\n{report.summary()}")
    print(report.summary(), file=sys.stderr)
    stamp.write_text(json.dumps(want, indent=1))
    return index_dir
