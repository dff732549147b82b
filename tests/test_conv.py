"""conv2d_forward / conv2d_backward against a numpy reference, finite differences and torch."""

import os

import numpy as np
import pytest
from gradcheck_utils import assert_grad_close, float32_tol, numerical_grad
from hypothesis import given, settings
from hypothesis import strategies as st
from simd_levels import run_tests_at_level
from torch_reference import TorchReference
from train_utils import same_minigrad_env

from minigrad import _C

torch_reference = TorchReference(__name__)


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def out_size(size, kernel, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def windows(x, kh, kw, stride, padding, dilation):
    """Yield (oh, ow, patch, (rows, cols)); patch = padded x[:, :, rows, cols], (N, C, KH, KW)."""
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh_n = out_size(x.shape[2], kh, sh, ph, dh)
    ow_n = out_size(x.shape[3], kw, sw, pw, dw)
    for oh in range(oh_n):
        for ow in range(ow_n):
            rows = slice(oh * sh, oh * sh + dh * (kh - 1) + 1, dh)
            cols = slice(ow * sw, ow * sw + dw * (kw - 1) + 1, dw)
            yield oh, ow, xp[:, :, rows, cols], (rows, cols)


def conv_ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """y[n, o, oh, ow] = sum over the group's channels and taps of window * w[o] (+ b[o])."""
    n, c_out, kh, kw = x.shape[0], w.shape[0], w.shape[2], w.shape[3]
    cg, og = x.shape[1] // groups, c_out // groups
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    y = np.zeros(
        (n, c_out, out_size(x.shape[2], kh, sh, ph, dh), out_size(x.shape[3], kw, sw, pw, dw))
    )
    for oh, ow, patch, _ in windows(x, kh, kw, stride, padding, dilation):
        for g in range(groups):
            y[:, g * og : (g + 1) * og, oh, ow] = np.einsum(
                "nckl,ockl->no", patch[:, g * cg : (g + 1) * cg], w[g * og : (g + 1) * og]
            )
    if b is not None:
        y += b[None, :, None, None]
    return y


def conv_backward_ref(dy, x, w, stride=1, padding=0, dilation=1, groups=1):
    """Each output's dy spread back over the window it read (dx) and the weights it used (dw)."""
    kh, kw = w.shape[2], w.shape[3]
    cg, og = x.shape[1] // groups, w.shape[0] // groups
    ph, pw = pair(padding)
    dxp = np.zeros((x.shape[0], x.shape[1], x.shape[2] + 2 * ph, x.shape[3] + 2 * pw))
    dw = np.zeros(w.shape)
    for oh, ow, patch, (rows, cols) in windows(x, kh, kw, stride, padding, dilation):
        for g in range(groups):
            chans, outs = slice(g * cg, (g + 1) * cg), slice(g * og, (g + 1) * og)
            d = dy[:, outs, oh, ow]
            dxp[:, chans, rows, cols] += np.einsum("no,ockl->nckl", d, w[outs])
            dw[outs] += np.einsum("no,nckl->ockl", d, patch[:, chans])
    dx = dxp[:, :, ph : ph + x.shape[2], pw : pw + x.shape[3]]
    return dx, dw, dy.sum(axis=(0, 2, 3))


def make_case(rng, n, c_in, c_out, hw, khw, groups):
    x = rng.standard_normal((n, c_in, *hw))
    w = rng.standard_normal((c_out, c_in // groups, *khw))
    b = rng.standard_normal(c_out)
    return x, w, b


def check_against_reference(x, w, b, stride, padding, dilation, groups, rng):
    """Forward and backward: float64 tight, float32 within tolerances scaled by reductions."""
    kw_args = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    y_ref = conv_ref(x, w, b, **kw_args)
    dy = rng.standard_normal(y_ref.shape)
    dx_ref, dw_ref, db_ref = conv_backward_ref(dy, x, w, **kw_args)
    fwd_len = w.shape[1] * w.shape[2] * w.shape[3]
    wgrad_len = dy.shape[0] * dy.shape[2] * dy.shape[3]
    dx_len = (w.shape[0] // groups) * w.shape[2] * w.shape[3]
    for dtype, scale in ((np.float64, 0.0), (np.float32, 1.0)):
        args = [a.astype(dtype) for a in (x, w, b)]
        y = _C.conv2d_forward(*args, **kw_args)
        dx, dw, db = _C.conv2d_backward(dy.astype(dtype), args[0], args[1], **kw_args)
        assert y.dtype == dx.dtype == dw.dtype == db.dtype == dtype
        for got, ref, length in (
            (y, y_ref, fwd_len),
            (dx, dx_ref, dx_len),
            (dw, dw_ref, wgrad_len),
            (db, db_ref, wgrad_len),
        ):
            tol = scale * float32_tol(length) + 1e-12 * length
            assert got.shape == ref.shape
            np.testing.assert_array_less(
                np.abs(got - ref), tol * np.maximum(np.abs(ref), 1.0) + 1e-300
            )


def check_config(config, seed):
    """check_against_reference on a drawn (n, c_in, c_out, hw, khw, stride, padding, dilation, groups)."""
    n, c_in, c_out, hw, khw, stride, padding, dilation, groups = config
    rng = np.random.default_rng(seed)
    x, w, b = make_case(rng, n, c_in, c_out, hw, khw, groups)
    check_against_reference(x, w, b, stride, padding, dilation, groups, rng)


CASES = [
    # (n, c_in, c_out, (h, w), (kh, kw), stride, padding, dilation, groups)
    (2, 3, 4, (7, 6), (3, 3), 1, 1, 1, 1),
    (1, 1, 6, (28, 28), (5, 5), 1, 2, 1, 1),  # LeNet-5 conv1
    (3, 6, 16, (14, 14), (5, 5), 1, 0, 1, 1),  # LeNet-5 conv2
    (1, 2, 3, (1, 1), (1, 1), 1, 0, 1, 1),  # 1x1 image, batch 1
    (1, 2, 3, (1, 1), (3, 3), 1, 1, 1, 1),  # 1x1 image, all padding but the centre
    (2, 2, 3, (5, 4), (5, 4), 1, 0, 1, 1),  # kernel equal to the image
    (2, 3, 2, (9, 11), (2, 3), (4, 5), 0, 1, 1),  # stride larger than the kernel
    (2, 3, 2, (9, 8), (3, 2), 1, (2, 1), 2, 1),  # dilation 2
    (2, 4, 6, (6, 5), (3, 3), 2, 1, 1, 2),  # groups 2
    (2, 4, 4, (6, 7), (3, 3), 1, 1, 1, 4),  # depthwise
    (2, 4, 8, (5, 6), (2, 3), 1, 1, (1, 2), 4),  # depthwise, multiplier 2
    (2, 4, 6, (5, 7), (1, 1), 1, 0, 1, 2),  # pointwise (x is its own column matrix)
    (3, 3, 5, (7, 9), (1, 1), 2, 0, 1, 1),  # 1x1 with stride: not pointwise
    (2, 3, 4, (9, 10), (1, 1), (2, 3), (1, 2), 1, 1),  # 1x1, stride and padding: dx written outright
    (2, 3, 5, (8, 7), (4, 3), (3, 2), (2, 0), (2, 3), 1),  # odd, non-square everything
    # Stride 1 with <= 16 channels per group runs the direct kernels, lanes along
    # output rows when out_w fills 16-wide row tiles better than the output
    # channels fill 8 lanes, else across channels (csrc/cpu/conv.cpp).
    (2, 3, 7, (6, 37), (3, 3), 1, 1, 1, 1),  # along rows: 3 row tiles, a ragged 7th channel
    (3, 5, 13, (9, 8), (3, 4), 1, (1, 2), 1, 1),  # across channels: 13 of 16 lanes, ragged tap rows
    (2, 4, 9, (7, 21), (2, 3), 1, (1, 0), (2, 3), 1),  # dilated: rows skipped by dx, 9 channels
    (2, 6, 10, (5, 6), (3, 3), 1, 1, 1, 2),  # groups of 3 -> 5 channels
    # Across channels the forward pass reads x in place, region by region of
    # pixels with the same taps inside the image, where few regions hold it.
    (2, 5, 16, (16, 16), (3, 3), 2, 1, 1, 1),  # stride 2: top row, left column, corner, interior
    (2, 3, 8, (8, 8), (3, 3), 1, 1, 1, 1),  # nine regions
    (2, 4, 8, (8, 8), (1, 1), 1, 1, 1, 1),  # 1x1 with padding: border pixels read nothing (bias alone)
    (2, 4, 8, (9, 10), (3, 3), 1, 2, 2, 1),  # dilation 2
    (2, 4, 8, (7, 7), (3, 3), 2, 1, 1, 1),  # 4x4 outputs, interior too small: the padded copy
    (2, 2, 3, (6, 9), (1, 3), 1, (1, 1), 1, 1),  # padding beyond the kernel's reach: dx on the GEMM path
    (2, 16, 16, (4, 5), (2, 2), 1, 0, 1, 1),  # 16 channels: the last direct size
    (2, 17, 3, (4, 5), (2, 2), 1, 0, 1, 1),  # 17 input channels: im2col + GEMM
    (1, 4, 4, (9, 9), (3, 3), 2, 1, 1, 4),  # depthwise with stride 2: blocks of channels, dx on the GEMM path
    (2, 4, 8, (7, 7), (3, 3), 2, 1, 1, 4),  # depthwise, multiplier 2, stride 2: the scalar direct kernel
    (2, 20, 20, (7, 7), (3, 3), 1, 1, 1, 20),  # depthwise: blocks of 8 + 8 + 4 lanes (AVX2 floats)
    (2, 16, 16, (5, 16), (3, 3), 1, 1, 1, 16),  # depthwise, rows of 16: into the lanes row by row
    (2, 9, 9, (9, 11), (5, 5), 2, 2, 1, 9),  # depthwise 5x5: dweight in passes of 9 + 9 + 7 taps
    (1, 12, 12, (10, 9), (3, 3), 1, 2, 2, 12),  # depthwise, dilated: dx the flipped correlation
    (2, 6, 6, (8, 8), (3, 3), 3, 0, 1, 6),  # depthwise, stride 3, no padding
    (1, 5, 5, (6, 7), (3, 3), 1, 3, 1, 5),  # depthwise, padding beyond the kernel: the general paths
    # With a stride, few channels (and on AVX2 rate up to 64) take the same direct kernels over a
    # zero-padded, phase-split image, forward and dweight (across channels); the kernel rows that
    # read padding are skipped. Stride 2 splits each row in one pass (odd and even widths and
    # paddings below, here and on the GEMM path). dx (dilation 1): a broadcast GEMM per stride phase.
    (2, 3, 5, (7, 11), (3, 4), 2, (2, 3), 1, 1),
    (2, 34, 40, (9, 10), (3, 3), 2, (0, 2), 1, 2),  # GEMM path: 20 output channels per group
    # GEMM path folding 8 samples of 64 pixels per GEMM: the phase-split slots keep their padding
    # from the first fold to the last, ragged one (19 = 8 + 8 + 3).
    (19, 17, 20, (16, 16), (3, 3), 2, 1, 1, 1),
    (2, 3, 7, (9, 40), (3, 3), 2, 1, 1, 1),  # along rows: 20 pixels out per row, ragged channels
    (3, 5, 13, (11, 9), (3, 4), (2, 3), (1, 2), 1, 1),  # across channels, strides 2 x 3
    (2, 4, 9, (13, 21), (2, 3), 3, (1, 0), (2, 3), 1),  # stride 3, dilated
    (2, 4, 8, (11, 13), (2, 3), 3, (1, 2), 1, 1),  # stride 3: dx phases that no kernel row reaches are zero
    (2, 6, 10, (9, 8), (5, 5), 2, 2, 1, 2),  # 5x5, groups of 3 -> 5
    (2, 24, 32, (10, 32), (3, 3), 2, 1, 1, 1),  # AVX2 rate: along rows (16 pixels), 24 -> 32 channels
    (2, 32, 24, (8, 8), (3, 3), 2, 1, 1, 1),  # AVX2 rate: across channels (4 pixels per row)
    # Floats across 32 or more channels in whole 16-lane vectors run AVX-512's broadcast tile (9
    # pixels x 48 channels) where the CPU has it; with a stride the direct range then takes any
    # channels whose weights fit the L2.
    (2, 32, 48, (16, 16), (3, 3), 2, 1, 1, 1),  # one whole strip of 48; dx across 32 input channels
    (2, 48, 96, (13, 14), (3, 3), 2, 1, 1, 1),  # two strips, past AVX2's 64 channels
    (2, 32, 80, (10, 9), (3, 3), 2, 1, 1, 1),  # a strip of 48 and one of 32
    (2, 64, 64, (9, 9), (3, 3), 2, 1, 1, 2),  # groups of 32
    (2, 64, 64, (56, 56), (3, 3), 2, 1, 1, 1),  # an 861 KiB padded image: within a 1 MiB L2
    # On AVX2 (and AVX-512 whose 512-bit FMAs run at the 256-bit rate), stride 1 with 17-128 channels
    # per group also runs the direct kernels when every lane is busy and the padded image fits in L2;
    # the weight gradient there too when the output channels fill 8 lanes (across channels).
    (2, 24, 20, (6, 16), (3, 3), 1, 1, 1, 1),  # along rows: out_w and in_w 16; dw on the GEMM path (20 channels)
    (2, 20, 24, (5, 4), (3, 3), 1, 1, 1, 1),  # forward and dw across channels (24 of 24 lanes); dx on the GEMM path
    (2, 18, 16, (7, 32), (3, 3), 1, 2, 2, 1),  # dilated along rows, dy padded by 2
    (2, 40, 48, (4, 16), (3, 3), 1, 1, 1, 2),  # groups of 20 -> 24
    # im2col + GEMM in blocks of output rows (csrc/cpu/conv.cpp, RowBlock): 32 x 9 column rows of 37
    # pixels are 42 KiB (float32) per output row; blocks of about the L2 (12 rows on a 512 KiB L2, 24
    # on 1 MiB; half as many in float64), the last of 37 rows ragged.
    (1, 32, 24, (37, 37), (3, 3), 1, 1, 1, 1),
    (2, 34, 6, (41, 29), (3, 3), 2, (1, 2), (1, 2), 2),  # stride, dilation, groups of 17
    # Winograd F(2x2, 3x3): 3x3, stride 1, no dilation, >= 32 channels per group in and out, and
    # for dweight 64 on one side (csrc/cpu/conv.cpp). Blocks of tile rows run across images and split
    # them; odd output sizes leave half tiles; dx takes padding <= 2 (else the GEMM path), the
    # forward and dweight any padding.
    (3, 32, 32, (5, 7), (3, 3), 1, 1, 1, 1),  # odd: 3x4 tiles, the last column half inside; dw direct
    (2, 32, 64, (8, 8), (3, 3), 1, 0, 1, 1),  # no padding: 6x6 out
    (2, 64, 32, (6, 9), (3, 3), 1, 2, 1, 1),  # padding 2: dy correlated unpadded for dx
    (2, 32, 64, (4, 5), (3, 3), 1, (0, 3), 1, 1),  # padding 3: dx on the GEMM path
    (2, 128, 128, (5, 6), (3, 3), 1, 1, 1, 2),  # groups of 64
    (2, 40, 64, (43, 41), (3, 3), 1, 1, 1, 1),  # several blocks per image, one spanning both images
    (1, 31, 64, (6, 6), (3, 3), 1, 1, 1, 1),  # 31 input channels: not Winograd
    # Small output planes: one GEMM takes several images side by side (up to 512 columns), the last
    # GEMM of a batch with fewer of them.
    (13, 8, 6, (7, 7), (1, 1), 1, 0, 1, 1),  # pointwise: 11 + 2 images of 49 pixels
    (13, 34, 40, (13, 13), (3, 3), 2, 1, 1, 2),  # implicit columns, 7x7 out: 11 + 2 images, groups of 17
    (13, 8, 4, (9, 9), (1, 1), 2, 0, 1, 1),  # strided 1x1: 13 images of 25 pixels in one GEMM
    # dweight: fewer pixels (16) than output channels (40): summed as dW, not dW^T; and the
    # transposed sum put back in ragged 32x32 tiles (153 x 33).
    (1, 8, 40, (7, 7), (3, 3), 2, 1, 1, 1),
    (2, 17, 33, (16, 15), (3, 3), 2, 1, 1, 1),
]


@pytest.mark.parametrize("n,c_in,c_out,hw,khw,stride,padding,dilation,groups", CASES)
def test_matches_reference(n, c_in, c_out, hw, khw, stride, padding, dilation, groups):
    rng = np.random.default_rng(0)
    x, w, b = make_case(rng, n, c_in, c_out, hw, khw, groups)
    check_against_reference(x, w, b, stride, padding, dilation, groups, rng)


@st.composite
def conv_configs(
    draw,
    group_in=(1, 3),
    group_out=(1, 3),
    max_kernel=4,
    max_stride=4,
    extra=5,
    groups=(1, 1, 2, 3),
    max_batch=3,
):
    """Any geometry: channels per group in the (low, high) ranges given (or from a list), kernels,
    strides, dilations 1-2, paddings 0-2, and the smallest input the dilated kernel fits plus up
    to `extra`."""
    g = draw(st.sampled_from(groups))
    cg, og = (
        draw(st.sampled_from(c) if isinstance(c, list) else st.integers(*c)) for c in (group_in, group_out)
    )
    kh, kw = draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    sh, sw = draw(st.integers(1, max_stride)), draw(st.integers(1, max_stride))
    h = max(1, dh * (kh - 1) + 1 - 2 * ph) + draw(st.integers(0, extra))
    w = max(1, dw * (kw - 1) + 1 - 2 * pw) + draw(st.integers(0, extra))
    n = draw(st.integers(1, max_batch))
    return n, cg * g, og * g, (h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw), g


@settings(max_examples=60, deadline=None)
@given(conv_configs(), st.integers(0, 2**31))
def test_matches_reference_hypothesis(config, seed):
    check_config(config, seed)


@st.composite
def blocked_conv_configs(draw):
    """im2col + GEMM geometries whose column matrix (up to 2.8 MiB in float64) is
    made in several blocks of output rows, the last one ragged: more than 16
    input channels per group (not the direct kernels), images of 20-45."""
    groups = draw(st.sampled_from([1, 1, 2]))
    cg, og = draw(st.integers(17, 20)), draw(st.integers(1, 20))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    sh, sw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    h, w = draw(st.integers(20, 45)), draw(st.integers(20, 45))
    n = draw(st.integers(1, 2))
    return n, cg * groups, og * groups, (h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw), groups


@settings(max_examples=20, deadline=None)
@given(blocked_conv_configs(), st.integers(0, 2**31))
def test_row_blocked_gemm_path_matches_reference(config, seed):
    check_config(config, seed)


@st.composite
def strided_direct_conv_configs(draw):
    """Strided geometries the direct kernels take on any CPU (<= 16 channels per group): forward
    and dweight on the phase-split image, dx (6-16 input channels per group, dilation 1) as one
    broadcast GEMM per stride phase; strides 1-4 per axis (not both 1), kernels 1-4 (some phases
    of dx reached by no kernel row), paddings 0-3, odd and even sizes."""
    groups = draw(st.sampled_from([1, 1, 2]))
    cg, og = draw(st.sampled_from([6, 7, 8, 12, 16])), draw(st.integers(1, 16))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.sampled_from([(2, 2), (2, 1), (1, 3), (3, 3), (4, 2), (2, 4)]))
    ph, pw = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    h = max(1, kh - 2 * ph) + draw(st.integers(0, 9))
    w = max(1, kw - 2 * pw) + draw(st.integers(0, 9))
    n = draw(st.integers(1, 3))
    return n, cg * groups, og * groups, (h, w), (kh, kw), (sh, sw), (ph, pw), 1, groups


@settings(max_examples=40, deadline=None)
@given(strided_direct_conv_configs(), st.integers(0, 2**31))
def test_strided_direct_kernels_match_reference(config, seed):
    check_config(config, seed)


@settings(max_examples=40, deadline=None)
@given(
    conv_configs(group_in=(1, 1), group_out=(1, 1), max_kernel=5, max_stride=3, groups=(1, 3, 4, 8, 9, 17, 20, 33)),
    st.integers(0, 2**31),
)
def test_depthwise_matches_reference(config, seed):
    """Depthwise layers (one input and one output channel per group) in blocks of channels (8
    floats / 4 doubles with AVX2, 4 / 2 portable), ragged last blocks, 1-5 taps a side, strides
    and dilations; paddings beyond the kernel's reach take the general paths."""
    check_config(config, seed)


@settings(max_examples=40, deadline=None)
@given(
    conv_configs(
        group_in=(1, 16),
        group_out=(8, 16),
        max_kernel=5,
        max_stride=2,
        extra=10,
        groups=(1, 1, 2),
        max_batch=2,
    ),
    st.integers(0, 2**31),
)
def test_pixel_regions_matches_reference(config, seed):
    """The direct forward pass across output channels (8-16 per group, small planes): x read in
    place by regions of pixels with the same taps inside the image where at most nine regions hold
    it and the interior at least half the pixels, else the padded copy."""
    check_config(config, seed)


@settings(max_examples=30, deadline=None)
@given(
    conv_configs(
        group_in=[16, 24, 32, 48, 64, 96],
        group_out=[32, 40, 48, 64, 80, 96],
        max_kernel=3,
        max_stride=2,
        extra=8,
        groups=(1,),
        max_batch=2,
    ),
    st.integers(0, 2**31),
)
def test_wide_broadcast_tile_matches_reference(config, seed):
    """Wide layers on small planes, where the direct kernels put lanes across 32-96 channels:
    AVX-512's broadcast tile (floats in whole 16-lane vectors) or AVX2's, ragged strips and row
    tiles, by pixel regions or on the padded copy."""
    check_config(config, seed)


@st.composite
def winograd_conv_configs(draw):
    """Winograd geometries (3x3, stride 1, 32-34 input and 32-65 output channels per group, dweight
    Winograd from 64): any image the padded kernel fits, paddings 0-3 (dx on the GEMM path past 2),
    odd and even output sizes, 1-3 images."""
    groups = draw(st.sampled_from([1, 1, 2]))
    cg, og = draw(st.integers(32, 34)), draw(st.sampled_from([32, 33, 64, 65]))
    ph, pw = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    h = max(1, 3 - 2 * ph) + draw(st.integers(0, 9))
    w = max(1, 3 - 2 * pw) + draw(st.integers(0, 9))
    n = draw(st.integers(1, 3))
    return n, cg * groups, og * groups, (h, w), (3, 3), 1, (ph, pw), 1, groups


@settings(max_examples=15, deadline=None)
@given(winograd_conv_configs(), st.integers(0, 2**31))
def test_winograd_path_matches_reference(config, seed):
    check_config(config, seed)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_winograd_layers_keep_ieee_results_for_inf_and_nan(bad):
    """A Winograd-sized layer (32 -> 64 channels, 3x3, stride 1) given an inf or a NaN: the same infs and
    NaNs as the direct sum, in the forward pass, dx (bad dy) and dweight (bad x). Winograd's
    transforms would turn an inf into inf - inf = NaN, so such calls take the other paths."""
    rng = np.random.default_rng(5)
    x, w, _ = make_case(rng, 2, 32, 64, (6, 7), (3, 3), 1)
    dy = rng.standard_normal((2, 64, 6, 7))
    x[1, 5, 2, 3] = bad
    dy[0, 7, 4, 1] = bad
    for dtype in (np.float64, np.float32):
        xs, ws, dys = (a.astype(dtype) for a in (x, w, dy))
        y = _C.conv2d_forward(xs, ws, padding=1)
        dx, dw, _ = _C.conv2d_backward(dys, xs, ws, padding=1)
        x64, w64, dy64 = (a.astype(np.float64) for a in (xs, ws, dys))
        with np.errstate(invalid="ignore"):
            y_ref = conv_ref(x64, w64, padding=1)
            dx_ref, dw_ref, _ = conv_backward_ref(dy64, x64, w64, padding=1)
        for got, ref in ((y, y_ref), (dx, dx_ref), (dw, dw_ref)):
            assert not np.isfinite(ref).all()  # the bad value reached the result
            np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
            np.testing.assert_array_equal(np.isposinf(got), np.isposinf(ref))
            np.testing.assert_array_equal(np.isneginf(got), np.isneginf(ref))
            finite = np.isfinite(ref)
            np.testing.assert_allclose(got[finite], ref[finite], rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize(
    "n,c_in,c_out,hw,khw,stride,padding,dilation,groups",
    [
        (2, 2, 3, (5, 4), (3, 2), 1, 1, 1, 1),
        (1, 4, 4, (5, 6), (2, 3), (2, 1), (1, 0), 2, 2),
        (2, 3, 3, (4, 4), (3, 3), 2, 1, 1, 3),
        (2, 4, 2, (3, 5), (1, 1), 1, 0, 1, 2),
        (2, 2, 9, (4, 6), (3, 2), 1, (1, 2), (1, 2), 1),  # direct, across channels, dilated
        (1, 1, 3, (5, 19), (2, 3), 1, (1, 1), 1, 1),  # direct, along rows, batch 1
        (1, 17, 2, (16, 15), (3, 3), 1, 1, 1, 1),  # im2col + GEMM (row blocks: the reference tests above)
        (1, 17, 8, (3, 16), (3, 3), 1, 1, 1, 1),  # AVX2 rate: direct forward, dx and dw with 17 channels
        (1, 32, 64, (3, 5), (3, 3), 1, 1, 1, 1),  # Winograd (all three), odd output width
        (2, 10, 10, (5, 6), (3, 3), 1, 1, 1, 10),  # depthwise blocks (4 + 4 + 2 double lanes on AVX2)
        (1, 5, 5, (7, 6), (3, 3), 2, 1, (1, 2), 5),  # depthwise, strided and dilated
    ],
)
def test_finite_differences(n, c_in, c_out, hw, khw, stride, padding, dilation, groups):
    rng = np.random.default_rng(1)
    x, w, b = make_case(rng, n, c_in, c_out, hw, khw, groups)
    kw_args = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    dy = rng.standard_normal(_C.conv2d_forward(x, w, b, **kw_args).shape)

    def loss():
        return float(np.sum(_C.conv2d_forward(x, w, b, **kw_args) * dy))

    dx, dw, db = _C.conv2d_backward(dy, x, w, **kw_args)
    assert_grad_close(dx, numerical_grad(loss, x), name="dx")
    assert_grad_close(dw, numerical_grad(loss, w), name="dw")
    assert_grad_close(db, numerical_grad(loss, b), name="db")


def test_need_flags_and_no_bias():
    rng = np.random.default_rng(2)
    x, w, b = make_case(rng, 2, 3, 4, (5, 5), (3, 3), 1)
    np.testing.assert_allclose(_C.conv2d_forward(x, w), conv_ref(x, w), rtol=1e-12, atol=1e-12)
    dy = rng.standard_normal((2, 4, 3, 3))
    full = _C.conv2d_backward(dy, x, w)
    for flags in [
        (True, False, False),
        (False, True, False),
        (False, False, True),
        (False, False, False),
    ]:
        got = _C.conv2d_backward(
            dy, x, w, need_input_grad=flags[0], need_weight_grad=flags[1], need_bias_grad=flags[2]
        )
        for want, g, f in zip(full, got, flags, strict=True):
            if f:
                np.testing.assert_array_equal(g, want)
            else:
                assert g is None


@pytest.fixture
def threads():
    before = _C.get_num_threads()
    yield _C.set_num_threads
    _C.set_num_threads(before)


@pytest.mark.parametrize(
    "n,threads_n,c_in,c_out,stride,groups",
    [
        # im2col + GEMM: batch slices, threaded GEMM, batch 1, serial
        (5, 3, 17, 16, 1, 1),
        (2, 4, 17, 16, 1, 1),
        (1, 3, 17, 16, 1, 1),
        (7, 1, 17, 16, 1, 1),
        (1, 3, 64, 64, 2, 1),  # stride 2, batch 1: the threaded GEMM packs the implicit column matrix as a team
        (3, 3, 16, 16, 2, 16),  # depthwise, stride 2: blocks of channels threaded (dx on the GEMM path)
        (3, 2, 16, 16, 1, 16),  # depthwise, stride 1: forward, dx and dweight in blocks, threaded
        (3, 3, 16, 32, 2, 16),  # the scalar direct kernel (depthwise, multiplier 2, stride 2) threaded
        (5, 3, 6, 16, 1, 1),  # stride-1 direct kernels, batch slices: across channels
        (4, 2, 1, 6, 1, 1),  # and along rows
        (5, 3, 6, 16, 2, 1),  # stride-2 direct forward and dweight (phase-split image), batch slices
        (4, 2, 24, 32, 1, 1),  # AVX2 rate: 24 -> 32 channels along rows of 32 (forward and dx)
        (5, 2, 32, 64, 1, 1),  # Winograd: batch slices, dweight summed per slice
        (1, 2, 48, 64, 1, 1),  # Winograd with batch 1: one slice, threaded GEMMs
    ],
)
def test_thread_plans_match_reference_and_are_deterministic(
    threads, n, threads_n, c_in, c_out, stride, groups
):
    threads(threads_n)
    rng = np.random.default_rng(3)
    # 2 * 16 * 153 * 1024 flops per sample: enough for the threaded-GEMM plan when batch < threads.
    x, w, b = make_case(rng, n, c_in, c_out, (32, 32), (3, 3), groups)
    x, w, b = x.astype(np.float32), w.astype(np.float32), b.astype(np.float32)
    kw_args = dict(stride=stride, padding=1, groups=groups)
    y = _C.conv2d_forward(x, w, b, **kw_args)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    grads = _C.conv2d_backward(dy, x, w, **kw_args)
    for again, first in zip(_C.conv2d_backward(dy, x, w, **kw_args), grads, strict=True):
        np.testing.assert_array_equal(again, first)
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    ref = conv_ref(x64, w64, b.astype(np.float64), **kw_args)
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=float32_tol(9 * c_in) * 10)
    dx_ref, dw_ref, _ = conv_backward_ref(dy.astype(np.float64), x64, w64, **kw_args)
    np.testing.assert_allclose(grads[0], dx_ref, rtol=1e-4, atol=float32_tol(9 * c_out) * 10)
    np.testing.assert_allclose(grads[1], dw_ref, rtol=1e-4, atol=float32_tol(n * 1024) * 10)


@pytest.mark.parametrize(
    "n,c_in,c_out,hw,khw,stride,padding,dilation,groups",
    [
        (2, 1, 6, (28, 28), (5, 5), 1, 2, 1, 1),
        (2, 4, 6, (7, 9), (3, 2), (2, 1), (1, 2), (2, 1), 2),
        (1, 3, 3, (6, 5), (3, 3), 1, 1, 1, 3),
        (3, 4, 8, (5, 5), (1, 1), 1, 0, 1, 1),
    ],
)
def test_matches_torch(n, c_in, c_out, hw, khw, stride, padding, dilation, groups):
    rng = np.random.default_rng(4)
    x, w, b = make_case(rng, n, c_in, c_out, hw, khw, groups)
    kw_args = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    y = _C.conv2d_forward(x, w, b, **kw_args)
    dy = rng.standard_normal(y.shape)

    def torch_conv(torch):
        xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        yt = torch.nn.functional.conv2d(xt, wt, bt, **kw_args)
        yt.backward(torch.tensor(dy))
        return {"y": yt, "dx": xt.grad, "dw": wt.grad, "db": bt.grad}

    want = torch_reference(f"conv2d/{n, c_in, c_out, hw, khw}/{sorted(kw_args.items())}", torch_conv)
    np.testing.assert_allclose(y, want["y"], rtol=1e-10, atol=1e-10)
    for got, name in zip(_C.conv2d_backward(dy, x, w, **kw_args), ("dx", "dw", "db"), strict=True):
        np.testing.assert_allclose(got, want[name], rtol=1e-10, atol=1e-10)


# ---- bad input: every check raises, naming the op ----

X = np.zeros((2, 4, 6, 6))
W = np.zeros((6, 2, 3, 3))


def forward_call(**changes):
    args = dict(x=X, weight=W, bias=None, stride=1, padding=0, dilation=1, groups=2)
    args.update(changes)
    return lambda: _C.conv2d_forward(**args)


def backward_call(**changes):
    args = dict(dy=np.zeros((2, 6, 4, 4)), x=X, weight=W, stride=1, padding=0, dilation=1, groups=2)
    args.update(changes)
    return lambda: _C.conv2d_backward(**args)


BAD = [
    (TypeError, dict(x=X.tolist())),
    (TypeError, dict(x=X.astype(np.int32))),
    (TypeError, dict(weight=W.astype(np.float32))),
    (TypeError, dict(stride=(1, 2, 3))),
    (TypeError, dict(stride=1.5)),
    (TypeError, dict(padding="1")),
    (TypeError, dict(groups=1.5)),
    (ValueError, dict(x=X[0])),
    (ValueError, dict(weight=W[0])),
    (ValueError, dict(x=np.zeros((2, 4, 6, 12))[..., ::2])),
    (ValueError, dict(weight=np.asfortranarray(W))),
    (ValueError, dict(x=np.zeros((0, 4, 6, 6)))),
    (ValueError, dict(weight=np.zeros((6, 2, 0, 3)))),
    (ValueError, dict(stride=0)),
    (ValueError, dict(stride=(1, -1))),
    (ValueError, dict(padding=-1)),
    (ValueError, dict(dilation=0)),
    (ValueError, dict(stride=2**40)),
    (ValueError, dict(padding=2**70)),
    (ValueError, dict(groups=0)),
    (ValueError, dict(groups=3)),  # 4 input channels
    (ValueError, dict(weight=np.zeros((5, 2, 3, 3)))),  # 5 output channels, groups 2
    (ValueError, dict(weight=np.zeros((6, 4, 3, 3)))),  # shape[1] != C_in / groups
    (ValueError, dict(weight=np.zeros((6, 2, 7, 3)))),  # kernel taller than the image
    (ValueError, dict(dilation=3)),  # dilated kernel spans 7 > 6
]


@pytest.mark.parametrize("error,changes", BAD)
def test_forward_rejects(error, changes):
    with pytest.raises(error, match="conv2d_forward"):
        forward_call(**changes)()


@pytest.mark.parametrize("error,changes", BAD)
def test_backward_rejects(error, changes):
    with pytest.raises(error, match="conv2d_backward"):
        backward_call(**changes)()


@pytest.mark.parametrize(
    "error,bias",
    [
        (TypeError, [0.0] * 6),
        (TypeError, np.zeros(6, np.float32)),
        (ValueError, np.zeros(5)),
        (ValueError, np.zeros((6, 1))),
        (ValueError, np.zeros(12)[::2]),
    ],
)
def test_forward_rejects_bias(error, bias):
    with pytest.raises(error, match="conv2d_forward"):
        forward_call(bias=bias)()


@pytest.mark.parametrize(
    "error,dy",
    [
        (TypeError, np.zeros((2, 6, 4, 4), np.float32)),
        (TypeError, np.zeros((2, 6, 4, 4)).tolist()),
        (ValueError, np.zeros((2, 6, 4, 5))),
        (ValueError, np.zeros((2, 6, 4))),
        (ValueError, np.zeros((1, 6, 4, 4))),
        (ValueError, np.zeros((2, 6, 4, 8))[..., ::2]),
    ],
)
def test_backward_rejects_dy(error, dy):
    with pytest.raises(error, match="conv2d_backward"):
        backward_call(dy=dy)()


def test_read_only_inputs_are_fine():
    rng = np.random.default_rng(5)
    x, w, b = make_case(rng, 1, 2, 2, (4, 4), (3, 3), 1)
    for a in (x, w, b):
        a.flags.writeable = False
    y = _C.conv2d_forward(x, w, b, padding=1)
    np.testing.assert_allclose(y, conv_ref(x, w, b, padding=1), atol=1e-12)
    y.flags.writeable = False
    for got, ref in zip(
        _C.conv2d_backward(y, x, w, padding=1), conv_backward_ref(y, x, w, padding=1), strict=True
    ):
        np.testing.assert_allclose(got, ref, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_padding_far_beyond_the_image_with_a_large_stride(dtype):
    """The forward pass copies each image zero-padded and split by stride phase; where that copy
    would be many times the image (padding far past it, a large stride), and for strided 1x1
    kernels, it builds the column matrix instead: same results as the reference, and no padded
    copy of gigabytes."""
    rng = np.random.default_rng(11)
    x, w, b = (a.astype(dtype) for a in make_case(rng, 2, 3, 4, (2, 2), (3, 3), 1))
    kw_args = dict(stride=47, padding=140)
    y = _C.conv2d_forward(x, w, b, **kw_args)
    np.testing.assert_allclose(y, conv_ref(x, w, b, **kw_args), rtol=1e-5, atol=1e-5)
    dy = rng.standard_normal(y.shape).astype(dtype)
    for got, ref in zip(_C.conv2d_backward(dy, x, w, **kw_args), conv_backward_ref(dy, x, w, **kw_args), strict=True):
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    # 1x1 kernel, padding 20000, stride 4000: padded planes of 40001 x 40001 (6 GB each in
    # float32) of which the 11 x 11 outputs read one pixel: output (5, 5) reads x[:, :, 0, 0].
    x1 = np.full((1, 2, 1, 1), 2.0, dtype)
    w1 = np.full((3, 2, 1, 1), 3.0, dtype)
    b1 = np.array([0.5, -1.0, 2.0], dtype)
    y1 = _C.conv2d_forward(x1, w1, b1, stride=4000, padding=20000)
    expected = np.broadcast_to(b1[None, :, None, None], (1, 3, 11, 11)).copy()
    expected[0, :, 5, 5] += 12.0
    np.testing.assert_array_equal(y1, expected)


# A failed allocation inside an OpenMP region used to terminate the process
# (an exception may not leave a region); it must raise MemoryError with any
# thread count. Run in a child: the failure this guards against is an abort.
# 16 -> 16 channels with 2x2 taps take the stride-1 direct paths, whose
# padded buffers are per slice of the batch, inside the region.
@pytest.mark.skipif(os.environ.get("MINIGRAD_SANITIZED") == "1",
                    reason="the test caps the address space, which ASan's shadow memory cannot live in")
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(
    "call",
    [
        "nn.Conv2d(16, 16, kernel_size=2, padding=20000, dilation=39937)(x)",
        # backward alone (dx and dweight): the forward would fail first
        "_C.conv2d_backward(dy, x.numpy(), w, stride=(1, 1), padding=(20000, 20000), dilation=(39937, 39937))",
    ],
)
def test_conv_allocation_failure_raises_memory_error(threads, call, tmp_path):
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        f"""
        import resource
        import numpy as np
        import minigrad
        from minigrad import _C, nn
        # Cap the address space, so the padded buffers cannot be allocated on any machine.
        resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))
        minigrad.set_num_threads({threads})
        x = minigrad.ones(8, 16, 1, 1)
        w = np.ones((16, 16, 2, 2), np.float32)
        dy = np.ones((8, 16, 64, 64), np.float32)  # the output of the layer above
        try:
            {call}
        except MemoryError:
            print("memory-error")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=same_minigrad_env(), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "memory-error" in proc.stdout


@pytest.mark.parametrize("level", ["avx2", "generic"])
def test_lower_simd_levels_match_reference(level, tmp_path):
    """The kernels of the levels below this CPU's (MINIGRAD_SIMD caps the level at import, so in a
    subprocess): the reference and finite-difference tests above, on the AVX2 and portable paths."""
    run_tests_at_level(level, __file__, "matches_reference or finite_differences or thread_plans or winograd",
                       tmp_path, timeout=600)
