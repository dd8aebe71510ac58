"""Word reader: small .docx files built with python-docx, auto-numbering included."""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from indexer.readers import docx as reader
from indexer.readers import read_document
from parasearch.types import DocumentError

LEVELS = (("decimal", "%1."), ("lowerLetter", "(%2)"), ("lowerRoman", "(%3)"))


def add_list(
    document: docx.document.Document, num_id: int, abstract_id: int, start: int | None = None
) -> None:
    """A list definition in numbering.xml: 1. / (a) / (i), as UN documents number paragraphs."""
    numbering = document.part.numbering_part.element
    lvls = "".join(
        f'<w:lvl w:ilvl="{i}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/>'
        f'<w:lvlText w:val="{text}"/></w:lvl>'
        for i, (fmt, text) in enumerate(LEVELS)
    )
    if numbering.find(f".//{{*}}abstractNum[@{{*}}abstractNumId='{abstract_id}']") is None:
        abstract = parse_xml(
            f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{abstract_id}">{lvls}</w:abstractNum>'
        )
        numbering.insert(0, abstract)  # abstract definitions come before the list instances
    override = (
        f'<w:lvlOverride w:ilvl="0"><w:startOverride w:val="{start}"/></w:lvlOverride>' if start else ""
    )
    numbering.append(
        parse_xml(
            f'<w:num {nsdecls("w")} w:numId="{num_id}">'
            f'<w:abstractNumId w:val="{abstract_id}"/>{override}</w:num>'
        )
    )


def numbered(document: docx.document.Document, text: str, num_id: int, ilvl: int = 0) -> None:
    p = document.add_paragraph(text)
    num_pr = p._p.get_or_add_pPr().get_or_add_numPr()
    num_pr.get_or_add_ilvl().val = ilvl
    num_pr.get_or_add_numId().val = num_id


def build(path: Path) -> Path:
    d = docx.Document()
    d.core_properties.title = "Report of the Working Group on Technical Assistance"
    d.core_properties.language = "en-GB"
    d.add_paragraph("CTOC/COP/WG.2/2013/5")
    d.add_paragraph("Distr.: General")
    d.add_paragraph("19 November 2013")
    d.add_heading("I. Introduction", level=1)
    add_list(d, 90, 90)
    numbered(d, "The Working Group met in Vienna.", 90)
    numbered(d, "The Working Group recommended that States:", 90)
    numbered(d, "share information;", 90, 1)
    numbered(d, "provide assistance, including:", 90, 1)
    numbered(d, "training;", 90, 2)
    numbered(d, "Further recommended:", 90)
    numbered(d, "a new sub-list.", 90, 1)  # restarts at (a) under paragraph 3
    d.add_paragraph("4. A paragraph whose number is typed.")
    table = d.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "99. Not a paragraph"
    table.cell(0, 1).text = "cell"
    d.add_heading("A. Recommendations", level=2)
    add_list(d, 91, 90, start=5)  # a second list instance continuing at 5
    numbered(d, "Decides to remain seized of the matter.", 91)
    out = path / "report.docx"
    d.save(str(out))
    return out


def test_conversion_text(tmp_path: Path) -> None:
    converted, core = reader.docx_to_markdown(build(tmp_path))
    text = converted.text
    assert "# I. Introduction" in text
    assert "## A. Recommendations" in text
    assert "\n1. The Working Group met in Vienna." in text
    assert "2. The Working Group recommended that States:\n(a) share information;\n(b) provide" in text
    assert "(i) training;" in text
    assert "3. Further recommended:\n(a) a new sub-list." in text
    assert "5. Decides to remain seized of the matter." in text
    assert "99." not in text  # tables left out
    assert converted.tables == 1
    assert core["title"] == "Report of the Working Group on Technical Assistance"


def test_read_paragraphs_and_metadata(tmp_path: Path) -> None:
    parsed = reader.read(build(tmp_path))
    doc = parsed.doc
    assert doc.symbol == "CTOC/COP/WG.2/2013/5"
    assert doc.date == "2013-11-19"
    assert doc.title == "Report of the Working Group on Technical Assistance"
    assert doc.language == "en"
    p = {x.para: x for x in parsed.paragraphs}
    assert [x.para for x in parsed.paragraphs] == ["1", "2", "3", "4", "5"]
    assert p["1"].text == "The Working Group met in Vienna."
    assert p["1"].section == "I. Introduction"
    assert p["2"].text.split("\n") == [
        "The Working Group recommended that States:",
        "(a) share information;",
        "(b) provide assistance, including:",
        "(i) training;",
    ]
    assert p["3"].text == "Further recommended:\n(a) a new sub-list."
    assert p["4"].text == "A paragraph whose number is typed."
    assert p["5"].text == "Decides to remain seized of the matter."
    assert p["5"].section.endswith("A. Recommendations")
    assert any("table" in w for w in parsed.warnings)


def test_dispatch(tmp_path: Path) -> None:
    parsed = read_document(build(tmp_path), {"symbol": "X/1"})
    assert parsed.doc.symbol == "X/1"  # the manifest wins
    assert parsed.paragraphs[0].para == "1"


def test_word_number_formats() -> None:
    assert reader.format_number(2, "lowerLetter") == "b"
    assert reader.format_number(27, "lowerLetter") == "aa"
    assert reader.format_number(4, "upperRoman") == "IV"
    assert reader.format_number(9, "lowerRoman") == "ix"
    assert reader.format_number(3, "decimalZero") == "03"


def test_hidden_and_deleted_text_left_out(tmp_path: Path) -> None:
    d = docx.Document()
    p = d.add_paragraph("Visible")
    hidden = p.add_run(" secret")
    hidden.font.hidden = True
    p._p.append(
        parse_xml(
            f'<w:del {nsdecls("w")} w:id="1" w:author="x"><w:r><w:delText>gone</w:delText></w:r></w:del>'
        )
    )
    p._p.append(
        parse_xml(
            f'<w:ins {nsdecls("w")} w:id="2" w:author="x">'
            '<w:r><w:t xml:space="preserve"> text</w:t></w:r></w:ins>'
        )
    )
    out = tmp_path / "t.docx"
    d.save(str(out))
    converted, _ = reader.docx_to_markdown(out)
    assert converted.text.strip() == "Visible text"


def test_corrupt_files(tmp_path: Path) -> None:
    not_zip = tmp_path / "broken.docx"
    not_zip.write_bytes(b"\xd0\xcf\x11\xe0 an old binary Word file")
    with pytest.raises(DocumentError, match=r"^corrupt Word file: not a zip package"):
        reader.read(not_zip)
    no_document = tmp_path / "empty.docx"
    with zipfile.ZipFile(no_document, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
    with pytest.raises(DocumentError, match=r"^corrupt Word file: no word/document.xml"):
        reader.read(no_document)
    bad_xml = tmp_path / "badxml.docx"
    with zipfile.ZipFile(bad_xml, "w") as zf:
        zf.writestr("word/document.xml", "<w:document><w:body>")
    with pytest.raises(DocumentError, match=r"^corrupt Word file: broken XML"):
        reader.read(bad_xml)
    truncated = tmp_path / "truncated.docx"
    truncated.write_bytes(build(tmp_path).read_bytes()[:2000])
    with pytest.raises(DocumentError, match=r"^corrupt Word file"):
        reader.read(truncated)
