"""AKN4UN reader on the real Security Council files, plus broken inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval import akn_check
from indexer.paragraphs import annex_label
from indexer.readers import akn, read_document
from parasearch.types import ANNEX, NUMBERED, PREAMBLE, UNNUMBERED, DocumentError
from tests.conftest import missing_shared

SC = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "sc"


def sc_file(rel: str) -> Path:
    path = SC / rel
    if not path.exists():
        missing_shared(f"shared corpus file {path} not available (../shared/corpus/sc is read-only test data)")
    return path


def paras(path: Path) -> dict[str, akn.Paragraph]:
    parsed = akn.read(path)
    out = {p.para: p for p in parsed.paragraphs}
    assert len(out) == len(parsed.paragraphs), "locators must be unique"
    return out


def test_metadata_same_symbol_across_languages() -> None:
    en = akn.read(sc_file("en/SC_2561_2021-E.xml")).doc
    fr = akn.read(sc_file("fr/SC_2561_2021-F.xml")).doc
    assert en.symbol == fr.symbol == "S/RES/2561 (2021)"
    assert en.date == fr.date == "2021-01-29"
    assert (en.language, fr.language) == ("en", "fr")
    assert (en.title, fr.title) == ("Resolution 2561 (2021)", "Résolution 2561 (2021)")
    assert en.body == fr.body == "Security Council"
    assert en.type == fr.type == "resolution"


def test_symbol_normalised_and_recovered() -> None:
    # zh writes "S/RES/2672(2023)" on some files; one file has an empty <docNumber>.
    assert akn.read(sc_file("zh/S_RES_2672_C.xml")).doc.symbol == "S/RES/2672 (2023)"
    parsed = akn.read(sc_file("zh/SC_2563_2021-C.xml"))
    assert parsed.doc.symbol == "S/RES/2563 (2021)"
    assert any("FRBR" in w for w in parsed.warnings)
    assert akn.normalize_res_symbol(" S/RES/2561(2021) ") == "S/RES/2561 (2021)"


def test_operative_preamble_and_subitems() -> None:
    p = paras(sc_file("en/SC_2561_2021-E.xml"))
    assert p["preamble-1"].kind == PREAMBLE
    assert p["preamble-1"].text.startswith("Welcoming the report of the Secretary-General of 10 January 2021")
    assert p["1"].kind == NUMBERED
    assert p["1"].text.startswith(
        "Reaffirms all its relevant resolutions on Cyprus, in particular resolution 1251"
    )
    assert p["18"].text == "Decides to remain seized of the matter."
    assert "19" not in p
    # Sub-items stay in their paragraph, one per line, with their own label.
    lines = p["4"].text.split("\n")
    assert lines[0] == "Recalls its resolution 2537 (2020) and calls upon the two leaders urgently to:"
    assert lines[1].startswith("(a) provide the necessary political support and overall guidance")
    assert lines[2].startswith("(b) engage the Technical Committees more actively")
    assert "(c) ensure effective coordination and cooperation on criminal matters;" in lines
    for para in p.values():
        assert "  " not in para.text and "\t" not in para.text and "<" not in para.text


def test_french_subitems_keep_their_labels() -> None:
    p = paras(sc_file("fr/SC_2561_2021-F.xml"))
    lines = p["4"].text.split("\n")
    assert lines[0].startswith("Rappelle sa résolution 2537 (2020)")
    assert lines[1].startswith("a) ")


def test_footnotes_left_out() -> None:
    p = paras(sc_file("en/S_RES_2558 (2020)-2017560E.xml"))
    text = p["preamble-8"].text
    assert "sustaining peace, and the valuable inputs" in text
    assert "A/74/976" not in text


def test_operative_paragraph_nested_in_previous_list() -> None:
    # S/RES/2820 (2026): the markup puts operative paragraph 5 inside sub-item (d) of paragraph 4.
    p = paras(sc_file("en/S_RES_2820-2606294E.xml"))
    assert p["5"].text.startswith("Decides to reduce the overall force levels of UNMISS")
    assert "Decides to reduce" not in p["4"].text
    assert [k for k in p if p[k].kind == NUMBERED] == [str(n) for n in range(1, 14)]


def test_arabic_numbers_typed_in_text() -> None:
    # S/RES/2633 (2022) in Arabic: no <num>, the numbers are typed ("1 - يقرر ...").
    parsed = akn.read(sc_file("ar/S_RES_2633 (2022)-2208026A.xml"))
    p = {x.para: x for x in parsed.paragraphs}
    assert p["1"].text.startswith("يقرر أن يجدد حتى 31 أيار/مايو 2023")
    assert not p["1"].text.startswith("1")
    assert p["1"].section  # "Arms embargo and inspections" heading
    assert parsed.doc.language == "ar"


def test_annex_locators() -> None:
    p = paras(sc_file("en/S_RES_2662-2226129E.xml"))
    assert p["annex-A-1"].kind == ANNEX
    assert p["annex-A-1"].text.startswith("Surface to air missiles")
    assert p["annex-A-1"].section.startswith("Annex A")
    assert p["annex-B-1"].text.startswith("All types of weapons with a calibre up to 14.7mm")
    # "Part II" of annex C restarts at 1: kept, with its printed number, under an unnumbered locator.
    part2 = [x for x in p.values() if x.kind == UNNUMBERED and x.section.startswith("Annex C")]
    assert part2 and part2[0].text.startswith("1. Explosive materials")


def test_presidential_statement() -> None:
    parsed = akn.read(sc_file("en/S_PRST_2020_11.xml"))
    assert parsed.doc.symbol == "S/PRST/2020/11"
    assert parsed.doc.type == "presidential statement"
    assert all(p.kind == UNNUMBERED for p in parsed.paragraphs)
    assert parsed.paragraphs[0].para == "u-0-1"


def test_every_top_level_number_recovered_in_sc_en() -> None:
    folder = SC / "en"
    if not folder.is_dir():
        missing_shared(f"{folder} not available")
    report = akn_check.NumberingReport()
    for path in sorted(folder.glob("*.xml")):
        akn_check.check_file(path, report)
    assert report.errors == []
    assert report.missing == []
    assert report.marked_up > 5000
    assert report.marked_up == report.operative + report.annex + report.kept_unnumbered
    assert report.gaps == []
    assert report.recall == 1.0


def test_check_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m eval.akn_check DIR...``: one line per folder, exit 1 when a file cannot be read."""
    folder = tmp_path / "en"
    folder.mkdir()
    (folder / "S_RES_2672_E.xml").write_bytes(sc_file("en/S_RES_2672_E.xml").read_bytes())
    assert akn_check.main([str(folder)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{folder}: 1 files,") and "missing 0;" in out and "errors: 0" in out
    (folder / "broken.xml").write_text("<akomaNtoso><statement>", encoding="utf-8")
    assert akn_check.main([str(folder)]) == 1
    assert "broken.xml: malformed XML" in capsys.readouterr().out


def test_annex_labels_in_six_languages() -> None:
    """The annex headings of the SC files (one annex_label for every reader: indexer.paragraphs)."""
    assert annex_label("Annex") == ""  # unlabelled: locators annex-N
    assert annex_label("Annex A – Items subject to a no-objection process") == "A"
    assert annex_label("ANNEX 1 - President Donald J. Trump's Comprehensive Plan") == "1"
    assert annex_label("Designation Annex") is None
    assert annex_label("Annexe II") == "II"
    assert annex_label("Anexo B – Componentes de artefactos explosivos improvisados") == "B"
    assert annex_label("Anexo de designación") is None
    assert annex_label("Приложение В") == "B"  # Cyrillic Ve, printed for Latin B
    assert annex_label("Приложение: внесение в санкционный перечень") is None
    assert annex_label("附件一") == "I"
    assert annex_label("附件 A") == "A"
    assert annex_label("المرفق ألف") == "A"
    assert annex_label("المرفق الثاني") == "II"
    assert annex_label("المرفق 1") == "1"
    assert annex_label("مرفق: اسمان تسري عليهما الجزاءات") is None


def test_dispatch_through_read_document() -> None:
    parsed = read_document(sc_file("en/S_RES_2672_E.xml"))
    assert parsed.doc.symbol == "S/RES/2672 (2023)"
    assert parsed.doc.source.endswith("S_RES_2672_E.xml")


def test_malformed_xml(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text('<akomaNtoso xmlns="http://docs.oasis-open.org/legaldocml/ns/akn/3.0"><statement>')
    with pytest.raises(DocumentError, match=r"^malformed XML: "):
        akn.read(bad)


def test_not_akn(tmp_path: Path) -> None:
    other = tmp_path / "feed.xml"
    other.write_text('<?xml version="1.0"?><rss version="2.0"><channel/></rss>')
    with pytest.raises(DocumentError, match=r"^not an Akoma Ntoso \(AKN4UN\) document: root element <rss>$"):
        akn.read(other)
    wrong_ns = tmp_path / "old.xml"
    wrong_ns.write_text('<akomaNtoso xmlns="http://www.akomantoso.org/2.0"><act/></akomaNtoso>')
    with pytest.raises(DocumentError, match=r"root element <akomaNtoso> in namespace"):
        akn.read(wrong_ns)


def test_minimal_document(tmp_path: Path) -> None:
    xml = """<akomaNtoso xmlns="http://docs.oasis-open.org/legaldocml/ns/akn/3.0">
      <statement name="resolution"><meta><identification source="#x">
        <FRBRWork><FRBRthis value="/akn/un/statement/deliberation/unsc/2024-01-02/2999-2024/!main/"/>
          <FRBRdate date="2024-01-02" name="adoption"/></FRBRWork>
        <FRBRExpression><FRBRlanguage language="spa"/></FRBRExpression></identification></meta>
      <coverPage><p><docNumber>S/RES/2999(2024)</docNumber></p></coverPage>
      <preamble><formula><p>El Consejo de Seguridad,</p></formula>
        <container name="Recordando"><p>Recordando algo<authorialNote marker="1"><p>Nota.</p>
          </authorialNote>,</p></container>
      </preamble>
      <mainBody>
        <paragraph><num>1.</num><list><intro><p>Decide:</p></intro>
          <point><num>a)</num><content><p>uno;</p></content></point>
          <point><num>b)</num><content><p>dos;</p></content></point></list></paragraph>
        <paragraph><num>2.</num>
          <content><p>Decide seguir\tocupándose   de la cuestión.</p></content></paragraph>
      </mainBody></statement></akomaNtoso>"""
    path = tmp_path / "res.xml"
    path.write_text(xml, encoding="utf-8")
    parsed = akn.read(path)
    assert (parsed.doc.symbol, parsed.doc.date, parsed.doc.language) == (
        "S/RES/2999 (2024)",
        "2024-01-02",
        "es",
    )
    assert parsed.doc.title == "Security Council resolution 2999 (2024)"
    got = [(p.para, p.text) for p in parsed.paragraphs]
    assert got == [
        ("preamble-1", "Recordando algo,"),
        ("1", "Decide:\na) uno;\nb) dos;"),
        ("2", "Decide seguir ocupándose de la cuestión."),
    ]
