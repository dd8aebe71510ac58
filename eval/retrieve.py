"""Asking the search for each question: in-process (an index directory) or over HTTP (a running service).

Both searchers return the same thing, a list of results best first, each a
tuple of ``(symbol, paragraph)``: the paragraph shown, then its ``also_in``
paragraphs. Over HTTP the results are read from ``GET /search`` exactly as a
client gets them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from eval.metrics import Slot
from eval.questions import QuestionSet, para_key
from parasearch.progress import progress_bar
from parasearch.types import normalize_symbol

Result = tuple[tuple[str, str], ...]  # (symbol, para) shown first, then also_in
SHOWN = 10  # results per question kept for the results file (question sets)


@dataclass
class Returned:
    results: list[Result]
    notice: str | None = None


class Searcher(Protocol):
    description: str
    max_k: int | None

    def search(self, query: str, k: int, mode: str) -> Returned: ...


class EngineSearcher:
    """In-process: :meth:`service.search.SearchEngine.search`, as the service calls it.

    ``filters`` (a :class:`service.search.Filters`) restricts every search, as the service's filter
    parameters do (the parallel-paragraph mode searches only the target language)."""

    max_k: int | None = None

    def __init__(self, engine, *, collapse: bool = True, filters=None) -> None:
        self.engine = engine
        self.collapse = collapse
        self.filters = filters
        self.description = f"index {engine.index.dir}"

    def search(self, query: str, k: int, mode: str) -> Returned:
        from service.search import EngineError

        try:
            out = self.engine.search(query, k=k, mode=mode, filters=self.filters, collapse=self.collapse,
                                     snippets=False)
        except EngineError as exc:
            return Returned([], f"refused: {exc}")
        results = [((h.row.symbol, h.row.para), *((a.symbol, a.para) for a in h.also_in)) for h in out.hits]
        return Returned(results, out.notice)


class HttpError(RuntimeError):
    """The service could not be reached or failed (5xx): scoring stops."""


class HttpSearcher:
    """Over HTTP: ``GET {url}/search?q=&k=&mode=&collapse=``, what users get."""

    max_k: int | None = 100  # the service's limit on k
    max_query_chars = 1000  # the service's limit on q

    def __init__(self, url: str, *, collapse: bool = True, timeout: float = 120.0) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.collapse = collapse
        self.client = httpx.Client(base_url=self.url, timeout=timeout)
        self.description = f"service {self.url}"
        self.truncated = 0

    def _get(self, path: str, **params):
        import httpx

        try:
            return self.client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise HttpError(f"{self.url}{path}: {type(exc).__name__}: {exc}") from None

    def health(self) -> dict:
        r = self._get("/health")
        if r.status_code != 200:
            raise HttpError(f"{self.url}/health answered {r.status_code}: {r.text[:200]}")
        return r.json()

    def search(self, query: str, k: int, mode: str) -> Returned:
        q = query.strip()
        if len(q) > self.max_query_chars:  # what a user can send: the query cut at a word boundary
            self.truncated += 1
            cut = q[: self.max_query_chars]
            q = cut[: cut.rfind(" ")] if " " in cut[100:] else cut
        r = self._get("/search", q=q, k=min(k, self.max_k or k), mode=mode, collapse=str(self.collapse).lower())
        if r.status_code >= 500:
            raise HttpError(f"{self.url}/search answered {r.status_code} for {q[:80]!r}: {r.text[:200]}")
        if r.status_code != 200:
            return Returned([], f"HTTP {r.status_code}: {r.text[:200]}")
        data = r.json()
        results = [((x["symbol"], x["para"]), *((a["symbol"], a["para"]) for a in x.get("also_in") or []))
                   for x in data.get("results", [])]
        return Returned(results, data.get("notice"))

    def close(self) -> None:
        self.client.close()


@dataclass
class ModeRun:
    """What one mode returned for every question of a set."""

    mode: str
    results: dict[str, list[Slot]] = field(default_factory=dict)  # question id -> keys, results best first
    shown: dict[str, list[list[str]]] = field(default_factory=dict)  # question id -> [symbol, para], first SHOWN
    notices: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    self_hits_dropped: int = 0


def retrieve(qset: QuestionSet, searcher: Searcher, modes: list[str], k: int, *,
             progress: bool = True) -> dict[str, ModeRun]:
    """Run every question of ``qset`` through ``searcher`` in each mode, ``k`` results deep."""
    # A question's own document is dropped afterwards: ask for one more so that k remain.
    depth = k + 1 if qset.ignore_identical_ids else k
    if searcher.max_k is not None:
        depth = min(depth, searcher.max_k)
    runs = {m: ModeRun(m) for m in modes}
    bar = progress_bar(qset.questions, desc=f"{qset.name} ({', '.join(modes)})", unit="q", disable=not progress)
    for q in bar:
        own = normalize_symbol(q.id) if qset.ignore_identical_ids else None
        for mode in modes:
            run = runs[mode]
            t0 = time.perf_counter()
            got = searcher.search(q.query, depth, mode)
            run.seconds += time.perf_counter() - t0
            kept: list[Result] = []
            for res in got.results:
                if own is not None:
                    members = tuple(m for m in res if normalize_symbol(m[0]) != own)
                    run.self_hits_dropped += len(res) - len(members)
                    res = members
                if res:
                    kept.append(res)
            kept = kept[:k]
            run.results[q.id] = [tuple(para_key(s, p) for s, p in res) for res in kept]
            run.shown[q.id] = [[s, p] for (s, p), *_ in kept[:SHOWN]]
            if got.notice:
                run.notices[q.id] = got.notice
    return runs
