"""indexer.readers.akn on a tiny AKN4UN resolution written inline: metadata, preambular and operative paragraphs,
sub-items, footnotes, an annex, and the repairs the reader makes to numbers typed into the text."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from indexer.readers import akn, read_document
from parasearch.errors import DocumentError
from parasearch.types import ANNEX, NUMBERED, PREAMBLE

NS = "http://docs.oasis-open.org/legaldocml/ns/akn/3.0"


def resolution(body: str, *, language: str = "fra", doc_number: str = "S/RES/9999(2099)",
               attachments: str = "") -> str:
    return f"""<akomaNtoso xmlns="{NS}">
  <statement name="resolution">
    <meta><identification source="#DGACM">
      <FRBRWork><FRBRthis value="/akn/un/statement/deliberation/unsc/2099-03-15/9999-2099/!main/"/>
        <FRBRdate date="2099-03-15" name="adoption"/><FRBRauthor href="sc" as="author"/></FRBRWork>
      <FRBRExpression><FRBRlanguage language="{language}"/></FRBRExpression>
    </identification></meta>
    <preface><p><docNumber>{doc_number}</docNumber></p>
      <p><docTitle refersTo="#resolutionNumber">Résolution 9999 (2099)</docTitle></p></preface>
    <preamble>
      <formula name="enactingFormula"><p><span class="italic">Le Conseil de sécurité</span>,</p></formula>
      <container name="Rappelant"><p><span class="italic">Rappelant</span> ses résolutions antérieures<authorialNote
        marker="1"><p>Voir S/RES/1 (1946).</p></authorialNote>,</p></container>
      <container name="Notant"><p><span class="italic">Notant</span> le rapport du Secrétaire général,</p></container>
    </preamble>
    <mainBody>{body}</mainBody>
    {attachments}
  </statement>
</akomaNtoso>"""


OPERATIVE = """
      <paragraph><num>1.</num><content><p><span class="italic">Décide</span> de proroger le mandat;</p></content>
      </paragraph>
      <paragraph><num>2.</num><list><intro><p><span class="italic">Prie</span> le Secrétaire général :</p></intro>
        <point><num>(a)</num><content><p>de faire rapport;</p></content></point>
        <point><num>(b)</num><content><p>de tenir le Conseil informé;</p></content></point></list></paragraph>
      <paragraph><num>3.</num><content><p><span class="italic">Décide</span> de demeurer saisi de la question.</p>
      </content></paragraph>"""

ANNEXED = """<attachments><attachment><doc name="annex"><mainBody>
      <paragraph><num>1.</num><content><p>Le Groupe d'experts est composé de cinq membres.</p></content></paragraph>
      <paragraph><num>2.</num><content><p>Il fait rapport tous les six mois.</p></content></paragraph>
    </mainBody></doc></attachment></attachments>"""


def parse(xml: str):
    return akn.parse_tree(etree.fromstring(xml.encode()), "inline.xml")


def test_metadata() -> None:
    doc = parse(resolution(OPERATIVE)).doc
    assert doc.symbol == "S/RES/9999 (2099)"  # normalised from <docNumber>S/RES/9999(2099)
    assert doc.title == "Résolution 9999 (2099)"
    assert doc.date == "2099-03-15"
    assert doc.language == "fr"
    assert (doc.body, doc.type) == ("Security Council", "resolution")


def test_preamble_operative_paragraphs_and_sub_items() -> None:
    parsed = parse(resolution(OPERATIVE))
    assert [(p.para, p.kind, p.text) for p in parsed.paragraphs] == [
        ("preamble-1", PREAMBLE, "Rappelant ses résolutions antérieures,"),  # the footnote is not text
        ("preamble-2", PREAMBLE, "Notant le rapport du Secrétaire général,"),
        ("1", NUMBERED, "Décide de proroger le mandat;"),
        ("2", NUMBERED, "Prie le Secrétaire général :\n(a) de faire rapport;\n(b) de tenir le Conseil informé;"),
        ("3", NUMBERED, "Décide de demeurer saisi de la question."),
    ]
    assert parsed.warnings == []


def test_annex_paragraphs_are_annex_locators() -> None:
    ps = parse(resolution(OPERATIVE, attachments=ANNEXED)).paragraphs
    annex = [(p.para, p.kind, p.text) for p in ps if p.kind == ANNEX]
    assert annex == [("annex-1", ANNEX, "Le Groupe d'experts est composé de cinq membres."),
                     ("annex-2", ANNEX, "Il fait rapport tous les six mois.")]


def test_a_number_typed_into_the_text_is_the_paragraph_number() -> None:
    body = OPERATIVE + """
      <paragraph><content><p>4 - <span class="italic">Prie</span> les États Membres de coopérer.</p></content>
      </paragraph>"""
    parsed = parse(resolution(body))
    ps = {p.para: p.text for p in parsed.paragraphs}
    assert ps["4"] == "Prie les États Membres de coopérer."


def test_symbol_from_the_frbr_identifier_when_the_printed_one_is_empty() -> None:
    parsed = parse(resolution(OPERATIVE, doc_number=""))
    assert parsed.doc.symbol == "S/RES/9999 (2099)"
    assert any("FRBR" in w for w in parsed.warnings)


def test_files_through_the_dispatcher(tmp_path: Path) -> None:
    path = tmp_path / "S_RES_9999_F.xml"
    path.write_text(resolution(OPERATIVE), encoding="utf-8")
    assert [p.para for p in read_document(path).paragraphs] == ["preamble-1", "preamble-2", "1", "2", "3"]
    (tmp_path / "broken.xml").write_text("<akomaNtoso><statement>", encoding="utf-8")
    with pytest.raises(DocumentError, match="malformed XML"):
        akn.read(tmp_path / "broken.xml")
    (tmp_path / "other.xml").write_text("<html/>", encoding="utf-8")
    with pytest.raises(DocumentError, match="not an Akoma Ntoso"):
        akn.read(tmp_path / "other.xml")


def test_helpers() -> None:
    assert akn.normalize_res_symbol(" S/RES/2561(2021) ") == "S/RES/2561 (2021)"
    assert akn.top_number("12.") == 12
    assert akn.top_number("(a)") is None
    assert akn.annex_label("Annex II") == "II"
