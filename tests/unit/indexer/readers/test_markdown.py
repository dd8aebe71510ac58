"""indexer.readers.markdown on inline documents: the metadata a document prints and its paragraphs' locators."""

from __future__ import annotations

from indexer.readers.markdown import document_metadata, read_markdown
from parasearch.types import ANNEX, NUMBERED

REPORT = """# Conference of the Parties to the United Nations Convention against Transnational Organized Crime

CTOC/COP/WG.2/2099/1

Distr.: General
12 October 2099

# Report on the meeting of the Working Group on Technical Assistance

## I. Introduction

1. The Working Group met in Vienna.

2. It adopted the following agenda:
   (a) Opening of the meeting;
   (b) Adoption of the agenda.

## II. Recommendations

3. States should share data on trafficking.

## Annex

1. List of participants.
"""


def test_metadata_printed_in_the_document() -> None:
    doc = read_markdown(REPORT, "report.md").doc
    assert doc.symbol == "CTOC/COP/WG.2/2099/1"
    assert doc.date == "2099-10-12"
    assert doc.title == "Report on the meeting of the Working Group on Technical Assistance"
    assert doc.body == ("Conference of the Parties to the United Nations Convention against Transnational Organized "
                        "Crime")
    assert doc.type == "report"
    assert doc.source == "report.md"


def test_paragraph_numbers_sections_and_annex() -> None:
    ps = read_markdown(REPORT).paragraphs
    assert [(p.para, p.kind, p.section) for p in ps] == [
        ("1", NUMBERED, "I. Introduction"),
        ("2", NUMBERED, "I. Introduction"),
        ("3", NUMBERED, "II. Recommendations"),
        ("annex-1", ANNEX, "Annex"),
    ]
    assert ps[1].text == "It adopted the following agenda:\n(a) Opening of the meeting;\n(b) Adoption of the agenda."
    assert ps[3].text == "List of participants."


def test_front_matter_wins_over_what_the_text_prints() -> None:
    text = "---\nsymbol: A/80/L.99\ntitle: \"Draft resolution\"\nlanguage: fr\n---\n" + REPORT
    doc = read_markdown(text).doc
    assert (doc.symbol, doc.title, doc.language) == ("A/80/L.99", "Draft resolution", "fr")
    assert doc.date == "2099-10-12"  # not in the front matter: still read from the text


def test_document_metadata_of_a_draft_resolution() -> None:
    meta = document_metadata("A/80/L.10\n\n# General Assembly\n\n# Draft resolution on road safety\n\n1. Text.\n")
    assert meta == {"symbol": "A/80/L.10", "title": "Draft resolution on road safety", "body": "General Assembly",
                    "type": "draft resolution"}
