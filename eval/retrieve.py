"""Asking the search for each question: in-process (an index directory) or over HTTP (a running service).

Both searchers return the same thing, a list of results best first, each a
tuple of ``(symbol, paragraph)``: the paragraph shown, then its ``also_in``
paragraphs. Over HTTP the results are read from ``GET /search`` exactly as a
client gets them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from eval.metrics import Slot
from eval.questions import QuestionSet, para_key
from parasearch.progress import progress_bar
from parasearch.types import normalize_symbol

if TYPE_CHECKING:
    import httpx

    from service.search import Filters, SearchEngine

Result = tuple[tuple[str, str], ...]  # (symbol, para) shown first, then also_in
SHOWN = 10  # results per question kept for the results file (question sets)
# Filters as data: a field of service.search.Filters (symbol, body, type, language, date_from, date_to) -> values.
FilterSpec = Mapping[str, Sequence[str]]
LIST_FILTERS = ("symbol", "body", "type", "language")
DATE_FILTERS = ("date_from", "date_to")


def merge_filters(*specs: FilterSpec | None) -> dict[str, list[str]]:
    """The filters of several specs together, a later spec's field replacing an earlier one's (a question's own
    filter on a field replaces the run's ``--filter`` on that field: values of one field are alternatives)."""
    out: dict[str, list[str]] = {}
    for spec in specs:
        for name, values in (spec or {}).items():
            if name not in LIST_FILTERS + DATE_FILTERS:
                raise ValueError(f"unknown filter {name!r}: use one of {', '.join(LIST_FILTERS + DATE_FILTERS)}")
            if values:
                out[name] = list(values)
    return out


def filters_from(*specs: FilterSpec | None) -> Filters | None:
    """A :class:`service.search.Filters` of the merged specs (:func:`merge_filters`; a date field takes its last
    value), or None when there is no filter."""
    from service.search import Filters

    spec = merge_filters(*specs)
    if not spec:
        return None
    def last(name: str) -> str | None:
        return spec[name][-1] if name in spec else None

    return Filters(symbol=spec.get("symbol", []), body=spec.get("body", []), type=spec.get("type", []),
                   language=spec.get("language", []), date_from=last("date_from"), date_to=last("date_to"))


@dataclass
class Returned:
    results: list[Result]
    notice: str | None = None


class Searcher(Protocol):
    description: str
    max_k: int | None

    def search(self, query: str, k: int, mode: str, filters: FilterSpec | None = None) -> Returned:
        """The results of ``query``; ``filters``: the question's own, on top of the searcher's."""
        ...

    def clear_cache(self) -> None:
        """Forget cached query vectors, so that the next search pays for encoding its query."""
        ...


class EngineSearcher:
    """In-process: :meth:`service.search.SearchEngine.search`, as the service calls it.

    ``filters`` (field -> values, :data:`FilterSpec`) restricts every search, as the service's filter
    parameters do (``--filter``; the parallel-paragraph mode searches only the target language)."""

    max_k: int | None = None

    def __init__(self, engine: SearchEngine, *, collapse: bool = True, filters: FilterSpec | None = None) -> None:
        self.engine = engine
        self.collapse = collapse
        self.filters = merge_filters(filters)
        self.description = f"index {engine.index.dir}"

    def search(self, query: str, k: int, mode: str, filters: FilterSpec | None = None) -> Returned:
        from parasearch.errors import InvalidRequest

        try:
            out = self.engine.search(query, k=k, mode=mode, filters=filters_from(self.filters, filters),
                                     collapse=self.collapse, snippets=False)
        except InvalidRequest as exc:
            return Returned([], f"refused: {exc}")
        results = [((h.row.symbol, h.row.para), *((a.symbol, a.para) for a in h.also_in)) for h in out.hits]
        return Returned(results, out.notice)

    def clear_cache(self) -> None:
        self.engine.clear_query_cache()


class HttpError(RuntimeError):
    """The service could not be reached or failed (5xx): scoring stops."""


class HttpSearcher:
    """Over HTTP: ``GET {url}/search?q=&k=&mode=&collapse=`` (and the filters), what users get.

    The service's query-vector cache cannot be emptied from outside: :meth:`clear_cache` does nothing, and a
    mode searched after another (hybrid after dense) finds the query's vector made already."""

    max_k: int | None = 100  # the service's limit on k
    max_query_chars = 1000  # the service's limit on q

    def __init__(self, url: str, *, collapse: bool = True, timeout: float = 120.0,
                 filters: FilterSpec | None = None) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.collapse = collapse
        self.filters = merge_filters(filters)
        self.client = httpx.Client(base_url=self.url, timeout=timeout)
        self.description = f"service {self.url}"
        self.truncated = 0

    def _get(self, path: str, **params: Any) -> httpx.Response:
        import httpx

        try:
            return self.client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise HttpError(f"{self.url}{path}: {type(exc).__name__}: {exc}") from None

    def health(self) -> dict[str, Any]:
        r = self._get("/health")
        if r.status_code != 200:
            raise HttpError(f"{self.url}/health answered {r.status_code}: {r.text[:200]}")
        data: dict[str, Any] = r.json()
        return data

    def search(self, query: str, k: int, mode: str, filters: FilterSpec | None = None) -> Returned:
        q = query.strip()
        if len(q) > self.max_query_chars:  # what a user can send: the query cut at a word boundary
            self.truncated += 1
            cut = q[: self.max_query_chars]
            q = cut[: cut.rfind(" ")] if " " in cut[100:] else cut
        spec = merge_filters(self.filters, filters)
        extra = {n: v if n in LIST_FILTERS else v[-1] for n, v in spec.items()}  # the service's parameter names
        r = self._get("/search", q=q, k=min(k, self.max_k or k), mode=mode, collapse=str(self.collapse).lower(),
                      **extra)
        if r.status_code >= 500:
            raise HttpError(f"{self.url}/search answered {r.status_code} for {q[:80]!r}: {r.text[:200]}")
        if r.status_code != 200:
            return Returned([], f"HTTP {r.status_code}: {r.text[:200]}")
        data = r.json()
        results: list[Result] = [
            ((x["symbol"], x["para"]), *((a["symbol"], a["para"]) for a in x.get("also_in") or []))
            for x in data.get("results", [])]
        return Returned(results, data.get("notice"))

    def clear_cache(self) -> None:
        """Nothing: the service's cache is its own (see the class docstring)."""

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
             progress: bool = True, cold: bool = True) -> dict[str, ModeRun]:
    """Run every question of ``qset`` through ``searcher`` in each mode, ``k`` results deep.

    ``cold``: empty the searcher's query-vector cache before each search (untimed), so that every mode's time
    includes encoding the query: hybrid, searched after dense, would otherwise reuse dense's vector. False when
    the vectors were made beforehand on purpose (:func:`eval.parallel.retrieve_batched`)."""
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
            if cold:
                searcher.clear_cache()
            t0 = time.perf_counter()
            got = searcher.search(q.query, depth, mode, q.filters or None)
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
