"""eval.fusion's alternatives to the engine's fusion, on synthetic lists: reciprocal rank fusion and min-max."""

from __future__ import annotations

import numpy as np
import pytest

from eval.fusion import ENGINE, Lists, _convex, _minmax, _rrf, variants
from service.search import fuse_convex

LISTS = Lists(dense=(np.array([10, 20, 30]), np.array([0.9, 0.8, 0.1])),
              bm25=(np.array([30, 40]), np.array([12.0, 3.0])))


def test_rrf_sums_one_over_k_plus_rank() -> None:
    ids, scores = _rrf(LISTS, 60)
    by_id = dict(zip(ids.tolist(), scores.tolist(), strict=True))
    assert by_id == pytest.approx({10: 1 / 61, 20: 1 / 62, 30: 1 / 63 + 1 / 61, 40: 1 / 62})
    assert ids[np.argmax(scores)] == 30  # in both lists


def test_rrf_ignores_score_scales_and_a_small_k_favours_the_top_ranks() -> None:
    scaled = Lists(dense=(LISTS.dense[0], LISTS.dense[1] * 100), bm25=LISTS.bm25)
    np.testing.assert_allclose(_rrf(LISTS, 60)[1], _rrf(scaled, 60)[1])
    # 1 is first in one list; 2 is fourth in both
    one = Lists(dense=(np.array([1, 5, 6, 2]), np.ones(4)), bm25=(np.array([7, 8, 9, 2]), np.ones(4)))
    small = dict(zip(*(a.tolist() for a in _rrf(one, 1)), strict=True))
    large = dict(zip(*(a.tolist() for a in _rrf(one, 1000)), strict=True))
    assert small[1] > small[2]  # first once beats fourth twice when k is small ...
    assert large[2] > large[1]  # ... and loses when k is large


def test_minmax() -> None:
    np.testing.assert_allclose(_minmax(np.array([2.0, 4.0, 3.0])), [0.0, 1.0, 0.5])
    np.testing.assert_allclose(_minmax(np.array([5.0, 5.0])), [1.0, 1.0])
    assert len(_minmax(np.zeros(0))) == 0


def test_the_engine_row_is_the_engines_fusion() -> None:
    fuse = dict(variants())[ENGINE]
    got = fuse(LISTS)
    want = fuse_convex(*LISTS.dense, *LISTS.bm25)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1])
    ids, scores = _convex(LISTS, 0.5, "minmax")
    assert dict(zip(ids.tolist(), scores.tolist(), strict=True)) == pytest.approx(
        {10: 0.5 * 1 + 0.5 * 0, 20: 0.5 * (0.7 / 0.8) + 0, 30: 0 + 0.5 * 1, 40: 0 + 0})
