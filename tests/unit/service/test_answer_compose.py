"""The answer, in parts, without a model: sentence splitting, citations and the answer text they compose, MMR
selection, the lead passage, the extractive answer over the synthetic index (tests.unit.synthetic: a bag-of-words
encoder) and the checks the model's answer goes through (with a scripted model: no HTTP).

Every answer-related unit test is in this file, so that the imports below are the one place to change when the
answer's modules move again.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

# -- the answer's parts, by the module that defines each ----------------------------------------------------------
from service.answer import answer_question
from service.answer_types import NOT_FOUND_TEXT, AnswerCitation, AnswerSentence, cite, compose
from service.extractive import (
    DEFAULT_THRESHOLD,
    MAX_SENTENCES,
    PREAMBLE_PRIOR,
    answer_threshold,
    confidence,
    extractive_answer,
    lexical_overlap,
    mmr,
    passage_priority,
)
from service.llm import LLMError
from service.llm_answer import (
    build_prompt,
    generative_answer,
    lexical_support,
    normalize_reply,
    parse_sentence,
    split_reply,
    supports,
)
from service.search import SearchOutcome
from service.sentences import occurs_in, split_sentences
from tests.unit.synthetic import SAMPLE, Doc, hit, row, tiny_engine

SAFEGUARDS = "A/RES/77/5"
DEATH_PENALTY = Doc(SAFEGUARDS, [
    ("preamble-1", "Recalling the safeguards guaranteeing protection of the rights of those facing the death "
                   "penalty,"),
    ("1", "Calls upon all States to respect the safeguards. Also calls upon States to make available information "
          "on the use of the death penalty."),
    ("2", "Requests the Secretary-General to: (a) Provide the Council with a yearly report on capital punishment; "
          "(b) Include information on the safeguards for those facing the death penalty."),
], date="2022-12-15")


@pytest.fixture(scope="module")
def engine():
    return tiny_engine([*SAMPLE, DEATH_PENALTY])


# -- sentences ---------------------------------------------------------------------------------------------------
def test_un_abbreviations_symbols_and_decimals_do_not_end_a_sentence() -> None:
    text = ("See para. 5 of resolution 79/191, e.g. the U.N. report of Mr. Smith. It was adopted by No. 3 of WG.2 "
            "with 1.5 per cent.")
    spans = split_sentences(text)
    assert [s.text for s in spans] == ["See para. 5 of resolution 79/191, e.g. the U.N. report of Mr. Smith.",
                                       "It was adopted by No. 3 of WG.2 with 1.5 per cent."]
    assert all(text[s.start:s.end] == s.text for s in spans)  # verbatim slices: what an answer quotes


def test_sub_items_are_sentences_that_remember_their_lead_in() -> None:
    text = "Requests the Secretary-General to: (a) Provide a report; (b) Include information; and (c) Consult States."
    spans = split_sentences(text)
    lead = "Requests the Secretary-General to:"
    assert [(s.text, s.lead) for s in spans] == [
        (lead, ""), ("(a) Provide a report;", lead), ("(b) Include information;", lead),
        ("and (c) Consult States.", lead)]
    assert spans[1].context == f"{lead} (a) Provide a report;"  # what a sub-item is judged by
    assert [(s.text, s.lead) for s in split_sentences("Notes the report.\nDecides to act.")] == [
        ("Notes the report.", ""), ("Decides to act.", "")]


def test_a_quote_is_checked_against_its_paragraph() -> None:
    paragraph = "Calls upon all States\nto respect   the safeguards."
    assert occurs_in("to respect the safeguards.", paragraph)
    assert occurs_in("Calls upon all States to respect", paragraph)  # line breaks and spaces folded
    assert not occurs_in("Calls upon all States to abolish", paragraph)
    assert not occurs_in("  ", paragraph)


# -- citations and the answer text ------------------------------------------------------------------------------
def test_a_citation_names_the_passage_and_its_versions() -> None:
    h = hit(row("S/RES/2700 (2023)", "preamble-2", language="fr"), rank=3, versions=["en", "es"])
    c = cite(h)
    assert c == AnswerCitation(symbol="S/RES/2700 (2023)", para="preamble-2",
                               citation="S/RES/2700 (2023), preamble, para. 2", passage=3, language="fr",
                               versions=["en", "es"])
    c.versions.append("ru")
    assert h.versions == ["en", "es"]  # a copy


def test_each_run_of_sentences_citing_the_same_paragraphs_is_led_once_by_its_citations() -> None:
    a = AnswerCitation("S/RES/2542 (2020)", "7", "S/RES/2542 (2020), para. 7", 1)
    b = AnswerCitation("A/RES/79/191", "59", "A/RES/79/191, para. 59", 2)
    sentences = [AnswerSentence("Decides to extend the mandate.", [a]),
                 AnswerSentence("Requests a report.", [a]),
                 AnswerSentence("A claim no passage backs.", [], supported=False),
                 AnswerSentence("Calls upon States to cooperate.", [b]),
                 AnswerSentence("Both say so.", [a, b])]
    assert compose(sentences) == (
        "S/RES/2542 (2020), para. 7: Decides to extend the mandate. Requests a report. "
        "A/RES/79/191, para. 59: Calls upon States to cooperate. "
        "S/RES/2542 (2020), para. 7; A/RES/79/191, para. 59: Both say so.")


def test_no_backed_sentence_is_the_not_found_answer() -> None:
    a = AnswerCitation("X/1", "1", "X/1, para. 1", 1)
    assert compose([]) == NOT_FOUND_TEXT
    assert compose([AnswerSentence("Unbacked.", [a], supported=False), AnswerSentence("Uncited.", [])]) == \
        NOT_FOUND_TEXT


# -- MMR ---------------------------------------------------------------------------------------------------------
E1, E2 = np.eye(2)
VECS = np.array([E1, E1, E2, (E1 + E2) / np.sqrt(2)])  # 1 repeats 0; 3 is between 0 and 2
REL = np.array([0.9, 0.89, 0.5, 0.6])


def test_mmr_best_first_then_what_adds_most_never_a_repeat() -> None:
    assert mmr(REL, VECS) == [0, 2, 3]  # 1 says what 0 says, however relevant
    assert mmr(REL, VECS, n=2) == [0, 2]
    assert mmr(REL, VECS, lam=1.0) == [0, 3, 2]  # relevance alone (repeats still left out)


def test_mmr_only_among_the_eligible() -> None:
    assert mmr(REL, VECS, eligible=np.array([False, True, True, False])) == [1, 2]
    assert mmr(np.zeros(0), np.zeros((0, 2))) == []
    assert mmr(np.array([0.9, 0.8]), np.array([E1, E1])) == [0]  # nothing but repeats left


def test_the_questions_rarer_words_weigh_more() -> None:
    texts = ["Protection of witnesses and their families.", "Protection of witnesses.", "Protection of judges."]
    overlap = lexical_overlap("What protection for the families of witnesses?", texts)
    assert overlap[0] > overlap[1] > overlap[2] > 0
    assert overlap[0] == pytest.approx(1.0)  # every word of the question but "what"
    assert lexical_overlap("What did they say?", texts).tolist() == [0.0, 0.0, 0.0]  # question words only


# -- the lead passage --------------------------------------------------------------------------------------------
def fused(para: str, score: float, rank: int):
    return hit(row(para=para), rank, score, scores={"fused": {"rank": rank, "score": score}})


def test_an_operative_paragraph_leads_unless_a_preambular_one_is_far_better() -> None:
    close = [fused("preamble-1", 3.0, 1), fused("4", 0.5, 2)]
    assert int(np.argmax(passage_priority(close))) == 1
    far = [fused("preamble-1", 0.5 + PREAMBLE_PRIOR + 0.1, 1), fused("4", 0.5, 2)]
    assert int(np.argmax(passage_priority(far))) == 0


def test_the_lead_by_the_rerankers_score_or_by_z_normalised_scores() -> None:
    reranked = [hit(row(para="preamble-1"), 1, 5.0, scores={"rerank": {"score": 5.0}}),
                hit(row(para="2"), 2, 3.5, scores={"rerank": {"score": 3.5}})]
    assert passage_priority(reranked).tolist() == [3.0, 3.5]  # less RERANK_PREAMBLE_PRIOR (2) for the preamble
    bm25 = [hit(row(para="1"), 1, 12.0), hit(row(para="2"), 2, 6.0)]
    assert passage_priority(bm25).tolist() == [1.0, -1.0]


# -- the evidence and the threshold ------------------------------------------------------------------------------
def test_confidence_is_the_best_sentence_helped_by_the_questions_terms_in_the_passages() -> None:
    hits = [hit(row(text="The Panel of Experts monitors the arms embargo."), 1,
                scores={"dense": {"rank": 1, "score": 0.61}}),
            hit(row(text="Decides to remain seized of the matter."), 2, scores={"dense": {"rank": 2, "score": 0.4}})]
    outcome = SearchOutcome("Who monitors the arms embargo on Libya?", "hybrid", hits, 0.0)
    conf = confidence(outcome, 0.5)
    # content terms: monitor, arm, embargo, libya ("who" is a term too): 3 of 5 in the passages
    assert conf == {"score": round(0.5 + 0.15 * 3 / 5, 4), "sentence": 0.5, "dense": 0.61, "coverage": 0.6}


def test_the_threshold_of_the_answering_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARASEARCH_ANSWER_THRESHOLD", raising=False)
    e5 = SimpleNamespace(encoders=[SimpleNamespace(name="multilingual-e5-small")])
    assert answer_threshold() == DEFAULT_THRESHOLD
    assert answer_threshold(e5) == 0.888
    assert answer_threshold(e5, crosslingual=True) == 0.815
    assert answer_threshold(SimpleNamespace(encoders=[SimpleNamespace(name="another-model")])) == DEFAULT_THRESHOLD
    monkeypatch.setenv("PARASEARCH_ANSWER_THRESHOLD", "0.3")
    assert answer_threshold(e5) == 0.3


# -- the extractive answer ---------------------------------------------------------------------------------------
def test_the_answer_quotes_the_lead_passage_a_sub_item_after_its_lead_in(engine) -> None:
    ans = extractive_answer(engine, engine.search("What are the safeguards for those facing the death penalty?"))
    assert ans.found and ans.method == "extractive"
    cited = {c.citation for s in ans.sentences for c in s.citations}
    assert cited == {"A/RES/77/5, para. 2"}  # one passage: the lead
    paragraph = dict(DEATH_PENALTY.paragraphs)["2"]
    texts = [s.text for s in ans.sentences]
    assert all(occurs_in(t, paragraph) for t in texts)
    # "(b) Include information on the safeguards ..." answers; its lead-in goes first, once, in reading order
    assert texts[0] == "Requests the Secretary-General to:"
    assert "(b) Include information on the safeguards for those facing the death penalty." in texts
    assert [paragraph.index(t) for t in texts] == sorted(paragraph.index(t) for t in texts)
    assert ans.sentences[0].score is None and ans.sentences[-1].score is not None
    assert ans.answer == "A/RES/77/5, para. 2: " + " ".join(texts)
    assert len(ans.sentences) <= MAX_SENTENCES + 1  # the lead-in on top


def test_an_operative_paragraph_answers_before_the_preamble_that_ranks_first(engine) -> None:
    question = "What safeguards guarantee protection of the rights of those facing the death penalty?"
    outcome = engine.search(question)
    assert outcome.hits[0].row.para == "preamble-1"
    ans = extractive_answer(engine, outcome)
    assert {c.para for s in ans.sentences for c in s.citations} <= {"1", "2"}


def test_weak_evidence_is_not_found_and_the_closest_passages_stay(engine) -> None:
    outcome = engine.search("How many penguins live in Antarctica?")
    ans = extractive_answer(engine, outcome)
    assert (ans.found, ans.answer, ans.sentences) == (False, NOT_FOUND_TEXT, [])
    assert ans.outcome.hits  # still shown
    good = engine.search("What are the safeguards for those facing the death penalty?")
    assert not extractive_answer(engine, good, threshold=0.99).found
    assert extractive_answer(engine, good, threshold=0.0).found


def test_a_named_paragraph_is_always_answered_from_it(engine) -> None:
    ans = extractive_answer(engine, engine.search("A/RES/77/5 para 1"), threshold=0.99)
    assert ans.found
    assert [s.text for s in ans.sentences] == [
        "Calls upon all States to respect the safeguards.",
        "Also calls upon States to make available information on the use of the death penalty."]
    assert {c.citation for s in ans.sentences for c in s.citations} == {"A/RES/77/5, para. 1"}


def test_answer_question_end_to_end_without_a_model(engine) -> None:
    ans = answer_question(engine, "Which mandate of the Panel of Experts on Libya was extended?")
    assert (ans.found, ans.state, ans.method) == (True, "answer", "extractive")
    assert ans.answer == ("S/RES/2700 (2023), para. 1: Decides to extend the mandate of the Panel of Experts on Libya "
                          "until 15 May 2025.")
    ans = answer_question(engine, "Quel est le mandat du Groupe d'experts sur la Libye ?")
    assert ans.sentences and ans.sentences[0].citations[0].language == "fr"  # the question's language version
    assert ans.sentences[0].citations[0].versions == ["en"]
    assert answer_question(engine, "How many penguins live in Antarctica?").state == "not_found"


# -- the model's answer: parsing its reply and backing its citations ---------------------------------------------
def test_markers_are_read_and_removed() -> None:
    assert parse_sentence("The Council extended the mandate [1][2].") == ("The Council extended the mandate.", [1, 2])
    assert parse_sentence("- It asked for reports [1, 3] and more [2\u20134].") == (
        "It asked for reports and more.", [1, 3, 2, 4])
    assert parse_sentence("1. A listed point [5].") == ("A listed point.", [5])
    assert normalize_reply("It extends the mandate. [1] It asks. [2][3]") == \
        "It extends the mandate [1]. It asks [2][3]."
    assert split_reply("It extends the mandate until 2025 [1]. It asks for a report. [2] [3]") == [
        "It extends the mandate until 2025 [1].", "It asks for a report [2] [3]."]


def test_the_support_check() -> None:
    passage = "Decides to extend the mandate of the Panel of Experts until 15 May 2025."
    # council, extend, mandat, panel: all but "council" in the passage
    assert lexical_support("The Council extended the mandate of the Panel.", passage) == pytest.approx(3 / 4)
    assert supports("The mandate of the Panel was extended.", passage, cosine=0.0)  # mostly the passage's words
    assert not supports("Sanctions were lifted on all parties.", passage, cosine=0.9)  # meaning alone is not enough
    some_words = "The Council prolonged the work of the Panel of Experts."  # 2 of 5 terms in the passage
    assert supports(some_words, passage, cosine=0.7)  # the same meaning, and some of its words
    assert not supports(some_words, passage, cosine=0.5)


def test_the_prompt_holds_what_fits_the_budget_best_first() -> None:
    long_text = "Decides to extend the mandate. " * 200
    hits = [hit(row("S/RES/1 (2001)", text="Short first passage."), 1),
            hit(row("S/RES/2 (2002)", text=long_text), 2),
            hit(row("S/RES/3 (2003)", text="Short third passage."), 3)]
    prompt = build_prompt("What was decided?", hits, token_budget=600)
    assert sorted(prompt.passages) == [1, 3]  # the long one left out, the shorter one after it still in
    user = prompt.messages[1]["content"]
    assert "[1] S/RES/1 (2001), para. 1" in user and "[3] S/RES/3 (2003), para. 1" in user and "[2]" not in user
    assert prompt.tokens <= 600
    cut = build_prompt("What was decided?", [hits[1]], token_budget=300)
    assert list(cut.passages) == [2] and cut.messages[1]["content"].count("Decides") < 200  # cut, not left out


def scripted(reply: str):
    """A model client that answers every prompt with ``reply``."""
    return SimpleNamespace(config=SimpleNamespace(token_budget=3000), complete=lambda messages, cancel=None: reply)


def test_the_models_citations_are_mapped_and_checked(engine) -> None:
    outcome = engine.search("Which mandate of the Panel of Experts on Libya was extended?", k=4)
    assert outcome.hits[0].row.citation == "S/RES/2700 (2023), para. 1"
    reply = ("The Council extended the mandate of the Panel of Experts on Libya until 15 May 2025 [1][9]. "
             "It extended it until 2030 [1]. The Panel must report to the Council [1].")
    ans = generative_answer(engine, outcome, scripted(reply))
    assert ans.method == "llm" and ans.found
    first, wrong_year, unbacked = ans.sentences
    assert [c.citation for c in first.citations] == ["S/RES/2700 (2023), para. 1"]  # the invented [9] dropped
    assert (wrong_year.supported, wrong_year.citations) == (False, [])  # 2030 is in no passage cited
    assert not unbacked.supported  # para. 1 does not say so
    assert ans.answer == ("S/RES/2700 (2023), para. 1: The Council extended the mandate of the Panel of Experts on "
                          "Libya until 15 May 2025.")


def test_a_model_that_finds_nothing_or_backs_nothing(engine) -> None:
    outcome = engine.search("Which mandate of the Panel of Experts on Libya was extended?", k=4)
    ans = generative_answer(engine, outcome, scripted("NOT FOUND"))
    assert (ans.found, ans.answer) == (False, NOT_FOUND_TEXT)
    with pytest.raises(LLMError, match="no backed citations"):
        generative_answer(engine, outcome, scripted("Penguins live in Antarctica [1]."))
    with pytest.raises(LLMError, match="malformed reply"):
        generative_answer(engine, outcome, scripted("  "))
