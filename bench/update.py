"""Incremental update cost on a real index: ``python -m bench.update --index DIR``.

Adds, replaces and removes one document with the index's encoders loaded once (as the server's admin API does),
``--rounds`` times each, and prints each step's seconds and the machine it ran on. The index directory gets new
generations (kept as ``PARASEARCH_KEEP_GENERATIONS`` says); the last round leaves the documents as they were.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bench.common import load_avg, machine, percentiles
from indexer.build import BuildReport, _parse_all
from indexer.update import index_encoders, update_index
from parasearch import indexfiles
from parasearch.config import offline

SHARED = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def main(argv: list[str] | None = None) -> int:
    offline()
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--new", type=Path, default=SHARED / "sc" / "fr" / "S_RES_2672_F.xml",
                    help="a document the index does not hold (added, then removed)")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    manifest = indexfiles.read_manifest(args.index)
    t0 = time.perf_counter()
    encoders = index_encoders(manifest)
    load_s = time.perf_counter() - t0
    docs = _parse_all([args.new], BuildReport(index_dir=args.index), progress=False)
    doc = docs[0][0].doc
    out: dict = {"machine": machine(), "load_avg_start": load_avg(), "index": str(args.index),
                 "paragraphs": manifest["counts"]["paragraphs"], "document": f"{doc.symbol} ({doc.language})",
                 "document_paragraphs": len(docs[0][0].paragraphs), "encoder_load_s": round(load_s, 2)}
    if not (indexfiles.current_generation(args.index) / indexfiles.TERMS).is_file():
        t0 = time.perf_counter()  # an index built before terms were stored: analysed once by its first update
        update_index(args.index, add=docs, encoders=encoders)
        update_index(args.index, remove=[(doc.symbol, doc.language)])
        out["first_update_without_stored_terms_s"] = round(time.perf_counter() - t0, 2)
    steps: dict[str, list[float]] = {"add": [], "replace": [], "remove": []}
    parts: dict[str, dict] = {}
    for _ in range(args.rounds):
        for step, kwargs in (("add", {"add": docs}), ("replace", {"add": docs}),
                             ("remove", {"remove": [(doc.symbol, doc.language)]})):
            t0 = time.perf_counter()
            report = update_index(args.index, encoders=encoders, **kwargs)
            steps[step].append((time.perf_counter() - t0) * 1000)
            parts[step] = {k: round(v, 3) for k, v in report.seconds.items()}
    out["ms"] = {k: percentiles(v) for k, v in steps.items()}
    out["last_parts_s"] = parts
    out["load_avg_end"] = load_avg()
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
