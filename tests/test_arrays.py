"""models.arrays: the sorted distinct values, as np.unique gives them."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from models.arrays import distinct


def test_distinct_sorts_and_drops_repeats() -> None:
    assert distinct(np.array([5, 3, 5, -1, 3, 0])).tolist() == [-1, 0, 3, 5]
    assert distinct(np.array([[2, 2], [1, 2]])).tolist() == [1, 2]


def test_distinct_of_nothing_is_empty_and_keeps_the_type() -> None:
    found = distinct(np.zeros(0, dtype=np.int32))
    assert len(found) == 0 and found.dtype == np.int32


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.integers(-10**12, 10**12), max_size=60))
def test_distinct_is_numpys_unique(values: list[int]) -> None:
    array = np.array(values, dtype=np.int64)
    assert np.array_equal(distinct(array), np.unique(array))
    assert np.array_equal(array, np.array(values, dtype=np.int64))  # the input is left alone
