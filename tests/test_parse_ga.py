"""GA resolutions and drafts from raw PDF text and from the PDFs themselves.

Runs on the real files in ``../shared/corpus/ga`` (skipped when the corpus is absent):
what users see in a citation -- the paragraph's own text, nothing from the page around it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from indexer.readers import pdftext, read_document
from parasearch.types import ANNEX, NUMBERED, PREAMBLE, DocumentError
from tests.conftest import IN_CI

REPO = Path(__file__).resolve().parents[1]
GA = REPO.parent / "shared" / "corpus" / "ga"

pytestmark = pytest.mark.skipif(not GA.exists() and not IN_CI, reason=f"shared test corpus not found at {GA}")


def parse(symbol: str, kind: str = "text"):
    name = symbol.replace("/", "_")
    path = GA / kind / (name + (".txt" if kind == "text" else ".pdf"))
    return read_document(path, {"symbol": symbol})


def by_para(parsed) -> dict:
    return {p.para: p for p in parsed.paragraphs}


FURNITURE = re.compile(r"A/RES/79/191|24-24134|\b\d{1,2}/17\b|_{5,}|\*2424134\*")


def test_resolution_paragraphs_have_no_running_headers_page_numbers_or_footnotes() -> None:
    parsed = parse("A/RES/79/191")
    assert parsed.doc.symbol == "A/RES/79/191"
    assert parsed.doc.date == "2024-12-18"
    assert parsed.doc.title.startswith("79/191. Addressing and countering the world drug problem")
    for p in parsed.paragraphs:
        assert not FURNITURE.search(p.text), (p.para, FURNITURE.search(p.text).group(0))
        assert "Official Records of the Economic and Social Council" not in p.text, p.para  # footnote 4
        assert "Addressing and countering the world drug problem through a" not in p.text, p.para
    ps = by_para(parsed)
    # footnote markers 1-3 ("Protocol, 1 the ...", "1988 3  and") are gone
    assert ps["preamble-1"].text == (
        "Underscoring that the Single Convention on Narcotic Drugs of 1961 as amended by the 1972 Protocol, "
        "the Convention on Psychotropic Substances of 1971, the United Nations Convention against Illicit "
        "Traffic in Narcotic Drugs and Psychotropic Substances of 1988 and other relevant international "
        "instruments constitute the cornerstone of the international drug control system,"
    )
    assert (
        "Human Rights,9" not in ps["preamble-4"].text
        and "Human Rights, and recalling" in ps["preamble-4"].text
    )


def test_paragraph_broken_across_a_page_is_whole() -> None:
    ps = by_para(parse("A/80/L.10"))
    one = ps["1"].text
    assert one.startswith("Urges Member States to observe the Olympic Truce individually and collectively")
    assert (
        "until the seventh day following the end of the XIV Paralympic Winter Games, to be held in "
        "Milano-Cortina in 2026, in particular" in one
    )
    assert one.endswith("to the safe organization of the Games;")
    assert "Treaty Series" not in one and "5/5" not in one and "25-17857" not in one
    # a preambular paragraph cut by a page break, and a real hyphen at a line end
    assert ps["preamble-16"].text.endswith(
        "including through measures aimed at reducing environmental impact, "
        "promoting resilient and sustainable infrastructure and ensuring "
        "lasting benefits for local populations and future generations,"
    )
    assert "the most gender-balanced in the history" in ps["preamble-17"].text


def test_preamble_and_operative_locators() -> None:
    parsed = parse("A/80/L.10")
    pre = [p.para for p in parsed.paragraphs if p.kind == PREAMBLE]
    ops = [p.para for p in parsed.paragraphs if p.kind == NUMBERED]
    assert pre == [f"preamble-{i}" for i in range(1, 33)]
    assert ops == [str(i) for i in range(1, 10)]
    ps = by_para(parsed)
    assert ps["preamble-1"].text.startswith("Recalling its resolution 78/10 of 21 November 2023")
    assert ps["preamble-4"].text.endswith(
        "as declared in the 2005 World Summit Outcome, sports can contribute to "
        "an atmosphere of tolerance and understanding among peoples and nations,"
    )
    assert parsed.doc.type == "draft resolution"
    assert parsed.doc.title == "Building a peaceful and better world through sport and the Olympic ideal"


def test_sub_items_stay_in_their_paragraph_and_annex_numbering_is_separate() -> None:
    parsed = parse("A/RES/79/1")
    locs = [p.para for p in parsed.paragraphs]
    assert len(locs) == len(set(locs))
    body = [p.para for p in parsed.paragraphs if p.kind == NUMBERED]
    assert body == [str(i) for i in range(1, len(body) + 1)] and len(body) >= 60
    annex = [p.para for p in parsed.paragraphs if p.kind == ANNEX]
    assert "annex-I-1" in annex and "annex-II-1" in annex
    assert by_para(parsed)["annex-I-1"].section.startswith("Annex I")


def test_sections_that_restart_numbering_get_section_locators() -> None:
    parsed = parse("A/RES/79/258")
    locs = [p.para for p in parsed.paragraphs]
    assert len(locs) == len(set(locs))
    assert "sect-I-1" in locs and "sect-II-1" in locs and "sect-XII-3" in locs
    assert not any(p.kind == NUMBERED and p.para.isdigit() for p in parsed.paragraphs)


def test_restarted_list_inside_an_operative_paragraph_is_folded() -> None:
    # A/RES/78/223 para 11 approves an agenda numbered 1.-7. inside the paragraph
    parsed = parse("A/RES/78/223")
    ops = [p.para for p in parsed.paragraphs if p.kind == NUMBERED]
    assert ops == [str(i) for i in range(1, len(ops) + 1)]
    ps = by_para(parsed)
    assert ps["11"].text.startswith("Approves the following provisional agenda for the Fifteenth Congress")
    assert "\n2. Organizational matters.\n" in ps["11"].text
    assert [k for k in ops if "Organizational matters" in ps[k].text] == ["11"]
    assert ps["2"].text.startswith("Welcomes the initiative of the Government of Japan")


def test_pdf_parses_to_the_same_paragraphs_as_its_text_twin() -> None:
    for symbol in ("A/RES/79/191", "A/80/L.8"):
        a, b = parse(symbol, "pdf"), parse(symbol, "text")
        assert [p.para for p in a.paragraphs] == [p.para for p in b.paragraphs], symbol
        for pa, pb in zip(a.paragraphs, b.paragraphs, strict=True):
            assert pa.text == pb.text, (symbol, pa.para)
            assert pa.section == pb.section and pa.kind == pb.kind
        assert a.doc.symbol == b.doc.symbol and a.doc.date == b.doc.date and a.doc.title == b.doc.title


def test_plaintext_reader_detects_pdf_text() -> None:
    text = (GA / "text" / "A_80_L.10.txt").read_text(encoding="utf-8")
    assert pdftext.looks_like_pdf_text(text)
    assert not pdftext.looks_like_pdf_text("1. A plain paragraph.\n\n2. Another one.\n")


def test_corrupt_and_fake_pdfs_are_refused(tmp_path: Path) -> None:
    from indexer.readers import pdf

    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.7\n this is not really a pdf \x00\x01\x02")
    with pytest.raises(DocumentError, match="corrupt PDF"):
        pdf.read(bad)
    fake = tmp_path / "fake.pdf"
    fake.write_text("plain text with a pdf name", encoding="utf-8")
    with pytest.raises(DocumentError, match="PDF"):
        pdf.read(fake)
    import pymupdf

    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "1. A paragraph behind a password.")
    locked = tmp_path / "locked.pdf"
    doc.save(str(locked), encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="u", owner_pw="o")
    with pytest.raises(DocumentError, match="corrupt PDF: encrypted"):
        pdf.read(locked)
    blank = tmp_path / "scanned.pdf"
    empty = pymupdf.open()
    empty.new_page()
    empty.save(str(blank))
    with pytest.raises(DocumentError, match="no text layer"):
        pdf.read(blank)
