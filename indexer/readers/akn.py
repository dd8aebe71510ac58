"""Reader for AKN4UN XML (Akoma Ntoso 3.0), as published for Security Council resolutions.

What a citation may say is what the printed document says, so the reader keeps
three kinds of paragraph apart:

* preambular paragraphs (``<preamble>/<container>``) -> ``preamble-N``;
* operative paragraphs (``<mainBody>/<paragraph>`` with a ``<num>`` such as
  ``1.`` or, in Arabic, ``1 -``) -> ``"1"``, ``"2"`` ... with their sub-items
  (``(a)``, ``(i)`` ...) as separate lines of the same paragraph's text;
* annex content (``<attachments>`` or an "Annex" heading after the operative
  part) -> ``annex-N`` / ``annex-A-N`` for numbered annex paragraphs.

The official files are not always marked up the way they are printed; the
reader repairs what it can prove and says so in ``ParsedDocument.warnings``:

* paragraphs whose number was typed into the text (``<p>17 - ...</p>``, common in
  the Arabic files) get that number when it follows the previous one;
* sub-items marked up as top-level paragraphs (``<num>(a)</num>``) and
  continuation blocks without a number are joined to the open numbered paragraph;
* preambular paragraphs that slipped into ``<mainBody>`` (before operative
  paragraph 1) are numbered on from the preamble;
* an operative paragraph nested by mistake as the last item of the previous
  paragraph's list (S/RES/2820 (2026), para. 5) is taken out as its own paragraph;
  a number run into the previous paragraph's text ("...؛ 25 - يؤكد") is split off
  when the numbering would otherwise skip it; "61" after 15 (digits reversed by
  right-to-left editing) is read as 16; a paragraph repeated word for word by the
  markup is kept once;
* a numbered paragraph whose locator would repeat one already given (e.g. "Part II"
  of an annex restarting at 1), or that goes back in the numbering, is kept as an
  unnumbered paragraph, printed number in its text, rather than given an ambiguous
  or wrong locator;
* headings inside a paragraph's list ("(a) Protection of civilians:" followed by
  its items) stay in that paragraph; other headings become the ``section`` path.

``python -m eval.akn_check DIR...`` checks all of this over folders of files:
every top-level ``<num>`` must come out as its paragraph.

Anything without a printed number (a one-paragraph resolution, a presidential
statement, annex text) gets an unnumbered locator ``u-S-N``. Footnotes
(``<authorialNote>``) are left out of the text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from indexer.paragraphs import annex_label
from parasearch.types import (
    ANNEX,
    NUMBERED,
    PREAMBLE,
    UNNUMBERED,
    Document,
    DocumentError,
    Paragraph,
    ParsedDocument,
)

AKN_NS = "http://docs.oasis-open.org/legaldocml/ns/akn/3.0"
_N = "{" + AKN_NS + "}"

# ISO 639-2 (as in FRBRlanguage) -> ISO 639-1.
LANGUAGES = {
    "eng": "en", "en": "en",
    "fra": "fr", "fre": "fr", "fr": "fr",
    "spa": "es", "es": "es",
    "rus": "ru", "ru": "ru",
    "ara": "ar", "ar": "ar",
    "zho": "zh", "chi": "zh", "zh": "zh",
}  # fmt: skip

# Elements whose text runs inside a line; any other element is a block (its own line).
_INLINE = frozenset(
    """span a i b u sup sub inline docDate docNumber docTitle docStatus docAuthority docProponent
    docType docPurpose docCommittee docIntroducer docStage docJurisdiction legislature session
    shortTitle ref mref rref term def date time organization person location quantity abbr
    entity concept object event process role signature decoration marker remark ins del omissis
    placeholder fillIn argument courtType judge party lawyer opinion affectedDocument relatedDocument
    change vote outcome recordedTime narrative summary embeddedText""".split()
)
# Elements whose content is never paragraph text: footnotes, metadata, images.
_SKIP = frozenset({"authorialNote", "noteRef", "meta", "img", "componentRef", "documentRef"})
_BREAK = frozenset({"eol", "eop", "br"})
# Zero-width and direction marks left by word processors; soft hyphens.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\ufeff\u00ad"))

# A top-level operative number as marked up: "1.", "1 -" (Arabic), "1".
_TOP_NUM = re.compile(r"^\s*(\d{1,4})\s*[.\-\u2010-\u2014]?\s*$")
# A number typed at the start of a paragraph's text: "17 - ", "9. ", "11 ".
_TEXT_NUM = re.compile(r"^[\u2018\u2019'\"\u201c\u201d]?\s*(\d{1,4})(?:\s*([.\-\u2010-\u2014])\s*|\s+)(?=\S)")
# The next paragraph's number run into the text of the previous one: "...؛ 25 - يؤكد ...".
_EMBEDDED_NUM = re.compile(r"(?<=[;.:\u061b\u3002\uff1b])\s+(\d{1,4})\s*[.\-\u2010-\u2014]\s+(?=\S)")
# A footnote printed as a paragraph: "* Reissued for technical reasons on 27 October 2022."
_FOOTNOTE_LINE = re.compile(r"^[*\uff0a]\s.{0,150}$")
# Section labels of headings: "A.", "IV."
_SECTION_NUM = re.compile(r"^(?:[A-Z]|[IVX]{1,5})\.$")
_HEADING_CLASS = re.compile(r"^(H\d|HCh|HM|.*heading|title)", re.IGNORECASE)
_TERMINAL = tuple(".;,\u061b\u060c\u3002\uff1b\uff0c")  # . ; , and the Arabic / CJK forms
_RES_SYMBOL = re.compile(r"^S/RES/(\d+)\s*\((\d{4})\)$")
_FRBR_RES = re.compile(r"/(\d{1,5})-(\d{4})/")
_TITLE_RES = re.compile(r"(\d{3,5})\s*\((\d{4})\)")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")

# "Annex", "Annex A", "Annex II – Terms of reference", "Designation Annex", in six languages.
_ANNEX_HEAD = re.compile(
    r"^(?:(?:Annex|Annexe|Anexo|Приложение)\b|附件|(?:ال)?مرفق\b|.{0,40}\bAnnex$)", re.IGNORECASE
)


def _local(el: etree._Element) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def clean(text: str) -> str:
    """Whitespace-normalised text: invisible marks dropped, runs of white space (tabs, NBSP) -> one space."""
    return " ".join(text.translate(_INVISIBLE).split())


def _collect_inline(el: etree._Element, parts: list[str]) -> None:
    if el.text:
        parts.append(el.text)
    for child in el:
        name = _local(child)
        if name in _BREAK:
            parts.append(" ")
        elif name and name not in _SKIP:
            _collect_inline(child, parts)
        if child.tail:
            parts.append(child.tail)


def inline_text(el: etree._Element) -> str:
    """The text of ``el`` on one line, footnotes left out."""
    parts: list[str] = []
    _collect_inline(el, parts)
    return clean("".join(parts))


def _is_block(el: etree._Element) -> bool:
    name = _local(el)
    return bool(name) and name not in _INLINE and name not in _SKIP and name not in _BREAK


def render_lines(el: etree._Element, skip_num: bool = False) -> list[str]:
    """Readable lines of a block: one line per paragraph of text, each numbered item on its own line.

    A ``<num>`` child labels the first line of its parent (``(a) provide ...``); with
    ``skip_num`` the element's own ``<num>`` is left out (the caller uses it as the locator).
    """
    if _local(el) in _SKIP:
        return []
    children = [c for c in el if _local(c)]
    if not any(_is_block(c) for c in children):
        text = inline_text(el)
        return [text] if text else []
    lines: list[str] = []
    label = ""
    run: list[str] = [el.text or ""]

    def flush() -> None:
        text = clean("".join(run))
        if text:
            lines.append(text)
        run.clear()

    for child in el:
        name = _local(child)
        if name == "num":
            if not skip_num:
                label = inline_text(child)
        elif name in _BREAK:
            run.append(" ")
        elif name in _SKIP:
            pass
        elif _is_block(child):
            flush()
            lines.extend(render_lines(child))
        elif name:
            sub: list[str] = []
            _collect_inline(child, sub)
            run.extend(sub)
        if child.tail:
            run.append(child.tail)
    flush()
    if label:
        if lines:
            lines[0] = f"{label} {lines[0]}"
        else:
            lines.append(label)
    return lines


def top_number(num_text: str | None) -> int | None:
    """The operative paragraph number of a top-level ``<num>`` ("1.", "1 -"), else None."""
    if not num_text:
        return None
    m = _TOP_NUM.match(num_text)
    return int(m.group(1)) if m else None


@dataclass
class _Block:
    """One top-level block of the body: a ``<paragraph>``, ``<container>``, ``<p>``, ``<alinea>``."""

    el: etree._Element
    num: str  # the block's own <num>, "" if none
    lines: list[str]  # its text, without its own <num>
    heading: bool  # marked up (or classed) as a heading

    @property
    def text(self) -> str:
        return " ".join(self.lines)


def _make_block(el: etree._Element) -> _Block:
    num_el = el.find(_N + "num")
    num = inline_text(num_el) if num_el is not None else ""
    lines = render_lines(el, skip_num=True)
    kinds = {_local(c) for c in el if _local(c)} - {"num"}
    heading = bool(kinds) and kinds <= {"heading", "subheading"}
    if not heading and top_number(num) is None and _HEADING_CLASS.match(el.get("class") or ""):
        heading = True
    return _Block(el, num, lines, heading)


def _looks_like_heading(block: _Block) -> bool:
    """A short unnumbered line without sentence punctuation: "Reporting", "Measures", "UNMISS Mandate"."""
    if block.heading:
        return True
    if len(block.lines) != 1 or (block.num and not _SECTION_NUM.match(block.num)):
        return False
    text = block.lines[0]
    if not text or text[0].islower() or text.startswith(("(", "•", "-", "–", "·", "o ", "◦")):
        return False
    if text.endswith(_TERMINAL):
        return False
    words = text.split()
    if text.endswith((":", "：")):
        return len(words) <= 3 and len(text) <= 30
    cjk = sum(1 for ch in text if unicodedata.east_asian_width(ch) == "W")
    if cjk > len(text) / 2:
        return len(text) <= 30
    return len(words) <= 12 and len(text) <= 120


def _is_annex_heading(text: str) -> bool:
    return bool(_ANNEX_HEAD.match(text)) and len(text) <= 120 and not text.endswith(_TERMINAL)


def _is_decoration(block: _Block) -> bool:
    return not block.num and all(set(line) <= set("*·•-–— ") for line in block.lines)


@dataclass
class _Builder:
    """Turns the sequence of body blocks into paragraphs with printed locators."""

    is_resolution: bool
    lowercase_paragraphs: bool = False  # Russian paragraphs open with a lower-case verb ("постановляет")
    paragraphs: list[Paragraph] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    preamble_count: int = 0
    last_num: int | None = None  # last operative paragraph number
    in_annex: bool = False
    annex: str | None = None  # label of the current annex
    annex_heading: str = ""
    annex_last: int | None = None
    annex_paras: int = 0  # paragraphs read since the annex heading
    heading: str = ""
    section_idx: int = 0
    unnumbered: dict[int, int] = field(default_factory=dict)
    open_para: Paragraph | None = None  # numbered paragraph that continuation lines join
    last_op: Paragraph | None = None  # the last operative paragraph
    last_preamble: Paragraph | None = None
    pending: tuple[int, str] | None = None  # a number marked up alone, waiting for its text
    prev_heading: bool = False
    used: set[str] = field(default_factory=set)

    # -- sections -------------------------------------------------------------------
    def section(self) -> str:
        parts = [p for p in (self.annex_heading, self.heading) if p]
        return " > ".join(parts)

    def on_heading(self, text: str) -> None:
        if not self.prev_heading:
            self.section_idx += 1
        self.prev_heading = True
        self.open_para = None
        if _is_annex_heading(text):
            self.enter_annex(text, annex_label(clean(text)))
        else:
            self.heading = text

    def enter_annex(self, heading: str, label: str | None) -> None:
        self.in_annex = True
        self.annex = label
        self.annex_heading = heading
        self.annex_last = None
        self.annex_paras = 0
        self.heading = ""
        self.open_para = None

    # -- paragraphs -----------------------------------------------------------------
    def _emit(self, para: str, text: str, kind: str) -> Paragraph:
        p = Paragraph(para=para, text=text, kind=kind, section=self.section())
        self.paragraphs.append(p)
        if self.in_annex:
            self.annex_paras += 1
        self.used.add(para)
        self.prev_heading = False
        return p

    def preamble(self, lines: list[str]) -> None:
        self.preamble_count += 1
        self.last_preamble = self._emit(f"preamble-{self.preamble_count}", "\n".join(lines), PREAMBLE)

    def unnumbered_para(self, lines: list[str]) -> None:
        n = self.unnumbered.get(self.section_idx, 0) + 1
        self.unnumbered[self.section_idx] = n
        self._emit(f"u-{self.section_idx}-{n}", "\n".join(lines), UNNUMBERED)
        self.open_para = None

    def numbered(self, n: int, lines: list[str], printed: str) -> None:
        """Operative (or annex) paragraph ``n``; ``printed`` is its number as printed, for fallbacks."""
        self.drop_pending()
        if not self.in_annex and self.last_num is not None and not self.last_num < n <= self.last_num + 3:
            expected = self.last_num + 1
            if len(str(n)) > 1 and int(str(n)[::-1]) == expected and str(expected) not in self.used:
                # Digits reversed by right-to-left editing ("61" for 16 after 15).
                self.warnings.append(
                    f"operative paragraph number {printed} read as {expected} (digits reversed)"
                )
                n = expected
            elif n <= self.last_num:
                if self.is_repeat(str(n), lines, printed):
                    return
                self.warnings.append(
                    f"operative paragraph {printed} after {self.last_num}: kept as an unnumbered paragraph"
                )
                self.unnumbered_para([f"{printed} {lines[0]}" if lines else printed, *lines[1:]])
                return
        if self.in_annex:
            para = f"annex-{self.annex}-{n}" if self.annex else f"annex-{n}"
            kind = ANNEX
        else:
            para, kind = str(n), NUMBERED
        if para in self.used:
            if self.is_repeat(para, lines, printed):
                return
            where = f"annex {self.annex or ''}".strip() if self.in_annex else "operative part"
            self.warnings.append(
                f"paragraph number {printed} repeats in the {where}; kept as an unnumbered paragraph"
            )
            self.unnumbered_para([f"{printed} {lines[0]}" if lines else printed, *lines[1:]])
            return
        if self.in_annex:
            self.annex_last = n
        else:
            if self.last_num is not None and n == self.last_num + 2:
                self.split_run_in(self.last_num + 1)
            if self.last_num is not None and n != self.last_num + 1:
                self.warnings.append(f"operative paragraph {n} follows paragraph {self.last_num}")
            self.last_num = n
        self.open_para = self._emit(para, "\n".join(lines), kind)
        if not self.in_annex:
            self.last_op = self.open_para

    def is_repeat(self, para: str, lines: list[str], printed: str) -> bool:
        """The markup repeats paragraph ``para`` word for word: drop the copy."""
        text = "\n".join(lines)
        if any(p.para == para and p.text == text for p in self.paragraphs):
            self.warnings.append(f"paragraph {printed} repeated word for word in the markup: copy left out")
            self.open_para = None
            return True
        return False

    def split_run_in(self, n: int) -> None:
        """Paragraph ``n`` is missing: split it off the previous one if its number was run into that text."""
        prev = self.last_op
        if prev is None:
            return
        lines = prev.text.split("\n")
        for i in range(len(lines) - 1, -1, -1):
            for m in _EMBEDDED_NUM.finditer(lines[i]):
                if int(m.group(1)) == n:
                    prev.text = "\n".join([*lines[:i], lines[i][: m.start()]])
                    new = Paragraph(
                        str(n), "\n".join([lines[i][m.end() :], *lines[i + 1 :]]), NUMBERED, prev.section
                    )
                    self.paragraphs.insert(self.paragraphs.index(prev) + 1, new)
                    self.used.add(new.para)
                    self.last_num = n
                    self.warnings.append(
                        f"operative paragraph {n} split off paragraph {n - 1} (number in its text)"
                    )
                    return

    def drop_pending(self) -> None:
        if self.pending is not None:
            self.warnings.append(f"paragraph number {self.pending[1]} without text: left out")
            self.pending = None

    def join(self, lines: list[str]) -> None:
        assert self.open_para is not None
        self.open_para.text = (
            "\n".join([self.open_para.text, *lines]) if self.open_para.text else "\n".join(lines)
        )
        self.prev_heading = False

    # -- the state machine ----------------------------------------------------------
    def number_in_text(self, block: _Block) -> tuple[int, list[str]] | None:
        """A paragraph number typed at the start of the text, if it continues the numbering."""
        if block.num or not block.lines:
            return None
        m = _TEXT_NUM.match(block.lines[0])
        if not m:
            return None
        n = int(m.group(1))
        last = self.annex_last if self.in_annex else self.last_num
        expected = (last or 0) + 1
        explicit = m.group(2) is not None
        ok = n == expected or (
            explicit and not self.in_annex and last is not None and expected < n <= expected + 2
        )
        rest = block.lines[0][m.end() :]
        # "2.5 million ...", "5 000 soldats ..." and "3 members ..." are text, not numbers.
        if (
            not ok
            or rest[:1].isdigit()
            or (not explicit and rest[:1].islower() and not self.lowercase_paragraphs)
        ):
            return None
        return n, [rest, *block.lines[1:]]

    def opens_paragraph(self, block: _Block) -> bool:
        return top_number(block.num) is not None or self.number_in_text(block) is not None

    def body_block(self, block: _Block, operative_follows: bool, following: _Block | None = None) -> None:
        if _is_decoration(block):
            return
        n = top_number(block.num)
        if n is not None and not block.lines:
            # "<num>1.</num>" with its text in the next block (some annexes).
            self.drop_pending()
            self.pending = (n, block.num)
            return
        if not block.lines:
            return
        if n is not None:
            if not self.in_annex and self.last_num is not None and n == 1 and self.last_num > 1:
                self.warnings.append(
                    "paragraph numbering restarts at 1 without an annex heading: read as annex"
                )
                self.enter_annex("", None)
            self.numbered(n, block.lines, block.num)
            return
        recovered = self.number_in_text(block)
        if recovered is not None:
            n, lines = recovered
            where = "annex " if self.in_annex else ""
            self.warnings.append(f"{where}paragraph {n}: number taken from its text (no <num> markup)")
            self.numbered(n, lines, str(n))
            return
        if block.heading or _looks_like_heading(block) or (not block.num and _is_annex_heading(block.text)):
            text = f"{block.num} {block.text}" if block.num else block.text
            if (
                self.open_para is not None
                and not self.in_annex
                and self.pending is None
                and following is not None
                and not self.opens_paragraph(following)
                and not (following.heading or _looks_like_heading(following))
                and not _is_annex_heading(text)
            ):
                # A heading inside a paragraph's list ("(a) Protection of civilians", then its
                # items): what follows is not a new paragraph, so it belongs to the open one.
                self.join([text])
                return
            self.drop_pending()
            label = block.num
            self.on_heading(f"{label} {block.text}" if label else block.text)
            return
        lines = list(block.lines)
        if block.num:
            lines[0] = f"{block.num} {lines[0]}"
        if self.pending is not None:
            pending_n, printed = self.pending
            self.pending = None
            self.numbered(pending_n, lines, printed)
        elif self.open_para is not None:
            self.join(lines)
        elif self.is_resolution and not self.in_annex and self.last_num is None and operative_follows:
            if not lines[-1].endswith(_TERMINAL):
                # Preambular paragraphs end with a comma; this is a heading over paragraph 1.
                self.on_heading(" ".join(lines))
                return
            self.warnings.append("preambular paragraph marked up in the operative part")
            self.preamble(lines)
        else:
            self.unnumbered_para(lines)


def _frbr(meta: etree._Element | None, part: str, tag: str) -> list[etree._Element]:
    if meta is None:
        return []
    found: list[etree._Element] = meta.findall(f"{_N}identification/{_N}{part}/{_N}{tag}")
    return found


def _valid_date(value: str | None) -> str | None:
    if not value:
        return None
    m = _ISO_DATE.match(value.strip())
    if not m:
        return None
    year, month, day = (int(g) for g in m.groups())
    if not (1945 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31):
        return None
    return value.strip()


def normalize_res_symbol(text: str) -> str:
    """The official form of a symbol from ``<docNumber>``: ``S/RES/2561(2021)`` -> ``S/RES/2561 (2021)``."""
    s = clean(unicodedata.normalize("NFKC", text))
    m = _RES_SYMBOL.match(s)
    if m:
        return f"S/RES/{int(m.group(1))} ({m.group(2)})"
    return s


@dataclass
class _Meta:
    symbol: str
    title: str
    date: str | None
    language: str
    body: str | None
    type: str | None


def _metadata(doc: etree._Element, warnings: list[str]) -> _Meta:
    meta = doc.find(_N + "meta")
    name = doc.get("name") or ""
    work_this = _frbr(meta, "FRBRWork", "FRBRthis")
    work_uri = work_this[0].get("value", "") if work_this else ""
    authors = {(a.get("href") or "").lstrip("#") for a in _frbr(meta, "FRBRWork", "FRBRauthor")}

    # Symbol: the printed <docNumber>; the FRBR work URI or the printed title when it is empty.
    symbol = ""
    for dn in doc.iter(_N + "docNumber"):
        symbol = normalize_res_symbol(inline_text(dn))
        if symbol:
            break
    # The symbol says what the document is; the markup's name only when there is no symbol
    # (the presidential statement S/PRST/2020/11 is marked up as <statement name="resolution">).
    is_res = symbol.startswith("S/RES/") or (not symbol and name == "resolution")
    frbr_m = _FRBR_RES.search(work_uri) if "/unsc/" in work_uri else None
    frbr_symbol = f"S/RES/{int(frbr_m.group(1))} ({frbr_m.group(2)})" if frbr_m and is_res else ""
    titles = [dt for dt in doc.iter(_N + "docTitle")]
    title_el = next((t for t in titles if t.get("refersTo") == "#resolutionNumber"), None)
    if title_el is None:
        title_el = next((t for t in titles if inline_text(t)), None)
    title = inline_text(title_el).rstrip(",، ") if title_el is not None else ""
    if not symbol:
        if frbr_symbol:
            symbol = frbr_symbol
            warnings.append(f"empty <docNumber>: symbol {symbol} taken from the FRBR work identifier")
        elif is_res and (tm := _TITLE_RES.search(title)):
            symbol = f"S/RES/{int(tm.group(1))} ({tm.group(2)})"
            warnings.append(f"empty <docNumber>: symbol {symbol} taken from the title")
    elif frbr_symbol and frbr_symbol != symbol:
        warnings.append(f"<docNumber> {symbol} differs from the FRBR work identifier ({frbr_symbol})")
    is_res = symbol.startswith("S/RES/") or (not symbol and name == "resolution")

    # Date: adoption (FRBRWork), else the printed date of the document.
    date = None
    for d in _frbr(meta, "FRBRWork", "FRBRdate"):
        date = _valid_date(d.get("date"))
        if date:
            break
    if date is None:
        for dd in doc.iter(_N + "docDate"):
            date = _valid_date(dd.get("date"))
            if date:
                break

    language = ""
    for lang in _frbr(meta, "FRBRExpression", "FRBRlanguage"):
        code = (lang.get("language") or "").strip().lower()
        language = LANGUAGES.get(code, "")
        if not language and code:
            warnings.append(f"unknown FRBRlanguage {code!r}")
        break

    body = None
    if "sc" in authors or "/unsc/" in work_uri or symbol.startswith("S/"):
        body = "Security Council"
    if is_res:
        doc_type: str | None = "resolution"
    elif symbol.startswith("S/PRST/"):
        doc_type = "presidential statement"
    else:
        doc_type = name or None
    if not title and (m := re.match(r"^S/RES/(\d+ \(\d{4}\))$", symbol)):
        title = f"Security Council resolution {m.group(1)}"
    return _Meta(symbol, title, date, language or "en", body, doc_type)


def _starts_operative(block: _Block) -> bool:
    """A block numbered as an operative paragraph, by markup or by a typed "1 -" / "1." in its text."""
    if top_number(block.num) is not None:
        return True
    return (
        not block.num
        and bool(block.lines)
        and bool(re.match(r"^1\s*[.\-\u2010-\u2014]\s*\S", block.lines[0]))
    )


def _read_preamble(preamble: etree._Element, b: _Builder) -> None:
    for el in preamble:
        name = _local(el)
        if not name or name in _SKIP or name == "formula":
            continue
        lines = render_lines(el)
        if not lines:
            continue
        text = " ".join(lines)
        if _FOOTNOTE_LINE.match(text):
            b.warnings.append(f"footnote left out of the preamble: {text[:60]}")
            continue
        label = clean(el.get("name") or "")
        short = (
            len(lines) == 1 and not text.endswith(_TERMINAL) and len(text.split()) <= 20 and len(text) <= 150
        )
        if name != "container" and len(lines) == 1:
            b.on_heading(text)  # a heading printed inside the preamble
        elif name == "container" and not label and short:
            b.on_heading(text)  # "Degrading the threat posed by Al-Shabaab, and the Arms Embargo ..."
        elif (
            name == "container"
            and label
            and b.last_preamble is not None
            and not b.last_preamble.text.endswith(_TERMINAL)
            and not text.casefold().startswith(label.casefold())
        ):
            # One preambular paragraph split over two containers mid-sentence.
            b.warnings.append(f"{b.last_preamble.para} continues in the next container: joined")
            b.last_preamble.text = f"{b.last_preamble.text} {lines[0]}" + "".join(f"\n{x}" for x in lines[1:])
        elif b.last_preamble is not None and "\n".join(lines) == b.last_preamble.text:
            b.warnings.append(f"{b.last_preamble.para} repeated in the next container: left out")
        else:
            b.preamble(lines)


def _stray_number(el: etree._Element) -> etree._Element | None:
    """An operative paragraph that the markup nested at the end of the previous one's list.

    E.g. ``<point><num>5.</num>...</point>`` as the last item of sub-item (d)'s list in
    S/RES/2820 (2026): a point numbered like an operative paragraph ("5.", not 1), alone
    among its siblings in being so numbered, with nothing after it in the block.
    """
    own = el.find(_N + "num")
    for num in reversed(list(el.iter(_N + "num"))):
        if num is own:
            continue
        n = top_number(inline_text(num))
        point = num.getparent()
        if n is None or n == 1 or point is None or point is el:
            continue
        siblings = [s for s in point.itersiblings(preceding=True)] + list(point.itersiblings())
        if any(
            top_number(inline_text(s.find(_N + "num"))) is not None
            for s in siblings
            if s.find(_N + "num") is not None
        ):
            return None
        node = point
        while node is not el:
            if (node.tail or "").strip():
                return None
            for after in node.itersiblings():
                if inline_text(after) or (after.tail or "").strip():
                    return None
            node = node.getparent()
            if node is None:
                return None
        return point
    return None


def _with_following(blocks: list[_Block]) -> list[tuple[_Block, _Block | None]]:
    """Each block with the next one that has text."""
    out: list[tuple[_Block, _Block | None]] = []
    following: _Block | None = None
    for block in reversed(blocks):
        out.append((block, following))
        if block.lines and not _is_decoration(block):
            following = block
    return out[::-1]


def _body_blocks(body: etree._Element) -> list[_Block]:
    blocks: list[_Block] = []
    for el in body:
        if not _local(el) or _local(el) in _SKIP:
            continue
        stray = _stray_number(el)
        if stray is not None:
            stray.getparent().remove(stray)
        blocks.append(_make_block(el))
        if stray is not None:
            blocks.append(_make_block(stray))
    return blocks


def parse_tree(root: etree._Element, source: str = "") -> ParsedDocument:
    """Read a parsed AKN tree (root ``<akomaNtoso>``)."""
    qname = etree.QName(root)
    if qname.localname != "akomaNtoso" or qname.namespace != AKN_NS:
        where = ""
        if qname.localname == "akomaNtoso":
            where = (
                f" in namespace {qname.namespace}" if qname.namespace else " without the AKN 3.0 namespace"
            )
        raise DocumentError(f"not an Akoma Ntoso (AKN4UN) document: root element <{qname.localname}>{where}")
    doc = next((c for c in root if _local(c)), None)
    if doc is None:
        raise DocumentError("Akoma Ntoso document without a document element")
    warnings: list[str] = []
    meta = _metadata(doc, warnings)
    if not meta.language:
        meta.language = "en"
    b = _Builder(
        is_resolution=meta.type == "resolution", lowercase_paragraphs=meta.language == "ru", warnings=warnings
    )

    # A document may alternate <preamble> and <mainBody> (a preambular paragraph that the
    # markup put in a body of its own); read the parts in document order.
    parts: list[etree._Element | list[_Block]] = []  # a <preamble>, or a body's blocks
    for part in doc:
        name = _local(part)
        if name == "preamble":
            parts.append(part)
        elif name in ("mainBody", "body"):
            parts.append(_body_blocks(part))
    body_blocks = [bl for blocks in parts if isinstance(blocks, list) for bl in blocks]
    # The first block that carries an operative number (marked up or typed as "1 -").
    first_op = next((bl for bl in body_blocks if _starts_operative(bl)), None)
    before_op = True
    for content in parts:
        if not isinstance(content, list):
            _read_preamble(content, b)
            continue
        for block, following in _with_following(content):
            if block is first_op:
                before_op = False
            b.body_block(block, operative_follows=before_op and first_op is not None, following=following)

    b.drop_pending()
    for att in doc.iter(_N + "attachment"):
        inner = next((c for c in att if _local(c)), None)
        if inner is None:
            continue
        att_main = inner.find(_N + "mainBody")
        if att_main is None:
            continue
        att_blocks = _body_blocks(att_main)
        first_text = next((bl for bl in att_blocks if bl.lines), None)
        heading_waiting = b.in_annex and b.annex_paras == 0  # "Annex A" ended the body before it
        if not heading_waiting and (
            first_text is None or first_text.num or not _is_annex_heading(first_text.text)
        ):
            # An annex printed without an "Annex" heading of its own.
            b.on_heading("Annex")
        for block, following in _with_following(att_blocks):
            b.body_block(block, operative_follows=False, following=following)
        b.drop_pending()

    document = Document(
        symbol=meta.symbol,
        title=meta.title,
        date=meta.date,
        body=meta.body,
        type=meta.type,
        language=meta.language,
        source=source,
    )
    return ParsedDocument(doc=document, paragraphs=b.paragraphs, warnings=b.warnings)


def read(path: Path) -> ParsedDocument:
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, remove_comments=True, remove_pis=True, huge_tree=False
    )
    try:
        tree = etree.parse(str(path), parser)
    except etree.XMLSyntaxError as exc:
        raise DocumentError(f"malformed XML: {exc}") from exc
    except OSError as exc:
        raise DocumentError(f"cannot read file: {exc}") from exc
    return parse_tree(tree.getroot(), source=str(path))
