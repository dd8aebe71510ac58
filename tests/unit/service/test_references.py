"""service.references: a document (and paragraph) named in a query, found among the index's symbols."""

from __future__ import annotations

import pytest

from service.references import parse_reference

# symbol key -> document ids, as LoadedIndex.key_to_docs holds them (S/RES/2672 in two languages)
KEYS = {"a/res/79/191": [0], "s/res/2672(2023)": [1, 2], "ctoc/cop/wg.2/2013/5": [3], "a/hrc/40/59": [4]}


@pytest.mark.parametrize(("query", "named", "docs", "para", "rest"), [
    ("A/RES/79/191 para 59", "A/RES/79/191", [0], "59", ""),
    ("a/res/79/191 paragraph 12 drug policy", "a/res/79/191", [0], "12", "drug policy"),
    ("res 79/191 on drugs", "A/RES/79/191", [0], None, "on drugs"),
    ("resolution 2672 (2023) op 3", "S/RES/2672 (2023)", [1, 2], "3", ""),
    ("S/RES/2672 § 2", "S/RES/2672", [1, 2], "2", ""),  # without its year: every S/RES/2672 (year)
    ("humanitarian access in S/RES/2672 (2023) pp 4", "S/RES/2672 (2023)", [1, 2], "preamble-4",
     "humanitarian access in"),
    ("what does CTOC/COP/WG.2/2013/5 say about training?", "CTOC/COP/WG.2/2013/5", [3], None,
     "what does say about training?"),
    ("A/HRC/40/59, preambular paragraph 2", "A/HRC/40/59", [4], "preamble-2", ""),
])
def test_references_found(query: str, named: str, docs: list[int], para: str | None, rest: str) -> None:
    ref = parse_reference(query, KEYS)
    assert ref is not None
    assert (ref.named, ref.doc_ids, ref.para, ref.rest, ref.unknown) == (named, docs, para, rest, False)


def test_a_document_the_index_lacks_is_reported_not_ignored() -> None:
    ref = parse_reference("A/RES/80/1 para 2 on oceans", KEYS)
    assert ref is not None and ref.unknown
    assert (ref.named, ref.doc_ids, ref.para, ref.rest) == ("A/RES/80/1", [], "2", "on oceans")


@pytest.mark.parametrize("query", ["human trafficking in 2023", "s/he reported", "79/191", "para 5 of the report",
                                   "A/RES/ without a number"])
def test_no_reference(query: str) -> None:
    assert parse_reference(query, KEYS) is None
