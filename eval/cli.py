"""``parasearch eval``: score retrieval (and answers) on question sets and BEIR benchmarks.

Examples::

    parasearch eval --index .index/full-en                       # the dev questions, all three modes
    parasearch eval --url http://127.0.0.1:8000                  # the same, over HTTP, as users get it
    parasearch eval --beir ../shared/bench/scifact --beir ../shared/bench/arguana
    parasearch eval --beir ../shared/bench/scifact --compare eval/out/scifact/results.json
    parasearch eval --parse                                      # paragraph parsing quality

Writes, under ``--out`` (default ``eval/out/<name>/``): ``results.json`` (every
figure), ``report.md`` (the tables printed), ``<set>.<mode>.trec`` (TREC run
files) and ``recall.png`` (recall at k per mode). See docs/evaluation.md.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from pathlib import Path

from eval import report as R
from eval.questions import QuestionFileError, QuestionSet, load_questions
from parasearch.config import DEFAULT_INDEX, REPO_ROOT

SHARED = REPO_ROOT.parent / "shared"
DEFAULT_QUESTIONS = SHARED / "eval" / "dev_questions.jsonl"
DEFAULT_PARSE_CORPUS = SHARED / "corpus"
OUT_ROOT = REPO_ROOT / "eval" / "out"
MODES = ("bm25", "dense", "hybrid")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = __doc__.split("\n\n")[0]
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

    beir = p.add_argument_group("BEIR")
    beir.add_argument("--split", default="test", help="qrels split to score (default test; SciFact has train too)")
    beir.add_argument("--identical-ids", choices=["auto", "ignore", "keep"], default="auto",
                      help="drop a query's hit on its own document (ignore) or not (keep); auto: ignore for "
                           "ArguAna and Quora, as BEIR does")
    beir.add_argument("--drop-missing-qrels", action="store_true",
                      help="drop gold pointing to documents missing from the corpus (default: keep it, "
                           "unfindable, as pytrec_eval/BEIR score it)")
    beir.add_argument("--model", help="embedding model for BEIR indexes (default all-MiniLM-L6-v2)")
    beir.add_argument("--cache-dir", type=Path, help="where BEIR indexes are cached (default .cache/beir)")
    beir.add_argument("--rebuild", action="store_true", help="rebuild the BEIR indexes even if cached")

    out = p.add_argument_group("output")
    out.add_argument("--out", type=Path, help="output folder (default eval/out/<name>/)")
    out.add_argument("--name", help="name of this evaluation (default: the sets' names joined by '+')")
    out.add_argument("--compare", type=Path, metavar="OLD.json",
                     help="compare with an earlier results.json; exit 1 on a regression beyond --tolerance")
    out.add_argument("--tolerance", type=float, default=R.DEFAULT_TOLERANCE,
                     help=f"largest allowed absolute drop (default {R.DEFAULT_TOLERANCE})")
    out.add_argument("--guard", default=",".join(R.DEFAULT_GUARDED),
                     help=f"metrics a drop in fails --compare (default {','.join(R.DEFAULT_GUARDED)})")
    out.add_argument("--results", type=Path, metavar="FILE",
                     help="report a saved results.json instead of searching (with --compare: compare two files)")
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


def _index_summary(manifest: dict) -> dict:
    return {"model": manifest.get("model", {}).get("name"), "index_type": manifest.get("index_type"),
            "built_at": manifest.get("built_at"), "counts": manifest.get("counts")}


class _Engines:
    """Engines opened once per index directory, the encoder shared between indexes of the same model."""

    def __init__(self) -> None:
        self.encoders: dict[str, object] = {}
        self.engines: dict[Path, object] = {}

    def encoder(self, model: str | None):
        from indexer.embed import load_encoder
        from parasearch.config import resolve_model

        path = resolve_model(model)[1]
        if path not in self.encoders:
            self.encoders[path] = load_encoder(model)
        return self.encoders[path]

    def engine(self, index_dir: Path):
        from service.index import LoadedIndex
        from service.search import SearchEngine

        index_dir = Path(index_dir).resolve()
        if index_dir not in self.engines:
            index = LoadedIndex(index_dir)
            built = index.model  # the query model is the one the index was built with, as load_engine does
            model = built["path"] if Path(built.get("path", "")).exists() else built["name"]
            self.engines[index_dir] = SearchEngine(index, self.encoder(model))
        return self.engines[index_dir]


def _limit(qset: QuestionSet, n: int | None) -> QuestionSet:
    if n:
        qset.questions = qset.questions[:n]
        qset.notes.append(f"--limit {n}: only the first {len(qset.questions)} questions were scored")
        qset.info["questions"] = len(qset.questions)
    return qset


def _searched_sets(args, engines: _Engines) -> list[tuple[QuestionSet, object, dict]]:
    """(question set, searcher, description) for every set asked for."""
    from eval import beir
    from eval.retrieve import EngineSearcher, HttpSearcher

    sets: list[tuple[QuestionSet, object, dict]] = []
    questions = list(args.questions)
    if not questions and not args.beir:
        questions = [DEFAULT_QUESTIONS]
    http_health = None
    if args.url:
        probe = HttpSearcher(args.url)
        http_health = probe.health()
        probe.close()
    for path in questions:
        qset = _limit(load_questions(path), args.limit)
        collapse = True if args.collapse is None else args.collapse
        if args.url:
            searcher = HttpSearcher(args.url, collapse=collapse)
            desc = {"searched": searcher.description, "index": http_health}
        else:
            index_dir = args.index or DEFAULT_INDEX
            engine = engines.engine(index_dir)
            searcher = EngineSearcher(engine, collapse=collapse)
            desc = {"searched": searcher.description, "index": _index_summary(engine.index.manifest)}
        sets.append((qset, searcher, {**desc, "collapse": collapse}))
    for folder in args.beir:
        ignore = {"auto": None, "ignore": True, "keep": False}[args.identical_ids]
        qset = _limit(beir.load_beir(folder, split=args.split, ignore_identical_ids=ignore,
                                     drop_missing=args.drop_missing_qrels), args.limit)
        collapse = False if args.collapse is None else args.collapse
        if args.url:
            searcher = HttpSearcher(args.url, collapse=collapse)
            n_docs = (http_health or {}).get("documents")
            if n_docs != qset.info["corpus_documents"]:
                qset.notes.append(f"the service holds {n_docs} documents, {qset.name} has "
                                  f"{qset.info['corpus_documents']}: is it serving the {qset.name} index?")
            desc = {"searched": searcher.description, "index": http_health}
        else:
            index_dir = beir.ensure_index(folder, model=args.model, cache=args.cache_dir,
                                          encoder=engines.encoder(args.model), rebuild=args.rebuild,
                                          progress=not args.quiet)
            engine = engines.engine(index_dir)
            searcher = EngineSearcher(engine, collapse=collapse)
            desc = {"searched": searcher.description, "index": _index_summary(engine.index.manifest)}
        desc["reference"] = [{"system": s, **v} for s, v in beir.REFERENCE.get(qset.name.lower(), [])]
        sets.append((qset, searcher, {**desc, "collapse": collapse}))
    return sets


def _answers(qset: QuestionSet, searcher, args) -> dict:
    from eval import answers
    from eval.retrieve import EngineSearcher

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


def _parse_quality(args) -> dict | None:
    try:
        from eval import parse_quality
    except ImportError as exc:
        _err(f"--parse: eval.parse_quality is not available ({exc})")
        return None
    figures = parse_quality.run(args.corpus)
    fmt = getattr(parse_quality, "format_report", None)
    if callable(fmt):
        print(fmt(figures))
    return figures


def _command_line() -> str:
    argv = sys.argv[1:]
    if argv[:1] == ["eval"]:
        return "parasearch " + " ".join(shlex.quote(a) for a in argv)
    return ""


def _default_name(sets: list[tuple[QuestionSet, object, dict]], parse: bool) -> str:
    names = [q.name for q, _, _ in sets] + (["parse"] if parse else [])
    return "+".join(names) or "eval"


def run(args: argparse.Namespace) -> int:
    """Entry point of ``parasearch eval``: 0 when done (and no regression), 1 on a regression, 2 on an error."""
    from eval.beir import BeirError
    from eval.retrieve import HttpError
    from eval.scoring import evaluate_set, metrics_for
    from parasearch.indexfiles import IndexError_
    from service.search import EngineError

    if args.k < 1:
        _err("-k must be at least 1")
        return 2
    if args.results:
        try:
            results = R.read_json(args.results)
        except (OSError, ValueError) as exc:
            _err(str(exc))
            return 2
        print(R.render(results))
        return _finish_compare(results, args)

    modes = list(dict.fromkeys(args.mode or MODES))
    engines = _Engines()
    parse_only = args.parse and not args.questions and not args.beir
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    try:
        sets = [] if parse_only else _searched_sets(args, engines)
    except (QuestionFileError, BeirError, IndexError_, EngineError, HttpError, OSError) as exc:
        _err(str(exc))
        return 2
    name = args.name or _default_name(sets, args.parse)
    if args.fusion_study:
        return _fusion_study(sets, args, args.out or OUT_ROOT / f"fusion-{name}")
    out_dir = args.out or OUT_ROOT / name
    metrics, _ = metrics_for(args.k)
    results: dict = {
        "name": name, "created": started, "git_commit": _git_commit(),
        "command": _command_line(),
        "k": args.k, "modes": modes, "metrics": list(metrics), "sets": {},
    }
    for qset, searcher, desc in sets:
        try:
            figures, runs = evaluate_set(qset, searcher, modes, args.k, progress=not args.quiet)
        except HttpError as exc:
            _err(str(exc))
            return 2
        if getattr(searcher, "truncated", 0):
            qset.notes.append(f"{searcher.truncated // len(modes)} queries longer than "
                              f"{searcher.max_query_chars} characters were cut to that (the service's limit)")
        if getattr(searcher, "max_k", None) and qset.ignore_identical_ids and args.k >= searcher.max_k:
            qset.notes.append(f"over HTTP at most {searcher.max_k} results are returned: after dropping a "
                              f"self-hit, {searcher.max_k - 1} may remain")
        entry = {"kind": qset.kind, "source": qset.source, **desc, "notes": qset.notes, "info": qset.info,
                 **figures}
        for mode, mode_run in runs.items():
            run_file = f"{qset.name}.{mode}.trec"
            R.write_trec(out_dir / run_file, mode_run.results, f"parasearch-{mode}", qset.kind == "beir")
            entry["modes"][mode]["run_file"] = run_file
        if args.answers:
            entry["answers"] = _answers(qset, searcher, args)
        results["sets"][qset.name] = entry
        if hasattr(searcher, "close"):
            searcher.close()

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


def _fusion_study(sets: list[tuple[QuestionSet, object, dict]], args: argparse.Namespace, out_dir: Path) -> int:
    from eval import beir, fusion
    from eval.retrieve import EngineSearcher

    if args.url or not all(isinstance(s, EngineSearcher) for _, s, _ in sets):
        _err("--fusion-study searches in-process: give --index (or BEIR folders), not --url")
        return 2
    tune = None
    for folder in args.beir:
        if (Path(folder) / "qrels" / "train.tsv").is_file():
            ignore = {"auto": None, "ignore": True, "keep": False}[args.identical_ids]
            train = beir.load_beir(folder, split="train", ignore_identical_ids=ignore)
            engine = next(s.engine for q, s, _ in sets if q.source == train.source)
            tune = (train, engine)
            break
    result = fusion.study([(q, s.engine, d["collapse"]) for q, s, d in sets], tune, args.k, progress=not args.quiet)
    text = fusion.render(result)
    print(text)
    R.write_json(out_dir / "fusion.json", result)
    (out_dir / "fusion.md").write_text(text, encoding="utf-8")
    print(f"Written: {out_dir}/ (fusion.json, fusion.md)", file=sys.stderr)
    return 0


def _finish_compare(results: dict, args: argparse.Namespace) -> int:
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
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
