"""service.search's hybrid fusion on synthetic score lists: a weighted sum of per-query z-normalised scores over the
union of the lists, a paragraph missing from a list getting that list's lowest normalised score."""

from __future__ import annotations

import numpy as np
import pytest

from service.search import DENSE_WEIGHT, fuse_convex, fuse_many


def ranked(ids: np.ndarray, scores: np.ndarray) -> list[int]:
    return ids[np.argsort(-scores, kind="stable")].tolist()


DENSE = (np.array([10, 20, 30, 40]), np.array([0.90, 0.80, 0.70, 0.20]))
BM25 = (np.array([30, 50, 10]), np.array([14.0, 9.0, 2.0]))


def test_union_of_both_lists_best_of_both_first() -> None:
    ids, scores = fuse_convex(*DENSE, *BM25, w=0.5)
    assert ids.tolist() == [10, 20, 30, 40, 50]  # each paragraph once, in id order
    # 30 is third by meaning and first by words: together, first; 40 is last by meaning and absent from BM25.
    assert ranked(ids, scores) == [30, 10, 20, 50, 40]


def test_the_weight_moves_the_order_between_the_two_lists() -> None:
    ids, scores = fuse_convex(*DENSE, *BM25, w=1.0)
    assert ranked(ids, scores)[:4] == [10, 20, 30, 40]  # dense alone (50, not in it, gets its lowest score)
    ids, scores = fuse_convex(*DENSE, *BM25, w=0.0)
    assert ranked(ids, scores)[:3] == [30, 50, 10]  # BM25 alone


def test_a_paragraph_missing_from_a_list_gets_that_lists_lowest_score() -> None:
    ids, scores = fuse_convex(*DENSE, *BM25, w=0.0)
    by_id = dict(zip(ids.tolist(), scores.tolist(), strict=True))
    assert by_id[20] == by_id[40] == pytest.approx(by_id[10])  # 10 is BM25's lowest; 20 and 40 are not in BM25


def test_scores_on_any_scale_fuse_alike() -> None:
    a = fuse_convex(*DENSE, *BM25)
    b = fuse_convex(DENSE[0], DENSE[1] * 0.01, BM25[0], BM25[1] * 1000 + 7)
    np.testing.assert_allclose(a[1], b[1])


def test_a_list_of_equal_scores_adds_nothing_and_no_nan() -> None:
    ids, scores = fuse_convex(*DENSE, np.array([50, 60]), np.array([3.0, 3.0]), w=DENSE_WEIGHT)
    assert np.isfinite(scores).all()
    assert ranked(ids, scores)[:4] == [10, 20, 30, 40]


def test_empty_lists() -> None:
    ids, scores = fuse_convex(*DENSE, np.zeros(0, np.int64), np.zeros(0))
    assert ranked(ids, scores) == [10, 20, 30, 40]
    ids, scores = fuse_many([], [])
    assert len(ids) == len(scores) == 0


def test_several_arms_with_equal_weights() -> None:
    e5 = (np.array([1, 2, 3]), np.array([0.9, 0.5, 0.1]))
    minilm = (np.array([3, 2, 4]), np.array([0.8, 0.7, 0.1]))
    ids, scores = fuse_many([e5, minilm], [0.5, 0.5])
    assert ranked(ids, scores)[0] == 2  # second in both: first together
    assert ranked(ids, scores)[-1] == 4


def test_weights_and_lists_must_pair() -> None:
    with pytest.raises(ValueError):
        fuse_many([DENSE, BM25], [1.0])
