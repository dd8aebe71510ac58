"""Cleaning and parsing of text extracted from United Nations PDFs (``ga/text/`` style).

The input is what pymupdf's ``page.get_text()`` gives, pages joined with ``"\\n"`` (so a
page ends with an empty line): a cover page (``United Nations`` / symbol / ``Distr.:`` block,
job number and barcode, session and agenda item, sponsors, title), running headers and
footers on every later page (symbol, running title, job number, ``2/17``), footnote blocks
below a ``__________________`` separator, footnote markers printed as superscripts (which
plain text flattens into ``Outcome, 1  sports`` or ``Action5 and``), and paragraphs that run
across pages.

Cleaning, page by page:

* running header/footer: the lines at the top of a page up to the last of the symbol / job
  number / ``N/M`` page number lines found there (with the running title lines between);
  furniture lines at the very end of a page too;
* footnotes: everything from the separator line to the end of the page. The footnote
  numbers found there are the only markers removed from that page's text, each at most
  once, in increasing order, where a superscript leaves its signature (glued to the
  preceding word or punctuation, or standing alone between spaces after a word);
  ``pdf.py`` knows the superscripts from the font flags and removes them exactly instead;
* line-end hyphens are kept (``gender-\\nbalanced`` -> ``gender-balanced``): UN documents
  are set without automatic hyphenation. Measured on ``ga/text``: of 2,175 words hyphenated
  at a line end, 1,977 occur hyphenated elsewhere in the collection and none occurs only
  unhyphenated; only where the document itself spells the word without the hyphen
  elsewhere (and never with it) is the hyphen dropped. A suspended hyphen (``low- and
  middle-income``) keeps its space;
* a paragraph cut by a page break is joined with its continuation: the page boundary is
  not a paragraph boundary unless the text before it ends a sentence or a preambular
  clause *and* what follows starts a new paragraph (a number, a sub-item, a preambular
  opener such as ``Recalling``, a capitalised sentence after ``;``/``.``).

Structure: the cover ends at ``The General Assembly,`` (or, without it, at the title);
unnumbered paragraphs before ``1.`` are ``preamble-N``; ``N.`` paragraphs (also ``N.`` alone
on its line, and ``25`` whose dot the PDF lost, after a blank line) with their sub-items
``(a)``, ``(i)`` are ``"N"``; everything between two numbered paragraphs belongs to the
first (sub-items, quotations, a list's own sub-headings, the rest of a sentence cut by a
page); Roman-numeral / letter / short unpunctuated headings and ``Annex`` headings form the
section path; annex paragraphs, restarted lists and per-section numbering follow the rules
of :mod:`indexer.paragraphs` (``annex-II-3``, folded lists, ``sect-II-4``). Blocks that are
table rows flattened into lines (budget tables: row numbers and amounts) are not paragraphs.
The ``45th plenary meeting`` / date lines that close a resolution are furniture.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from indexer.paragraphs import (
    BARCODE_RE,
    DISTR_RE,
    JOBNO_RE,
    NUM_RE,
    SUBITEM_RE,
    SYMBOL_RE,
    ParagraphAssembler,
    annex_label,
    find_date,
    is_preamble_opener,
    is_roman,
)
from parasearch.types import ANNEX, NUMBERED, Document, DocumentError, Paragraph, ParsedDocument

SEPARATOR_RE = re.compile(r"^\s*_{5,}\s*$")
PAGE_RE = re.compile(r"^\s*(\d{1,3})\s*/\s*(\d{1,3})\s*$")
FOOTNOTE_RE = re.compile(r"^\s*(\d{1,3}|\*{1,4})\s*(\S.*)?$")
PLENARY_RE = re.compile(
    r"^\s*(?:\d{1,3}(?:st|nd|rd|th)\s+(?:\(resumed\)\s+)?plenary meeting|\*\s*\*\s*\*)\s*$", re.IGNORECASE
)
DATE_LINE_RE = re.compile(r"^\s*\d{1,2}\s+[A-Z][a-z]+\s+\d{4}\s*$")
ORGAN_LINE_RE = re.compile(
    r"^\s*The (General Assembly|Security Council|Economic and Social Council|"
    r"Human Rights Council)\b\s*[,:]?\s*(.*)$"
)
RES_TITLE_RE = re.compile(r"^\s*((?:\d{2,3}|ES-\d+|S-\d+)/\d{1,3}(?:\s?[A-Z])?)\.\s+(\S.*)$")
SPONSORS_RE = re.compile(
    r"(?::\**,?\**\s*(?:revised\s+)?(?:draft\s+(?:resolution|decision)|amendments?\b)"
    r"|^\s*(?:revised\s+)?draft\s+(?:resolution|decision)s?\s+submitted\s+by\b"
    r"|^\s*(?:Note|Report|Letter)\s+(?:by|of|from)\s+the\b)",
    re.IGNORECASE,
)
NUMBER_ALONE_RE = re.compile(r"^\s*(\d{1,3})\s*$")
ROMAN_ALONE_RE = re.compile(r"^\s*([IVXLC]{1,7}|[A-Z])\.?\s*$")


@dataclass
class _Line:
    text: str
    page: int
    first: bool = False  # first line of its page (after the header)


# --------------------------------------------------------------------------- entry points


def split_pages(text: str) -> list[str]:
    """Pages of ``get_text()`` output joined with ``"\\n"``: an empty line ends a page."""
    text = text.replace("\r\n", "\n").replace("\f", "\n\n")
    pages = text.split("\n\n")
    return [p for p in pages if p.strip()]


def read_text(text: str, source: str = "") -> ParsedDocument:
    """Parse raw PDF-extracted text (pages separated by an empty line)."""
    return parse_pages(split_pages(text), markers_removed=False, source=source)


def read(path: Path) -> ParsedDocument:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError(f"cannot read text: {exc}") from exc
    return read_text(text, str(path))


def looks_like_pdf_text(text: str) -> bool:
    """Raw PDF text of a UN document: cover block, barcode / job number, running headers."""
    head = [ln.strip() for ln in text[:4000].split("\n")[:40]]
    score = 0
    if any(ln == "United Nations" for ln in head[:5]):
        score += 1
    if any(DISTR_RE.match(ln) for ln in head):
        score += 1
    if any(BARCODE_RE.match(ln) or JOBNO_RE.match(ln) for ln in head):
        score += 1
    if any(SYMBOL_RE.match(ln) for ln in head[:8]):
        score += 1
    if re.search(r"^\s*\d{1,3}/\d{1,3}\s*$", text, re.M) or "\n__________________" in text:
        score += 1
    return score >= 3


# --------------------------------------------------------------------------- metadata


class _Cover(TypedDict):
    """What the first page says about the document (the title and type: see :func:`_body_start`)."""

    body: str | None
    type: str | None
    title: str
    symbol: str
    date: str | None


def _cover_metadata(first_page: list[str]) -> _Cover:
    meta: _Cover = {"body": None, "type": None, "title": "", "symbol": "", "date": None}
    lines = [ln.strip() for ln in first_page]
    for ln in lines[:12]:
        ln = ln.rstrip("*").strip()  # "A/RES/78/68*": a reissued document
        if SYMBOL_RE.match(ln) and "/" in ln:
            meta["symbol"] = ln
            break
    for i, ln in enumerate(lines[:30]):
        m = DISTR_RE.match(ln)
        if m:
            meta["date"] = find_date(m.group(2)) or find_date(" ".join(lines[i + 1 : i + 3]))
            break
    for ln in lines[:12]:
        if ln in ("General Assembly", "Security Council", "Economic and Social Council"):
            meta["body"] = ln
            break
    return meta


def _find_title(lines: list[str]) -> tuple[str, int, str | None]:
    """Title text, index of the line after the title block, and the document type."""
    blocks = _blocks_of(lines)
    for bi, (start, end, text) in enumerate(blocks):
        m = RES_TITLE_RE.match(lines[start])
        if m and start > 5:
            return text, end, "resolution"
        if SPONSORS_RE.search(text) and start > 5:
            typ = _type_of(text)
            if re.match(r"^\s*(?:Note|Report|Letter)\b", text) and bi > 0:
                pstart, pend, ptext = blocks[bi - 1]
                return ptext, end, typ
            # sponsors block may end mid-symbol ("...draft resolution\nA/C.3/80/L.20/Rev.1")
            if bi + 1 < len(blocks):
                nstart, nend, ntext = blocks[bi + 1]
                if ORGAN_LINE_RE.match(ntext):
                    return "", nstart, typ  # the title is inside the annex, not on the cover
                return re.sub(r"\*+$", "", ntext).strip(), nend, typ
    return "", 0, None


def _type_of(sponsors: str) -> str | None:
    s = sponsors.lower()
    for t in ("amendment", "draft decision", "draft resolution"):
        if t in s:
            return "amendments" if t == "amendment" else t
    if s.lstrip().startswith("note"):
        return "note"
    if s.lstrip().startswith("report"):
        return "report"
    return None


def _blocks_of(lines: list[str]) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    start = None
    for i, ln in enumerate(lines + [""]):
        if ln.strip():
            if start is None:
                start = i
        elif start is not None:
            out.append((start, i, " ".join(x.strip() for x in lines[start:i])))
            start = None
    return out


# --------------------------------------------------------------------------- page cleaning


def _strip_header(lines: list[str], symbol: str) -> list[str]:
    """Drop the running header/footer block at the top of a page (not the cover)."""
    last = -1
    texts = 0
    blanks = 0
    for i, ln in enumerate(lines[:16]):
        s = ln.strip()
        if not s:
            blanks += 1
            if blanks > 3:
                break
            continue
        if PAGE_RE.match(s) or JOBNO_RE.match(s) or BARCODE_RE.match(s) or _same_symbol(s, symbol):
            last = i
            continue
        texts += 1
        if texts > 7:
            break
    if last < 0:
        return lines
    return lines[last + 1 :]


def _same_symbol(s: str, symbol: str) -> bool:
    return bool(symbol) and re.sub(r"[\s*]+", "", s) == re.sub(r"\s+", "", symbol)


def _strip_trailing_furniture(lines: list[str], symbol: str) -> list[str]:
    while lines and (
        not lines[-1].strip()
        or PAGE_RE.match(lines[-1])
        or JOBNO_RE.match(lines[-1].strip())
        or BARCODE_RE.match(lines[-1])
        or _same_symbol(lines[-1].strip(), symbol)
    ):
        lines = lines[:-1]
    return lines


def _split_footnotes(lines: list[str]) -> tuple[list[str], list[str]]:
    """Body and footnote lines of a page: below the ``____`` separator; without one, the
    ``* Any changes to the list of sponsors ...`` notes that end a cover page."""
    for i, ln in enumerate(lines):
        if SEPARATOR_RE.match(ln):
            return lines[:i], lines[i + 1 :]
    end = len(lines)
    while end > 0 and not lines[end - 1].strip():
        end -= 1
    for j in range(end - 1, max(end - 5, -1), -1):
        if re.match(r"^\s*\*{1,3}\s+[A-Z]", lines[j]) and (j == 0 or not lines[j - 1].strip()):
            return lines[:j], lines[j:]
    return lines, []


def _footnote_ids(foot: list[str], next_id: int) -> list[str]:
    """Footnote numbers listed below the separator, in order (``*`` marks included)."""
    ids: list[str] = []
    expected = next_id
    for ln in foot:
        m = FOOTNOTE_RE.match(ln)
        if not m or not m.group(2):
            continue
        tok = m.group(1)
        if tok.startswith("*"):
            if tok not in ids:
                ids.append(tok)
            continue
        n = int(tok)
        if n == expected or (not any(i.isdigit() for i in ids) and expected <= n <= expected + 3):
            ids.append(tok)
            expected = n + 1
    return ids


_NO_MARKER_BEFORE = re.compile(
    r"(?:\b(?:resolutions?|decisions?|paragraphs?|paras?\.|articles?|art\.|arts\.|No\.|Nos\.|nos?\.|vol\.|"
    r"chap\.|chapter|sect\.|section|annex|rule|rules|principle|principles|Goal|target|targets|page|pp?\.|"
    r"Protocol|item|items|and|to|or|of|the|from|by|in|on|at|than|some|about|over|under|least|nearly|almost|"
    r"approximately|between|with|per|for|Article|Part|level|phase|Step|step|point|"
    r"Committee|Council|Agenda|Sustainable|Supplement|S-\d+|[A-Z]/[\w./]*)\s+)$"
)
_UNIT_AFTER = re.compile(
    r"^\s*(?:per\s*cent|percent|%|million|billion|thousand|years?|months?|days?|weeks?|hours?|times|"
    r"January|February|March|April|May|June|July|August|September|October|November|December|"
    r"and\s+\d|to\s+\d|or\s+\d|-|–|/|\(\d|degrees?|km|kilometres?|members?|States|countries|"
    r"Member|persons|people|women|men|children)\b"
)


# a number after one of these is part of a reference, not a marker: "L.10", "Add.1", "para.5"
_ABBREV_DOT = re.compile(
    r"(?:\b[A-Z]|\d|/[A-Za-z]+|\b(?:No|Nos|para|paras|art|arts|vol|chap|sect|p|pp|"
    r"Add|Rev|Corr|Amend|Suppl?|Ser|Sales No))\.$"
)


def _marker_candidates(text: str, tok: str, start: int) -> list[tuple[int, int, int]]:
    """(strength, start, end) of places where footnote ``tok`` can be a flattened superscript."""
    out: list[tuple[int, int, int]] = []
    if tok.startswith("*"):
        for m in re.finditer(re.escape(tok), text[start:]):
            a, b = start + m.start(), start + m.end()
            if text[b : b + 1] == "*" or text[a - 1 : a] == "*":
                continue
            out.append((3, a, b))
        return out
    pat = r"(?<![\d/\-–])" + re.escape(tok) + r"(?![\d/%])"
    for m in re.finditer(pat, text[start:]):
        a, b = start + m.start(), start + m.end()
        left = text[max(0, a - 40) : a]
        right = text[b : b + 20]
        prev = left[-1:] if left else "\n"
        if right[:1] and not (right[:1].isspace() or right[:1] in ",;:.)”’"):
            continue
        if right.startswith(".") and (right[1:2].isdigit() or prev == "\n" or not left.strip()):
            continue  # "1.5", or a paragraph number "11." at a line start
        if prev.isalpha() or prev in ")”’\"'":
            # glued: "Action5 and", "children”5 which"
            if prev.isalpha() and re.search(r"(?:\b[A-Z]{1,5}|COVID-|H\dN)$", left):
                continue
            out.append((3, a, b))
        elif prev in ",;:.":
            if prev == "." and _ABBREV_DOT.search(left):
                continue
            out.append((3, a, b))
        elif prev in " \t\n":
            before = left.rstrip(" \t\n")
            if not before:
                continue
            if _NO_MARKER_BEFORE.search(left) or _UNIT_AFTER.match(right):
                continue
            strength = 2 if (right.startswith("  ") or before[-1:] in ",;:.”’)") else 1
            if before[-1:].isdigit() and not right.startswith("  "):
                strength = 1
            out.append((strength, a, b))
    # glued to a number: a year "20215" (2021 + 5), a resolution "78/22126" (78/221 + 26)
    for m in re.finditer(
        r"(?<![\d/\-–])((?:19|20)\d\d|\d{1,3}/(\d{1,3}))" + re.escape(tok) + r"(?![\d/%])", text[start:]
    ):
        if m.group(2) is not None and len(m.group(2)) + len(tok) <= 3:
            continue
        a = start + m.start() + len(m.group(1))
        out.append((3 if m.group(2) is None else 2, a, a + len(tok)))
    out.sort(key=lambda c: c[1])
    return out


def remove_markers(body: str, ids: Sequence[str]) -> str:
    """Remove the flattened superscript markers of footnotes ``ids`` from a page's text."""
    if not ids:
        return body
    cuts: list[tuple[int, int]] = []
    pos = 0
    for tok in ids:
        cands = _marker_candidates(body, tok, pos)
        if not cands:
            continue
        # markers come in footnote order: the earliest place with a superscript's signature
        # wins; a weak one (a bare number after a word) only when nothing stronger follows
        if cands[0][0] >= 2:
            best = cands[0]
        else:
            best = max(cands, key=lambda c: (c[0], -c[1]))
        cuts.append((best[1], best[2]))
        pos = best[2]
    out = body
    for a, b in sorted(cuts, reverse=True):
        left, right = out[:a], out[b:]
        if left.endswith((" ", "\t")) and right.startswith((" ", "\t")):
            right = right.lstrip(" \t")
            right = " " + right if right and not right.startswith("\n") else right
            left = left.rstrip(" \t") + ("" if right.startswith(" ") else " ")
        out = left + right
    return out


# --------------------------------------------------------------------------- parsing


def parse_pages(pages: Sequence[str], *, markers_removed: bool, source: str = "") -> ParsedDocument:
    """Parse a UN PDF's page texts; ``markers_removed`` when superscripts are already gone."""
    if not pages:
        raise DocumentError("no text in document")
    page_lines = [p.rstrip("\n").split("\n") for p in pages]
    meta = _cover_metadata(page_lines[0])
    symbol = meta["symbol"]
    stream: list[_Line] = []
    warnings: list[str] = []
    next_fn = 1
    cover_end = _body_start(page_lines[0], meta)
    for pno, lines in enumerate(page_lines):
        lines = [ln.rstrip() for ln in lines]
        if pno > 0:
            lines = _strip_header(lines, symbol)
        body, foot = _split_footnotes(lines)
        ids = _footnote_ids(foot, next_fn)
        nums = [int(i) for i in ids if i.isdigit()]
        if nums:
            next_fn = nums[-1] + 1
        if pno == 0:
            body = body[cover_end:]
        body = _strip_trailing_furniture(body, symbol)
        text = "\n".join(body)
        if not markers_removed:
            text = remove_markers(text, ids)
        first = True
        for ln in text.split("\n"):
            if first and not ln.strip():
                continue  # blank lines between the running header and the text
            stream.append(_Line(ln, pno, first))
            first = False
    paragraphs, asm_warnings = _parse_stream(stream)
    warnings += asm_warnings
    doc = Document(
        symbol=symbol,
        title=meta["title"],
        date=meta["date"],
        body=meta["body"] or ("General Assembly" if symbol.startswith("A/") else None),
        type=meta["type"],
        language="en",
        source=source,
    )
    return ParsedDocument(doc=doc, paragraphs=paragraphs, warnings=warnings)


def _body_start(first: list[str], meta: _Cover) -> int:
    lines = [ln.rstrip() for ln in first]
    stripped = [ln.strip() for ln in lines]
    title, after_title, typ = _find_title(stripped)
    meta["title"] = re.sub(r"\s+", " ", title).strip()
    meta["type"] = typ
    first_num = next(
        (i for i, ln in enumerate(stripped) if i >= after_title and NUM_RE.match(ln)), len(stripped)
    )
    for i, ln in enumerate(stripped[:first_num]):
        if ORGAN_LINE_RE.match(ln) and i >= max(after_title - 1, 5):
            # a part heading between the title and "The General Assembly" ("A" + its title)
            for j in range(max(after_title, 5), i):
                if re.fullmatch(r"(?:A|I)\.?", stripped[j]):
                    return j
            return i
    for i, ln in enumerate(stripped[:first_num]):
        if ORGAN_LINE_RE.match(ln) and i > 5:
            return i
    if after_title:
        return after_title
    # no title found: skip the cover furniture block up to the barcode / agenda lines
    for i, ln in enumerate(stripped):
        if BARCODE_RE.match(ln):
            return i + 1
    return 0


def _ends_sentence(text: str) -> bool:
    return bool(re.search(r"[.;:!?][”’\"')\]]*\s*$", text))


def _ends_clause(text: str) -> bool:
    return bool(re.search(r"[.;:,!?][”’\"')\]]*\s*$", text))


@dataclass
class _Block:
    kind: str  # "num", "text", "heading", "organ", "skip"
    lines: list[str]
    num: int | None = None
    page: int = 0
    block_start: bool = True  # started after a blank line or at a page top


def _parse_stream(stream: list[_Line]) -> tuple[list[Paragraph], list[str]]:
    blocks = _make_blocks(stream)
    vocab = _vocabulary(stream)
    asm = ParagraphAssembler(max_gap=2)
    heading_since = True  # no paragraph since the last heading
    for b in blocks:
        text = _block_text(b.lines, vocab)
        if b.kind == "skip" or not text:
            continue
        if b.kind == "organ" and (organ := ORGAN_LINE_RE.match(b.lines[0])):  # it opens the block (_line_kind)
            rest = organ.group(2).strip()
            if rest or len(b.lines) > 1:
                # "The General Assembly, taking note of ..., decides ...": a one-sentence decision
                asm.unnumbered(text, fold_ok=False)
            else:
                asm.start_preamble()
            continue
        if b.kind == "heading" and _in_open_list(asm) and not _marked_heading(text):
            asm.continuation("\n" + text)  # a sub-heading of the list the paragraph announces
            continue
        if b.kind == "heading":
            asm.heading(text)
            heading_since = True
            continue
        if b.kind == "num" and b.num is not None:
            m = NUM_RE.match(b.lines[0].strip())
            first = (m.group(2) or "") if m else ""  # "1. text" or "1." / "25" alone on the line
            body = _block_text([first] + b.lines[1:], vocab)
            res = asm.numbered(b.num, body, raw=text, gap_ok=b.block_start)
            if res in ("body", "annex"):
                heading_since = False
            continue
        cur = asm.cur
        if cur is not None and not heading_since and (cur.kind in (NUMBERED, ANNEX) or cur.restart):
            # text after a numbered paragraph and before the next one belongs to it (its list,
            # a quotation, the rest of a sentence cut by a table)
            asm.continuation("\n" + text if SUBITEM_RE.match(text) else text)
            continue
        if _tabular(b.lines):
            continue  # rows of a table (budget lines, amounts): not a paragraph of its own
        asm.unnumbered(text)
        heading_since = False
    return asm.finish(), asm.warnings


_AMOUNT_RE = re.compile(r"^[\s\d.,()%\-–]+$|^\d{1,3}$")


def _tabular(lines: list[str]) -> bool:
    """Table rows flattened to lines: many lines that are bare amounts or row numbers."""
    rows = [ln.strip() for ln in lines if ln.strip()]
    return len(rows) >= 2 and sum(1 for r in rows if _AMOUNT_RE.match(r)) >= 0.4 * len(rows)


def _in_open_list(asm: ParagraphAssembler) -> bool:
    """The current numbered paragraph announces a list (``... as follows:``) still running."""
    cur = asm.cur
    if cur is None or cur.kind not in (NUMBERED, ANNEX) and not cur.restart:
        return False
    text = cur.text.rstrip()
    last = text.rsplit("\n", 1)[-1]
    return text.endswith(":") or bool(SUBITEM_RE.match(last)) and text.endswith((";", ":"))


def _marked_heading(text: str) -> bool:
    return bool(annex_label(text) is not None or re.match(r"^(?:[IVXLC]{1,7}|[A-Z])\.(?:\s|$)", text))


def _block_text(lines: list[str], vocab: set[str] | None = None) -> str:
    """Join the lines of a block: line-end hyphens kept, sub-items on their own line.

    ``vocab`` (words the document prints inside its lines, lower case) drops a line-end
    hyphen when the document spells the word whole elsewhere and never hyphenated.

    Linear in the block's length: the lines are collected as pieces and only the end of the text joined so far
    is looked at (searching the whole text at every line made a block of run-on text without paragraph breaks
    quadratic: 1 MB took 22 s, 2 MB 96 s).
    """
    pieces: list[str] = []  # the text so far, "".join(pieces); never ends with a space (each line is stripped)
    for raw in lines:
        ln = _SPACES_RE.sub(" ", raw).strip()
        if not ln:
            continue
        if not pieces:
            pieces.append(ln)
        elif SUBITEM_RE.match(ln):
            pieces += ["\n", ln]
        elif (ln[:1].islower() and (left := _hyphenated_word(pieces)) is not None
              and (lead := _LEADING_WORD_RE.match(ln))):  # a lower-case letter is a word character: always
            word = lead.group(1)
            if word in ("and", "or", "nor"):
                pieces += [" ", ln]  # suspended hyphen: "low- and middle-income"
            elif vocab and (left + word).lower() in vocab and f"{left}-{word}".lower() not in vocab:
                pieces[-1] = pieces[-1][:-1]  # "recom-\nmendation" where the document writes "recommendation"
                pieces.append(ln)
            else:
                pieces.append(ln)
        else:
            pieces += [" ", ln]
    return "".join(pieces).strip()


_SPACES_RE = re.compile(r"[ \t\u00a0]+")
_LEADING_WORD_RE = re.compile(r"^(\w+)")
_HYPHEN_END_RE = re.compile(r"(\w+)-$")
_TAIL_PIECES = 64  # a word split by line-end hyphens over more lines than this is not a word


def _hyphenated_word(pieces: list[str]) -> str | None:
    """The word before a line-end hyphen that ends the text ``"".join(pieces)`` (``"recom"`` of
    ``"... recom-"``: what ``(\\w+)-$`` finds in it), or None when the text does not end with an ASCII letter and
    a hyphen. Only the text's end is looked at: the last piece, and the pieces before it while they are all word
    characters (lines joined without a space)."""
    tail = ""
    for i, piece in enumerate(reversed(pieces[-_TAIL_PIECES:])):
        tail = piece + tail
        if not _WORD_ONLY_RE.fullmatch(piece[:-1] if i == 0 else piece):
            break
    if len(tail) < 2 or tail[-1] != "-" or not (tail[-2].isascii() and tail[-2].isalpha()):
        return None
    m = _HYPHEN_END_RE.search(tail)  # found: a letter before the hyphen
    return m.group(1) if m else None


_WORD_ONLY_RE = re.compile(r"\w*")


def _vocabulary(stream: list[_Line]) -> set[str]:
    """Words (hyphenated compounds included) as printed inside lines, not at a line end."""
    vocab: set[str] = set()
    for ln in stream:
        for w in re.findall(r"\w+(?:-\w+)*", ln.text.rstrip().rstrip("-")):
            vocab.add(w.lower())
    return vocab


def _make_blocks(stream: list[_Line]) -> list[_Block]:
    """Group lines into blocks: blank lines and paragraph starts split, page breaks join."""
    blocks: list[_Block] = []
    cur: _Block | None = None
    prev_blank = True
    last_num = 0  # number of the last numbered block (to recognise the next one mid-block)
    organ_seen = False
    for idx, ln in enumerate(stream):
        s = ln.text.strip()
        if not s:
            cur = None
            prev_blank = True
            continue
        start_kind, num = _line_kind(s, stream, idx)
        boundary = prev_blank or cur is None
        if ln.first and blocks and not prev_blank:
            # a page break: join unless the new page clearly starts a new paragraph
            last = blocks[-1]
            last_text = last.lines[-1].strip() if last.lines else ""
            continue_para = (
                last.kind in ("num", "text")
                and start_kind == "text"
                and (
                    not _ends_clause(last_text)
                    or s[:1].islower()
                    or s[:1] in '(“"‘'
                    and not SUBITEM_RE.match(s)
                    or (last_text.endswith(",") and not is_preamble_opener(s))
                )
            )
            if continue_para:
                last.lines.append(ln.text)
                cur = last
                prev_blank = False
                continue
            boundary = True
        if start_kind == "organ" and (last_num or organ_seen):
            # a second resolution's "The General Assembly" (parts A, B) opens nothing new;
            # "The General Assembly, in rule 99, ..." inside a paragraph is text
            start_kind = "skip" if re.fullmatch(r"The General Assembly\s*[,:]?", s) else "text"
        if start_kind == "num" and NUMBER_ALONE_RE.match(s):
            # "25" without its dot: only after a blank line, as the next number, before a
            # wrapped line of text (not a numbered table row: "3" / "Political affairs" / amount)
            nxt = _next_text(stream, idx)
            if not (prev_blank and num == last_num + 1 and len(nxt) >= 40 and not re.search(r"\d$", nxt)):
                start_kind, num = "text", None
        starts = boundary or _ends_sentence(cur.lines[-1] if cur else "")
        if (
            start_kind == "num"
            and not starts
            and cur is not None
            and (num == last_num + 1 or num == 1 and (cur.kind == "heading" or len(cur.lines) <= 3))
        ):
            # "36. We recognize ..." right under a heading line: the next paragraph number
            m = NUM_RE.match(s)
            rest = (m.group(2) if m else None) or _next_text(stream, idx)
            starts = bool(rest) and (rest[:1].isupper() or rest[:1] in '“"')
        if start_kind in ("num", "organ", "heading", "skip") and starts:
            cur = _Block(start_kind, [ln.text], num, ln.page, block_start=boundary)
            blocks.append(cur)
            prev_blank = False
            if start_kind == "num" and num is not None:
                last_num = num
            organ_seen = organ_seen or start_kind == "organ"
            if start_kind == "skip":
                cur = None
            continue
        if start_kind == "sub" and cur is not None:
            cur.lines.append(ln.text)
            prev_blank = False
            continue
        if cur is None or boundary:
            cur = _Block("text", [ln.text], None, ln.page, block_start=True)
            blocks.append(cur)
        else:
            cur.lines.append(ln.text)
        prev_blank = False
    return _merge_headings(blocks)


def _line_kind(s: str, stream: list[_Line], idx: int) -> tuple[str, int | None]:
    m = NUM_RE.match(s)
    if m:
        return "num", int(m.group(1))
    m = NUMBER_ALONE_RE.match(s)
    if m:
        nxt = _next_text(stream, idx)
        if nxt and nxt[:1].isupper() and len(s) <= 3:
            return "num", int(m.group(1))
    if ORGAN_LINE_RE.match(s):
        return "organ", None
    if PLENARY_RE.match(s):
        return "skip", None
    if annex_label(s) is not None:
        return "heading", None
    m = ROMAN_ALONE_RE.match(s)
    if m and (is_roman(m.group(1)) or len(m.group(1)) == 1):
        return "heading", None
    if SUBITEM_RE.match(s):
        return "sub", None
    return "text", None


def _next_text(stream: list[_Line], idx: int) -> str:
    for ln in stream[idx + 1 : idx + 4]:
        if ln.text.strip():
            return ln.text.strip()
    return ""


def _merge_headings(blocks: list[_Block]) -> list[_Block]:
    """``I`` + ``Title`` -> one heading ``I. Title``; ``Annex`` + title -> two headings; a
    short unpunctuated block between paragraphs is a heading; the date line after
    ``45th plenary meeting`` is furniture."""
    out: list[_Block] = []
    i = 0
    while i < len(blocks):
        b = blocks[i]
        i += 1
        if b.kind == "skip":
            out.append(b)
            if i < len(blocks) and DATE_LINE_RE.match(_block_text(blocks[i].lines)):
                i += 1  # "45th plenary meeting" / "7 December 2023"
            continue
        if b.kind == "heading":
            first = b.lines[0].strip()
            title_lines = b.lines[1:]
            if not title_lines and i < len(blocks) and _is_title_block(blocks[i]):
                title_lines = blocks[i].lines
                i += 1
            title = _block_text(title_lines)
            m = ROMAN_ALONE_RE.match(first)
            if m:
                out.append(_Block("heading", [f"{m.group(1)}. {title}".strip()], None, b.page))
            else:
                out.append(_Block("heading", [first], None, b.page))
                if title:
                    out.append(_Block("heading", [title], None, b.page))
            continue
        text = _block_text(b.lines)
        if (
            b.kind == "text"
            and _is_title_block(b)
            and not text.startswith("(")
            and (not out or out[-1].kind in ("heading", "organ") or _ends_clause(_block_text(out[-1].lines)))
        ):
            out.append(_Block("heading", b.lines, None, b.page))
            continue
        out.append(b)
    return out


def _is_title_block(b: _Block) -> bool:
    if b.kind != "text":
        return False
    text = _block_text(b.lines)
    if not text or len(text) > 300 or _ends_clause(text) or "\n" in text:
        return False
    if not (text[:1].isupper() or text[:1].isdigit() or text[:1] in '“"'):
        return False
    if SUBITEM_RE.match(text):
        return False
    return True
