"""Question sets: what is asked, and which paragraphs answer it.

A question set is a list of :class:`Question` with their gold paragraphs. Two
sources produce one: the project's own JSON Lines format (below, read by
:func:`load_questions`) and BEIR folders (:mod:`eval.beir`).

The dev format, one JSON object a line::

    {"id": "d001", "query": "...", "language": "en", "kind": "keyword", "collection": "hr",
     "relevant": [{"symbol": "A/79/520", "para": "144", "grade": 2}], "answer_keywords": ["..."]}

Results are matched to gold by paragraph key (:func:`para_key`): the
normalized symbol (case, spacing and width folded, as the index does) and the
paragraph locator, so ``S/RES/2790 (2025)`` para 1 in French is the same key
as ``s/res/2790(2025)`` para ``1.`` in English.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parasearch.types import normalize_symbol


def normalize_para(para: str) -> str:
    """Canonical paragraph locator: ``" 14. "`` -> ``"14"``, ``"Preamble-3"`` -> ``"preamble-3"``."""
    s = unicodedata.normalize("NFKC", str(para)).strip().lower()
    s = re.sub(r"\s+", "", s)
    return s.rstrip(".")


def para_key(symbol: str, para: str) -> str:
    """The key results and gold are matched on: ``"a/res/79/191#59"``."""
    return f"{normalize_symbol(symbol)}#{normalize_para(para)}"


@dataclass(frozen=True)
class Gold:
    symbol: str
    para: str
    grade: int = 1

    @property
    def key(self) -> str:
        return para_key(self.symbol, self.para)


@dataclass
class Question:
    id: str
    query: str
    relevant: list[Gold]
    language: str = "en"
    kind: str = ""
    collection: str = ""
    answer_keywords: list[str] = field(default_factory=list)
    # Filters for this question alone (field -> values, as ``--filter``; :func:`eval.retrieve.filters_from`),
    # from a query metadata field of a BEIR set (``--query-filter``): its candidates are limited to them.
    filters: dict[str, list[str]] = field(default_factory=dict)

    def qrels(self) -> dict[str, int]:
        """Gold paragraph key -> grade (the highest grade where a paragraph is listed twice)."""
        out: dict[str, int] = {}
        for g in self.relevant:
            out[g.key] = max(out.get(g.key, 0), int(g.grade))
        return out


@dataclass
class QuestionSet:
    """Questions to score, and how to score them."""

    name: str
    questions: list[Question]
    source: str = ""
    kind: str = "questions"  # "questions" (dev format) or "beir"
    # Drop a result whose symbol is the question's own id before scoring (BEIR's ignore_identical_ids).
    ignore_identical_ids: bool = False
    notes: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)  # counts worth keeping in the results file
    # BEIR: the index's document key (normalized symbol) -> the corpus ``_id`` as written, for TREC run files.
    doc_ids: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # what the command prints when it loads the set (also in notes)

    def qrels(self) -> dict[str, dict[str, int]]:
        return {q.id: q.qrels() for q in self.questions}

    def groups(self, attribute: str) -> dict[str, str]:
        """Question id -> its ``kind`` or ``language``; questions without one are left out."""
        return {q.id: getattr(q, attribute) for q in self.questions if getattr(q, attribute)}


class QuestionFileError(ValueError):
    """A question file that cannot be read; the message names the line."""


def load_questions(path: Path, name: str | None = None) -> QuestionSet:
    """Read a JSON Lines question file in the dev format."""
    path = Path(path)
    questions: list[Question] = []
    seen: set[str] = set()
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                qid = str(obj.get("id") or f"line{n}")
                relevant = [Gold(str(r["symbol"]), str(r["para"]), int(r.get("grade", 1))) for r in obj["relevant"]]
                q = Question(
                    id=qid, query=str(obj["query"]), relevant=relevant,
                    language=str(obj.get("language") or ""), kind=str(obj.get("kind") or ""),
                    collection=str(obj.get("collection") or ""),
                    answer_keywords=[str(k) for k in obj.get("answer_keywords") or []],
                )
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise QuestionFileError(f"{path}:{n}: not a question ({type(exc).__name__}: {exc})") from None
            if qid in seen:
                raise QuestionFileError(f"{path}:{n}: question id {qid!r} appears twice")
            if not any(g.grade > 0 for g in relevant):
                raise QuestionFileError(f"{path}:{n}: question {qid!r} has no relevant paragraph with grade > 0")
            seen.add(qid)
            questions.append(q)
    if not questions:
        raise QuestionFileError(f"{path}: no questions")
    return QuestionSet(name=name or path.stem, questions=questions, source=str(path), kind="questions",
                       info={"questions": len(questions)})
