"""Where ``parasearch eval`` writes by default: a cache directory outside the checkout.

``$PARASEARCH_EVAL_CACHE`` when set, else ``$XDG_CACHE_HOME/parasearch/eval`` (default
``~/.cache/parasearch/eval``; :func:`parasearch.defaults.user_cache_dir`). Under it:

* ``out/<name>/``: an evaluation's results (``--out`` overrides);
* ``beir/<set>-<models>/``: the cached index of a BEIR corpus (``--cache-dir`` overrides);
* ``regression/<file>/``: the results of ``--regression FILE``.
"""

from __future__ import annotations

from pathlib import Path

from parasearch.defaults import user_cache_dir
from parasearch.settings import settings


def cache_root() -> Path:
    """The root of the evaluation's cache (read when called, so that the environment can change it)."""
    return user_cache_dir("eval", settings().eval_cache)


def out_root() -> Path:
    return cache_root() / "out"


def beir_cache() -> Path:
    return cache_root() / "beir"


def regression_root() -> Path:
    return cache_root() / "regression"
