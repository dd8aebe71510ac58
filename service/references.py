"""Recognising document references in a query: ``A/RES/79/191 para 59``, ``res 79/191``,
``resolution 2672 (2023)``, ``CTOC/COP/WG.2/2013/5 § 9``.

A recognised reference restricts the search to that document; a paragraph in
it is returned first. A reference to a document the index does not hold is
reported back, never silently ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from parasearch.types import normalize_symbol

# Official symbols: series letters, then slash-separated parts; optional "(2023)" for SC resolutions.
_SYMBOL_RE = re.compile(
    r"(?<![\w/])((?:A|S|E|CTOC|CAC|CCPCJ|CND|UNODC|HRC|TD|CRC|CEDAW|CCPR|CERD|CAT|ST|DP|UNEP)"
    r"(?:/[A-Z0-9][A-Z0-9.\-]*)+(?:\s?\.\s?\d+)?)(\s*\(\d{4}\))?(?![\w/])",
    re.IGNORECASE,
)
# Loose forms: "res 79/191", "resolution 79/191" (GA); "resolution 2672 (2023)", "res 2672" (SC).
_GA_LOOSE_RE = re.compile(r"\b(?:res(?:olution)?\.?|ares)\s*(\d{2,3})\s*/\s*(\d{1,4})\b", re.IGNORECASE)
_SC_LOOSE_RE = re.compile(r"\b(?:res(?:olution)?\.?|sres)\s*(\d{3,4})(?:\s*\((\d{4})\))?(?![\d/])", re.IGNORECASE)
_PARA_RE = re.compile(
    r"(?:\b(?:operative\s+)?para(?:graph)?s?\.?|§|\bop\.?|\bpp\.?|\bpreambular\s+para(?:graph)?\.?)\s*(\d{1,3})\b",
    re.IGNORECASE,
)


@dataclass
class Reference:
    """What a query names: documents (ids), maybe a paragraph, and the rest of the query."""

    named: str | None = None  # the symbol as recognised, e.g. "A/RES/79/191"
    doc_ids: list[int] = field(default_factory=list)
    para: str | None = None
    rest: str = ""  # the query without the reference
    unknown: bool = False  # the query names a document the index does not hold


def _find_docs(key: str, key_to_docs: dict[str, list[int]]) -> list[int]:
    if key in key_to_docs:
        return list(key_to_docs[key])
    # "S/RES/2672" without the year, or a symbol typed without its "(year)".
    hits = [d for k, ids in key_to_docs.items() if k.startswith(key + "(") for d in ids]
    return hits


def parse_reference(query: str, key_to_docs: dict[str, list[int]]) -> Reference | None:
    """Find a document reference in ``query``; ``None`` when it names none."""
    named = key = None
    span = None
    m = next((m for m in _SYMBOL_RE.finditer(query) if any(c.isdigit() for c in m.group(0))), None)
    if m:  # an official symbol always has a number in it ("s/he" is not one)
        named = (m.group(1) + (m.group(2) or "")).strip()
        key = normalize_symbol(named)
        span = m.span()
    elif m := _GA_LOOSE_RE.search(query):
        named = f"A/RES/{m.group(1)}/{m.group(2)}"
        key = normalize_symbol(named)
        span = m.span()
    elif m := _SC_LOOSE_RE.search(query):
        named = f"S/RES/{m.group(1)}" + (f" ({m.group(2)})" if m.group(2) else "")
        key = normalize_symbol(named)
        span = m.span()
    if key is None or span is None:
        return None
    ref = Reference(named=named, doc_ids=_find_docs(key, key_to_docs))
    ref.unknown = not ref.doc_ids
    rest = query[: span[0]] + " " + query[span[1] :]
    if pm := _PARA_RE.search(rest):
        word = pm.group(0).lower()
        ref.para = f"preamble-{pm.group(1)}" if word.startswith(("pp", "preambular")) else pm.group(1)
        rest = rest[: pm.start()] + " " + rest[pm.end() :]
    ref.rest = re.sub(r"\s+", " ", rest).strip(" ,;:-")
    return ref
