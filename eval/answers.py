"""Scoring cited answers, when the project has an answer function.

The hook (``parasearch eval --answers``) looks for, in this order:

* over HTTP (``--url``): ``POST {url}/answer`` listed in the service's
  ``/openapi.json``; the question goes in the request body's ``q``,
  ``query`` or ``question`` field (whichever the schema names, else its first
  required string field);
* in-process (``--index``): ``service.answer.answer_question(engine,
  question)`` (or a callable ``answer(engine, question)`` in ``service.answer``,
  ``service.answers``, ``service.ask``); when it takes an ``llm`` and
  ``PARASEARCH_LLM_URL`` configures one (``service.llm.LLMConfig.from_env``),
  it gets the same model the service would use.

Either returns ``{"answer": str, "sentences": [{"text": str, "citations":
[{"symbol", "para"}]}]}`` (a dict, or an object with those attributes); a
sentence marked ``"supported": false`` is not part of the answer and its
citations are not counted. Nothing found: the hook says so and answer scoring
is skipped.

Per question, then averaged:

* ``keyword_share``: share of the question's ``answer_keywords`` found in the
  answer (case, width and spacing folded); questions without keywords are
  left out;
* ``citation_precision``: share of the answer's distinct citations that are
  gold paragraphs (grade > 0), matched like search results; answers without
  citations are left out of this mean and counted in ``uncited``;
* ``ms``: the time to answer, as the caller waits for it (wall clock around the call,
  over HTTP including the round trip); ``ms_median`` and ``ms_p95`` over the set.
"""

from __future__ import annotations

import importlib
import inspect
import re
import time
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from eval.metrics import mean
from eval.questions import QuestionSet, para_key
from parasearch.progress import progress_bar

if TYPE_CHECKING:
    from service.search import SearchEngine

AnswerFn = Callable[[str], Any]
MODULES = ("service.answer", "service.answers", "service.ask")
FUNCTIONS = ("answer_question", "answer")
QUERY_FIELDS = ("q", "query", "question")


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _fold(text: str) -> str:
    s = unicodedata.normalize("NFKC", text).lower()
    s = re.sub(r"[\u2018\u2019\u201c\u201d\"'`]", "", s)
    return re.sub(r"\s+", " ", s).strip()


def _llm_from_env() -> Any:
    """The answer model the service would configure from the environment, or None."""
    try:
        from service.llm import LLMClient, LLMConfig
    except ImportError:
        return None
    config = LLMConfig.from_env()
    return LLMClient(config) if config else None


def in_process_answerer(engine: SearchEngine) -> tuple[AnswerFn | None, str]:
    """``(fn, description)``, or ``(None, why)`` when the project has no in-process answer function."""
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue
            raise
        for fname in FUNCTIONS:
            fn = getattr(module, fname, None)
            if not callable(fn):
                continue
            params = inspect.signature(fn).parameters
            first = next(iter(params), "")
            kwargs = {}
            if "llm" in params:
                kwargs["llm"] = _llm_from_env()
            desc = f"{name}.{fname}" + (" (with the model from PARASEARCH_LLM_URL)" if kwargs.get("llm") else "")
            if first in ("engine", "searcher", "search_engine"):
                return (lambda q, _fn=fn, _kw=kwargs: _fn(engine, q, **_kw)), desc
            return (lambda q, _fn=fn, _kw=kwargs: _fn(q, **_kw)), desc
    return None, (f"no answer function in-process (looked for {' or '.join(FUNCTIONS)}() in "
                  f"{', '.join(MODULES)})")


def http_answerer(url: str, timeout: float = 300.0) -> tuple[AnswerFn | None, str]:
    """``(fn, description)`` for ``POST {url}/answer``, or ``(None, why)`` when the service has none."""
    import httpx

    base = url.rstrip("/")
    try:
        spec = httpx.get(f"{base}/openapi.json", timeout=30).json()
    except (httpx.HTTPError, ValueError) as exc:
        return None, f"could not read {base}/openapi.json ({type(exc).__name__}: {exc})"
    op = spec.get("paths", {}).get("/answer", {}).get("post")
    if op is None:
        return None, f"{base} has no POST /answer"
    schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        schema = spec.get("components", {}).get("schemas", {}).get(schema["$ref"].rsplit("/", 1)[-1], {})
    props = schema.get("properties", {})
    field = next((f for f in QUERY_FIELDS if f in props), None)
    if field is None:
        field = next((f for f in schema.get("required", []) if props.get(f, {}).get("type") == "string"), None)
    if field is None:
        return None, f"{base} POST /answer: cannot tell which request field holds the question"
    client = httpx.Client(base_url=base, timeout=timeout)

    def ask(question: str) -> dict[str, Any]:
        r = client.post("/answer", json={field: question})
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data

    return ask, f"POST {base}/answer ({field!r})"


def score_answers(qset: QuestionSet, answer: AnswerFn, *, progress: bool = True) -> dict[str, Any]:
    """Ask every question of ``qset`` and score the answers (see the module docstring)."""
    per_question: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    t0 = time.perf_counter()
    for q in progress_bar(qset.questions, desc=f"{qset.name} answers", unit="q", disable=not progress):
        t_q = time.perf_counter()
        try:
            out = answer(q.query)
        except Exception as exc:  # one failing answer must not lose the others
            errors[q.id] = f"{type(exc).__name__}: {exc}"
            continue
        ms = (time.perf_counter() - t_q) * 1000
        text = str(_get(out, "answer", "") or "")
        cited: dict[str, str] = {}
        for sentence in _get(out, "sentences", []) or []:
            if _get(sentence, "supported", True) is False:
                continue
            for c in _get(sentence, "citations", []) or []:
                cited.setdefault(para_key(str(_get(c, "symbol")), str(_get(c, "para"))), "")
        gold = {k for k, g in q.qrels().items() if g > 0}
        found = _get(out, "found", None)
        row: dict[str, Any] = {"answered": bool(text.strip()) if found is None else bool(found),
                               "citations": len(cited), "ms": round(ms, 1)}
        if q.answer_keywords:
            folded = _fold(text)
            row["keyword_share"] = mean(1.0 if _fold(kw) in folded else 0.0 for kw in q.answer_keywords)
        if cited:
            row["citation_precision"] = mean(1.0 if c in gold else 0.0 for c in cited)
        per_question[q.id] = row
    rows = per_question.values()
    kw = [r["keyword_share"] for r in rows if "keyword_share" in r]
    prec = [r["citation_precision"] for r in rows if "citation_precision" in r]
    times = [r["ms"] for r in rows]
    return {
        "questions": len(qset.questions),
        "answered": sum(1 for r in rows if r["answered"]),
        "keyword_share": mean(kw) if kw else None,
        "keyword_questions": len(kw),
        "citation_precision": mean(prec) if prec else None,
        "cited_answers": len(prec),
        "uncited": sum(1 for r in rows if not r["citations"]),
        "errors": errors,
        "ms_median": round(float(np.median(times)), 1) if times else None,
        "ms_p95": round(float(np.percentile(times, 95)), 1) if times else None,
        "seconds": round(time.perf_counter() - t0, 2),
        "per_question": per_question,
    }
