"""parasearch.types: the locator and symbol rules every citation goes through."""

from __future__ import annotations

import pytest

from parasearch.types import (
    citation,
    language_order,
    locator_label,
    normalize_symbol,
    normalize_text,
    year_from_symbol,
)


@pytest.mark.parametrize(("para", "label"), [
    ("14", "para. 14"),
    ("preamble-3", "preamble, para. 3"),
    ("annex-5", "annex, para. 5"),
    ("annex-II-5", "annex II, para. 5"),
    ("annex-A-2b", "annex A, para. 2b"),
    ("sect-II-4", "section II, para. 4"),
    ("sect-B.II-4", "section B.II, para. 4"),
    ("u-0-2", "introduction, unnumbered para. 2"),
    ("u-3-2", "section 3, unnumbered para. 2"),
])
def test_locator_labels(para: str, label: str) -> None:
    assert locator_label(para) == label


def test_citation_is_symbol_then_locator() -> None:
    assert citation("CTOC/COP/WG.2/2013/5", "14") == "CTOC/COP/WG.2/2013/5, para. 14"
    assert citation("S/RES/2672 (2023)", "preamble-1") == "S/RES/2672 (2023), preamble, para. 1"


def test_symbols_compare_whatever_their_case_spacing_and_width() -> None:
    assert normalize_symbol("S/RES/2672 (2023)") == normalize_symbol("s/res/2672(2023)") == "s/res/2672(2023)"
    assert normalize_symbol("CTOC/COP/WG.2/2013/CRP. 1") == "ctoc/cop/wg.2/2013/crp.1"
    assert normalize_symbol("Ａ/ＲＥＳ/７９/１９１") == "a/res/79/191"  # full-width, as typed with a CJK keyboard
    assert normalize_symbol("A/RES/79/191") != normalize_symbol("A/RES/79/19")


@pytest.mark.parametrize(("symbol", "year"), [
    ("A/HRC/40/59", 2019),  # Human Rights Council, three sessions a year since June 2006
    ("A/HRC/1/1", 2006),
    ("A/65/162", 2010),  # General Assembly, 65th session
    ("E/CN.4/2001/66", 2001),
    ("S/RES/2672 (2023)", None),
    ("CTOC/COP/WG.2/2013/5", None),
])
def test_year_from_symbol(symbol: str, year: int | None) -> None:
    assert year_from_symbol(symbol) == year


def test_the_same_paragraph_repeated_has_one_text_key() -> None:
    a = "Decides to remain seized of the matter."
    b = "  decides to remain  seized of the “matter”"
    assert normalize_text(a) == normalize_text(b) == "decides to remain seized of the matter"
    assert normalize_text(a) != normalize_text("Decides to remain actively seized of the matter.")


def test_language_versions_in_the_un_order() -> None:
    assert sorted(["fr", "de", "en", "zh", "ar", "es", "ru"], key=language_order) == \
        ["ar", "zh", "en", "fr", "ru", "es", "de"]
