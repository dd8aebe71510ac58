"""Calibrate the extractive answerer's "not found" threshold.

Two sets of questions are answered over an index with the threshold switched off,
and the confidence the answerer computes (:func:`service.extractive.confidence`) is
recorded for each:

* answerable: the development questions (``shared/eval/dev_questions.jsonl``) whose gold
  documents are in the index: each should be answered (found);
* absent: :data:`ABSENT_QUESTIONS`, topics no UN document in the corpus treats: each should
  get "The documents do not contain an answer to this question." (not found).

Target: not found for >= 9 in 10 absent questions and for <= 1 in 20 answerable ones. The
recommended threshold is the middle of the widest gap between two observed scores that
meets the target (or, when none does, the one with the best balanced accuracy). It is printed with the
figures for each signal (combined score, best sentence cosine, best dense score, question
coverage) so that the choice of signal can be checked too.

Run (about a minute on the full English index)::

    .venv/bin/python -m eval.answer_calibration --index .index/full-en
    .venv/bin/python -m eval.answer_calibration --index .index/full-en --json calibration.json

then set ``DEFAULT_THRESHOLD`` in ``service/extractive.py`` (or ``PARASEARCH_ANSWER_THRESHOLD``).

Figures, k=8, 2026-11-28 (lead-passage answers, metadata priors in the search): on the full English
corpus (ctoc, ga/text, hr, sc/en: 1,685 documents, 82,804 paragraphs, all-MiniLM-L6-v2):

======== ========= ===================== ============= =============
signal   threshold gap (absent max ..    answerable    absent
                   answerable min)       not found     not found
======== ========= ===================== ============= =============
score    0.521     0.439 .. 0.604        0/56          16/16
sentence 0.452     0.375 .. 0.528        0/56          16/16
dense    0.449     0.356 .. 0.543        0/56          16/16
coverage (no threshold meets the target) 8/56          14/16
======== ========= ===================== ============= =============

and with sc/fr and sc/es added (2,300 documents): score gap 0.417 .. 0.623 (recommended 0.520),
0/56 and 16/16 at the threshold in force, 0.52.

(4 of the 60 dev questions name a paragraph that exists and are answered from it without
the threshold.) The absent questions were written for this calibration and have no
held-out twin: treat the gap's width, not its middle, as the figure to watch.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from parasearch.config import REPO_ROOT, offline
from parasearch.types import normalize_symbol
from service.answer import ANSWER_K

if TYPE_CHECKING:
    from service.search import SearchEngine

DEV_QUESTIONS = REPO_ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"
DEFAULT_INDEX = REPO_ROOT / ".index" / "full-en"

# Topics absent from UN documents: sport rules, physics, cooking, hobbies, consumer tech, trivia.
ABSENT_QUESTIONS = [
    "What are the rules for football transfer windows in the Premier League?",
    "How does asymptotic freedom work in quantum chromodynamics?",
    "How long should sourdough bread be proofed before baking?",
    "What is the best opening move in chess for beginners?",
    "How do I change the oil in a diesel car engine?",
    "How do JavaScript promises differ from async/await?",
    "Which chords are used in a twelve-bar blues on guitar?",
    "How many moons does Jupiter have?",
    "How often should tomato plants be watered in summer?",
    "Who won the Tour de France cycling race in 1998?",
    "How do you knit a cable stitch pattern?",
    "What is the boiling point of ethanol at sea level?",
    "How do I reset the password of my home Wi-Fi router?",
    "What is the leg before wicket rule in cricket?",
    "Which grape varieties are used to make Champagne?",
    "What is the recipe for a classic French onion soup?",
]
# The same topics asked in the other UN languages, for questions in a language the index holds no document in
# (--crosslingual, with the cross-lingual question sets as the answerable ones).
ABSENT_QUESTIONS_CROSSLINGUAL = [
    "Quelles sont les règles du mercato des transferts de football en Premier League ?",
    "¿Cómo funciona la libertad asintótica en la cromodinámica cuántica?",
    "Сколько времени должна расстаиваться закваска перед выпечкой хлеба?",
    "初学者下国际象棋最好的开局是什么？",
    "كيف أغير زيت محرك سيارة تعمل بالديزل؟",
    "En quoi les promesses JavaScript diffèrent-elles de async/await ?",
    "¿Qué acordes se usan en un blues de doce compases en la guitarra?",
    "Сколько спутников у Юпитера?",
    "夏天应该多久给番茄浇一次水？",
    "من فاز بسباق طواف فرنسا للدراجات عام 1998؟",
    "Comment tricoter un point de torsade ?",
    "¿Cuál es el punto de ebullición del etanol al nivel del mar?",
    "Как сбросить пароль домашнего Wi-Fi роутера?",
    "板球中的腿前截球规则是什么？",
    "ما هي أصناف العنب المستخدمة في صنع الشمبانيا؟",
    "Quelle est la recette de la soupe à l'oignon classique ?",
]
TARGET_ABSENT = 0.9  # share of absent questions that must be "not found"
TARGET_ANSWERABLE_MISSED = 0.05  # share of answerable questions that may be "not found"
SIGNALS = ("score", "sentence", "dense", "coverage")


@dataclass
class Row:
    kind: str  # "answerable" or "absent"
    id: str
    question: str
    score: float
    sentence: float
    dense: float
    coverage: float
    gold_retrieved: bool | None = None  # answerable: a gold paragraph among the passages
    gold_cited: bool | None = None  # answerable: an extracted sentence from a gold paragraph
    reference: bool = False  # names a paragraph that exists: answered from it, the threshold does not apply


def load_questions(path: Path, engine: SearchEngine) -> list[dict[str, Any]]:
    """The questions of a dev-format file (JSON objects) with a gold paragraph in a document the index holds."""
    indexed = set(engine.index.key_to_docs)
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        if any(normalize_symbol(g["symbol"]) in indexed for g in q["relevant"]):
            out.append(q)
    return out


def measure(engine: SearchEngine, kind: str, qid: str, question: str, k: int,
            gold: list[dict[str, Any]] | None = None, arm: int | None = None) -> Row:
    from service.answer import retrieve
    from service.extractive import extractive_answer

    outcome = retrieve(engine, question, k=k)
    ans = extractive_answer(engine, outcome, threshold=-np.inf, arm=arm)
    c = ans.confidence
    row = Row(kind, qid, question, c["score"], c["sentence"], c["dense"], c["coverage"],
              reference=any("reference" in h.scores for h in outcome.hits))
    if gold is not None:
        keys = {(normalize_symbol(g["symbol"]), g["para"]) for g in gold}
        row.gold_retrieved = any((normalize_symbol(h.row.symbol), h.row.para) in keys for h in outcome.hits)
        row.gold_cited = any((normalize_symbol(x.symbol), x.para) in keys for s in ans.sentences for x in s.citations)
    return row


def choose_threshold(answerable: np.ndarray, absent: np.ndarray) -> tuple[float, bool, tuple[float, float]]:
    """(threshold, target met, (low, high) gap it sits in): the widest gap between two observed scores
    whose middle meets the target, its middle; when none does, the middle with the best balanced accuracy."""
    values = np.unique(np.concatenate([answerable, absent]))
    lows = np.concatenate([[values[0] - 0.05], values])
    highs = np.concatenate([values, [values[-1] + 0.05]])
    cuts = (lows + highs) / 2  # "found" when score >= cut
    missed = (answerable[None, :] < cuts[:, None]).mean(axis=1)
    rejected = (absent[None, :] < cuts[:, None]).mean(axis=1)
    ok = (rejected >= TARGET_ABSENT) & (missed <= TARGET_ANSWERABLE_MISSED)
    if ok.any():
        gaps = np.where(ok, highs - lows, -np.inf)
        i = int(np.argmax(gaps))
        return float(cuts[i]), True, (float(lows[i]), float(highs[i]))
    i = int(np.argmax((1 - missed + rejected) / 2))
    return float(cuts[i]), False, (float(lows[i]), float(highs[i]))


def report(rows: list[Row]) -> dict[str, Any]:
    """Figures per signal, over the questions the threshold decides (named paragraphs left out)."""
    ans = [r for r in rows if r.kind == "answerable" and not r.reference]
    absn = [r for r in rows if r.kind == "absent" and not r.reference]
    out: dict[str, Any] = {"answerable": len(ans), "absent": len(absn), "signals": {},
                 "references": sum(r.reference for r in rows)}
    for sig in SIGNALS:
        a = np.array([getattr(r, sig) for r in ans])
        b = np.array([getattr(r, sig) for r in absn])
        t, met, (lo, hi) = choose_threshold(a, b)
        out["signals"][sig] = {
            "threshold": round(t, 4), "target_met": met, "range": [round(lo, 4), round(hi, 4)],
            "answerable_not_found": int((a < t).sum()), "absent_not_found": int((b < t).sum()),
            "answerable_min": round(float(a.min()), 4), "answerable_p05": round(float(np.percentile(a, 5)), 4),
            "absent_max": round(float(b.max()), 4), "absent_p90": round(float(np.percentile(b, 90)), 4),
        }
    every = [r for r in rows if r.kind == "answerable"]
    out["dev"] = len(every)
    out["gold_retrieved"] = sum(bool(r.gold_retrieved) for r in every)
    out["gold_cited"] = sum(bool(r.gold_cited) for r in every)
    return out


def main(argv: list[str] | None = None) -> int:
    offline()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--index", type=Path, default=DEFAULT_INDEX)
    p.add_argument("--questions", type=Path, action="append", help=f"answerable questions (repeatable; default "
                                                                   f"{DEV_QUESTIONS})")
    p.add_argument("-k", type=int, default=ANSWER_K,
                   help=f"passages per question, as the service uses (default {ANSWER_K})")
    p.add_argument("--json", type=Path, help="also write every row and the summary here")
    p.add_argument("--crosslingual", action="store_true",
                   help="absent topics asked in the other UN languages; give --questions a cross-lingual set "
                        "(eval/question_sets/xl_*.jsonl, repeatable) over an index without those languages")
    p.add_argument("--arm", type=int, help="score every question's sentences with this dense arm's model (an index "
                                           "of several models; default: the arm the service uses for its language)")
    args = p.parse_args(argv)

    from service.engine import load_engine
    from service.extractive import DEFAULT_THRESHOLD, answer_threshold

    engine = load_engine(args.index)
    dev = [q for path in (args.questions or [DEV_QUESTIONS]) for q in load_questions(path, engine)]
    absent = ABSENT_QUESTIONS_CROSSLINGUAL if args.crosslingual else ABSENT_QUESTIONS
    rows = [measure(engine, "answerable", q["id"], q["query"], args.k, q["relevant"], args.arm) for q in dev]
    rows += [measure(engine, "absent", f"x{i + 1:02d}", q, args.k, arm=args.arm)
             for i, q in enumerate(absent)]
    summary = report(rows)

    lang = engine.query_language.detect(absent[0])
    current = answer_threshold(engine, engine.answer_arm(lang) if args.arm is None else args.arm,
                               engine.crosslingual(lang))
    print(f"index {args.index}: {summary['dev']} answerable dev questions (gold documents indexed), "
          f"{summary['absent']} absent-topic questions, k={args.k}; {summary['references']} name a paragraph "
          f"that exists (answered from it, not decided by the threshold)\n")
    print(f"{'kind':<10} {'id':<5} {'score':>6} {'sent':>6} {'dense':>6} {'cover':>6} gold  question")
    for r in sorted(rows, key=lambda r: (r.kind, r.score)):
        gold = "" if r.gold_retrieved is None else ("R" if r.gold_retrieved else "-") + ("C" if r.gold_cited else "-")
        flag = "(named paragraph)" if r.reference else "NOT FOUND" if r.score < current else ""
        print(f"{r.kind:<10} {r.id:<5} {r.score:6.3f} {r.sentence:6.3f} {r.dense:6.3f} {r.coverage:6.2f} {gold:<4}  "
              f"{r.question[:70]}  {flag}")
    print("\n(gold: R = a gold paragraph among the passages, C = the answer cites one; "
          f"NOT FOUND under the threshold in force, {current})\n")
    print(f"{'signal':<9} {'thresh':>7} {'target':>6} {'range':>15} {'ans<t':>6} {'abs<t':>6} "
          f"{'ans min':>8} {'ans p05':>8} {'abs max':>8} {'abs p90':>8}")
    for sig, s in summary["signals"].items():
        rng = f"{s['range'][0]:.3f}-{s['range'][1]:.3f}"
        print(f"{sig:<9} {s['threshold']:7.3f} {'met' if s['target_met'] else 'MISSED':>6} {rng:>15} "
              f"{s['answerable_not_found']:>3}/{summary['answerable']:<2} "
              f"{s['absent_not_found']:>3}/{summary['absent']:<2} "
              f"{s['answerable_min']:8.3f} {s['answerable_p05']:8.3f} {s['absent_max']:8.3f} {s['absent_p90']:8.3f}")
    rec = summary["signals"]["score"]
    a_nf = sum(r.score < current for r in rows if r.kind == "answerable" and not r.reference)
    b_nf = sum(r.score < current for r in rows if r.kind == "absent" and not r.reference)
    print(f"\nthreshold in force {current} (default {DEFAULT_THRESHOLD}): answerable not found {a_nf}/"
          f"{summary['answerable']}, absent not found {b_nf}/{summary['absent']}")
    print(f"recommended threshold (combined score): {rec['threshold']:.3f}"
          + ("" if rec["target_met"] else "  (target not met: best balanced accuracy)"))
    print(f"gold paragraph retrieved for {summary['gold_retrieved']}/{summary['dev']}, "
          f"cited by the answer for {summary['gold_cited']}/{summary['dev']}")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rows": [asdict(r) for r in rows]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
