"""HTTP load: a server started as a subprocess on a loopback port, and a bounded async load generator."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.common import load_avg, log, percentiles

HOST = "127.0.0.1"  # loopback only


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> dict:
    """Resident memory of a process now and at its peak (VmRSS, VmHWM), in MiB."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                out["rss_mb" if key == "VmRSS" else "peak_rss_mb"] = round(int(value.split()[0]) / 1024, 1)
    except OSError:
        pass
    return out


@dataclass
class Server:
    """A server process; stopped (terminate, then kill) when the ``with`` block ends."""

    name: str
    cmd: list[str]
    env: dict[str, str]
    health_path: str
    port: int
    cwd: Path | None = None
    ready_timeout: float = 600.0
    proc: subprocess.Popen | None = None
    started_s: float = 0.0
    log_path: Path | None = None
    _log: object = field(default=None, repr=False)

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> Server:
        self.log_path = Path(f"/tmp/parasearch-bench-{self.name}-{self.port}.log")
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in __exit__
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(self.cmd, env=self.env, cwd=self.cwd, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = t0 + self.ready_timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} server exited ({self.proc.returncode}); see {self.log_path}:\n"
                                   + self.log_path.read_text()[-3000:])
            try:
                r = httpx.get(self.base + self.health_path, timeout=2.0)
                if r.status_code == 200:
                    self.started_s = time.perf_counter() - t0
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.__exit__(None, None, None)
        raise RuntimeError(f"{self.name} server not ready after {self.ready_timeout}s; see {self.log_path}")

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        if self._log is not None:
            self._log.close()

    def memory(self) -> dict:
        return rss_mb(self.proc.pid) if self.proc is not None else {}


async def _load(url: str, params: list[dict], concurrency: int, max_seconds: float) -> dict:
    lat: list[float] = []
    errors: dict[str, int] = {}
    it = iter(params)
    deadline = time.perf_counter() + max_seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(timeout=60.0, limits=limits) as client:
        async def worker() -> None:
            for p in it:
                if time.perf_counter() > deadline:
                    return
                t0 = time.perf_counter()
                try:
                    r = await client.get(url, params=p)
                    ok = r.status_code == 200
                    if not ok:
                        errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
                except httpx.HTTPError as exc:
                    ok = False
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                if ok:
                    lat.append((time.perf_counter() - t0) * 1000)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    res = {"concurrency": concurrency, "completed": len(lat), "errors": sum(errors.values()),
           "error_kinds": errors, "seconds": round(elapsed, 2),
           "req_per_s": round(len(lat) / elapsed, 2) if elapsed else 0.0, "load_avg": load_avg()[0]}
    res.update({f"latency_{k}": v for k, v in percentiles(lat).items() if k != "n"})
    return res


def load_test(server: Server, path: str, make_params, queries: list[str], levels: list[int], *,
              requests_per_level: int, max_seconds: float, warmup: int = 10) -> dict:
    """Requests/s and latency at each concurrency; each level sends its own distinct queries (no cache hits)."""
    url = server.base + path
    for q in queries[:warmup]:
        httpx.get(url, params=make_params(q), timeout=60.0)
    out: dict = {"levels": {}}
    pool = queries[warmup:] or queries
    start = 0
    for c in levels:
        n = max(requests_per_level, 4 * c)
        chunk = [make_params(pool[(start + i) % len(pool)]) for i in range(n)]
        start += n
        res = asyncio.run(_load(url, chunk, c, max_seconds))
        out["levels"][str(c)] = res
        log(f"http {server.name} c={c}: {res['req_per_s']} req/s, p50 {res.get('latency_p50')} ms, "
            f"p99 {res.get('latency_p99')} ms, errors {res['errors']}")
    out["memory"] = server.memory()
    out["started_s"] = round(server.started_s, 1)
    out["distinct_queries_needed"] = start + warmup
    out["distinct_queries_available"] = len(queries)
    return out


def parasearch_server(index_dir: Path, backend: str | None, python: str, port: int | None = None) -> Server:
    env = {**os.environ, "PARASEARCH_FAISS_THREADS": os.environ.get("PARASEARCH_FAISS_THREADS", "1")}
    if backend:
        env["PARASEARCH_ENCODER"] = backend
    port = port or free_port()
    cmd = [python, "-m", "parasearch.cli", "serve", "--index", str(index_dir), "--host", HOST, "--port", str(port),
           "--log-level", "warning"]
    return Server("parasearch", cmd, env, "/health", port)
