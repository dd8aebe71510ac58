"""Giving freed memory back to the system, so that a long-running server's resident size stays flat.

A generation switch frees a whole index (hundreds of MB of vectors, BM25 matrices, arrays) and an update through
the admin API allocates as much for a few seconds. glibc's allocator keeps what such work freed in the arena of
the thread that freed it, and with one arena per thread (up to 8 per core) a server running requests, updates and
reloads on many threads grows by the sum of their high-water marks: in a 10-minute load test with 20 live
updates, from 2.0 GB to 2.7 GB (median of the second and last minutes). Two remedies, both no-ops off glibc:

* :func:`limit_arenas`: at most ``PARASEARCH_MALLOC_ARENAS`` arenas (default 2; ``0`` leaves glibc's default),
  set once when ``parasearch serve`` starts;
* :func:`release_free_memory`: ``malloc_trim(0)`` after a generation is closed and after an update.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

from parasearch.settings import settings

log = logging.getLogger("parasearch")

ARENAS_ENV = "PARASEARCH_MALLOC_ARENAS"
DEFAULT_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None  # glibc only


_LIBC = _libc()


def limit_arenas(n: int | None = None) -> bool:
    """Allow at most ``n`` malloc arenas (default: ``PARASEARCH_MALLOC_ARENAS``, else 2); True when set."""
    if n is None:
        n = settings().malloc_arenas
    if _LIBC is None or n <= 0:
        return False
    return bool(_LIBC.mallopt(_M_ARENA_MAX, int(n)))


def release_free_memory() -> None:
    """Return the allocator's free memory to the system (``malloc_trim(0)``); a no-op off glibc."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
