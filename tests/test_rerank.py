"""The learned re-ranker, the confidence it gives, and list answers, as the service ships them."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tests.conftest import REPO, paragraph_text, shared_path

# Six resolutions renewing the mandate of the Panel of Experts on Libya (each in the paragraph given), and four
# renewing other sanctions panels' mandates in the same words: a list answer must hold the first six only.
LIBYA_RENEWALS = {
    "S/RES/2819 (2026)": ("S_RES_2819-2604048E.xml", "24"),
    "S/RES/2769 (2025)": ("S_RES_2769-2500687E.xml", "22"),
    "S/RES/2701 (2023)": ("S_RES_2701_E.xml", "17"),
    "S/RES/2644 (2022)": ("S_RES_2644 (2022)-2211043E.xml", "12"),
    "S/RES/2571 (2021)": ("SC_2571_2021-E.xml", "12"),
    "S/RES/2509 (2020)": ("S_RES_2509 (2020)-2002070E.xml", "11"),
}
OTHER_PANELS = ["S_RES_2508 (2020)-2002064E.xml", "S_RES_2511 (2020)-2002954E.xml",
                "S_RES_2521 (2020)-2007257E.xml", "S_RES_2536 (2020)-2010201E.xml"]


@pytest.fixture(scope="module")
def reranker():
    from service.rerank import default_reranker

    model = default_reranker()
    assert model is not None
    return model


@pytest.fixture(scope="module")
def ctoc_reranked(ctoc_index, encoder, reranker):
    from service.index import LoadedIndex
    from service.search import SearchEngine

    return SearchEngine(LoadedIndex(ctoc_index), encoder, reranker)


@pytest.fixture(scope="module")
def libya_engine(tmp_path_factory, encoder, reranker):
    from indexer.build import build_index
    from service.index import LoadedIndex
    from service.search import SearchEngine

    src = tmp_path_factory.mktemp("libya-src")
    for name in [f for f, _ in LIBYA_RENEWALS.values()] + OTHER_PANELS:
        shutil.copy(shared_path(f"sc/en/{name}"), src / name)
    out = tmp_path_factory.mktemp("libya") / "index"
    report = build_index([src], out, encoder=encoder, progress=False)
    assert report.published and report.documents == 10, report.summary()
    return SearchEngine(LoadedIndex(out), encoder, reranker)


def test_the_shipped_model_is_checked_at_load(tmp_path, monkeypatch):
    from service.rerank import MODEL_FILE, RERANKER_ENV, Reranker, RerankerError, default_reranker

    model = Reranker.load(MODEL_FILE)
    assert model.info["features"] == list(model.booster.feature_name())
    altered = tmp_path / "reranker.txt"
    altered.write_text(MODEL_FILE.read_text().replace("learning_rate", "learning_rate ", 1))
    shutil.copy(MODEL_FILE.with_suffix(".txt.json"), tmp_path / "reranker.txt.json")
    with pytest.raises(RerankerError, match="does not match its description"):
        Reranker.load(altered)
    monkeypatch.setenv(RERANKER_ENV, str(tmp_path / "missing.txt"))
    with pytest.raises(RerankerError, match="missing"):
        default_reranker()
    monkeypatch.setenv(RERANKER_ENV, "off")
    assert default_reranker() is None


def test_features_are_known_for_every_candidate(ctoc_reranked):
    from service.rerank import FEATURES, RERANK_DEPTH

    out = ctoc_reranked.search("protection of child witnesses and video recording", k=10, features=True)
    X = out.pool.features
    assert X.shape == (min(RERANK_DEPTH, len(out.pool.ids)), len(FEATURES))
    col = {n: i for i, n in enumerate(FEATURES)}
    # each dense model's exact cosine, for candidates only BM25 found too; English question: both models serve it
    for name in ("fused", "cos_e5", "cos_minilm", "bm25", "coverage", "position", "doc_bm25"):
        assert np.isfinite(X[:, col[name]]).all(), name
    assert ((X[:, col["coverage"]] >= 0) & (X[:, col["coverage"]] <= 1)).all()


def test_same_results_after_a_restart(ctoc_index, encoder, ctoc_reranked):
    from service.index import LoadedIndex
    from service.rerank import default_reranker
    from service.search import SearchEngine

    again = SearchEngine(LoadedIndex(ctoc_index), encoder, default_reranker())
    q = "measures to protect witnesses' family members"
    assert [h.row.para for h in again.search(q, k=10).hits] == [h.row.para for h in ctoc_reranked.search(q, k=10).hits]


def test_confidence_states(ctoc_reranked):
    from service.answer import answer_question
    from service.confidence import calibration_of, lead_probability, match_probability, result_probability, state_of

    calibration = calibration_of(ctoc_reranked)
    assert calibration is not None and 0 < calibration.not_found_below < calibration.answer_at < 1
    sure = answer_question(ctoc_reranked, "What protection measures should be available to witnesses' family "
                                          "members?")
    assert sure.found and sure.state in ("answer", "closest") and 0 <= sure.confidence["probability"] <= 1
    absent = answer_question(ctoc_reranked, "What is the recipe for a classic French onion soup?")
    assert not absent.found and absent.state == "not_found"
    # A nonsense query is not presented as ten matches: never "answer", and every result is a weak match.
    nonsense = ctoc_reranked.search("qwxz plokm zzyv", k=10)
    p = lead_probability(calibration, nonsense)
    assert p is not None and state_of(calibration, p, matched=match_probability(calibration, nonsense)) in (
        "closest", "not_found")
    assert all(result_probability(calibration, h) < calibration.weak_below for h in nonsense.hits)


def test_list_answer_renewals_newest_first(libya_engine):
    from service.answer import answer_question

    ans = answer_question(libya_engine, "Which resolutions renewed the mandate of the Panel of Experts on Libya?")
    listed = [(i.hit.row.symbol, i.hit.row.para) for i in ans.items]
    assert listed == [(symbol, para) for symbol, (_, para) in LIBYA_RENEWALS.items()], listed
    assert [i.date for i in ans.items] == sorted((i.date for i in ans.items), reverse=True)
    for item in ans.items:
        assert item.hit.row.text.startswith("Decides to extend") and "Panel of Experts" in item.hit.row.text
    # the answer's sentences rest on a Libya renewal too, never another regime's panel
    assert ans.sentences and {c.symbol for s in ans.sentences for c in s.citations} <= set(LIBYA_RENEWALS)


def test_not_a_list_question(ctoc_reranked):
    from service.answer import answer_question
    from service.lists import is_list_question

    assert is_list_question("When did the Council extend the mandate of UNSMIL?")
    assert is_list_question("Which resolutions renewed the mandate of the Panel of Experts on Libya?")
    assert not is_list_question("Which measures protect witnesses?")
    assert answer_question(ctoc_reranked, "Which measures protect witnesses' family members?").items == []


def test_api_states_and_list(libya_engine):
    import httpx

    from service.app import create_app
    from tests.conftest import LiveServer

    with LiveServer(create_app(engine=libya_engine)) as server:
        search = httpx.get(f"{server.url}/search", params={"q": "Panel of Experts Libya mandate extension"}).json()
        assert search["state"] in ("answer", "closest", "not_found") and 0 <= search["confidence"] <= 1
        assert all(0 <= r["relevance"] <= 1 and isinstance(r["weak"], bool) for r in search["results"])
        assert "rerank" in search["results"][0]["scores"]
        ans = httpx.post(f"{server.url}/answer", json={
            "question": "Which resolutions renewed the mandate of the Panel of Experts on Libya?"}, timeout=60).json()
        assert ans["state"] in ("answer", "closest") and [i["symbol"] for i in ans["items"]] == list(LIBYA_RENEWALS)
        assert all(i["url"].endswith(f"#para-{i['para']}") for i in ans["items"])
        assert ans["answer"].startswith(ans["sentences"][0]["citations"][0]["citation"] + ": ")


def test_model_description_states_its_provenance():
    import json

    from parasearch.digest import file_sha256
    from service.rerank import FEATURES, MODEL_FILE

    info = json.loads(MODEL_FILE.with_suffix(".txt.json").read_text())
    assert info["sha256"] == file_sha256(MODEL_FILE) and info["features"] == list(FEATURES)
    assert info["command"].startswith("python -m eval.train_ranker") and info["seed"] == 2026
    assert "scifact-train" in info["data"] and "dev" in info["data"]
    assert (REPO / "eval" / "train_ranker.py").is_file()


def test_a_pasted_paragraph_keeps_the_fused_order(ctoc_reranked):
    from service.search import RERANK_MAX_WORDS, query_words

    paragraph = paragraph_text(ctoc_reranked, "CTOC/COP/WG.2/2013/5", "18")
    assert query_words(paragraph) > RERANK_MAX_WORDS
    assert query_words("初学者下国际象棋最好的开局是什么？") < 10  # Chinese: a term counts a quarter
    out = ctoc_reranked.search(paragraph, k=3)
    assert out.hits[0].row.para == "18" and "rerank" not in out.hits[0].scores
    assert "rerank" in ctoc_reranked.search("protection of witnesses' families", k=3).hits[0].scores
