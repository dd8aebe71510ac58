"""The benchmark in one command: ``python -m bench.run --index DIR``.

Prints a report and writes it as JSON and Markdown (``--out``, default
``bench/out/``: ``report-<time>.json|md`` and ``latest.json|md``). Sections,
in the order they run (``--skip`` any of them):

``encoders``  paragraphs/s of each encoder backend on the same N paragraphs of the index, cosine to torch
``rebuild``   ``parasearch index`` of a corpus folder, cold then unchanged (warm embedding cache)
``quality``   nDCG@10 per backend: SciFact (dense) and the dev questions over the index (dense, hybrid)
``queries``   in-process latency of dense, bm25 and hybrid search, and of their parts
``http``      ``parasearch serve`` and txtai's API at concurrency 1, 8, 32; service memory
``scale``     a synthetic 1M-vector index: exact and approximate FAISS, latency and recall@10

The machine is shared while developing: ``--quick`` runs every section small.
Wall-clock figures are only as good as the machine is quiet; the report records
the load average beside each figure, and CPU seconds per paragraph for encoders.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench.common import SHARED, log, machine, query_set
from parasearch.config import REPO_ROOT, offline

SECTIONS = ("encoders", "rebuild", "quality", "queries", "http", "scale")
TARGETS = {
    "encoder_speedup": 2.0,  # project encoder vs plain sentence-transformers, paragraphs/s
    "quality_drop": 0.005,  # largest nDCG@10 drop allowed vs torch
    "hybrid_p50_ms": 15.0,
    "hybrid_p95_ms": 30.0,
    "http_c8_vs_txtai": 1.5,
    "http_c8_p99_ms": 200.0,
    "service_rss_mb": 1536.0,
    "ann_p50_ms": 20.0,
    "ann_recall": 0.95,
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--index", type=Path, required=True, help="a parasearch index directory")
    p.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "out", help="where the report is written")
    p.add_argument("--skip", default="", help=f"comma-separated sections to skip: {','.join(SECTIONS)}")
    p.add_argument("--only", default="", help="comma-separated sections to run (default all)")
    p.add_argument("--quick", action="store_true", help="small sizes everywhere (a few minutes; for development)")
    p.add_argument("--backends", default="torch,onnx,onnx-int8",
                   help="encoders compared: a backend (the default model) or MODEL:BACKEND, e.g. "
                        "torch,onnx,multilingual-e5-small:onnx,multilingual-e5-small:onnx-int8")
    p.add_argument("--query-encoder", default=None,
                   help="backend that encodes queries in the service (default: the model's, as the service chooses)")
    p.add_argument("--n-embed", type=int, default=2000, help="paragraphs embedded per backend")
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds per backend (best counts)")
    p.add_argument("--encoder-threads", type=int, default=None,
                   help="threads of every encoder backend in the encoders and quality sections "
                        "(default: all usable cores)")
    p.add_argument("--rebuild-corpus", type=Path, default=SHARED / "corpus" / "sc" / "en")
    p.add_argument("--rebuild-files", type=int, default=60, help="first N files of the corpus (0: all)")
    p.add_argument("--quality-backends", default=None, help="default: --backends")
    p.add_argument("--no-dev-quality", action="store_true", help="SciFact only (the dev part re-embeds the index)")
    p.add_argument("--queries", type=int, default=300, help="in-process queries (dev questions + generated)")
    p.add_argument("--http-levels", default="1,8,32")
    p.add_argument("--http-requests", type=int, default=300, help="requests per concurrency level")
    p.add_argument("--http-seconds", type=float, default=90.0, help="time bound per level")
    p.add_argument("--no-txtai", action="store_true")
    p.add_argument("--txtai-threads", type=int, default=None,
                   help="OMP/PyTorch threads of the txtai server (default: PyTorch's own, all cores)")
    p.add_argument("--scale-n", type=int, default=1_000_000)
    p.add_argument("--scale-sigma", type=float, default=0.02)
    p.add_argument("--scale-queries", type=int, default=200)
    p.add_argument("--scale-kinds", default="flat,hnsw,ivf_flat,ivf_pq",
                   help="index types of the scale test (flat, the ground truth, always runs)")
    p.add_argument("--hnsw-m", type=int, default=32)
    p.add_argument("--hnsw-ef-construction", type=int, default=64)
    args = p.parse_args(argv)
    if args.quick:
        args.n_embed = min(args.n_embed, 300)
        args.rounds = 1
        args.rebuild_files = min(args.rebuild_files or 10, 10)
        args.queries = min(args.queries, 120)
        args.http_requests = min(args.http_requests, 60)
        args.http_seconds = min(args.http_seconds, 30)
        args.scale_n = min(args.scale_n, 100_000)
        args.scale_queries = min(args.scale_queries, 100)
        args.no_dev_quality = True
    return args


def main(argv: list[str] | None = None) -> int:
    offline()
    args = parse_args(argv)
    from indexer.embed import DEFAULT_BACKEND, MODEL_BACKENDS
    from parasearch import indexfiles

    index = args.index.resolve()
    manifest = indexfiles.read_manifest(index)
    wanted = [s for s in (args.only.split(",") if args.only else SECTIONS) if s and s not in args.skip.split(",")]
    backends = [b for b in args.backends.split(",") if b]
    qbackend = args.query_encoder or MODEL_BACKENDS.get(manifest["model"]["name"], DEFAULT_BACKEND)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    report: dict = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "command": " ".join([sys.executable, "-m", "bench.run",
                                                                          *(argv or sys.argv[1:])]),
        "machine": machine(), "index": {"dir": str(index), "counts": manifest["counts"],
                                        "index_type": manifest["index_type"], "model": manifest["model"]},
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "query_encoder": qbackend, "sections": {}, "errors": {},
    }

    def save() -> None:
        for name in (f"report-{stamp}", "latest"):
            (args.out / f"{name}.json").write_text(json.dumps(report, indent=1))
            (args.out / f"{name}.md").write_text(render(report))

    needs_queries = {"queries", "http", "scale"} & set(wanted)
    n_http = sum(max(args.http_requests, 4 * int(c)) for c in args.http_levels.split(",")) + 10
    queries, n_dev = query_set(index, max(args.queries, n_http)) if needs_queries else ([], 0)
    report["query_set"] = {"total": len(queries), "dev_questions": n_dev, "generated": len(queries) - n_dev}

    for section in wanted:
        log(f"section {section}")
        t0 = time.perf_counter()
        try:
            report["sections"][section] = run_section(section, args, index, manifest, backends, qbackend, queries)
        except Exception as exc:  # noqa: BLE001 - one failing section must not lose the others
            report["errors"][section] = f"{type(exc).__name__}: {exc}"
            log(f"section {section} failed: {exc}\n{traceback.format_exc()}")
        report.setdefault("section_seconds", {})[section] = round(time.perf_counter() - t0, 1)
        save()
    report["verdicts"] = verdicts(report)
    report["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    save()
    print(render(report))
    log(f"report written to {args.out / f'report-{stamp}.md'} and .json (and latest.md/json)")
    return 0


def run_section(section: str, args, index: Path, manifest: dict, backends: list[str], qbackend: str,
                queries: list[str]) -> dict:
    if section == "encoders":
        from bench.encoders import encoder_throughput

        return encoder_throughput(index, args.n_embed, backends, rounds=args.rounds, threads=args.encoder_threads)
    if section == "rebuild":
        from bench.encoders import rebuild

        return rebuild(args.rebuild_corpus, args.rebuild_files or None, qbackend)
    if section == "quality":
        from bench import quality
        from bench.common import encoder_threads

        qb = [b for b in (args.quality_backends or ",".join(backends)).split(",") if b]
        with encoder_threads(args.encoder_threads):
            out = {"scifact": quality.scifact(qb)}
            if not args.no_dev_quality:
                out["dev"] = quality.dev(index, qb)
        return out
    if section == "queries":
        from bench.queries import in_process

        return in_process(index, queries[: args.queries], qbackend)
    if section == "http":
        return http_section(args, index, manifest, qbackend, queries)
    if section == "scale":
        return scale_section(args, index, qbackend, queries)
    raise ValueError(f"unknown section {section}")


def http_section(args, index: Path, manifest: dict, qbackend: str, queries: list[str]) -> dict:
    from bench.http import Server, free_port, load_test, parasearch_server

    levels = [int(c) for c in args.http_levels.split(",") if c]
    kw = {"requests_per_level": args.http_requests, "max_seconds": args.http_seconds}
    out: dict = {}
    with parasearch_server(index, qbackend, sys.executable) as srv:
        idle = srv.memory()
        res = load_test(srv, "/search", lambda q: {"q": q, "k": 10}, queries, levels, **kw)
        res["memory_idle"] = idle
        out["parasearch"] = res
    para = manifest["counts"]["paragraphs"]
    rss = out["parasearch"]["memory"].get("rss_mb")
    if rss:
        out["parasearch"]["bytes_per_paragraph"] = round(rss * 2**20 / para)
    if not args.no_txtai:
        try:
            import txtai  # noqa: F401
        except ImportError:
            out["txtai"] = {"skipped": "txtai not installed (pip install -e '.[bench]')"}
            return out
        tmp = Path(tempfile.mkdtemp(prefix="parasearch-bench-txtai-"))
        try:
            log("http: building the txtai index")
            proc = subprocess.run([sys.executable, "-m", "bench.txtai_app", "build", str(index), str(tmp / "index")],
                                  capture_output=True, text=True, cwd=REPO_ROOT)
            if proc.returncode != 0:
                raise RuntimeError(f"txtai build failed: {proc.stderr[-2000:]}")
            build = json.loads(proc.stdout.strip().splitlines()[-1])
            port = free_port()
            cmd = [sys.executable, "-m", "uvicorn", "txtai.api:app", "--host", "127.0.0.1", "--port", str(port),
                   "--log-level", "warning"]
            import os

            env = {**os.environ, "CONFIG": str(tmp / "txtai-api.yml")}
            if args.txtai_threads:
                env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(args.txtai_threads)
            with Server("txtai", cmd, env, "/count", port, cwd=tmp) as srv:
                idle = srv.memory()
                res = load_test(srv, "/search", lambda q: {"query": q, "limit": 10}, queries, levels, **kw)
                res["memory_idle"] = idle
                res["build"] = build
                res["threads"] = args.txtai_threads or "PyTorch default"
                out["txtai"] = res
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        c8p = out["parasearch"]["levels"].get("8", {}).get("req_per_s")
        c8t = out["txtai"]["levels"].get("8", {}).get("req_per_s")
        if c8p and c8t:
            out["c8_ratio_vs_txtai"] = round(c8p / c8t, 2)
    return out


def scale_section(args, index: Path, qbackend: str, queries: list[str]) -> dict:
    import faiss

    from bench.scale import scale_test
    from indexer.embed import load_encoder
    from parasearch import indexfiles

    gen = indexfiles.current_generation(index)
    ix = faiss.read_index(str(gen / indexfiles.VECTORS))
    base = ix.reconstruct_n(0, ix.ntotal)
    del ix
    enc = load_encoder(backend=qbackend)
    qv = enc.encode(queries[: args.scale_queries], batch_size=64)
    del enc
    return scale_test(base, qv, n=args.scale_n, sigma=args.scale_sigma, hnsw_m=args.hnsw_m,
                      hnsw_ef_construction=args.hnsw_ef_construction,
                      kinds=tuple(k for k in args.scale_kinds.split(",") if k))


# -- verdicts and the Markdown report ----------------------------------------------------------------
def verdicts(report: dict) -> list[dict]:
    s = report["sections"]
    out: list[dict] = []

    def add(name: str, value, target: str, ok: bool | None) -> None:
        out.append({"check": name, "value": value, "target": target,
                    "result": "n/a" if ok is None else ("PASS" if ok else "MISS")})

    enc = s.get("encoders")
    if enc:
        d = enc["backends"].get(enc["default_backend"], {})
        add(f"encoder speedup ({enc['default_backend']} vs torch, wall)", d.get("speedup_wall"),
            f">= {TARGETS['encoder_speedup']}x",
            None if d.get("speedup_wall") is None else d["speedup_wall"] >= TARGETS["encoder_speedup"])
    q = s.get("quality")
    if q:
        for part in ("scifact", "dev"):
            ref = q.get(part, {}).get("reference")
            for b, row in q.get(part, {}).get("backends", {}).items():
                for m, dv in row.get("delta", {}).items():
                    add(f"nDCG@10 change {part} {m} ({b} vs {ref})", dv, f">= -{TARGETS['quality_drop']}",
                        dv >= -TARGETS["quality_drop"])
    qs = s.get("queries")
    if qs and "hybrid" in qs["modes"]:
        h = qs["modes"]["hybrid"]
        for pct in ("p50", "p95"):
            limit = TARGETS[f"hybrid_{pct}_ms"]
            add(f"in-process hybrid {pct} ms", h[pct], f"<= {limit}", h[pct] <= limit)
    http = s.get("http")
    if http:
        lv = http["parasearch"]["levels"].get("8", {})
        if "c8_ratio_vs_txtai" in http:
            add("HTTP c=8 req/s vs txtai", http["c8_ratio_vs_txtai"], f">= {TARGETS['http_c8_vs_txtai']}x",
                http["c8_ratio_vs_txtai"] >= TARGETS["http_c8_vs_txtai"])
        if lv:
            add("HTTP c=8 p99 ms", lv.get("latency_p99"), f"<= {TARGETS['http_c8_p99_ms']}",
                lv.get("latency_p99") is not None and lv["latency_p99"] <= TARGETS["http_c8_p99_ms"])
            errs = sum(x["errors"] for x in http["parasearch"]["levels"].values())
            add("HTTP errors (all levels)", errs, "0", errs == 0)
        rss = http["parasearch"].get("memory", {}).get("rss_mb")
        add("service RSS MiB (after load)", rss, f"<= {TARGETS['service_rss_mb']:.0f}",
            None if rss is None else rss <= TARGETS["service_rss_mb"])
    sc = s.get("scale")
    if sc:
        best = sc.get("best")
        add(f"ANN at {sc['n']:,} vectors: fastest with recall@10 >= {TARGETS['ann_recall']}",
            None if not best else f"{best['index']} {best['setting']}: p50 {best['p50_ms']} ms, "
                                  f"recall {best['recall_at_10']}",
            f"p50 <= {TARGETS['ann_p50_ms']} ms", None if not best else best["meets_targets"])
    return out


def _table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def render(report: dict) -> str:
    m = report["machine"]
    s = report["sections"]
    ix = report["index"]
    md = [f"# parasearch benchmark, {report['started']}", "",
          f"Machine: {m.get('cpu', '?')}, {m.get('cores_usable')} usable cores, {m.get('memory_gb')} GB, "
          f"{m.get('simd', '?')} (FAISS built for: {m.get('faiss_simd', '?')}), memory copy "
          f"{m.get('memory_copy_gb_s', '?')} GB/s; load average at start {m.get('load_avg')}; "
          f"Python {m.get('python')}.",
          f"Versions: {', '.join(f'{k} {v}' for k, v in m.get('versions', {}).items() if v)}.",
          f"Index: `{ix['dir']}`: {ix['counts']['documents']} documents, {ix['counts']['paragraphs']} paragraphs, "
          f"{ix['counts']['vectors']} vectors, {ix['index_type']}, built with {ix['model'].get('backend', 'torch')}. "
          f"Query encoder: {report['query_encoder']}.",
          f"Command: `{report['command']}`", ""]
    if report.get("verdicts"):
        rows = [[v["check"], v["value"], v["target"], v["result"]] for v in report["verdicts"]]
        md += ["## Targets", "", _table(["check", "value", "target", "result"], rows), ""]
    if "encoders" in s:
        e = s["encoders"]
        md += ["## Indexing: embedding throughput", "",
               f"{e['paragraphs']} paragraphs of the index ({e['windows']} windows, {e['word_pieces']} word pieces), "
               f"best of {e['rounds']} interleaved rounds; threads {e.get('threads')}; "
               f"default backend: {e['default_backend']}.", "",
               _table(["encoder", "paragraphs/s", "speedup (wall)", "CPU ms/paragraph", "speedup (CPU)",
                       "query ms p50", "cosine vs torch mean / min", "load s"],
                      [[b, r["paragraphs_per_s"], r.get("speedup_wall"), r["cpu_ms_per_paragraph"],
                        r.get("speedup_cpu"), r.get("query_ms_p50"),
                        f"{r['cosine_vs_torch']['mean']} / {r['cosine_vs_torch']['min']}"
                        if "cosine_vs_torch" in r else "", r["load_s"]] for b, r in e["backends"].items()]), ""]
    if "rebuild" in s:
        r = s["rebuild"]
        md += ["## Indexing: rebuild with a warm cache", "",
               f"`parasearch index` of the first {r['files']} files of `{r['corpus']}` ({r['backend']}), "
               f"fresh index and cache, then again unchanged.", "",
               _table(["build", "wall s", "paragraphs", "embedded now", "stages s"],
                      [[k, r[k]["wall_s"], r[k].get("paragraphs"), r[k].get("embedded_now"), r[k].get("stages_s")]
                       for k in ("cold", "warm")]),
               "", f"Warm / cold: {r['warm_over_cold']}", ""]
    if "quality" in s:
        q = s["quality"]
        md += ["## Retrieval quality per encoder backend", ""]
        for part, label in (("scifact", "SciFact test, dense only"), ("dev", "dev questions over the index")):
            if part not in q:
                continue
            if "skipped" in q[part]:
                md += [f"{label}: skipped ({q[part]['skipped']})", ""]
                continue
            rows = [[b, *[v for k, v in r.items() if k != "delta"],
                     json.dumps(r.get("delta", {}))] for b, r in q[part]["backends"].items()]
            metrics = [k for k in next(iter(q[part]["backends"].values())) if k != "delta"]
            extra = ""
            if part == "dev":
                extra = f" ({q[part].get('questions')} of {q[part].get('questions_all')} questions)"
            heads = ["backend", *metrics, f"change vs {q[part].get('reference')}"]
            md += [f"{label}{extra}:", "", _table(heads, rows), ""]
    if "queries" in s:
        qs = s["queries"]
        md += ["## Queries in-process", "",
               f"{qs['queries']} queries, k={qs['k']}, query embedding cache emptied before each; encoder "
               f"{qs['encoder_backend']}; index {qs['index']}. Load average {qs['load_avg_start']} -> "
               f"{qs['load_avg_end']}.", "",
               _table(["mode / part", "p50 ms", "p95 ms", "p99 ms", "mean ms", "CPU ms/query"],
                      [[k, v["p50"], v["p95"], v["p99"], v["mean"], v.get("cpu_ms_per_query")] for k, v in
                       list(qs["modes"].items()) + [(f"part: {k}", v) for k, v in qs["parts"].items()]]), ""]
    if "http" in s:
        h = s["http"]
        rows = []
        for name in ("parasearch", "txtai"):
            if name in h and "levels" in h[name]:
                for c, r in h[name]["levels"].items():
                    rows.append([name, c, r["completed"], r["errors"], r["req_per_s"], r.get("latency_p50"),
                                 r.get("latency_p95"), r.get("latency_p99"), r["load_avg"]])
        md += ["## HTTP", "", "parasearch: `GET /search?q=...&k=10` (hybrid, snippets); txtai: `GET /search?query=..."
               "&limit=10` (dense, content). Distinct queries per level; one uvicorn worker each.", "",
               _table(["server", "concurrency", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms",
                       "load"], rows), ""]
        if "c8_ratio_vs_txtai" in h:
            md += [f"parasearch / txtai req/s at concurrency 8: {h['c8_ratio_vs_txtai']}", ""]
        if "txtai" in h and "build" in h["txtai"]:
            md += [f"txtai index: {h['txtai']['build']}; txtai threads: {h['txtai'].get('threads')}", ""]
        mem_rows = [[n, h[n].get("memory_idle", {}).get("rss_mb"), h[n].get("memory", {}).get("rss_mb"),
                     h[n].get("memory", {}).get("peak_rss_mb")] for n in ("parasearch", "txtai")
                    if n in h and "memory" in h[n]]
        md += ["Memory (resident, MiB):", "", _table(["server", "idle", "after load", "peak"], mem_rows), ""]
        if "bytes_per_paragraph" in h["parasearch"]:
            md += [f"parasearch: {h['parasearch']['bytes_per_paragraph']} bytes of RSS per paragraph "
                   f"(whole process: model, index, store metadata, Python).", ""]
    if "scale" in s:
        sc = s["scale"]
        rows = []
        for kind, info in sc["indexes"].items():
            if "sweep" in info:
                for setting, r in info["sweep"].items():
                    rows.append([kind, info["params"], setting, info["build_s"], info["memory_mb_estimate"],
                                 r["p50_ms"], r["p95_ms"], r["recall_at_10"]])
            else:
                rows.append([kind, info["params"], "", info["build_s"], info["memory_mb_estimate"], info["p50_ms"],
                             info["p95_ms"], info["recall_at_10"]])
        md += [f"## Scale: {sc['n']:,} synthetic vectors", "",
               f"{sc['base_vectors']} real vectors replicated with Gaussian noise (sigma {sc['sigma']}), renormalised; "
               f"{sc['queries']} real queries; one query per call on {sc['search_threads']} FAISS thread; builds on "
               f"{sc['build_threads']} threads. Load average {sc['load_avg_start']} -> {sc['load_avg_end']}.", "",
               _table(["index", "parameters", "search setting", "build s", "memory MiB (est.)", "p50 ms", "p95 ms",
                       "recall@10"], rows), "", f"Best approximate: {sc.get('best')}", ""]
    if report.get("errors"):
        md += ["## Errors", ""] + [f"- {k}: {v}" for k, v in report["errors"].items()] + [""]
    md += [f"Section times (s): {report.get('section_seconds')}", ""]
    return "\n".join(md)


if __name__ == "__main__":
    sys.exit(main())
