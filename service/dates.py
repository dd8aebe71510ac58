"""The years a query names, so that search can prefer documents of those years.

* explicit years: ``in its 2024 resolution`` -> 2024; spans ``from 2020 to 2023``,
  ``2020-2023`` -> every year of them (at most 12); document numbers (``A/RES/79/191``),
  decimals and amounts are not years;
* session numbers, in words or figures, of the two bodies whose sessions map onto years, when
  the query names the body: the General Assembly's ``eightieth session`` (``80th session``)
  runs from September 2025 into 2026 -> 2025 and 2026; the Human Rights Council's ``fortieth
  session`` (three a year since June 2006) -> 2019. Other bodies' sessions (a working group's
  "second session") name no year.
"""

from __future__ import annotations

import re

_YEAR = re.compile(r"(?<![\d/.-])(19[4-9]\d|20\d\d)(?![\d/]|[.,]\d)")  # not 2025.5 or 2,025.5
_YEAR_SPAN = re.compile(
    r"(?<![\d/.-])(19[4-9]\d|20\d\d)\s*(?:-|\u2013|to|through|until|and)\s*(19[4-9]\d|20\d\d)(?![\d/])"
)
MAX_SPAN = 12

_UNITS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
          "ninth": 9}
_TEENS = {"tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14, "fifteenth": 15,
          "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
_TENS_ORD = {"twentieth": 20, "thirtieth": 30, "fortieth": 40, "fiftieth": 50, "sixtieth": 60, "seventieth": 70,
             "eightieth": 80, "ninetieth": 90}
_ORDINAL_WORD = (r"(?:(?:" + "|".join(_TENS) + r")[-\s](?:" + "|".join(_UNITS) + r")|"
                 + "|".join([*_TENS_ORD, *_TEENS, *_UNITS]) + r")")
_SESSION = re.compile(rf"\b({_ORDINAL_WORD}|\d{{1,3}}(?:st|nd|rd|th))\s+(?:regular\s+)?session\b", re.IGNORECASE)
_HRC = re.compile(r"human rights council", re.IGNORECASE)
_GA = re.compile(r"general assembly", re.IGNORECASE)


def ordinal_value(word: str) -> int | None:
    """``"seventy-ninth"`` -> 79, ``"80th"`` -> 80; None for anything else."""
    w = word.lower().replace(" ", "-")
    if m := re.fullmatch(r"(\d{1,3})(?:st|nd|rd|th)", w):
        return int(m.group(1))
    if "-" in w:
        tens, _, unit = w.partition("-")
        return _TENS[tens] + _UNITS[unit] if tens in _TENS and unit in _UNITS else None
    return _TENS_ORD.get(w) or _TEENS.get(w) or _UNITS.get(w)


def session_years(query: str) -> set[int]:
    """Years of the sessions a query names, when it names the General Assembly or the Human Rights Council."""
    years: set[int] = set()
    hrc, ga = bool(_HRC.search(query)), bool(_GA.search(query))
    if hrc == ga:  # neither body named, or both: no telling whose session
        return years
    for m in _SESSION.finditer(query):
        n = ordinal_value(m.group(1))
        if not n:
            continue
        if hrc:
            years.add(2006 + (n - 1) // 3)
        else:
            years.update((1945 + n, 1946 + n))
    return years


def query_years(query: str) -> list[int]:
    """Every year the query names (see the module docstring), ascending."""
    years = {int(y) for y in _YEAR.findall(query)}
    for a, b in _YEAR_SPAN.findall(query):
        lo, hi = int(a), int(b)
        if 0 < hi - lo <= MAX_SPAN:
            years.update(range(lo, hi + 1))
    years |= session_years(query)
    return sorted(years)
