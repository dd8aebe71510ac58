"""service.dates: the years a query names, so that search prefers documents of those years."""

from __future__ import annotations

import pytest

from service.dates import ordinal_value, query_years, session_years


@pytest.mark.parametrize(("query", "years"), [
    ("in its 2024 resolution", [2024]),
    ("from 2020 to 2023", [2020, 2021, 2022, 2023]),
    ("2020-2022 reports", [2020, 2021, 2022]),
    ("between 1990 and 2024", [1990, 2024]),  # a span of more than 12 years names its two ends only
    ("A/RES/79/191", []),  # a document number, not a year
    ("S/RES/2672 (2023)", [2023]),
    ("a share of 0.2024 per cent", []),  # a decimal
    ("a budget of 2025.5 million dollars", []),  # a decimal whose integer part looks like a year
    ("adopted in 2024. It decided", [2024]),  # a year that ends a sentence is still one
    ("resolution 2672", []),
    ("the General Assembly at its eightieth session", [2025, 2026]),
    ("the General Assembly at its 79th session", [2024, 2025]),
    ("the Human Rights Council at its fortieth session", [2019]),
    ("the working group at its second session", []),  # whose sessions map onto no year
    ("the General Assembly and the Human Rights Council at their fortieth sessions", []),
])
def test_query_years(query: str, years: list[int]) -> None:
    assert query_years(query) == years


def test_ordinals() -> None:
    assert [ordinal_value(w) for w in ("first", "twelfth", "seventy-ninth", "seventy ninth", "80th", "fortieth")] \
        == [1, 12, 79, 79, 80, 40]
    assert ordinal_value("session") is None
    assert session_years("the Human Rights Council's first session") == {2006}
