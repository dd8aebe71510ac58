"""Query translation for BM25 (service/translate.py): a question in another UN language asked of English paragraphs
also gets its terms' English translations, from the lexicons learned from the SC's parallel resolutions."""

from __future__ import annotations

import gzip
import json
import logging

import pytest

from parasearch.analysis import ANALYSIS_VERSION, terms
from service.translate import LEXICON_ENV, LEXICON_FILE, Lexicon, default_lexicon


def small_lexicon() -> Lexicon:
    return Lexicon({"fr": {
        "prorog": [["extend", 0.75], ["renew", 0.6], ["until", 0.3]],
        "liby": [["libya", 0.92]],
        "group": [["group", 0.8], ["panel", 0.25]],
    }}, {"analysis_version": ANALYSIS_VERSION})


def test_terms_and_their_translations_each_once_in_the_questions_order():
    lex = small_lexicon()
    q = "Jusqu'à quand le Conseil a-t-il prorogé le mandat du Groupe d'experts sur la Libye en 2024 ?"
    own = terms(q, "fr")
    out = lex.translate(q, "fr")
    assert out[: len(own) + 1][0] == own[0]
    assert set(own) <= set(out)  # the question's own terms stay: names, symbols, numbers
    assert "2024" in out
    # the best translation and those within 70 % of it (at least 0.3): "renew" (0.6 >= 0.525), not "until"
    assert {"extend", "renew", "libya", "group"} <= set(out) and "until" not in out and "panel" not in out
    assert out.index("extend") == out.index("prorog") + 1
    assert len(out) == len(set(out))
    # a language the lexicon lacks: just the question's terms
    assert lex.translate("¿Hasta cuándo se prorrogó el mandato?", "es") == terms("¿Hasta cuándo se prorrogó el "
                                                                                "mandato?", "es")


def test_the_shipped_lexicon_translates_the_councils_words(monkeypatch):
    monkeypatch.delenv(LEXICON_ENV, raising=False)
    lex = default_lexicon()
    assert lex is not None and set(lex.languages()) == {"ar", "zh", "fr", "ru", "es"}
    assert lex.info["analysis_version"] == ANALYSIS_VERSION
    cases = {
        "fr": ("Le Conseil de sécurité proroge le mandat du Groupe d'experts sur la Libye", {"extend", "libya"}),
        "es": ("El Consejo prorroga el mandato del Grupo de Expertos sobre Libia", {"extend", "libya"}),
        "ru": ("Совет постановляет продлить мандат Группы экспертов по Ливии", {"extend", "libya", "expert"}),
        "ar": ("يقرر مجلس الأمن تمديد ولاية فريق الخبراء المعني بليبيا", {"extend", "libya", "expert"}),
        "zh": ("安全理事会决定延长利比亚问题专家小组的任务期限", {"extend", "libya", "expert"}),
    }
    for lang, (question, english) in cases.items():
        assert english <= set(lex.translate(question, lang)), lang


def test_off_missing_or_made_for_another_analysis_is_no_translation(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(LEXICON_ENV, "off")
    assert default_lexicon() is None
    monkeypatch.setenv(LEXICON_ENV, str(tmp_path / "missing.json.gz"))
    with caplog.at_level(logging.WARNING, logger="parasearch"):
        assert default_lexicon() is None
    assert "cannot read the lexicon" in caplog.text
    old = tmp_path / "old.json.gz"
    with gzip.open(old, "wt", encoding="utf-8") as f:
        json.dump({"analysis_version": ANALYSIS_VERSION - 1, "lexicons": {"fr": {}}}, f)
    monkeypatch.setenv(LEXICON_ENV, str(old))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="parasearch"):
        assert default_lexicon() is None
    assert "analysis version" in caplog.text and "eval.train_lexicon" in caplog.text
    truncated = tmp_path / "truncated.json.gz"  # a copy cut short (a write that did not finish)
    truncated.write_bytes(LEXICON_FILE.read_bytes()[:5000])
    monkeypatch.setenv(LEXICON_ENV, str(truncated))
    assert default_lexicon() is None
    assert LEXICON_FILE.is_file()


@pytest.fixture(scope="module")
def sc_engine(tmp_path_factory):
    """The English-only SC index of test_crosslingual (multilingual-e5-small alone), searched as the service does."""
    from indexer.build import build_index
    from indexer.embed import load_encoder
    from service.index import LoadedIndex
    from service.search import SearchEngine
    from tests.conftest import shared_path
    from tests.test_crosslingual import SC_EN

    enc = load_encoder("multilingual-e5-small")
    out = tmp_path_factory.mktemp("sc-translate") / "index"
    assert build_index([shared_path(f"sc/en/{n}") for n in SC_EN], out, encoder=enc, progress=False).published
    return SearchEngine(LoadedIndex(out), enc)


def test_a_russian_question_reaches_its_english_paragraph_through_bm25(sc_engine, monkeypatch):
    """In Cyrillic, a question shares nothing with English paragraphs but its numbers: BM25 finds its paragraph
    only once its terms are translated (and hybrid search, which weighs BM25 more then, ranks it first)."""
    from tests.test_crosslingual import _questions

    question = next(q for q in _questions() if q["id"] == "xru04")
    gold = {(r["symbol"], r["para"]) for r in question["relevant"] if r["grade"] == 2}

    def bm25_top(engine, k=3):
        ids, _ = engine.bm25(question["query"], k, None, "ru")
        rows = engine.index.rows(ids.tolist())
        return [(rows[i].symbol, rows[i].para) for i in ids.tolist()]

    assert sc_engine.lexicon is not None and sc_engine.translates("ru")
    assert bm25_top(sc_engine)[0] in gold, bm25_top(sc_engine)
    hits = sc_engine.search(question["query"], k=3).hits
    assert (hits[0].row.symbol, hits[0].row.para) in gold
    monkeypatch.setattr(sc_engine, "lexicon", None)
    assert not sc_engine.translates("ru")
    assert bm25_top(sc_engine)[0] not in gold, bm25_top(sc_engine)  # only "2023" in common: another paragraph
    # an English question is never translated
    monkeypatch.undo()
    assert not sc_engine.translates("en") and not sc_engine.translates(None)
