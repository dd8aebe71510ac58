"""Learn the bilingual lexicons that let BM25 match a question in Arabic, Chinese, French, Russian or Spanish
against English paragraphs (:mod:`service.translate`).

    python -m eval.train_lexicon                   # writes service/data/lexicon.json.gz
    python -m eval.train_lexicon --exclude-gold eval/question_sets/xl_fr.jsonl ...   # a held-out lexicon

Data: the Security Council resolutions in ``../shared/corpus/sc``, which the UN publishes in its six languages:
the same symbol and paragraph locator in a language and in English is one aligned pair (about 9,000 a language).
Each side is analysed as the index analyses it (:func:`parasearch.analysis.terms`: stemmed words; Chinese as
character bigrams, of which only the bigrams are kept here). For every term of the other language, the English
terms it co-occurs with across aligned pairs are scored by the Dice coefficient, 2·c(x, e) / (c(x) + c(e)); the
best ``--per-term`` with at least ``--min-pairs`` pairs together and a Dice of at least ``--min-dice`` are kept.
Numbers are left out: they are the same in every language and BM25 matches them as they are.

Never trained on: the paragraphs that ``parasearch eval --parallel`` draws (seed 2026, 500 a language) in any
language, so that evaluation stays held out; with ``--exclude-gold FILE``, every document that holds a gold
paragraph of the questions in FILE (to measure how much of a lexicon's gain comes from having seen the
documents that answer the questions).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from parasearch.analysis import terms

if TYPE_CHECKING:
    from eval.parallel import LanguageSource

Lexicon = dict[str, list[list[str | float]]]  # term -> [[English term, Dice], ...], best first

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
LANGUAGES = ("ar", "zh", "fr", "ru", "es")
DEFAULT_OUT = ROOT / "service" / "data" / "lexicon.json.gz"
NUMBER = re.compile(r"^[\d.,/-]+$")


def term_set(text: str, language: str) -> set[str]:
    """The distinct terms of ``text`` as the lexicon pairs them: no numbers; for Chinese, bigrams only."""
    out = {t for t in terms(text, language) if not NUMBER.match(t)}
    if language == "zh":
        out = {t for t in out if len(t) > 1 or not any("\u4e00" <= c <= "\u9fff" for c in t)}
    return out


def held_out_keys(root: Path, languages: list[str]) -> set[str]:
    """The paragraph keys ``parasearch eval --parallel`` scores (its default draw), which must not be learned."""
    from eval.parallel import DEFAULT_LIMIT, DEFAULT_SEED, build_set, target_paragraphs
    from service.index import LoadedIndex

    index = ROOT / ".index" / "sc-en"
    if not index.exists():
        raise SystemExit(f"needs the English SC index for the parallel draw: parasearch index {root / 'en'} "
                         f"--index {index}")
    ix = LoadedIndex(index)
    try:
        target = target_paragraphs(ix, "en")
    finally:
        ix.close()
    drawn = build_set(root, target, languages, limit=DEFAULT_LIMIT, seed=DEFAULT_SEED).qset.questions
    return {q.relevant[0].key for q in drawn}


def gold_symbols(files: list[Path]) -> set[str]:
    from eval.questions import load_questions
    from parasearch.types import normalize_symbol

    out: set[str] = set()
    for f in files:
        for q in load_questions(f, f.stem).questions:
            out.update(normalize_symbol(g.symbol) for g in q.relevant)
    return out


def aligned_pairs(root: Path, language: str, skip_keys: set[str], skip_symbols: set[str],
                  sources: dict[str, LanguageSource]) -> list[tuple[set[str], set[str]]]:
    english = {p.key: p.text for p in sources["en"].paragraphs}
    pairs = []
    for p in sources[language].paragraphs:
        symbol_key = p.key.rsplit("#", 1)[0]
        if p.key in skip_keys or symbol_key in skip_symbols or p.key not in english:
            continue
        pairs.append((term_set(p.text, language), term_set(english[p.key], "en")))
    return pairs


def learn(pairs: list[tuple[set[str], set[str]]], *, per_term: int, min_pairs: int, min_dice: float
          ) -> Lexicon:
    """``{term: [[english term, dice], ...]}``, best first, from aligned pairs of term sets."""
    from scipy import sparse

    xv = {t: i for i, t in enumerate(sorted({t for x, _ in pairs for t in x}))}
    ev = {t: i for i, t in enumerate(sorted({t for _, e in pairs for t in e}))}

    def matrix(sets: list[set[str]], vocab: dict[str, int]) -> Any:  # a scipy.sparse.csr_matrix (no stubs)
        rows = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
        cols = np.fromiter((vocab[t] for s in sets for t in s), dtype=np.int64, count=int(sum(map(len, sets))))
        return sparse.csr_matrix((np.ones(len(cols), np.float32), (rows, cols)), shape=(len(sets), len(vocab)))

    a, b = matrix([x for x, _ in pairs], xv), matrix([e for _, e in pairs], ev)
    co = (a.T @ b).tocsr()  # pairs in which x and e occur together
    cx, ce = np.asarray(a.sum(0)).ravel(), np.asarray(b.sum(0)).ravel()
    xs, es = np.array(list(xv)), np.array(list(ev))
    out: Lexicon = {}
    for i in range(co.shape[0]):
        lo, hi = co.indptr[i], co.indptr[i + 1]
        cols, counts = co.indices[lo:hi], co.data[lo:hi]
        keep = counts >= min_pairs
        if not keep.any():
            continue
        cols, counts = cols[keep], counts[keep]
        dice = 2 * counts / (cx[i] + ce[cols])
        best = np.argsort(-dice, kind="stable")[:per_term]
        chosen: list[list[str | float]] = [[str(es[cols[j]]), round(float(dice[j]), 3)] for j in best
                                           if dice[j] >= min_dice]
        if chosen:
            out[str(xs[i])] = chosen
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.train_lexicon", description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=SHARED / "corpus" / "sc",
                    help="parallel resolutions, one folder per language (default ../shared/corpus/sc)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--per-term", type=int, default=3, help="English terms kept per term (default 3)")
    ap.add_argument("--min-pairs", type=int, default=3, help="aligned pairs a translation needs (default 3)")
    ap.add_argument("--min-dice", type=float, default=0.2, help="least Dice coefficient kept (default 0.2)")
    ap.add_argument("--exclude-gold", type=Path, action="append", default=[],
                    help="question file whose gold documents are left out of training; repeatable")
    args = ap.parse_args(argv)

    from eval.parallel import read_sources
    from parasearch.types import normalize_symbol

    t0 = time.perf_counter()
    languages = list(LANGUAGES)
    sources, problems = read_sources(args.corpus, ["en", *languages])
    skip_keys = held_out_keys(args.corpus, languages)
    skip_symbols = {normalize_symbol(s) for s in gold_symbols(args.exclude_gold)}
    lexicons, stats = {}, {}
    for lang in languages:
        pairs = aligned_pairs(args.corpus, lang, skip_keys, skip_symbols, sources)
        lexicons[lang] = learn(pairs, per_term=args.per_term, min_pairs=args.min_pairs, min_dice=args.min_dice)
        stats[lang] = {"pairs": len(pairs), "terms": len(lexicons[lang])}
        print(f"  {lang}: {len(pairs)} aligned pairs, {len(lexicons[lang])} terms", file=sys.stderr)
    body = {
        "about": "Bilingual lexicons into English learned from the Security Council's parallel resolutions "
                 "(eval/train_lexicon.py): term -> [[English term, Dice], ...], terms as parasearch.analysis "
                 "makes them",
        "command": " ".join(["python -m eval.train_lexicon", *(argv if argv is not None else sys.argv[1:])]),
        "analysis_version": __import__("parasearch.analysis", fromlist=["ANALYSIS_VERSION"]).ANALYSIS_VERSION,
        "settings": {"per_term": args.per_term, "min_pairs": args.min_pairs, "min_dice": args.min_dice,
                     "held_out": "parasearch eval --parallel's draw (seed 2026, 500 a language)",
                     "excluded_gold_of": [str(p) for p in args.exclude_gold]},
        "stats": stats,
        "lexicons": lexicons,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(args.out, "wt", encoding="utf-8", compresslevel=9) as f:
        json.dump(body, f, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB) in {time.perf_counter() - t0:.0f} s; "
          f"{len(problems)} problem(s) reading the corpus", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
