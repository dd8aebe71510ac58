"""What every encoder shares: the :class:`Encoder` protocol, a model's identity and prompts, and windows.

A paragraph longer than the model's window is split into overlapping windows
of word pieces (:func:`split_windows`, :func:`cut_windows`); every window
keeps the paragraph's identity so that search can return the paragraph once.
The encoders themselves are in :mod:`indexer.embed` (sentence-transformers,
and the registry of backends) and :mod:`indexer.embed_onnx` (ONNX Runtime);
both import this module, and neither imports the other's module at load.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

WINDOW_OVERLAP = 64  # word pieces shared by consecutive windows


class Encoder(Protocol):
    name: str  # model name recorded in the index manifest
    backend: str  # what runs the model: "torch", "onnx", "onnx-int8" (see ENCODERS)
    identity: str  # hash of the model's files: what the embedding cache keys on
    dim: int
    max_tokens: int  # word pieces per window, special tokens and the passage prompt excluded
    query_prompt: str  # put before a query ("query: " for e5 models, "" for most)
    passage_prompt: str  # put before a paragraph or window ("passage: " for e5 models)

    def encode(self, texts: list[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Paragraphs (or windows, sentences): embedded as passages, with the passage prompt."""
        ...

    def encode_queries(self, texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        """Questions: embedded with the query prompt."""
        ...

    def token_lengths(self, texts: list[str]) -> list[int]: ...

    def windows(self, text: str) -> list[str]: ...

    def windows_many(self, texts: list[str]) -> list[list[str]]: ...  # one batched tokenizer call


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


def model_prompts(path: str) -> tuple[str, str]:
    """``(query prompt, passage prompt)`` from a sentence-transformers model's ``config_sentence_transformers.json``.

    Models trained with prefixes (e5: ``query: `` and ``passage: ``) declare them
    there as ``prompts``; a model without them gets ``("", "")``.
    """
    cfg = Path(path) / "config_sentence_transformers.json"
    if not cfg.is_file():
        return "", ""
    prompts = json.loads(cfg.read_text()).get("prompts") or {}
    return prompts.get("query", ""), prompts.get("passage", prompts.get("document", ""))


# A fast tokenizer called as transformers' are: text -> {"offset_mapping": [(start, end), ...], ...}
TokenizerCall = Callable[..., Mapping[str, Any]]


def split_windows(tokenizer: TokenizerCall, text: str, max_tokens: int, overlap: int = WINDOW_OVERLAP) -> list[str]:
    """Split ``text`` into overlapping windows of at most ``max_tokens`` word pieces.

    Windows are cut at word-piece boundaries (character offsets from the fast
    tokenizer), so every window is a verbatim slice of the paragraph.
    """
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, truncation=False)
    return cut_windows(text, enc["offset_mapping"], max_tokens, overlap)


def cut_windows(text: str, offsets: Sequence[Sequence[int]], max_tokens: int,
                overlap: int = WINDOW_OVERLAP) -> list[str]:
    """Windows of ``text`` from its word pieces' character ``offsets`` (see :func:`split_windows`)."""
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
