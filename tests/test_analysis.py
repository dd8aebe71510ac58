"""Lexical analysis for BM25 and snippets: symbols kept whole, each language stemmed as itself."""

from __future__ import annotations

import pytest

from parasearch.analysis import terms, word_spans


def test_symbols_and_references_survive_whole():
    out = terms("See A/RES/79/191, para. 59, and CTOC/COP/WG.2/2013/5")
    assert {"a/res/79/191", "79", "191", "ctoc/cop/wg.2/2013/5", "wg", "2"} <= set(out)


@pytest.mark.parametrize(("language", "text", "same_as", "stop"), [
    ("en", "The Council requested reports", "the council requests a report", {"the"}),
    ("fr", "Le Conseil a demandé des rapports", "le conseil demande un rapport", {"le", "des"}),
    ("es", "El Consejo solicitó los informes", "el consejo solicita un informe", {"el", "los"}),
    ("ru", "Совет Безопасности просил доклады", "совет безопасности просит доклад", set()),
])
def test_each_language_is_stemmed_as_itself(language, text, same_as, stop):
    # inflected forms meet, and the language's own stop words are not terms
    a, b = terms(text, language), terms(same_as, language)
    assert set(b) <= set(a) or set(a) <= set(b), (a, b)
    assert not stop & set(a)


def test_french_is_not_stemmed_as_english():
    assert terms("demandées", "fr") == terms("demande", "fr")
    assert terms("demandées", "en") != terms("demande", "en")


def test_unknown_language_is_split_and_lowercased_only():
    assert terms("Beschlüsse des Rates", "de") == ["beschlüsse", "des", "rates"]


def test_word_spans_use_the_same_stems():
    text = "Le Conseil demande une pause humanitaire"
    stems = {stem for _, _, stem in word_spans(text, "fr")}
    assert set(terms("demandées humanitaires", "fr")) <= stems


@pytest.mark.parametrize(("symbol", "year"), [
    ("A/HRC/40/59", 2019),  # Human Rights Council, 40th session
    ("A/HRC/10/44", 2009),
    ("A/65/162", 2010),  # General Assembly, 65th session
    ("E/CN.4/2001/66", 2001),
    ("A/RES/79/191", None),  # resolutions carry their own dates
    ("S/RES/2672 (2023)", None),
    ("CTOC/COP/WG.2/2013/5", None),
])
def test_year_from_symbol(symbol, year):
    from parasearch.types import year_from_symbol

    assert year_from_symbol(symbol) == year
