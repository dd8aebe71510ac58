"""What an evaluation writes: Markdown tables, the results file (JSON), TREC run files,
a recall chart, and the comparison with an earlier results file."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eval.metrics import METRICS

Results = dict[str, Any]  # what results.json holds

LABELS = {"recall@1": "R@1", "recall@5": "R@5", "recall@10": "R@10", "recall@100": "R@100",
          "mrr@10": "MRR@10", "ndcg@10": "nDCG@10"}
DEFAULT_TOLERANCE = 0.01
DEFAULT_GUARDED = ("ndcg@10", "recall@10")  # a drop beyond the tolerance in one of these fails --compare


def label(metric: str) -> str:
    return LABELS.get(metric, metric)


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def markdown_table(header: list[str], rows: list[list[str]], align: list[str] | None = None) -> str:
    """A GitHub Markdown table, columns padded so that it also reads well on a terminal."""
    cols = len(header)
    align = align or ["l"] + ["r"] * (cols - 1)
    widths = [max(len(str(x)) for x in [header[i], *(r[i] for r in rows)]) for i in range(cols)]
    widths = [max(w, 3) for w in widths]

    def line(cells: list[str]) -> str:
        out = []
        for c, w, a in zip(cells, widths, align, strict=True):
            out.append(str(c).rjust(w) if a == "r" else str(c).ljust(w))
        return "| " + " | ".join(out) + " |"

    sep = "|" + "|".join(("-" * (w + 1) + ":") if a == "r" else ("-" * (w + 2)) for w, a in
                         zip(widths, align, strict=True)) + "|"
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def summary_table(results: Results, metrics: list[str] | None = None) -> str:
    """One row per set and mode, then the set's published reference rows."""
    metrics = metrics or list(results.get("metrics") or METRICS)
    header = ["set", "system", "n", *(label(m) for m in metrics)]
    rows: list[list[str]] = []
    for name, s in results["sets"].items():
        n = str(s.get("info", {}).get("questions", ""))
        for mode, r in s["modes"].items():
            rows.append([name, f"parasearch {mode}", n, *(fmt(r["all"].get(m)) for m in metrics)])
        for ref in s.get("reference", []):
            rows.append([name, f"ref: {ref['system']}", "", *(fmt(ref.get(m)) for m in metrics)])
    return markdown_table(header, rows, ["l", "l"] + ["r"] * (len(header) - 2))


BREAKDOWN_METRICS = ("ndcg@10", "recall@1", "recall@10", "mrr@10")
PARALLEL_METRICS = ("recall@1", "recall@10", "ndcg@10", "mrr@10")
PARALLEL_STRICT = ("recall@1", "recall@10", "ndcg@10")


def breakdown_tables(results: Results, metrics: tuple[str, ...] = BREAKDOWN_METRICS) -> str:
    """Per question kind, language (the language a question is asked in) and collection, for the sets that
    have them. A parallel-paragraph set's languages are in its own table (:func:`parallel_tables`)."""
    parts = []
    for name, s in results["sets"].items():
        modes = list(s["modes"])
        for by, title in (("by_kind", "kind"), ("by_language", "language"), ("by_collection", "collection")):
            groups = s["modes"][modes[0]].get(by) if modes else None
            if not groups or (by == "by_language" and "parallel" in s):
                continue
            header = [title, "n", *(f"{label(m)} {mode}" for m in metrics for mode in modes)]
            rows = []
            for g, first in groups.items():
                rows.append([g, str(first["n"]), *(fmt(s["modes"][mode][by].get(g, {}).get(m))
                                                   for m in metrics for mode in modes)])
            parts.append(f"{name}, by {title}:\n\n" + markdown_table(header, rows))
    return "\n\n".join(parts)


def pooled_language_table(results: Results, metrics: tuple[str, ...] = BREAKDOWN_METRICS) -> str:
    """All question files together, by the language each question is asked in (when there are several files)."""
    pooled = results.get("questions_by_language") or {}
    by_mode = pooled.get("modes") or {}
    if not by_mode:
        return ""
    modes = list(by_mode)
    first = by_mode[modes[0]]
    header = ["language", "n", *(f"{label(m)} {mode}" for m in metrics for mode in modes)]
    rows = [[g, str(v["n"]), *(fmt(by_mode[mode].get(g, {}).get(m)) for m in metrics for mode in modes)]
            for g, v in first.items()]
    return (f"All question files ({', '.join(pooled.get('sets', []))}), by language:\n\n"
            + markdown_table(header, rows))


def parallel_tables(results: Results, metrics: tuple[str, ...] = PARALLEL_METRICS,
                    strict: tuple[str, ...] = PARALLEL_STRICT) -> str:
    """For parallel-paragraph sets: one row per query language and mode, lenient and strict figures."""
    parts = []
    for name, s in results["sets"].items():
        par = s.get("parallel")
        if not par or not s["modes"]:
            continue
        target = par.get("target", "")
        header = ["query language", "mode", "n", *(label(m) for m in metrics),
                  *(f"strict {label(m)}" for m in strict), "ambiguous"]
        stats = par.get("languages", {})
        rows = []
        first = next(iter(s["modes"].values()))
        for lang in [*first.get("by_language", {}), "all"]:
            for mode, r in s["modes"].items():
                if lang == "all":
                    fig, sfig = r["all"], r.get("strict", {}).get("all", {})
                    n = sum(x.get("questions", 0) for x in stats.values()) or s.get("info", {}).get("questions", "")
                    amb = sum(x.get("ambiguous", 0) for x in stats.values())
                else:
                    fig = r.get("by_language", {}).get(lang, {})
                    sfig = r.get("strict", {}).get("by_language", {}).get(lang, {})
                    n, amb = fig.get("n", ""), stats.get(lang, {}).get("ambiguous", 0)
                share = f"{amb / n:.0%}" if isinstance(n, int) and n else "–"
                rows.append([f"{lang} → {target}", mode, str(n), *(fmt(fig.get(m)) for m in metrics),
                             *(fmt(sfig.get(m)) for m in strict), share])
        counting = par.get("counting", {})
        text = (f"{name}, parallel paragraphs, by query language (answers filtered to {target}):\n\n"
                + markdown_table(header, rows, ["l", "l"] + ["r"] * (len(header) - 2))
                + f"\n\nLenient (the columns without a prefix, and the summary above): {counting.get('lenient', '')}."
                + f" Strict: {counting.get('strict', '')}. Ambiguous: the share of queries whose gold text recurs "
                  f"word for word in other {target} paragraphs.")
        read = [f"{lang} {x.get('files', 0)} files, {x.get('paragraphs', 0)} paragraphs, "
                f"{x.get('in_target', 0)} in {target}, {x.get('questions', 0)} drawn" for lang, x in stats.items()]
        if read:
            text += "\nRead: " + "; ".join(read) + "."
        parts.append(text)
    return "\n\n".join(parts)


def answers_table(results: Results) -> str:
    rows = []
    for name, s in results["sets"].items():
        a = s.get("answers")
        if not a or "skipped" in a:
            continue
        ms = (f"{a['ms_median']:.0f} / {a['ms_p95']:.0f}" if a.get("ms_median") is not None else "–")
        rows.append([name, str(a["questions"]), str(a["answered"]), fmt(a["keyword_share"]),
                     fmt(a["citation_precision"]), str(a["uncited"]), str(len(a["errors"])), ms])
    if not rows:
        return ""
    return markdown_table(["set", "n", "answered", "keyword share", "citation precision", "uncited", "errors",
                           "ms p50 / p95"], rows)


def notes_text(results: Results) -> str:
    lines = []
    for name, s in results["sets"].items():
        collapse = "on" if s.get("collapse") else "off"
        lines.append(f"- {name}: {s.get('source', '')} — searched {s.get('searched', '')}; collapse {collapse}"
                     f"; k {results.get('k')}")
        lines += [f"  - {n}" for n in s.get("notes", [])]
        for mode, r in s["modes"].items():
            extra = []
            if r.get("notices"):
                extra.append(f"{r['notices']} question(s) came back with a notice")
            if r.get("self_hits_dropped"):
                extra.append(f"{r['self_hits_dropped']} self-hit(s) dropped")
            extra.append(f"{r.get('ms_per_query', 0):.1f} ms/question")
            lines.append(f"  - {mode}: " + "; ".join(extra))
        a = s.get("answers")
        if a and "skipped" in a:
            lines.append(f"  - answers: skipped ({a['skipped']})")
    return "\n".join(lines)


def render(results: Results) -> str:
    """The whole report as Markdown (printed on the terminal and saved as report.md)."""
    parts = [f"## Retrieval: {results.get('name', '')}", summary_table(results)]
    if p := parallel_tables(results):
        parts.append(p)
    if b := breakdown_tables(results):
        parts.append(b)
    if pooled := pooled_language_table(results):
        parts.append(pooled)
    if a := answers_table(results):
        parts += ["Answers:", a]
    parts.append(notes_text(results))
    return "\n\n".join(parts) + "\n"


# -- files -------------------------------------------------------------------------------------------
def write_json(path: Path, results: Results) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def read_json(path: Path) -> Results:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "sets" not in data:
        raise ValueError(f"{path} is not a results file of parasearch eval (no 'sets')")
    results: Results = data
    return results


def write_trec(path: Path, results: Mapping[str, list[tuple[str, ...]]], tag: str, beir: bool,
               doc_ids: Mapping[str, str] | None = None) -> None:
    """A TREC run file: every paragraph returned (the shown one, then its also_in), in order.

    Document ids are the paragraph keys (``a/res/79/191#59``), or for BEIR sets the corpus ``_id`` exactly as
    written (``doc_ids``: normalized symbol -> ``_id``, :attr:`eval.questions.QuestionSet.doc_ids`; the keys
    are lower-cased), so the file can be scored with trec_eval against the BEIR qrels.
    """
    ids = doc_ids or {}
    lines = []
    for qid, slots in results.items():
        seen: dict[str, None] = {}
        for slot in slots:
            for key in slot:
                if beir:
                    symbol = key.rsplit("#", 1)[0]
                    seen.setdefault(ids.get(symbol, symbol), None)
                else:
                    seen.setdefault(key, None)
        n = len(seen)
        for rank, doc in enumerate(seen, 1):
            lines.append(f"{qid} Q0 {doc} {rank} {n - rank + 1} {tag}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")


def recall_chart(results: Results, path: Path) -> None:
    """Recall after k results, one line per mode, one panel per set; published R@100 marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = list(results["sets"].items())
    if not sets:
        return
    fig, axes = plt.subplots(1, len(sets), figsize=(5.2 * len(sets), 4.4), squeeze=False)
    colors = {"bm25": "#1f77b4", "dense": "#ff7f0e", "hybrid": "#2ca02c"}
    for ax, (name, s) in zip(axes[0], sets, strict=True):
        ks: list[int] = []
        for mode, r in s["modes"].items():
            curve = {int(k): v for k, v in r["recall_curve"].items()}
            ks = sorted(curve)
            ax.plot(ks, [curve[k] for k in ks], marker="o", markersize=3.5, label=mode, color=colors.get(mode))
        refs = [ref["recall@100"] for ref in s.get("reference", []) if "recall@100" in ref]
        for i, value in enumerate(refs):
            ax.plot([100], [value], marker="x", color="0.35", linestyle="none",
                    label="published R@100" if i == 0 else None)
        ax.set_xscale("log")
        if ks:
            ax.set_xticks(ks)
            ax.set_xticklabels([str(k) for k in ks])
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("k (results read)")
        ax.set_ylabel("recall@k")
        n = s.get("info", {}).get("questions", "")
        ax.set_title(f"{name} ({n} questions)")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    fig.suptitle(f"parasearch eval — {results.get('name', '')}", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# -- comparison --------------------------------------------------------------------------------------
def compare(old: Results, new: Results, *, tolerance: float = DEFAULT_TOLERANCE,
            guarded: tuple[str, ...] = DEFAULT_GUARDED) -> tuple[str, list[str]]:
    """The differences new - old per set, mode and metric; and the regressions: a guarded metric that
    dropped by more than ``tolerance`` (absolute) on a set and mode present in both."""
    rows: list[list[str]] = []
    regressions: list[str] = []
    notes: list[str] = []
    for name, s in new["sets"].items():
        o = old["sets"].get(name)
        if o is None:
            notes.append(f"{name}: not in the old results, nothing to compare")
            continue
        n_old, n_new = o.get("info", {}).get("questions"), s.get("info", {}).get("questions")
        if n_old != n_new:
            notes.append(f"{name}: {n_old} questions before, {n_new} now: the figures are not strictly comparable")
        for mode, r in s["modes"].items():
            om = o["modes"].get(mode)
            if om is None:
                notes.append(f"{name} {mode}: not in the old results")
                continue
            for m, v in r["all"].items():
                if m not in om["all"]:
                    continue
                d = v - om["all"][m]
                flag = ""
                if m in guarded and d < -tolerance:
                    flag = "REGRESSION"
                    regressions.append(f"{name} {mode} {label(m)}: {om['all'][m]:.4f} -> {v:.4f} ({d:+.4f})")
                elif m in guarded and d > tolerance:
                    flag = "better"
                rows.append([name, mode, label(m), fmt(om["all"][m], 4), fmt(v, 4), f"{d:+.4f}", flag])
        for mode in o["modes"]:
            if mode not in s["modes"]:
                notes.append(f"{name} {mode}: in the old results only")
    for name in old["sets"]:
        if name not in new["sets"]:
            notes.append(f"{name}: in the old results only")
    table = markdown_table(["set", "mode", "metric", "old", "new", "Δ", ""], rows,
                           ["l", "l", "l", "r", "r", "r", "l"]) if rows else "(no set and mode in common)"
    text = (f"## Compared with {old.get('name', 'old')} ({old.get('created', '?')})\n\n{table}\n\n"
            f"Tolerance: a drop of more than {tolerance:.3f} (absolute) in {', '.join(label(m) for m in guarded)} "
            f"on a set and mode is a regression.")
    if notes:
        text += "\n" + "\n".join(f"- {n}" for n in notes)
    if regressions:
        text += "\n\nRegressions:\n" + "\n".join(f"- {r}" for r in regressions)
    else:
        text += "\n\nNo regression."
    return text + "\n", regressions
