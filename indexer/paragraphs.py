"""The shared paragraph segmenter: text -> citable :class:`Paragraph` objects.

Two layers live here:

* :class:`ParagraphAssembler`, the locator engine every text reader shares (markdown, plain
  text, the PDF-text parser, the docx reader through :func:`segment_text`). Readers feed it
  events in reading order -- a heading, a numbered paragraph ``N.``, a preambular paragraph,
  an unnumbered block, a continuation -- and it decides the locator of each paragraph.
* :func:`segment_text`, which turns markdown or plain text (``#`` headings, ``**A. Bold**``
  heading lines, ``II. Recommendations`` / ``A. Assistance`` headings, ``N. text`` numbered
  paragraphs, ``(a)`` / ``(i)`` sub-items) into those events.

Locator rules (see :mod:`parasearch.types` for the locator syntax):

* ``N.`` that continues the document's numbering (``N == last + 1``; a gap of a few numbers
  is tolerated because source files do miss a paragraph now and then) -> ``"N"``, kind
  ``numbered``.
* Numbered paragraphs after an ``Annex`` heading -> ``"annex-N"`` (``"annex-II-N"`` for
  Annex II), kind ``annex``, *when the body already used numbered paragraphs*. When the annex
  carries the document's first numbering (a draft resolution whose only content is the
  annexed declaration), its paragraphs are simply ``"N"``: there is nothing to disambiguate
  and that is the number the document prints and people cite.
* A restarted numbering in the body (``1.``, ``2.`` again after para 42, not under an Annex
  heading) is folded into the paragraph before it. Such lists are the agenda a paragraph
  announces ("adopted the following agenda:"), an article a paragraph quotes, or the steps of
  a recommendation: the document prints no other number for them, so the only true citation
  of that text is the paragraph that contains it. Giving them locators of their own would
  invent citations ("para. 2") that collide with the real paragraphs 1, 2. The one exception
  is a restarted run that *ends the document* (no body paragraph follows it) and is not
  announced by its paragraph (which does not end with ``:``): that is an annex whose heading
  was lost (plain-text sources), so its items become ``annex-N``.
* Numbering that restarts at ``1.`` right under a marked section heading (``II``, ``B``)
  with no numbered paragraph since that heading, in the body: every section has its own
  paragraphs 1, 2, ... (Fifth Committee resolutions, parts A/B/C of a budget resolution).
  A bare ``"4"`` would then be ambiguous, so all paragraphs under marked sections become
  ``"sect-II-4"`` (``section II, para. 4``; ``"sect-B.II-4"`` when section II recurs in
  part B), kind ``numbered``.
* Numbers that cannot continue the numbering (``2030.`` at the start of a wrapped line, a
  page fragment ``780. 9 United Nations ...``) are text, appended to the current paragraph.
* Unnumbered blocks get ``"u-<section#>-<n>"`` (kind ``unnumbered``), section# counting the
  headings seen so far (0 = before any heading), n counting within it. An unnumbered block
  right after a numbered paragraph in the same section that continues it -- a sub-item
  ``(a)``, a bullet, a block that starts in lower case or with a quotation mark, or any block
  after a paragraph ending with ``:`` -- is folded into that paragraph instead.
* After a ``The General Assembly,``-style line, unnumbered paragraphs before the first
  numbered one are ``"preamble-N"``, kind ``preamble`` -- except a block that reads as an
  operative sentence (ends with ``.`` or ``:`` and does not open like a preambular clause,
  e.g. "Adopts the following declaration:"), which ends the preamble and is unnumbered.
* Headings are never paragraphs; they form the ``section`` path. Their rank comes from their
  style, not from markdown levels (which converted documents use inconsistently): Annex 0,
  the title right under an annex heading 0.5, Roman numeral 1, capital letter 2, Arabic
  number 3, lower-case letter 4, anything else 5. A heading closes every open heading of
  the same or a deeper rank. A lone short capitalised line without closing punctuation
  (``INTRODUCTION``) is a heading too.
* Page furniture (symbols, job numbers, ``Distr.:`` lines, page numbers, barcodes), tables of
  contents (dot leaders, trailing page numbers after a ``Contents`` heading) and tables
  (tab-separated or ``|`` rows) are skipped: they carry no paragraph number, and a table
  flattened into one line of cells is neither readable nor citable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from parasearch.types import ANNEX, NUMBERED, PREAMBLE, UNNUMBERED, Paragraph

__all__ = [
    "ParagraphAssembler",
    "segment_text",
    "clean_inline",
    "heading_rank",
    "annex_label",
    "is_roman",
    "is_furniture_line",
    "is_preamble_opener",
    "SYMBOL_RE",
    "find_date",
]

# --------------------------------------------------------------------------- patterns

_ROMAN_RE = re.compile(r"^(?=[IVXLC])C{0,3}(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})$")
NUM_RE = re.compile(r"^(\d{1,3})\.(?:[ \t\u00a0]+(.*\S))?\s*$")
SUBITEM_RE = re.compile(r"^\(([a-z]{1,2}|[ivxlc]{1,7}|\d{1,2})\)\s")
BULLET_RE = re.compile(r"^\s*(?:[-*+\u2022\u25aa\u25cf\u2013]\s+)")
HEADING_MARK_RE = re.compile(r"^(?:([IVXLC]{1,7})|([A-Z])|(\d{1,2})|([a-z]))[.)]?\s+(\S.*)$")
ANNEX_RE = re.compile(
    r"^(?:annex|appendix|enclosure)(?:es)?(?:\s+([IVXLC]{1,6}|[A-Z]|\d{1,2}))?\s*[*.:]?\s*$", re.IGNORECASE
)
# Annex headings in the other UN languages (the Akoma Ntoso resolutions come in all six): "Annexe II",
# "Anexo A", "Приложение В", "附件一", "المرفق ألف".
_ANNEX_WORD_RE = re.compile(r"^(?:Annexe|Anexo|Приложение)\b\s*", re.IGNORECASE)
_ANNEX_LABEL_LATIN = re.compile(r"^\s*([IVX]{1,5}|[A-ZАВС]|\d{1,2})(?=$|[\s:.,\u2013\u2014-])")
_ANNEX_LABEL_ZH = re.compile(r"^\s*([一二三四五六七八九十]|[A-Z]|\d{1,2})")
_CYRILLIC_LATIN = {"А": "A", "В": "B", "С": "C"}
_ZH_NUMERALS = {"一": "I", "二": "II", "三": "III", "四": "IV", "五": "V",
                "六": "VI", "七": "VII", "八": "VIII", "九": "IX", "十": "X"}  # fmt: skip
# UN Arabic writes annex letters as letter names and annex numbers as ordinals.
_AR_LABELS = {"ألف": "A", "باء": "B", "جيم": "C", "دال": "D", "هاء": "E",
              "الأول": "I", "الثاني": "II", "الثالث": "III", "الرابع": "IV", "الخامس": "V"}  # fmt: skip
# UN document symbols: A/80/L.10, A/RES/79/191, CTOC/COP/WG.2/2013/5, E/CN.4/2006/48, S/RES/2672 (2023)
SYMBOL_RE = re.compile(
    r"^(?:[A-Z][A-Z0-9.\-]*)(?:/[A-Za-z0-9.\-]+)+(?:\s?\((?:19|20)\d\d\))?(?:/(?:Rev|Add|Corr)\.\d+)*$"
)
JOBNO_RE = re.compile(r"^(?:[A-Z]{1,2}\.)?\d{2}-\d{5}(?:\s*\([A-Z]\))?(?:\s+\d{6})?(?:\s+\d{6})?$")
PAGENO_RE = re.compile(
    r"^(?:\d{1,3}\s*/\s*\d{1,3}|page\s+\d+(?:\s+of\s+\d+)?|-\s*\d{1,3}\s*-|\d{1,3})$", re.IGNORECASE
)
BARCODE_RE = re.compile(r"^\s*\*\d{6,8}[A-Z]?\*\s*$")
DISTR_RE = re.compile(r"^Distr\.?\s*:?\s*(General|Limited|Restricted)\b(.*)$", re.IGNORECASE)
ORIGINAL_RE = re.compile(r"^Original\s*:\s*\w+(?:\s*/\s*\w+)*\s*$", re.IGNORECASE)
TOC_LEADER_RE = re.compile(r"(?:\.\s?){5,}|…{2,}")
TOC_TRAIL_RE = re.compile(r"(?:\t|\s{2,})\d{1,3}(?:\s*[-–]\s*\d{1,3})?(?:\s+\d{1,3})?\s*$")
TABLE_ROW_RE = re.compile(r"^\s*\|.*\|\s*$|^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
DATE_RE = re.compile(r"\b(\d{1,2})\s+(" + "|".join(MONTHS) + r")\s+((?:19|20)\d\d)\b", re.IGNORECASE)
CONTENTS_RE = re.compile(r"^(?:table\s+of\s+)?contents$", re.IGNORECASE)
# "The General Assembly," opens the preamble of a resolution / decision.
ORGAN_RE = re.compile(
    r"^The\s+(General Assembly|Security Council|Economic and Social Council|Human Rights Council|"
    r"Conference of the (?:States )?Parties|Commission(?: on [A-Z][\w ]+)?|Council|Conference|"
    r"Assembly|Meeting of the States Parties|Working Group)\s*[,:]?\s*$"
)


# A preambular paragraph opens with a participle or an adjective of attitude.
PREAMBLE_OPENERS = frozenset(
    """
aware mindful conscious convinced deeply gravely seriously bearing having noting taking also further
determined desirous cognizant alarmed concerned encouraged guided reaffirming recalling welcoming
recognizing acknowledging emphasizing stressing underlining underscoring expressing considering
affirming reiterating appreciating observing keen persuaded believing fully firmly strongly profoundly
acting committed confident disturbed dismayed emphasising recognising""".split()
)


def is_preamble_opener(text: str) -> bool:
    """``Recalling ...``, ``Deeply concerned ...``: how preambular paragraphs begin."""
    w = re.match(r"^\s*([A-Za-z]+)", text)
    if not w or not text.lstrip()[:1].isupper():
        return False
    word = w.group(1).lower()
    return word in PREAMBLE_OPENERS or word.endswith("ing")


def is_roman(s: str) -> bool:
    return bool(s) and bool(_ROMAN_RE.match(s))


def find_date(text: str) -> str | None:
    """First ``19 November 2013``-style date in ``text`` as ISO ``2013-11-19``."""
    m = DATE_RE.search(text)
    if not m:
        return None
    day, month, year = int(m.group(1)), MONTHS.index(m.group(2).lower()) + 1, int(m.group(3))
    if not 1 <= day <= 31:
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


_MD_LINK_RE = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_FOOTREF_RE = re.compile(r"\[\^[^\]]+\]")
_HTML_SUP_RE = re.compile(r"<sup>\s*[\d*,\s]*</sup>", re.IGNORECASE)
_HTML_TAG_RE = re.compile(r"</?(?:i|b|em|strong|u|span|sup|sub|br|small|font)\b[^>]*>", re.IGNORECASE)
_EMPH_RE = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPH1_RE = re.compile(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])")
_EMPH_U_RE = re.compile(r"(?<![\w_])_(?=[^\s_])([^_]+?)(?<=[^\s_])_(?![\w_])")
_ESCAPE_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")


def clean_inline(text: str) -> str:
    """Strip markdown/HTML inline markup and footnote references; collapse spaces per line."""
    s = _HTML_SUP_RE.sub("", text)
    s = _MD_FOOTREF_RE.sub("", s)
    s = _MD_LINK_RE.sub(r"\1", s)
    s = _HTML_TAG_RE.sub("", s)
    for _ in range(2):
        s = _EMPH_RE.sub(r"\2", s)
    s = _EMPH1_RE.sub(r"\1", s)
    s = _EMPH_U_RE.sub(r"\1", s)
    s = s.replace("`", "")
    s = _ESCAPE_RE.sub(r"\1", s)
    s = s.replace("\u00a0", " ").replace("\u200b", "")
    lines = [re.sub(r"[ \t]+", " ", ln).strip() for ln in s.split("\n")]
    return "\n".join(ln for ln in lines if ln)


def heading_rank(text: str, open_letter: str | None = None) -> int:
    """Rank of a heading by its style: Annex 0, I. 1, A. 2, 1. 3, a. 4, other 5.

    ``C.``, ``D.``... are letters, but ``I.``, ``V.``, ``X.``, ``L.``, ``C.`` are also Roman
    numerals: they count as letters when they follow the open letter heading (``B.`` -> ``C.``).
    """
    t = text.strip()
    if annex_label(t) is not None or re.match(r"^(?:annex|appendix)(?:es)?\b", t, re.IGNORECASE):
        return 0
    m = HEADING_MARK_RE.match(t)
    if m:
        if m.group(1) and is_roman(m.group(1)):
            if len(m.group(1)) == 1 and open_letter and ord(m.group(1)) == ord(open_letter) + 1:
                return 2
            return 1
        if m.group(2):
            return 2
        if m.group(3):
            return 3
        if m.group(4):
            return 4
    if is_roman(t):
        return 1
    return 5


def annex_label(text: str) -> str | None:
    """The label of an annex heading: ``"Annex"`` -> ``""`` (unlabelled), ``"Annex II"`` -> ``"II"``,
    ``"Annex II. Title"`` -> ``"II"``; None when ``text`` is not one.

    The other UN languages give their label, or None when they have none: ``"Annexe II"`` -> ``"II"``,
    ``"Anexo A – Título"`` -> ``"A"``, ``"Приложение В"`` -> ``"B"``, ``"附件一"`` -> ``"I"``,
    ``"المرفق ألف"`` -> ``"A"``.
    """
    t = clean_inline(text).strip().strip("*").strip()
    m = ANNEX_RE.match(t)
    if m:
        return (m.group(1) or "").upper()
    m = re.match(r"^(?:annex|appendix)\s+([IVXLC]{1,6}|[A-Z]|\d{1,2})\b[.:]?\s+\S", t, re.IGNORECASE)
    if m and (is_roman(m.group(1).upper()) or len(m.group(1)) == 1 or m.group(1).isdigit()):
        return m.group(1).upper()
    if re.match(r"^annex\b[.:]?\s+[A-Z]", t) and not re.match(r"^annex\s+(?:to|of|and|in|the)\b", t, re.I):
        return ""
    return _other_language_annex_label(t)


def _other_language_annex_label(text: str) -> str | None:
    m = _ANNEX_WORD_RE.match(text)
    if m:
        lm = _ANNEX_LABEL_LATIN.match(text[m.end() :])
        return _CYRILLIC_LATIN.get(lm.group(1), lm.group(1)) if lm else None
    if text.startswith("附件"):
        lm = _ANNEX_LABEL_ZH.match(text[2:])
        return _ZH_NUMERALS.get(lm.group(1), lm.group(1)) if lm else None
    m = re.match(r"^(?:ال)?مرفق\s+(\S+)", text)
    if m:
        word = m.group(1).rstrip(":-–،")
        if word in _AR_LABELS:
            return _AR_LABELS[word]
        if word.isdigit():
            return str(int(word))
    return None


def is_furniture_line(line: str, symbol: str | None = None) -> bool:
    """Page furniture that is never paragraph text: symbols, job numbers, page numbers, barcodes."""
    t = line.strip()
    if not t:
        return True
    if symbol and re.sub(r"\s+", "", t) == re.sub(r"\s+", "", symbol):
        return True
    return bool(
        JOBNO_RE.match(t)
        or PAGENO_RE.match(t)
        or BARCODE_RE.match(t)
        or DISTR_RE.match(t)
        or ORIGINAL_RE.match(t)
    )


# --------------------------------------------------------------------------- assembler


@dataclass
class _Para:
    kind: str
    num: int | None
    parts: list[str]
    section: str
    section_no: int
    annex: str | None = None  # annex label when under an Annex heading ("" = unlabelled)
    para: str = ""
    run: list[_Para] = field(default_factory=list)  # pending restarted items (see fold rules)
    restart: bool = False
    sect: str | None = None  # label of the marked section heading (II, B) it was printed under

    @property
    def text(self) -> str:
        return _join_parts(self.parts)


def _join_parts(parts: list[str]) -> str:
    out = ""
    for p in parts:
        if not p:
            continue
        if not out:
            out = p
        elif p.startswith("\n"):
            out = out.rstrip() + p
        else:
            out = out.rstrip() + " " + p.lstrip()
    lines = [re.sub(r"[ \t]+", " ", ln).strip() for ln in out.split("\n")]
    return "\n".join(ln for ln in lines if ln).strip()


class ParagraphAssembler:
    """Turns reading-order events into paragraphs with locators (rules in the module docstring)."""

    def __init__(self, max_gap: int = 3, section_restarts: bool = True) -> None:
        self.max_gap = max_gap
        self.section_restarts = section_restarts
        self.marked: list[tuple[float, str]] = []  # open marked headings (rank, label): I, II, A, B
        self.sect_mode = False  # numbering restarts in every marked section: "sect-II-4"
        self.sect_last: dict[str, int] = {}
        self._numbered_since_mark = False
        self.sect_used: set[str] = set()
        self.paras: list[_Para] = []
        self.headings: list[tuple[float, str]] = []  # the open heading path (rank, text)
        self.section_no = 0
        self.last_num = 0  # last body paragraph number
        self.annex: str | None = None  # current annex label, None outside annexes
        self.annex_last: dict[str, int] = {}
        self.cur: _Para | None = None  # paragraph that continuations attach to
        self.in_preamble = False
        self.preamble_n = 0
        self.unnum_n: dict[int, int] = {}
        self.used: set[str] = set()
        self.warnings: list[str] = []
        self._after_heading = True
        self.body_annex: str | None = None  # annex whose numbering is the body numbering

    # -- state -------------------------------------------------------------
    @property
    def section(self) -> str:
        return " > ".join(t for _, t in self.headings)

    def heading(self, text: str) -> None:
        text = clean_inline(text).replace("\n", " ").strip()
        if not text:
            return
        open_letter = next((t[0] for r, t in reversed(self.headings) if r == 2), None)
        rank: float = heading_rank(text, open_letter)
        if rank == 5 and self._after_heading and self.headings and self.headings[-1][0] == 0:
            rank = 0.5  # the title of an annex: its Roman / letter sections nest under it
        label = annex_label(text)
        if label is not None:
            self.annex = label
            self.annex_last.setdefault(label, 0)
            self.in_preamble = False
        while self.headings and self.headings[-1][0] >= rank:
            self.headings.pop()
        self.headings.append((rank, text))
        while self.marked and self.marked[-1][0] >= rank:
            self.marked.pop()
        mark = re.match(r"^([IVXLC]{1,7}|[A-Z])(?:\.|\s|$)", text)
        if mark and rank in (1, 2):
            self.marked.append((rank, mark.group(1)))
            self._numbered_since_mark = False
        self.section_no += 1
        self.cur = None
        self._after_heading = True

    def start_preamble(self) -> None:
        """A ``The General Assembly,`` line: unnumbered paragraphs until ``1.`` are preambular."""
        if self.last_num == 0 and self.annex is None:
            self.in_preamble = True
            self.cur = None

    # -- paragraphs ----------------------------------------------------------
    @property
    def sect_label(self) -> str | None:
        """Path of the open marked sections (``II``, or ``B.II`` inside part B)."""
        return ".".join(lab for _, lab in self.marked) if self.marked else None

    def _new(self, kind: str, num: int | None, text: str) -> _Para:
        p = _Para(kind, num, [text], self.section, self.section_no, self.annex, sect=self.sect_label)
        if kind in (NUMBERED, ANNEX):
            self._numbered_since_mark = True
        self.paras.append(p)
        self.cur = p
        self._after_heading = False
        return p

    def numbered(self, n: int, text: str, raw: str | None = None, gap_ok: bool = True) -> str:
        """A paragraph printed with number ``n``; returns what it became.

        ``"body"`` (locator ``"N"``), ``"annex"`` (``"annex-N"``), ``"fold"`` (a restarted
        item kept inside the paragraph before it) or ``"text"`` (the number was not a
        paragraph number and the line was appended to the current paragraph).
        ``gap_ok=False`` refuses a jump in the numbering (the caller is not sure this is a
        paragraph).
        """
        raw = raw if raw is not None else f"{n}. {text}".rstrip()
        if self.annex is not None and self.annex != self.body_annex:
            if self.last_num == 0:
                self.body_annex = self.annex  # the annex carries the document's numbering
            else:
                return self._annex_numbered(n, text, raw, gap_ok)
        if (
            self.section_restarts
            and not self.sect_mode
            and n == 1
            and self.last_num > 0
            and not self._numbered_since_mark
            and self.sect_label
            and self.annex is None
        ):
            self._enter_sect_mode()
        if self.sect_mode and self.sect_label:
            return self._sect_numbered(n, text, raw, gap_ok)
        last = self.last_num
        if n == last + 1 or gap_ok and last + 1 < n <= last + 1 + self.max_gap:
            if n != last + 1:
                self.warnings.append(f"paragraph numbering jumps from {last} to {n}")
            self._commit_runs()
            self.in_preamble = False
            self.last_num = n
            self._new(NUMBERED, n, text)
            return "body"
        if 1 <= n <= last and self.paras:
            return self._fold_restart(n, text)
        self.continuation(raw)
        return "text"

    def _fold_restart(self, n: int, text: str) -> str:
        """A restarted list inside the body: pending until we know whether the body goes on."""
        item = _Para(ANNEX, n, [text], self.section, self.section_no, self.annex, restart=True)
        self._anchor().run.append(item)
        self.cur = item
        return "fold"

    def _enter_sect_mode(self) -> None:
        """Numbering restarts at 1 right under a marked heading (``II``, ``B``) in the body, as
        in Fifth Committee resolutions: every section has its own paragraphs 1, 2, ... and a
        bare "para. 4" would be ambiguous. Paragraphs become ``sect-II-4`` (``section II,
        para. 4``), including those already read under a marked heading."""
        self.sect_mode = True
        self.warnings.append("paragraph numbering restarts in each section: locators sect-<section>-<n>")
        for p in self.paras:
            if p.kind == NUMBERED and not p.para and p.sect:
                p.para = self._sect_para(p.sect, p.num or 0)
                self.sect_last[p.sect] = max(self.sect_last.get(p.sect, 0), p.num or 0)

    def _sect_para(self, key: str, n: int) -> str:
        """``sect-II-4``; the outer parts join the label only when needed (``sect-B.II-4``)."""
        para = f"sect-{key.rsplit('.', 1)[-1]}-{n}"
        if para in self.sect_used:
            para = f"sect-{key}-{n}"
        self.sect_used.add(para)
        return para

    def _sect_numbered(self, n: int, text: str, raw: str, gap_ok: bool) -> str:
        key = self.sect_label or ""
        last = self.sect_last.get(key, 0)
        if n == last + 1 or gap_ok and last + 1 < n <= last + 1 + self.max_gap:
            self._commit_runs()
            self.in_preamble = False
            self.sect_last[key] = n
            self.last_num = max(self.last_num, n)
            p = self._new(NUMBERED, n, text)
            p.para = self._sect_para(key, n)
            return "body"
        if 1 <= n <= last and self.paras:
            return self._fold_restart(n, text)
        self.continuation(raw)
        return "text"

    def _annex_numbered(self, n: int, text: str, raw: str, gap_ok: bool) -> str:
        label = self.annex or ""
        last = self.annex_last.get(label, 0)
        para = f"annex-{label}-{n}" if label else f"annex-{n}"
        if (n == last + 1 or gap_ok and last < n <= last + 1 + self.max_gap) and para not in self.used:
            self.annex_last[label] = n
            self._commit_runs()
            p = self._new(ANNEX, n, text)
            p.para = para
            self.used.add(para)
            return "annex"
        if self.cur is not None and 1 <= n <= last:
            self.continuation("\n" + raw)
            return "fold"
        self.continuation(raw)
        return "text"

    def _anchor(self) -> _Para:
        for p in reversed(self.paras):
            if not p.restart:
                return p
        raise AssertionError("no anchor")

    def preamble(self, text: str) -> None:
        self.preamble_n += 1
        p = self._new(PREAMBLE, self.preamble_n, text)
        p.para = f"preamble-{self.preamble_n}"

    def unnumbered(self, text: str, fold_ok: bool = True) -> None:
        """A block without a number: folded into the paragraph it continues, else ``u-S-N``.

        In a preamble it is the next preambular paragraph -- unless it reads as an operative
        sentence (ends with ``.`` or ``:``, e.g. "Adopts the following declaration:"), which
        is not preambular and becomes an unnumbered paragraph.
        """
        if fold_ok and self.cur is not None and self._continues(text):
            self.continuation("\n" + text if _starts_item(text) else text)
            return
        if (
            self.in_preamble
            and self.annex is None
            and (not text.rstrip().endswith((".", ":")) or is_preamble_opener(text))
        ):
            self.preamble(text)
            return
        self.in_preamble = False  # an operative sentence ends the preamble
        n = self.unnum_n.get(self.section_no, 0) + 1
        self.unnum_n[self.section_no] = n
        p = self._new(UNNUMBERED, None, text)
        p.para = f"u-{self.section_no}-{n}"

    def _continues(self, text: str) -> bool:
        cur = self.cur
        if cur is None:
            return False
        t = text.lstrip()
        prev = cur.text.rstrip()
        if cur.kind == UNNUMBERED:
            # "Decides:" / "(a) To postpone ...;" / "(b) ..." -- the items of an unnumbered clause
            return _starts_item(t) and prev.endswith((":", ";"))
        if cur.kind == PREAMBLE:
            return bool(_starts_item(t) or t[:1].islower() or prev.endswith(":"))
        return bool(_starts_item(t) or t[:1].islower() or t[:1] in "“\"‘'([" or prev.endswith(":"))

    def continuation(self, text: str) -> None:
        """Text that continues the current paragraph (a wrapped line, a sub-item with ``"\\n"``)."""
        if self.cur is None:
            t = text.strip()
            if t:
                self.unnumbered(t, fold_ok=False)
            return
        self.cur.parts.append(text)

    # -- results -------------------------------------------------------------
    def _commit_runs(self) -> None:
        """A body paragraph (or annex item) follows: pending restarted items are folded."""
        for p in self.paras:
            if p.run:
                for item in p.run:
                    p.parts.append("\n" + f"{item.num}. " + item.text)
                p.run = []

    def finish(self) -> list[Paragraph]:
        out: list[Paragraph] = []
        for p in self.paras:
            run, p.run = p.run, []
            trailing_annex = bool(run) and len(run) >= 2 and not p.text.rstrip().endswith(":")
            if run and not trailing_annex:
                for item in run:
                    p.parts.append("\n" + f"{item.num}. " + item.text)
            self._emit(p, out)
            if trailing_annex:
                label = self.annex or ""
                for item in run:
                    item.para = f"annex-{label}-{item.num}" if label else f"annex-{item.num}"
                    if item.para in self.used:
                        out[-1].text = (out[-1].text + "\n" + f"{item.num}. " + item.text).strip()
                        continue
                    self.used.add(item.para)
                    self._emit(item, out)
        return out

    def _emit(self, p: _Para, out: list[Paragraph]) -> None:
        text = p.text
        if not text:
            return
        if not p.para:
            p.para = str(p.num)
        if p.kind == NUMBERED and p.para in self.used:
            self.warnings.append(f"duplicate paragraph {p.para} folded into the previous one")
            if out:
                out[-1].text += "\n" + f"{p.num}. " + text
            return
        self.used.add(p.para)
        out.append(Paragraph(para=p.para, text=text, kind=p.kind, section=p.section))


def _starts_item(text: str) -> bool:
    t = text.lstrip()
    return bool(SUBITEM_RE.match(t) or BULLET_RE.match(t))


# --------------------------------------------------------------------------- segment_text

_MD_HEADING_RE = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_BOLD_LINE_RE = re.compile(r"^\s*(\*\*|__)(.+)\1\s*:?\s*$")
_SETEXT_RE = re.compile(r"^\s*(=+|-+)\s*$")
_FOOTDEF_RE = re.compile(r"^\s*\[\^[^\]]+\]:")
_HR_RE = re.compile(r"^\s*(?:[-*_]\s*){3,}$")
_TERMINAL = ".;:,!?"


def _plain_heading(line: str) -> bool:
    """A bare line that is a heading by its form: ``II. Recommendations``, ``A. Assistance``, ``Annex``."""
    t = clean_inline(line).strip()
    if not t or len(t) > 250:
        return False
    if annex_label(t) is not None:
        return True
    if CONTENTS_RE.match(t):
        return True
    m = HEADING_MARK_RE.match(t)
    if m and (m.group(1) and is_roman(m.group(1)) or m.group(2)):
        body = m.group(5)
        if t[len(t) - len(body) - 2 : len(t) - len(body)].strip() not in (".", ")", ""):
            return False
        return body[:1].isupper() or body[:1] in '“"‘' and not body.rstrip().endswith((";", ","))
    if is_roman(t) and len(t) <= 6:
        return True
    return False


def _is_table_line(line: str) -> bool:
    if TABLE_ROW_RE.match(line):
        return True
    return line.count("\t") >= 1 and len([c for c in line.split("\t") if c.strip()]) >= 2


def _is_toc_line(line: str) -> bool:
    t = line.strip()
    return bool(TOC_LEADER_RE.search(t)) or bool(TOC_TRAIL_RE.search(line) and len(t) < 200)


def segment_text(text: str) -> list[Paragraph]:
    """Markdown or plain text -> paragraphs with locators, kinds and section paths.

    Block structure: a numbered line ``N. text`` starts a paragraph; a heading line (``#``,
    a whole-line ``**bold**`` heading, a bare ``II. Title`` / ``A. Title`` / ``Annex`` line)
    ends it; following lines without a marker continue it (soft wraps joined with a space);
    sub-items ``(a)``, ``(i)``, bullets and indented list items stay inside their paragraph on
    a new line. A blank line ends a block; the next block is folded into the paragraph or
    becomes an unnumbered one by the rules in the module docstring.
    """
    return _segment(text, ParagraphAssembler())


def _segment(text: str, asm: ParagraphAssembler) -> list[Paragraph]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    block: list[str] = []  # lines of the current unnumbered block (before it is classified)
    in_numbered = False  # a numbered paragraph is receiving its wrapped lines and sub-items
    open_sentence = False  # the last text line did not end a sentence (a wrap may follow)
    toc = False
    front = True  # before the first heading/paragraph: furniture lines are common

    def flush_block() -> None:
        nonlocal block
        if block:
            t = clean_inline("\n".join(block))
            if t and _is_lone_heading(block, t) and not _continues_list(asm):
                asm.heading(t)  # "INTRODUCTION", "Organization of work": a heading without markup
            elif t and not _is_furniture_block(t):
                asm.unnumbered(_join_block(t))
        block = []

    i = 0
    while i < len(lines):
        raw = lines[i].rstrip()
        i += 1
        line = raw.strip()
        if _FOOTDEF_RE.match(raw):
            # markdown footnote definition and its indented continuation lines: not body text
            flush_block()
            in_numbered = open_sentence = False
            while i < len(lines) and lines[i].startswith(("    ", "\t")):
                i += 1
            continue
        if not line or _HR_RE.match(line):
            flush_block()
            in_numbered = open_sentence = False
            continue
        # setext headings: a text line underlined with === or ---
        if (
            i < len(lines)
            and _SETEXT_RE.match(lines[i])
            and not block
            and not in_numbered
            and not NUM_RE.match(line)
            and len(line) < 250
        ):
            i += 1
            flush_block()
            asm.heading(line)
            toc = bool(CONTENTS_RE.match(clean_inline(line)))
            front = False
            continue
        heading_text = _heading_of(raw, open_sentence)
        if heading_text is not None:
            flush_block()
            in_numbered = open_sentence = False
            if toc and _is_toc_line(heading_text):
                continue
            ht = clean_inline(heading_text).replace("\n", " ")
            if ht:
                asm.heading(ht)
            toc = bool(CONTENTS_RE.match(ht))
            front = False
            continue
        if toc:
            if _is_toc_line(raw) or re.match(r"^(?:chapter|page|paragraphs?)\b[\w\s]*$", line, re.I):
                continue
            toc = False
        if _is_table_line(raw):
            flush_block()
            in_numbered = open_sentence = False
            continue
        if TOC_LEADER_RE.search(line):
            continue
        cleaned = clean_inline(line)
        if ORGAN_RE.match(cleaned) and asm.last_num == 0:
            flush_block()
            asm.start_preamble()
            in_numbered = open_sentence = False
            continue
        indented = len(raw) - len(raw.lstrip()) >= 2
        num = NUM_RE.match(cleaned)
        if num and not indented and not BULLET_RE.match(raw) and not (open_sentence and block):
            n = int(num.group(1))
            body = num.group(2) or ""
            if not body:
                # "N." alone on its line: the text is on the next non-empty line
                j = i
                while j < len(lines) and not lines[j].strip():
                    j += 1
                if j < len(lines):
                    body = clean_inline(lines[j])
                    i = j + 1
            flush_block()
            asm.numbered(n, body, raw=f"{n}. {body}")
            in_numbered = True
            open_sentence = not body.rstrip().endswith(tuple(_TERMINAL))
            front = False
            continue
        open_sentence = not cleaned.endswith(tuple(_TERMINAL))
        if in_numbered:
            item = BULLET_RE.sub("", line)
            if _starts_item(line) or indented and (NUM_RE.match(item) or _starts_item(item)):
                asm.continuation("\n" + clean_inline(item))
            else:
                asm.continuation(cleaned)
            continue
        if front and (is_furniture_line(line) or SYMBOL_RE.match(line) or DATE_RE.fullmatch(cleaned)):
            continue
        if block and (_starts_item(line) or _starts_item(BULLET_RE.sub("", line))):
            flush_block()
        block.append(BULLET_RE.sub("", line) if BULLET_RE.match(line) else line)
    flush_block()
    return asm.finish()


def _is_lone_heading(block: list[str], text: str) -> bool:
    """A block of one short line, capitalised, without closing punctuation."""
    return (
        len(block) == 1
        and len(text) <= 120
        and len(text.split()) <= 12
        and text[:1].isupper()
        and not text.rstrip().endswith(tuple(_TERMINAL))
        and not _is_furniture_block(text)
        and not SYMBOL_RE.match(text)
    )


def _continues_list(asm: ParagraphAssembler) -> bool:
    """The current paragraph announces a list (ends with ``:``): a short line is one of its items."""
    return asm.cur is not None and asm.cur.text.rstrip().endswith(":")


def _join_block(text: str) -> str:
    """Lines of one block: soft wraps joined with spaces, sub-items kept on their own line."""
    out: list[str] = []
    for ln in text.split("\n"):
        if out and not _starts_item(ln):
            out[-1] = out[-1] + " " + ln
        else:
            out.append(ln)
    return "\n".join(out)


def _heading_of(raw: str, open_sentence: bool) -> str | None:
    """The heading text when ``raw`` is a heading line, else None."""
    line = raw.strip()
    m = _MD_HEADING_RE.match(raw)
    if m:
        ht = clean_inline(m.group(2))
        num = NUM_RE.match(ht)
        if num and num.group(2) and len(ht) > 150 and ht[-1:] in ".;":
            return None  # "# 12. A long sentence." is a paragraph in a heading style
        return m.group(2)
    bold = _BOLD_LINE_RE.match(raw)
    if bold and len(line) < 300:
        inner = clean_inline(bold.group(2)).strip()
        if NUM_RE.match(inner):
            return None
        if not inner.endswith(".") or _plain_heading(inner):
            return inner
        return None
    if open_sentence or raw.startswith((" ", "\t")):
        return None  # a wrapped line that happens to start with "A. "
    if _plain_heading(line):
        return line
    return None


_FURNITURE_BLOCK_RE = re.compile(
    r"^(?:Distr\.?:?\s*(?:General|Limited|Restricted)\b.*|Original\s*:.*|"
    r"(?:Arabic|Chinese|English|French|Russian|Spanish)(?:\s+and\s+\w+)?\s+only|"
    r"\*\d{6,8}\*)$",
    re.IGNORECASE,
)


def _is_furniture_block(text: str) -> bool:
    t = " ".join(text.split())
    if _FURNITURE_BLOCK_RE.match(t):
        return True
    if all(is_furniture_line(part) or SYMBOL_RE.match(part) for part in re.split(r"\s{2,}|\n", text)):
        return True
    words = t.split()
    if len(words) <= 12 and all(is_furniture_line(w) or SYMBOL_RE.match(w) for w in words):
        return True
    if re.match(r"^Distr\.?:", t, re.IGNORECASE):
        return True
    return False
