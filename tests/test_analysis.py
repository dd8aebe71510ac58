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


# -- version 3: Chinese, Arabic and Russian (docs/evaluation.md, "BM25 analysis in Chinese, Arabic and Russian") --

def _zh_paragraphs() -> dict[str, str]:
    from indexer.readers import read_document
    from tests.conftest import shared_path

    doc = read_document(shared_path("sc/zh/SC_2561_2021-C.xml"))  # S/RES/2561 (2021), Cyprus, in Chinese
    return {p.para: p.text for p in doc.paragraphs}


def test_chinese_is_split_into_characters_and_bigrams():
    assert terms("安理会", "zh") == ["安", "理", "会", "安理", "理会"]
    # numbers printed inside Chinese text are terms of their own; punctuation ends a run
    out = terms("回顾第2537(2020)号决议，促请", "zh")
    assert {"2537", "2020", "决议", "回顾", "促请"} <= set(out) and "号决" in out and "议促" not in out
    # Han runs are segmented whatever language the text is said to be in (a query whose language was not recognised)
    assert terms("安理会决议", "en") == terms("安理会决议", "zh") == terms("安理会决议", None)


@pytest.mark.parametrize(("query", "para"), [
    ("清除地雷", "13"),  # a phrase from the middle of a clause
    ("延长其任务期", "9"),
    ("失踪人员", "8"),
    ("军事接触机制", "5"),
    ("冠状病毒 塞浦路斯岛", "preamble-11"),  # two words, not adjacent in the paragraph
    ("地雷", "13"),
])
def test_a_chinese_query_finds_its_paragraph(query, para):
    import bm25s

    paras = _zh_paragraphs()
    ids = ["preamble-11", "5", "8", "9", "13"]
    retriever = bm25s.BM25(k1=0.9, b=0.4)
    retriever.index([terms(paras[i], "zh") for i in ids], show_progress=False)
    docs, scores = retriever.retrieve([terms(query, "zh")], k=len(ids), show_progress=False)
    assert ids[docs[0][0]] == para and scores[0][0] > scores[0][1]
    # Version 2 kept each clause whole: the same query matched nothing.
    old = bm25s.BM25(k1=0.9, b=0.4)
    old.index([terms(paras[i], "zh", version=2) for i in ids], show_progress=False)
    _, old_scores = old.retrieve([terms(query, "zh", version=2)], k=len(ids), show_progress=False)
    assert old_scores[0][0] == 0


def test_arabic_harakat_tatweel_and_digits_are_normalised():
    plain = terms("مجلس الأمن البناءة بحرية 1500", "ar")
    # harakat and shadda: the words' terms are those of the plain words, and the words as written are terms too
    marked = terms("مَجْلِسُ الأمْنِ البنّاءة بحُرية ١٥٠٠", "ar")  # and Arabic-Indic digits
    assert marked == ["مَجْلِسُ", "الأمْنِ", "البنّاءة", "بحُرية"] + plain
    assert terms("مجـــلس الأمن البنـاءة بحرية ۱۵۰۰", "ar") == plain  # tatweel, Eastern Arabic-Indic digits
    # the stemmer takes off the article and the prepositions joined to it, and normalises hamza on alef
    assert terms("المجلس", "ar") == terms("مجلس", "ar") == terms("بالمجلس", "ar")
    assert terms("الأمن", "ar") == terms("الامن", "ar") == terms("أمن", "ar")
    # Version 2 cut a word at each mark: مَجْلِس was four one-letter terms.
    assert terms("مَجْلِس", "ar", version=2) == ["م", "ج", "ل", "س"]


def test_russian_yo_and_stress_marks_are_folded():
    assert terms("приёма доклада", "ru") == terms("приема доклада", "ru") == ["прием", "доклад"]
    assert terms("при\u0301ёма докла\u0301да", "ru") == ["при\u0301ема", "докла\u0301да", "прием", "доклад"]
    assert terms("ещё всё её", "ru") == terms("еще все ее", "ru") == []  # stop words, however they are spelt
    assert terms("ещё", "ru", version=2) == ["ещ"] and terms("еще", "ru", version=2) == []


@pytest.mark.parametrize(("text", "language"), [
    ("Совет Безопасности продлил мандат", "ru"),
    ("يقرر مجلس الأمن تمديد الولاية", "ar"),
])
def test_cyrillic_and_arabic_words_are_stemmed_as_what_they_are_written_in(text, language):
    # a query whose language the service was not sure of is analysed as English: its words still meet the documents'
    assert terms(text, "en") == terms(text, language) == terms(text, "fr")
    assert terms(text, "en", version=2) != terms(text, language, version=2)


def test_latin_words_in_russian_arabic_and_chinese_text_are_english():
    assert terms("санкции против ISIL sanctions", "ru")[-2:] == terms("ISIL sanctions", "en") == ["isil", "sanction"]
    assert terms("冠状病毒病 COVID-19", "zh")[-3:] == ["covid-19", "covid", "19"]


def test_a_version_2_index_gets_version_2_queries():
    from parasearch.analysis import ANALYSIS_VERSION

    assert ANALYSIS_VERSION == 3
    # exactly the terms version 2 produced (and version 1: everything as English)
    assert terms("决定继续处理此案。", "zh", version=2) == ["决定继续处理此案"]
    assert terms("Совет Безопасности ещё", "ru", version=2) == ["совет", "безопасн", "ещ"]
    assert terms("Совет Безопасности ещё", "ru", version=1) == ["совет", "безопасности", "ещё"]
    assert terms("Le Conseil a demandé", "fr", version=2) == terms("Le Conseil a demandé", "fr")
    assert terms("Le Conseil a demandé", "fr", version=1) == terms("Le Conseil a demandé", "en")
    text = "Le Conseil demande une pause humanitaire"
    assert word_spans(text, "fr", version=2) == word_spans(text, "fr") and word_spans(text, "fr", version=1) == \
        word_spans(text, "en")
    assert word_spans("مَجْلِس", "ar", version=2) == [(0, 1, "م"), (2, 3, "ج"), (4, 5, "ل"), (6, 7, "س")]


def test_word_spans_mark_chinese_characters_and_whole_arabic_words():
    from service.snippets import highlight, query_terms

    marked = highlight("安理会决定", query_terms("安理会", "zh"), "zh")
    assert marked == "<mark>安</mark><mark>理</mark><mark>会</mark>决定"
    text = "يرحب بالجهود البنّاءة"
    assert word_spans(text, "ar")[-1] == (13, len(text), terms("البناءة", "ar")[0])
    assert highlight(text, query_terms("البناءة", "ar"), "ar") == "يرحب بالجهود <mark>البنّاءة</mark>"
    assert set(terms("продлить мандат", "ru")) <= {s for _, _, s in word_spans("продлил их мандат", "en")}


def test_an_index_built_at_version_2_answers_only_version_2_queries():
    import bm25s

    paras = _zh_paragraphs()
    ids = ["9", "13", "18"]
    old = bm25s.BM25(k1=0.9, b=0.4)  # what indexer.build wrote at version 2
    old.index([terms(paras[i], "zh", version=2) for i in ids], show_progress=False)
    query = "决定继续处理此案。"  # paragraph 18 whole: version 2 matched only that
    docs, scores = old.retrieve([terms(query, "zh", version=2)], k=1, show_progress=False)
    assert ids[docs[0][0]] == "18" and scores[0][0] > 0
    assert not set(terms(query, "zh")) & set(old.vocab_dict)  # version 3 terms: nothing to match there
