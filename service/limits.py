"""Limits on the answer endpoints (``POST /answer``, ``POST /answer/stream``): a per-client rate and a
server-wide concurrency cap.

An answer costs about sixty searches, so without limits a handful of clients can hold every worker for
minutes. Settings (environment variables, read once per app: when the app is created if it builds
:class:`AnswerLimits` then, else on the first answer request; a test or an embedding app may set
``app.state.answer_limits`` itself):

* ``PARASEARCH_ANSWER_RATE``           answers per minute per client, a token bucket refilled at this rate
                                        (default 60; ``0``: no rate limit)
* ``PARASEARCH_ANSWER_BURST``          answers a client may ask for at once, the bucket's size (default 30)
* ``PARASEARCH_ANSWER_CONCURRENCY``    answers computed at once, server-wide (default 4; ``0``: no cap)
* ``PARASEARCH_ANSWER_QUEUE_SECONDS``  how long a request may wait for one of those slots (default 5)

A request over a limit is refused with **429**, a ``Retry-After`` header (whole seconds) and
``{"detail": reason}`` naming the setting, and counted in ``parasearch_rate_limited_total{route, reason}``
(``reason``: ``rate`` or ``concurrency``). A request refused for concurrency gets its rate token back.

The client is its API key when it sends one (``X-API-Key`` or ``Authorization: Bearer``, as
:mod:`service.auth` reads them) that the key file knows, else its IP address as uvicorn gives it:
the connection's, or ``X-Forwarded-For`` when the connection comes from a proxy uvicorn trusts
(``FORWARDED_ALLOW_IPS``, default ``127.0.0.1``: a reverse proxy on the same machine). Anyone can write the
header, so it counts only from those. A key the server does not know counts as the IP
address, so that made-up keys cannot buy new buckets. The bucket table holds at most ``MAX_CLIENTS``
clients: a bucket that has refilled (idle for ``BURST / RATE`` minutes) is dropped, being the same as a new
one, and past the limit the least recently seen client is dropped.

A slot is held while the answer is computed: for the stream until the stream ends or the client disconnects.
Everything here is thread-safe (one lock per table); waiting for a slot is asynchronous (no worker thread is
held while a request queues).
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from parasearch.settings import default, settings

RATE_ENV = "PARASEARCH_ANSWER_RATE"
BURST_ENV = "PARASEARCH_ANSWER_BURST"
CONCURRENCY_ENV = "PARASEARCH_ANSWER_CONCURRENCY"
QUEUE_ENV = "PARASEARCH_ANSWER_QUEUE_SECONDS"

DEFAULT_RATE: float = default("answer_rate")  # 60 per minute per client
DEFAULT_BURST: int = default("answer_burst")  # 30
# 4: on a 2-core machine an answer uses a core for 100-300 ms, more with a model
DEFAULT_CONCURRENCY: int = default("answer_concurrency")
DEFAULT_QUEUE_SECONDS: float = default("answer_queue_seconds")  # 5 s
MAX_CLIENTS = 10_000


class Refused(Exception):
    """A request over a limit: ``reason`` (``rate``, ``concurrency``), ``detail`` for the client, ``retry_after``
    in whole seconds."""

    def __init__(self, reason: str, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.retry_after = max(1, retry_after)


def client_id(key_name: str | None, host: str | None) -> str:
    """The bucket's name: the name of a known API key, else the address."""
    return f"key:{key_name}" if key_name else f"ip:{host or 'unknown'}"


class RateLimiter:
    """Token buckets, one per client: ``rate`` per minute, at most ``burst`` at once; ``rate`` 0 allows all."""

    def __init__(self, rate: float, burst: int, *, max_clients: int = MAX_CLIENTS) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self.max_clients = max_clients
        self._per_second = rate / 60.0
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (tokens, when)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, client: str, now: float | None = None) -> None:
        """Take one token for ``client``, or raise :class:`Refused`."""
        if not self.enabled:
            return
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, when = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - when) * self._per_second)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                wait = math.ceil((1.0 - tokens) / self._per_second)
                raise Refused("rate", f"too many answers from this client: {RATE_ENV}={self.rate:g} per minute "
                                      f"(burst {BURST_ENV}={self.burst}); retry in {wait} s", wait)
            self._buckets[client] = (tokens - 1.0, now)  # the most recently seen client last
            self._evict(now)

    def give_back(self, client: str) -> None:
        """Return the token of a request refused for another reason."""
        if not self.enabled:
            return
        with self._lock:
            if client in self._buckets:
                tokens, when = self._buckets[client]
                self._buckets[client] = (min(float(self.burst), tokens + 1.0), when)

    def _evict(self, now: float) -> None:
        refill = self.burst / self._per_second  # seconds after which any bucket is full again
        while self._buckets:
            client, (_, when) = next(iter(self._buckets.items()))
            if now - when < refill and len(self._buckets) <= self.max_clients:
                break
            del self._buckets[client]


@dataclass
class _Waiter:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]
    granted: bool = False


@dataclass
class SlotPool:
    """``size`` slots, taken in the order asked for; ``size`` 0: unlimited. ``acquire`` waits asynchronously,
    ``release`` may be called from any thread."""

    size: int
    _free: int = 0
    _waiters: deque[_Waiter] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._free = self.size

    @property
    def in_use(self) -> int:
        return self.size - self._free if self.size else 0

    async def acquire(self, timeout: float) -> bool:
        """A slot (True), or False when none was free within ``timeout`` seconds."""
        if not self.size:
            return True
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._free > 0 and not self._waiters:
                self._free -= 1
                return True
            if timeout <= 0:
                return False
            waiter = _Waiter(loop, loop.create_future())
            self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter.future), timeout)
            return True
        except TimeoutError:
            return self._give_up(waiter)  # True when handed a slot just as the wait ended
        except asyncio.CancelledError:
            if self._give_up(waiter):
                self.release()  # pass on the slot handed to a request that is gone
            raise

    def _give_up(self, waiter: _Waiter) -> bool:
        with self._lock:
            if not waiter.granted:
                self._waiters.remove(waiter)
            return waiter.granted

    def release(self) -> None:
        if not self.size:
            return
        with self._lock:
            while self._waiters:
                waiter = self._waiters.popleft()
                try:
                    waiter.loop.call_soon_threadsafe(_grant, waiter.future)
                except RuntimeError:  # its event loop is closed: nobody waits there any more
                    continue
                waiter.granted = True
                return
            self._free = min(self.size, self._free + 1)


def _grant(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Slot:
    """One answer's slot; :meth:`release` is idempotent and thread-safe."""

    def __init__(self, pool: SlotPool | None) -> None:
        self._pool = pool
        self._held = True
        self._callbacks: list[Callable[[], object]] = []
        self._lock = threading.Lock()

    def on_release(self, callback: Callable[[], object]) -> None:
        self._callbacks.append(callback)

    def release(self) -> None:
        with self._lock:
            held, self._held = self._held, False
        if not held:
            return
        if self._pool is not None:
            self._pool.release()
        for callback in self._callbacks:
            callback()

    @property
    def held(self) -> bool:
        return self._held


class AnswerLimits:
    """The answer endpoints' limits for one app (see the module docstring)."""

    def __init__(self, rate: float = DEFAULT_RATE, burst: int = DEFAULT_BURST,
                 concurrency: int = DEFAULT_CONCURRENCY, queue_seconds: float = DEFAULT_QUEUE_SECONDS, *,
                 max_clients: int = MAX_CLIENTS) -> None:
        self.rate = RateLimiter(max(0.0, rate), burst, max_clients=max_clients)
        self.concurrency = max(0, concurrency)
        self.queue_seconds = max(0.0, queue_seconds)
        self.slots = SlotPool(self.concurrency)

    @classmethod
    def from_env(cls) -> AnswerLimits:
        s = settings()
        return cls(rate=s.answer_rate, burst=s.answer_burst, concurrency=s.answer_concurrency,
                   queue_seconds=s.answer_queue_seconds)

    async def admit(self, client: str) -> Slot:
        """A slot for one answer by ``client``, or :class:`Refused`."""
        self.rate.take(client)
        if not await self.slots.acquire(self.queue_seconds):
            self.rate.give_back(client)
            wait = math.ceil(self.queue_seconds) or 1
            raise Refused("concurrency", f"the server is computing as many answers as it may at once "
                                         f"({CONCURRENCY_ENV}={self.concurrency}) and none finished within "
                                         f"{QUEUE_ENV}={self.queue_seconds:g} s; retry in {wait} s", wait)
        return Slot(self.slots if self.concurrency else None)


_init_lock = threading.Lock()


def limits_of(state: object) -> AnswerLimits:
    """The app's limits (``app.state.answer_limits``), made from the environment the first time."""
    limits: AnswerLimits | None = getattr(state, "answer_limits", None)
    if limits is None:
        with _init_lock:
            limits = getattr(state, "answer_limits", None)
            if limits is None:
                limits = AnswerLimits.from_env()
                setattr(state, "answer_limits", limits)  # noqa: B010 (any object: the app's state)
    return limits


__all__ = ["AnswerLimits", "Refused", "Slot", "client_id", "limits_of"]
