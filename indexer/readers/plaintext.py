"""Plain-text reader.

Three kinds of ``.txt`` are told apart by their content:

* raw text extracted from a UN PDF (cover block with ``United Nations`` / symbol /
  ``Distr.:``, job numbers, ``*2517857*`` barcodes, ``2/5`` page numbers, footnote
  separators) -> :mod:`indexer.readers.pdftext`;
* "one numbered paragraph per block" text (the ``hr/`` Special Rapporteur reports): blank-line
  separated blocks nearly all starting ``N.`` -> :func:`parse_numbered_blocks`;
* anything else -> :func:`indexer.paragraphs.segment_text`, with the same front-matter
  metadata as markdown.

In the block format every block starts with a number, but not every number is a paragraph
number. The converter that produced these files split the report wherever a line began
``N.``, so the blocks are, besides the report's own paragraphs:

* sub-section headings numbered ``1.``, ``2.`` (``2. Contextual prevalence and levels of
  corruption``) -> section headings;
* fragments cut where a line happened to start with a number (``780. 9 United Nations Office
  ...`` after a paragraph ending ``pp. 777–``; ``18. conditions and health; ...``) -> joined
  back, number included, to the paragraph they were cut from;
* restarted lists: an article quoted after a paragraph ending ``:``, the principles or
  guidelines of an annex -> folded into the paragraph that announces them, or ``annex-N``
  when they end the document (see :mod:`indexer.paragraphs`). They are never cited as the
  report's own paragraphs 1, 2, ...;
* tables of contents (dot leaders) -> skipped.

The report's paragraphs are the blocks that continue its numbering (``N == last + 1``, or a
jump of at most three when the block reads as a paragraph: source files do lose one now and
then). A heading-like block (short, no closing punctuation) that happens to carry the next
number is a heading when a block with that same number follows within a few blocks.

Headings glued onto the end of a paragraph (``... recommendations. II. Mandate A. History``)
are cut off when they follow a sentence end and start like a heading (``II.``, ``A.``,
``1.``, ``Annex``), or are a short title-case run (``... transmitted. Saudi Arabia``); with
the page furniture that often comes with them (``A/70/303 15-12510 20/25``, ``GE.25-00901``)
they are removed from the text and, minus the furniture, become the section of the
paragraphs that follow.
"""

from __future__ import annotations

import re
from pathlib import Path

from indexer.paragraphs import TOC_LEADER_RE, ParagraphAssembler, heading_rank, segment_text
from indexer.readers import markdown as md_reader
from indexer.readers import pdftext
from indexer.readers._common import read_utf8
from parasearch.types import Document, Paragraph, ParsedDocument

_BLOCK_NUM_RE = re.compile(r"^(\d{1,4})\.\s+(\S.*)$", re.DOTALL)


def read(path: Path) -> ParsedDocument:
    return read_plaintext(read_utf8(path, "text"), str(path))


def read_plaintext(text: str, source: str = "") -> ParsedDocument:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if pdftext.looks_like_pdf_text(text):
        return pdftext.read_text(text, source)
    blocks = [b.strip() for b in re.split(r"\n[ \t]*\n", text) if b.strip()]
    doc = Document(symbol="", source=source)
    for key, value in md_reader.document_metadata(text).items():
        setattr(doc, key, value)
    if is_numbered_blocks(blocks):
        symbol = doc.symbol or _symbol_from_name(source, text)
        if symbol and not doc.symbol:
            doc.symbol = symbol  # printed as the running header of the document itself
        paragraphs, warnings = parse_numbered_blocks(blocks, symbol)
        return ParsedDocument(doc=doc, paragraphs=paragraphs, warnings=warnings)
    return ParsedDocument(doc=doc, paragraphs=segment_text(text))


def _symbol_from_name(source: str, text: str) -> str | None:
    """``A_HRC_40_59.txt`` -> ``A/HRC/40/59`` when the text prints that symbol as a running header."""
    if not source:
        return None
    cand = Path(source).stem.replace("_", "/")
    return cand if len(re.findall(r"(?<!\S)" + re.escape(cand) + r"(?![\w/])", text)) >= 2 else None


def is_numbered_blocks(blocks: list[str]) -> bool:
    """Most blocks are single long lines starting ``N.``: the one-paragraph-per-block format."""
    if len(blocks) < 3:
        return False
    numbered = sum(1 for b in blocks if _BLOCK_NUM_RE.match(b))
    wrapped = sum(1 for b in blocks if b.count("\n") >= 2)
    return numbered >= 0.8 * len(blocks) and wrapped <= 0.2 * len(blocks)


# --------------------------------------------------------------------------- block format

_ABBREV_END_RE = re.compile(
    r"(?:\b(?:p|pp|para|paras|art|arts|No|Nos|vol|chap|sect|Rule|rule|Principle|principle|Goal|goal|"
    r"article|Article|paragraph|resolution|decision|general comment|target|annex|section|rules|"
    r"principles|articles|paragraphs|resolutions|Section|Part|part|footnote|note|page|pages)\.?|[–\-,(/])\s*$"
)
_SENT_END = r"(?:[.!?…]|[.!?][”’\"')\]]+|\.\d{1,3}(?:,\d{1,3})*)"
_HEAD_START = (
    r"(?:(?:[IVXL]{1,6}|[A-H])\.\s+[A-Z“\"‘(]|\d{1,2}\.\s+[A-Z“\"‘]|(?:Annex|ANNEX|Appendix)\b"
    r"|Notes\b|(?:[A-Z]/(?:HRC/|CN\.4/)?\d+/\d+|E/CN\.4/\d{4}/\d+(?:/Add\.\d+)?)\b|GE\.\d{2}-\d{5})"
)
_TAIL_RE = re.compile(r"(?<=" + "[.!?…”’\"')\\]0-9]" + r")\s+(?=" + _HEAD_START + ")")
_FURNITURE_TOKEN_RE = re.compile(
    r"\b(?:A/(?:HRC/)?\d+/\d+(?:/Add\.\d+)?|E/CN\.4/\d{4}/\d+(?:/Add\.\d+)?|GE\.\d{2}-\d{5}|\d{2}-\d{5}|"
    r"\d{1,3}/\d{1,3})\b(?:\s*\(E\))?"
)
_TERMINAL_RE = re.compile(r"[.;:!?][”’\"')\]]*$")


def _heading_like(text: str) -> bool:
    t = text.strip()
    return (
        0 < len(t) <= 160
        and len(t.split()) <= 18
        and not _TERMINAL_RE.search(t)
        and (t[:1].isupper() or t[:1] in '“"‘')
    )


def _fragment_like(text: str) -> bool:
    """A piece cut off a paragraph: starts in lower case, with a footnote number, or with '('."""
    t = text.lstrip()
    return bool(t[:1].islower() or re.match(r"^\d{1,3}\s+\S", t) or t[:1] in "(,;:)–-")


def _is_toc(text: str) -> bool:
    return bool(TOC_LEADER_RE.search(text))


def split_trailing_headings(text: str) -> tuple[str, list[str]]:
    """Cut headings (and page furniture) glued onto the end of a paragraph.

    ``"... recommendations. II. Mandate A. History"`` -> (``"... recommendations."``,
    ``["II. Mandate", "A. History"]``). Returns the text unchanged when the end of the
    paragraph does not read as a heading run.
    """
    t = text.rstrip()
    if _TERMINAL_RE.search(t) and not re.search(r"\d$", t):
        return text, []
    cut = None
    for m in _TAIL_RE.finditer(t):
        tail = t[m.end() :]
        head = t[: m.start()]
        if len(tail) > 300 or len(head) < 40:
            continue
        if not re.search(_SENT_END + r"$", head) and not re.search(r"[”’\"')\]]$", head):
            continue
        if _TERMINAL_RE.search(tail) and not re.search(r"\d$", tail):
            continue
        if re.search(r"[a-z]\. [a-z]", tail):
            continue  # a sentence, not a heading
        cut = m
        break
    headings: list[str] = []
    if cut is not None:
        tail = t[cut.end() :]
        t = t[: cut.start()]
        headings = _split_heading_run(tail)
    else:
        # a short unmarked heading after the last sentence: "... replies received. Saudi Arabia"
        last = re.search(r"(?<=[.!?”’])(\d{1,3})?\s+([A-Z][^.;:!?\d]{1,80})$", t)
        if last and len(last.group(2).split()) <= 8 and len(t) - len(last.group(0)) >= 80:
            headings = [last.group(2).strip()]
            t = t[: last.start()]
    # trailing footnote number after the last sentence: "... decades. 113", "... torture.52"
    t = re.sub(r"(?<=[.!?”’\"')\]])\s?\d{1,3}$", "", t)
    return t.rstrip(), headings


def _split_heading_run(tail: str) -> list[str]:
    tail = _FURNITURE_TOKEN_RE.sub(" ", tail)
    tail = re.sub(r"\s+", " ", tail).strip()
    if not tail:
        return []
    parts = re.split(
        r"\s+(?=(?:[IVXL]{1,6}|[A-H])\.\s+[A-Z“\"‘])|\s+(?=\d{1,2}\.\s+[A-Z])|\s+(?=Annex\b)", tail
    )
    out: list[str] = []
    for p in parts:
        p = p.strip()
        if not p:
            continue
        m = re.match(r"^(Annex(?:\s+[IVX]+)?)\s+(.*)$", p)
        if m and m.group(2):
            out.extend([m.group(1), m.group(2)])
        else:
            out.append(p)
    return [re.sub(r"^\d{1,3}\s+(?=[A-Z])", "", h) for h in out if len(h) > 1 or h.isalpha()]


_JOB_TOKEN = r"(?:GE\.)?\d{2}-\d{5}(?:\s*\([A-Z]\))?"
_PAGE_TOKEN = r"\d{1,3}/\d{1,3}"
_SEPARATOR_RE = re.compile(r"\s*_{5,}\s*")


def _furniture_re(symbol: str | None) -> re.Pattern[str]:
    """A page break flattened into the text: ``A/70/303 15-12510 20/25``, ``GE.21-05085``."""
    sym = re.escape(symbol) if symbol else r"(?:A|E)/[A-Z0-9.]+(?:/[A-Za-z0-9.]+)+"
    parts = rf"(?:{sym}\s+)?(?:{_PAGE_TOKEN}\s+)?{_JOB_TOKEN}(?:\s+{_PAGE_TOKEN})?(?:\s+{sym}(?![\w/]))?"
    return re.compile(rf"(?<!\S){parts}(?!\S)")


def _footnote_ids_inline(foot: str, next_id: int) -> list[str]:
    """Footnote numbers at the start of the footnotes of one page: ``1 See ... 2 Ibid.``."""
    ids: list[str] = []
    expected = next_id
    for m in re.finditer(r"(?:^|(?<=\s))(\d{1,3})\s+(?=\S)", foot):
        n = int(m.group(1))
        if n == expected or not ids and expected < n <= expected + 3:
            ids.append(str(n))
            expected = n + 1
    return ids


def clean_page_furniture(blocks: list[str], symbol: str | None = None) -> list[str]:
    """Remove flattened page breaks from one-paragraph-per-block text.

    A page break left ``<footnotes> <symbol> <job number> <page>`` in the middle of a
    paragraph. The text is walked page by page (a page ends at its running header/footer,
    found by the job number: ``15-12510``, ``GE.21-05085``, with the symbol and page number
    around it). The page's footnotes are cut out -- from a ``____`` separator, or, without
    one, the run of footnotes ``k``, ``k+1`` ... ``m`` that ends the page when ``k`` continues
    the document's footnote numbering and the page text carries their superscript markers
    glued to words (``Kosovo1 (``, ``generally,3``) -- and those markers are removed from the
    page (:func:`pdftext.remove_markers`); then the header tokens go.
    """
    furn = _furniture_re(symbol)
    text = "\n\n".join(blocks)
    out: list[str] = []
    pos = 0
    next_fn = 1
    breaks = list(furn.finditer(text)) + [None]
    for brk in breaks:
        end = brk.start() if brk else len(text)
        page = text[pos:end]
        foot_at, ids = _page_footnotes(page, next_fn, at_break=brk is not None)
        if ids:
            next_fn = int(ids[-1]) + 1
        body = page[:foot_at] if foot_at is not None else page
        if foot_at is not None:
            # footnotes end at the page break, or at the end of their block (last page)
            rest = page[foot_at:]
            tail = rest[rest.find("\n\n") :] if "\n\n" in rest else ""
        else:
            tail = ""
        out.append(pdftext.remove_markers(body, ids) if ids else body)
        out.append(tail)
        out.append(" ")
        pos = brk.end() if brk else len(text)
    cleaned = "".join(out)
    if symbol:
        # the running header alone (no job number on that page): "... this may E/CN.4/2004/56
        # facilitate ...", "E/CN.4/1986/15 page 3"; a citation of the report itself is in
        # parentheses or followed by /Add., and is kept
        cleaned = re.sub(
            r"(?<![(\w/.])" + re.escape(symbol) + r"(?:\s+[Pp]age\s+\d{1,3})?(?![\w/)])", " ", cleaned
        )
    res = [re.sub(r"[ \t]{2,}", " ", blk).strip() for blk in cleaned.split("\n\n")]
    return [blk for blk in res if blk]


def _page_footnotes(page: str, next_fn: int, at_break: bool) -> tuple[int | None, list[str]]:
    """Where the footnotes of one page start, and their numbers."""
    sep = _SEPARATOR_RE.search(page)
    if sep:
        block_end = page.find("\n\n", sep.end())
        foot = page[sep.end() : block_end if block_end >= 0 else len(page)]
        return sep.start(), _footnote_ids_inline(foot, next_fn)
    if not at_break:
        return None, []
    # no separator: footnotes next_fn .. m as the last thing before the page break
    block_start = page.rfind("\n\n") + 1
    tail = page[block_start:]
    starts = [m for m in re.finditer(r"(?<=\s)" + str(next_fn) + r" (?=\S)", tail)]
    for st in reversed(starts):
        chain = [str(next_fn)]
        cur = st.end()
        while True:
            nxt = re.compile(r"(?<=\s)" + str(int(chain[-1]) + 1) + r" (?=\S)").search(tail, cur)
            if not nxt:
                break
            chain.append(str(int(chain[-1]) + 1))
            cur = nxt.end()
        if len(tail) - st.start() > 600 * len(chain) + 400:
            continue  # too much text after the last note for it to be only footnotes
        before = page[: block_start + st.start()]
        glued = sum(1 for k in chain if re.search(r"[^\s\d(/\-–.]" + k + r"(?=[\s,.;:)])", before))
        if glued * 2 >= len(chain):
            return block_start + st.start(), chain
    return None, []


def parse_numbered_blocks(blocks: list[str], symbol: str | None = None) -> tuple[list[Paragraph], list[str]]:
    """Paragraphs of a one-numbered-paragraph-per-block text (rules in the module docstring)."""
    items: list[tuple[int | None, str]] = []
    blocks = clean_page_furniture(blocks, symbol)
    for b in blocks:
        b = re.sub(r"\s*\n\s*", " ", b)
        m = _BLOCK_NUM_RE.match(b)
        items.append((int(m.group(1)), m.group(2).strip()) if m else (None, b))
    asm = ParagraphAssembler(max_gap=3, section_restarts=False)
    last = 0
    prev_text = ""
    for idx, (n, text) in enumerate(items):
        if _is_toc(text):
            continue
        if n is None:
            asm.unnumbered(text)
            prev_text = text
            continue
        clean, headings = split_trailing_headings(text)
        heading = _heading_like(clean)
        if _fragment_like(text):
            body = False
        elif n == last + 1:
            body = not (heading and _number_follows(items, idx, n))
        else:
            body = last + 1 < n <= last + 4 and not heading and not _ABBREV_END_RE.search(prev_text)
        if body:
            asm.numbered(n, clean, gap_ok=True)
            last = n
        elif _fragment_like(text) or n > last + 4 or _ABBREV_END_RE.search(prev_text) and n > last:
            asm.continuation(f"{n}. {clean}")  # a piece cut off the paragraph, number included
        elif _heading_like(text):
            asm.heading(f"{n}. {text}")
            prev_text = ""
            continue
        else:
            asm.numbered(n, clean, gap_ok=False)  # a restarted list item: folded or annex-N
        for h in headings:
            asm.heading(h)
        prev_text = clean
    return asm.finish(), asm.warnings


def _number_follows(items: list[tuple[int | None, str]], idx: int, n: int) -> bool:
    for m, text in items[idx + 1 : idx + 7]:
        if m == n and not _heading_like(split_trailing_headings(text)[0]) and not _fragment_like(text):
            return True
    return False


__all__ = ["read", "read_plaintext", "parse_numbered_blocks", "split_trailing_headings", "heading_rank"]
