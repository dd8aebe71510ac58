"""Start-up: open an index and the query encoder that matches it, once."""

from __future__ import annotations

import os
from pathlib import Path

from indexer.embed import load_encoder
from service.index import LoadedIndex
from service.search import SearchEngine


def load_engine(index_dir: Path, *, model: str | None = None, backend: str | None = None) -> SearchEngine:
    """The search engine over ``index_dir``.

    The query encoder is the model the index was built with (its recorded path,
    else its name) unless ``model`` is given; a model that differs from the
    index's is refused with a clear error (:class:`~service.search.EngineError`).
    """
    threads = int(os.environ.get("PARASEARCH_FAISS_THREADS", "1"))
    index = LoadedIndex(Path(index_dir), faiss_threads=threads)
    built = index.model
    if model is None:
        model = built["path"] if Path(built.get("path", "")).exists() else built["name"]
    encoder = load_encoder(model, backend)  # None: $PARASEARCH_ENCODER, else the default backend
    if encoder.backend == "torch":
        import torch

        # One query at a time per request thread: PyTorch's own thread pool only fights the server's threads.
        torch.set_num_threads(1)
    return SearchEngine(index, encoder)
