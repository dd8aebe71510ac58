"""The PDF readers on a two-page General Assembly resolution: as raw PDF text (indexer.readers.pdftext) and as a
PDF made with pymupdf in tmp_path (indexer.readers.pdf), both read by the same page parser.

What must come out: the cover's metadata, the preamble and the operative paragraphs with their printed numbers,
a paragraph broken across the page whole, and none of the page furniture or footnotes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.readers import pdf, pdftext, read_document
from parasearch.errors import DocumentError
from parasearch.types import NUMBERED, PREAMBLE

COVER = """United Nations
A/RES/78/999

General Assembly
Distr.: General
20 December 2023

23-99999 (E)
*2399999*

Seventy-eighth session
Agenda item 12

Resolution adopted by the General Assembly
on 19 December 2023

78/999. Strengthening cooperation on drug control

The General Assembly,

Recalling its resolution 77/100 of 7 December 2022,{marker}

Noting with concern the rise in synthetic drugs,

1. Requests the Secretary-General to submit a report on synthetic
drugs to the General Assembly at its eightieth session;

2. Calls upon Member States to strengthen cooperation among
law enforcement agencies and to share information on
trafficking routes and"""
PAGE_2 = """A/RES/78/999
Strengthening cooperation on drug control

23-99999
2/2

methods of concealment;

3. Decides to remain seized of the matter."""
FOOTNOTES = """
__________________

1 See A/77/100."""

EXPECTED = [
    ("preamble-1", PREAMBLE, "Recalling its resolution 77/100 of 7 December 2022,"),
    ("preamble-2", PREAMBLE, "Noting with concern the rise in synthetic drugs,"),
    ("1", NUMBERED, "Requests the Secretary-General to submit a report on synthetic drugs to the General Assembly at "
                    "its eightieth session;"),
    ("2", NUMBERED, "Calls upon Member States to strengthen cooperation among law enforcement agencies and to share "
                    "information on trafficking routes and methods of concealment;"),
    ("3", NUMBERED, "Decides to remain seized of the matter."),
]


def as_pdf_text(page: str) -> str:
    """A page as pymupdf's get_text() gives it: every line ends with a space, empty lines are one space."""
    return "\n".join(f"{line} " if line else " " for line in page.split("\n"))


def check(parsed) -> None:
    doc = parsed.doc
    assert doc.symbol == "A/RES/78/999"
    assert doc.date == "2023-12-20"
    assert doc.body == "General Assembly"
    assert doc.type == "resolution"
    assert doc.title == "78/999. Strengthening cooperation on drug control"
    assert [(p.para, p.kind, p.text) for p in parsed.paragraphs] == EXPECTED


def test_raw_pdf_text() -> None:
    pages = [as_pdf_text(COVER.format(marker="1") + FOOTNOTES), as_pdf_text(PAGE_2)]
    text = "\n\n".join(pages)  # pages are separated by an empty line
    assert pdftext.looks_like_pdf_text(text)
    check(pdftext.read_text(text, "A_RES_78_999.txt"))


def test_raw_pdf_text_through_the_plain_text_reader(tmp_path: Path) -> None:
    path = tmp_path / "A_RES_78_999.txt"
    path.write_text("\n\n".join([as_pdf_text(COVER.format(marker="") + FOOTNOTES), as_pdf_text(PAGE_2)]),
                    encoding="utf-8")
    check(read_document(path))


def make_pdf(path: Path, *, superscript_marker: bool = True) -> Path:
    import pymupdf

    doc = pymupdf.open()
    for text in (COVER.format(marker="") + FOOTNOTES, PAGE_2):
        page = doc.new_page()
        y = 60.0
        for line in text.split("\n"):
            page.insert_text((72, y), line or " ", fontsize=10)
            if superscript_marker and line.startswith("Recalling"):
                # footnote marker 1, set small and raised: pymupdf flags it superscript and the reader drops it
                page.insert_text((72 + pymupdf.get_text_length(line, fontsize=10) + 1, y - 4), "1", fontsize=6)
            y += 13
    doc.save(str(path))
    doc.close()
    return path


def test_pdf_made_with_pymupdf(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "A_RES_78_999.pdf")
    check(pdf.read(path))
    parsed = read_document(path, {"title": "Drug control"})  # the manifest's metadata wins
    assert parsed.doc.title == "Drug control"
    assert [p.para for p in parsed.paragraphs] == [para for para, _, _ in EXPECTED]


def test_a_pdf_without_text_is_refused(tmp_path: Path) -> None:
    import pymupdf

    doc = pymupdf.open()
    doc.new_page()
    doc.save(str(tmp_path / "scan.pdf"))
    with pytest.raises(DocumentError, match="no text layer"):
        pdf.read(tmp_path / "scan.pdf")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7 not really")
    with pytest.raises(DocumentError, match="corrupt PDF"):
        pdf.read(tmp_path / "broken.pdf")
