"""Array helpers the models share where numpy's own is slow on the sizes they meet."""

from __future__ import annotations

import numpy as np


def distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of `values` (flattened), as np.unique gives them, by sorting
    a copy. numpy 2.4's np.unique without index, inverse or counts hashes instead: 0.34-0.88 s
    on a million integers against 0.02 s sorted, 570 against 82 microseconds on 3,000
    (measured on 2026-12-04; XL key-account hybrid's individuals team asked for it four times
    a flow, about a million pairs each)."""
    ordered = np.sort(values, axis=None)
    keep = np.empty(len(ordered), dtype=bool)
    keep[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]
