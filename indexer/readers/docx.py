"""Reader for Word ``.docx`` files: the document as markdown-like text, cut into paragraphs by
the shared segmenter :func:`indexer.paragraphs.segment_text`.

A paragraph number in a Word file is either typed ("12. The Committee ...") or produced by
Word's automatic numbering (``<w:numPr>``), in which case it is not in the text at all. The
converter computes the number Word prints, per list (``numId``) and level, from the list
definitions in ``numbering.xml`` (start values, restarts of deeper levels, level formats) and
writes it the way the segmenter reads numbers:

* level 0 printed as ``1.`` / ``1`` -> ``N. text``, a numbered paragraph;
* letters and roman numerals (``a)``, ``(i)``, ``a.``), and numbers at deeper levels ->
  ``(a) text`` / ``(i) text`` / ``(1) text`` sub-items of the paragraph above them;
* bullets -> ``- text``; other labels (``A.``, ``I.``) are written as printed.

Typed numbers stay as typed. Headings (``Heading N``, ``Title``, the UN styles ``HCh``,
``H1``, ``H23``, ``H4``, ``H56``, or any style with an outline level) become ``#`` lines,
with their automatic number if they have one. Tables are left out: a table's cells are
not paragraphs of the document and flattened rows are neither readable nor citable (the
segmenter drops table lines for the same reason); their text is only searched for the
cover-page metadata. Footnotes, comments, text boxes, hidden and deleted text are left out.

Metadata: ``title`` from the core properties (else the first Title / heading line), the
symbol from a symbol-looking line of the page header or the first paragraphs and tables
(``A/HRC/55/12``), the date from the ``Distr.: General`` block, ``language`` from the core
properties.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from parasearch.types import Document, DocumentError, ParsedDocument

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_W = "{" + W_NS + "}"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"

# Subtrees whose text is not body text of the paragraph.
_SKIP_TEXT = frozenset(
    _W + t
    for t in (
        "del", "delText", "instrText", "footnoteReference", "endnoteReference", "commentReference",
        "txbxContent", "pPr", "rPr", "fldData",
    )
) | {_MC_FALLBACK}  # fmt: skip

_HEADING_STYLE = re.compile(r"^(?:heading\s*([1-9])|title|subtitle)$", re.IGNORECASE)
# Heading styles of the UN Word templates, with their rank.
_UN_HEADINGS = {"HCh": 1, "HM": 1, "H1": 2, "H23": 3, "H4": 4, "H56": 5}
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200e\u200f\u2060\ufeff\u00ad"))
_ORGAN = re.compile(
    r"^(General Assembly|Security Council|Economic and Social Council|Human Rights Council|"
    r"Conference of the (?:States )?Parties\b.*|Commission on [A-Z][\w ]+)$"
)
_LANG = re.compile(r"^([a-z]{2})(?:[-_][A-Za-z]{2,4})?$")


def _attr(el: etree._Element | None, name: str = "val") -> str | None:
    if el is None:
        return None
    value: str | None = el.get(_W + name)
    return value


def _run_text(el: etree._Element, parts: list[str]) -> None:
    """Visible text under ``el`` in document order."""
    for child in el:
        tag = child.tag
        if not isinstance(tag, str) or tag in _SKIP_TEXT:
            continue
        if tag == _W + "r":
            vanish = child.find(f"{_W}rPr/{_W}vanish")
            if vanish is not None and _attr(vanish) not in ("0", "false"):
                continue  # hidden text
            _run_text(child, parts)
        elif tag == _W + "t":
            parts.append(child.text or "")
        elif tag in (_W + "tab", _W + "ptab"):
            parts.append(" ")
        elif tag in (_W + "br", _W + "cr"):
            parts.append(" ")
        elif tag == _W + "noBreakHyphen":
            parts.append("-")
        elif tag == _W + "sym":
            char = _attr(child, "char")
            if char:
                try:
                    parts.append(chr(int(char, 16)) if int(char, 16) < 0xF000 else "")
                except ValueError:
                    pass
        else:
            _run_text(child, parts)


def paragraph_text(p: etree._Element) -> str:
    """The visible text of a ``<w:p>``, whitespace-normalised."""
    parts: list[str] = []
    _run_text(p, parts)
    return " ".join("".join(parts).translate(_INVISIBLE).split())


# -- styles and numbering ------------------------------------------------------------------------


@dataclass
class _Style:
    name: str
    based_on: str | None
    num_id: str | None
    ilvl: int | None
    outline: int | None


@dataclass
class _Level:
    start: int = 1
    fmt: str = "decimal"
    text: str = "%1."
    restart: int | None = None  # lvlRestart: restart after this (1-based) level; 0 = never
    legal: bool = False


@dataclass
class _Numbering:
    """``numbering.xml``: list instances (numId) -> level definitions and start overrides."""

    levels: dict[str, dict[int, _Level]] = field(default_factory=dict)  # numId -> ilvl -> level
    overrides: dict[str, dict[int, int]] = field(default_factory=dict)  # numId -> ilvl -> start

    @classmethod
    def parse(cls, root: etree._Element | None, styles: dict[str, _Style]) -> _Numbering:
        out = cls()
        if root is None:
            return out
        abstract: dict[str, etree._Element] = {
            a.get(_W + "abstractNumId", ""): a for a in root.findall(_W + "abstractNum")
        }
        nums = {n.get(_W + "numId", ""): n for n in root.findall(_W + "num")}

        def resolve(abstract_id: str | None, depth: int = 0) -> dict[int, _Level]:
            a = abstract.get(abstract_id or "")
            if a is None:
                return {}
            link = _attr(a.find(_W + "numStyleLink"))
            if link and depth < 3:
                style = styles.get(link)
                target = nums.get(style.num_id or "") if style else None
                if target is not None:
                    return resolve(_attr(target.find(_W + "abstractNumId")), depth + 1)
            levels: dict[int, _Level] = {}
            for lvl in a.findall(_W + "lvl"):
                levels[int(lvl.get(_W + "ilvl", "0"))] = _parse_level(lvl)
            return levels

        for num_id, num in nums.items():
            levels = dict(resolve(_attr(num.find(_W + "abstractNumId"))))
            starts: dict[int, int] = {}
            for ov in num.findall(_W + "lvlOverride"):
                ilvl = int(ov.get(_W + "ilvl", "0"))
                start = _attr(ov.find(_W + "startOverride"))
                if start is not None and start.lstrip("-").isdigit():
                    starts[ilvl] = int(start)
                lvl = ov.find(_W + "lvl")
                if lvl is not None:
                    levels[ilvl] = _parse_level(lvl)
            out.levels[num_id] = levels
            out.overrides[num_id] = starts
        return out


def _parse_level(lvl: etree._Element) -> _Level:
    level = _Level()
    start = _attr(lvl.find(_W + "start"))
    level.start = int(start) if start is not None and start.lstrip("-").isdigit() else 0
    level.fmt = _attr(lvl.find(_W + "numFmt")) or "decimal"
    text = lvl.find(_W + "lvlText")
    level.text = _attr(text) or ""
    restart = _attr(lvl.find(_W + "lvlRestart"))
    level.restart = int(restart) if restart is not None and restart.isdigit() else None
    level.legal = lvl.find(_W + "isLgl") is not None
    return level


def _parse_styles(root: etree._Element | None) -> dict[str, _Style]:
    styles: dict[str, _Style] = {}
    if root is None:
        return styles
    for st in root.findall(_W + "style"):
        sid = st.get(_W + "styleId", "")
        ppr = st.find(_W + "pPr")
        num_pr = ppr.find(_W + "numPr") if ppr is not None else None
        ilvl = _attr(num_pr.find(_W + "ilvl")) if num_pr is not None else None
        outline = _attr(ppr.find(_W + "outlineLvl")) if ppr is not None else None
        styles[sid] = _Style(
            name=_attr(st.find(_W + "name")) or sid,
            based_on=_attr(st.find(_W + "basedOn")),
            num_id=_attr(num_pr.find(_W + "numId")) if num_pr is not None else None,
            ilvl=int(ilvl) if ilvl is not None and ilvl.isdigit() else None,
            outline=int(outline) if outline is not None and outline.isdigit() else None,
        )
    return styles


def _style_chain(styles: dict[str, _Style], style_id: str | None) -> list[_Style]:
    chain: list[_Style] = []
    seen: set[str] = set()
    while style_id and style_id in styles and style_id not in seen and len(chain) < 20:
        seen.add(style_id)
        chain.append(styles[style_id])
        style_id = styles[style_id].based_on
    return chain


_ROMAN = ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
          (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))  # fmt: skip


def _roman(n: int) -> str:
    out = []
    for value, letters in _ROMAN:
        while n >= value:
            out.append(letters)
            n -= value
    return "".join(out)


def _letters(n: int) -> str:
    # Word repeats the letter: a..z, aa..zz, aaa...
    if n <= 0:
        return str(n)
    return chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)


def format_number(n: int, fmt: str) -> str:
    """A counter in a Word number format (``lowerLetter`` 2 -> ``b``, ``upperRoman`` 4 -> ``IV``)."""
    if fmt == "lowerLetter":
        return _letters(n)
    if fmt == "upperLetter":
        return _letters(n).upper()
    if fmt == "lowerRoman":
        return _roman(n) if n > 0 else str(n)
    if fmt == "upperRoman":
        return _roman(n).upper() if n > 0 else str(n)
    if fmt == "decimalZero":
        return f"{n:02d}"
    if fmt in ("none", "bullet"):
        return ""
    return str(n)


@dataclass
class _ListLabel:
    label: str  # as Word prints it: "12.", "(a)", "iv)", "•"
    value: str  # this level's counter, formatted: "12", "a", "iv"
    fmt: str
    ilvl: int
    top_plain: bool  # level 0 printed as "N." or "N": a paragraph number


class _Counter:
    """Word's list counters, per list instance (numId) and level."""

    def __init__(self, numbering: _Numbering) -> None:
        self.numbering = numbering
        self.values: dict[str, dict[int, int]] = {}

    def next(self, num_id: str, ilvl: int) -> _ListLabel | None:
        levels = self.numbering.levels.get(num_id)
        if not levels:
            return None
        level = levels.get(ilvl)
        if level is None:
            return None  # a level the list does not define: Word prints no number
        starts = self.numbering.overrides.get(num_id, {})
        counters = self.values.setdefault(num_id, {})

        def start_of(k: int) -> int:
            if k in starts:
                return starts[k]
            lv = levels.get(k)
            return lv.start if lv is not None else 1

        counters[ilvl] = counters[ilvl] + 1 if ilvl in counters else start_of(ilvl)
        for deeper in [k for k in counters if k > ilvl]:
            restart = levels[deeper].restart if deeper in levels else None
            if restart != 0 and (restart is None or restart > ilvl):
                del counters[deeper]
        if level.fmt == "bullet":
            return _ListLabel(level.text or "•", "", "bullet", ilvl, False)

        def render(match: re.Match[str]) -> str:
            k = int(match.group(1)) - 1
            lv = levels.get(k, level)
            value = counters.get(k, start_of(k))
            return format_number(value, "decimal" if level.legal and k != ilvl else lv.fmt)

        label = re.sub(r"%([1-9])", render, level.text).strip()
        value = format_number(counters[ilvl], level.fmt)
        top_plain = (
            ilvl == 0 and level.fmt in ("decimal", "decimalZero") and bool(re.fullmatch(r"%1\.?", level.text))
        )
        return _ListLabel(label, value, level.fmt, ilvl, top_plain)


# -- conversion ---------------------------------------------------------------------------------


@dataclass
class Converted:
    text: str  # markdown-like text for segment_text
    front: list[str]  # text of the first paragraphs, tables and page header, for metadata
    headings: list[str]
    title_style: str | None
    tables: int = 0


def _heading_level(chain: list[_Style]) -> int | None:
    for st in chain:
        m = _HEADING_STYLE.match(st.name.strip())
        if m:
            return int(m.group(1)) if m.group(1) else 1
        for sid, rank in _UN_HEADINGS.items():
            if st.name.strip() == sid:
                return rank
        if st.outline is not None and st.outline < 9:
            return st.outline + 1
    return None


def convert(body: etree._Element, styles: dict[str, _Style], numbering: _Numbering) -> Converted:
    """The body of a Word document as the markdown-like text the segmenter reads."""
    counter = _Counter(numbering)
    lines: list[str] = []
    front: list[str] = []
    headings: list[str] = []
    title_style: str | None = None
    tables = 0
    for el in body:
        if el.tag == _W + "tbl":
            tables += 1
            if len(front) < 60:
                front.extend(t for p in el.iter(_W + "p") if (t := paragraph_text(p)))
            lines.append("")
            continue
        if el.tag in (_W + "sdt", _W + "customXml"):  # wrappers of paragraphs (cover pages, TOCs)
            content = el.find(_W + "sdtContent") if el.tag == _W + "sdt" else el
            if content is not None:
                sub = convert(content, styles, numbering)
                lines.extend(["", sub.text, ""])
                front.extend(sub.front)
            continue
        if el.tag != _W + "p":
            continue
        text = paragraph_text(el)
        ppr = el.find(_W + "pPr")
        style_id = _attr(ppr.find(_W + "pStyle")) if ppr is not None else None
        chain = _style_chain(styles, style_id)
        num_pr = ppr.find(_W + "numPr") if ppr is not None else None
        num_id = _attr(num_pr.find(_W + "numId")) if num_pr is not None else None
        ilvl_s = _attr(num_pr.find(_W + "ilvl")) if num_pr is not None else None
        if num_id is None:
            for st in chain:
                if st.num_id is not None:
                    num_id = st.num_id
                    if ilvl_s is None and st.ilvl is not None:
                        ilvl_s = str(st.ilvl)
                    break
        ilvl = int(ilvl_s) if ilvl_s and ilvl_s.isdigit() else 0
        # Word counts an empty numbered paragraph too (it prints its number).
        label = counter.next(num_id, ilvl) if num_id and num_id != "0" else None
        if not text:
            lines.append("")
            continue
        if len(front) < 60:
            front.append(text)
        level = _heading_level(chain)
        if level is not None:
            heading = f"{label.label} {text}" if label and label.label and label.fmt != "bullet" else text
            if any(st.name.strip().lower() == "title" for st in chain):
                title_style = title_style or text
            headings.append(heading)
            lines.extend(["", "#" * min(level, 6) + " " + _escape(heading), ""])
            continue
        lines.extend(_list_lines(label, text))
    return Converted("\n".join(_merge_distr_date(lines)), front, headings, title_style, tables)


def _merge_distr_date(lines: list[str]) -> list[str]:
    """``Distr.: General`` and the date under it, one line: cover-page furniture, not a paragraph."""
    from indexer.paragraphs import find_date

    out: list[str] = []
    distr_at: int | None = None
    for line in lines:
        if distr_at is not None and line.strip():
            if len(line) <= 40 and find_date(line):
                out[distr_at] = f"{out[distr_at]} {line.strip()}"
                distr_at = None
                continue
            distr_at = None
        if re.match(r"^Distr\.?\s*:?\s*(General|Limited|Restricted)\s*$", line.strip(), re.IGNORECASE):
            distr_at = len(out)
        out.append(line)
    return out


def _escape(text: str) -> str:
    """Keep characters the segmenter reads as markup from changing the text's structure."""
    if text.startswith("#"):
        text = "\\" + text
    return text


def _list_lines(label: _ListLabel | None, text: str) -> list[str]:
    text = _escape(text)
    if label is None:
        return ["", text]
    if label.fmt == "bullet":
        return [("  " * label.ilvl) + "- " + text]
    if not label.label:
        return ["", text]
    if label.top_plain:
        return ["", f"{label.value}. {text}"]
    if label.fmt in ("lowerLetter", "lowerRoman") or (label.fmt == "decimal" and label.ilvl > 0):
        # A sub-item: on its own line, right under its paragraph.
        return [f"({label.value}) {text}"]
    if label.ilvl > 0:
        return ["  " * label.ilvl + f"{label.label} {text}"]
    return ["", f"{label.label} {text}"]


def docx_to_markdown(path: Path) -> tuple[Converted, dict[str, str | None]]:
    """Open ``path`` and convert it; the second value is the core-properties metadata."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "word/document.xml" not in names:
                kind = (
                    "an Excel or PowerPoint file"
                    if {"xl/workbook.xml", "ppt/presentation.xml"} & names
                    else ""
                )
                raise DocumentError(f"corrupt Word file: no word/document.xml in the package {kind}".rstrip())
            parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)

            def load(name: str) -> etree._Element | None:
                if name not in names:
                    return None
                return etree.fromstring(zf.read(name), parser)

            document = load("word/document.xml")
            styles = _parse_styles(load("word/styles.xml"))
            numbering = _Numbering.parse(load("word/numbering.xml"), styles)
            core = load("docProps/core.xml")
            header_names = sorted(n for n in names if re.fullmatch(r"word/header\d*\.xml", n))
            header_text = [
                t for n in header_names if (header := load(n)) is not None
                for p in header.iter(_W + "p") if (t := paragraph_text(p))
            ]
    except DocumentError:
        raise
    except zipfile.BadZipFile as exc:
        raise DocumentError(
            f"corrupt Word file: not a zip package ({exc}); an old binary .doc renamed?"
        ) from exc
    except etree.XMLSyntaxError as exc:
        raise DocumentError(f"corrupt Word file: broken XML ({exc})") from exc
    except (OSError, KeyError, ValueError, EOFError, zipfile.LargeZipFile) as exc:
        raise DocumentError(f"corrupt Word file: {exc}") from exc
    assert document is not None
    body = document.find(_W + "body")
    if body is None:
        raise DocumentError("corrupt Word file: word/document.xml has no <w:body>")
    converted = convert(body, styles, numbering)
    converted.front = header_text + converted.front
    return converted, _core_properties(core)


def _core_properties(core: etree._Element | None) -> dict[str, str | None]:
    out: dict[str, str | None] = {"title": None, "language": None}
    if core is None:
        return out
    for el in core:
        if not isinstance(el.tag, str):
            continue
        local = etree.QName(el).localname
        value = " ".join((el.text or "").split())
        if local in ("title", "language") and value:
            out[local] = value
    return out


def _metadata(converted: Converted, core: dict[str, str | None]) -> Document:
    from indexer.paragraphs import DISTR_RE, SYMBOL_RE, find_date

    doc = Document(symbol="")
    front = converted.front
    for line in front[:60]:
        candidate = " ".join(line.split())
        # "A/HRC/55/12", also "A/HRC/55/12  Distr.: General" in one table cell
        for part in [candidate, *re.split(r"\s{2,}|\t", line)]:
            part = part.strip()
            if SYMBOL_RE.match(part) and re.search(r"\d", part) and len(part) <= 60:
                doc.symbol = part
                break
        if doc.symbol:
            break
    for i, line in enumerate(front[:60]):
        if DISTR_RE.match(line) or re.search(r"\bDistr\.?\s*:", line):
            date = find_date(" ".join(front[i : i + 4]))
            if date:
                doc.date = date
                break
    for line in front[:30]:
        if _ORGAN.match(line.strip()):
            doc.body = line.strip()
            break
    title = (core.get("title") or "").strip()
    if title and not re.match(r"^(?:Microsoft Word - |untitled|document\d*$)", title, re.IGNORECASE):
        doc.title = title
    elif converted.title_style:
        doc.title = converted.title_style
    elif converted.headings:
        doc.title = converted.headings[0]
    lang = (core.get("language") or "").strip()
    m = _LANG.match(lang.lower()) if lang else None
    if m:
        doc.language = m.group(1)
    return doc


def read(path: Path) -> ParsedDocument:
    from indexer.paragraphs import segment_text

    converted, core = docx_to_markdown(path)
    doc = _metadata(converted, core)
    doc.source = str(path)
    warnings: list[str] = []
    if converted.tables:
        warnings.append(f"{converted.tables} table(s) left out")
    return ParsedDocument(doc=doc, paragraphs=segment_text(converted.text), warnings=warnings)
