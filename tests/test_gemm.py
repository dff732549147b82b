"""_C.gemm against numpy: shapes, transposes, alpha/beta, threads, SIMD levels, bad input."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from gradcheck_utils import float32_tol
from hypothesis import given, settings
from hypothesis import strategies as st
from simd_levels import skip_unless_below_native
from torch_reference import TorchReference

import minigrad
from minigrad import _C

torch_reference = TorchReference(__name__)

DTYPES = [np.float32, np.float64]
TRANS = [(False, False), (True, False), (False, True), (True, True)]
# Around the micro-tile edges (6/12 rows, 8/16/32 columns), the cache blocks
# (KC 192/256/384, MC 72/144) and primes.
EDGE_SIZES = [1, 2, 3, 5, 6, 7, 8, 11, 12, 13, 16, 17, 31, 32, 33, 47, 64, 65, 70, 127, 129, 257]


def operands(rng, m, k, n, ta, tb, dtype):
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    return a, b


def check(c, a, b, ta, tb, alpha=1.0, beta=0.0, c0=None, bias=None):
    """c == alpha * op(a) @ op(b) + beta * c0 (+ bias on every row) within a rounding bound that
    scales with K and with the size of every term."""
    op_a = (a.T if ta else a).astype(np.float64)
    op_b = (b.T if tb else b).astype(np.float64)
    ref = alpha * (op_a @ op_b)
    size = abs(alpha) * (np.abs(op_a) @ np.abs(op_b))
    if beta != 0:
        ref += beta * c0.astype(np.float64)
        size += abs(beta) * np.abs(c0.astype(np.float64))
    if bias is not None:
        ref += bias.astype(np.float64)
        size += np.abs(bias.astype(np.float64))
    k = op_a.shape[1]
    tol = float32_tol(k) if c.dtype == np.float32 else 4 * max(k, 1) * np.finfo(np.float64).eps
    err = np.abs(c.astype(np.float64) - ref)
    bad = err > tol * size + 1e-30
    assert not bad.any(), f"{bad.sum()} elements off; worst error {err.max():.3g}, tol {tol:.3g}"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ta, tb", TRANS)
@pytest.mark.parametrize(
    "m, k, n",
    [
        (1, 1, 1),
        (6, 25, 784),
        (16, 150, 100),
        (64, 400, 120),
        (7, 300, 5),
        (150, 513, 37),
        (300, 70, 290),
        (97, 24, 290),  # the deepest K taken row panel by row panel
        (30, 2, 4200),  # shallow K over several column panels
        (40, 576, 300),  # K slices deeper than KC where that saves one (AVX2: 2 x 288)
        (50, 800, 300),  # (AVX2: 3 x 267)
    ],
)
def test_matches_numpy(dtype, ta, tb, m, k, n):
    rng = np.random.default_rng(m * 1000 + k + n)
    a, b = operands(rng, m, k, n, ta, tb, dtype)
    c = _C.gemm(a, b, ta, tb)
    assert c.shape == (m, n) and c.dtype == dtype and c.flags.c_contiguous
    check(c, a, b, ta, tb)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("alpha, beta", [(1.0, 1.0), (-0.5, 2.0), (2.0, 0.0), (1.5, -1.0)])
def test_alpha_beta_accumulate_in_place(dtype, alpha, beta):
    rng = np.random.default_rng(1)
    for ta, tb in TRANS:
        a, b = operands(rng, 37, 300, 45, ta, tb, dtype)
        c0 = rng.standard_normal((37, 45)).astype(dtype)
        out = c0.copy()
        result = _C.gemm(a, b, ta, tb, alpha=alpha, beta=beta, out=out)
        assert result is out
        check(out, a, b, ta, tb, alpha, beta, c0)


@settings(max_examples=60, deadline=None)
@given(
    m=st.sampled_from(EDGE_SIZES) | st.integers(1, 70),
    k=st.sampled_from(EDGE_SIZES) | st.integers(1, 70),
    n=st.sampled_from(EDGE_SIZES) | st.integers(1, 70),
    ta=st.booleans(),
    tb=st.booleans(),
    beta=st.sampled_from([0.0, 1.0, 0.5]),
    double=st.booleans(),
)
def test_shapes_property(m, k, n, ta, tb, beta, double):
    dtype = np.float64 if double else np.float32
    rng = np.random.default_rng(m * 7919 + k * 31 + n)
    a, b = operands(rng, m, k, n, ta, tb, dtype)
    c0 = rng.standard_normal((m, n)).astype(dtype)
    out = c0.copy()
    _C.gemm(a, b, ta, tb, alpha=0.75, beta=beta, out=out)
    check(out, a, b, ta, tb, 0.75, beta, c0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_block_edges(dtype):
    """Past every cache block: K > KC (several K slices), M > MC, N > NC with few rows."""
    rng = np.random.default_rng(2)
    for m, k, n, ta, tb in [
        (300, 600, 70, False, True),
        (7, 40, 4200, True, False),
        (30, 64, 4100, False, True),  # B packed in two panels of equal width (as two past NC for float64)
        (145, 257, 2050, False, False),
        (40, 800, 1100, False, False),  # A packed: K slices of KC (384 on AVX-512), the last one ragged
        (29, 1024, 100, False, False),  # rows of A 4 KiB apart: packed on AVX-512, not for its width
        (29, 2048, 70, False, True),
        (20, 400, 1024, False, False),  # B's rows 4 KiB apart (float32): packed in panels that fit L2
        (7, 130, 2048, False, False),  # 8 or 16 KiB apart
    ]:
        a, b = operands(rng, m, k, n, ta, tb, dtype)
        check(_C.gemm(a, b, ta, tb), a, b, ta, tb)


def test_beta_zero_ignores_nan_in_out():
    a = np.ones((13, 9), np.float32)
    b = np.ones((9, 21), np.float32)
    out = np.full((13, 21), np.nan, np.float32)
    _C.gemm(a, b, out=out)
    np.testing.assert_array_equal(out, np.full((13, 21), 9.0, np.float32))


def test_alpha_zero_reads_neither_operand():
    a = np.full((5, 4), np.nan)
    b = np.full((4, 3), np.inf)
    out = np.full((5, 3), 2.0)
    _C.gemm(a, b, alpha=0.0, beta=0.5, out=out)
    np.testing.assert_array_equal(out, np.full((5, 3), 1.0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_sizes(dtype):
    assert _C.gemm(np.ones((0, 4), dtype), np.ones((4, 3), dtype)).shape == (0, 3)
    assert _C.gemm(np.ones((2, 4), dtype), np.ones((4, 0), dtype)).shape == (2, 0)
    np.testing.assert_array_equal(
        _C.gemm(np.ones((2, 0), dtype), np.ones((0, 3), dtype)), np.zeros((2, 3))
    )
    out = np.full((2, 3), 4.0, dtype)
    _C.gemm(np.ones((0, 2), dtype), np.ones((0, 3), dtype), trans_a=True, beta=0.5, out=out)
    np.testing.assert_array_equal(out, np.full((2, 3), 2.0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_threads_give_identical_results(dtype):
    rng = np.random.default_rng(3)
    before = minigrad.get_num_threads()
    try:
        for m, k, n, ta, tb in [
            (301, 300, 203, False, True),
            (6, 300, 3000, True, False),
            (260, 517, 260, False, False),
            (50, 4200, 1000, True, True),  # rows for one block: the columns split, K in several slices
            (150, 17000, 250, False, False),  # few columns, K so deep that the team shares B in several panels
            (512, 300, 392, False, False),  # wide enough to split the columns, or 43 row tiles in 8 blocks
            (20, 500, 2048, False, False),  # B's rows 8 KiB apart: shared in panels that fit L2
        ]:
            a, b = operands(rng, m, k, n, ta, tb, dtype)
            results = []
            for threads in (1, 2, 3):
                minigrad.set_num_threads(threads)
                results.append(_C.gemm(a, b, ta, tb))
            check(results[0], a, b, ta, tb)
            np.testing.assert_array_equal(results[0], results[1])
            np.testing.assert_array_equal(results[0], results[2])
    finally:
        minigrad.set_num_threads(before)


def check_path(rng, shapes, ta, tb, dtype):
    """The products (m, k, n) with op(A), op(B) as ta, tb: plain, and with alpha, beta and bias,
    within check's bound, identical at 1, 2 and 3 threads."""
    before = minigrad.get_num_threads()
    try:
        for m, k, n in shapes:
            a, b = operands(rng, m, k, n, ta, tb, dtype)
            bias = rng.standard_normal(n).astype(dtype)
            c0 = rng.standard_normal((m, n)).astype(dtype)
            results = []
            for threads in (1, 2, 3):
                minigrad.set_num_threads(threads)
                check(_C.gemm(a, b, ta, tb), a, b, ta, tb)
                out = c0.copy()
                _C.gemm(a, b, ta, tb, alpha=-0.5, beta=2.0, out=out, bias=bias)
                check(out, a, b, ta, tb, -0.5, 2.0, c0, bias)
                results.append(out)
            np.testing.assert_array_equal(results[0], results[1])
            np.testing.assert_array_equal(results[0], results[2])
    finally:
        minigrad.set_num_threads(before)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dot_product_path(dtype):
    """A B^T with few rows of A (Linear's x W^T at small batches) sums each element as a dot
    product in vector lanes instead of packing B: rows and columns around its tiles (4 x 6 on
    AVX-512, 3 x 4 on AVX2), K below, at and past a vector (and its tail), M around the rows up
    to which it runs (max(4, min(48, K / 16))) and just past them; alpha, beta and bias; thread
    counts give identical results; -0 kept."""
    shapes = [(1, 1, 1), (1, 7, 5), (2, 17, 6), (3, 33, 7), (4, 15, 13), (5, 100, 25), (9, 160, 12), (11, 177, 31),
              (16, 256, 100), (17, 256, 11), (48, 800, 19), (49, 800, 19), (20, 64, 9)]
    check_path(np.random.default_rng(21), shapes, False, True, dtype)
    negative_zero = _C.gemm(np.ones((2, 3), dtype), np.zeros((40, 3), dtype), False, True, alpha=-1.0)
    assert np.signbit(negative_zero).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_few_rows_path(dtype):
    """Up to 3 rows of A against B untransposed (Linear's input gradient at batch 1) stream B's
    rows into sums kept in L1: rows 1-3 and 4 (the blocked path), K around its unroll by 4,
    columns below a vector, across vectors, across its column blocks (8 KiB of a row) and with a
    tail left to the blocked path; A transposed (the blocked path); alpha, beta and bias; thread
    counts give identical results; -0 kept."""
    rng = np.random.default_rng(22)
    shapes = [(1, 1, 7), (1, 3, 8), (2, 4, 9), (3, 5, 17), (1, 517, 784), (2, 8, 2100), (3, 517, 2100),
              (1, 2000, 600), (4, 300, 600)]
    check_path(rng, shapes, False, False, dtype)
    check_path(rng, [(2, 300, 600)], True, False, dtype)
    negative_zero = _C.gemm(np.ones((1, 3), dtype), np.zeros((3, 40), dtype), False, False, alpha=-1.0)
    assert np.signbit(negative_zero).all()


def test_matches_torch():
    rng = np.random.default_rng(4)
    a, b = operands(rng, 70, 129, 33, True, True, np.float64)
    expected = torch_reference("gemm/TT", lambda torch: {"c": torch.from_numpy(a).T @ torch.from_numpy(b).T})
    np.testing.assert_allclose(_C.gemm(a, b, True, True), expected["c"], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("level", ["avx2", "generic"])
def test_lower_simd_levels(level):
    """MINIGRAD_SIMD caps the level at import, so the other paths run in a subprocess."""
    skip_unless_below_native(level)
    script = textwrap.dedent(
        """
        import numpy as np, minigrad, test_gemm
        from minigrad import _C
        assert _C.build_info()["simd"] == LEVEL, _C.build_info()
        rng = np.random.default_rng(5)
        for m, k, n in [(1, 1, 1), (6, 25, 784), (13, 300, 17), (4, 37, 11), (129, 70, 65), (7, 40, 2100)]:
            for dtype in (np.float32, np.float64):
                for ta, tb in test_gemm.TRANS:
                    a, b = test_gemm.operands(rng, m, k, n, ta, tb, dtype)
                    c0 = rng.standard_normal((m, n)).astype(dtype)
                    out = c0.copy()
                    for threads in (1, 2):
                        minigrad.set_num_threads(threads)
                        out[...] = c0
                        _C.gemm(a, b, ta, tb, alpha=1.5, beta=0.5, out=out)
                        test_gemm.check(out, a, b, ta, tb, 1.5, 0.5, c0)
                        bias = rng.standard_normal(n).astype(dtype)
                        out[...] = c0
                        _C.gemm(a, b, ta, tb, alpha=1.5, beta=0.5, out=out, bias=bias)
                        test_gemm.check(out, a, b, ta, tb, 1.5, 0.5, c0, bias)
        print("ok")
        """
    ).replace("LEVEL", repr(level))
    root = Path(minigrad.__file__).parent.parent
    tests = Path(__file__).parent
    env = dict(os.environ, MINIGRAD_SIMD=level, PYTHONPATH=os.pathsep.join([str(root), str(tests)]))
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=tests, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


# ---- bias (Linear's), added as C is written ----


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ta, tb", TRANS)
@pytest.mark.parametrize("beta", [0.0, 0.5])
def test_bias_is_added_to_every_row(dtype, ta, tb, beta):
    """Full tiles, ragged row and column edges, several K slices (K 800 > KC) and 1 or 2 threads;
    the same as the product followed by the bias, within the product's rounding."""
    rng = np.random.default_rng(11)
    for m, k, n in [(1, 1, 1), (13, 800, 17), (64, 70, 33), (129, 5, 512), (7, 40, 2100)]:
        a, b = operands(rng, m, k, n, ta, tb, dtype)
        bias = rng.standard_normal(n).astype(dtype)
        c0 = rng.standard_normal((m, n)).astype(dtype)
        for threads in (1, 2):
            minigrad.set_num_threads(threads)
            try:
                out = c0.copy()
                _C.gemm(a, b, ta, tb, alpha=1.5, beta=beta, out=out, bias=bias)
            finally:
                minigrad.set_num_threads(os.cpu_count() or 1)
            check(out, a, b, ta, tb, 1.5, beta, c0, bias)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bias_edge_cases(dtype):
    """K == 0 and alpha == 0 give beta * out + bias; batches add the bias to every product;
    without a bias a -0 product stays -0 (nothing is added to it)."""
    bias = np.arange(1, 6, dtype=dtype)
    empty = _C.gemm(np.ones((3, 0), dtype), np.ones((0, 5), dtype), bias=bias)
    np.testing.assert_array_equal(empty, np.broadcast_to(bias, (3, 5)))
    out = np.full((3, 5), 2, dtype)
    _C.gemm(np.ones((3, 4), dtype), np.ones((4, 5), dtype), alpha=0.0, beta=0.5, out=out, bias=bias)
    np.testing.assert_array_equal(out, 1 + np.broadcast_to(bias, (3, 5)))
    rng = np.random.default_rng(12)
    a, b = rng.standard_normal((4, 6, 7)).astype(dtype), rng.standard_normal((7, 5)).astype(dtype)
    got = _C.gemm(a, b, bias=bias)
    for i in range(4):
        check(got[i], a[i], b, False, False, bias=bias)
    negative_zero = _C.gemm(np.ones((2, 1), dtype), np.zeros((1, 40), dtype), alpha=-1.0)  # -1 * (+0)
    assert np.signbit(negative_zero).all()


@pytest.mark.parametrize(
    "bias, error",
    [
        (np.ones(4, np.float32), ValueError),  # N is 5
        (np.ones((1, 5), np.float32), ValueError),
        (np.ones(5, np.float64), TypeError),
        (np.ones(10, np.float32)[::2], ValueError),
        ([1.0] * 5, TypeError),
    ],
)
def test_bad_bias(bias, error):
    with pytest.raises(error, match="gemm.*bias"):
        _C.gemm(F, G, bias=bias)


def test_bias_must_not_share_memory_with_out():
    out = np.zeros((3, 5), np.float32)
    with pytest.raises(ValueError, match="gemm.*bias"):
        _C.gemm(F, G, out=out, bias=out[0])


# ---- batches of matrices (3-D operands) ----


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batched", ["both", "a", "b"])
@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
@pytest.mark.parametrize("count", [1, 3, 16])
def test_batches_match_numpy(dtype, batched, ta, tb, count):
    """3-D operands multiply pairwise; a 2-D one is shared by every product. 16 products of
    this size go to the threads whole, 1 and 3 one after another."""
    rng = np.random.default_rng(count)
    m, k, n = 5, 7, 9
    a = rng.standard_normal((count, k, m) if ta else (count, m, k)).astype(dtype)
    b = rng.standard_normal((count, n, k) if tb else (count, k, n)).astype(dtype)
    if batched == "a":
        b = b[0]
    elif batched == "b":
        a = a[0]
    op_a = np.swapaxes(a, -1, -2) if ta else a
    op_b = np.swapaxes(b, -1, -2) if tb else b
    want = np.matmul(op_a.astype(np.float64), op_b.astype(np.float64))
    got = _C.gemm(a, b, trans_a=ta, trans_b=tb)
    assert got.shape == (count, m, n) and got.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    out = rng.standard_normal((count, m, n)).astype(dtype)
    c0 = out.copy()
    _C.gemm(a, b, trans_a=ta, trans_b=tb, alpha=0.5, beta=2.0, out=out)
    np.testing.assert_allclose(out, 0.5 * want + 2.0 * c0, rtol=tol, atol=tol)


def heads_view(rng, shape, dtype):
    """An (N, heads, rows, cols) view of an (N, rows, heads, cols) array, as attention's heads:
    unit stride along rows, and batch axes that do not merge into one."""
    n, h, r, c = shape
    return rng.standard_normal((n, r, h, c)).astype(dtype).transpose(0, 2, 1, 3)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ta, tb", TRANS)
def test_strided_operands_are_read_in_place(dtype, ta, tb):
    """Operands along one or two batch axes with any non-negative strides and unit stride along
    their rows (permuted heads, sliced rows, broadcast axes of stride 0, a shared matrix) give
    each product as the contiguous copies do, at 1 and 2 threads."""
    rng = np.random.default_rng(21)
    n, h, m, k, cols = 3, 4, 13, 20, 17
    a = heads_view(rng, (n, h, k, m) if ta else (n, h, m, k), dtype)
    b = heads_view(rng, (n, h, cols, k) if tb else (n, h, k, cols), dtype)
    shared = rng.standard_normal((cols, k) if tb else (k, cols)).astype(dtype)
    sliced = rng.standard_normal((n * h, k + 3, m + 5) if ta else (n * h, m, k + 3)).astype(dtype)
    a3 = sliced[:, :k, :m] if ta else sliced[:, :, :k]  # rows k + 3 apart
    cases = [
        (a, b),
        (a, np.broadcast_to(b[:1], b.shape)),  # stride 0 along the first batch axis
        (a, shared),
        (a3, b.reshape(n * h, *b.shape[2:])),
    ]
    for x, y in cases:
        for threads in (1, 2):
            minigrad.set_num_threads(threads)
            try:
                c = _C.gemm(x, y, ta, tb)
            finally:
                minigrad.set_num_threads(os.cpu_count() or 1)
            batch = x.shape[:-2]
            assert c.shape == (*batch, m, cols) and c.flags.c_contiguous
            for index in np.ndindex(*batch):
                check(c[index], x[index], y[index] if y.ndim > 2 else y, ta, tb)


def test_strided_operands_bad_input():
    """What _C.gemm cannot read in place is a ValueError naming the op: a row stride other than
    1, negative strides, rows overlapping; out overlapping what a strided operand reads."""
    x = np.ones((2, 3, 4, 5), np.float32)
    w = np.ones((5, 2), np.float32)
    for bad in (x[..., ::2], x[:, ::-1], np.lib.stride_tricks.as_strided(x, (2, 3, 4, 5), (240, 80, 4, 4))):
        with pytest.raises(ValueError, match="gemm: a .* unit stride along its last axis"):
            _C.gemm(bad, w[: bad.shape[-1]])
    with pytest.raises(ValueError, match="batch sizes differ"):
        _C.gemm(x, np.ones((6, 5, 2), np.float32))
    big = np.zeros((2, 3, 4, 8), np.float32)
    with pytest.raises(ValueError, match="out must not share memory"):
        _C.gemm(big[..., :5], np.ones((5, 8), np.float32), out=big)


def test_matmul_of_permuted_heads_and_gradients():
    """Tensor-level: attention's products over permuted (N, heads, L, d) views (read in place)
    match numpy's matmul, and their gradients pass finite differences (float64)."""
    rng = np.random.default_rng(22)
    q = minigrad.tensor(rng.standard_normal((2, 5, 3, 4)), requires_grad=True)
    k = minigrad.tensor(rng.standard_normal((2, 6, 3, 4)), requires_grad=True)
    scores = q.permute(0, 2, 1, 3) @ k.permute(0, 2, 3, 1)
    want = q.detach().numpy().transpose(0, 2, 1, 3) @ k.detach().numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(scores.detach().numpy(), want, rtol=1e-12)
    assert minigrad.autograd.gradcheck(lambda a, b: a.permute(0, 2, 1, 3) @ b.permute(0, 2, 3, 1), [q, k])


def test_batches_of_every_size_and_thread_counts_agree():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((33, 4, 6)).astype(np.float32), rng.standard_normal((33, 6, 3)).astype(np.float32)
    threads = _C.get_num_threads()
    try:
        results = []
        for t in (1, 2):
            _C.set_num_threads(t)
            results.append(_C.gemm(a, b))
    finally:
        _C.set_num_threads(threads)
    np.testing.assert_array_equal(results[0], results[1])
    assert _C.gemm(np.ones((0, 2, 3)), np.ones((0, 3, 4))).shape == (0, 2, 4)
    assert _C.gemm(np.ones((2, 2, 0)), np.ones((2, 0, 4))).tolist() == np.zeros((2, 2, 4)).tolist()


# ---- bad input: TypeError / ValueError naming the op, never a crash ----

F = np.ones((3, 4), np.float32)
G = np.ones((4, 5), np.float32)


@pytest.mark.parametrize(
    "a, b, kwargs, error",
    [
        ([[1.0]], G, {}, TypeError),
        (F, "b", {}, TypeError),
        (F.astype(np.int64), G, {}, TypeError),
        (F, G.astype(np.float64), {}, TypeError),
        (F.astype(np.float16), G, {}, TypeError),
        (np.ones(4, np.float32), G, {}, ValueError),
        (F, np.ones((4, 5, 1), np.float32), {}, ValueError),
        (np.ones((4, 3), np.float32)[:, ::2], G[:2], {}, ValueError),
        (F, np.ones((5, 4), np.float32).T, {}, ValueError),
        (F, np.ones((3, 5), np.float32), {}, ValueError),
        (F, G, {"trans_a": True}, ValueError),
        (F, G, {"trans_b": True}, ValueError),
        (F, G, {"beta": 1.0}, ValueError),
        (F, G, {"out": np.ones((3, 5), np.float64)}, TypeError),
        (F, G, {"out": [[0.0] * 5] * 3}, TypeError),
        (F, G, {"out": np.ones((5, 3), np.float32)}, ValueError),
        (F, G, {"out": np.ones((3, 5, 1), np.float32)}, ValueError),
        (F, G, {"out": np.ones((5, 3), np.float32).T}, ValueError),
        (np.ones((2, 3, 4), np.float32), np.ones((3, 4, 5), np.float32), {}, ValueError),  # batch sizes
        (np.ones((1, 1, 2, 3, 4), np.float32), G, {}, ValueError),  # 5-D
        (np.ones((2, 3, 4), np.float32), G, {"out": np.ones((3, 5), np.float32)}, ValueError),
    ],
)
def test_bad_input(a, b, kwargs, error):
    with pytest.raises(error, match="gemm"):
        _C.gemm(a, b, **kwargs)


def test_bad_out_readonly_and_aliased():
    out = np.zeros((3, 5), np.float32)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="gemm.*writeable"):
        _C.gemm(F, G, out=out)
    square = np.ones((4, 4), np.float32)
    with pytest.raises(ValueError, match="gemm.*share memory"):
        _C.gemm(square, square.copy(), out=square)
    with pytest.raises(ValueError, match="gemm.*share memory"):
        _C.gemm(square.copy(), square, beta=1.0, out=square)


def test_dtypes_compare_by_equality_not_identity():
    """An unpickled array (a pickled data set, multiprocessing) carries an equal copy of its dtype,
    not numpy's own instance: the kernels take it. A byte-swapped float32 is another dtype."""
    import pickle

    a = pickle.loads(pickle.dumps(np.arange(6, dtype=np.float32).reshape(2, 3)))
    assert a.dtype == np.float32 and a.dtype is not np.dtype(np.float32)
    np.testing.assert_array_equal(_C.gemm(a, a, False, True), a @ a.T)
    with pytest.raises(TypeError, match="must be float32 or float64, got >f4"):
        _C.gemm(a.astype(">f4"), a)


def test_inner_dimension_message_names_both_shapes():
    with pytest.raises(ValueError, match=r"gemm.*\(3, 4\).*\(3, 5\)"):
        _C.gemm(F, np.ones((3, 5), np.float32))


def test_fma_peak_is_a_positive_rate_and_bad_arguments_raise():
    # Not a speed check (machines are shared): the measurement runs and is sane.
    one = _C.fma_peak_gflops(1, seconds=0.01)
    assert 0.1 < one < 1e5
    assert _C.fma_peak_gflops(2, seconds=0.01) > 0
    for threads in (0, -1, 1025):
        with pytest.raises(ValueError, match="threads"):
            _C.fma_peak_gflops(threads)
    for seconds in (0.0, -1.0, float("nan"), 61.0):
        with pytest.raises(ValueError, match="seconds"):
            _C.fma_peak_gflops(1, seconds)
