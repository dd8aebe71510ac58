"""indexer.paragraphs: the locator rules every text reader shares, on short inline texts.

What is checked is what a citation says: the paragraph numbers a document prints, its preambular and annex
paragraphs, the section path, and the page furniture that is never a paragraph.
"""

from __future__ import annotations

from indexer.paragraphs import (
    ParagraphAssembler,
    annex_label,
    clean_inline,
    find_date,
    heading_rank,
    is_furniture_line,
    is_preamble_opener,
    segment_text,
)
from parasearch.types import ANNEX, NUMBERED, PREAMBLE, UNNUMBERED


def locators(text: str) -> list[str]:
    return [p.para for p in segment_text(text)]


def by_para(text: str) -> dict[str, str]:
    return {p.para: p.text for p in segment_text(text)}


# -- numbered paragraphs ------------------------------------------------------------------------------------------
def test_numbered_paragraphs_keep_the_printed_numbers_and_join_wrapped_lines() -> None:
    ps = segment_text("1. The Working Group met in Vienna\non 7 and 8 October 2013.\n\n2. It adopted its report.\n")
    assert [(p.para, p.kind) for p in ps] == [("1", NUMBERED), ("2", NUMBERED)]
    assert ps[0].text == "The Working Group met in Vienna on 7 and 8 October 2013."
    assert ps[1].text == "It adopted its report."


def test_sub_items_stay_in_their_paragraph_on_their_own_lines() -> None:
    ps = by_para("1. Calls upon States to:\n(a) Share information;\n(b) Train officials;\n\n2. Decides.\n")
    assert ps == {"1": "Calls upon States to:\n(a) Share information;\n(b) Train officials;", "2": "Decides."}


def test_a_small_gap_in_the_numbering_is_kept_a_number_that_cannot_follow_is_text() -> None:
    # A source that lost paragraph 2 still cites 3 as 3; "2030." at the start of a line continues the sentence.
    ps = by_para("1. First paragraph.\n\n3. Third paragraph, towards the\n2030. Agenda for Sustainable Development.\n")
    assert list(ps) == ["1", "3"]
    assert ps["3"] == "Third paragraph, towards the 2030. Agenda for Sustainable Development."


def test_a_restarted_list_in_the_body_is_folded_into_the_paragraph_that_announces_it() -> None:
    text = ("1. Speakers noted progress.\n\n2. The Working Group adopted the following agenda:\n\n"
            "1. Organizational matters.\n2. Other matters.\n\n3. The observer also spoke.\n")
    ps = segment_text(text)
    assert [p.para for p in ps] == ["1", "2", "3"]  # never a second "1" and "2"
    assert ps[1].text == ("The Working Group adopted the following agenda:\n1. Organizational matters.\n"
                          "2. Other matters.")


# -- preamble ---------------------------------------------------------------------------------------------------
def test_a_resolution_preamble_is_numbered_apart_from_its_operative_paragraphs() -> None:
    text = ("The General Assembly,\n\nRecalling its resolution 77/100,\n\nDeeply concerned about trafficking,\n\n"
            "1. Requests the Secretary-General to report;\n\n2. Decides to remain seized of the matter.\n")
    ps = segment_text(text)
    assert [(p.para, p.kind) for p in ps] == [
        ("preamble-1", PREAMBLE), ("preamble-2", PREAMBLE), ("1", NUMBERED), ("2", NUMBERED)]
    assert ps[0].text == "Recalling its resolution 77/100,"
    assert ps[1].text == "Deeply concerned about trafficking,"


def test_an_operative_sentence_ends_the_preamble() -> None:
    ps = segment_text("The General Assembly,\n\nRecalling its resolution 77/100,\n\n"
                      "Adopts the following declaration:\n")
    assert [(p.para, p.kind) for p in ps] == [("preamble-1", PREAMBLE), ("u-0-1", UNNUMBERED)]


# -- headings, annexes, sections --------------------------------------------------------------------------------
def test_headings_are_the_section_path_and_never_paragraphs() -> None:
    # Ranked by their style, not their markdown level: a Roman heading closes the unmarked title above it.
    text = ("# Report of the meeting\n\n## I. Introduction\n\n1. First.\n\n**A. Assistance to victims**\n\n"
            "2. Second.\n\nII. Recommendations\n\n3. Third.\n")
    ps = segment_text(text)
    assert [(p.para, p.section) for p in ps] == [
        ("1", "I. Introduction"),
        ("2", "I. Introduction > A. Assistance to victims"),
        ("3", "II. Recommendations"),
    ]


def test_annex_paragraphs_are_cited_as_annex_paragraphs() -> None:
    text = ("1. The Conference adopted the annexed principles.\n\n2. It decided to meet again.\n\n"
            "Annex II\n\n1. States should cooperate.\n\n2. States should share data.\n")
    ps = segment_text(text)
    assert [(p.para, p.kind) for p in ps] == [
        ("1", NUMBERED), ("2", NUMBERED), ("annex-II-1", ANNEX), ("annex-II-2", ANNEX)]
    assert ps[2].text == "States should cooperate."
    assert ps[2].section == "Annex II"


def test_an_annex_that_carries_the_only_numbering_keeps_its_plain_numbers() -> None:
    assert locators("Annex\n\n1. The first article.\n\n2. The second article.\n") == ["1", "2"]


def test_numbering_that_restarts_in_every_section_is_cited_by_section() -> None:
    text = ("I. Programme budget\n\n1. Approves the budget.\n\n2. Decides on the posts.\n\n"
            "II. Special subjects\n\n1. Notes the report.\n\n2. Requests a review.\n")
    ps = segment_text(text)
    assert [p.para for p in ps] == ["sect-I-1", "sect-I-2", "sect-II-1", "sect-II-2"]
    assert ps[2].text == "Notes the report."


def test_unnumbered_blocks_are_counted_per_section() -> None:
    text = ("Opening remarks by the Chair of the meeting.\n\nINTRODUCTION\n\n"
            "The meeting was opened by the Chair.\n\nThe agenda was adopted without a vote.\n")
    ps = segment_text(text)
    assert [(p.para, p.kind) for p in ps] == [("u-0-1", UNNUMBERED), ("u-1-1", UNNUMBERED), ("u-1-2", UNNUMBERED)]
    assert ps[1].section == "INTRODUCTION"


# -- what is not a paragraph ------------------------------------------------------------------------------------
def test_page_furniture_tables_and_contents_are_left_out() -> None:
    text = ("A/RES/78/999\nDistr.: General\n20 December 2023\n*2399999*\n\n"
            "Contents\n\nI. Introduction .......... 3\nII. Recommendations .......... 5\n\n"
            "I. Introduction\n\n1. First paragraph.\n\n| Country | Amount |\n|---|---|\n| A | 1 |\n\n"
            "2. Second paragraph.\n")
    ps = segment_text(text)
    assert [p.para for p in ps] == ["1", "2"]
    assert [p.text for p in ps] == ["First paragraph.", "Second paragraph."]


def test_inline_markup_and_footnote_references_are_not_text() -> None:
    ps = by_para("1. The **Working Group** took note of [the report](https://undocs.org/x)[^1] of the "
                 "*Secretary-General*<sup>2</sup>.\n\n[^1]: A footnote.\n")
    assert ps == {"1": "The Working Group took note of the report of the Secretary-General."}


# -- the helpers -----------------------------------------------------------------------------------------------
def test_annex_label() -> None:
    assert annex_label("Annex") == ""
    assert annex_label("Annex II") == "II"
    assert annex_label("ANNEX II. Principles") == "II"
    assert annex_label("**Annex B**") == "B"
    assert annex_label("Annex to the letter dated 3 May") is None
    assert annex_label("Recommendations") is None


def test_heading_rank_orders_annex_roman_letter_number() -> None:
    assert [heading_rank(t) for t in ("Annex I", "II. Mandate", "A. History", "1. Scope", "a. Detail", "Other")] \
        == [0, 1, 2, 3, 4, 5]
    assert heading_rank("C. Third part", open_letter="B") == 2  # C after B is a letter, not the Roman 100
    assert heading_rank("C. Third part") == 1


def test_furniture_lines() -> None:
    for line in ("24-24134 (E)", "*2424134*", "2/17", "Distr.: General", "Original: English", "- 3 -", ""):
        assert is_furniture_line(line), line
    assert is_furniture_line("A/RES/79/191", symbol="A/RES/79/191")
    assert not is_furniture_line("1. Decides to remain seized of the matter.")


def test_dates_preamble_openers_and_inline_cleaning() -> None:
    assert find_date("Vienna, 19 November 2013") == "2013-11-19"
    assert find_date("on 7 and 8 October 2013") == "2013-10-08"
    assert find_date("no date here") is None
    assert is_preamble_opener("Recalling its resolution 77/100,")
    assert is_preamble_opener("Deeply concerned about trafficking,")
    assert not is_preamble_opener("Decides to remain seized of the matter.")
    assert not is_preamble_opener("recalling in lower case continues a sentence")
    assert clean_inline("a  **bold**\u00a0word\n\n  next  line ") == "a bold word\nnext line"


def test_assembler_events_give_locators() -> None:
    asm = ParagraphAssembler()
    asm.start_preamble()
    asm.unnumbered("Recalling its earlier resolutions,")
    assert asm.numbered(1, "Decides to extend the mandate;") == "body"
    asm.continuation("\n(a) until 31 December;")
    assert asm.numbered(2, "Requests a report.") == "body"
    asm.heading("Annex")
    assert asm.numbered(1, "Terms of reference.") == "annex"
    assert asm.numbered(7, "Not a paragraph number.", gap_ok=False) == "text"
    ps = asm.finish()
    assert [(p.para, p.text) for p in ps] == [
        ("preamble-1", "Recalling its earlier resolutions,"),
        ("1", "Decides to extend the mandate;\n(a) until 31 December;"),
        ("2", "Requests a report."),
        ("annex-1", "Terms of reference. 7. Not a paragraph number."),
    ]
