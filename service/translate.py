"""Query translation for BM25: a question in Arabic, Chinese, French, Russian or Spanish, asked of English
paragraphs, also gets the English terms its own terms translate to.

Without it such a question shares with English paragraphs only numbers, names and symbols, and hybrid search
leans almost wholly on the multilingual dense arm. The translations come from bilingual lexicons learned from the
Security Council's parallel resolutions (``service/data/lexicon.json.gz``, rebuilt by ``python -m
eval.train_lexicon``; figures in docs/evaluation.md, "Query translation"): for each term of the question, the
English terms with a Dice coefficient of at least ``MIN_DICE`` and within ``RATIO`` of its best. The question's
own terms are kept beside them (a name, a symbol, a number), each term once.

``PARASEARCH_LEXICON``: another lexicon file, or ``off``. A lexicon written for another analysis version (the
terms would not be the index's) is not used, and the service says so in its log.
"""

from __future__ import annotations

import gzip
import json
import logging
import threading
from pathlib import Path
from typing import Any

from parasearch.analysis import ANALYSIS_VERSION, terms
from parasearch.settings import settings

log = logging.getLogger("parasearch")

LEXICON_ENV = "PARASEARCH_LEXICON"
LEXICON_FILE = Path(__file__).resolve().parent / "data" / "lexicon.json.gz"
TARGET = "en"  # the language the lexicons translate into
MIN_DICE = 0.5
RATIO = 0.7  # translations kept: those within this share of a term's best


class Lexicon:
    """Term -> English terms, per source language (as :mod:`eval.train_lexicon` writes them)."""

    def __init__(self, tables: dict[str, dict[str, list[list[Any]]]], info: dict[str, Any] | None = None) -> None:
        self.tables = tables
        self.info = info or {}

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            body = json.load(f)
        return cls(body["lexicons"], {k: v for k, v in body.items() if k != "lexicons"})

    def languages(self) -> list[str]:
        return list(self.tables)

    def translate(self, query: str, language: str, *, min_dice: float | None = None, ratio: float | None = None
                  ) -> list[str]:
        """The question's terms (analysed in ``language``) and their English translations, each term once, in
        the question's order; just the question's terms for a language the lexicon lacks."""
        min_dice = MIN_DICE if min_dice is None else min_dice
        ratio = RATIO if ratio is None else ratio
        own = terms(query, language)
        table = self.tables.get(language)
        if not table:
            return own
        out: dict[str, None] = {}
        for term in own:
            out.setdefault(term, None)
            entries = table.get(term)
            if not entries:
                continue
            floor = max(min_dice, ratio * entries[0][1])
            for english, dice in entries:
                if dice >= floor:
                    out.setdefault(english, None)
        return list(out)


_lock = threading.Lock()
_loaded: dict[str, Lexicon | None] = {}


def default_lexicon() -> Lexicon | None:
    """The service's lexicon: ``$PARASEARCH_LEXICON`` (a file, or ``off``), else the one that comes with the
    project; None when it is turned off, missing, or made for another analysis version. Loaded once."""
    value = settings().lexicon.strip()
    if value.lower() in ("off", "none", "0", "false"):
        return None
    path = Path(value).expanduser() if value else LEXICON_FILE
    key = str(path)
    with _lock:
        if key not in _loaded:
            _loaded[key] = _read(path)
        return _loaded[key]


def _read(path: Path) -> Lexicon | None:
    try:
        lexicon = Lexicon.load(path)
    except (OSError, EOFError, ValueError, KeyError) as exc:  # missing, truncated, not gzip or not JSON
        log.warning("query translation off: cannot read the lexicon %s (%s)", path, exc)
        return None
    version = lexicon.info.get("analysis_version")
    if version != ANALYSIS_VERSION:
        log.warning("query translation off: the lexicon %s was made for analysis version %s, the service "
                    "analyses with %s (rebuild it: python -m eval.train_lexicon)", path, version, ANALYSIS_VERSION)
        return None
    return lexicon
