"""Incremental updates killed at random points: ``python -m bench.crash --index DIR``.

``parasearch serve`` runs over ``DIR`` (following its index) while ``--trials`` times an update
(``parasearch index FILE --add``, or ``parasearch remove``, in turn) is started as its own process and killed
with SIGKILL at a random moment of its run (uniform over the time one takes, measured first). After each kill:

* the server still answers (``/health``, a search) from a generation that was published whole: the one the index
  names as current (the killed update's own, when it had published before it died);
* what it serves agrees with that generation (the document is there exactly when the generation holds it);
* the next update, run to its end, succeeds, the server switches to it, and no ``gen-*.tmp`` debris remains.

It prints each trial and a JSON summary with the machine it ran on. The index ends as it began (the document
removed) when the number of trials is even.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx

from bench.common import SHARED, load_avg, log, machine, percentiles
from bench.http import parasearch_server
from indexer.readers import read_document
from parasearch import indexfiles
from parasearch.config import REPO_ROOT, offline

DEFAULT_DOCUMENT = SHARED / "corpus" / "sc" / "fr" / "SC_2563_2021-F.xml"


def update_cmd(index: Path, document: Path, symbol: str, add: bool) -> list[str]:
    cli = [sys.executable, "-m", "parasearch.cli"]
    if add:
        return [*cli, "index", str(document), "--index", str(index), "--add"]
    return [*cli, "remove", symbol, "--language", "fr", "--index", str(index)]


def run_update(cmd: list[str]) -> tuple[int, float, str]:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
    return p.returncode, time.perf_counter() - t0, (p.stderr or p.stdout)[-500:]


def debris(index: Path) -> list[str]:
    return sorted(p.name for p in index.glob("gen-*.tmp"))


def served(base: str, symbol: str, current: str, timeout: float = 15.0) -> dict:
    """What the server answers once it has had time to follow ``current``: its generation, whether it holds the
    document, and whether a search works."""
    deadline = time.monotonic() + timeout
    while True:
        health = httpx.get(base + "/health", timeout=30)
        if health.json().get("generation") == current or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    doc = httpx.get(f"{base}/documents/{quote(symbol, safe='/ ()')}", params={"language": "fr"}, timeout=30)
    search = httpx.get(base + "/search", params={"q": "sanctions", "k": 3}, timeout=30)
    return {"health": health.status_code, "generation": health.json().get("generation"),
            "holds": doc.status_code == 200, "doc_status": doc.status_code, "search": search.status_code,
            "doc_generation": doc.headers.get("x-index-generation")}


def holds(index: Path, generation: str, symbol: str) -> bool:
    """Whether ``generation`` holds the French version of ``symbol`` (read from its own files)."""
    import sqlite3

    with sqlite3.connect(f"file:{index / generation / 'store.sqlite'}?mode=ro", uri=True) as db:
        return db.execute("SELECT 1 FROM documents WHERE symbol = ? AND language = 'fr'",
                          (symbol,)).fetchone() is not None


def main(argv: list[str] | None = None) -> int:
    offline()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, required=True, help="an index directory (it gets new generations)")
    ap.add_argument("--document", type=Path, default=DEFAULT_DOCUMENT, help="a document the index does not hold")
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    symbol = read_document(args.document, {"language": "fr"}).doc.symbol
    index = args.index.resolve()
    out: dict = {"machine": machine(), "load_avg_start": load_avg(), "index": str(index), "document": symbol}
    trials: list[dict] = []
    bad = 0
    with parasearch_server(index, None, sys.executable) as server:
        base = server.base
        present = holds(index, indexfiles.current_name(index), symbol)
        span: dict[bool, float] = {}  # how long an add (True) and a removal (False) take, run to their end
        for _ in range(2):
            rc, span[not present], err = run_update(update_cmd(index, args.document, symbol, add=not present))
            if rc != 0:
                raise SystemExit(f"an update failed before any kill: {err}")
            present = not present
        out["update_s"] = {"add": round(span[True], 2), "remove": round(span[False], 2)}
        log(f"an add takes {span[True]:.1f} s, a removal {span[False]:.1f} s: each trial kills at a random point")
        for t in range(args.trials):
            before = indexfiles.current_name(index)
            cmd = update_cmd(index, args.document, symbol, add=not present)
            at = rng.uniform(0.02, 1.0) * span[not present]
            proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(at)
            finished = proc.poll() is not None
            if not finished:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            current = indexfiles.current_name(index)
            published = current != before
            left = debris(index)
            now = served(base, symbol, current)
            expect = holds(index, current, symbol)
            ok_after_kill = (now["health"] == 200 and now["search"] == 200 and now["generation"] == current
                             and now["holds"] == expect and now["doc_generation"] == current)
            present = expect
            # the next update, to its end
            rc, next_s, err = run_update(update_cmd(index, args.document, symbol, add=not present))
            after = indexfiles.current_name(index)
            then = served(base, symbol, after)
            ok_next = (rc == 0 and after != current and then["generation"] == after
                       and then["holds"] == (not present) and not debris(index))
            present = not present if rc == 0 else present
            ok = ok_after_kill and ok_next
            bad += not ok
            trials.append({"trial": t + 1, "op": "remove" if cmd[3] == "remove" else "add",
                           "kill_at_s": round(at, 2), "exited_before_kill": finished,
                           "published_before_kill": published, "debris_after_kill": len(left),
                           "served_after_kill": now["generation"] == current, "consistent": now["holds"] == expect,
                           "next_rc": rc, "next_s": round(next_s, 2), "next_switched": then["generation"] == after,
                           "debris_after_next": len(debris(index)), "ok": ok, **({"error": err} if rc else {})})
            log(f"trial {t + 1}: killed at {at:.1f} s ({'had published' if published else 'unpublished'}, "
                f"{len(left)} debris); served {now['generation'] == current}; next update rc {rc} in "
                f"{next_s:.1f} s -> {'OK' if ok else 'FAILED'}")
        out["memory_end"] = server.memory()
    out.update({"trials": trials, "failed_trials": bad,
                "killed_unpublished": sum(not x["published_before_kill"] and not x["exited_before_kill"]
                                          for x in trials),
                "killed_after_publishing": sum(x["published_before_kill"] and not x["exited_before_kill"]
                                               for x in trials),
                "exited_before_kill": sum(x["exited_before_kill"] for x in trials),
                "with_debris_after_kill": sum(x["debris_after_kill"] > 0 for x in trials),
                "next_update_s": percentiles([x["next_s"] * 1000 for x in trials]),
                "load_avg_end": load_avg()})
    text = json.dumps(out, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text)
    log(f"{args.trials - bad}/{args.trials} trials OK")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
