"""``parasearch eval``: metric plumbing on hand-computed figures, matching, BEIR specifics, outputs, --compare.

No model is loaded: the BEIR tests index a tiny corpus with a hashing bag-of-words encoder.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from eval import metrics as M
from eval.questions import Gold, Question, QuestionSet, load_questions, para_key
from eval.retrieve import Returned, retrieve
from eval.scoring import score_runs


# -- a tiny encoder, so that real indexes are built and searched without a model --------------------
class HashEncoder:
    """Bag of words hashed into 64 dimensions, L2-normalized."""

    name = "hash-bow"
    backend = "hash"
    identity = "hash-bow@0001"
    dim = 64
    max_tokens = 10_000
    query_prompt = ""
    passage_prompt = ""

    def encode(self, texts: list[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()):
                out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)

    def encode_queries(self, texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        return self.encode(texts, batch_size=batch_size)

    def token_lengths(self, texts: list[str]) -> list[int]:
        return [len(t.split()) for t in texts]

    def windows(self, text: str) -> list[str]:
        return [text]

    def windows_many(self, texts: list[str]) -> list[list[str]]:
        return [self.windows(t) for t in texts]


class FixedSearcher:
    """Returns the same prepared results for a query, whatever the mode."""

    description = "fixed"
    max_k = None

    def __init__(self, answers: dict[str, list[tuple[tuple[str, str], ...]]]) -> None:
        self.answers = answers

    def search(self, query: str, k: int, mode: str, filters=None) -> Returned:
        return Returned(list(self.answers.get(query, []))[:k])

    def clear_cache(self) -> None:
        pass


# -- metric plumbing, figures computed by hand ---------------------------------------------------
def test_metrics_match_a_hand_calculation():
    # q1: gold a (grade 2), b (grade 1); results: x, a, y, b, z
    # q2: gold c (grade 1); results: c, w
    # q3: gold d (grade 1); results: v, u (never found)
    qrels = {"q1": {"a": 2, "b": 1}, "q2": {"c": 1}, "q3": {"d": 1}}
    results = {"q1": [("x",), ("a",), ("y",), ("b",), ("z",)], "q2": [("c",), ("w",)], "q3": [("v",), ("u",)]}
    got = M.summarize(M.per_question(qrels, results))
    # recall@1: q1 0/2, q2 1/1, q3 0 -> (0 + 1 + 0) / 3 = 0.3333
    assert got["recall@1"] == pytest.approx(1 / 3)
    # recall@5 (= @10 = @100): q1 2/2, q2 1, q3 0 -> 2/3
    assert got["recall@5"] == pytest.approx(2 / 3)
    assert got["recall@100"] == pytest.approx(2 / 3)
    # mrr@10: q1 first gold at rank 2 -> 1/2; q2 -> 1; q3 -> 0; mean 1.5/3 = 0.5
    assert got["mrr@10"] == pytest.approx(0.5)
    # ndcg@10, linear gain (as pytrec_eval):
    #   q1 DCG = 2/log2(3) + 1/log2(5) = 1.26186 + 0.43068 = 1.69254
    #      IDCG = 2/log2(2) + 1/log2(3) = 2 + 0.63093 = 2.63093 -> 0.64332
    #   q2 DCG = 1/log2(2) = 1 = IDCG -> 1;  q3 -> 0
    #   mean = (0.64332 + 1 + 0) / 3 = 0.54777
    q1 = (2 / math.log2(3) + 1 / math.log2(5)) / (2 + 1 / math.log2(3))
    assert q1 == pytest.approx(0.64332, abs=1e-5)
    assert got["ndcg@10"] == pytest.approx((q1 + 1) / 3)
    assert got["ndcg@10"] == pytest.approx(0.54777, abs=1e-5)


def test_breakdown_by_kind_and_language_averages_the_questions():
    per_q = {"recall@1": {"q1": 1.0, "q2": 0.0, "q3": 0.5}}
    groups = {"q1": "factual", "q2": "factual", "q3": "policy"}
    assert M.breakdown(per_q, groups) == {"factual": {"n": 2, "recall@1": 0.5}, "policy": {"n": 1, "recall@1": 0.5}}


def test_question_without_results_scores_zero_and_counts():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}}
    got = M.summarize(M.per_question(qrels, {"q1": [("a",)]}))  # q2 returned nothing
    assert got["recall@10"] == 0.5 and got["mrr@10"] == 0.5
    assert set(M.summarize(M.per_question(qrels, {})).values()) == {0.0}  # nothing at all came back


# -- matching: normalized symbols, also_in ------------------------------------------------------------
def _qset(questions: list[Question]) -> QuestionSet:
    return QuestionSet(name="t", questions=questions, info={"questions": len(questions)})


def test_symbols_are_matched_normalized():
    q = Question("q1", "which date", [Gold("S/RES/2790 (2025)", "1", 2)], language="fr", kind="crosslingual")
    # The French version's spelling of the symbol, and a locator printed with its dot.
    searcher = FixedSearcher({"which date": [(("A/RES/79/1", "3"),), (("s/res/2790(2025)", "1."),)]})
    runs = retrieve(_qset([q]), searcher, ["hybrid"], 10, progress=False)
    assert runs["hybrid"].results["q1"][1] == (para_key("S/RES/2790 (2025)", "1"),)
    figures = score_runs(_qset([q]), runs)["hybrid"]
    assert figures["all"]["recall@1"] == 0.0 and figures["all"]["recall@5"] == 1.0
    assert figures["all"]["mrr@10"] == 0.5
    assert figures["by_language"] == {"fr": {"n": 1, **figures["all"]}}
    assert para_key("CTOC/COP/WG.2/2013/CRP. 1", " 14 ") == para_key("ctoc/cop/wg.2/2013/crp.1", "14")


def test_a_gold_paragraph_in_also_in_is_a_hit_at_that_rank():
    gold = [Gold("A/RES/80/171", "8", 2), Gold("A/RES/79/129", "8", 2), Gold("A/RES/80/213", "20", 2)]
    q = Question("q1", "hostages ransom", gold)
    searcher = FixedSearcher({"hostages ransom": [
        (("A/RES/78/1", "2"),),
        # rank 2 shows an ungraded draft; two gold resolutions repeat it word for word
        (("A/C.6/80/L.99", "8"), ("A/RES/80/171", "8"), ("A/RES/79/129", "8")),
        (("A/RES/80/213", "20"),),
    ]})
    runs = retrieve(_qset([q]), searcher, ["bm25"], 10, progress=False)
    fig = score_runs(_qset([q]), runs)["bm25"]["all"]
    # recall@1: nothing gold at rank 1 -> 0. MRR: the rank-2 result holds gold -> 1/2.
    assert fig["recall@1"] == 0.0 and fig["mrr@10"] == 0.5
    # recall@5: the rank-2 result holds 2 of the 3 gold, rank 3 the third -> 3/3
    assert fig["recall@5"] == 1.0
    # The scored run: x, then the two gold members of result 2, then result 3
    run = M.scored_run(runs["bm25"].results, {"q1": {g.key: 2 for g in gold}})["q1"]
    assert list(run) == [para_key("A/RES/78/1", "2"), gold[0].key, gold[1].key, gold[2].key]
    # Cut after 2 results, both gold members of result 2 count at once: recall@2 = 2/3.
    assert M.recall_curve({"q1": {g.key: 2 for g in gold}}, runs["bm25"].results, [2])[2] == pytest.approx(2 / 3)


def test_dev_question_file_is_read(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"id": "d1", "query": "q", "language": "en", "kind": "keyword", "collection": "hr",
                                "relevant": [{"symbol": "A/79/520", "para": "144", "grade": 2}],
                                "answer_keywords": ["x"]}) + "\n\n")
    qs = load_questions(path)
    assert qs.name == "q" and qs.qrels() == {"d1": {"a/79/520#144": 2}} and qs.groups("kind") == {"d1": "keyword"}


# -- BEIR -------------------------------------------------------------------------------------------------
def _write_beir(folder: Path, name_corpus: list[tuple[str, str, str]], queries: list[tuple[str, str]],
                qrels: list[tuple[str, str, int]]) -> Path:
    (folder / "qrels").mkdir(parents=True)
    with open(folder / "corpus.jsonl", "w") as f:
        for _id, title, text in name_corpus:
            f.write(json.dumps({"_id": _id, "title": title, "text": text}) + "\n")
    with open(folder / "queries.jsonl", "w") as f:
        for _id, text in queries:
            f.write(json.dumps({"_id": _id, "text": text}) + "\n")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n"
                                               + "".join(f"{q}\t{d}\t{s}\n" for q, d, s in qrels))
    return folder


@pytest.fixture
def tiny_arguana(tmp_path) -> Path:
    """ArguAna-like: each query is also a corpus document; one gold points to a missing document."""
    corpus = [
        ("arg-1a", "zoos", "zoos keep animals in cages and cages are cruel to wild animals"),
        ("arg-1b", "zoos", "zoos protect endangered animals and breed species for release"),
        ("arg-2a", "taxes", "a sugar tax reduces obesity by making soft drinks expensive"),
        ("arg-2b", "taxes", "a sugar tax hurts poor families and does not reduce obesity"),
        ("arg-3a", "", "space exploration wastes money needed for schools on earth"),
    ]
    queries = [("arg-1a", "zoos keep animals in cages and cages are cruel to wild animals"),
               ("arg-2a", "a sugar tax reduces obesity by making soft drinks expensive"),
               ("arg-3a", "space exploration wastes money needed for schools on earth"),
               ("train-9", "a query of another split")]
    qrels = [("arg-1a", "arg-1b", 1), ("arg-2a", "arg-2b", 1), ("arg-3a", "arg-3b", 1)]  # arg-3b is missing
    return _write_beir(tmp_path / "arguana", corpus, queries, qrels)


def test_beir_loads_only_the_split_queries_and_keeps_missing_gold(tiny_arguana):
    from eval.beir import load_beir

    qs = load_beir(tiny_arguana)
    assert [q.id for q in qs.questions] == ["arg-1a", "arg-2a", "arg-3a"]  # train-9 is not in qrels/test.tsv
    assert qs.ignore_identical_ids  # ArguAna: by name, as BEIR does
    assert qs.info["gold_missing_from_corpus"] == 1 and any("missing" in n for n in qs.notes)
    assert qs.qrels()["arg-3a"] == {"arg-3b#1": 1}
    dropped = load_beir(tiny_arguana, drop_missing=True)
    assert [q.id for q in dropped.questions] == ["arg-1a", "arg-2a"]


def test_beir_self_hits_are_dropped_before_scoring(tiny_arguana, tmp_path):
    from eval.beir import corpus_documents, ensure_index, load_beir
    from eval.retrieve import EngineSearcher
    from service.index import LoadedIndex
    from service.search import SearchEngine

    docs, _ = corpus_documents(tiny_arguana)
    assert docs[0][0].paragraphs[0].text == "zoos. zoos keep animals in cages and cages are cruel to wild animals"
    assert docs[4][0].paragraphs[0].text.startswith("space exploration")  # no title, no leading dot
    enc = HashEncoder()
    index_dir = ensure_index(tiny_arguana, encoder=enc, cache=tmp_path / "cache", progress=False)
    assert index_dir == tmp_path / "cache" / "arguana-hash-bow"
    generation = (index_dir / "CURRENT").read_text()
    assert ensure_index(tiny_arguana, encoder=enc, cache=tmp_path / "cache", progress=False) == index_dir
    assert (index_dir / "CURRENT").read_text() == generation  # cached, not rebuilt
    engine = SearchEngine(LoadedIndex(index_dir), enc)

    qs = load_beir(tiny_arguana)
    runs = retrieve(qs, EngineSearcher(engine, collapse=False), ["bm25", "dense"], 2, progress=False)
    for mode, run in runs.items():
        for q in qs.questions:
            # Each query is word for word its own document: it would be first, and is gone.
            assert all(not slot[0].startswith(q.id + "#") for slot in run.results[q.id]), mode
            assert len(run.results[q.id]) <= 2
        assert run.self_hits_dropped == 3
    fig = score_runs(qs, runs)["bm25"]["all"]
    # arg-1a and arg-2a find their counter-argument first (same words); arg-3a's gold is missing: 0.
    assert fig["mrr@10"] == pytest.approx(2 / 3)
    kept = load_beir(tiny_arguana, ignore_identical_ids=False)
    runs = retrieve(kept, EngineSearcher(engine, collapse=False), ["bm25"], 2, progress=False)
    assert runs["bm25"].results["arg-1a"][0] == ("arg-1a#1",)


def test_scifact_like_split_filtering(tmp_path):
    from eval.beir import load_beir

    folder = _write_beir(tmp_path / "scifact", [("10", "T", "x"), ("11", "U", "y")],
                         [("1", "claim one"), ("2", "claim two"), ("3", "train claim")],
                         [("1", "10", 1), ("2", "11", 1)])
    (folder / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\n3\t10\t1\n")
    test = load_beir(folder)
    assert [q.id for q in test.questions] == ["1", "2"] and not test.ignore_identical_ids
    assert [q.id for q in load_beir(folder, split="train").questions] == ["3"]


# -- the command: outputs, HTTP, --compare ------------------------------------------------------------
def use_hash_encoder(monkeypatch) -> None:
    """The command's engines (service.engine.load_engine) and BEIR index builds get the hashing encoder."""
    monkeypatch.setattr("service.engine.load_encoder", lambda model=None, backend=None: HashEncoder())
    monkeypatch.setattr("indexer.build.load_encoders", lambda spec=None, backend=None: [HashEncoder()])


@pytest.fixture
def patched_encoder(monkeypatch):
    use_hash_encoder(monkeypatch)


def test_command_writes_every_output_and_compare_fails_on_a_worse_run(tiny_arguana, tmp_path, patched_encoder,
                                                                      capsys):
    from eval.cli import main

    out = tmp_path / "out"
    args = ["--beir", str(tiny_arguana), "--cache-dir", str(tmp_path / "cache"), "--out", str(out), "--quiet",
            "-k", "10"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "| arguana | parasearch hybrid " in printed and "ref: all-MiniLM-L6-v2 dense (MTEB)" in printed
    results = json.loads((out / "results.json").read_text())
    assert set(results["sets"]["arguana"]["modes"]) == {"bm25", "dense", "hybrid"}
    assert "recall@100" not in results["metrics"]  # 10 results deep cannot measure it
    trec = (out / "arguana.bm25.trec").read_text().splitlines()
    assert trec[0].split()[:4] == ["arg-1a", "Q0", "arg-1b", "1"]
    assert (out / "recall.png").stat().st_size > 10_000 and (out / "report.md").is_file()

    # Same figures again: no regression. A better old run: regression, exit 1.
    assert main(["--results", str(out / "results.json"), "--compare", str(out / "results.json")]) == 0
    better = json.loads((out / "results.json").read_text())
    better["sets"]["arguana"]["modes"]["hybrid"]["all"]["ndcg@10"] += 0.02
    (tmp_path / "better.json").write_text(json.dumps(better))
    assert main(["--results", str(out / "results.json"), "--compare", str(tmp_path / "better.json")]) == 1
    assert "REGRESSION" in capsys.readouterr().out
    # Within the tolerance: passes.
    assert main(["--results", str(out / "results.json"), "--compare", str(tmp_path / "better.json"),
                 "--tolerance", "0.05"]) == 0


def test_http_scores_what_the_service_returns(tiny_arguana, tmp_path):
    from eval.beir import ensure_index, load_beir
    from eval.retrieve import EngineSearcher, HttpSearcher
    from service.app import create_app
    from service.index import LoadedIndex
    from service.search import SearchEngine
    from tests.conftest import LiveServer

    enc = HashEncoder()
    engine = SearchEngine(LoadedIndex(ensure_index(tiny_arguana, encoder=enc, cache=tmp_path / "c",
                                                   progress=False)), enc)
    qs = load_beir(tiny_arguana)
    local = retrieve(qs, EngineSearcher(engine, collapse=False), ["hybrid"], 3, progress=False)
    with LiveServer(create_app(engine=engine)) as server:
        http = HttpSearcher(server.url, collapse=False)
        remote = retrieve(qs, http, ["hybrid"], 3, progress=False)
        http.close()
    assert remote["hybrid"].results == local["hybrid"].results


def test_answers_are_scored_by_keywords_and_cited_gold():
    from eval.answers import score_answers

    q1 = Question("q1", "when", [Gold("A/RES/80/115", "1", 2)], answer_keywords=["2027", "Legal Literacy"])
    q2 = Question("q2", "who", [Gold("A/79/520", "144", 2)], answer_keywords=["Rapporteur"])

    def answer(question: str) -> dict:
        if question == "when":
            return {"answer": "The year 2027.", "sentences": [{"text": "The year 2027.", "citations": [
                {"symbol": "a/res/80/115", "para": "1"}, {"symbol": "A/80/L.24", "para": "1"}]}]}
        return {"answer": "The special rapporteur.", "sentences": []}

    got = score_answers(_qset([q1, q2]), answer, progress=False)
    # keyword share: q1 1/2 ("2027" yes, "Legal Literacy" no), q2 1/1 (case folded) -> 0.75
    assert got["keyword_share"] == pytest.approx(0.75)
    # citations: q1 cites 2, one gold -> 0.5; q2 cites nothing (uncited, left out of the mean)
    assert got["citation_precision"] == pytest.approx(0.5) and got["uncited"] == 1


def test_fusion_study_engine_row_reproduces_the_engine_hybrid(tiny_arguana, tmp_path):
    from eval import fusion
    from eval.beir import ensure_index, load_beir
    from eval.retrieve import EngineSearcher
    from service.index import LoadedIndex
    from service.search import DENSE_WEIGHT, SearchEngine

    enc = HashEncoder()
    engine = SearchEngine(LoadedIndex(ensure_index(tiny_arguana, encoder=enc, cache=tmp_path / "c",
                                                   progress=False)), enc)
    qs = load_beir(tiny_arguana)
    lists = fusion.candidate_lists(engine, qs, 3, progress=False)
    keys = fusion.paragraph_keys(engine)
    fused = fusion.fused_results(qs, lists, keys, 3, lambda x: fusion._convex(x, DENSE_WEIGHT, "zscore"))
    engine_run = retrieve(qs, EngineSearcher(engine, collapse=False), ["hybrid"], 3, progress=False)
    assert fused == engine_run["hybrid"].results
    # Convex fusion: w = 1 is the dense order, w = 0 the BM25 order (paragraphs found by both lists first).
    one = lists["arg-1a"]
    ids, scores = fusion._convex(one, 1.0, "minmax")
    assert ids[np.argmax(scores)] == one.dense[0][0]
    ids, scores = fusion._convex(one, 0.0, "zscore")
    assert ids[np.argmax(scores)] == one.bm25[0][0]
    # A paired randomization test: identical runs -> p = 1; one-sided large gains -> small p.
    assert fusion.paired_randomization({"a": 0.5, "b": 0.2}, {"a": 0.5, "b": 0.2})["p"] == 1.0
    gains = {str(i): 0.0 for i in range(30)}
    assert fusion.paired_randomization(gains, {q: 0.5 for q in gains}, trials=2000)["p"] < 0.01


# -- evaluation fixes: TREC ids, cold query cache, filters, empty passages, outputs outside the checkout ---------
def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _beir_rows(folder: Path, corpus: list[dict], queries: list[dict], qrels: list[tuple[str, str, int]]) -> Path:
    _write_jsonl(folder / "corpus.jsonl", corpus)
    _write_jsonl(folder / "queries.jsonl", queries)
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n"
                                               + "".join(f"{q}\t{d}\t{s}\n" for q, d, s in qrels))
    return folder


def test_trec_run_files_keep_the_corpus_ids_as_written(tmp_path, patched_encoder):
    from eval.cli import main

    folder = _beir_rows(tmp_path / "squad-mini", [
        {"_id": "Super_Bowl_50_0", "title": "Super Bowl 50", "text": "Denver Broncos defeated Carolina Panthers"},
        {"_id": "Normans_3", "title": "Normans", "text": "Normandy in France was named after the Normans"},
    ], [{"_id": "Q1a", "text": "which team won Super Bowl 50"}, {"_id": "Q2b", "text": "Normandy named after"}],
        [("Q1a", "Super_Bowl_50_0", 1), ("Q2b", "Normans_3", 1)])
    out = tmp_path / "out"
    assert main(["--beir", str(folder), "--cache-dir", str(tmp_path / "cache"), "--out", str(out), "--quiet",
                 "--mode", "bm25", "-k", "10"]) == 0
    lines = [line.split() for line in (out / "squad-mini.bm25.trec").read_text().splitlines()]
    assert lines[0][:4] == ["Q1a", "Q0", "Super_Bowl_50_0", "1"]
    assert {line[2] for line in lines} == {"Super_Bowl_50_0", "Normans_3"}  # not super_bowl_50_0: trec_eval matches
    assert next(line for line in lines if line[0] == "Q2b")[2] == "Normans_3"


class CountingEncoder(HashEncoder):
    def __init__(self) -> None:
        self.queries: list[str] = []

    def encode_queries(self, texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        self.queries += texts
        return super().encode_queries(texts, batch_size=batch_size)


def test_each_mode_pays_for_encoding_its_query(tiny_arguana, tmp_path):
    from eval.beir import ensure_index, load_beir
    from eval.retrieve import EngineSearcher
    from service.index import LoadedIndex
    from service.search import SearchEngine

    enc = CountingEncoder()
    engine = SearchEngine(LoadedIndex(ensure_index(tiny_arguana, encoder=enc, cache=tmp_path / "c",
                                                   progress=False)), enc, None)
    qs = load_beir(tiny_arguana)
    searcher = EngineSearcher(engine, collapse=False)
    retrieve(qs, searcher, ["dense", "hybrid"], 3, progress=False)
    # Dense and hybrid each encode every question: dense does not warm the cache for hybrid.
    assert len(enc.queries) == 2 * len(qs.questions)
    assert sorted(enc.queries) == sorted(2 * [q.query for q in qs.questions])
    enc.queries.clear()
    retrieve(qs, searcher, ["dense", "hybrid"], 3, progress=False, cold=False)  # warm: what the fix undoes
    assert len(enc.queries) <= len(qs.questions)


@pytest.fixture
def tiny_policies(tmp_path) -> Path:
    """PolicyQA-like: two policies with look-alike sections; each query names its policy in its metadata."""
    corpus = [
        {"_id": "Acme/collect", "title": "Acme", "text": "we collect your email address and location data",
         "metadata": {"type": "privacy"}},
        {"_id": "Acme/share", "title": "Acme", "text": "we share data with advertising partners"},
        {"_id": "Bolt/collect", "title": "Bolt", "text": "we collect your email address and location data daily",
         "metadata": {"type": "terms"}},
        {"_id": "Bolt/share", "title": "Bolt", "text": "we never share data with advertising partners"},
    ]
    queries = [{"_id": "q1", "text": "collect email address location data", "metadata": {"policy": "Acme"}},
               {"_id": "q2", "text": "collect email address location data", "metadata": {"policy": "Bolt"}},
               {"_id": "q3", "text": "share data with advertising partners", "policy": "Acme"}]
    return _beir_rows(tmp_path / "policies", corpus, queries,
                      [("q1", "Acme/collect", 1), ("q2", "Bolt/collect", 1), ("q3", "Acme/share", 1)])


def test_query_filter_limits_each_query_to_its_documents(tiny_policies, tmp_path, patched_encoder):
    from eval.beir import load_beir
    from eval.cli import main

    qs = load_beir(tiny_policies, filter_fields={"symbol": "policy"})
    assert {q.id: q.filters for q in qs.questions} == {"q1": {"symbol": ["Acme"]}, "q2": {"symbol": ["Bolt"]},
                                                       "q3": {"symbol": ["Acme"]}}
    assert any("limited per query" in n for n in qs.notes)
    out = tmp_path / "out"
    base = ["--beir", str(tiny_policies), "--cache-dir", str(tmp_path / "cache"), "--quiet", "-k", "10",
            "--mode", "bm25", "--mode", "dense"]
    assert main([*base, "--out", str(out), "--query-filter", "symbol=policy"]) == 0
    results = json.loads((out / "results.json").read_text())
    entry = results["sets"]["policies"]
    assert entry["query_filters"] == {"symbol": "policy"}
    for mode in ("bm25", "dense"):
        assert entry["modes"][mode]["all"]["recall@1"] == 1.0, mode  # q1 and q2 alike: only the filter tells
    for line in (out / "policies.bm25.trec").read_text().splitlines():
        qid, _, doc = line.split()[:3]
        assert doc.startswith({"q1": "Acme/", "q2": "Bolt/", "q3": "Acme/"}[qid])


def test_filter_limits_every_query(tiny_policies, tmp_path, patched_encoder, capsys):
    from eval.cli import main

    out = tmp_path / "out"
    base = ["--beir", str(tiny_policies), "--cache-dir", str(tmp_path / "cache"), "--quiet", "-k", "10",
            "--mode", "bm25"]
    assert main([*base, "--out", str(out), "--filter", "symbol=Bolt"]) == 0
    docs = {line.split()[2] for line in (out / "policies.bm25.trec").read_text().splitlines()}
    assert docs and all(d.startswith("Bolt/") for d in docs)
    # A record's metadata gives its document a type, which --filter selects on.
    assert main([*base, "--out", str(out), "--filter", "type=privacy"]) == 0
    assert {line.split()[2] for line in (out / "policies.bm25.trec").read_text().splitlines()} == {"Acme/collect"}
    assert json.loads((out / "results.json").read_text())["sets"]["policies"]["filters"] == {"type": ["privacy"]}
    # A field the engine cannot filter on is refused, and named.
    assert main([*base, "--out", str(out), "--filter", "colour=red"]) == 2
    assert "FIELD must be one of symbol" in capsys.readouterr().err


def test_empty_passages_are_warned_by_name(tmp_path, patched_encoder, capsys):
    from eval.beir import corpus_documents, load_beir
    from eval.cli import main

    folder = _beir_rows(tmp_path / "gaps", [
        {"_id": "d1", "title": "Zoos", "text": "zoos keep animals"},
        {"_id": "d2", "title": "", "text": "   "},
        {"_id": "d3", "text": ""},
    ], [{"_id": "q1", "text": "zoos"}], [("q1", "d1", 1)])
    qs = load_beir(folder)
    assert qs.info["empty_passages"] == 2
    assert qs.warnings == [n for n in qs.notes if "empty text" in n]
    assert "2 of 3 gaps corpus records have empty text" in qs.warnings[0] and "'d2', 'd3'" in qs.warnings[0]
    _, notes = corpus_documents(folder)
    assert any("'d2', 'd3'" in n for n in notes)
    assert main(["--beir", str(folder), "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out"),
                 "--quiet", "--mode", "bm25", "-k", "10"]) == 0
    assert "warning: 2 of 3 gaps corpus records have empty text" in capsys.readouterr().err


def test_outputs_go_to_the_cache_outside_the_checkout(tiny_arguana, tmp_path, monkeypatch, patched_encoder):
    from eval.cli import main
    from parasearch.config import REPO_ROOT

    monkeypatch.setenv("PARASEARCH_EVAL_CACHE", str(tmp_path / "evalcache"))
    monkeypatch.chdir(tmp_path)
    before = {p for p in (REPO_ROOT / "eval").rglob("*") if "__pycache__" not in p.parts}
    assert main(["--beir", str(tiny_arguana), "--quiet", "--mode", "bm25", "-k", "10"]) == 0
    assert (tmp_path / "evalcache" / "out" / "arguana" / "results.json").is_file()
    assert any((tmp_path / "evalcache" / "beir").glob("arguana-*/CURRENT"))
    assert {p for p in (REPO_ROOT / "eval").rglob("*") if "__pycache__" not in p.parts} == before
