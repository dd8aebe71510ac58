"""``parasearch ask "question"``: a short answer in the terminal, every sentence with its citation."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from parasearch.cli_args import add_filters
from parasearch.config import DEFAULT_INDEX
from parasearch.errors import InvalidRequest
from parasearch.settings import MODES, Mode
from service.answer import ANSWER_K

if TYPE_CHECKING:
    from service.answer_types import Answer
    from service.search import SearchOutcome

WIDTH = 100


def add_arguments(p: argparse.ArgumentParser) -> None:

    p.add_argument("question")
    p.add_argument("--index", type=Path, default=DEFAULT_INDEX, help=f"index directory (default {DEFAULT_INDEX})")
    p.add_argument("--model", help="query model (default: the one the index was built with)")
    p.add_argument("-k", type=int, default=ANSWER_K, help=f"passages to answer from, 1-20 (default {ANSWER_K})")
    p.add_argument("--mode", choices=MODES, default=Mode.HYBRID)
    p.add_argument("--no-llm", action="store_true", help="the extractive answer even when PARASEARCH_LLM_URL is set")
    p.add_argument("--stream", action="store_true", help="print each sentence as soon as it is ready")
    p.add_argument("--passages", action="store_true", help="also print the passages the answer was drawn from")
    p.add_argument("--json", action="store_true", help="print the answer as JSON (as POST /answer returns it)")
    add_filters(p)


def _print_answer(ans: Answer) -> None:
    """The answer as a user reads it: its state, then each run of sentences led by the citation that backs it,
    then a list question's lines."""
    from service.confidence import STATE_LABELS

    if not ans.found:
        print(ans.answer)
        return
    label = STATE_LABELS.get(ans.state, "Answer")
    if ans.state == "closest":
        label += " (it may not answer the question)"
    print(f"{label}:")
    for s in ans.sentences:
        if s.supported and s.citations:
            cites = "; ".join(c.citation for c in s.citations)
            print(textwrap.fill(f"[{cites}] {s.text}", WIDTH, subsequent_indent="    "))
    _print_items(ans)


def _print_items(ans: Answer) -> None:
    if ans.items:
        print("\nBy document, newest first:")
        for item in ans.items:
            row = item.hit.row
            print(textwrap.fill(f"- {item.date or 'undated'}  [{row.citation}] {row.text}", WIDTH,
                                subsequent_indent="    ", max_lines=3, placeholder=" …"))


def _print_passages(outcome: SearchOutcome, found: bool) -> None:
    print("\nPassages:" if found else "\nClosest passages:")
    for h in outcome.hits:
        print(f"[{h.rank}] {h.row.citation}")
        print(textwrap.indent(textwrap.shorten(h.row.text, WIDTH * 2), "    "))


def run(args: argparse.Namespace) -> int:
    from service.answer import answer_question, stream_answer
    from service.engine import load_engine
    from service.llm import LLMClient, LLMConfig
    from service.search import Filters

    question = args.question.strip()
    if not question:
        raise InvalidRequest("the question is empty")  # main prints it (as every ParasearchError)
    if not 1 <= args.k <= 20:
        raise InvalidRequest("-k must be between 1 and 20")
    config = None if args.no_llm else LLMConfig.from_env()
    llm = LLMClient(config) if config else None
    try:
        engine = load_engine(args.index, model=args.model)
        options = dict(k=args.k, mode=args.mode, filters=Filters.of(args), llm=llm)
        if args.stream and not args.json:
            ans = None
            for event, data in stream_answer(engine, question, **options):
                if event == "text":
                    print(textwrap.fill(data["text"], WIDTH), flush=True)
                elif event == "citation":
                    print(f"    [{data['citation']}]", flush=True)
                elif event == "reset":
                    print(f"\n(the language model failed: {data['reason']}; the extractive answer follows)\n")
                elif event == "done":
                    ans = data
        else:
            ans = answer_question(engine, question, **options)
            if not args.json:
                _print_answer(ans)
    finally:
        if llm is not None:
            llm.close()
    assert ans is not None
    if args.stream and not args.json and ans.items:
        _print_items(ans)
    if args.json:
        from service.answer_routes import to_answer_response

        print(json.dumps(to_answer_response(ans).model_dump(), ensure_ascii=False, indent=1))
        return 0
    if args.passages or not ans.found:
        _print_passages(ans.outcome, ans.found)
    print(f"\n({ans.method}, {ans.took_ms:.0f} ms)", file=sys.stderr)
    return 0
