"""Train the learned re-ranker (:mod:`service.rerank`) and score it by cross-validation.

    python -m eval.train_ranker                      # features, 5-fold CV report, then the model file
    python -m eval.train_ranker --cv-only            # only the cross-validated figures

Training data, rebuilt from what is at hand (nothing is downloaded; the feature dumps are cached under
``.cache/ranker`` and are not kept in git):

- ``external``, always in training: SciFact's **train** split (its test queries never), SQuAD-dev as passage
  ranking (a seeded sample of ``--squad`` queries; SQuAD then stops being a test set), each over its BEIR index
  (``eval.beir.ensure_index``, both dense models); Security Council paragraphs in the five other languages as
  queries for their English version over the English resolutions when asked (``--parallel`` a language, none
  of those ``parasearch eval --parallel`` scores: :func:`parallel_questions`; off by default, it lowered the
  cross-validated dev nDCG@10 from 0.738 to 0.690);
- ``hand-written``, scored by k-fold cross-validation: the development questions and the project's own English
  questions over the full English index, the cross-lingual questions (Arabic, Chinese, French, Russian, Spanish)
  over the English Security Council resolutions. A question is scored only by a model trained on folds that do
  not hold it; the shipped model is then trained on all of them.

For every question the candidates are hybrid search's top ``RERANK_DEPTH`` (uncollapsed), labelled with the
gold grade of their symbol and paragraph (any language version). Questions with no gold among the candidates
teach nothing and are left out of training (they are still scored).

Scoring runs the real search with the fold's model, collapse on, as the service answers, and reports recall@1,
nDCG@10, recall@10 and hit@1 (the first result holds gold: the share of answers whose lead is right) per set,
against the fused order of the same candidates.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from eval.answer_calibration import ABSENT_QUESTIONS, ABSENT_QUESTIONS_CROSSLINGUAL
from eval.beir import load_beir
from eval.metrics import Slot, mean, per_question
from eval.questions import Gold, Question, QuestionSet, load_questions, para_key
from parasearch.digest import file_sha256
from service.confidence import EVIDENCE, lead_evidence
from service.rerank import FEATURES, MODEL_FILE, RERANK_DEPTH, Reranker

if TYPE_CHECKING:
    import lightgbm

    from service.search import SearchEngine

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CACHE = ROOT / ".cache" / "ranker"
SEED = 2026
PARAMS = {
    "objective": "lambdarank", "metric": "ndcg", "eval_at": [1, 10], "learning_rate": 0.05, "num_leaves": 15,
    "min_data_in_leaf": 20, "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1,
    "lambdarank_truncation_level": 20, "label_gain": [0, 1, 3], "verbose": -1, "num_threads": 2,
}
ROUNDS = 300
LEAD_PRIORS = (0.0, 1.0, 2.0, 4.0)  # preambular paragraphs' handicap when the answer's lead passage is chosen
# (service.extractive.RERANK_PREAMBLE_PRIOR)
HAND_WEIGHT = 3  # each hand-written question counts this many times (they are few, and in the product's domain)


@dataclass
class Group:
    """One question's candidates: features, gold grades, and where it comes from."""

    set: str
    qid: str
    X: np.ndarray
    y: np.ndarray


@dataclass
class Source:
    name: str
    qset: QuestionSet
    index: Path
    hand: bool  # hand-written: scored by cross-validation


def sources(args: argparse.Namespace) -> list[Source]:
    from eval.beir import ensure_index

    out = []
    full = Path(args.index)
    out.append(Source("dev", load_questions(SHARED / "eval" / "dev_questions.jsonl", "dev"), full, True))
    out.append(Source("own_en", load_questions(ROOT / "eval" / "question_sets" / "own_en.jsonl", "own_en"), full,
                      True))
    for lang in ("ar", "zh", "fr", "ru", "es"):
        path = ROOT / "eval" / "question_sets" / f"xl_{lang}.jsonl"
        out.append(Source(f"xl_{lang}", load_questions(path, f"xl_{lang}"), Path(args.sc_index), True))
    if args.parallel:
        out.append(Source("sc-parallel", parallel_questions(Path(args.sc_index), args.parallel),
                          Path(args.sc_index), False))
    scifact = SHARED / "bench" / "scifact"
    out.append(Source("scifact-train", load_beir(scifact, split="train"), ensure_index(scifact, progress=False),
                      False))
    squad = SHARED / "bench" / "squad-dev"
    qs = load_beir(squad, split="test")
    random.Random(SEED).shuffle(qs.questions)
    qs.questions = qs.questions[: args.squad]
    out.append(Source("squad-dev", qs, ensure_index(squad, progress=False), False))
    return out


def parallel_questions(sc_index: Path, per_language: int) -> QuestionSet:
    """Security Council paragraphs in Arabic, Chinese, French, Russian and Spanish as queries for their English
    version (and its word-for-word repeats), ``per_language`` each, drawn with seed ``SEED`` from the paragraphs
    that ``parasearch eval --parallel``'s own draw (seed 2026, 500 a language) leaves out: what that evaluation
    scores is never trained on."""
    from eval.parallel import DEFAULT_SEED, build_set, target_paragraphs
    from service.index import LoadedIndex

    root = SHARED / "corpus" / "sc"
    languages = ["ar", "zh", "fr", "ru", "es"]
    target = target_paragraphs(LoadedIndex(sc_index), "en")
    held_out = {q.relevant[0].key for q in build_set(root, target, languages, limit=500,
                                                     seed=DEFAULT_SEED).qset.questions}
    pool = build_set(root, target, languages, limit=None)
    rng = random.Random(SEED)
    questions = []
    for lang in languages:
        mine = [q for q in pool.qset.questions if q.language == lang and q.relevant[0].key not in held_out]
        rng.shuffle(mine)
        for q in mine[:per_language]:
            same = [Gold(symbol, para)
                    for symbol, para in (key.split("#", 1) for key in pool.equivalents.get(q.id, []))]
            questions.append(Question(q.id, q.query, q.relevant + same, language=lang, kind=q.kind))
    return QuestionSet("sc-parallel", questions, source=str(root))


_ENGINES: dict[Path, SearchEngine] = {}


def engine_for(index: Path) -> SearchEngine:
    from service.engine import load_engine

    if index not in _ENGINES:
        _ENGINES[index] = load_engine(index, reranker=None)
    return _ENGINES[index]


def collect(src: Source, *, rebuild: bool = False) -> list[Group]:
    """The source's feature groups (cached in ``.cache/ranker/<name>.npz``, keyed by the features' names)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{src.name}.npz"
    key = json.dumps({"features": FEATURES, "depth": RERANK_DEPTH, "index": str(src.index.resolve()),
                      "questions": [q.id for q in src.qset.questions]})
    if path.is_file() and not rebuild:
        with np.load(path, allow_pickle=False) as data:
            if str(data["key"]) == key:
                starts, X, y = data["starts"], data["X"], data["y"]  # each read once
                return [Group(src.name, str(q), X[a:b], y[a:b])
                        for q, a, b in zip(data["qids"], starts[:-1], starts[1:], strict=True)]
    engine = engine_for(src.index)
    groups = []
    t0 = time.perf_counter()
    for q in src.qset.questions:
        out = engine.search(q.query, k=10, rerank=False, features=True)
        if out.pool is None:  # a bare reference: nothing to rank
            continue
        rows = engine.index.rows(out.pool.ids.tolist())
        gold = q.qrels()
        y = np.array([gold.get(para_key(rows[i].symbol, rows[i].para), 0) for i in out.pool.ids.tolist()],
                     dtype=np.int32)
        groups.append(Group(src.name, q.id, out.pool.features, np.clip(y, 0, 2)))
    print(f"  {src.name}: {len(groups)} questions, {sum(g.y.max() > 0 for g in groups)} with gold among the "
          f"candidates, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    starts = np.cumsum([0] + [len(g.y) for g in groups])
    np.savez(path, key=key, qids=np.array([g.qid for g in groups]), starts=starts,
             X=np.concatenate([g.X for g in groups]) if groups else np.zeros((0, len(FEATURES)), np.float32),
             y=np.concatenate([g.y for g in groups]) if groups else np.zeros(0, np.int32))
    return groups


def train(groups: list[Group], *, seed: int = SEED, rounds: int = ROUNDS) -> lightgbm.Booster:
    import lightgbm

    use = [g for g in groups if g.y.max() > 0]
    X = np.concatenate([g.X for g in use])
    y = np.concatenate([g.y for g in use])
    data = lightgbm.Dataset(X, y, group=[len(g.y) for g in use], feature_name=list(FEATURES),
                            free_raw_data=False)
    return lightgbm.train({**PARAMS, "seed": seed}, data, num_boost_round=rounds)


def weighted(groups: list[Group], hand_sets: set[str], weight: int = HAND_WEIGHT) -> list[Group]:
    return [g for g in groups for _ in range(weight if g.set in hand_sets else 1)]


@dataclass
class Evidence:
    """What the confidence is fitted on: per question, the first result's evidence and whether it is gold;
    per shown result (top 10), its re-ranker score and whether it holds gold."""

    lead: list[tuple[str, np.ndarray, int]]  # (set, evidence, first result gold)
    results: list[tuple[float, int]]


def score(src: Source, qids: set[str], reranker: Reranker | None, evidence: Evidence | None = None
          ) -> dict[str, dict[str, float]]:
    """Per-question metrics of the source's questions ``qids``, searched as the service searches; with
    ``evidence``, what the confidence is fitted on is added to it."""
    engine = engine_for(src.index)
    engine.reranker = reranker
    questions = [q for q in src.qset.questions if q.id in qids]
    results = {}
    lead: dict[float, dict[str, Slot]] = {p: {} for p in LEAD_PRIORS}
    for q in questions:
        out = engine.search(q.query, k=100, snippets=False)
        results[q.id] = [(para_key(h.row.symbol, h.row.para), *(para_key(a.symbol, a.para) for a in h.also_in))
                         for h in out.hits]
        if evidence is not None:
            gold = q.qrels()
            holds = [int(any(gold.get(k, 0) > 0 for k in slot)) for slot in results[q.id]]
            x = lead_evidence(out)
            if x is not None:
                evidence.lead.append((src.name, x, holds[0]))
                evidence.results.extend((h.scores["rerank"]["score"], g)
                                        for h, g in zip(out.hits[:10], holds, strict=False) if "rerank" in h.scores)
        hits = out.hits[:8]  # service.answer.ANSWER_K passages: the answer rests on one of them, its lead
        main = np.array([h.score for h in hits])
        pre = np.array([h.row.para.startswith("preamble-") for h in hits], dtype=float)
        named = [i for i, h in enumerate(hits) if "reference" in h.scores]  # a paragraph the question names
        for prior in LEAD_PRIORS:
            if len(hits):
                lead[prior][q.id] = results[q.id][named[0] if named else int(np.argmax(main - prior * pre))]
    engine.reranker = None
    qrels = {q.id: q.qrels() for q in questions}
    if not any(qrels.values()):  # questions no document answers: evidence only
        return {}
    pq = per_question(qrels, results, ("recall@1", "recall@10", "ndcg@10"))
    pq["hit@1"] = {q.id: float(bool(results[q.id]) and any(qrels[q.id].get(k, 0) > 0 for k in results[q.id][0]))
                   for q in questions}
    for prior in LEAD_PRIORS:
        pq[f"lead@{prior}"] = {q.id: float(any(qrels[q.id].get(k, 0) > 0 for k in lead[prior].get(q.id, ())))
                               for q in questions}
    return pq


def fit_confidence(ev: Evidence, *, seed: int = SEED) -> tuple[dict[str, Any], dict[str, Any]]:
    """The calibration stored with the model (:class:`service.confidence.Calibration`) and its held-out figures.

    The lead probability is a logistic regression over :data:`service.confidence.EVIDENCE`; its thresholds are
    chosen on probabilities from 5-fold cross-validation of that regression: ``answer_at``, the lowest at which
    at least 90% of first results labelled "answer" are gold. A second regression over the same evidence tells
    answerable from absent-topic questions; ``not_found_below``, on its cross-validated probabilities, is the
    highest at which at most 1 answerable question in 20 is "not found" (reported with the share of absent-topic
    questions below it)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    X = np.array([x for _, x, _ in ev.lead])
    y = np.array([g for _, _, g in ev.lead])
    absent = np.array([name.startswith("absent") for name, _, _ in ev.lead])
    model = LogisticRegression(C=1.0, max_iter=1000)
    p = cross_val_predict(model, X, y, cv=StratifiedKFold(5, shuffle=True, random_state=seed),
                          method="predict_proba")[:, 1]
    order = np.sort(np.unique(p))
    answer_at = next((float(t) for t in order if (p >= t).sum() >= 10 and y[p >= t].mean() >= 0.9), 1.0)
    # Whether the index answers the question at all: answerable (1) against absent-topic (0) questions.
    found_model = LogisticRegression(C=1.0, max_iter=1000)
    m = cross_val_predict(found_model, X, (~absent).astype(int), cv=StratifiedKFold(5, shuffle=True,
                                                                                    random_state=seed),
                          method="predict_proba")[:, 1]
    answerable = np.sort(m[~absent])
    not_found_below = float(answerable[int(len(answerable) / 20)])  # at most 1 answerable question in 20 below
    model.fit(X, y)
    found_model.fit(X, (~absent).astype(int))
    R = np.array(ev.results)
    result_model = LogisticRegression(C=1.0, max_iter=1000).fit(R[:, :1], R[:, 1].astype(int))
    shown_answer = (p >= answer_at) & ~absent
    calibration = {"evidence": list(EVIDENCE), "coef": [round(float(c), 6) for c in model.coef_[0]],
                   "intercept": round(float(model.intercept_[0]), 6), "answer_at": round(answer_at, 6),
                   "not_found_below": round(not_found_below, 6),
                   "result_coef": round(float(result_model.coef_[0][0]), 6),
                   "result_intercept": round(float(result_model.intercept_[0]), 6), "weak_below": 0.5,
                   "found_coef": [round(float(c), 6) for c in found_model.coef_[0]],
                   "found_intercept": round(float(found_model.intercept_[0]), 6)}
    report = {
        "questions": int((~absent).sum()), "absent_questions": int(absent.sum()),
        "answer_share": round(float(shown_answer.sum() / max(1, (~absent).sum())), 4),  # of answerable questions
        "answer_gold": round(float(y[shown_answer].mean()) if shown_answer.any() else 0.0, 4),
        "closest_share": round(float(((p < answer_at) & (m >= not_found_below) & ~absent).sum()
                                     / max(1, (~absent).sum())), 4),
        "answerable_not_found": round(float((m[~absent] < not_found_below).mean()), 4),
        "absent_not_found": round(float((m[absent] < not_found_below).mean()) if absent.any() else 0.0, 4),
        "absent_labelled_answer": round(float((p[absent] >= answer_at).mean()) if absent.any() else 0.0, 4),
        "first_result_gold": round(float(y[~absent].mean()), 4),
    }
    return calibration, report


def summary(pq: dict[str, dict[str, float]]) -> dict[str, float]:
    return {m: round(mean(v.values()), 4) for m, v in pq.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.train_ranker", description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", default=str(ROOT / ".index" / "full-en-dual"),
                    help="full English index (default .index/full-en-dual)")
    ap.add_argument("--sc-index", default=str(ROOT / ".index" / "sc-en"),
                    help="English Security Council resolutions (default .index/sc-en)")
    ap.add_argument("--squad", type=int, default=2000, help="SQuAD-dev queries drawn for training")
    ap.add_argument("--parallel", type=int, default=0,
                    help="Security Council paragraphs per language (ar, zh, fr, ru, es) as queries for their "
                         "English version, drawn for training (default 0: 150 a language lowered the CV dev "
                         "nDCG@10 from 0.738 to 0.690; pasted paragraphs keep the fused order instead, see "
                         "service.search.RERANK_MAX_WORDS)")
    ap.add_argument("--hand-weight", type=int, default=HAND_WEIGHT,
                    help=f"times each hand-written question counts in training (default {HAND_WEIGHT})")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--rounds", type=int, default=ROUNDS)
    ap.add_argument("--rebuild", action="store_true", help="recompute the feature dumps")
    ap.add_argument("--cv-only", action="store_true", help="report the cross-validated figures, write no model")
    ap.add_argument("--out", default=str(MODEL_FILE), help=f"model file (default {MODEL_FILE})")
    ap.add_argument("--report", default=str(ROOT / "eval" / "out" / "ranker-cv.json"))
    ap.add_argument("--fused-weight", type=float, default=None,
                    help="score the folds with this weight of the fused score added to the model's "
                         "(default: service.search.RERANK_FUSED_WEIGHT)")
    args = ap.parse_args(argv)
    if args.fused_weight is not None:
        import service.search

        service.search.RERANK_FUSED_WEIGHT = args.fused_weight

    print("features:", file=sys.stderr)
    srcs = sources(args)
    data = {s.name: collect(s, rebuild=args.rebuild) for s in srcs}
    hand = [s for s in srcs if s.hand]
    hand_sets = {s.name for s in hand}
    external = [g for s in srcs if not s.hand for g in data[s.name]]

    # k-fold over every hand-written question (all sets together), seeded.
    keys = [(s.name, g.qid) for s in hand for g in data[s.name]]
    rng = random.Random(args.seed)
    rng.shuffle(keys)
    fold_of = {k: i % args.folds for i, k in enumerate(keys)}
    evidence = Evidence([], [])
    cv: dict[str, dict[str, dict[str, float]]] = {s.name: {} for s in hand}
    base: dict[str, dict[str, dict[str, float]]] = {s.name: {} for s in hand}
    for f in range(args.folds):
        train_groups = external + weighted([g for s in hand for g in data[s.name] if fold_of[(s.name, g.qid)] != f],
                                           hand_sets, args.hand_weight)
        model = Reranker(train(train_groups, seed=args.seed, rounds=args.rounds))
        for s in hand:
            held = {g.qid for g in data[s.name] if fold_of[(s.name, g.qid)] == f}
            for name, pq in (("cv", score(s, held, model, evidence)), ("base", score(s, held, None))):
                target = cv if name == "cv" else base
                for m, v in pq.items():
                    target[s.name].setdefault(m, {}).update(v)
        print(f"  fold {f + 1}/{args.folds} done", file=sys.stderr)
    # Questions no document answers, asked of a model that never saw them (the last fold's): their first result is
    # never right.
    sc = next(s for s in hand if s.name == "xl_fr")
    for name, questions, src in (("absent", ABSENT_QUESTIONS, hand[0]),
                                 ("absent_xl", ABSENT_QUESTIONS_CROSSLINGUAL, sc)):
        absent = Source(name, QuestionSet(name, [Question(f"{name}{i}", q, []) for i, q in enumerate(questions)]),
                        src.index, True)
        score(absent, {q.id for q in absent.qset.questions}, model, evidence)
    calibration, calib_report = fit_confidence(evidence, seed=args.seed)
    report = {"confidence": calib_report, "folds": args.folds, "seed": args.seed, "rounds": args.rounds,
              "params": PARAMS, "hand_weight": args.hand_weight, "squad_queries": args.squad,
              "sets": {s.name: {"questions": len(data[s.name]), "fused": summary(base[s.name]),
                                "reranked_cv": summary(cv[s.name])} for s in hand}}
    print(f"\n{'set':10} {'n':>4}  {'metric':10} {'fused':>7} {'re-ranked (CV)':>15}")
    for name, r in report["sets"].items():
        for m in ("hit@1", *(f"lead@{p}" for p in LEAD_PRIORS), "recall@1", "ndcg@10", "recall@10"):
            print(f"{name:10} {r['questions']:>4}  {m:10} {r['fused'][m]:>7.3f} {r['reranked_cv'][m]:>15.3f}")
    print(f"\nconfidence (held-out): {json.dumps(calib_report)}")
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(json.dumps(report, indent=1))
    if args.cv_only:
        return 0

    booster = train(external + weighted([g for s in hand for g in data[s.name]], hand_sets, args.hand_weight),
                    seed=args.seed,
                    rounds=args.rounds)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(out))
    info = {
        "sha256": file_sha256(out), "features": list(FEATURES), "depth": RERANK_DEPTH,
        "command": "python -m eval.train_ranker " + " ".join(argv if argv is not None else sys.argv[1:]),
        "seed": args.seed, "rounds": args.rounds, "params": PARAMS, "hand_weight": args.hand_weight,
        "data": {s.name: {"questions": len(data[s.name]), "source": s.qset.source, "index": str(s.index.name)}
                 for s in srcs},
        "cross_validated": report["sets"],
        "confidence": calibration, "confidence_cross_validated": calib_report,
    }
    out.with_suffix(out.suffix + ".json").write_text(json.dumps(info, indent=1) + "\n")
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB) and its description", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
