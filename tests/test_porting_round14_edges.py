"""Round 14: a differential sweep of hostile and edge-case inputs (empty and 0-d tensors, NaN, inf,
-0.0, ties, constant slices, huge values, int32 indices, duplicate dims); each program runs on both
libraries (`program(lib)`, lib minigrad or torch) and is compared with PyTorch's results (live, or
recorded in tests/fixtures/torch_reference/test_porting_round14_edges.npz). Covers what the sweep
found silently different: gradients of fmax/fmin at ties, xlogy at input 0, sinc near 0, logit at
0 and 1, clamp with min > max, std of a constant slice, norm(p=inf) at ties, norm(p) at zeros and
det of empty matrices; threshold of NaN; lgamma of huge values; max/min over a dim of bool
tensors; int32 indices of index_select/index_add; transpose of a 0-d tensor; unique's NaNs and 0-d
inverse; x[[rows, cols]] (a list of index tensors) as x[rows, cols]; clamp's NaN tensor bounds;
bool ** bool; autograd.grad's materialize_grads; and PyTorch's exception classes (RuntimeError)
for duplicate reduction (and flip) dims, empty amax, gather's index shape, index_select's
out-of-range index, cat/split/chunk/narrow/trace of 0-d tensors, split sizes, masked_fill's mask
shape, multi_margin_loss's targets, soft_margin_loss's shapes and glu's odd dimension, and
PyTorch's NotImplementedError (or RuntimeError) for kernels it lacks for bool or integer tensors."""

import math
import warnings

import numpy as np
from parity import caught_as, check_program, mistakes_program
from torch_reference import TorchReference

torch_reference = TorchReference(__name__)

SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, np.nan, np.inf, -np.inf, 1e308, -1e-310, 0.5, -2.5, 3.0])


def check(key, program, rtol=1e-9):
    """program(minigrad)'s results against program(torch)'s (parity.check_program)."""
    check_program(torch_reference, key, program, rtol)


def _grad(lib, fn, *arrays):
    """fn(*tensors) and the gradient of its sum in each input (float64 leaves made from arrays)."""
    leaves = [lib.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    out = fn(*leaves)
    grads = lib.autograd.grad(out.sum(), leaves)
    return out.detach(), *grads


# ------------------------------------------------------------------- gradients at edge points
def _gradient_edges_program(lib):
    out = {}
    # fmax/fmin: input where input >= other (<= for fmin) or other is NaN, so a tie's gradient is input's
    a, b = [1.0, 2.0, np.nan, 3.0, 5.0, np.nan], [1.0, 3.0, 1.0, np.nan, 5.0, np.nan]
    for name in ("fmax", "fmin"):
        out[name], out[f"{name}_ga"], out[f"{name}_gb"] = _grad(lib, getattr(lib, name), a, b)
    out["fmax_bcast"], out["fmax_bcast_ga"], out["fmax_bcast_gb"] = _grad(
        lib, lib.fmax, [1.0, 2.0], [[1.0], [2.0], [3.0]])
    # xlogy: d/dx x * log(y) is log(y) also where x == 0 (0 where y <= 0)
    x, y = [0.0, 0.0, 0.0, -0.0, 0.0, 2.0, 0.0, 1.5], [3.0, 0.0, -2.0, 3.0, np.nan, 0.5, np.inf, -1.0]
    out["xlogy"], gx, gy = _grad(lib, lib.xlogy, x, y)
    out["xlogy_gx"] = gx[[0, 1, 2, 3, 4, 5, 7]]  # not at (0, inf): PyTorch's inf, minigrad's 0
    out["xlogy_gy"] = gy[[0, 2, 3, 4, 5, 6, 7]]  # not at (0, 0): PyTorch's 0 / 0 = nan, minigrad's 0
    # sinc's gradient for tiny arguments (pi x**2 underflows to 0): 0, not 0 / 0
    out["sinc"], out["sinc_g"] = _grad(lib, lib.sinc, [0.0, 1e-170, 1e-200, 1e-310, 1e-7, 0.3, -2.5])
    # logit at 0 and 1: inf gradients, not 0 * inf = nan (at -0.0 PyTorch's sign varies with its kernel)
    out["logit"], out["logit_g"] = _grad(lib, lib.logit, [0.0, 1.0, 0.3, 1e-170, 0.5])
    out["logit_eps"], out["logit_eps_g"] = _grad(lib, lambda t: lib.logit(t, eps=0.1), [0.0, 0.05, 0.1, 0.5, 1.0])
    # clamp with min > max: every value is max and no gradient passes
    out["clamp_rev"], out["clamp_rev_g"] = _grad(lib, lambda t: lib.clamp(t, 1.0, -1.0), [-1.0, 0.0, 1.0, 2.0])
    # std of a constant slice: gradient 0, as PyTorch's (not sqrt's 1 / 0 times var's 0)
    rows = [[1.0, 1.0, 1.0], [1.0, 2.0, 4.0], [-3.0, -3.0, -3.0]]
    out["std"], out["std_g"] = _grad(lib, lambda t: t.std(1), rows)
    out["std_all"], out["std_all_g"] = _grad(lib, lambda t: t.std(), [[2.0, 2.0], [2.0, 2.0]])
    out["std_kd"], out["std_kd_g"] = _grad(lib, lambda t: t.std(0, keepdim=True, correction=0), rows)
    out["std_mean"], out["std_mean_g"] = _grad(lib, lambda t: lib.std_mean(t, 1)[0], rows)
    std32 = lib.tensor(rows, dtype=lib.float32).std(1)
    out["std_f32_dtype"], out["std_f32_zero"] = np.array(str(std32.dtype).split(".")[-1]), std32 == 0
    # norm(p=inf) shares a tie's gradient, as amax; norm(p) gives zero elements gradient 0
    m = [[1.0, 3.0, -3.0, 2.0], [2.0, -2.0, 1.0, 1.0]]
    out["norm_inf"], out["norm_inf_g"] = _grad(lib, lambda t: t.norm(p=math.inf, dim=1), m)
    out["norm_inf_all"], out["norm_inf_all_g"] = _grad(lib, lambda t: t.norm(p=math.inf), m)
    out["norm_ninf_kd"], out["norm_ninf_kd_g"] = _grad(lib, lambda t: t.norm(p=-math.inf, dim=(0, 1), keepdim=True), m)
    z = [[0.0, 0.0, 0.0], [2.0, 0.0, 3.0]]
    for p in (0.5, 1.5, 3):
        out[f"norm_p{p}"], out[f"norm_p{p}_g"] = _grad(lib, lambda t, p=p: t.norm(p=p, dim=1), z)
    out["norm_p3_all"], out["norm_p3_all_g"] = _grad(lib, lambda t: t.norm(p=3), [0.0, 0.0])
    # det of 0x0 matrices (1) and of an empty batch: their backward gives empty gradients
    for shape in ((0, 0), (2, 0, 0), (0, 3, 3)):
        out[f"det_{shape}"], grad = _grad(lib, lib.linalg.det, np.zeros(shape))
        out[f"det_{shape}_g_shape"] = np.array(grad.shape)
    return out


def test_gradients_at_edge_points_as_torch():
    check("gradient_edges", _gradient_edges_program)


# ------------------------------------------------------------------- values
def _value_edges_program(lib):
    F = lib.nn.functional
    x = lib.tensor(SPECIAL)
    out = {
        # threshold keeps NaN (value only where input <= threshold), with gradient 1 there
        "threshold": F.threshold(x, 0.5, -3.0),
        "threshold_f32": F.threshold(lib.tensor(SPECIAL[SPECIAL != 1e308], dtype=lib.float32), 0.0, 9.0),
        # lgamma of values beyond ~2.55e305 overflows to inf (math.lgamma raised OverflowError)
        "lgamma": lib.lgamma(lib.tensor([1e308, 3e305, 2.5e305, 1e300, -1e308, 10.0], dtype=lib.float64)),
    }
    t = lib.tensor([np.nan, 0.0, 2.0], requires_grad=True)
    F.threshold(t, 0.5, -3.0).sum().backward()
    out["threshold_g"] = t.grad
    # max/min over a dim of bool tensors: values and the first index of the extreme
    b = lib.tensor([[False, True, True], [False, False, False]])
    for name in ("max", "min"):
        values, indices = getattr(b, name)(1)
        out[f"bool_{name}"], out[f"bool_{name}_i"] = values, indices
        values, indices = getattr(b, name)(0, keepdim=True)
        out[f"bool_{name}_kd"], out[f"bool_{name}_kd_i"] = values, indices
    # index_select and index_add take int32 indices (gradient through index_select too)
    src = lib.arange(12.0, dtype=lib.float64).reshape(3, 4).requires_grad_()
    i32 = lib.tensor([0, 2, 2], dtype=lib.int32)
    picked = src.index_select(1, i32)
    picked.sum().backward()
    out["index_select_i32"], out["index_select_i32_g"] = picked.detach(), src.grad
    out["index_add_i32"] = src.detach().index_add(0, i32, lib.ones(3, 4, dtype=lib.float64))
    # a 0-d tensor transposes with dims 0 and -1 (and stays as it is)
    s = lib.tensor(1.5)
    out["transpose_0d"] = lib.stack([s.transpose(0, -1), s.transpose(-1, -1), lib.swapaxes(s, 0, 0), s.t()])
    # unique: every NaN distinct; a 0-d input's inverse is 0-d
    values, inverse, counts = lib.unique(lib.tensor([np.nan, 1.0, np.nan, 1.0]), return_inverse=True,
                                         return_counts=True)
    out["unique_nan"], out["unique_nan_inverse"], out["unique_nan_counts"] = values, inverse, counts
    values, inverse = lib.unique(lib.tensor(2.5), return_inverse=True)
    out["unique_0d"], out["unique_0d_inverse"] = values, inverse
    # clamp with tensor bounds: a NaN bound gives NaN (a comparison with it was False: no clamping)
    v = lib.tensor([1.0, -2.0, 3.0, np.nan], dtype=lib.float64)
    low = lib.tensor([np.nan, 0.0, 0.0, 0.0], dtype=lib.float64)
    high = lib.tensor([2.0, np.nan, 2.0, 1.0], dtype=lib.float64)
    out["clamp_nan_bounds"] = lib.clamp(v, low, high)
    out["clamp_nan_min"] = lib.clamp(v, min=low)
    out["clamp_nan_max_number"] = lib.clamp(v, min=lib.tensor(0.0, dtype=lib.float64), max=float("nan"))
    out["clamp_int_bounds"] = lib.clamp(lib.tensor([1, -2, 3]), lib.tensor([0, 0, 5]))
    # a bool tensor to a bool power stays bool (numpy gives int8); to an int power it is int64
    mask = lib.tensor([True, False])
    out["bool_pow_true"], out["bool_pow_false"], out["bool_pow_int"] = mask**True, mask**False, mask**2
    return out


def test_values_at_edge_points_as_torch():
    check("value_edges", _value_edges_program)


# ------------------------------------------------------------------- a list of index sequences
def _list_index_program(lib):
    """A list holding tensors, lists, slices, None or Ellipsis indexes as the tuple of them, as in
    PyTorch (x[[rows, cols]] is x[rows, cols], not two rows), with its deprecation warning; a list of
    ints or bools stays one index."""
    x = lib.arange(12.0, dtype=lib.float64).reshape(3, 4).requires_grad_()
    rows, cols = lib.tensor([0, 2]), lib.tensor([1, 3])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        picked = x[[rows, cols]]
        out = {"pairs": picked.detach(), "nested": x[[[0, 2]]].detach(),
               "zero_d": x[[lib.tensor(1), lib.tensor(2)]].detach(), "slice": x[[0, slice(1, 3)]].detach(),
               "none": x[[None, 0]].detach(), "ellipsis": x[[..., 1]].detach()}
        y = x.detach().clone()
        y[[rows, cols]] = -1.0
        out["set"] = y
    out["warned"] = np.array(sum("non-tuple sequence for multidimensional indexing" in str(w.message) for w in caught))
    picked.sum().backward()
    out["grad"] = x.grad
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out["ints"], out["bools"] = x[[0, 2, 2]].detach(), x[[True, False, True]].detach()
    out["quiet"] = np.array(len(caught))
    return out


def test_list_of_index_sequences_is_a_tuple_as_torch():
    check("list_index", _list_index_program)


# ------------------------------------------------------------------- autograd.grad(materialize_grads=)
def _materialize_grads_program(lib):
    x, unused = lib.tensor([1.0, 2.0], requires_grad=True), lib.tensor([3.0], requires_grad=True)
    gx, gu = lib.autograd.grad((x * 2).sum(), [x, unused], materialize_grads=True)
    hx, hu = lib.autograd.grad((x**2).sum(), [x, unused], create_graph=True, materialize_grads=True)
    refused = caught_as({"allow_unused_false": (ValueError, lambda: lib.autograd.grad(
        (x * 2).sum(), [x, unused], materialize_grads=True, allow_unused=False))})
    return {"gx": gx, "gu": gu, "hx": hx.detach(), "hu": hu.detach(),
            "on_tape": np.array([hx.requires_grad, hu.requires_grad]), "refused": refused}


def test_grad_materialize_grads_as_torch():
    """Unused inputs get zeros instead of None (differentiable with create_graph), as PyTorch."""
    check("materialize_grads", _materialize_grads_program)


# ------------------------------------------------------------------- exception classes
def _mistakes(lib):
    F = lib.nn.functional
    x = lib.zeros(3, 4)
    s = lib.tensor(1.5)
    mask = lib.tensor([True, False, True])
    index = lib.tensor([[0, 0], [1, 0], [2, 1], [0, 1]])
    return {
        "sum_dims_twice": (RuntimeError, lambda: x.sum((0, 0))),
        "sum_dims_twice_negative": (RuntimeError, lambda: x.sum((1, -1))),
        "mean_dims_twice": (RuntimeError, lambda: x.mean((0, -2))),
        "amax_dims_twice": (RuntimeError, lambda: x.amax((1, 1))),
        "all_dims_twice": (RuntimeError, lambda: x.all((0, 0))),
        "sum_0d_dims_twice": (RuntimeError, lambda: s.sum((0, -1))),
        "amax_empty": (RuntimeError, lambda: lib.zeros(0, 3).amax()),
        "amin_empty_dim": (IndexError, lambda: lib.zeros(3, 0).amin(1)),
        "norm_inf_empty": (RuntimeError, lambda: lib.zeros(0, 3).norm(p=math.inf)),
        "gather_index_too_large": (RuntimeError, lambda: lib.gather(x, 1, index)),
        "scatter_index_too_large": (RuntimeError, lambda: x.scatter(1, index, 1.0)),
        "index_select_above": (RuntimeError, lambda: x.index_select(1, lib.tensor([4]))),
        "index_select_negative": (IndexError, lambda: x.index_select(0, lib.tensor([-1]))),
        "index_select_float": (RuntimeError, lambda: x.index_select(0, lib.tensor([0.0]))),
        "index_add_above": (RuntimeError, lambda: x.index_add(0, lib.tensor([3]), lib.ones(1, 4))),
        "cat_0d": (RuntimeError, lambda: lib.cat([s, s])),
        "split_0d": (RuntimeError, lambda: lib.split(s, 1)),
        "chunk_0d": (RuntimeError, lambda: lib.chunk(s, 2)),
        "narrow_0d": (RuntimeError, lambda: lib.narrow(s, 0, 0, 1)),
        "trace_0d": (RuntimeError, lambda: lib.trace(s)),
        "tensor_split_0d": (RuntimeError, lambda: lib.tensor_split(s, 2)),
        "split_sizes": (RuntimeError, lambda: x.split([1, 2], 1)),
        "masked_fill_mask_shape": (RuntimeError, lambda: x.masked_fill(lib.ones(2, 4, dtype=lib.bool), 1.0)),
        "multi_margin_target_above": (RuntimeError, lambda: F.multi_margin_loss(x, lib.tensor([0, 4, 1]))),
        "multi_margin_target_negative": (RuntimeError, lambda: F.multi_margin_loss(x, lib.tensor([0, -1, 1]))),
        "multi_margin_target_int32": (RuntimeError, lambda: F.multi_margin_loss(x, lib.tensor([0, 1, 1]).int())),
        "multi_margin_target_size": (RuntimeError, lambda: F.multi_margin_loss(x, lib.tensor([0, 1]))),
        "soft_margin_target_shape": (RuntimeError, lambda: F.soft_margin_loss(lib.zeros(3), lib.zeros(4, 3))),
        "glu_odd": (RuntimeError, lambda: F.glu(lib.zeros(2, 3))),
        "flip_dims_twice": (RuntimeError, lambda: x.flip((0, -2))),
        "pow_bool_bool": (NotImplementedError, lambda: lib.tensor([True]) ** lib.tensor([False])),
        # kernels PyTorch has not for bool (or integer) tensors: NotImplementedError or RuntimeError
        "floor_divide_bool": (NotImplementedError, lambda: mask // mask),
        "fmod_bool": (NotImplementedError, lambda: lib.fmod(mask, mask)),
        "floor_bool": (NotImplementedError, lambda: mask.floor()),
        "round_int_decimals": (NotImplementedError, lambda: lib.round(lib.tensor([15]), decimals=-1)),
        "hypot_int": (NotImplementedError, lambda: lib.hypot(lib.tensor([1]), lib.tensor([2]))),
        "logaddexp_int": (NotImplementedError, lambda: lib.logaddexp(lib.tensor([1]), lib.tensor([2]))),
        "argmax_bool": (RuntimeError, lambda: mask.argmax()),
        "topk_bool": (RuntimeError, lambda: mask.topk(1)),
        "kthvalue_bool": (NotImplementedError, lambda: mask.kthvalue(1)),
        "median_bool": (NotImplementedError, lambda: mask.median()),
        "searchsorted_bool": (NotImplementedError, lambda: lib.searchsorted(mask, mask)),
    }


def test_mistakes_raise_torch_exception_classes():
    check("mistakes", mistakes_program(_mistakes))
    import minigrad

    # the classes minigrad raised before still catch them (ValueError from numpy or minigrad,
    # IndexError, TypeError), so handlers written for those keep working
    old = {"sum_dims_twice": ValueError, "sum_dims_twice_negative": ValueError, "mean_dims_twice": ValueError,
           "amax_dims_twice": ValueError, "all_dims_twice": ValueError, "amax_empty": IndexError,
           "amin_empty_dim": IndexError, "norm_inf_empty": IndexError, "gather_index_too_large": ValueError,
           "scatter_index_too_large": ValueError, "index_select_above": IndexError,
           "index_select_negative": IndexError, "index_select_float": TypeError, "index_add_above": IndexError,
           "narrow_0d": IndexError, "trace_0d": ValueError, "tensor_split_0d": ValueError, "split_sizes": ValueError,
           "masked_fill_mask_shape": ValueError, "multi_margin_target_above": ValueError,
           "multi_margin_target_negative": ValueError, "multi_margin_target_int32": TypeError,
           "multi_margin_target_size": ValueError, "soft_margin_target_shape": ValueError, "glu_odd": ValueError,
           "flip_dims_twice": ValueError, "floor_divide_bool": TypeError, "fmod_bool": TypeError,
           "floor_bool": TypeError, "round_int_decimals": TypeError, "hypot_int": TypeError,
           "logaddexp_int": TypeError, "argmax_bool": TypeError, "topk_bool": TypeError, "kthvalue_bool": TypeError,
           "median_bool": TypeError, "searchsorted_bool": TypeError}
    cases = {name: (old[name], fn) for name, (_, fn) in _mistakes(minigrad).items() if name in old}
    assert caught_as(cases).all(), [name for name, ok in zip(cases, caught_as(cases), strict=True) if not ok]
