"""Cross-encoder relevance scores: the question and a paragraph read together by one small model.

The model (``.cache/cross-encoder/``, rebuilt by :mod:`eval.train_cross_encoder`; not used by the service, see
docs/evaluation.md, "Learned re-ranker") is all-MiniLM-L6-v2 fine-tuned as a re-ranker and exported to int8
ONNX (``python -m eval.train_cross_encoder``, whose docstring says how the shipped file was produced). It runs on
the CPU with onnxruntime and the model's own ``tokenizer.json``; nothing is downloaded. A JSON sidecar
(``cross-encoder.json``) records the SHA-256 of the model and tokenizer files: a file that does not match is
refused with a clear error rather than used.

    ce = CrossEncoder()
    texts = [paragraph_text(row.title, row.text) for row in rows]  # "<document title>. <paragraph>"
    ce.scores("What does the Assembly request?", texts)  # one float per paragraph, higher is better

The model was trained on "<title>. <text>" records (SQuAD, SciFact) and reads UN paragraphs best with their
document's title in front (:func:`paragraph_text`; dev questions, cross-encoder alone: nDCG@10 0.661 with the
title, 0.570 without). Scores are logits, comparable within one question only (not probabilities): combine them
with other scores after normalising per question (z-scores, say). The int8 model quantizes its activations per
call, so a pair's score moves a little with the other pairs of the call (about 0.5 logit seen): compare scores of
one call only, which is how :meth:`CrossEncoder.scores` is meant to be used (all candidates of a question at once).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from parasearch.digest import file_sha256

if TYPE_CHECKING:
    from tokenizers import Tokenizer

MODEL_DIR = Path(__file__).resolve().parent.parent / ".cache" / "cross-encoder"  # not kept in git
SIDECAR = "cross-encoder.json"
DEFAULT_THREADS = 2
DEFAULT_MAX_LENGTH = 256


def paragraph_text(title: str | None, text: str) -> str:
    """What the model reads of a paragraph: ``"<document title>. <text>"`` (no dot doubled), the text alone when
    there is no title or the text already starts with it (BEIR records are indexed as "title. text")."""
    title, text = (title or "").strip(), (text or "").strip()
    if not title or text.startswith(title):
        return text
    if not text:
        return title
    return f"{title}{' ' if title[-1] in '.?!:;' else '. '}{text}"


class CrossEncoderError(RuntimeError):
    """The cross-encoder's files are missing, altered or unreadable (the message says which)."""


class CrossEncoder:
    """An int8 ONNX cross-encoder over ``model_dir`` (``intra_op_threads`` threads per call)."""

    def __init__(self, model_dir: Path | str = MODEL_DIR, *, threads: int = DEFAULT_THREADS) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_dir = Path(model_dir)
        sidecar = model_dir / SIDECAR
        if not sidecar.exists():
            raise CrossEncoderError(f"no cross-encoder in {model_dir}: {SIDECAR} is missing "
                                    f"(build it with `python -m eval.train_cross_encoder`)")
        try:
            info = json.loads(sidecar.read_text(encoding="utf-8"))
            model_path = model_dir / info["model"]
            tok_path = model_dir / info.get("tokenizer", "tokenizer.json")
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise CrossEncoderError(f"{sidecar} cannot be read: {exc}") from None
        for path, expected in ((model_path, info.get("sha256")), (tok_path, info.get("tokenizer_sha256"))):
            if not path.exists():
                raise CrossEncoderError(f"cross-encoder file {path} is missing")
            digest = file_sha256(path)
            if digest != expected:
                raise CrossEncoderError(f"cross-encoder file {path} does not match {sidecar} (sha256 {digest}, "
                                        f"expected {expected}): it was altered or replaced; rebuild it with "
                                        f"`python -m eval.train_cross_encoder export`")
        self.info = info
        self.dir = model_dir
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads)
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(model_path), sess_options=opts, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self.session.get_inputs()}
        self._base = Tokenizer.from_file(str(tok_path))
        self._base.no_truncation()
        self._base.no_padding()
        self._tokenizers: dict[int, Tokenizer] = {}
        self._lock = threading.Lock()

    def tokenizer(self, max_length: int) -> Tokenizer:
        """The tokenizer truncating pairs to ``max_length`` tokens (longest first) and padding to the longest."""
        with self._lock:
            tok = self._tokenizers.get(max_length)
            if tok is None:
                from tokenizers import Tokenizer

                tok = Tokenizer.from_str(self._base.to_str())
                tok.enable_truncation(max_length=max_length, strategy="longest_first")
                tok.enable_padding(pad_id=0, pad_token="[PAD]")
                self._tokenizers[max_length] = tok
            return tok

    def scores(self, query: str, texts: list[str], max_length: int = DEFAULT_MAX_LENGTH) -> np.ndarray:
        """One relevance score per text for ``query`` (all pairs in one onnxruntime call), float32."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        if not 8 <= max_length <= 512:
            raise ValueError("max_length must be between 8 and 512 tokens")
        enc = self.tokenizer(max_length).encode_batch([(query, t) for t in texts])
        feeds = {
            "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
        }
        out = self.session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
        return np.asarray(out, dtype=np.float32).reshape(len(texts), -1)[:, 0]
