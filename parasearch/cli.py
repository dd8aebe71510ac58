"""The ``parasearch`` command: index, serve, search, ask, eval."""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from indexer.context import CONTEXTS, DEFAULT_CONTEXT
from parasearch.cli_args import add_filters
from parasearch.config import DEFAULT_INDEX, offline
from parasearch.errors import ParasearchError
from parasearch.settings import MODES, Mode

if TYPE_CHECKING:
    from indexer.update import UpdateReport


def cmd_index(args: argparse.Namespace) -> int:
    from indexer.build import build_index

    if args.add:
        return _update(lambda: _add(args))
    # out of space, a lock that cannot be taken: a ParasearchError (main prints it); the previous index is unchanged
    report = build_index(
        args.paths, args.index, model=args.model, backend=args.encoder, index_type=args.index_type,
        cache_path=args.cache, use_cache=not args.no_cache, batch_size=args.batch_size,
        progress=not args.quiet, context=args.context,
    )
    print(report.summary(), file=sys.stderr)
    return 0 if report.published else 1


def _add(args: argparse.Namespace) -> UpdateReport:
    from indexer.update import add_paths

    return add_paths(args.paths, args.index, backend=args.encoder, cache_path=args.cache,
                     use_cache=not args.no_cache, batch_size=args.batch_size, progress=not args.quiet)


def _update(run: Callable[[], UpdateReport]) -> int:
    """Run an incremental update and print its summary; 0 when a generation was published."""
    report = run()
    print(report.summary(), file=sys.stderr)
    return 0 if report.published else 1


def cmd_remove(args: argparse.Namespace) -> int:
    from indexer.update import update_index

    return _update(lambda: update_index(args.index, remove=[(s, args.language) for s in args.symbols]))


def cmd_rollback(args: argparse.Namespace) -> int:
    from parasearch.indexfiles import rollback

    name = rollback(args.index)
    print(f"parasearch: {args.index} is back at {name}", file=sys.stderr)
    return 0


def cmd_generations(args: argparse.Namespace) -> int:
    from parasearch.indexfiles import generations

    gens = generations(args.index)
    if not gens:
        print(f"parasearch: no index at {args.index}", file=sys.stderr)
        return 2
    for g in gens:
        change = ""
        if g.change:
            change = "; ".join(f"{k} {', '.join(g.change[k])}" for k in ("added", "replaced", "removed")
                               if g.change.get(k))
        print(f"{'*' if g.current else ' '} {g.name}  {g.built_at}  {g.documents} documents, "
              f"{g.paragraphs} paragraphs  {g.kind}{': ' + change if change else ''}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import logging
    import logging.config

    import uvicorn

    from service.app import create_app
    from service.engine import load_engine
    from service.observability import log_config

    try:  # one format for every line (PARASEARCH_LOG_FORMAT=json: one JSON object per line)
        config = log_config(args.log_level)
    except ValueError as exc:
        print(f"parasearch: {exc}", file=sys.stderr)
        return 2
    logging.config.dictConfig(config)
    log = logging.getLogger("parasearch")
    from service.memory import limit_arenas

    limit_arenas()  # before the request threads: a flat resident size across reloads and updates
    try:  # load before serving, so a missing or incompatible index is a message, not a traceback
        engine = load_engine(args.index, model=args.model)
    except ParasearchError as exc:
        log.error("%s", exc)
        return 2
    log.info("serving %s at http://%s:%s/", args.index, args.host, args.port)
    app = create_app(engine=engine, follow=True)  # follows the index: new generations are switched to
    del engine  # the app holds it now, and lets it go when it switches to a new generation
    # uvicorn's access log prints each query string (the query text): the service writes its own access line
    uvicorn.run(app, host=args.host, port=args.port, log_config=config, access_log=False, workers=1)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from service.engine import load_engine
    from service.search import Filters

    engine = load_engine(args.index, model=args.model)
    out = engine.search(args.query, k=args.k, mode=args.mode, filters=Filters.of(args),
                        collapse=not args.no_collapse, snippets=False)
    if out.notice:
        print(f"Note: {out.notice}\n")
    width = 100
    for h in out.hits:
        print(f"{h.rank:>2}. {h.row.citation}   (score {h.score:.3f})")
        meta = " · ".join(x for x in (h.row.title, h.row.date, h.row.section) if x)
        if meta:
            print(textwrap.indent(textwrap.shorten(meta, width), "    "))
        print(textwrap.indent(textwrap.fill(h.row.text, width), "    "))
        if h.also_in:
            print("    also in: " + "; ".join(a.citation for a in h.also_in))
        print()
    if not out.hits:
        print("No results.")
    print(f"({out.took_ms:.1f} ms)", file=sys.stderr)
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from parasearch.keys import DEFAULT_SCOPES, create_key, key_file, read_keys, revoke_key

    # a KeyStoreError (a name taken or unknown, an unreadable key file) is printed by main
    if args.keys_command == "create":
        key, entry = create_key(args.index, args.name, args.scope or DEFAULT_SCOPES)
        print(f"Created API key {entry.name!r} (scopes: {', '.join(entry.scopes)}) in {key_file(args.index)}.")
        print("It is shown this once and stored only as a hash; send it as `Authorization: Bearer KEY` "
              "or `X-API-Key: KEY`:")
        print(key)
    elif args.keys_command == "list":
        keys = read_keys(args.index)
        if not keys:
            print(f"No API keys in {args.index} (create one: `parasearch keys create NAME --index {args.index}`)")
        width = max([4, *(len(k.name) for k in keys)])
        for i, k in enumerate(keys):
            if i == 0:
                print(f"{'name':<{width}}  {'scopes':<13}  created")
            print(f"{k.name:<{width}}  {','.join(k.scopes):<13}  {k.created}")
    else:
        entry = revoke_key(args.index, args.name)
        print(f"Revoked API key {entry.name!r}; a running service refuses it from its next request.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="parasearch", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="index documents (PDF, Word, text/Markdown, AKN XML) into an index directory")
    p.add_argument("paths", nargs="+", type=Path, help="files or folders (manifest.jsonl files are read)")
    p.add_argument("--index", type=Path, default=DEFAULT_INDEX, help=f"index directory (default {DEFAULT_INDEX})")
    p.add_argument("--model", help="model name or path, or several joined by + (each a dense arm of the index; "
                                   "default multilingual-e5-small+all-MiniLM-L6-v2)")
    p.add_argument("--encoder", choices=["onnx", "onnx-int8", "torch"], default=None,
                   help="encoder backend (default: $PARASEARCH_ENCODER, else each model's own: onnx-int8 for "
                        "multilingual-e5-small, onnx for the others; torch is plain sentence-transformers)")
    p.add_argument("--index-type", choices=["auto", "flat", "hnsw"], default="auto",
                   help="auto (default): flat below 40,000 vectors, else hnsw; flat: exact inner product; "
                        "hnsw: approximate, for large corpora")
    p.add_argument("--context", choices=CONTEXTS, default=DEFAULT_CONTEXT,
                   help=f"what each paragraph is embedded with besides its text: its document's title, and its "
                        f"section heading (default {DEFAULT_CONTEXT}; an update keeps the index's own)")
    p.add_argument("--cache", type=Path, help="embedding cache file (default beside the index directory)")
    p.add_argument("--no-cache", action="store_true", help="embed everything again, use no cache")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--add", action="store_true",
                   help="add these documents to the index (replacing any with the same symbol and language) "
                        "instead of building it anew; only they are read and embedded")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("remove", help="remove documents from an index (a new generation, published atomically)")
    p.add_argument("symbols", nargs="+", help="document symbols, e.g. 'A/RES/79/191'")
    p.add_argument("--index", type=Path, default=DEFAULT_INDEX)
    p.add_argument("--language", help="remove only this language version (default: every version)")
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("rollback", help="make the generation before the current one current again")
    p.add_argument("--index", type=Path, default=DEFAULT_INDEX)
    p.set_defaults(func=cmd_rollback)

    p = sub.add_parser("generations", help="list an index's kept generations (* marks the current one)")
    p.add_argument("--index", type=Path, default=DEFAULT_INDEX)
    p.set_defaults(func=cmd_generations)

    p = sub.add_parser("serve", help="serve an index over HTTP")
    p.add_argument("--index", type=Path, default=DEFAULT_INDEX)
    p.add_argument("--model", help="query model (default: the one the index was built with)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--log-level", default="info")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("search", help="search an index from the terminal")
    p.add_argument("query")
    p.add_argument("--index", type=Path, default=DEFAULT_INDEX)
    p.add_argument("--model")
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--mode", choices=MODES, default=Mode.HYBRID)
    p.add_argument("--no-collapse", action="store_true", help="show repeated paragraphs separately")
    add_filters(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("keys", help="create, list and revoke the service's API keys (kept in the index directory)")
    keys_sub = p.add_subparsers(dest="keys_command", required=True)
    for name, help_ in (("create", "a new key, printed once on the last line"), ("list", "the keys (not the "
                        "keys themselves)"), ("revoke", "remove a key; a running service refuses it at once")):
        kp = keys_sub.add_parser(name, help=help_)
        if name != "list":
            kp.add_argument("name", help="the key's name (unique), e.g. who or what uses it")
        kp.add_argument("--index", type=Path, default=DEFAULT_INDEX, help=f"index directory (default {DEFAULT_INDEX})")
        if name == "create":
            kp.add_argument("--scope", action="append", choices=["admin", "search"],
                            help="admin (the /admin endpoints, and search) or search (the read endpoints when "
                                 "PARASEARCH_SEARCH_REQUIRES_KEY is set); repeatable; default admin")
        kp.set_defaults(func=cmd_keys)

    from eval import cli as eval_cli
    from service import ask_cli

    for name, mod, help_ in (("ask", ask_cli, "a short cited answer to a question"),
                             ("eval", eval_cli, "score retrieval and answers on question sets and benchmarks")):
        p = sub.add_parser(name, help=help_)
        mod.add_arguments(p)
        p.set_defaults(func=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; 2 (and ``parasearch: <why>`` on standard error) when it fails as the user can fix."""
    offline()
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ParasearchError as exc:  # every error the product raises on purpose says what and why
        print(f"parasearch: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
