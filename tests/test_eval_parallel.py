"""``parasearch eval``: results by query language, and parallel-paragraph retrieval (``--parallel``).

A tiny index of four real Security Council resolutions in English (from ../shared, skipped when absent),
built with the hashing encoder of tests/test_eval.py, so no model is loaded. The French and Spanish versions
of the same resolutions are the queries.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from eval import parallel as P
from tests.conftest import shared_path
from tests.test_eval import HashEncoder, use_hash_encoder

RESOLUTIONS = ["SC_2561_2021", "SC_2562_2021", "SC_2563_2021", "SC_2564_2021"]
SUFFIX = {"en": "E", "fr": "F", "es": "S"}


@pytest.fixture(scope="module")
def sc_tiny(tmp_path_factory) -> tuple[Path, Path]:
    """(folder with en/, fr/, es/ copies of four resolutions, index of the English ones)."""
    from indexer.build import build_index

    root = tmp_path_factory.mktemp("sc") / "sc"
    for lang, suffix in SUFFIX.items():
        (root / lang).mkdir(parents=True)
        for name in RESOLUTIONS:
            shutil.copy(shared_path(f"sc/{lang}/{name}-{suffix}.xml"), root / lang)
    index = root.parent / "index"
    report = build_index([root / "en"], index, encoder=HashEncoder(), progress=False)
    assert report.published and report.documents == len(RESOLUTIONS), report.summary()
    return root, index


@pytest.fixture
def hash_engines(monkeypatch):
    use_hash_encoder(monkeypatch)


def _engine(index: Path):
    from service.index import LoadedIndex
    from service.search import SearchEngine

    return SearchEngine(LoadedIndex(index), HashEncoder())


# -- per-language rows for question files -----------------------------------------------------------
def test_question_file_is_reported_by_language(sc_tiny, hash_engines, tmp_path, capsys):
    from eval.cli import main

    _, index = sc_tiny
    questions = [
        {"id": "e1", "query": "full support for UNFICYP, extend its mandate", "language": "en",
         "kind": "keyword", "relevant": [{"symbol": "S/RES/2561 (2021)", "para": "9"}]},
        {"id": "e2", "query": "remain seized of the matter", "language": "en", "kind": "keyword",
         "relevant": [{"symbol": "S/RES/2561 (2021)", "para": "18"}]},
        {"id": "f1", "query": "Décide de rester saisi de la question", "language": "fr", "kind": "crosslingual",
         "relevant": [{"symbol": "S/RES/2561 (2021)", "para": "18"}]},
    ]
    path = tmp_path / "two_languages.jsonl"
    path.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in questions), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["--index", str(index), "--questions", str(path), "--out", str(out), "--quiet", "-k", "10"]) == 0
    printed = capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    for mode, figures in results["sets"]["two_languages"]["modes"].items():
        by_language = figures["by_language"]
        assert set(by_language) == {"en", "fr"}, mode
        assert by_language["en"]["n"] == 2 and by_language["fr"]["n"] == 1
        for lang in ("en", "fr"):
            assert {"ndcg@10", "recall@1", "recall@10", "mrr@10"} <= set(by_language[lang])
        # The mean over all questions is the questions' mean, whichever group they are in.
        assert figures["all"]["recall@10"] == pytest.approx(
            (2 * by_language["en"]["recall@10"] + by_language["fr"]["recall@10"]) / 3)
    report = (out / "report.md").read_text()
    assert report in printed
    table = report.split("two_languages, by language:")[1].split("\n\n")[1]
    header, _, *rows = table.splitlines()
    assert "R@1 hybrid" in header and "nDCG@10 bm25" in header and "MRR@10 dense" in header
    assert [r.split("|")[1].strip() for r in rows] == ["en", "fr"]
    assert [r.split("|")[2].strip() for r in rows] == ["2", "1"]
    # BM25 finds e1's paragraph from its words.
    per_q = results["sets"]["two_languages"]["modes"]["bm25"]["per_question"]
    assert per_q["e1"]["recall@10"] == 1.0
    assert "questions_by_language" not in results  # one file: its own table says it all

    # Two files: their questions together, by language, as well.
    more = tmp_path / "fr_only.jsonl"
    more.write_text(json.dumps({"id": "f1", "query": "Exprime son plein appui à l’UNFICYP", "language": "fr",
                                "relevant": [{"symbol": "S/RES/2561 (2021)", "para": "9"}]}) + "\n")
    assert main(["--index", str(index), "--questions", str(path), "--questions", str(more), "--out", str(out),
                 "--quiet", "-k", "10"]) == 0
    results = json.loads((out / "results.json").read_text())
    pooled = results["questions_by_language"]
    assert pooled["sets"] == ["two_languages", "fr_only"]
    for mode, groups in pooled["modes"].items():
        assert {g: v["n"] for g, v in groups.items()} == {"en": 2, "fr": 2}
        fr = [results["sets"]["two_languages"]["modes"][mode]["per_question"]["f1"]["ndcg@10"],
              results["sets"]["fr_only"]["modes"][mode]["per_question"]["f1"]["ndcg@10"]]
        assert groups["fr"]["ndcg@10"] == pytest.approx(sum(fr) / 2)  # same id in two files: two questions
    report = (out / "report.md").read_text()
    assert "All question files (two_languages, fr_only), by language:" in report


# -- parallel paragraphs -------------------------------------------------------------------------------
def test_parallel_french_queries_find_the_english_paragraphs(sc_tiny, hash_engines, tmp_path, capsys):
    from eval.cli import main

    root, index = sc_tiny
    out = tmp_path / "out"
    assert main(["--index", str(index), "--parallel", str(root), "--parallel-languages", "fr",
                 "--out", str(out), "--quiet", "-k", "10"]) == 0
    printed = capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    assert list(results["sets"]) == ["sc-parallel-en"] and results["name"] == "sc-parallel-en"
    s = results["sets"]["sc-parallel-en"]
    assert s["kind"] == "parallel" and s["parallel"]["target"] == "en"
    stats = s["parallel"]["languages"]["fr"]
    # Every French paragraph of the four resolutions has its English version in the index (same numbering).
    assert stats["files"] == 4 and stats["paragraphs"] == stats["in_target"] == stats["questions"] > 50
    assert s["info"]["questions"] == stats["questions"]
    assert s["parallel"]["query_embedding"]["batched"]
    assert set(s["modes"]) == {"bm25", "dense", "hybrid"}
    for mode, figures in s["modes"].items():
        assert set(figures["by_language"]) == {"fr"} and figures["by_language"]["fr"]["n"] == stats["questions"]
        assert set(figures["by_kind"]) >= {"preamble", "numbered"}
        for metric in ("recall@1", "recall@10", "ndcg@10", "mrr@10"):
            lenient, strict = figures["all"][metric], figures["strict"]["all"][metric]
            assert 0.0 <= strict <= lenient <= 1.0, (mode, metric)
            assert figures["by_language"]["fr"][metric] == pytest.approx(lenient)
        assert figures["all"]["recall@1"] <= figures["all"]["recall@10"]
        assert (out / f"sc-parallel-en.{mode}.trec").is_file()
    # French and English share names, numbers and many words: BM25 and hybrid find most paragraphs.
    assert s["modes"]["hybrid"]["all"]["recall@10"] > 0.3
    assert s["modes"]["bm25"]["all"]["recall@10"] > 0.5
    assert "| fr → en " in printed and "strict R@1" in printed and "| all → en " in printed
    assert "fr:" in "".join(s["modes"]["hybrid"]["per_question"])


def test_parallel_draw_is_deterministic_paired_and_limited(sc_tiny):
    root, index = sc_tiny
    target = P.target_paragraphs(_engine(index).index, "en")
    assert target.documents == 4 and len(target.text_key) > 50
    a = P.build_set(root, target, ["fr", "es"], limit=10, seed=7)
    b = P.build_set(root, target, ["fr", "es"], limit=10, seed=7)
    ids = [q.id for q in a.qset.questions]
    assert ids == [q.id for q in b.qset.questions] and len(ids) == 20
    fr = {i.split(":", 1)[1] for i in ids if i.startswith("fr:")}
    es = {i.split(":", 1)[1] for i in ids if i.startswith("es:")}
    assert len(fr) == len(es) == 10
    assert len(fr & es) >= 8  # the same paragraphs in both languages (both versions number them alike)
    other = P.build_set(root, target, ["fr"], limit=10, seed=8)
    assert {q.id for q in other.qset.questions} != {i for i in ids if i.startswith("fr:")}
    q = a.qset.questions[0]
    assert q.language == "fr" and q.relevant[0].key == q.id.split(":", 1)[1] and q.kind
    # Gold text repeated in other English paragraphs: those count as equivalents (lenient).
    for qid, same in a.equivalents.items():
        key = qid.split(":", 1)[1]
        assert all(target.text_key[k] == target.text_key[key] and k != key for k in same)


def test_parallel_errors(sc_tiny, hash_engines, tmp_path, capsys):
    from eval.cli import main

    root, index = sc_tiny
    assert main(["--url", "http://127.0.0.1:9", "--parallel", str(root)]) == 2
    assert main(["--index", str(index), "--parallel", str(tmp_path / "missing"), "--quiet"]) == 2
    assert main(["--index", str(index), "--parallel", str(root), "--parallel-target", "ru", "--quiet"]) == 2
    assert "no paragraph in 'ru'" in capsys.readouterr().err


def test_lenient_and_strict_counting():
    gold = {"q": "s/res/1(2020)#5"}
    same = {"q": ["s/res/2(2021)#3"]}  # the same text in another resolution
    results = {"q": [("s/res/9(2022)#1",), ("s/res/2(2021)#3", "s/res/1(2020)#5"), ("s/res/4(2020)#2",)]}
    assert P.lenient_results(results, gold, same)["q"][1] == ("s/res/1(2020)#5", "s/res/1(2020)#5")
    assert P.strict_results(results)["q"] == [("s/res/9(2022)#1",), ("s/res/2(2021)#3",), ("s/res/4(2020)#2",)]
    from eval import metrics as M

    qrels = {"q": {gold["q"]: 1}}
    lenient = M.summarize(M.per_question(qrels, P.lenient_results(results, gold, same)))
    strict = M.summarize(M.per_question(qrels, P.strict_results(results)))
    assert lenient["mrr@10"] == 0.5 and lenient["recall@10"] == 1.0
    assert strict["mrr@10"] == 0.0 and strict["recall@10"] == 0.0
    # A repeat shown first counts leniently at rank 1.
    shown_first = {"q": [("s/res/2(2021)#3",)]}
    assert M.summarize(M.per_question(qrels, P.lenient_results(shown_first, gold, same)))["recall@1"] == 1.0


def test_batched_query_vectors_equal_the_engines_own(sc_tiny):
    """SearchEngine.embed_queries (one encoder call) gives what embed_query gives one by one, and caches them."""
    from service.index import LoadedIndex
    from service.search import SearchEngine

    engine = SearchEngine(LoadedIndex(sc_tiny[1]), HashEncoder())
    queries = ["sanctions on Libya", "Décide de proroger le mandat", "sanctions on Libya"]
    engine.embed_queries(queries)
    assert set(queries) <= engine.cached_queries()
    batched = np.stack([engine.embed_query(q) for q in queries])
    fresh = SearchEngine(LoadedIndex(sc_tiny[1]), HashEncoder())
    assert np.allclose(batched, np.stack([fresh.embed_query(q) for q in queries]))
