"""Parse-quality report: how well the readers recover the paragraphs the documents print.

``python -m eval.parse_quality [--corpus ../shared/corpus] [--limit N] [--json]``, or
:func:`run` (used by ``parasearch eval --parse``). Sections:

* ``ga_text``: the raw PDF text of GA resolutions and drafts (``ga/text/``) against
  ``ga/operative_paragraphs.jsonl`` (numbered operative paragraphs found by an independent
  tool): share of gold (symbol, para) pairs recovered (target >= 98 %). The gold tool keeps
  one number sequence per document, so where an annex restarts the numbering (resolution
  paras 1-5, then the annexed strategy's 1-72) its "3" is the annex's paragraph 3, which we
  cite as ``annex-3`` (likewise ``sect-II-3`` where every section restarts the numbering):
  ``recall_printed_number`` counts a gold pair as recovered when our ``N``, ``annex-N`` or
  ``sect-X-N`` carries that paragraph (text agreement >= 0.5), ``recall`` only looks at the
  locator ``N``. Also: share of emitted
  numbered paragraphs that are not in the gold (target <= 1 %), and text agreement of the
  matched paragraphs (word-level difflib ratio after whitespace normalisation; the gold
  texts still carry running headers, footnotes and page numbers where a paragraph crosses
  a page, so 1.0 is not expected there -- ``clean_agreement`` also reports the pairs whose
  gold text has no such furniture, and ``ours_in_gold`` the share of our words that the gold
  text has, in order: near 1.0 when our text is the gold minus its page junk);
* ``ga_pdf``: the PDF path against the text path for the same symbols: same locators, same
  texts;
* ``sc_en``: the share of top-level ``<num>`` of each resolution's ``<mainBody>`` recovered as
  their paragraphs, with their text (operative ``N``, ``annex[-X]-N``, or kept unnumbered where the
  locator would repeat): the count of :mod:`eval.akn_check` (``python -m eval.akn_check DIR...``);
* ``ctoc``: the sample report must give exactly paragraphs 1..90, each with the text of its
  line in the source (markup removed; a paragraph that announces a list -- para. 42 and its
  agenda -- holds that list after its own sentence);
* ``hr``: the Special Rapporteur reports (no gold paragraph list): duplicate locators (must
  be 0), numbers missing from each report's numbering, and whether the paragraphs named
  in ``../eval/dev_questions.jsonl`` exist.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from eval.akn_check import check_files
from indexer.paragraphs import clean_inline
from indexer.readers import read_document
from parasearch.types import NUMBERED, DocumentError, normalize_symbol

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
_PRINTED_RE = re.compile(r"^(?:annex-(?:[A-Za-z0-9.]+-)?|sect-[A-Za-z0-9.]+-)?(\d+)$")
_FURNITURE_IN_GOLD = re.compile(r"_{5,}|\b\d{2}-\d{5}\b|\b\d{1,3}/\d{1,3}\b\s+\d{2}-\d{5}|\*\d{7}\*")


def _norm(text: str) -> list[str]:
    return re.sub(r"\s+", " ", text).strip().split(" ")


def text_ratio(a: str, b: str) -> float:
    """Word-level similarity in [0, 1] after whitespace normalisation."""
    wa, wb = _norm(a), _norm(b)
    if wa == wb:
        return 1.0
    return difflib.SequenceMatcher(None, wa, wb, autojunk=False).ratio()


def containment(ours: str, gold: str) -> float:
    """Share of our words found, in order, in the gold text (insensitive to junk the gold adds)."""
    wa, wb = _norm(ours), _norm(gold)
    sm = difflib.SequenceMatcher(None, wa, wb, autojunk=False)
    return sum(b.size for b in sm.get_matching_blocks()) / len(wa) if wa else 0.0


def _load_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# --------------------------------------------------------------------------- GA text


def eval_ga_text(corpus: Path, limit: int | None = None, examples: int = 12) -> dict[str, Any]:
    ga = corpus / "ga"
    if not (ga / "operative_paragraphs.jsonl").exists():
        return {"skipped": "ga/operative_paragraphs.jsonl not found"}
    gold: dict[str, dict[str, str]] = defaultdict(dict)
    for row in _load_jsonl(ga / "operative_paragraphs.jsonl"):
        gold[normalize_symbol(row["symbol"])][row["para"]] = row["text"]
    manifest = _load_jsonl(ga / "manifest.jsonl")
    if limit:
        manifest = manifest[:limit]
    gold_pairs = recovered = printed = via_annex = emitted = extra = 0
    ratios: list[float] = []
    inside: list[float] = []  # share of our words found in the gold text
    clean_ratios: list[float] = []
    misses: list[str] = []
    extras: list[str] = []
    errors: list[str] = []
    low: list[tuple[float, str]] = []
    t0 = time.time()
    for meta in manifest:
        path = ga / meta["file"]
        key = normalize_symbol(meta["symbol"])
        want = gold.get(key, {})
        gold_pairs += len(want)
        try:
            parsed = read_document(path, meta)
        except DocumentError as exc:
            errors.append(f"{meta['symbol']}: {exc}")
            continue
        got = {p.para: p.text for p in parsed.paragraphs if p.kind == NUMBERED}
        # other locators that carry a printed number: annex-N, annex-II-N, sect-II-N
        printed_as: defaultdict[str, dict[str, str]] = defaultdict(dict)
        for p in parsed.paragraphs:
            m = _PRINTED_RE.match(p.para)
            if m and p.para != m.group(1):
                printed_as[m.group(1)][p.para] = p.text
        emitted += len(got)
        for para, gtext in want.items():
            # the gold tool keeps one number sequence per document: where an annex or a
            # section restarts the numbering, its "N" is that annex's / section's paragraph N
            # (score used to pick and accept the match, true text ratio, locator)
            best = (text_ratio(got[para], gtext),) * 2 + (para,) if para in got else (0.0, 0.0, "")
            if best[0] < 0.5:
                for loc, atext in printed_as.get(para, {}).items():
                    r = text_ratio(atext, gtext)
                    score = r
                    if r < 0.5 and containment(atext, gtext) >= 0.9:
                        score = 0.5  # the gold text is ours plus page junk around it
                    if score > best[0]:
                        best = (score, r, loc)
            if para in got:
                recovered += 1
            if best[2] and (best[0] >= 0.5 or best[2] == para):
                printed += 1
                if best[2] != para:
                    via_annex += 1
                r = best[1]
                ratios.append(r)
                loc_text = got.get(best[2]) or printed_as[para].get(best[2], "")
                inside.append(1.0 if r == 1.0 else containment(loc_text, gtext))
                if not _FURNITURE_IN_GOLD.search(gtext):
                    clean_ratios.append(r)
                    if r < 0.9:
                        low.append((r, f"{meta['symbol']} para {para} ({best[2]})"))
            else:
                misses.append(f"{meta['symbol']} para {para}: {gtext[:70]}")
        for p in parsed.paragraphs:
            m = _PRINTED_RE.match(p.para)
            if p.kind == NUMBERED and m and m.group(1) not in want:
                extra += 1
                extras.append(f"{meta['symbol']} para {p.para}: {p.text[:70]}")
    low.sort()
    return {
        "documents": len(manifest),
        "gold_pairs": gold_pairs,
        "recovered": recovered,
        "recall": recovered / gold_pairs if gold_pairs else 0.0,
        "recovered_printed_number": printed,
        "recall_printed_number": printed / gold_pairs if gold_pairs else 0.0,
        "recovered_as_annex": via_annex,
        "emitted_numbered": emitted,
        "not_in_gold": extra,
        "extra_rate": extra / emitted if emitted else 0.0,
        "text_agreement_mean": statistics.fmean(ratios) if ratios else 0.0,
        "text_agreement_median": statistics.median(ratios) if ratios else 0.0,
        "text_agreement_ge_0.95": sum(r >= 0.95 for r in ratios) / len(ratios) if ratios else 0.0,
        "ours_in_gold_mean": statistics.fmean(inside) if inside else 0.0,
        "clean_agreement_mean": statistics.fmean(clean_ratios) if clean_ratios else 0.0,
        "clean_pairs": len(clean_ratios),
        "errors": errors,
        "examples_missed": misses[:examples],
        "examples_not_in_gold": extras[:examples],
        "examples_low_agreement": [f"{r:.2f} {s}" for r, s in low[:examples]],
        "seconds": round(time.time() - t0, 1),
    }


# --------------------------------------------------------------------------- GA PDF vs text


def eval_ga_pdf(corpus: Path, limit: int | None = None, examples: int = 8) -> dict[str, Any]:
    ga = corpus / "ga"
    mpath = ga / "pdf_manifest.jsonl"
    if not mpath.exists():
        return {"skipped": "ga/pdf_manifest.jsonl not found"}
    rows = _load_jsonl(mpath)
    if limit:
        rows = rows[:limit]
    docs = same_locators = paras = same_text = 0
    ratios: list[float] = []
    diffs: list[str] = []
    errors: list[str] = []
    for row in rows:
        pdf_path = ga / row["file"]
        txt_path = ga / "text" / (row["symbol"].replace("/", "_") + ".txt")
        if not txt_path.exists():
            continue
        try:
            a = read_document(pdf_path, {"symbol": row["symbol"]})
            b = read_document(txt_path, {"symbol": row["symbol"]})
        except DocumentError as exc:
            errors.append(f"{row['symbol']}: {exc}")
            continue
        docs += 1
        pa = {p.para: p.text for p in a.paragraphs}
        pb = {p.para: p.text for p in b.paragraphs}
        if list(pa) == list(pb):
            same_locators += 1
        elif len(diffs) < examples:
            diffs.append(
                f"{row['symbol']}: locators pdf-only {sorted(set(pa) - set(pb))[:5]} "
                f"text-only {sorted(set(pb) - set(pa))[:5]}"
            )
        for para in pa.keys() & pb.keys():
            paras += 1
            r = text_ratio(pa[para], pb[para])
            ratios.append(r)
            if _norm(pa[para]) == _norm(pb[para]):
                same_text += 1
            elif len(diffs) < examples:
                diffs.append(f"{row['symbol']} {para}: {_first_diff(pa[para], pb[para])}")
    return {
        "documents": docs,
        "same_locator_list": same_locators / docs if docs else 0.0,
        "paragraphs_compared": paras,
        "identical_text": same_text / paras if paras else 0.0,
        "text_agreement_mean": statistics.fmean(ratios) if ratios else 0.0,
        "errors": errors,
        "examples_differences": diffs,
    }


def _first_diff(a: str, b: str) -> str:
    wa, wb = _norm(a), _norm(b)
    sm = difflib.SequenceMatcher(None, wa, wb, autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op != "equal":
            ours, theirs = " ".join(wa[max(0, i1 - 3) : i2 + 2]), " ".join(wb[max(0, j1 - 3) : j2 + 2])
            return f"pdf «{ours}» text «{theirs}»"
    return ""


# --------------------------------------------------------------------------- SC AKN


def eval_sc(corpus: Path, limit: int | None = None) -> dict[str, Any]:
    """The AKN reader's paragraph-number recall over ``sc/en``: the count of :mod:`eval.akn_check`."""
    folder = corpus / "sc" / "en"
    if not folder.exists():
        return {"skipped": "sc/en not found"}
    files = sorted(folder.glob("*.xml"))
    if limit:
        files = files[:limit]
    report = check_files(files)
    return {
        "documents": len(files),
        "top_level_nums": report.marked_up,
        "recovered": report.recovered,
        "recall": report.recall,
        "errors": report.errors[:8],
        "examples_missed": report.missing[:8],
    }


# --------------------------------------------------------------------------- CTOC


def ctoc_expected(md_text: str) -> dict[str, str]:
    """Independent reference: each top-level ``N. text`` line of the source, markup removed."""
    out: dict[str, str] = {}
    last = 0
    for line in md_text.splitlines():
        m = re.match(r"^(\d{1,3})\.\s+(\S.*)$", line)
        if m and int(m.group(1)) == last + 1:
            last = int(m.group(1))
            out[m.group(1)] = clean_inline(m.group(2))
    return out


def eval_ctoc(corpus: Path) -> dict[str, Any]:
    folder = corpus / "ctoc"
    files = sorted(folder.glob("*.md"))
    if not files:
        return {"skipped": "ctoc/*.md not found"}
    manifest = (
        {r["file"]: r for r in _load_jsonl(folder / "manifest.jsonl")}
        if (folder / "manifest.jsonl").exists()
        else {}
    )
    path = files[0]
    parsed = read_document(path, manifest.get(path.name))
    expected = ctoc_expected(path.read_text(encoding="utf-8"))
    numbered = [p for p in parsed.paragraphs if p.kind == NUMBERED]
    locs = [p.para for p in numbered]
    exact = 0
    wrong: list[str] = []
    for p in numbered:
        want = expected.get(p.para)
        if want is None:
            continue
        if p.text == want or p.text.startswith(want + "\n") and want.endswith(":"):
            exact += 1
        elif len(wrong) < 8:
            wrong.append(f"para {p.para}: got «{p.text[:80]}» want «{want[:80]}»")
    return {
        "numbered": len(numbered),
        "locators_1_to_90": locs == [str(i) for i in range(1, 91)],
        "exact_text": exact,
        "other_paragraphs": [p.para for p in parsed.paragraphs if p.kind != NUMBERED],
        "examples_wrong": wrong,
        "symbol": parsed.doc.symbol,
    }


# --------------------------------------------------------------------------- HR reports


def eval_hr(corpus: Path, limit: int | None = None) -> dict[str, Any]:
    """Special Rapporteur reports: no duplicate locators, numbering gaps, dev-question gold found."""
    folder = corpus / "hr"
    if not (folder / "manifest.jsonl").exists():
        return {"skipped": "hr/manifest.jsonl not found"}
    manifest = _load_jsonl(folder / "manifest.jsonl")
    if limit:
        manifest = manifest[:limit]
    docs = paragraphs = numbered = annex = dupes = gaps = 0
    found: dict[str, dict[str, str]] = {}
    examples: list[str] = []
    for meta in manifest:
        try:
            parsed = read_document(folder / meta["file"], meta)
        except DocumentError as exc:
            examples.append(f"{meta['symbol']}: {exc}")
            continue
        docs += 1
        locs = [p.para for p in parsed.paragraphs]
        paragraphs += len(locs)
        dupes += len(locs) - len(set(locs))
        nums = sorted(int(p.para) for p in parsed.paragraphs if p.kind == NUMBERED and p.para.isdigit())
        numbered += len(nums)
        annex += sum(1 for p in parsed.paragraphs if p.para.startswith("annex-"))
        missing = sorted(set(range(1, (nums[-1] if nums else 0) + 1)) - set(nums))
        gaps += len(missing)
        if missing and len(examples) < 8:
            examples.append(f"{meta['symbol']}: numbers not found {missing[:6]}")
        found[normalize_symbol(meta["symbol"])] = {p.para: p.text for p in parsed.paragraphs}
    gold_total = gold_found = 0
    qpath = corpus.parent / "eval" / "dev_questions.jsonl"
    if qpath.exists():
        for q in _load_jsonl(qpath):
            for rel in q.get("relevant", []):
                key = normalize_symbol(rel["symbol"])
                if key in found:
                    gold_total += 1
                    gold_found += rel["para"] in found[key]
    return {
        "documents": docs,
        "paragraphs": paragraphs,
        "numbered": numbered,
        "annex": annex,
        "duplicate_locators": dupes,
        "numbering_gaps": gaps,
        "dev_gold_pairs": gold_total,
        "dev_gold_found": gold_found,
        "examples_gaps": examples,
    }


# --------------------------------------------------------------------------- report


def run(corpus_dir: Path | str | None = None, limit: int | None = None) -> dict[str, Any]:
    """Run every section; returns the figures (also what ``parasearch eval --parse`` prints)."""
    corpus = Path(corpus_dir) if corpus_dir else DEFAULT_CORPUS
    if not corpus.exists():
        return {"skipped": f"corpus not found at {corpus}"}
    return {
        "corpus": str(corpus),
        "ctoc": eval_ctoc(corpus),
        "ga_text": eval_ga_text(corpus, limit),
        "ga_pdf": eval_ga_pdf(corpus, limit),
        "sc_en": eval_sc(corpus, limit),
        "hr": eval_hr(corpus, limit),
    }


def format_report(res: dict[str, Any]) -> str:
    if "skipped" in res:
        return f"parse quality: skipped ({res['skipped']})"
    lines = [f"Parse quality on {res['corpus']}", ""]
    rows: list[tuple[str, str, str]] = []
    c = res["ctoc"]
    if "skipped" not in c:
        rows += [
            (
                "ctoc",
                "numbered paragraphs (want 90, 1..90)",
                f"{c['numbered']} ({'ok' if c['locators_1_to_90'] else 'WRONG'})",
            ),
            ("ctoc", "exact text", f"{c['exact_text']}/90"),
        ]
    g = res["ga_text"]
    if "skipped" not in g:
        rows += [
            (
                "ga/text",
                "gold pairs with locator N emitted",
                f"{g['recovered']}/{g['gold_pairs']} = {g['recall']:.2%}",
            ),
            (
                "ga/text",
                "gold pairs recovered, printed number N (target >= 98%)",
                f"{g['recovered_printed_number']}/{g['gold_pairs']} = {g['recall_printed_number']:.2%}"
                f" ({g['recovered_as_annex']} as annex-N / sect-X-N)",
            ),
            (
                "ga/text",
                "emitted numbered not in gold (target <= 1%)",
                f"{g['not_in_gold']}/{g['emitted_numbered']} = {g['extra_rate']:.2%}",
            ),
            (
                "ga/text",
                "text agreement, mean / median",
                f"{g['text_agreement_mean']:.3f} / {g['text_agreement_median']:.3f}",
            ),
            ("ga/text", "text agreement >= 0.95", f"{g['text_agreement_ge_0.95']:.2%}"),
            ("ga/text", "our words found in the gold text, mean", f"{g['ours_in_gold_mean']:.3f}"),
            (
                "ga/text",
                "agreement where gold has no furniture",
                f"{g['clean_agreement_mean']:.3f} ({g['clean_pairs']} pairs)",
            ),
            ("ga/text", "documents refused", str(len(g["errors"]))),
        ]
    p = res["ga_pdf"]
    if "skipped" not in p:
        rows += [
            ("ga/pdf", "same locator list as text twin", f"{p['same_locator_list']:.2%} of {p['documents']}"),
            (
                "ga/pdf",
                "identical paragraph text",
                f"{p['identical_text']:.2%} of {p['paragraphs_compared']}",
            ),
            ("ga/pdf", "text agreement mean", f"{p['text_agreement_mean']:.4f}"),
        ]
    s = res["sc_en"]
    if "skipped" in s:
        rows.append(("sc/en", "top-level <num> recovered", f"skipped: {s['skipped']}"))
    else:
        rows.append(
            (
                "sc/en",
                "top-level <num> recovered",
                f"{s['recovered']}/{s['top_level_nums']} = {s['recall']:.2%}",
            )
        )
    h = res.get("hr", {})
    if "skipped" not in h:
        rows += [
            (
                "hr",
                "paragraphs (numbered / annex)",
                f"{h['paragraphs']} ({h['numbered']} / {h['annex']}) in {h['documents']} reports",
            ),
            ("hr", "duplicate locators", str(h["duplicate_locators"])),
            ("hr", "numbers missing in the numbering", str(h["numbering_gaps"])),
            ("hr", "dev-question gold paragraphs found", f"{h['dev_gold_found']}/{h['dev_gold_pairs']}"),
        ]
    w1 = max(len(r[0]) for r in rows)
    w2 = max(len(r[1]) for r in rows)
    for a, b, v in rows:
        lines.append(f"{a:<{w1}}  {b:<{w2}}  {v}")
    for name, sec in (("ctoc", c), ("ga/text", g), ("ga/pdf", p), ("sc/en", s), ("hr", h)):
        for key in (
            "examples_wrong",
            "examples_missed",
            "examples_not_in_gold",
            "examples_low_agreement",
            "examples_differences",
            "examples_gaps",
            "errors",
        ):
            vals = sec.get(key) if isinstance(sec, dict) else None
            if vals:
                lines.append("")
                lines.append(f"{name} {key.replace('_', ' ')}:")
                lines += [f"  {v}" for v in vals[:12]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--limit", type=int, default=None, help="only the first N documents of each collection")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    res = run(args.corpus, args.limit)
    print(json.dumps(res, indent=2) if args.json else format_report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
