"""The ONNX encoder against the plain sentence-transformers encoder, and the embedding cache per backend.

The ONNX model is exported once per test session into a temporary directory
(a few seconds), so these tests never touch the user's ONNX cache.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.cache import EmbeddingCache, cache_identity, embed_with_cache
from indexer.embed import ENCODERS, SentenceTransformerEncoder, describe, load_encoder

UN_SENTENCES = [
    "Calls upon all States parties to the United Nations Convention against Transnational Organized Crime to "
    "make full use of the Convention for international cooperation in criminal matters.",
    "Decides that all Member States shall immediately take the necessary measures to prevent the direct or "
    "indirect supply, sale or transfer of arms and related materiel of all types to Libya.",
    "The Special Rapporteur on the right to education visited schools in rural areas.",
    "Requests the Secretary-General to report to the General Assembly at its eighty-first session.",
    "Torture",
    "Condamne fermement toutes les violations du droit international humanitaire.",
    "Working Group on Technical Assistance, Vienna, 7 and 8 October 2013",
    "   ",
]

# fp32 ONNX runs the same graph as PyTorch: measured cosine 1.000000 (min) on 2,000 UN paragraphs; float
# rounding alone (~1e-6) separates them. int8 weights: measured mean 0.993, min 0.985 on the same paragraphs.
FP32_MIN_COSINE = 0.9999
INT8_MIN_COSINE = 0.97
INT8_MEAN_COSINE = 0.985


MODEL = "all-MiniLM-L6-v2"  # the torch-vs-ONNX comparison; multilingual-e5-small is checked in test_e5.py


@pytest.fixture(scope="module")
def torch_encoder() -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder(MODEL)


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def onnx_encoder(onnx_dir):
    from indexer.embed_onnx import OnnxEncoder

    return OnnxEncoder(MODEL, cache_dir=onnx_dir)


@pytest.fixture(scope="module")
def int8_encoder(onnx_dir, onnx_encoder):
    from indexer.embed_onnx import OnnxInt8Encoder

    return OnnxInt8Encoder(MODEL, cache_dir=onnx_dir)


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1)


def test_registered_and_described(onnx_encoder, torch_encoder) -> None:
    assert {"torch", "onnx", "onnx-int8"} <= set(ENCODERS)
    d = describe(onnx_encoder)
    assert d["backend"] == "onnx" and describe(torch_encoder)["backend"] == "torch"
    # Same model files, same identity: an index built by one backend is queried by the other.
    assert onnx_encoder.identity == torch_encoder.identity
    assert (onnx_encoder.dim, onnx_encoder.max_tokens) == (torch_encoder.dim, torch_encoder.max_tokens)
    with pytest.raises(ValueError, match="unknown encoder backend"):
        load_encoder(backend="no-such-backend")


def test_exported_once_into_the_cache_dir(onnx_dir, onnx_encoder) -> None:
    from indexer.embed_onnx import OnnxEncoder

    files = list(onnx_dir.rglob("model.onnx"))
    assert len(files) == 1 and files[0] == onnx_encoder.onnx_path
    mtime = files[0].stat().st_mtime_ns
    again = OnnxEncoder(MODEL, cache_dir=onnx_dir)  # loads, does not export again
    assert again.onnx_path.stat().st_mtime_ns == mtime
    assert not list(onnx_dir.rglob("*.tmp"))


def test_fp32_matches_torch(onnx_encoder, torch_encoder) -> None:
    a = torch_encoder.encode(UN_SENTENCES)
    b = onnx_encoder.encode(UN_SENTENCES)
    assert b.shape == a.shape and b.dtype == np.float32
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    assert _cos(a, b).min() >= FP32_MIN_COSINE


def test_int8_close_to_torch(int8_encoder, torch_encoder) -> None:
    assert int8_encoder.onnx_path.name == "model-int8.onnx"
    texts = [t for t in UN_SENTENCES if t.strip()]
    cos = _cos(torch_encoder.encode(texts), int8_encoder.encode(texts))
    assert cos.min() >= INT8_MIN_COSINE and cos.mean() >= INT8_MEAN_COSINE


def test_long_inputs_and_windows(onnx_encoder, torch_encoder) -> None:
    long = " ".join(f"Paragraph {i}: the Council reaffirms its commitment to the sovereignty of the State."
                    for i in range(40))
    assert onnx_encoder.token_lengths([long]) == torch_encoder.token_lengths([long])
    assert onnx_encoder.token_lengths([long])[0] > onnx_encoder.max_tokens
    wins = onnx_encoder.windows(long)
    assert wins == torch_encoder.windows(long) and len(wins) > 1
    assert max(onnx_encoder.token_lengths(wins)) <= onnx_encoder.max_tokens
    # Past the model's window both truncate the same way.
    assert _cos(torch_encoder.encode([long]), onnx_encoder.encode([long]))[0] >= FP32_MIN_COSINE
    assert _cos(torch_encoder.encode(wins), onnx_encoder.encode(wins)).min() >= FP32_MIN_COSINE


def test_batching_keeps_order(onnx_encoder) -> None:
    """Length-sorted, token-budgeted batches give every text its own vector, in the caller's order."""
    texts = [t * (1 + i % 5) for i, t in enumerate(UN_SENTENCES * 3)]
    one_by_one = np.vstack([onnx_encoder.encode([t]) for t in texts])
    small_budget = onnx_encoder.token_budget
    try:
        onnx_encoder.token_budget = 200  # forces many small batches
        batched = onnx_encoder.encode(texts, batch_size=4)
    finally:
        onnx_encoder.token_budget = small_budget
    assert _cos(one_by_one, batched).min() >= 0.99999
    assert onnx_encoder.encode([]).shape == (0, onnx_encoder.dim)


def test_cache_key_differs_per_backend(tmp_path, onnx_encoder, int8_encoder, torch_encoder) -> None:
    keys = {cache_identity(e) for e in (torch_encoder, onnx_encoder, int8_encoder)}
    assert len(keys) == 3
    assert cache_identity(torch_encoder) == torch_encoder.identity  # caches written before backends stay valid
    cache = EmbeddingCache(tmp_path / "cache.sqlite", torch_encoder.dim)
    try:
        texts = UN_SENTENCES[:3]
        _, fresh = embed_with_cache(int8_encoder, texts, cache)
        assert fresh == 3
        vecs, fresh = embed_with_cache(onnx_encoder, texts, cache)  # int8 vectors are not taken for fp32
        assert fresh == 3
        assert _cos(vecs, onnx_encoder.encode(texts)).min() >= 0.99999
        _, fresh = embed_with_cache(onnx_encoder, texts, cache)
        assert fresh == 0
    finally:
        cache.close()
