"""Readers turn one file into a :class:`~parasearch.types.ParsedDocument`.

Each reader module exposes ``read(path: Path) -> ParsedDocument`` and raises
:class:`~parasearch.types.DocumentError` with a reason a person understands
when the file is not a readable document. :func:`read_document` picks the
reader by extension (and, for ambiguous names, by content) and applies the
manifest's metadata on top of what the document itself says.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from parasearch.settings import default, settings
from parasearch.types import DocumentError, Paragraph, ParsedDocument, year_from_symbol

SUFFIXES = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "plaintext",
    ".text": "plaintext",
    ".pdf": "pdf",
    ".docx": "docx",
    ".xml": "akn",
    ".akn": "akn",
}

MANIFEST_FIELDS = ("symbol", "title", "date", "body", "type", "language")

MAX_FILE_BYTES_ENV = "PARASEARCH_MAX_FILE_BYTES"
# the largest UN reports run to a few MB as PDF, well under 1 MB as text: 50 MiB
DEFAULT_MAX_FILE_BYTES: int = default("max_file_bytes")


def max_file_bytes() -> int:
    """The largest file a reader is given (``PARASEARCH_MAX_FILE_BYTES``, default 50 MiB; 0: no limit)."""
    return settings().max_file_bytes


def supported(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES


def _check_not_empty_or_binary(path: Path, kind: str) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DocumentError(f"cannot read file: {exc.strerror or exc}") from exc
    if size == 0:
        raise DocumentError("empty file")
    limit = max_file_bytes()
    if limit and size > limit:
        raise DocumentError(f"file of {size / 2**20:,.1f} MiB is larger than {MAX_FILE_BYTES_ENV}="
                            f"{limit} bytes ({limit / 2**20:,.1f} MiB); not read")
    if kind in ("markdown", "plaintext", "akn"):
        head = path.read_bytes()[:8192]
        if b"\x00" in head:
            raise DocumentError(f"binary content in a {path.suffix} file (not text)")
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character may be cut at the 8 KiB boundary.
            if exc.start < len(head) - 4:
                raise DocumentError(f"not UTF-8 text (byte {exc.start}: {exc.reason})") from exc


def read_document(path: Path, meta: Mapping[str, Any] | None = None) -> ParsedDocument:
    """Read ``path`` with the reader for its format; manifest ``meta`` wins over the file's own."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DocumentError(f"unsupported file type {path.suffix or '(none)'}")
    _check_not_empty_or_binary(path, kind)
    read = _reader(kind)
    for key in MANIFEST_FIELDS:  # checked before reading: a bad value must not surface after the embedding
        value = (meta or {}).get(key)
        if value is not None and not isinstance(value, str):
            raise DocumentError(f"metadata {key!r} must be text, not {type(value).__name__}")
    parsed = read(path)
    for key in MANIFEST_FIELDS:
        value = (meta or {}).get(key)
        if value:
            setattr(parsed.doc, key, value)
    parsed.doc.source = str(path)
    if not parsed.doc.symbol:
        raise DocumentError("no document symbol: not in a manifest and none found in the document")
    if not parsed.doc.date and (year := year_from_symbol(parsed.doc.symbol)):
        parsed.doc.date = str(year)  # only the year is known: "2019", not a made-up day
    parsed.paragraphs = [p for p in parsed.paragraphs if p.text.strip()]
    if not parsed.paragraphs:
        raise DocumentError("no paragraphs of text found")
    _drop_repeated_locators(parsed)
    return parsed


def _reader(kind: str) -> Callable[[Path], ParsedDocument]:
    """The ``read`` function of the reader module for ``kind`` (imported on first use)."""
    if kind == "markdown":
        from indexer.readers import markdown

        return markdown.read
    if kind == "plaintext":
        from indexer.readers import plaintext

        return plaintext.read
    if kind == "pdf":
        from indexer.readers import pdf

        return pdf.read
    if kind == "docx":
        from indexer.readers import docx

        return docx.read
    from indexer.readers import akn

    return akn.read


def _drop_repeated_locators(parsed: ParsedDocument) -> None:
    """A locator must name one paragraph: keep the first, leave out (and report) any repeat."""
    seen: set[str] = set()
    kept: list[Paragraph] = []
    for p in parsed.paragraphs:
        if p.para in seen:
            parsed.warnings.append(f"paragraph locator {p.para!r} found twice; the later one was left out")
            continue
        seen.add(p.para)
        kept.append(p)
    parsed.paragraphs = kept
