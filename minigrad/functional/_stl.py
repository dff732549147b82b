"""A replay of the libstdc++ selection algorithms PyTorch's CPU topk runs (std::nth_element, then
std::sort of the first k - 1, or std::partial_sort when k * 64 <= n), so that minigrad's topk
picks the same one of equal elements as PyTorch does. They are not stable, and which of equal
elements they keep depends on the whole slice, so the only way to agree is to run them.

Each function works in place on `q`, a list of (key, index) pairs compared by key with `<`,
over the half-open range [first, last), and follows libstdc++'s bits/stl_algo.h and stl_heap.h
step by step (same pivots, same swaps)."""

from __future__ import annotations

_THRESHOLD = 16  # libstdc++'s _S_threshold: below it, std::sort finishes with insertion sort


def _median_to_first(q: list, result: int, a: int, b: int, c: int) -> None:
    """std::__move_median_to_first: the median of q[a], q[b], q[c] swapped to q[result]."""
    if q[a][0] < q[b][0]:
        median = b if q[b][0] < q[c][0] else c if q[a][0] < q[c][0] else a
    else:
        median = a if q[a][0] < q[c][0] else c if q[b][0] < q[c][0] else b
    q[result], q[median] = q[median], q[result]


def _partition_pivot(q: list, first: int, last: int) -> int:
    """std::__unguarded_partition_pivot: partition around the median of three; the cut."""
    _median_to_first(q, first, first + 1, first + (last - first) // 2, last - 1)
    pivot, lo, hi = q[first][0], first + 1, last
    while True:
        while q[lo][0] < pivot:
            lo += 1
        hi -= 1
        while pivot < q[hi][0]:
            hi -= 1
        if not lo < hi:
            return lo
        q[lo], q[hi] = q[hi], q[lo]
        lo += 1


def _insertion_sort(q: list, first: int, last: int, guarded: bool = True) -> None:
    """std::__insertion_sort, or (guarded False) std::__unguarded_insertion_sort."""
    for i in range(first + 1 if guarded else first, last):
        value = q[i]
        if guarded and value[0] < q[first][0]:
            q[first + 1 : i + 1] = q[first:i]
            q[first] = value
            continue
        j = i
        while value[0] < q[j - 1][0]:
            q[j] = q[j - 1]
            j -= 1
        q[j] = value


def _adjust_heap(q: list, first: int, hole: int, length: int, value: tuple) -> None:
    """std::__adjust_heap (with its std::__push_heap): value sifted into the max-heap q[first:]."""
    top = child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if q[first + child][0] < q[first + child - 1][0]:
            child -= 1
        q[first + hole] = q[first + child]
        hole = child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        q[first + hole] = q[first + child - 1]
        hole = child - 1
    parent = (hole - 1) // 2
    while hole > top and q[first + parent][0] < value[0]:
        q[first + hole] = q[first + parent]
        hole, parent = parent, (parent - 1) // 2
    q[first + hole] = value


def _heap_select(q: list, first: int, middle: int, last: int) -> None:
    """std::__heap_select: the smallest middle - first elements, as a max-heap, to the front."""
    length = middle - first
    for parent in range((length - 2) // 2, -1, -1) if length >= 2 else ():
        _adjust_heap(q, first, parent, length, q[first + parent])
    for i in range(middle, last):
        if q[i][0] < q[first][0]:
            value, q[i] = q[i], q[first]
            _adjust_heap(q, first, 0, length, value)


def _sort_heap(q: list, first: int, last: int) -> None:
    """std::__sort_heap: the max-heap q[first:last] sorted ascending."""
    while last - first > 1:
        last -= 1
        value, q[last] = q[last], q[first]
        _adjust_heap(q, first, 0, last - first, value)


def _depth_limit(n: int) -> int:
    return 2 * (n.bit_length() - 1)  # std::__lg(n) * 2


def _nth_element(q: list, first: int, nth: int, last: int) -> None:
    """std::nth_element: q[nth] as in a sorted q, nothing larger before it nor smaller after."""
    if first == last or nth == last:
        return
    depth = _depth_limit(last - first)
    while last - first > 3:
        if depth == 0:
            _heap_select(q, first, nth + 1, last)
            q[first], q[nth] = q[nth], q[first]
            return
        depth -= 1
        cut = _partition_pivot(q, first, last)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(q, first, last)


def _introsort(q: list, first: int, last: int, depth: int) -> None:
    """std::__introsort_loop: quicksort down to runs of _THRESHOLD, heapsort past depth."""
    while last - first > _THRESHOLD:
        if depth == 0:
            _heap_select(q, first, last, last)
            _sort_heap(q, first, last)
            return
        depth -= 1
        cut = _partition_pivot(q, first, last)
        _introsort(q, cut, last, depth)
        last = cut


def _sort(q: list, first: int, last: int) -> None:
    """std::sort: introsort, then insertion sort."""
    if first == last:
        return
    _introsort(q, first, last, _depth_limit(last - first))
    if last - first > _THRESHOLD:
        _insertion_sort(q, first, first + _THRESHOLD)
        _insertion_sort(q, first + _THRESHOLD, last, guarded=False)
    else:
        _insertion_sort(q, first, last)


def topk_positions(keys: list[int], k: int) -> list[int]:
    """The positions PyTorch's CPU topk (sorted=True) returns for the k smallest keys (pass negated
    keys for the largest), in its order: its std::partial_sort for k * 64 <= len(keys), else
    std::nth_element at k - 1 followed by std::sort of the first k - 1."""
    n = len(keys)
    q = list(zip(keys, range(n), strict=True))
    if k == 0:
        return []
    if k * 64 <= n:
        _heap_select(q, 0, k, n)
        _sort_heap(q, 0, k)
    else:
        _nth_element(q, 0, k - 1, n)
        _sort(q, 0, k - 1)
    return [position for _, position in q[:k]]
