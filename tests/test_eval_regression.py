"""Committed expected figures: eval/regressions/*.yaml, ``parasearch eval --regression`` and the docs' table.

The real case runs a small SciFact subset (from ../shared/bench/scifact, indexed in a temporary folder with
all-MiniLM-L6-v2, which comes with the project's packages): what CI can afford, with no prebuilt index.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from eval import regression as G
from tests.conftest import shared_path

SCIFACT_QUERIES = 15  # test queries of the subset
SCIFACT_DOCS = 150  # corpus records: the queries' gold, then the first records of the corpus


def _results_of(reg: G.Regression, shift: float = 0.0) -> dict:
    """A results.json that holds every figure of ``reg`` at its expected value (+ ``shift``, worse when > 0)."""
    results: dict = {"name": "made up", "sets": {}}
    for e in reg.expected:
        node = results
        for key in e.path[:-1]:
            node = node.setdefault(key, {})
        node[e.path[-1]] = e.value - shift if e.better == "higher" else e.value + shift
    return results


# -- the committed files --------------------------------------------------------------------------
def test_committed_files_are_valid_and_cover_the_headline_sets():
    files = G.regression_files()
    assert {f.stem for f in files} >= {"dev", "scifact", "arguana", "parse"}
    for file in files:
        reg = G.load(file)
        env, args = reg.invocation()
        assert reg.description and reg.recorded and args, file
        if "--beir" in args or "--questions" in args or "--index" in args:
            assert all(e.set and e.mode for e in reg.expected), file


@pytest.mark.parametrize("name", ["dev", "scifact", "arguana", "parse"])
def test_committed_figures_pass_as_recorded_and_fail_when_dropped(name, tmp_path, capsys):
    """``--regression FILE --results R``: the recorded figures pass; every figure lowered by more than its
    tolerance fails (exit 1), and the message names the figure."""
    from eval.cli import main

    file = G.REGRESSIONS_DIR / f"{name}.yaml"
    reg = G.load(file)
    same = tmp_path / "same.json"
    same.write_text(json.dumps(_results_of(reg)))
    assert main(["--regression", str(file), "--results", str(same)]) == 0
    assert "All " in capsys.readouterr().out
    for e in reg.expected:
        results = _results_of(reg)
        node = results
        for key in e.path[:-1]:
            node = node[key]
        node[e.path[-1]] = e.value - 2 * e.tolerance - 0.001 if e.better == "higher" else \
            e.value + 2 * e.tolerance + 0.001
        worse = tmp_path / "worse.json"
        worse.write_text(json.dumps(results))
        assert main(["--regression", str(file), "--results", str(worse)]) == 1, e.label
        captured = capsys.readouterr()
        assert "FAIL" in captured.out and f"{e.label}: expected" in captured.err, e.label
    # Within the tolerance: passes.
    within = tmp_path / "within.json"
    within.write_text(json.dumps(_results_of(reg, shift=0.5 * min(e.tolerance for e in reg.expected))))
    assert main(["--regression", str(file), "--results", str(within)]) == 0


def test_docs_show_the_committed_figures():
    """docs/evaluation.md's table of committed figures is the one the files make (python -m eval.regression
    --docs rewrites it)."""
    text = G.DOC_FILE.read_text(encoding="utf-8")
    section = G.docs_section(text)
    assert section is not None, f"{G.DOC_FILE} has no section between the markers"
    assert section == G.docs_table(), "run: python -m eval.regression --docs"
    for file in G.regression_files():
        reg = G.load(file)
        assert reg.command in section
        for e in reg.expected:
            assert f"| {e.label} " in section and f" {G.figure(e.value)} " in section


def _expected(name: str) -> dict[str, float]:
    """``{label: value}`` of a committed file (labels as the table shows them: ``dev_questions hybrid nDCG@10``)."""
    return {e.label: e.value for e in G.load(G.REGRESSIONS_DIR / f"{name}.yaml").expected}


def test_docs_headline_figures_are_the_committed_ones():
    """The figures docs/evaluation.md quotes in its prose and tables for the current build are those of the files
    (rounded to 3 decimals): the dev table of "Context at index time" and the BEIR line after it."""
    text = G.DOC_FILE.read_text(encoding="utf-8")
    dev = _expected("dev")
    row = re.search(r"^\| `full-en-dual-ctx` \(title\+section\) \|(.+)\|$", text, re.MULTILINE)
    assert row, "the dev row of the context table is gone"
    shown = [float(x.strip(" *")) for x in row.group(1).split("|")]
    columns = ["dense nDCG@10", "dense R@10", "hybrid nDCG@10", "hybrid R@1", "hybrid R@10", "hybrid R@100"]
    assert shown == [round(dev[f"dev_questions {c}"], 3) for c in columns]
    beir = re.search(r"BEIR test queries with this re-ranker .*?SciFact nDCG@10 ([0-9.]+), ArguAna ([0-9.]+)\.", text,
                     re.DOTALL)
    assert beir, "the BEIR line of the context section is gone"
    assert float(beir.group(1)) == round(_expected("scifact")["scifact hybrid nDCG@10"], 3)
    assert float(beir.group(2)) == round(_expected("arguana")["arguana hybrid nDCG@10"], 3)


def test_bad_regression_files_are_refused(tmp_path, capsys):
    from eval.cli import main

    cases = {
        "no command": "expected: [{set: s, mode: bm25, metric: ndcg@10, value: 0.5}]\n",
        "not eval": "command: rm -rf /\nexpected: [{set: s, mode: bm25, metric: ndcg@10, value: 0.5}]\n",
        "sets --out": "command: parasearch eval --out x\nexpected: [{set: s, mode: bm25, metric: ndcg@10, value: 1}]\n",
        "no value": "command: parasearch eval --parse\nexpected: [{path: a.b, metric: m}]\n",
        "no place": "command: parasearch eval --parse\nexpected: [{metric: m, value: 1}]\n",
        "bad key": "command: parasearch eval --parse\nexpected: [{path: a, metric: m, value: 1, tol: 2}]\n",
    }
    for why, text in cases.items():
        file = tmp_path / "bad.yaml"
        file.write_text(text)
        with pytest.raises(G.RegressionError):
            G.load(file)
        assert main(["--regression", str(file), "--results", str(file)]) == 2, why
        assert "bad.yaml" in capsys.readouterr().err, why


# -- a real run -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scifact_mini(tmp_path_factory) -> Path:
    """SciFact's first test queries, their gold and the first corpus records, as a BEIR folder."""
    source = shared_path("../bench/scifact")
    qrels = (source / "qrels" / "test.tsv").read_text().splitlines()
    rows = [line.split("\t") for line in qrels[1:] if line.strip()]
    queries = list(dict.fromkeys(q for q, _, _ in rows))[:SCIFACT_QUERIES]
    kept = [r for r in rows if r[0] in queries]
    gold = {d for _, d, _ in kept}
    corpus = []
    with open(source / "corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if rec["_id"] in gold or len(corpus) < SCIFACT_DOCS - len(gold):
                corpus.append(rec)
    folder = tmp_path_factory.mktemp("bench") / "scifact-mini"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in corpus), encoding="utf-8")
    with open(source / "queries.jsonl", encoding="utf-8") as f:
        qrows = [json.loads(line) for line in f if line.strip()]
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in qrows if q["_id"] in queries),
                                          encoding="utf-8")
    (folder / "qrels" / "test.tsv").write_text(qrels[0] + "\n" + "".join("\t".join(r) + "\n" for r in kept))
    return folder


def test_regression_runs_its_command_and_fails_on_a_drop(scifact_mini, tmp_path, monkeypatch, capsys):
    from eval.cli import main

    monkeypatch.setenv("PARASEARCH_EVAL_CACHE", str(tmp_path / "evalcache"))
    command = (f"parasearch eval --beir {scifact_mini} --model all-MiniLM-L6-v2 --mode bm25 --mode dense -k 10 "
               f"--cache-dir {tmp_path / 'cache'}")
    # The true figures, from a plain run of the same command.
    first = tmp_path / "first"
    assert main([*command.split()[2:], "--quiet", "--out", str(first)]) == 0
    measured = json.loads((first / "results.json").read_text())["sets"]["scifact-mini"]["modes"]
    bm25, dense = measured["bm25"]["all"]["ndcg@10"], measured["dense"]["all"]["recall@10"]
    assert 0.2 < bm25 <= 1 and 0.2 < dense <= 1
    capsys.readouterr()

    def write(value: float) -> Path:
        file = tmp_path / "mini.yaml"
        file.write_text(f"description: SciFact, {SCIFACT_QUERIES} test queries over {SCIFACT_DOCS} records\n"
                        f"command: {command}\nrecorded: test\ntolerance: 0.01\nexpected:\n"
                        f"  - {{set: scifact-mini, mode: bm25, metric: ndcg@10, value: {value:.4f}}}\n"
                        f"  - {{set: scifact-mini, mode: dense, metric: recall@10, value: {dense:.4f}, "
                        f"tolerance: 0.02}}\n")
        return file

    # The command is run again by --regression, its outputs under the cache: the true value passes.
    assert main(["--regression", str(write(bm25)), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "scifact-mini bm25 nDCG@10" in out and "All 2 figures within their tolerance" in out
    assert (tmp_path / "evalcache" / "regression" / "mini" / "results.json").is_file()
    # Expected above the measured figure by more than its tolerance: exit 1, the figure named.
    higher = write(bm25 + 0.05)
    saved = tmp_path / "evalcache" / "regression" / "mini" / "results.json"
    assert main(["--regression", str(higher), "--results", str(saved)]) == 1
    captured = capsys.readouterr()
    assert "| scifact-mini bm25 nDCG@10 " in captured.out and "FAIL" in captured.out
    assert "scifact-mini bm25 nDCG@10: expected" in captured.err
    # Within the tolerance: passes.
    assert main(["--regression", str(write(bm25 + 0.005)), "--results", str(saved)]) == 0
