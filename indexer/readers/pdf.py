"""PDF reader: pymupdf text, page by page, parsed exactly like raw PDF text (``pdftext``).

The page text is rebuilt from pymupdf's ``dict`` output line by line, which gives the same
lines as ``page.get_text()`` (the form of the ``ga/text/`` files) but knows each span's font
flags: spans set as superscript that hold only digits or asterisks are footnote markers and
are dropped here, exactly, so the text-side marker heuristics are switched off
(``markers_removed=True``). Everything else -- running headers, footnote blocks, page joins,
paragraph structure, metadata -- is :func:`indexer.readers.pdftext.parse_pages`.

A PDF without a text layer (scanned) has no paragraphs to cite and is refused, as are
encrypted and corrupt files, all with ``DocumentError("corrupt PDF: <why>")``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from indexer.readers import pdftext
from parasearch.types import DocumentError, ParsedDocument

_MARKER_SPAN = re.compile(r"^\s*[\d*]{1,4}(?:\s*,\s*[\d*]{1,4})*\s*$")
_SUPERSCRIPT = 1  # pymupdf span flag bit


def page_texts(path: Path) -> list[str]:
    """Text of each page, superscript footnote markers removed."""
    try:
        import pymupdf
    except ImportError as exc:  # pragma: no cover - pymupdf is a project dependency
        raise DocumentError("PDF support is not installed (pymupdf)") from exc
    try:
        doc = pymupdf.open(str(path))  # type: ignore[no-untyped-call]  # pymupdf is partly annotated
    except Exception as exc:  # pymupdf raises its own FileDataError / RuntimeError kinds
        raise DocumentError(f"corrupt PDF: {exc}") from exc
    try:
        if doc.needs_pass or doc.is_encrypted and not doc.authenticate(""):  # type: ignore[no-untyped-call]
            raise DocumentError("corrupt PDF: encrypted (password protected), its text cannot be read")
        if not doc.is_pdf:
            raise DocumentError("corrupt PDF: not a PDF file")
        pages: list[str] = []
        for page in doc:  # type: ignore[attr-defined]  # iterable (by __getitem__), not annotated so
            pages.append(_page_text(page))
    except DocumentError:
        raise
    except Exception as exc:
        raise DocumentError(f"corrupt PDF: {exc}") from exc
    finally:
        doc.close()  # type: ignore[no-untyped-call]
    return pages


def _page_text(page: Any) -> str:  # a pymupdf.Page, whose get_text is not annotated
    lines: list[str] = []
    for block in page.get_text("dict")["blocks"]:
        if block.get("type", 0) != 0:
            continue
        for line in block["lines"]:
            spans = [
                sp["text"]
                for sp in line["spans"]
                if not (sp["flags"] & _SUPERSCRIPT and _MARKER_SPAN.match(sp["text"]))
            ]
            lines.append("".join(spans))
    return "\n".join(lines) + "\n"


def read(path: Path) -> ParsedDocument:
    pages = page_texts(path)
    if not any(p.strip() for p in pages):
        raise DocumentError("corrupt PDF: no text layer (a scanned image?), nothing to cite")
    return pdftext.parse_pages(pages, markers_removed=True, source=str(path))
