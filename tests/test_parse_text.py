"""Paragraph segmentation of markdown / plain text: what a citation may say.

Synthetic snippets pin the locator rules; the real CTOC report and Special Rapporteur
reports (``../shared/corpus``) pin the behaviour on the documents users search.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from indexer.paragraphs import segment_text
from indexer.readers import read_document
from indexer.readers.plaintext import parse_numbered_blocks, split_trailing_headings
from parasearch.types import ANNEX, NUMBERED, PREAMBLE, UNNUMBERED, locator_label
from tests.conftest import IN_CI

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
CTOC_MD = CORPUS / "ctoc" / "CTOC_COP_WG.2_2013_5.md"
HR = CORPUS / "hr"

needs_corpus = pytest.mark.skipif(not CORPUS.exists() and not IN_CI, reason=f"shared test corpus not found at {CORPUS}")


def paras(text: str) -> dict[str, str]:
    return {p.para: p.text for p in segment_text(text)}


# --------------------------------------------------------------------------- synthetic


def test_numbered_paragraphs_headings_and_section_path() -> None:
    text = """# Report of the meeting

Distr.: General
19 November 2013

## I. Introduction

1. First paragraph
continues on a wrapped line.

2. Second paragraph.

**A. Assistance to victims**

3. Third paragraph.
"""
    ps = segment_text(text)
    assert [p.para for p in ps] == ["1", "2", "3"]
    assert ps[0].text == "First paragraph continues on a wrapped line."
    assert ps[0].section == "I. Introduction"
    assert ps[2].section == "I. Introduction > A. Assistance to victims"
    assert all(p.kind == NUMBERED for p in ps)


def test_sub_items_stay_inside_their_paragraph() -> None:
    ps = paras(
        "1. The Working Group adopted the following agenda:\n  - (a) Opening of the meeting;\n"
        "  - (b) Adoption of the agenda.\n\n2. Next.\n"
    )
    assert ps["1"] == (
        "The Working Group adopted the following agenda:\n(a) Opening of the meeting;\n"
        "(b) Adoption of the agenda."
    )
    assert ps["2"] == "Next."


def test_restarted_list_in_body_is_folded_not_duplicated() -> None:
    text = (
        "1. Speakers noted progress.\n\n2. The Working Group adopted the following agenda:\n\n"
        "1. Organizational matters.\n2. Other matters.\n\n3. The observer also spoke.\n"
    )
    ps = segment_text(text)
    assert [p.para for p in ps] == ["1", "2", "3"]
    assert ps[1].text.endswith("1. Organizational matters.\n2. Other matters.")
    assert ps[0].text == "Speakers noted progress."


def test_numbering_after_annex_heading_gets_annex_locators() -> None:
    text = (
        "1. Body one.\n\n2. Body two.\n\n# Annex I\n\n1. First annex para.\n\n2. Second.\n\n"
        "# Annex II\n\n1. Other annex.\n"
    )
    ps = segment_text(text)
    assert [p.para for p in ps] == ["1", "2", "annex-I-1", "annex-I-2", "annex-II-1"]
    assert ps[2].kind == ANNEX
    assert ps[2].section == "Annex I"
    assert locator_label("annex-II-1") == "annex II, para. 1"


def test_annex_carrying_the_only_numbering_keeps_plain_numbers() -> None:
    ps = segment_text(
        "The General Assembly\n\nAdopts the following declaration:\n\nAnnex\n\n"
        "Political declaration\n\n1. We, the Heads of State, commit.\n\n2. We resolve.\n"
    )
    assert [p.para for p in ps if p.kind == NUMBERED] == ["1", "2"]


def test_unnumbered_blocks_and_preamble() -> None:
    text = "Intro text before any heading.\n\n# II. Mandate\n\nA first unnumbered block.\n\nA second one.\n"
    ps = segment_text(text)
    assert [(p.para, p.kind) for p in ps] == [
        ("u-0-1", UNNUMBERED),
        ("u-1-1", UNNUMBERED),
        ("u-1-2", UNNUMBERED),
    ]
    res = segment_text(
        "The General Assembly,\n\nRecalling its resolution 1/1,\n\nNoting the report,\n\n1. Decides to act;\n"
    )
    assert [(p.para, p.kind) for p in res] == [
        ("preamble-1", PREAMBLE),
        ("preamble-2", PREAMBLE),
        ("1", NUMBERED),
    ]


def test_tables_and_contents_are_not_paragraphs() -> None:
    text = (
        "# Contents\n\nI. Introduction ........ 1-4 3\nII. Recommendations ........ 5-36 4\n\n"
        "# I. Introduction\n\n1. Text.\n\n## Annex\n\nSymbol\tAgenda item\tTitle\nCTOC/1\t1 (b)\tAgenda\n"
    )
    ps = segment_text(text)
    assert [p.para for p in ps] == ["1"]


def test_numbers_that_cannot_continue_the_numbering_are_text() -> None:
    ps = segment_text("1. Achieve the Goals by\n2030. Everyone agreed.\n\n2. Next.\n")
    assert [p.para for p in ps] == ["1", "2"]
    assert "2030. Everyone agreed." in ps[0].text


# --------------------------------------------------------------------------- CTOC sample


@needs_corpus
def test_ctoc_has_exactly_paragraphs_1_to_90() -> None:
    parsed = read_document(CTOC_MD, {"symbol": "CTOC/COP/WG.2/2013/5"})
    numbered = [p for p in parsed.paragraphs if p.kind == NUMBERED]
    assert [p.para for p in numbered] == [str(i) for i in range(1, 91)]
    assert [p.para for p in parsed.paragraphs] == [p.para for p in numbered]  # no table rows, no headings
    texts = {p.para: p for p in numbered}
    assert texts["9"].text == (
        "States should consider setting up special facilities for recording the testimony "
        "of vulnerable witnesses such as children."
    )
    assert texts["2"].text.count("inter alia") == 1 and "*" not in texts["2"].text
    assert texts["42"].text.startswith(
        "At its 1st meeting, on 28 October 2013, the Working Group adopted "
        "the following agenda:\n1. Organizational matters:"
    )
    assert texts["43"].text.startswith("The following States parties to the Convention were represented")
    assert texts["29"].section.startswith("II. Recommendations > C. Assistance in harmonizing")
    assert texts["80"].section == "IV. Summary of the deliberations > D. Other matters"


@needs_corpus
def test_ctoc_metadata_from_the_document() -> None:
    from indexer.readers import markdown

    doc = markdown.read(CTOC_MD).doc
    assert doc.date == "2013-11-19"
    assert doc.title.startswith("Report on the meeting of the Working Group")
    assert (
        doc.body
        == "Conference of the Parties to the United Nations Convention against Transnational Organized Crime"
    )


# --------------------------------------------------------------------------- hr reports


def test_trailing_heading_run_is_cut_off() -> None:
    text, heads = split_trailing_headings(
        "The present report has been prepared pursuant to resolution 34/19. II. Mandate A. History"
    )
    assert text == "The present report has been prepared pursuant to resolution 34/19."
    assert heads == ["II. Mandate", "A. History"]
    same, none = split_trailing_headings("This paragraph ends normally, with a full stop.")
    assert none == [] and same.endswith("full stop.")


def test_block_format_restart_and_fragments() -> None:
    blocks = [
        "1. The report is submitted pursuant to resolution 8/4. II. Background",
        "2. Article 23 of the Convention establishes the right to sexual education:",
        "1. The States Parties recognize the right to sexual education;",
        "2. Sexual education shall be provided at all levels.",
        "3. Patriarchalism is a system of social order described in E/CN.4/2006/45, para.",
        "17. and analysed further by the Special Rapporteur.",
        "1. Criminalization of torture in domestic law",
        "4. The last paragraph of the report body.",
    ]
    ps, _ = parse_numbered_blocks(blocks)
    assert [p.para for p in ps] == ["1", "2", "3", "4"]
    assert ps[0].text.endswith("resolution 8/4.")
    assert ps[1].section == "II. Background"
    assert ps[1].text.endswith(
        "1. The States Parties recognize the right to sexual education;\n"
        "2. Sexual education shall be provided at all levels."
    )
    assert ps[2].text.endswith("para. 17. and analysed further by the Special Rapporteur.")
    assert ps[3].section == "II. Background > 1. Criminalization of torture in domestic law"


@needs_corpus
def test_hr_report_with_restarted_numbering_has_no_duplicates() -> None:
    # A/63/263: paragraphs 1-66, then the annexed guidelines numbered 1-47 again
    parsed = read_document(HR / "A_63_263.txt", {"symbol": "A/63/263"})
    locs = [p.para for p in parsed.paragraphs]
    assert len(locs) == len(set(locs))
    body = [p for p in parsed.paragraphs if p.kind == NUMBERED]
    assert [p.para for p in body] == [str(i) for i in range(1, 67)]
    annex = [p for p in parsed.paragraphs if p.kind == ANNEX]
    assert annex[0].para == "annex-1" and annex[0].text.startswith(
        "The company should adopt a human rights policy"
    )
    # the restarted items never shadow the report's own paragraphs 1, 2
    assert not body[0].text.startswith("The company")


@needs_corpus
def test_hr_headings_fragments_and_page_furniture() -> None:
    parsed = read_document(HR / "A_HRC_40_59.txt", {"symbol": "A/HRC/40/59"})
    ps = {p.para: p for p in parsed.paragraphs}
    assert len(ps) == len(parsed.paragraphs)
    assert (
        ps["1"].text
        == "The present report has been prepared pursuant to Human Rights Council resolution 34/19."
    )
    assert ps["2"].section == "II. Activities relating to the mandate"
    assert ps["14"].section.endswith("2. Contextual prevalence and levels of corruption")
    assert ps["13"].text.startswith("Building on these proposals")
    for p in parsed.paragraphs:
        assert not re.search(r"(?<!\S)(?:GE\.)?\d{2}-\d{5}(?!\S)", p.text), p.para  # job numbers
        assert "_____" not in p.text


@needs_corpus
def test_hr_footnotes_below_separator_are_cut_and_markers_removed() -> None:
    parsed = read_document(HR / "A_65_162.txt", {"symbol": "A/65/162"})
    ps = {p.para: p.text for p in parsed.paragraphs}
    assert "Population and Development. In any event" in ps["4"]
    assert ps["6"].endswith("democratic and pluralistic environment.")
    assert "See document E/CN.4" not in ps["6"]
    # the quoted articles after para 41 are part of para 41, not paras 1-4
    assert ps["41"].endswith("...") or "1. The States Parties recognize" in ps["41"]
    assert ps["1"].startswith("The present report is submitted")
