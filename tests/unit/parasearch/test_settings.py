"""One typed Settings object for every PARASEARCH_* variable, documented in a generated table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from parasearch.settings import PREFIX, InvalidSetting, Mode, Settings, markdown_table, settings

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("parasearch", "indexer", "service", "eval")


def test_defaults_and_types(monkeypatch):
    for name in Settings.model_fields:
        monkeypatch.delenv(PREFIX + name.upper(), raising=False)
    s = settings()
    assert s.answer_rate == 60.0 and s.answer_burst == 30 and s.keep_generations == 3 and s.llm_url == ""
    monkeypatch.setenv("PARASEARCH_ANSWER_RATE", "12")
    monkeypatch.setenv("PARASEARCH_KEEP_GENERATIONS", "")  # blank: unset
    s = settings()
    assert s.answer_rate == 12.0 and s.keep_generations == 3


def test_a_wrong_value_names_its_variable(monkeypatch):
    monkeypatch.setenv("PARASEARCH_ANSWER_RATE", "fast")
    with pytest.raises(InvalidSetting, match=r"^PARASEARCH_ANSWER_RATE must be a number, got 'fast'$"):
        settings()
    monkeypatch.setenv("PARASEARCH_ANSWER_RATE", "-1")
    with pytest.raises(ValueError, match="PARASEARCH_ANSWER_RATE"):
        settings()


def test_requiring_a_key_fails_closed(monkeypatch):
    for value, required in (("", False), ("0", False), ("off", False), ("1", True), ("yes", True), ("maybe", True)):
        monkeypatch.setenv("PARASEARCH_SEARCH_REQUIRES_KEY", value)
        assert settings().search_requires_key is required, value


def test_modes():
    assert [m.value for m in Mode] == ["hybrid", "dense", "bm25"] and Mode("dense") == "dense"


def test_the_documented_table_is_current():
    assert (ROOT / "docs" / "configuration.md").read_text() == markdown_table(), (
        "docs/configuration.md is out of date: python -m parasearch.settings > docs/configuration.md")


def test_every_variable_the_code_names_is_a_setting_and_read_only_through_it():
    known = {PREFIX + name.upper() for name in Settings.model_fields}
    named: set[str] = set()
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            text = path.read_text()
            named |= {m for m in re.findall(r"PARASEARCH_[A-Z0-9_]*[A-Z0-9]", text)}
            if path.name != "settings.py":
                assert not re.search(r"environ(?:\.get)?[\[(]\s*['\"]PARASEARCH_", text), (
                    f"{path.relative_to(ROOT)} reads a PARASEARCH_ variable itself: use parasearch.settings")
    # "PARASEARCH_LLM_*"-style mentions in prose name a family, not a variable
    assert named - known <= {"PARASEARCH_LLM"}, sorted(named - known)
