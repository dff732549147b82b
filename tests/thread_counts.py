"""A check shared by the kernel tests whose results must not depend on how many threads ran them."""

from collections.abc import Callable, Sequence

import numpy as np

from minigrad import _C


def assert_same_at_thread_counts(compute: Callable[[], Sequence[np.ndarray]], counts: Sequence[int] = (1, 2, 3)):
    """compute()'s arrays equal bit for bit at each thread count (the previous count restored)."""
    before = _C.get_num_threads()
    try:
        results = []
        for threads in counts:
            _C.set_num_threads(threads)
            results.append(list(compute()))
    finally:
        _C.set_num_threads(before)
    for threads, other in zip(counts[1:], results[1:], strict=True):
        for a, b in zip(results[0], other, strict=True):
            np.testing.assert_array_equal(a, b, err_msg=f"{threads} threads against {counts[0]}")
