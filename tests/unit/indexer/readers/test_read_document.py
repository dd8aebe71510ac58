"""indexer.readers.read_document: the reader picked by the file's extension, the manifest's metadata on top of the
document's own, a date from the symbol when none is printed, and refusals that say why."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.readers import read_document, supported
from parasearch.errors import DocumentError
from parasearch.types import Document, Paragraph, ParsedDocument

NOTE = "CTOC/COP/WG.2/2099/1\n\n# Note by the Secretariat\n\n1. The Working Group met.\n\n2. It adopted a report.\n"


def test_reader_by_extension_and_manifest_metadata_on_top(tmp_path: Path) -> None:
    path = tmp_path / "note.md"
    path.write_text(NOTE, encoding="utf-8")
    parsed = read_document(path)
    assert (parsed.doc.symbol, parsed.doc.title) == ("CTOC/COP/WG.2/2099/1", "Note by the Secretariat")
    assert [p.para for p in parsed.paragraphs] == ["1", "2"]
    assert parsed.doc.source == str(path)
    parsed = read_document(path, {"symbol": "CTOC/COP/WG.2/2099/2", "date": "2099-10-12", "language": ""})
    assert (parsed.doc.symbol, parsed.doc.date, parsed.doc.language) == ("CTOC/COP/WG.2/2099/2", "2099-10-12", "en")


def test_the_year_a_symbol_names_is_the_date_when_none_is_printed(tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    path.write_text("1. The Special Rapporteur reports.\n\n2. She recommends.\n", encoding="utf-8")
    assert read_document(path, {"symbol": "A/HRC/40/59"}).doc.date == "2019"  # 40th session: 2019
    assert read_document(path, {"symbol": "A/65/162"}).doc.date == "2010"


def test_a_locator_found_twice_is_kept_once_and_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from indexer.readers import markdown

    def twice(path: Path) -> ParsedDocument:  # a reader that gives one locator to two paragraphs
        return ParsedDocument(Document("X/1"), [Paragraph("5", "First."), Paragraph("5", "Again."),
                                                Paragraph("6", "  "), Paragraph("7", "Last.")])

    monkeypatch.setattr(markdown, "read", twice)
    path = tmp_path / "twice.md"
    path.write_text(NOTE, encoding="utf-8")
    parsed = read_document(path)
    assert [(p.para, p.text) for p in parsed.paragraphs] == [("5", "First."), ("7", "Last.")]  # no empty one
    assert parsed.warnings == ["paragraph locator '5' found twice; the later one was left out"]


@pytest.mark.parametrize(("name", "content", "meta", "reason"), [
    ("slides.pptx", b"x", None, "unsupported file type .pptx"),
    ("empty.md", b"", None, "empty file"),
    ("binary.txt", b"\x00\x01\x02", None, "binary content"),
    ("latin1.txt", "R\u00e9solution 1.".encode("latin-1") + b" " * 20, None, "not UTF-8"),
    ("nosymbol.md", b"1. A paragraph.\n", None, "no document symbol"),
    ("nothing.md", b"---\nsymbol: X/1\n---\n", None, "no paragraphs"),
    ("badmeta.md", NOTE.encode(), {"date": 2024}, "metadata 'date' must be text"),
])
def test_refusals_say_why(tmp_path: Path, name: str, content: bytes, meta: dict | None, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentError, match=reason):
        read_document(path, meta)


def test_file_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARASEARCH_MAX_FILE_BYTES", "10")
    path = tmp_path / "note.md"
    path.write_text(NOTE, encoding="utf-8")
    with pytest.raises(DocumentError, match="larger than PARASEARCH_MAX_FILE_BYTES"):
        read_document(path)


def test_supported() -> None:
    assert all(supported(Path(f"x{s}")) for s in (".md", ".TXT", ".pdf", ".docx", ".xml", ".akn"))
    assert not supported(Path("x.doc"))
