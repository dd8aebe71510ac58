"""indexer.readers.docx on a resolution built with python-docx in tmp_path: typed and automatic numbers, the
preamble, sub-items, headings and an annex, and the metadata of the document's properties and cover."""

from __future__ import annotations

from pathlib import Path

import docx
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from indexer.readers import docx as reader
from indexer.readers import read_document
from parasearch.types import ANNEX, NUMBERED, PREAMBLE


def auto_numbered(document, texts: list[str], num_id: int = 7) -> None:
    """Paragraphs numbered by Word (1., 2., ...: a list in numbering.xml), not typed."""
    numbering = document.part.numbering_part.element
    numbering.insert(0, parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{num_id}"><w:lvl w:ilvl="0"><w:start w:val="1"/>'
        '<w:numFmt w:val="decimal"/><w:lvlText w:val="%1."/></w:lvl></w:abstractNum>'))
    numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="{num_id}"><w:abstractNumId w:val="{num_id}"/>'
                               '</w:num>'))
    for text in texts:
        p = document.add_paragraph(text)
        num_pr = p._p.get_or_add_pPr().get_or_add_numPr()
        num_pr.get_or_add_ilvl().val = 0
        num_pr.get_or_add_numId().val = num_id


def build(path: Path) -> Path:
    d = docx.Document()
    d.core_properties.title = "Strengthening cooperation on drug control"
    d.core_properties.language = "en-GB"
    for line in ("A/RES/78/999", "Distr.: General", "20 December 2023", "The General Assembly,",
                 "Recalling its resolution 77/100,", "Noting with concern the rise in synthetic drugs,"):
        d.add_paragraph(line)
    auto_numbered(d, ["Requests the Secretary-General to submit a report;", "Calls upon Member States to:"])
    d.add_paragraph("(a) Share information;")
    d.add_paragraph("(b) Train border officials;")
    d.add_paragraph("3. Decides to remain seized of the matter.")  # typed, continuing Word's numbering
    d.add_heading("Annex", level=1)
    d.add_paragraph("1. The first principle of the annex.")
    d.add_paragraph("2. The second principle of the annex.")
    out = path / "resolution.docx"
    d.save(str(out))
    return out


def test_paragraph_numbers_and_text(tmp_path: Path) -> None:
    parsed = reader.read(build(tmp_path))
    assert [(p.para, p.kind, p.text) for p in parsed.paragraphs] == [
        ("preamble-1", PREAMBLE, "Recalling its resolution 77/100,"),
        ("preamble-2", PREAMBLE, "Noting with concern the rise in synthetic drugs,"),
        ("1", NUMBERED, "Requests the Secretary-General to submit a report;"),
        ("2", NUMBERED, "Calls upon Member States to:\n(a) Share information;\n(b) Train border officials;"),
        ("3", NUMBERED, "Decides to remain seized of the matter."),
        ("annex-1", ANNEX, "The first principle of the annex."),
        ("annex-2", ANNEX, "The second principle of the annex."),
    ]
    assert parsed.paragraphs[-1].section == "Annex"


def test_metadata(tmp_path: Path) -> None:
    doc = read_document(build(tmp_path)).doc
    assert doc.symbol == "A/RES/78/999"
    assert doc.date == "2023-12-20"
    assert doc.title == "Strengthening cooperation on drug control"
    assert doc.language == "en"


def test_word_number_formats() -> None:
    assert [reader.format_number(n, "lowerLetter") for n in (1, 2, 26, 27)] == ["a", "b", "z", "aa"]
    assert reader.format_number(4, "upperRoman") == "IV"
    assert reader.format_number(9, "lowerRoman") == "ix"
    assert reader.format_number(7, "decimal") == "7"
