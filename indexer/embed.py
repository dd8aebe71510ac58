"""Sentence embeddings: one model loaded once, normalized vectors, batched work.

A paragraph longer than the model's window is split into overlapping windows
of word pieces; every window keeps the paragraph's identity so that search can
return the paragraph once (see :func:`windows`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Protocol

import numpy as np

from parasearch.config import offline, resolve_model

WINDOW_OVERLAP = 64  # word pieces shared by consecutive windows


class Encoder(Protocol):
    name: str  # model name recorded in the index manifest
    identity: str  # hash of the model's files: what the embedding cache keys on
    dim: int
    max_tokens: int  # word pieces per window, special tokens excluded

    def encode(self, texts: list[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray: ...

    def token_lengths(self, texts: list[str]) -> list[int]: ...

    def windows(self, text: str) -> list[str]: ...


def model_identity(path: str) -> str:
    """A short hash of a model directory's configuration and weight sizes."""
    p = Path(path)
    h = hashlib.sha256()
    if p.is_dir():
        for f in sorted(p.rglob("*")):
            if f.is_file() and f.suffix in (".json", ".txt", ".safetensors", ".bin", ".onnx"):
                h.update(str(f.relative_to(p)).encode())
                if f.suffix in (".json", ".txt"):
                    h.update(f.read_bytes())
                else:
                    h.update(str(f.stat().st_size).encode())
    else:
        h.update(path.encode())
    return h.hexdigest()[:16]


class SentenceTransformerEncoder:
    """The plain sentence-transformers encoder (PyTorch, CPU unless told otherwise)."""

    def __init__(self, model: str | None = None, device: str | None = None) -> None:
        offline()
        from sentence_transformers import SentenceTransformer

        self.name, self.path = resolve_model(model)
        self.model = SentenceTransformer(self.path, device=device or "cpu")
        self.tokenizer = self.model.tokenizer
        self.dim = int(self.model.get_embedding_dimension())
        self.max_tokens = int(self.model.max_seq_length) - 2  # [CLS] and [SEP]
        self.identity = f"{self.name}@{model_identity(self.path)}"

    def token_lengths(self, texts: list[str]) -> list[int]:
        enc = self.tokenizer(texts, add_special_tokens=False, truncation=False)["input_ids"]
        return [len(ids) for ids in enc]

    def encode(self, texts: list[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # sentence-transformers sorts by length inside encode(), so batches are homogeneous.
        vecs = self.model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def windows(self, text: str) -> list[str]:
        return split_windows(self.tokenizer, text, self.max_tokens)


def split_windows(tokenizer, text: str, max_tokens: int, overlap: int = WINDOW_OVERLAP) -> list[str]:
    """Split ``text`` into overlapping windows of at most ``max_tokens`` word pieces.

    Windows are cut at word-piece boundaries (character offsets from the fast
    tokenizer), so every window is a verbatim slice of the paragraph.
    """
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, truncation=False)
    offsets = enc["offset_mapping"]
    if len(offsets) <= max_tokens:
        return [text]
    step = max(1, max_tokens - overlap)
    out: list[str] = []
    start = 0
    while start < len(offsets):
        end = min(start + max_tokens, len(offsets))
        out.append(text[offsets[start][0] : offsets[end - 1][1]])
        if end == len(offsets):
            break
        start += step
    return out


ENCODERS = {"torch": SentenceTransformerEncoder}


def load_encoder(model: str | None = None, backend: str = "torch") -> Encoder:
    try:
        cls = ENCODERS[backend]
    except KeyError:
        raise ValueError(f"unknown encoder backend {backend!r}; choose from {sorted(ENCODERS)}") from None
    return cls(model)


def describe(encoder: Encoder) -> dict:
    """What the index manifest records about the model it was built with."""
    return {"name": encoder.name, "path": getattr(encoder, "path", encoder.name), "identity": encoder.identity,
            "dim": encoder.dim, "max_tokens": encoder.max_tokens}
