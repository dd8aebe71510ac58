"""Helpers the reader modules share; the package's ``__init__`` imports the readers, so they live here."""

from __future__ import annotations

from pathlib import Path

from parasearch.types import DocumentError


def read_utf8(path: Path, what: str) -> str:
    """The text of ``path`` (a BOM dropped), or a DocumentError naming ``what`` could not be read."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError(f"cannot read {what}: {exc}") from exc
