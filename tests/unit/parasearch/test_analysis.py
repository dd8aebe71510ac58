"""parasearch.analysis: the terms BM25 matches, on short texts. Symbols and numbers stay whole (and their parts
are terms too), words are stemmed in their language, Chinese is cut into characters and pairs of them."""

from __future__ import annotations

from parasearch.analysis import is_han, normalize, terms


def test_symbols_and_references_are_terms_whole_and_in_parts() -> None:
    t = terms("A/RES/79/191 para 59 of WG.2")
    assert {"a/res/79/191", "79", "191", "wg.2", "wg", "2", "59"} <= set(t)
    assert "of" not in t  # a stop word


def test_words_are_stemmed_in_their_language() -> None:
    assert terms("Working Groups on trafficking") == ["work", "group", "traffick"]
    assert terms("Décide de proroger le mandat", "fr") == ["décid", "prorog", "mandat"]
    assert terms("Decides to extend the mandate", "en") == ["decid", "extend", "mandat"]


def test_chinese_is_cut_into_characters_and_their_pairs() -> None:
    assert terms("安全理事会", "zh") == ["安", "全", "理", "事", "会", "安全", "全理", "理事", "事会"]
    assert is_han("安") and not is_han("a")


def test_marks_and_digits_are_folded() -> None:
    assert normalize("Ёлка ٢٠٢٣") == "елка 2023"  # ё as е, Arabic-Indic digits as 0-9
