"""txtai beside parasearch: the same paragraphs and model, served by txtai's own API.

``python -m bench.txtai_app build INDEX_DIR OUT_DIR`` builds a txtai
``Embeddings`` index (content stored, txtai's default FAISS index) over the
paragraphs of a parasearch index. Embedding tens of thousands of paragraphs
again with PyTorch would take most of the benchmark's time, so txtai is given
each paragraph's vector from the parasearch index: the vector of its first
window, which is exactly what txtai's sentence-transformers pipeline computes
for the paragraph (it truncates at the model's 256 word pieces, and the first
window is those word pieces) when the index was built with the ``torch`` or
``onnx`` backend. After indexing, the saved configuration is switched to
txtai's standard ``sentence-transformers`` method with the same model path,
so the served index embeds queries the way txtai always does.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

from parasearch import indexfiles


def paragraphs_and_vectors(index_dir: Path) -> tuple[list[str], np.ndarray, dict]:
    import faiss

    gen = indexfiles.current_generation(index_dir)
    manifest = indexfiles.read_manifest(index_dir)
    db = sqlite3.connect(f"file:{gen / indexfiles.STORE}?mode=ro", uri=True)
    texts = [r[0] for r in db.execute("SELECT text FROM paragraphs ORDER BY id")]
    db.close()
    index = faiss.read_index(str(gen / indexfiles.VECTORS))
    vec2para = np.load(gen / indexfiles.VEC2PARA)
    _, first = np.unique(vec2para, return_index=True)
    vecs = np.vstack([index.reconstruct(int(i)) for i in first]).astype(np.float32)
    return texts, vecs, manifest


def build(index_dir: Path, out_dir: Path) -> dict:
    from txtai import Embeddings

    t0 = time.perf_counter()
    texts, vecs, manifest = paragraphs_and_vectors(index_dir)
    lookup = {t: vecs[i] for i, t in enumerate(texts)}

    def transform(batch: list[str]) -> np.ndarray:
        return np.vstack([lookup[t] for t in batch])

    emb = Embeddings({"method": "external", "transform": transform, "content": True, "backend": "faiss"})
    emb.index((i, t, None) for i, t in enumerate(texts))
    out_dir.mkdir(parents=True, exist_ok=True)
    emb.save(str(out_dir))
    cfg_path = out_dir / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg.pop("transform", None)
    cfg["method"] = "sentence-transformers"
    cfg["path"] = manifest["model"]["path"]
    cfg_path.write_text(json.dumps(cfg, indent=2))
    (out_dir.parent / "txtai-api.yml").write_text(f"path: {out_dir}\nwritable: false\nembeddings: {{}}\n")
    return {"paragraphs": len(texts), "seconds": round(time.perf_counter() - t0, 1),
            "ann": cfg.get("backend", "faiss"),
            "faiss_components": cfg.get("build", {}).get("settings", {}).get("components"),
            "index_vectors_from": manifest["model"].get("backend", "torch"), "model_path": cfg["path"]}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] != "build":
        print("usage: python -m bench.txtai_app build INDEX_DIR OUT_DIR", file=sys.stderr)
        return 2
    info = build(Path(argv[1]), Path(argv[2]))
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
