"""BM25 analysis in Chinese, Arabic and Russian, measured without hand-written questions (docs/evaluation.md).

Every paragraph of the Security Council resolutions in one language (``../shared/corpus/sc/<lang>``) is indexed
with bm25s (k1 0.9, b 0.4, as ``indexer.build``) under each analysis; queries are made from sampled paragraphs
(a contiguous span from their middle, a few words or fragments of them, the same typed differently) and a query
counts as found at k when one of the top k paragraphs contains what it was taken from (so that a paragraph repeated
word for word in several resolutions is found in any of them; Arabic harakat and tatweel are disregarded in this
comparison). Run:

    .venv/bin/python -m tests.test_analysis_study --n 1000 --seed 0 zh ar ru

jieba (Chinese words) and pymorphy3 (Russian dictionary forms) are compared when installed; neither is needed
by parasearch. The test below runs a small version on a few documents.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from parasearch.analysis import HAN, normalize, terms
from tests.conftest import missing_shared

SC = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "sc"
_HAN_RUN = re.compile(rf"([{HAN}]+)")
_AR_MARKS = re.compile("[\u064b-\u0652\u0670\u0640]")
_TO_ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
_CONJ_ARTICLE = re.compile(r"(?<!\w)[وف](?=ال\w{3})")  # و/ف "and"/"so" before the article: والأمن


def _plain(text: str) -> str:
    """Text as a reader sees it: harakat and tatweel are not what tells two paragraphs apart."""
    return _AR_MARKS.sub("", text)


def read_paragraphs(lang: str, limit: int | None = None) -> list[str]:
    from indexer.readers import read_document

    texts = []
    for path in sorted((SC / lang).glob("*.xml"))[:limit]:
        texts.extend(p.text for p in read_document(path).paragraphs)
    return texts


def _v2(lang: str) -> Callable[[str], list[str]]:
    return lambda t: terms(t, lang, version=2)


def _han_segmenter(segment: Callable[[str], list[str]], lang: str) -> Callable[[str], list[str]]:
    """Version 3's analysis, with Han runs segmented by ``segment`` instead of unigrams + bigrams."""
    def analyse(text: str) -> list[str]:
        out: list[str] = []
        for i, piece in enumerate(_HAN_RUN.split(normalize(text))):
            if piece:
                out.extend(segment(piece) if i % 2 else terms(piece, lang))
        return out
    return analyse


def analyzers(lang: str) -> dict[str, Callable[[str], list[str]]]:
    out = {"v2 (before)": _v2(lang), "v3 (parasearch)": lambda t: terms(t, lang)}
    if lang == "zh":
        out["bigrams only"] = _han_segmenter(lambda r: [r] if len(r) == 1 else [r[i:i + 2] for i in range(len(r) - 1)],
                                             lang)
        jieba = _jieba()
        if jieba is not None:
            out["jieba"] = _han_segmenter(jieba.lcut, lang)
            out["jieba, search mode"] = _han_segmenter(jieba.lcut_for_search, lang)
    if lang == "ar":
        out["v3, و/ف dropped before ال"] = lambda t: terms(_CONJ_ARTICLE.sub("", t), lang)
    return out


def _jieba():
    try:
        import logging

        import jieba
    except ImportError:
        return None
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def queries(lang: str, texts: list[str], n: int, seed: int) -> dict[str, list[tuple[list[str], str, str | None]]]:
    """Query sets: name -> [(what must be in a paragraph found, the query, the language it is analysed in)]."""
    rng = random.Random(seed)
    out: dict[str, list[tuple[list[str], str, str | None]]] = {}
    if lang == "zh":
        sample = rng.sample(sorted({t for t in texts if len(t) >= 40}), n)
        spans, frags = [], []
        for t in sample:
            k = rng.randint(8, 20)
            s = rng.randint(len(t) // 4, max(len(t) // 4, 3 * len(t) // 4 - k))
            spans.append(([t[s:s + k]], t[s:s + k], lang))
            parts = []
            for third in range(3):
                a, b = third * len(t) // 3, (third + 1) * len(t) // 3
                k = rng.randint(2, 4)
                s = rng.randint(a, max(a, b - k))
                parts.append(t[s:s + k])
            frags.append((parts, " ".join(parts), lang))
        out["span of 8-20 characters"] = spans
        out["3 fragments of 2-4 characters"] = frags
        out["span, query language unknown (en)"] = [(w, q, "en") for w, q, _ in spans]
        jieba = _jieba()
        if jieba is not None:  # in jieba's favour: whole jieba words
            words = []
            for t in sample:
                found = [(w, a) for w, a, _ in jieba.tokenize(t) if len(w) >= 2 and re.fullmatch(f"[{HAN}]+", w)]
                parts = []
                for third in range(3):
                    cand = [w for w, a in found if third * len(t) // 3 <= a < (third + 1) * len(t) // 3]
                    if cand:
                        parts.append(rng.choice(cand))
                words.append((parts or [t[:4]], " ".join(parts or [t[:4]]), lang))
            out["3 jieba words"] = words
        return out

    def span(t: str, around: int | None = None) -> str:
        w = t.split()
        k = rng.randint(3, 8)
        if around is None:
            s = rng.randint(len(w) // 4, max(len(w) // 4, 3 * len(w) // 4 - k))
        else:
            s = max(0, min(around - rng.randint(0, k - 1), len(w) - k))
        return " ".join(w[s:s + k])

    sample = rng.sample(sorted({t for t in texts if len(t.split()) >= 10}), n)
    spans = [span(t) for t in sample]
    out["span of 3-8 words"] = [([q], q, lang) for q in spans]
    words = []
    for t in sample:
        w = [x.strip("،؛,.;:()«»\"") for x in t.split()]
        parts = []
        for third in range(3):
            cand = [x for x in w[third * len(w) // 3:(third + 1) * len(w) // 3] if len(x) >= 4 and not
                    re.search(r"\d", x)]
            if cand:
                parts.append(rng.choice(cand))
        words.append((parts, " ".join(parts), lang))
    out["3 words as printed"] = words
    out["span, query language unknown (en)"] = [([q], q, "en") for q in spans]
    if lang == "ar":
        out["span, و/ف dropped before ال"] = [([q], _CONJ_ARTICLE.sub("", q), lang) for q in spans
                                             if _CONJ_ARTICLE.search(q)]
        out["span with digits, typed in Arabic-Indic digits"] = [([q], q.translate(_TO_ARABIC_INDIC), lang)
                                                                 for q in spans if re.search(r"\d", q)]
        marked = sorted({t for t in texts if _AR_MARKS.search(t) and len(t.split()) >= 10})
        typed, pasted = [], []
        for t in rng.sample(marked, min(n, len(marked))):
            q = span(t, rng.choice([i for i, x in enumerate(t.split()) if _AR_MARKS.search(x)]))
            typed.append(([q], _AR_MARKS.sub("", q), lang))
            pasted.append(([q], q, lang))
        out["paragraph with harakat/tatweel, span typed without"] = typed
        out["paragraph with harakat/tatweel, span pasted"] = pasted
    if lang == "ru":
        try:
            import pymorphy3
        except ImportError:
            pymorphy3 = None
        if pymorphy3 is not None:
            morph = pymorphy3.MorphAnalyzer()
            out["span, words in dictionary form (pymorphy3)"] = [
                ([q], " ".join(morph.parse(w)[0].normal_form for w in re.findall(r"\w+(?:-\w+)*", q)), lang)
                for q in spans]
    return out


def study(lang: str, n: int = 300, seed: int = 0, limit: int | None = None,
          candidates: bool = True) -> dict[str, dict[str, float]]:
    """{analysis: {figure: value}}: recall@1 and @10 per query set, build and query-analysis times.

    ``limit``: read only the first documents; ``candidates``: the alternatives too, not only versions 2 and 3."""
    import bm25s

    texts = read_paragraphs(lang, limit)
    plain = [_plain(t) for t in texts]
    qsets = queries(lang, texts, n, seed)
    results: dict[str, dict[str, float]] = {}
    for name, analyse in analyzers(lang).items():
        if not candidates and not name.startswith(("v2 ", "v3 (")):
            continue
        t0 = time.perf_counter()
        corpus = [analyse(t) or ["_"] for t in texts]
        t_analysis = time.perf_counter() - t0
        retriever = bm25s.BM25(k1=0.9, b=0.4)
        retriever.index(corpus, show_progress=False)
        row = {"paragraphs": len(texts), "analysis s": t_analysis, "build s": time.perf_counter() - t0,
               "vocabulary": len(retriever.vocab_dict)}
        q_time, q_count = 0.0, 0
        for qname, qs in qsets.items():
            if not qs:
                continue
            t0 = time.perf_counter()
            qterms = []
            for _, q, qlang in qs:
                # the analysis under test, in the language the query is analysed in
                qterms.append((analyse if qlang == lang else _switch(name, analyse, lang, qlang))(q) or ["_"])
            q_time += time.perf_counter() - t0
            q_count += len(qs)
            docs, _ = retriever.retrieve(qterms, k=min(10, len(texts)), show_progress=False, n_threads=1)
            hits = [[all(_plain(w) in plain[i] for w in want) for i in d]
                    for (want, _, _), d in zip(qs, docs, strict=True)]
            row[f"{qname} (n={len(qs)}) R@1"] = sum(h[0] for h in hits) / len(hits)
            row[f"{qname} (n={len(qs)}) R@10"] = sum(any(h) for h in hits) / len(hits)
        row["query analysis us"] = q_time / max(q_count, 1) * 1e6
        results[name] = row
    return results


def _switch(name: str, analyse, lang: str, qlang: str | None):
    """The same analysis for a query analysed in ``qlang`` (a query whose language was not recognised)."""
    if name.startswith("v2"):
        return _v2(qlang)
    if name.startswith("v3 (parasearch)"):
        return lambda t: terms(t, qlang)
    return analyse  # the other candidates are version 3 with another segmenter: script decides, as in v3


def to_markdown(lang: str, results: dict[str, dict[str, float]]) -> str:
    names = list(results)
    first = results[names[0]]
    lines = [f"| {lang}: {first['paragraphs']} paragraphs | " + " | ".join(names) + " |",
             "|---|" + "---|" * len(names)]
    for key in first:
        if key == "paragraphs":
            continue
        cells = []
        for name in names:
            v = results[name].get(key)
            cells.append("" if v is None else f"{v:.0f}" if key in ("vocabulary", "query analysis us")
                         else f"{v:.1f}" if key.endswith(" s") else f"{v:.3f}")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("languages", nargs="*", default=["zh", "ar", "ru"])
    ap.add_argument("--n", type=int, default=300, help="paragraphs sampled (queries per set)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    for lang in args.languages:
        print(to_markdown(lang, study(lang, args.n, args.seed)), end="\n\n", flush=True)


@pytest.mark.parametrize("lang", ["zh", "ar", "ru"])
def test_version_3_finds_what_version_2_found_and_more(lang):
    if not (SC / lang).is_dir():
        missing_shared(f"shared corpus not found at {SC / lang}")
    results = study(lang, n=40, seed=0, limit=25, candidates=False)
    v2, v3 = results["v2 (before)"], results["v3 (parasearch)"]
    spans = [k for k in v3 if k.startswith("span of") and k.endswith("R@10")]
    unknown = [k for k in v3 if k.startswith("span, query language unknown") and k.endswith("R@10")]
    assert v3[spans[0]] >= v2[spans[0]] - 0.05
    assert v3[unknown[0]] >= 0.8 > v2[unknown[0]]
    if lang == "zh":
        assert v3[spans[0]] >= v2[spans[0]] + 0.3


if __name__ == "__main__":
    main()
