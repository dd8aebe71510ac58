"""``parasearch eval``: score retrieval (and answers) on question sets and BEIR benchmarks.

Examples::

    parasearch eval --index .index/full-en                       # the dev questions, all three modes
    parasearch eval --url http://127.0.0.1:8000                  # the same, over HTTP, as users get it
    parasearch eval --beir ../shared/bench/scifact --beir ../shared/bench/arguana
    parasearch eval --beir ../shared/bench/scifact --compare old/results.json
    parasearch eval --regression eval/regressions/scifact.yaml   # the committed expected figures
    parasearch eval --parse                                      # paragraph parsing quality
    parasearch eval --index .index/sc-en --parallel ../shared/corpus/sc   # parallel paragraphs, below
    parasearch eval --index .index/sc-en --parallel ../shared/corpus/sc --parallel-languages fr,es \
        --parallel-limit 200 --parallel-target en --mode hybrid

Question sets are reported per mode over all questions and per question kind,
language (the ``language`` field of each question: the language it is asked in)
and collection.

Parallel paragraphs (``--parallel DIR``, in-process only, see eval/parallel.py):
each paragraph of a Security Council resolution in a query language
(``--parallel-languages``, default ar,zh,fr,ru,es; read from ``DIR/<language>/``
with the project's AKN reader) is a query, and its gold is the same symbol and
paragraph in ``--parallel-target`` (default en), which the index must hold;
search is filtered to that language. Up to ``--parallel-limit`` paragraphs (default
500, 0 for all) are drawn per language, deterministically (``--parallel-seed``).
Figures per query language and mode, counted leniently (a paragraph with the
gold's text, repeated in another resolution, is a hit too) and strictly (only
the gold symbol and paragraph, as shown).

Committed expected figures (``--regression FILE``, see eval/regression.py): the
file's command is run and each figure it lists checked against its expected value
and tolerance; exit 1 when one dropped beyond it. With ``--results RESULTS.json``
a saved run is checked instead.

Writes, under ``--out`` (default ``<cache>/out/<name>/``, the cache outside the
checkout: ``$PARASEARCH_EVAL_CACHE``, else ``~/.cache/parasearch/eval``, see
eval/paths.py): ``results.json`` (every figure), ``report.md`` (the tables
printed), ``<set>.<mode>.trec`` (TREC run files) and ``recall.png`` (recall at k
per mode). See docs/evaluation.md.

Each mode's time per question is measured with the engine's query-vector cache
emptied before every search, so that each pays for encoding its query (over HTTP
the service's cache cannot be emptied: the notes say so).
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval import parallel as P
from eval import report as R
from eval.paths import out_root, regression_root
from eval.questions import QuestionFileError, QuestionSet, load_questions
from eval.retrieve import EngineSearcher, FilterSpec, HttpSearcher, ModeRun, Searcher
from parasearch.config import DEFAULT_INDEX, REPO_ROOT

if TYPE_CHECKING:
    from service.search import SearchEngine

SHARED = REPO_ROOT.parent / "shared"
DEFAULT_QUESTIONS = SHARED / "eval" / "dev_questions.jsonl"
DEFAULT_PARSE_CORPUS = SHARED / "corpus"
MODES = ("bm25", "dense", "hybrid")
Results = R.Results  # what results.json holds
Searched = tuple[QuestionSet, Searcher, dict[str, Any]]  # a set, its searcher, where and how it was searched


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (__doc__ or "").split("\n\n")[0]
    src = p.add_argument_group("what to score")
    src.add_argument("--questions", action="append", type=Path, default=[], metavar="FILE",
                     help=f"question file (JSON Lines, dev format); repeatable (default {DEFAULT_QUESTIONS} "
                          "when no --beir is given)")
    src.add_argument("--beir", action="append", type=Path, default=[], metavar="DIR",
                     help="BEIR folder (corpus.jsonl, queries.jsonl, qrels/); its corpus is indexed once and "
                          "cached; repeatable")
    src.add_argument("--limit", type=int, help="score only the first N questions of each set (quick checks)")

    how = p.add_argument_group("how to search")
    where = how.add_mutually_exclusive_group()
    where.add_argument("--index", type=Path, help=f"index for the question files, searched in-process "
                                                  f"(default {DEFAULT_INDEX})")
    where.add_argument("--url", help="a running service (http://127.0.0.1:PORT): score what GET /search returns")
    how.add_argument("--mode", action="append", choices=MODES, help="repeatable (default: bm25, dense, hybrid)")
    how.add_argument("-k", type=int, default=100, help="results read per question (default 100, for recall@100)")
    how.add_argument("--collapse", action=argparse.BooleanOptionalAction, default=None,
                     help="collapse repeated paragraphs as the service does (default: on for question files, "
                          "off for BEIR, whose documents are scored one by one)")
    how.add_argument("--filter", action="append", default=[], metavar="FIELD=VALUE",
                     help="search only documents that match, as the service's filters do (FIELD: symbol, an exact "
                          "symbol or a prefix, 'x*' a raw prefix; body; type; language; date_from; date_to); "
                          "repeatable, values of one field are alternatives; question files and BEIR sets")

    par = p.add_argument_group("parallel paragraphs (a resolution's paragraph in one language finds it in another)")
    par.add_argument("--parallel", type=Path, metavar="DIR",
                     help="folder of AKN XML resolutions, one subfolder per language (../shared/corpus/sc): "
                          "each paragraph in a query language is a query, the same symbol and paragraph in the "
                          "target language the gold; searched in-process in --index")
    par.add_argument("--parallel-languages", default=",".join(P.DEFAULT_LANGUAGES), metavar="LANGS",
                     help=f"query languages, comma-separated (default {','.join(P.DEFAULT_LANGUAGES)})")
    par.add_argument("--parallel-target", default=P.DEFAULT_TARGET, metavar="LANG",
                     help=f"language the answers must be in (the language filter; default {P.DEFAULT_TARGET})")
    par.add_argument("--parallel-limit", type=int, default=P.DEFAULT_LIMIT, metavar="N",
                     help=f"paragraphs drawn per query language (default {P.DEFAULT_LIMIT}; 0: all)")
    par.add_argument("--parallel-seed", type=int, default=P.DEFAULT_SEED,
                     help=f"seed of the draw (default {P.DEFAULT_SEED})")

    beir = p.add_argument_group("BEIR")
    beir.add_argument("--split", default="test", help="qrels split to score (default test; SciFact has train too)")
    beir.add_argument("--identical-ids", choices=["auto", "ignore", "keep"], default="auto",
                      help="drop a query's hit on its own document (ignore) or not (keep); auto: ignore for "
                           "ArguAna and Quora, as BEIR does")
    beir.add_argument("--drop-missing-qrels", action="store_true",
                      help="drop gold pointing to documents missing from the corpus (default: keep it, "
                           "unfindable, as pytrec_eval/BEIR score it)")
    beir.add_argument("--query-filter", action="append", default=[], metavar="FIELD=KEY",
                      help="limit each query's candidates to the documents whose FIELD (as --filter) matches the "
                           "value of the query's KEY (in its 'metadata', or at the top level of queries.jsonl); "
                           "KEY ending in '*': a symbol value is a raw prefix; repeatable")
    beir.add_argument("--model", help="embedding model(s) for BEIR indexes, joined by + "
                                      "(default multilingual-e5-small+all-MiniLM-L6-v2)")
    beir.add_argument("--cache-dir", type=Path, help="where BEIR indexes are cached (default <cache>/beir, "
                                                     "outside the checkout: see eval/paths.py)")
    beir.add_argument("--rebuild", action="store_true", help="rebuild the BEIR indexes even if cached")

    out = p.add_argument_group("output")
    out.add_argument("--out", type=Path, help="output folder (default <cache>/out/<name>/, outside the checkout)")
    out.add_argument("--name", help="name of this evaluation (default: the sets' names joined by '+')")
    out.add_argument("--compare", type=Path, metavar="OLD.json",
                     help="compare with an earlier results.json; exit 1 on a regression beyond --tolerance")
    out.add_argument("--tolerance", type=float, default=R.DEFAULT_TOLERANCE,
                     help=f"largest allowed absolute drop (default {R.DEFAULT_TOLERANCE})")
    out.add_argument("--guard", default=",".join(R.DEFAULT_GUARDED),
                     help=f"metrics a drop in fails --compare (default {','.join(R.DEFAULT_GUARDED)})")
    out.add_argument("--results", type=Path, metavar="FILE",
                     help="report a saved results.json instead of searching (with --compare: compare two files; "
                          "with --regression: check it against the file)")
    out.add_argument("--regression", action="append", type=Path, default=[], metavar="FILE.yaml",
                     help="run the command of a committed regression file (eval/regressions/*.yaml) and check its "
                          "figures; exit 1 when one dropped beyond its tolerance; repeatable")
    out.add_argument("--quiet", action="store_true", help="no progress bars")

    extra = p.add_argument_group("more")
    extra.add_argument("--answers", action="store_true",
                       help="also score answers (keyword share, citation precision) if an answer function exists")
    extra.add_argument("--parse", action="store_true", help="paragraph parsing quality (eval.parse_quality)")
    extra.add_argument("--fusion-study", action="store_true",
                       help="compare hybrid fusions (RRF constants, min-max / z-score weighted sums tuned on "
                            "the train split of the first BEIR set that has one) instead of the usual report")
    extra.add_argument("--corpus", type=Path, default=DEFAULT_PARSE_CORPUS,
                       help=f"corpus for --parse (default {DEFAULT_PARSE_CORPUS})")


def _err(msg: str) -> None:
    print(f"parasearch eval: {msg}", file=sys.stderr)


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def _index_summary(manifest: Mapping[str, Any]) -> dict[str, Any]:
    return {"model": manifest.get("model", {}).get("name"), "index_type": manifest.get("index_type"),
            "built_at": manifest.get("built_at"), "counts": manifest.get("counts")}


class _Engines:
    """Engines opened once per index directory, by the service's own :func:`service.engine.load_engine` (the
    query models the index was built with, the service's re-ranker, its thread settings)."""

    def __init__(self) -> None:
        self.engines: dict[Path, SearchEngine] = {}

    def engine(self, index_dir: Path) -> SearchEngine:
        from service.engine import load_engine

        index_dir = Path(index_dir).resolve()
        if index_dir not in self.engines:
            self.engines[index_dir] = load_engine(index_dir)
        return self.engines[index_dir]


def _limit(qset: QuestionSet, n: int | None) -> QuestionSet:
    if n:
        qset.questions = qset.questions[:n]
        qset.notes.append(f"--limit {n}: only the first {len(qset.questions)} questions were scored")
        qset.info["questions"] = len(qset.questions)
    return qset


def _static_filters(args: argparse.Namespace) -> dict[str, list[str]]:
    """``--filter FIELD=VALUE`` options as a filter spec (values of one field are alternatives)."""
    from eval.beir import parse_filter_specs

    spec: dict[str, list[str]] = {}
    for name, value in parse_filter_specs(args.filter, "--filter"):
        spec.setdefault(name, []).append(value)
    return spec


def _query_filter_fields(args: argparse.Namespace) -> dict[str, str]:
    """``--query-filter FIELD=KEY`` options: filter field -> query key (one key per field)."""
    from eval.beir import BeirError, parse_filter_specs

    out: dict[str, str] = {}
    for name, key in parse_filter_specs(args.query_filter, "--query-filter"):
        if name in out:
            raise BeirError(f"--query-filter: {name} is given twice")
        out[name] = key
    return out


def _searched_sets(args: argparse.Namespace, engines: _Engines) -> list[Searched]:
    """(question set, searcher, description) for every set asked for."""
    from eval import beir

    sets: list[Searched] = []
    questions = list(args.questions)
    if not questions and not args.beir and not args.parallel:
        questions = [DEFAULT_QUESTIONS]
    static = _static_filters(args)
    per_query = _query_filter_fields(args)
    if per_query and not args.beir:
        raise beir.BeirError("--query-filter reads the queries of BEIR sets: give --beir")
    http_health = None
    if args.url:
        probe = HttpSearcher(args.url)
        http_health = probe.health()
        probe.close()
    searcher: Searcher
    for path in questions:
        qset = _limit(load_questions(path), args.limit)
        collapse = True if args.collapse is None else args.collapse
        if args.url:
            searcher = HttpSearcher(args.url, collapse=collapse, filters=static)
            desc: dict[str, Any] = {"searched": searcher.description, "index": http_health}
        else:
            engine = engines.engine(args.index or DEFAULT_INDEX)
            searcher = EngineSearcher(engine, collapse=collapse, filters=static)
            desc = {"searched": searcher.description, "index": _index_summary(engine.index.manifest)}
        sets.append((qset, searcher, {**desc, "collapse": collapse, **_filter_desc(static, {})}))
    ignore = {"auto": None, "ignore": True, "keep": False}[args.identical_ids]
    loaded = []
    for folder in args.beir:
        qset = _limit(beir.load_beir(folder, split=args.split, ignore_identical_ids=ignore,
                                     drop_missing=args.drop_missing_qrels, filter_fields=per_query), args.limit)
        for warning in qset.warnings:
            _err(f"warning: {warning}")
        # Every index is built before any engine is opened (load_engine keeps PyTorch to one thread, as served).
        index_dir = None if args.url else beir.ensure_index(folder, model=args.model, cache=args.cache_dir,
                                                              rebuild=args.rebuild, progress=not args.quiet)
        loaded.append((qset, index_dir))
    for qset, index_dir in loaded:
        collapse = False if args.collapse is None else args.collapse
        if index_dir is None:
            searcher = HttpSearcher(args.url, collapse=collapse, filters=static)
            n_docs = (http_health or {}).get("documents")
            if n_docs != qset.info["corpus_documents"]:
                qset.notes.append(f"the service holds {n_docs} documents, {qset.name} has "
                                  f"{qset.info['corpus_documents']}: is it serving the {qset.name} index?")
            desc = {"searched": searcher.description, "index": http_health}
        else:
            engine = engines.engine(index_dir)
            searcher = EngineSearcher(engine, collapse=collapse, filters=static)
            desc = {"searched": searcher.description, "index": _index_summary(engine.index.manifest)}
        desc["reference"] = [{"system": s, **v} for s, v in beir.REFERENCE.get(qset.name.lower(), [])]
        sets.append((qset, searcher, {**desc, "collapse": collapse, **_filter_desc(static, per_query)}))
    return sets


def _filter_desc(static: FilterSpec, per_query: dict[str, str]) -> dict[str, Any]:
    """What results.json records of the filters (nothing when there are none, as before they existed)."""
    out: dict[str, Any] = {}
    if static:
        out["filters"] = {k: list(v) for k, v in static.items()}
    if per_query:
        out["query_filters"] = dict(per_query)
    return out


def _parallel_set(args: argparse.Namespace, engines: _Engines
                  ) -> tuple[P.ParallelSet, EngineSearcher, dict[str, Any]]:
    """(parallel set, searcher filtered to the target language, description) for ``--parallel``."""
    languages = list(dict.fromkeys(x.strip().lower() for x in args.parallel_languages.split(",") if x.strip()))
    target = args.parallel_target.strip().lower()
    if not languages:
        raise P.ParallelError("--parallel-languages: no language given")
    if not target:
        raise P.ParallelError("--parallel-target: no language given")
    if args.parallel_limit < 0:
        raise P.ParallelError("--parallel-limit must be 0 (all) or more")
    engine = engines.engine(args.index or DEFAULT_INDEX)
    pset = P.build_set(args.parallel, P.target_paragraphs(engine.index, target), languages,
                       limit=args.parallel_limit, seed=args.parallel_seed)
    drawn = f"up to {args.parallel_limit}" if args.parallel_limit else "all"
    pset.qset.notes.insert(0, f"queries: {drawn} paragraphs per language ({', '.join(languages)}) with a "
                              f"{target} version in the index, drawn with seed {args.parallel_seed}")
    # A paragraph that cites a document the index holds ("S/RES/2231 (2015)") is searched in that document only,
    # as a user's query naming it would be (service.references): such queries can rarely find their gold.
    from service.references import parse_reference

    named = sum(1 for q in pset.qset.questions
                if (ref := parse_reference(q.query, engine.index.key_to_docs)) is not None and not ref.unknown)
    pset.qset.info["naming_an_indexed_document"] = named
    if named:
        pset.qset.notes.append(f"{named} queries cite a document the index holds: the engine searches only that "
                               "document for them, as for any query naming one")
    collapse = True if args.collapse is None else args.collapse
    static = _static_filters(args)
    searcher = EngineSearcher(engine, collapse=collapse, filters={**static, "language": [target]})
    desc = {"searched": f"{searcher.description}, language filter {target}",
            "index": _index_summary(engine.index.manifest), "collapse": collapse, **_filter_desc(static, {})}
    return pset, searcher, desc


def _write_runs(out_dir: Path, qset: QuestionSet, runs: dict[str, ModeRun], entry: dict[str, Any]) -> None:
    for mode, mode_run in runs.items():
        run_file = f"{qset.name}.{mode}.trec"
        R.write_trec(out_dir / run_file, mode_run.results, f"parasearch-{mode}", qset.kind == "beir", qset.doc_ids)
        entry["modes"][mode]["run_file"] = run_file


def _answers(qset: QuestionSet, searcher: Searcher, args: argparse.Namespace) -> dict[str, Any]:
    from eval import answers

    if qset.kind == "beir":
        return {"skipped": "BEIR sets have no answer keywords"}
    if args.url:
        fn, desc = answers.http_answerer(args.url)
    elif isinstance(searcher, EngineSearcher):
        fn, desc = answers.in_process_answerer(searcher.engine)
    else:
        fn, desc = None, "no answer function"
    if fn is None:
        _err(f"--answers: {desc}; answer scoring skipped")
        return {"skipped": desc}
    out = answers.score_answers(qset, fn, progress=not args.quiet)
    out["answered_by"] = desc
    return out


def _parse_quality(args: argparse.Namespace) -> dict[str, Any] | None:
    try:
        from eval import parse_quality
    except ImportError as exc:
        _err(f"--parse: eval.parse_quality is not available ({exc})")
        return None
    figures = parse_quality.run(args.corpus)
    print(parse_quality.format_report(figures))
    return figures


def _command_line(argv: list[str] | None) -> str:
    """The command as typed (``argv``: the arguments after ``eval``; None: this process's own)."""
    if argv is None:
        if sys.argv[1:2] != ["eval"]:
            return ""
        argv = sys.argv[2:]
    return " ".join(["parasearch", "eval", *(shlex.quote(a) for a in argv)])


def _default_name(sets: list[Searched], parse: bool, more: list[str] | None = None) -> str:
    names = [q.name for q, _, _ in sets] + (more or []) + (["parse"] if parse else [])
    return "+".join(names) or "eval"


def run(args: argparse.Namespace) -> int:
    """Entry point of ``parasearch eval``: 0 when done (and no regression), 1 on a regression, 2 on an error."""
    from eval.beir import BeirError
    from eval.retrieve import HttpError
    from eval.scoring import evaluate_set, metrics_for, pooled_breakdown
    from parasearch.errors import ParasearchError

    if args.k < 1:
        _err("-k must be at least 1")
        return 2
    if args.regression:
        return _regression(args)
    if args.results:
        results = _read_results(args.results)
        if results is None:
            return 2
        print(R.render(results))
        return _finish_compare(results, args)

    modes = list(dict.fromkeys(args.mode or MODES))
    if args.parallel and (args.url or args.fusion_study):
        _err("--parallel searches in-process (it reads the index's paragraph store): give --index, not --url "
             "or --fusion-study")
        return 2
    engines = _Engines()
    parse_only = args.parse and not args.questions and not args.beir and not args.parallel
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    try:
        sets = [] if parse_only else _searched_sets(args, engines)
        par = _parallel_set(args, engines) if args.parallel else None
    except (QuestionFileError, BeirError, P.ParallelError, ParasearchError, HttpError, OSError) as exc:
        _err(str(exc))
        return 2
    name = args.name or _default_name(sets, args.parse, [par[0].qset.name] if par else [])
    if args.fusion_study:
        return _fusion_study(sets, args, args.out or out_root() / f"fusion-{name}")
    out_dir = args.out or out_root() / name
    metrics, _ = metrics_for(args.k)
    results = {
        "name": name, "created": started, "git_commit": _git_commit(),
        "command": getattr(args, "command_line", None) or _command_line(None),
        "k": args.k, "modes": modes, "metrics": list(metrics), "sets": {},
    }
    question_sets: list[tuple[QuestionSet, dict[str, Any]]] = []
    for qset, searcher, desc in sets:
        try:
            figures, runs = evaluate_set(qset, searcher, modes, args.k, progress=not args.quiet)
        except HttpError as exc:
            _err(str(exc))
            return 2
        if isinstance(searcher, HttpSearcher):
            if searcher.truncated:
                qset.notes.append(f"{searcher.truncated // len(modes)} queries longer than "
                                  f"{searcher.max_query_chars} characters were cut to that (the service's limit)")
            if searcher.max_k and qset.ignore_identical_ids and args.k >= searcher.max_k:
                qset.notes.append(f"over HTTP at most {searcher.max_k} results are returned: after dropping a "
                                  f"self-hit, {searcher.max_k - 1} may remain")
            if "dense" in modes and "hybrid" in modes:
                qset.notes.append("over HTTP the service's query-vector cache cannot be emptied: hybrid, searched "
                                  "after dense, reuses its query vector, and its ms/question leaves out encoding")
        entry = {"kind": qset.kind, "source": qset.source, **desc, "notes": qset.notes, "info": qset.info,
                 **figures}
        _write_runs(out_dir, qset, runs, entry)
        if args.answers:
            entry["answers"] = _answers(qset, searcher, args)
        results["sets"][qset.name] = entry
        if qset.kind == "questions":
            question_sets.append((qset, entry["modes"]))
        if isinstance(searcher, HttpSearcher):
            searcher.close()
    if len(question_sets) > 1:  # several question files: their questions together, by the language asked in
        results["questions_by_language"] = {
            "sets": [q.name for q, _ in question_sets], "modes": pooled_breakdown(question_sets, "language")}
    if par is not None:
        pset, psearcher, desc = par
        figures, runs = P.evaluate(pset, psearcher, modes, args.k, progress=not args.quiet)
        qset = pset.qset
        how = figures["parallel"]["query_embedding"]
        if how["batched"]:
            qset.notes.append(f"query vectors made in batches ({how['how']}, {how['embed_seconds']:.1f} s): "
                              f"ms/question does not include embedding the query")
        elif any(m in ("dense", "hybrid") for m in modes):
            qset.notes.append(f"query vectors made one at a time by the engine ({how['how']})")
        entry = {"kind": qset.kind, "source": qset.source, **desc, "notes": qset.notes, "info": qset.info,
                 **figures}
        _write_runs(out_dir, qset, runs, entry)
        results["sets"][qset.name] = entry

    if args.parse:
        pq = _parse_quality(args)
        if pq is None:
            return 2
        results["parse_quality"] = pq

    R.write_json(out_dir / "results.json", results)
    if results["sets"]:
        text = R.render(results)
        print(text)
        (out_dir / "report.md").write_text(text, encoding="utf-8")
        R.recall_chart(results, out_dir / "recall.png")
    print(f"Written: {out_dir}/ (results.json" + (", report.md, recall.png, *.trec" if results["sets"] else "")
          + ")", file=sys.stderr)
    return _finish_compare(results, args)


def _read_results(path: Path) -> Results | None:
    """A saved results.json, or None (the reason printed) when it cannot be read."""
    try:
        return R.read_json(path)
    except (OSError, ValueError) as exc:
        _err(str(exc))
        return None


def _regression(args: argparse.Namespace) -> int:
    """``--regression FILE`` (repeatable): run each file's command (or read ``--results``) and check its figures;
    0 when every figure is within its tolerance, 1 when one dropped beyond it, 2 on an error."""
    from eval import regression as G

    if args.questions or args.beir or args.parallel or args.parse or args.url or args.compare or args.fusion_study:
        _err("--regression runs the command its file records: give no set to score, --url, --compare or "
             "--fusion-study with it")
        return 2
    try:
        regs = [G.load(f) for f in args.regression]
    except G.RegressionError as exc:
        _err(str(exc))
        return 2
    if args.results and args.out:
        _err("--regression with --results checks a saved run: --out has nothing to write")
        return 2
    saved = _read_results(args.results) if args.results else None  # read once, checked against every file
    if args.results and saved is None:
        return 2
    status = 0
    failures: list[str] = []
    for reg in regs:
        if saved is not None:
            results, source = saved, str(args.results)
        else:
            out_dir = (args.out / reg.name if len(regs) > 1 else args.out) if args.out else \
                regression_root() / reg.name
            print(f"parasearch eval: --regression {reg.file}: {reg.command}", file=sys.stderr)
            code, ran = G.run_command(reg, out_dir, main, ["--quiet"] if args.quiet else [])
            if ran is None:
                _err(f"--regression {reg.file}: the command failed (exit {code}): {reg.command}")
                return 2
            results, source = ran, str(Path(out_dir) / "results.json")
        outcomes = G.check(reg, results)
        print(G.render(reg, outcomes, source))
        lines = G.failure_lines(outcomes)
        failures += [f"{reg.file}: {line}" for line in lines]
        status = max(status, 1 if lines else 0)
    if failures:
        _err(f"{len(failures)} figure(s) below the committed figures beyond their tolerance:\n  "
             + "\n  ".join(failures))
    return status


def _fusion_study(sets: list[Searched], args: argparse.Namespace, out_dir: Path) -> int:
    from eval import beir, fusion

    engines: list[tuple[QuestionSet, EngineSearcher, dict[str, Any]]] = [
        (q, s, d) for q, s, d in sets if isinstance(s, EngineSearcher)]
    if args.url or len(engines) != len(sets):
        _err("--fusion-study searches in-process: give --index (or BEIR folders), not --url")
        return 2
    tune = None
    for folder in args.beir:
        if (Path(folder) / "qrels" / "train.tsv").is_file():
            ignore = {"auto": None, "ignore": True, "keep": False}[args.identical_ids]
            train = beir.load_beir(folder, split="train", ignore_identical_ids=ignore)
            engine = next(s.engine for q, s, _ in engines if q.source == train.source)
            tune = (train, engine)
            break
    result = fusion.study([(q, s.engine, d["collapse"]) for q, s, d in engines], tune, args.k,
                          progress=not args.quiet)
    text = fusion.render(result)
    print(text)
    R.write_json(out_dir / "fusion.json", result)
    (out_dir / "fusion.md").write_text(text, encoding="utf-8")
    print(f"Written: {out_dir}/ (fusion.json, fusion.md)", file=sys.stderr)
    return 0


def _finish_compare(results: Results, args: argparse.Namespace) -> int:
    if not args.compare:
        return 0
    try:
        old = R.read_json(args.compare)
    except (OSError, ValueError) as exc:
        _err(f"--compare: {exc}")
        return 2
    guarded = tuple(m.strip() for m in args.guard.split(",") if m.strip())
    text, regressions = R.compare(old, results, tolerance=args.tolerance, guarded=guarded)
    print(text)
    if regressions:
        _err(f"{len(regressions)} regression(s) beyond {args.tolerance} against {args.compare}")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="parasearch eval")
    add_arguments(parser)
    args = parser.parse_args(argv)
    args.command_line = _command_line(argv)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
