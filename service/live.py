"""The server follows its index: a newly published generation is loaded beside the one being served and switched
to between requests.

:class:`EngineHolder` holds the engine being served. Each request leases the engine once (the ``Engine``
dependency in :mod:`service.deps`) and uses only it, so no request sees two generations; a switch only changes
which engine the *next* lease gets. The engine switched from is closed when its last lease ends. What starts a
reload: a watcher thread that sees ``DIR/CURRENT`` name another generation (every ``PARASEARCH_RELOAD_SECONDS``,
default 2; 0 turns it off), ``POST /admin/reload``, ``SIGHUP``, and the admin API's own updates. Loading reuses
the query encoders (and their query-vector caches) when the new generation was built with the same models; a
generation that cannot be loaded is logged and the old one goes on serving.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from indexer.embed import describe
from parasearch import indexfiles
from parasearch.settings import default, settings
from service.index import LoadedIndex
from service.memory import release_free_memory
from service.search import SearchEngine

log = logging.getLogger("parasearch")

RELOAD_SECONDS: float = default("reload_seconds")


def reload_seconds() -> float:
    return settings().reload_seconds


@dataclass
class ReloadResult:
    generation: str
    switched: bool
    error: str | None = None


def _same_models(engine: SearchEngine, index: LoadedIndex) -> bool:
    ours = [describe(e)["identity"] for e in engine.encoders]
    return ours == [m.get("identity") for m in index.models]


class EngineHolder:
    """The engine being served, switched atomically to a newly published generation of the same index."""

    def __init__(self, engine: SearchEngine, *, model: str | None = None) -> None:
        self._engine = engine
        self._model = model
        self._lock = threading.Lock()  # guards _engine, _leases, _retired
        self._reload_lock = threading.Lock()  # one load at a time
        self._leases: dict[int, int] = {}
        self._retired: dict[int, SearchEngine] = {}
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self.switches = 0
        # callables(engine), e.g. the index gauges of /metrics
        self.on_switch: list[Callable[[SearchEngine], object]] = []

    @property
    def index_dir(self) -> Path:
        return self._engine.index.dir

    @property
    def engine(self) -> SearchEngine:
        return self._engine

    @property
    def generation(self) -> str:
        return self._engine.index.generation.name

    @contextlib.contextmanager
    def lease(self) -> Iterator[SearchEngine]:
        """The current engine, held until the block ends: it is not closed while leased, even after a switch."""
        with self._lock:
            engine = self._engine
            self._leases[id(engine)] = self._leases.get(id(engine), 0) + 1
        try:
            yield engine
        finally:
            with self._lock:
                left = self._leases[id(engine)] - 1
                if left:
                    self._leases[id(engine)] = left
                else:
                    del self._leases[id(engine)]
                retired = self._retired.pop(id(engine), None) if not left else None
            if retired is not None:
                _close(retired)

    def leased(self) -> int:
        """Requests holding an engine now (any generation)."""
        with self._lock:
            return sum(self._leases.values())

    def retired(self) -> int:
        """Engines switched from that still serve requests begun before the switch."""
        with self._lock:
            return len(self._retired)

    def reload(self) -> ReloadResult:
        """Load the generation ``CURRENT`` names, if it is not the one being served, and switch to it."""
        with self._reload_lock:
            name = indexfiles.current_name(self.index_dir)
            if name is None or name == self.generation:
                return ReloadResult(self.generation, False)
            try:
                new = self._load()
            except Exception as exc:  # a broken generation must not take the service down
                log.error("could not load generation %s of %s (%s: %s); still serving %s", name, self.index_dir,
                          type(exc).__name__, exc, self.generation)
                return ReloadResult(self.generation, False, f"{type(exc).__name__}: {exc}")
            with self._lock:
                old = self._engine
                self._engine = new
                retired: SearchEngine | None = old
                if self._leases.get(id(old)):
                    self._retired[id(old)] = old
                    retired = None
                self.switches += 1
            if retired is not None:
                _close(retired)
            log.info("now serving generation %s of %s", new.index.generation.name, self.index_dir)
            for fn in self.on_switch:
                fn(new)
            return ReloadResult(new.index.generation.name, True)

    def _load(self) -> SearchEngine:
        current = self._engine
        index = LoadedIndex(self.index_dir, faiss_threads=settings().faiss_threads)
        if not _same_models(current, index):  # rebuilt with other models: load its own encoders
            from service.engine import load_engine

            index.close()
            return load_engine(self.index_dir, model=self._model, reranker=current.reranker)
        engine = SearchEngine(index, current.encoders, current.reranker)
        engine.share_query_caches(current)
        return engine

    # -- following the index by itself --------------------------------------------------------------------
    def watch(self, seconds: float | None = None) -> None:
        """Poll ``CURRENT`` every ``seconds`` (default :func:`reload_seconds`; 0: no watcher) in a daemon thread."""
        seconds = reload_seconds() if seconds is None else seconds
        if seconds <= 0 or self._watcher is not None:
            return
        self._stop.clear()

        def run() -> None:
            last = None
            while not self._stop.wait(seconds):
                try:
                    stat = (self.index_dir / indexfiles.CURRENT).stat()
                    mark = (stat.st_mtime_ns, stat.st_ino, stat.st_size)
                except OSError:
                    continue
                if mark != last:
                    last = mark
                    self.reload()

        self._watcher = threading.Thread(target=run, name="parasearch-index-watcher", daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
            self._watcher = None


def _close(engine: SearchEngine) -> None:
    """Close a generation switched from; the memory it held is given back to the system soon after, once the
    last references to it (the caller's, a finished request's) are gone."""
    with contextlib.suppress(Exception):
        engine.index.close()
    release_soon()


RELEASE_DELAY = 2.0  # seconds after a generation is closed or an update ends
_release_lock = threading.Lock()
_release_timer: threading.Timer | None = None


def release_soon(delay: float = RELEASE_DELAY) -> None:
    """Collect garbage and return free memory to the system (:func:`service.memory.release_free_memory`) in
    ``delay`` seconds, in a daemon timer; calls in the meantime share it."""
    global _release_timer
    with _release_lock:
        if _release_timer is not None:
            return
        _release_timer = threading.Timer(delay, _release)
        _release_timer.daemon = True
        _release_timer.start()


def _release() -> None:
    global _release_timer
    with _release_lock:
        _release_timer = None
    gc.collect()
    release_free_memory()


def wait_for_generation(holder: EngineHolder, name: str, timeout: float = 30.0) -> bool:
    """Wait until ``holder`` serves generation ``name`` (tests and tools)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if holder.generation == name:
            return True
        time.sleep(0.05)
    return holder.generation == name


GENERATION_HEADER = "X-Index-Generation"
GENERATION_STATE = "index_generation"  # request.state's name for it, set by service.deps.get_engine


class GenerationHeader:
    """Pure ASGI middleware: every response of a request that used the index names the generation it answered
    from in ``X-Index-Generation`` (errors too: a 404 for a document depends on the generation, and an
    ``HTTPException`` response drops the headers a route set; streamed responses too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_generation(message: Message) -> None:
            if message["type"] == "http.response.start":
                generation = scope.get("state", {}).get(GENERATION_STATE)
                if generation:
                    MutableHeaders(scope=message)[GENERATION_HEADER] = generation
            await send(message)

        await self.app(scope, receive, send_with_generation)
