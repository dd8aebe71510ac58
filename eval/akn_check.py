"""Paragraph-number recall of the AKN reader (:mod:`indexer.readers.akn`) over Security Council files.

Every top-level ``<num>`` of a resolution's ``<mainBody>`` that prints a paragraph number
(``1.``, ``1 -``) must come out of the reader as that paragraph, with its text: as operative
paragraph ``N``, as annex paragraph ``annex[-X]-N``, or (where its locator would repeat one
already given) as an unnumbered paragraph that keeps its printed number in its text. A
numbered item of a list inside a paragraph ("1.", "2." of para. 3) belongs to that paragraph's
text. :func:`check_file` counts where each number went in a :class:`NumberingReport`;
``recall`` is the share recovered. The same count is the ``sc_en`` section of the parse-quality
report (:func:`eval.parse_quality.eval_sc`).

    python -m eval.akn_check ../shared/corpus/sc/en [../shared/corpus/sc/fr ...] [-v]

prints, per folder, how many top-level numbered paragraphs the markup has and where each one
went; then, across folders, the resolutions whose operative numbering differs between
languages. Exit status 1 when a numbered paragraph was not recovered or a file could not be read.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from indexer.readers.akn import AKN_NS, inline_text, read, render_lines, top_number
from parasearch.types import ANNEX, NUMBERED, PREAMBLE, DocumentError, Paragraph, ParsedDocument

_N = "{" + AKN_NS + "}"


@dataclass
class NumberingReport:
    """How the top-level ``<num>`` of every body paragraph came out of the reader."""

    files: int = 0
    marked_up: int = 0  # top-level <num> with a paragraph number, body and attachments
    operative: int = 0  # recovered as operative paragraph N
    annex: int = 0  # recovered as annex paragraph N
    kept_unnumbered: int = 0  # recovered, but its locator would have repeated: unnumbered with its number
    nested: int = 0  # numbered items of a list inside a paragraph ("1.", "2." of para 3), kept in its text
    missing: list[str] = field(default_factory=list)  # not recovered: "file: num"
    from_text: int = 0  # operative numbers typed in the text, recovered too
    gaps: list[str] = field(default_factory=list)  # files whose operative numbers are not 1..K
    errors: list[str] = field(default_factory=list)
    paragraphs: int = 0
    numbered: int = 0
    preamble: int = 0

    @property
    def recovered(self) -> int:
        """Top-level numbers found as their paragraph: operative, annex or kept unnumbered."""
        return self.operative + self.annex + self.kept_unnumbered

    @property
    def recall(self) -> float:
        """The share of the marked-up top-level numbers recovered (0.0 when there are none)."""
        return self.recovered / self.marked_up if self.marked_up else 0.0


def check_file(path: Path, report: NumberingReport) -> ParsedDocument | None:
    """Check that every top-level numbered paragraph of ``path`` is in the reader's output.

    A file the reader refuses, or fails on, is counted in ``report.errors`` (the check goes on with
    the next file) and gives None.
    """
    report.files += 1
    try:
        parsed = read(path)
    except DocumentError as exc:
        report.errors.append(f"{path.name}: {exc}")
        return None
    except Exception as exc:  # noqa: BLE001 - a reader bug is reported, and must not stop the check
        report.errors.append(f"{path.name}: {type(exc).__name__}: {exc}")
        return None
    tree = etree.parse(
        str(path), etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
    )
    for body in tree.getroot().iter(_N + "mainBody"):
        for el in body:
            own = el.find(_N + "num") if isinstance(el.tag, str) else None  # not for a processing instruction
            for num_el in el.iter(_N + "num"):
                printed = inline_text(num_el)
                n = top_number(printed)
                if n is None:
                    continue
                parent = num_el.getparent()
                lines = render_lines(parent, skip_num=True) if parent is not None else []
                first = lines[0] if lines else ""
                reversed_as = re.search(
                    rf"number {re.escape(printed)} read as (\d+)", " ".join(parsed.warnings)
                )
                if reversed_as:
                    n = int(reversed_as.group(1))
                hit = _where(parsed.paragraphs, n, printed, first, nested=num_el is not own)
                if num_el is own:
                    report.marked_up += 1
                elif hit == "nested":
                    report.nested += 1
                    continue
                else:
                    report.marked_up += 1  # an operative number nested by mistake, read as its own paragraph
                if hit == "operative":
                    report.operative += 1
                elif hit == "annex":
                    report.annex += 1
                elif hit == "unnumbered":
                    report.kept_unnumbered += 1
                else:
                    report.missing.append(f"{path.name}: {printed}")
    ops = [int(p.para) for p in parsed.paragraphs if p.kind == NUMBERED]
    if ops != list(range(1, len(ops) + 1)):
        report.gaps.append(f"{path.name}: {_ranges(ops)}")
    report.from_text += sum(1 for w in parsed.warnings if w.startswith("paragraph ") and "from its text" in w)
    report.paragraphs += len(parsed.paragraphs)
    report.numbered += len(ops)
    report.preamble += sum(1 for p in parsed.paragraphs if p.kind == PREAMBLE)
    return parsed


def check_files(paths: Iterable[Path], report: NumberingReport | None = None) -> NumberingReport:
    """:func:`check_file` over ``paths``, into ``report`` (a new one when None)."""
    report = report if report is not None else NumberingReport()
    for path in paths:
        check_file(path, report)
    return report


def _where(paragraphs: list[Paragraph], n: int, printed: str, first: str, nested: bool) -> str:
    """Where the paragraph numbered ``printed`` (text starting ``first``) is in the reader's output."""
    labelled = f"{printed} {first}".rstrip()
    for p in paragraphs:
        head = p.text.split("\n", 1)[0]
        # The paragraph's text is the block's, or its start when the next paragraph was split off it.
        same = p.text.startswith(first) or (len(head) >= 20 and first.startswith(head))
        if p.para == str(n) and same:
            return "operative"
        if p.para.startswith("annex") and p.para.endswith(f"-{n}") and same:
            return "annex"
        if p.para.startswith("u-") and p.text.startswith(labelled):
            return "unnumbered"
    if nested and any(line.startswith(labelled) for p in paragraphs for line in p.text.split("\n")):
        return "nested"
    return ""


def _ranges(nums: list[int]) -> str:
    out: list[str] = []
    for n in nums:
        if out and "-" not in out[-1] and int(out[-1]) + 1 == n:
            out[-1] = f"{out[-1]}-{n}"
        elif out and "-" in out[-1] and int(out[-1].split("-")[1]) + 1 == n:
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return ",".join(out)


def main(argv: list[str] | None = None) -> int:
    """``python -m eval.akn_check DIR...``: check paragraph-number recovery over AKN folders.

    Prints, per folder, how many top-level numbered paragraphs the markup has and where each
    one went; then, across folders, the resolutions whose operative numbering differs between
    languages. Exit status 1 when a numbered paragraph was not recovered.
    """
    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("-v", "--verbose", action="store_true", help="list gaps and cross-language differences")
    args = ap.parse_args(argv)
    failed = False
    outline: dict[str, dict[str, tuple[int, int, int]]] = {}
    for folder in args.dirs:
        report = NumberingReport()
        for path in sorted(folder.glob("*.xml")):
            parsed = check_file(path, report)
            if parsed is not None:
                ops = sum(1 for p in parsed.paragraphs if p.kind == NUMBERED)
                pre = sum(1 for p in parsed.paragraphs if p.kind == PREAMBLE)
                ann = sum(1 for p in parsed.paragraphs if p.kind == ANNEX)
                key = f"{parsed.doc.symbol} [{parsed.doc.language}]"
                outline.setdefault(parsed.doc.symbol, {})[key] = (pre, ops, ann)
        failed = failed or bool(report.missing or report.errors)
        print(
            f"{folder}: {report.files} files, {report.paragraphs} paragraphs "
            f"({report.preamble} preambular, {report.numbered} operative); "
            f"paragraph <num>: {report.marked_up}, recovered {report.operative} operative "
            f"+ {report.annex} annex + {report.kept_unnumbered} kept unnumbered "
            "(number repeated or out of order), "
            f"missing {len(report.missing)}; numbered list items inside their paragraph: {report.nested}; "
            f"numbers typed in text recovered: {report.from_text}; "
            f"files with gaps in operative numbering: {len(report.gaps)}; errors: {len(report.errors)}"
        )
        for line in report.missing + report.errors + (report.gaps if args.verbose else []):
            print("   ", line)
    differing = {s: v for s, v in outline.items() if len({x[:2] for x in v.values()}) > 1}
    if len(args.dirs) > 1:
        print(f"resolutions whose (preamble, operative) counts differ between languages: {len(differing)}")
        if args.verbose:
            for symbol, per in sorted(differing.items()):
                print(
                    "   ",
                    symbol,
                    " ".join(f"{k.split('[')[1][:-1]}={v[0]}/{v[1]}" for k, v in sorted(per.items())),
                )
    sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
