"""Markdown reader: metadata from the document's own front matter, paragraphs from
:func:`indexer.paragraphs.segment_text`.

Metadata found in the document (the manifest, applied by the dispatcher, overrides it):

* ``symbol``: a UN document symbol standing alone on a line near the top
  (``CTOC/COP/WG.2/2013/5``, ``A/80/L.10``), or a YAML front-matter ``symbol:``;
* ``date``: the date of the ``Distr.: General`` block (``19 November 2013`` -> ISO);
* ``title`` / ``body``: the headings before the first section heading or paragraph; the
  last of them is the title, an earlier one naming an organ ("Conference of the Parties
  ...", "General Assembly") is the body;
* ``type``: ``report`` when the title says so.
"""

from __future__ import annotations

import re
from pathlib import Path

from indexer.paragraphs import (
    DATE_RE,
    DISTR_RE,
    JOBNO_RE,
    NUM_RE,
    ORIGINAL_RE,
    SYMBOL_RE,
    clean_inline,
    find_date,
    heading_rank,
    segment_text,
)
from indexer.readers._common import read_utf8
from parasearch.types import Document, ParsedDocument

_FRONT_MATTER_RE = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
_MD_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
BODY_WORDS = re.compile(
    r"^(?:General Assembly|Security Council|Economic and Social Council|Human Rights Council|"
    r"Conference of the|Commission|Committee|Council|Meeting of the|Assembly)",
    re.IGNORECASE,
)


def read(path: Path) -> ParsedDocument:
    return read_markdown(read_utf8(path, "markdown"), str(path))


def read_markdown(text: str, source: str = "") -> ParsedDocument:
    meta, text = _front_matter(text)
    doc = Document(symbol="", source=source)
    found = document_metadata(text)
    for key, value in {**found, **meta}.items():
        if value and hasattr(doc, key):
            setattr(doc, key, value)
    paragraphs = segment_text(text)
    return ParsedDocument(doc=doc, paragraphs=paragraphs)


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    m = _FRONT_MATTER_RE.match(text)
    if not m:
        return {}, text
    meta: dict[str, str] = {}
    for line in m.group(1).splitlines():
        if ":" in line:
            key, _, value = line.partition(":")
            key = key.strip().lower()
            value = value.strip().strip("\"'")
            if key in ("symbol", "title", "date", "body", "type", "language") and value:
                meta[key] = value
    return meta, text[m.end() :]


def _standalone(lines: list[str], i: int) -> bool:
    before = i == 0 or not lines[i - 1].strip()
    after = i + 1 >= len(lines) or not lines[i + 1].strip()
    return before and after and len(lines[i].strip()) <= 200


def document_metadata(text: str) -> dict[str, str]:
    """Symbol, date, title, body and type as the document itself prints them (front matter)."""
    out: dict[str, str] = {}
    lines = text.replace("\r\n", "\n").split("\n")
    front: list[str] = []  # headings before the first section heading / numbered paragraph
    for i, raw in enumerate(lines[:200]):
        line = clean_inline(raw).strip()
        if not line:
            continue
        bare = line.lstrip("#").strip()
        if (
            "symbol" not in out
            and i < 60
            and SYMBOL_RE.match(bare)
            and "/" in bare
            and re.search(r"\d", bare)
        ):
            out["symbol"] = bare
            continue
        m = DISTR_RE.match(bare)
        if m and "date" not in out:
            date = find_date(m.group(2)) or find_date(" ".join(clean_inline(x) for x in lines[i + 1 : i + 3]))
            if date:
                out["date"] = date
            continue
        if NUM_RE.match(bare):
            break
        hm = _MD_HEADING_RE.match(raw)
        heading = clean_inline(hm.group(1)) if hm else None
        if heading is None and re.match(r"^\s*(\*\*|__).+\1\s*$", raw):
            heading = line
        if heading is None and _standalone(lines, i) and not re.search(r"[.;:,!?]$", line):
            # plain text: a line standing alone, without closing punctuation
            if not (DATE_RE.fullmatch(line) or ORIGINAL_RE.match(line) or JOBNO_RE.match(line)):
                heading = line
        if heading:
            if heading_rank(heading) < 5:
                break
            front.append(heading)
    if front:
        title = front[-1]
        out["title"] = title
        if len(front) > 1 and BODY_WORDS.match(front[0]):
            out["body"] = front[0].title() if front[0].isupper() else front[0]
        if re.match(r"^report\b", title, re.IGNORECASE):
            out["type"] = "report"
        elif re.search(r"\bdraft resolution\b", title, re.IGNORECASE):
            out["type"] = "draft resolution"
    return out
