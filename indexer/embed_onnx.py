"""ONNX Runtime encoder: the same sentence-transformers model, exported once to ONNX, run without PyTorch.

The first use of a model exports its transformer with ``torch.onnx.export``
(offline, from the local model files) into a per-user cache directory,
``$PARASEARCH_ONNX_CACHE`` or ``~/.cache/parasearch/onnx/<name>-<identity>/``;
every later use (indexing, the search service) loads the ``.onnx`` file with
ONNX Runtime and never imports torch. Tokenisation uses the model's fast
tokenizer (``tokenizers``), pooling and normalisation are done in numpy, and
texts are sorted by token length and batched under a token budget, so a batch
holds texts of similar length (little padding) and long windows do not make
huge batches.

Two backends are registered in :data:`indexer.embed.ENCODERS`:

* ``onnx``: fp32; its vectors equal the PyTorch encoder's to float rounding
  (cosine 1.000000 on UN paragraphs, see ``docs/performance.md``);
* ``onnx-int8``: the same graph with weights quantised to int8
  (``onnxruntime.quantization.quantize_dynamic``, per channel); faster,
  vectors close to but not equal to fp32 (mean cosine ~0.993).

Both have the model's identity (hash of its files), so an index built with
one can be queried with another; the embedding cache keys on the backend too
(:func:`indexer.cache.cache_identity`), because their vectors differ.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from indexer.embed_base import cut_windows, model_identity, model_prompts, split_windows
from parasearch.config import offline, resolve_model
from parasearch.defaults import user_cache_dir
from parasearch.settings import default, settings

if TYPE_CHECKING:
    import torch

log = logging.getLogger("parasearch.onnx")

ONNX_OPSET = 17
# Padded word pieces per batch. Small batches are faster on CPU (activations stay in cache; measured on UN
# paragraphs: docs/performance.md, "Encoders: `onnx` is the default").
TOKEN_BUDGET: int = default("onnx_token_budget")  # word pieces per batch
EXPORT_TOLERANCE = 1e-3  # largest |difference| of token states allowed between torch and the exported graph
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_export_lock = threading.Lock()


def default_cache_dir() -> Path:
    return user_cache_dir("onnx", settings().onnx_cache)


def cpu_threads() -> int:
    """Cores this process may run on (the affinity mask, not the host's core count)."""
    asked = settings().onnx_threads
    if asked:
        return asked
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _read_json(path: Path) -> Any:
    """The JSON value in ``path`` (an object, or ``modules.json``'s list); ``{}`` when there is no such file."""
    return json.loads(path.read_text()) if path.is_file() else {}


def _pooling_mode(model_dir: Path) -> str:
    """The sentence-transformers pooling of the model: ``mean`` or ``cls``."""
    modules = _read_json(model_dir / "modules.json") if (model_dir / "modules.json").is_file() else []
    for m in modules:
        if m.get("type", "").endswith("Pooling"):
            cfg = _read_json(model_dir / m.get("path", "") / "config.json")
            if cfg.get("pooling_mode_cls_token"):
                return "cls"
            if cfg.get("pooling_mode_mean_tokens", True) and not (
                cfg.get("pooling_mode_max_tokens") or cfg.get("pooling_mode_mean_sqrt_len_tokens")
            ):
                return "mean"
            raise ValueError(f"{model_dir}: pooling {cfg} is not supported by the ONNX encoder (mean or CLS only)")
    return "mean"


def _max_seq_length(model_dir: Path) -> int:
    cfg = _read_json(model_dir / "sentence_bert_config.json")
    if cfg.get("max_seq_length"):
        return int(cfg["max_seq_length"])
    return int(_read_json(model_dir / "config.json").get("max_position_embeddings", 512))


def export_onnx(model_dir: str | Path, out: Path) -> Path:
    """Export the transformer under ``model_dir`` to ``out`` (token states for input ids, mask, type ids).

    Needs torch and transformers (only here); the result is checked against
    torch on a padded batch before it is published with an atomic rename.
    """
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager")
    model.eval()

    class TokenStates(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor) -> torch.Tensor:
            states: torch.Tensor = self.inner(input_ids=input_ids, attention_mask=attention_mask,
                                              token_type_ids=token_type_ids).last_hidden_state
            return states

    wrapper = TokenStates(model).eval()
    gen = torch.Generator().manual_seed(0)
    vocab = int(getattr(model.config, "vocab_size", 30000))
    ids = torch.randint(1000, min(vocab, 20000), (2, 24), generator=gen)
    mask = torch.ones_like(ids)
    mask[1, 13:] = 0
    types = torch.zeros_like(ids)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    dyn = {0: "batch", 1: "sequence"}
    with torch.no_grad(), warnings.catch_warnings():
        # Tracer warnings about shapes taken as constants: the check below runs another shape and padding.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper, (ids, mask, types), str(tmp), dynamo=False, opset_version=ONNX_OPSET,
            input_names=list(_INPUTS), output_names=["last_hidden_state"],
            dynamic_axes={name: dyn for name in (*_INPUTS, "last_hidden_state")},
        )
    try:
        _check_export(wrapper, tmp, vocab)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, out)
    return out


def _check_export(wrapper: torch.nn.Module, path: Path, vocab: int) -> None:
    """The exported graph must reproduce torch on a shape and padding it was not traced with."""
    import onnxruntime as ort
    import torch

    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(1000, min(vocab, 20000), (3, 41), generator=gen)
    mask = torch.ones_like(ids)
    mask[0, 7:] = 0
    mask[2, 30:] = 0
    types = torch.zeros_like(ids)
    with torch.no_grad():
        ref = wrapper(ids, mask, types).numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {n: t.numpy() for n, t in zip(_INPUTS, (ids, mask, types), strict=True)}
    got = sess.run(None, feed)[0]
    keep = mask.numpy().astype(bool)
    diff = float(np.abs(ref - got)[keep].max())
    if not diff < EXPORT_TOLERANCE:
        raise RuntimeError(f"ONNX export of the model differs from PyTorch by {diff:.2e} (allowed {EXPORT_TOLERANCE})")


def quantize_int8(src: Path, out: Path) -> Path:
    """Dynamic int8 quantisation of the weights of ``src`` (per output channel, signed int8)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        quantize_dynamic(str(src), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, out)
    return out


class _Tokenizer:
    """The model's fast tokenizer, called like a transformers tokenizer where :func:`split_windows` needs it."""

    def __init__(self, model_dir: Path) -> None:
        from tokenizers import Tokenizer

        self.raw = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.raw.no_padding()  # tokenizer.json pads and truncates to 128: the encoder does both itself
        self.raw.no_truncation()

    def __call__(self, text: str | Sequence[str], *, add_special_tokens: bool = True,
                 return_offsets_mapping: bool = False, truncation: bool = False) -> dict[str, Any]:
        if truncation:
            raise ValueError("truncation is done by the encoder, not here")
        if isinstance(text, str):
            enc = self.raw.encode(text, add_special_tokens=add_special_tokens)
            out: dict[str, Any] = {"input_ids": enc.ids}
            if return_offsets_mapping:
                out["offset_mapping"] = enc.offsets
            return out
        encs = self.raw.encode_batch(list(text), add_special_tokens=add_special_tokens)
        out = {"input_ids": [e.ids for e in encs]}
        if return_offsets_mapping:
            out["offset_mapping"] = [e.offsets for e in encs]
        return out


class OnnxEncoder:
    """A sentence-transformers model run with ONNX Runtime; implements :class:`indexer.embed_base.Encoder`."""

    backend = "onnx"
    quantized = False

    def __init__(self, model: str | None = None, *, cache_dir: Path | None = None, threads: int | None = None,
                 token_budget: int | None = None) -> None:
        offline()
        import onnxruntime as ort

        self.name, self.path = resolve_model(model)
        model_dir = Path(self.path)
        if not (model_dir / "tokenizer.json").is_file():
            raise ValueError(f"the ONNX encoder needs a local model directory with tokenizer.json, got {self.path}")
        digest = model_identity(self.path)
        self.identity = f"{self.name}@{digest}"
        self.pooling = _pooling_mode(model_dir)
        self.max_seq_length = _max_seq_length(model_dir)
        self.token_budget = int(token_budget or settings().onnx_token_budget)
        self.tokenizer = _Tokenizer(model_dir)
        self._enc = self.tokenizer.raw
        self.query_prompt, self.passage_prompt = model_prompts(self.path)
        prompt = self.passage_prompt
        prompt_tokens = len(self._enc.encode(prompt, add_special_tokens=False)) if prompt else 0
        self.max_tokens = self.max_seq_length - 2 - prompt_tokens  # [CLS], [SEP] and the passage prompt
        pad = _read_json(model_dir / "config.json").get("pad_token_id")
        self._pad_id = int(pad) if pad is not None else (self._enc.token_to_id("[PAD]") or 0)

        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.name)
        self.onnx_dir = Path(cache_dir or default_cache_dir()) / f"{safe}-{digest}"
        self.onnx_path = self._ensure_model()

        opts = ort.SessionOptions()
        self.threads = threads or cpu_threads()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle intra-op threads sleep instead of spinning: spinning threads take the cores from the other
        # requests of the service and from other processes, and gain nothing on batches (measured: a query
        # took much longer with spinning on a busy 2-core machine; docs/performance.md, "Concurrency settings").
        # PARASEARCH_ONNX_SPIN=1 turns it back on.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if settings().onnx_spin else "0")
        self.session = ort.InferenceSession(str(self.onnx_path), opts, providers=["CPUExecutionProvider"])
        self._input_names = {i.name for i in self.session.get_inputs()}
        out_dim = self.session.get_outputs()[0].shape[-1]
        self.dim = out_dim if isinstance(out_dim, int) else self._probe_dim()

    # -- the model file ---------------------------------------------------------------------------
    def _ensure_model(self) -> Path:
        fp32 = self.onnx_dir / "model.onnx"
        with _export_lock:
            if not fp32.is_file():
                log.info("exporting %s to ONNX at %s (once)", self.name, fp32)
                export_onnx(self.path, fp32)
                (self.onnx_dir / "source.json").write_text(json.dumps(
                    {"model": self.name, "path": self.path, "identity": self.identity, "opset": ONNX_OPSET}, indent=1))
            if not self.quantized:
                return fp32
            int8 = self.onnx_dir / "model-int8.onnx"
            if not int8.is_file():
                log.info("quantising %s to int8 at %s (once)", self.name, int8)
                quantize_int8(fp32, int8)
            return int8

    def _probe_dim(self) -> int:
        return int(self._run(np.array([[101, 102]], dtype=np.int64), np.ones((1, 2), dtype=np.int64)).shape[1])

    # -- the Encoder protocol ----------------------------------------------------------------------
    def token_lengths(self, texts: list[str]) -> list[int]:
        return [len(e) for e in self._enc.encode_batch(texts, add_special_tokens=False)]

    def windows(self, text: str) -> list[str]:
        return split_windows(self.tokenizer, text, self.max_tokens)

    def windows_many(self, texts: list[str]) -> list[list[str]]:
        encs = self._enc.encode_batch(texts, add_special_tokens=False)
        # len(e) stays in Rust; offsets (a Python list per token) are fetched only for the long paragraphs.
        return [[t] if len(e) <= self.max_tokens else cut_windows(t, e.offsets, self.max_tokens)
                for t, e in zip(texts, encs, strict=True)]

    def encode(self, texts: list[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Normalised embeddings of ``texts`` as passages (in order; the passage prompt put before each).

        ``batch_size`` caps the texts per batch, and the token budget caps the
        padded word pieces per batch, whichever is smaller.
        """
        return self._encode(texts, self.passage_prompt, batch_size, progress)

    def encode_queries(self, texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        """Normalised embeddings of questions (the query prompt put before each)."""
        return self._encode(texts, self.query_prompt, batch_size, False)

    def _encode(self, texts: list[str], prompt: str, batch_size: int, progress: bool) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        texts = [prompt + t for t in texts] if prompt else list(texts)
        ids_list = [e.ids for e in self._enc.encode_batch(texts, add_special_tokens=True)]
        ids_list = [ids if len(ids) <= self.max_seq_length else ids[: self.max_seq_length - 1] + ids[-1:]
                    for ids in ids_list]  # truncate like sentence-transformers, keeping [SEP]
        lengths = np.fromiter((len(x) for x in ids_list), dtype=np.int64, count=len(ids_list))
        order = np.argsort(lengths, kind="stable")
        bar = None
        if progress:
            from parasearch.progress import progress_bar

            bar = progress_bar(total=len(texts), desc="Embedding", unit="text")
        cap = max(1, int(batch_size))
        start = 0
        while start < len(order):
            # Sorted ascending: the last member of a batch is its longest, so its length sets the padding.
            end = start + 1
            while (end < len(order) and end - start < cap
                   and (end - start + 1) * lengths[order[end]] <= self.token_budget):
                end += 1
            idx = order[start:end]
            width = int(lengths[idx[-1]])
            ids = np.full((len(idx), width), self._pad_id, dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                n = int(lengths[i])
                ids[row, :n] = ids_list[i]
                mask[row, :n] = 1
            out[idx] = self._run(ids, mask)
            if bar is not None:
                bar.update(len(idx))
            start = end
        if bar is not None:
            bar.close()
        return out

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feed["token_type_ids"] = np.zeros_like(ids)
        states: np.ndarray = self.session.run(None, feed)[0]  # (batch, tokens, dim)
        vecs: np.ndarray
        if self.pooling == "cls":
            vecs = states[:, 0, :]
        else:
            m = mask.astype(np.float32)
            vecs = np.matmul(m[:, None, :], states)[:, 0, :] / np.maximum(m.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        unit: np.ndarray = (vecs / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
        return unit


class OnnxInt8Encoder(OnnxEncoder):
    """:class:`OnnxEncoder` with int8 weights (dynamic quantisation): faster, vectors slightly off fp32."""

    backend = "onnx-int8"
    quantized = True
