"""Start-up: open an index and the query encoder that matches it, once."""

from __future__ import annotations

from pathlib import Path

from indexer.embed import load_encoder
from parasearch.config import model_list, recorded_model
from parasearch.settings import settings
from service.index import LoadedIndex
from service.rerank import Reranker, default_reranker
from service.search import SearchEngine

built_model = recorded_model  # how to load a model an index records (parasearch.config.recorded_model)


_DEFAULT = object()


def load_engine(index_dir: Path, *, model: str | None = None, backend: str | None = None,
                reranker: Reranker | None | object = _DEFAULT) -> SearchEngine:
    """The search engine over ``index_dir``.

    The query encoders are the models the index was built with (each one's
    recorded path, else its name), one per dense arm, unless ``model`` is given
    (a spec as for ``parasearch index``: names joined by "+"); a model that
    differs from the index's is refused with a clear error
    (:class:`~parasearch.errors.IndexIncompatible`). ``reranker``: the learned re-ranker of hybrid search
    (:func:`service.rerank.default_reranker` unless given; None: the fused order).
    """
    threads = settings().faiss_threads
    index = LoadedIndex(Path(index_dir), faiss_threads=threads)
    models = model_list(model) if model else [built_model(m) for m in index.models]
    encoders = [load_encoder(m, backend) for m in models]  # backend None: $PARASEARCH_ENCODER, else the model's
    if any(e.backend == "torch" for e in encoders):
        import torch

        # One query at a time per request thread: PyTorch's own thread pool only fights the server's threads.
        torch.set_num_threads(1)
    chosen = default_reranker() if reranker is _DEFAULT else reranker
    assert chosen is None or isinstance(chosen, Reranker)
    return SearchEngine(index, encoders, chosen)
