"""service.language: the script a query is written in, and whether the index holds any language written in it."""

from __future__ import annotations

import pytest

from service.language import SCRIPT_LANGUAGE_NAMES, script_of, unindexed_script


@pytest.mark.parametrize(("text", "script"), [
    ("安理会关于塞浦路斯的决议", "Han"),
    ("UNAMA 阿富汗", "Han"),  # a Han character weighs about a word
    ("Security Council 安理会", "Latin"),
    ("S/RES/2672 (2023) 安理会", "Han"),  # symbols are written alike in every language: not counted
    ("مجلس الأمن", "Arabic"),
    ("مَجْلِسُ الأمْنِ", "Arabic"),
    ("Совет Безопасности", "Cyrillic"),
    ("Conseil de sécurité", "Latin"),
    ("Việt Nam", "Latin"),
    ("A/RES/79/191 para 59", "Latin"),
    ("S/RES/2672 (2023)", None),  # no word but symbols and numbers
    ("", None),
    ("Ελλάδα", None),  # another script
])
def test_script_of(text, script):
    assert script_of(text) == script


def test_unindexed_script_names_a_script_no_indexed_language_is_written_in():
    english_french = ["en", "fr"]
    assert unindexed_script("安理会的决定", english_french) == "Han"
    assert SCRIPT_LANGUAGE_NAMES["Han"] == "Chinese"
    assert unindexed_script("مجلس الأمن", english_french) == "Arabic"
    assert unindexed_script("Совет Безопасности", english_french) == "Cyrillic"
    assert unindexed_script("Security Council", english_french) is None
    assert unindexed_script("Consejo de Seguridad", english_french) is None  # Spanish: the same script
    assert unindexed_script("安理会的决定", ["en", "zh"]) is None
    assert unindexed_script("Security Council", ["zh", "ru"]) == "Latin"
    assert unindexed_script("Совет Безопасности", ["uk"]) is None  # Ukrainian is Cyrillic too
    # nothing to say: symbols only, no languages, or a language whose script is unknown
    assert unindexed_script("S/RES/2672 (2023)", ["zh"]) is None
    assert unindexed_script("安理会的决定", []) is None
    assert unindexed_script("安理会的决定", ["en", "xx"]) is None
    assert unindexed_script("安理会的决定", ["EN", "fr-CA"]) == "Han"
