"""Parallel-paragraph retrieval: a paragraph of a Security Council resolution in one language is the
query; the answer is the same paragraph (same symbol, same locator) in the index's target language.

No question has to be written. Each language version of a resolution is read with the project's own
reader (:func:`indexer.readers.read_document`, the AKN reader for the XML files), so its paragraphs carry
the locators the index gives them (``preamble-3``, ``12``, ``annex-4`` ...). A paragraph whose symbol and
locator the index holds in the target language (English by default; looked up read-only in the index's
SQLite store) is a candidate; up to ``limit`` candidates per language are drawn deterministically (ranked
by a hash of the seed and the paragraph key, so every language draws mostly the same paragraphs and the
languages can be compared). Each is searched with the ``language`` filter on the target language, so the
answer must come from that version, and scored with the usual metrics (:mod:`eval.metrics`) per query
language and mode.

Counting. Many paragraphs recur word for word in several resolutions ("Decides to remain seized of the
matter."): for those, the query cannot tell which resolution it came from. Both countings are reported:

* **lenient** (the figures under ``all``, ``by_language`` and ``by_kind``, the summary table, ``--compare``
  and the chart): a result counts when the paragraph it shows, or one it lists as a repeat (``also_in``),
  is the gold paragraph or any target-language paragraph whose text the index keys as the same
  (``paragraphs.text_key``: the normalized text, case, quotes and punctuation folded);
* **strict** (under ``strict``): only the gold symbol and locator count, and only as the paragraph a result
  shows.

Query embeddings are computed in batches by the engine (``SearchEngine.embed_queries``), which keeps them in its
query cache for the searches that follow.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval.metrics import Slot
from eval.questions import Gold, Question, QuestionSet, para_key
from eval.retrieve import EngineSearcher, ModeRun, Searcher, retrieve
from parasearch.progress import progress_bar

if TYPE_CHECKING:
    from service.index import LoadedIndex

DEFAULT_LANGUAGES = ("ar", "zh", "fr", "ru", "es")
DEFAULT_TARGET = "en"
DEFAULT_LIMIT = 500
DEFAULT_SEED = 2026
BATCH = 128  # queries embedded at once (and held in the engine's query cache while they are searched)


class ParallelError(ValueError):
    """The parallel evaluation cannot run as asked (the message says why)."""


def set_name(root: Path, target: str) -> str:
    """``sc-parallel-en`` for ``../shared/corpus/sc`` and English."""
    return f"{Path(root).resolve().name}-parallel-{target}"


# -- the target language's paragraphs, from the index's store ----------------------------------------
@dataclass
class TargetParagraphs:
    """The index's paragraphs in the target language: paragraph key -> text key, and text key -> keys."""

    language: str
    text_key: dict[str, str] = field(default_factory=dict)
    by_text: dict[str, list[str]] = field(default_factory=dict)
    documents: int = 0

    def equivalents(self, key: str) -> list[str]:
        """The other paragraphs of the target language with the same (normalized) text as ``key``."""
        return [k for k in self.by_text.get(self.text_key.get(key, ""), []) if k != key]


def target_paragraphs(index: LoadedIndex, language: str) -> TargetParagraphs:
    """Read, read-only, every paragraph of ``language`` from a loaded index's SQLite store."""
    from parasearch import indexfiles

    store = Path(index.generation) / indexfiles.STORE
    con = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT d.symbol_key, p.para, p.text_key FROM paragraphs p JOIN documents d ON d.id = p.doc_id "
            "WHERE lower(d.language) = ? ORDER BY p.id", (language.lower(),)).fetchall()
        n_docs = con.execute("SELECT count(*) FROM documents WHERE lower(language) = ?",
                             (language.lower(),)).fetchone()[0]
    finally:
        con.close()
    out = TargetParagraphs(language, documents=int(n_docs))
    for symbol_key, para, text_key in rows:
        key = para_key(symbol_key, para)
        out.text_key.setdefault(key, text_key)
        out.by_text.setdefault(text_key, []).append(key)
    return out


# -- the query language's paragraphs, read from the files ------------------------------------------
@dataclass
class SourceParagraph:
    key: str
    symbol: str
    para: str
    kind: str
    text: str


@dataclass
class LanguageSource:
    files: int = 0
    paragraphs: list[SourceParagraph] = field(default_factory=list)


def read_sources(root: Path, languages: list[str]) -> tuple[dict[str, LanguageSource], list[str]]:
    """The paragraphs of every document in ``languages`` under ``root``, by language, and the problems met.

    ``root/<language>/`` is read when it exists (``../shared/corpus/sc/fr``), else ``root`` itself, whose
    documents are sorted by the language they declare. A symbol read twice in one language is kept once."""
    from indexer.corpus import discover
    from indexer.readers import read_document
    from parasearch.types import DocumentError, normalize_symbol

    root = Path(root)
    if not root.exists():
        raise ParallelError(f"--parallel: no such folder {root}")
    folders = list(dict.fromkeys(root / lang if (root / lang).is_dir() else root for lang in languages))
    sources, found = discover(folders)
    problems = [f"{p.path}: {p.reason}" for p in found]
    out = {lang: LanguageSource() for lang in languages}
    seen: set[tuple[str, str]] = set()
    for src in sources:
        try:
            parsed = read_document(src.path, src.meta)
        except DocumentError as exc:
            problems.append(f"{src.path}: {exc}")
            continue
        except Exception as exc:  # a reader bug must not stop the evaluation: named, and the file skipped
            problems.append(f"{src.path}: could not be read ({type(exc).__name__}: {exc})")
            continue
        lang = (parsed.doc.language or "").lower()
        doc_key = (normalize_symbol(parsed.doc.symbol), lang)
        if lang not in out or doc_key in seen:
            continue
        seen.add(doc_key)
        bucket = out[lang]
        bucket.files += 1
        bucket.paragraphs += [SourceParagraph(para_key(parsed.doc.symbol, p.para), parsed.doc.symbol, p.para,
                                              p.kind, p.text) for p in parsed.paragraphs if p.text.strip()]
    return out, problems


def _draw_rank(seed: int, key: str) -> str:
    return hashlib.sha1(f"{seed}\t{key}".encode()).hexdigest()


@dataclass
class ParallelSet:
    """The questions, and per question the target paragraphs that count as the gold's text (lenient)."""

    qset: QuestionSet
    equivalents: dict[str, list[str]]
    stats: dict[str, dict[str, int]]  # per query language: files, paragraphs, in_target, questions, ambiguous


def build_set(root: Path, target: TargetParagraphs, languages: list[str], *, limit: int | None = DEFAULT_LIMIT,
              seed: int = DEFAULT_SEED, name: str | None = None) -> ParallelSet:
    """Read the query languages' paragraphs, keep those the index holds in the target language, draw up to
    ``limit`` per language (all when ``limit`` is 0 or None)."""
    if not target.text_key:
        raise ParallelError(f"the index holds no paragraph in {target.language!r}: nothing to find")
    sources, problems = read_sources(root, languages)
    questions: list[Question] = []
    equivalents: dict[str, list[str]] = {}
    stats: dict[str, dict[str, int]] = {}
    notes: list[str] = []
    for lang in languages:
        src = sources[lang]
        unique: dict[str, SourceParagraph] = {}
        for p in src.paragraphs:
            if p.key in target.text_key:
                unique.setdefault(p.key, p)
        candidates = list(unique.values())
        candidates.sort(key=lambda p: _draw_rank(seed, p.key))
        drawn = sorted(candidates[:limit] if limit else candidates, key=lambda p: p.key)
        ambiguous = 0
        for p in drawn:
            qid = f"{lang}:{p.key}"
            same = target.equivalents(p.key)
            ambiguous += bool(same)
            equivalents[qid] = same
            questions.append(Question(qid, p.text, [Gold(p.symbol, p.para, 1)], language=lang, kind=p.kind))
        stats[lang] = {"files": src.files, "paragraphs": len(src.paragraphs), "in_target": len(candidates),
                       "questions": len(drawn), "ambiguous": ambiguous}
        if not drawn:
            notes.append(f"{lang}: no paragraph found whose {target.language} version the index holds "
                         f"({src.files} {lang} documents read under {root})")
    if not questions:
        raise ParallelError(f"no paragraph under {root} in {', '.join(languages)} has its {target.language} "
                            f"version in the index")
    if problems:
        notes.append(f"{len(problems)} file(s) could not be read, e.g. {problems[0]}")
    n_amb = sum(s["ambiguous"] for s in stats.values())
    notes.append(f"{n_amb} of {len(questions)} queries ({n_amb / len(questions):.0%}) have a gold paragraph whose "
                 f"text recurs in other {target.language} paragraphs of the index (lenient counts those too)")
    qset = QuestionSet(name=name or set_name(root, target.language), questions=questions, source=str(root),
                       kind="parallel", notes=notes,
                       info={"questions": len(questions), "target": target.language,
                             "target_documents": target.documents, "target_paragraphs": len(target.text_key)})
    return ParallelSet(qset, equivalents, stats)


# -- searching, with batched query embeddings ------------------------------------------------------
def retrieve_batched(qset: QuestionSet, searcher: Searcher, modes: list[str], k: int, *, batch: int = BATCH,
                     progress: bool = True) -> tuple[dict[str, ModeRun], dict[str, Any]]:
    """:func:`eval.retrieve.retrieve` over chunks of ``batch`` questions, each chunk's query vectors made in
    one encoder call first (:meth:`service.search.SearchEngine.embed_queries`). Returns the runs and how queries
    were embedded."""
    from service import search as S

    runs = {m: ModeRun(m) for m in modes}
    engine = searcher.engine if isinstance(searcher, EngineSearcher) else None
    batched = engine is not None and any(m in ("dense", "hybrid") for m in modes)
    info: dict[str, Any] = {"batched": batched,
                            "how": "SearchEngine.embed_queries" if batched else "one query at a time",
                            "embed_seconds": 0.0}
    batch = max(1, min(batch, getattr(S, "QUERY_CACHE_SIZE", 1024) // 2))
    bar = progress_bar(total=len(qset.questions), desc=f"{qset.name} ({', '.join(modes)})", unit="q",
                       disable=not progress)
    for start in range(0, len(qset.questions), batch):
        chunk = qset.questions[start:start + batch]
        if batched and engine is not None:
            t0 = time.perf_counter()
            engine.embed_queries([q.query.strip() for q in chunk])
            info["embed_seconds"] += time.perf_counter() - t0
        # cold=False: the vectors just made in one batch are what this chunk's searches are to use
        part = retrieve(replace(qset, questions=chunk, notes=[], info={}), searcher, modes, k, progress=False,
                        cold=not batched)
        for mode, got in part.items():
            run = runs[mode]
            run.results.update(got.results)
            run.shown.update(got.shown)
            run.notices.update(got.notices)
            run.seconds += got.seconds
            run.self_hits_dropped += got.self_hits_dropped
        bar.update(len(chunk))
    bar.close()
    return runs, info


# -- scoring ----------------------------------------------------------------------------------------
def lenient_results(results: dict[str, list[Slot]], gold: dict[str, str], equivalents: dict[str, list[str]]
                    ) -> dict[str, list[Slot]]:
    """Every member of a result that repeats the gold's text word for word is taken as the gold itself."""
    out: dict[str, list[Slot]] = {}
    for qid, slots in results.items():
        same = set(equivalents.get(qid, ()))
        g = gold[qid]
        out[qid] = [tuple(g if m in same else m for m in slot) for slot in slots] if same else list(slots)
    return out


def strict_results(results: dict[str, list[Slot]]) -> dict[str, list[Slot]]:
    """Only the paragraph each result shows (its ``also_in`` repeats dropped)."""
    return {qid: [slot[:1] for slot in slots] for qid, slots in results.items()}


def score(pset: ParallelSet, runs: dict[str, ModeRun], k: int) -> dict[str, dict[str, Any]]:
    """{mode: figures}: lenient figures as usual (``all``, ``by_language``, ``by_kind``, ``recall_curve``,
    ``per_question`` ...) and the strict ones under ``strict`` (``all``, ``by_language``, ``by_kind``)."""
    from eval.scoring import metrics_for, score_runs

    metrics, curve_ks = metrics_for(k)
    qset = pset.qset
    gold = {q.id: q.relevant[0].key for q in qset.questions}
    lenient = {m: replace(r, results=lenient_results(r.results, gold, pset.equivalents)) for m, r in runs.items()}
    strict = {m: replace(r, results=strict_results(r.results)) for m, r in runs.items()}
    figures = score_runs(qset, lenient, metrics=metrics, curve_ks=curve_ks, keep_shown=False)
    strict_figures = score_runs(qset, strict, metrics=metrics, curve_ks=curve_ks, keep_shown=False)
    for mode, f in figures.items():
        s = strict_figures[mode]
        f["strict"] = {"all": s["all"], "by_language": s["by_language"], "by_kind": s["by_kind"]}
    return figures


def evaluate(pset: ParallelSet, searcher: Searcher, modes: list[str], k: int, *, progress: bool = True
             ) -> tuple[dict[str, Any], dict[str, ModeRun]]:
    """Search and score a parallel set: ``(the set's figures, raw runs)`` as :func:`eval.scoring.evaluate_set`,
    plus ``parallel``, what was read, drawn and how it was counted."""
    runs, embedding = retrieve_batched(pset.qset, searcher, modes, k, progress=progress)
    target = pset.qset.info.get("target", "")
    figures = {"modes": score(pset, runs, k), "parallel": {
        "target": target,
        "languages": {lang: s for lang, s in pset.stats.items()},
        "counting": {
            "lenient": "a result counts when the paragraph it shows or lists (also_in) is the gold or any "
                       f"{target} paragraph of the index with the same normalized text (text_key)",
            "strict": "only the gold symbol and paragraph, as the paragraph a result shows",
        },
        "query_embedding": embedding,
    }}
    return figures, runs
