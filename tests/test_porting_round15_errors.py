"""Porting round 15: PyTorch's exception classes for the functional ops' argument checks, and small
gaps an earlier sweep found. Every program runs on both libraries (`program(lib)`, lib minigrad or
torch) and is compared with PyTorch's results (live, or recorded in
tests/fixtures/torch_reference/test_porting_round15_errors.npz).

Covers: the ValueError/TypeError raises of minigrad.functional (nn, nn1d, activation, shape,
reduce, loss, elementwise, decompositions) and minigrad.linalg where PyTorch's op raises
RuntimeError (IndexError, NotImplementedError): they raise the classes that are both (ShapeError,
ArgumentError, DtypeError, NoKernelForDtypeError, NotImplementedArgumentError, DimIndexError), so
ported handlers and old ones catch them; logaddexp/logaddexp2 gradients with an infinite operand;
xlogy(0, inf)'s gradient; clamp's gradients with NaN tensor bounds; add of bools with alpha; mode
of slices with NaNs; i0/i0e/i1/i1e of huge arguments; integer pow with extreme exponents; quiet
float32 overflow in tensor(); slogdet/det of NaN matrices; linalg.cond; and the mixed dtypes
PyTorch refuses (prelu, addmm, addmv, addbmm, baddbmm, index_add, index_copy, masked_scatter, put)."""

import warnings

import numpy as np
import pytest
from parity import caught_report, check_program
from torch_reference import TorchReference

import minigrad

torch_reference = TorchReference(__name__)

INF, NAN = float("inf"), float("nan")


def check(key, program, rtol=1e-9):
    """program(minigrad)'s results against program(torch)'s (parity.check_program)."""
    check_program(torch_reference, key, program, rtol)


def _mistakes_program(mistakes):
    """A program reporting, for each mistake of mistakes(lib), whether PyTorch's class catches it."""
    def program(lib):
        cases = {name: (cls, fn) for name, (cls, _old, fn) in mistakes(lib).items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return caught_report(cases)
    return program


# ------------------------------------------------------------------- exception classes
# name -> (PyTorch's class, the class minigrad raised before, the mistake)
def _nn_mistakes(lib):
    F = lib.nn.functional
    f = lib.ones
    i = lib.tensor
    R, V, T = RuntimeError, ValueError, TypeError
    return {
        "linear_weight_3d": (R, V, lambda: F.linear(f(2, 3), f(1, 4, 3))),
        "conv2d_same_strided": (R, V, lambda: F.conv2d(f(1, 1, 5, 5), f(1, 1, 3, 3), stride=2, padding="same")),
        "conv2d_padding_string": (R, V, lambda: F.conv2d(f(1, 1, 5, 5), f(1, 1, 3, 3), padding="bogus")),
        "conv_transpose2d_weight_3d": (R, V, lambda: F.conv_transpose2d(f(1, 2, 5, 5), f(2, 1, 3))),
        "conv_transpose2d_input_2d": (R, V, lambda: F.conv_transpose2d(f(2, 5), f(2, 1, 3, 3))),
        "conv_transpose2d_groups": (R, V, lambda: F.conv_transpose2d(f(1, 3, 5, 5), f(3, 1, 3, 3), groups=2)),
        "conv_transpose2d_bias": (R, V, lambda: F.conv_transpose2d(f(1, 2, 5, 5), f(2, 1, 3, 3), bias=f(3))),
        "conv_transpose2d_stride_0": (R, V, lambda: F.conv_transpose2d(f(1, 2, 5, 5), f(2, 1, 3, 3), stride=0)),
        "conv_transpose2d_padding_neg": (R, V, lambda: F.conv_transpose2d(f(1, 2, 5, 5), f(2, 1, 3, 3), padding=-1)),
        "conv_transpose2d_output_padding": (R, V, lambda: F.conv_transpose2d(f(1, 2, 5, 5), f(2, 1, 3, 3),
                                                                             output_padding=1)),
        "conv_transpose2d_no_output": (R, V, lambda: F.conv_transpose2d(f(1, 2, 1, 1), f(2, 1, 3, 3), padding=3)),
        "dropout2d_1d": (R, V, lambda: F.dropout2d(f(3), 0.5)),
        "dropout1d_4d": (R, V, lambda: F.dropout1d(f(1, 2, 3, 4), 0.5)),
        "batch_norm_1d": (IndexError, V, lambda: F.batch_norm(f(3), None, None, training=True)),
        "batch_norm_eval_no_stats": (R, V, lambda: F.batch_norm(f(2, 3), None, None, training=False)),
        "layer_norm_empty_shape": (R, V, lambda: F.layer_norm(f(2, 3), ())),
        "group_norm_1d": (R, V, lambda: F.group_norm(f(4), 2)),
        "group_norm_indivisible": (R, V, lambda: F.group_norm(f(2, 3, 4), 2)),
        "instance_norm_stat_shape": (R, V, lambda: F.instance_norm(f(2, 3, 4), running_mean=f(4), running_var=f(4))),
        "interpolate_size_0": (R, V, lambda: F.interpolate(f(1, 1, 4, 4), size=0)),
        "interpolate_2d": (NotImplementedError, V, lambda: F.interpolate(f(4, 4), size=2)),
        "interpolate_scale_tiny": (R, V, lambda: F.interpolate(f(1, 1, 4), scale_factor=0.1)),
        "gelu_approximate": (R, V, lambda: F.gelu(f(3), approximate="bogus")),
        "embedding_weight_1d": (R, V, lambda: F.embedding(i([0, 1]), f(3))),
        "embedding_bag_float_offsets": (R, T, lambda: F.embedding_bag(i([0, 1]), f(3, 2), offsets=i([0.0]))),
        "embedding_bag_last_offset_none": (R, V, lambda: F.embedding_bag(
            i([0, 1]), f(3, 2), offsets=lib.tensor([], dtype=lib.int64), include_last_offset=True)),
        "embedding_bag_offsets_start": (R, V, lambda: F.embedding_bag(i([0, 1]), f(3, 2), offsets=i([1]))),
        "embedding_bag_offsets_decrease": (R, V, lambda: F.embedding_bag(i([0, 1, 2]), f(3, 2), offsets=i([0, 2, 1]))),
        "embedding_bag_float_input": (R, T, lambda: F.embedding_bag(i([0.0, 1.0]), f(3, 2), offsets=i([0]))),
        "adaptive_avg_pool2d_size_3": (R, V, lambda: F.adaptive_avg_pool2d(f(1, 1, 4, 4), (1, 2, 3))),
        "adaptive_avg_pool2d_1d": (R, V, lambda: F.adaptive_avg_pool2d(f(4), 2)),
        "conv1d_stride_pair": (R, V, lambda: F.conv1d(f(1, 1, 5), f(1, 1, 3), stride=(1, 1))),
        "conv1d_4d": (R, V, lambda: F.conv1d(f(1, 1, 1, 5), f(1, 1, 3))),
        "avg_pool1d_4d": (R, V, lambda: F.avg_pool1d(f(1, 1, 1, 5), 2)),
        "max_pool1d_4d": (R, V, lambda: F.max_pool1d(f(1, 1, 1, 5), 2)),
        "conv1d_weight_2d": (R, V, lambda: F.conv1d(f(1, 1, 5), f(1, 3))),
        "conv_transpose1d_weight_2d": (R, V, lambda: F.conv_transpose1d(f(1, 1, 5), f(1, 3))),
        "celu_alpha_0": (R, V, lambda: F.celu(f(3), alpha=0.0)),
        "prelu_weight_count": (R, V, lambda: F.prelu(f(2, 3), f(2))),
        "softshrink_negative": (R, V, lambda: F.softshrink(f(3), -1.0)),
        "glu_0d": (R, V, lambda: F.glu(lib.tensor(1.0))),
    }


def _tensor_mistakes(lib):
    F = lib.nn.functional
    f = lib.ones
    t = lib.tensor
    R, V, T = RuntimeError, ValueError, TypeError
    ints = lib.ones(2, 2, dtype=lib.int64)
    return {
        "flatten_order": (R, V, lambda: lib.flatten(f(2, 3, 4), 2, 1)),
        "unflatten_empty": (R, V, lambda: lib.unflatten(f(2, 6), 1, ())),
        "unflatten_sizes": (R, V, lambda: lib.unflatten(f(2, 6), 1, (4, 2))),
        "take_float_index": (R, T, lambda: lib.take(f(3), t([0.0]))),
        "take_along_dim_ndim": (R, V, lambda: lib.take_along_dim(f(2, 3), t([0]), 1)),
        "tensor_split_float": (R, T, lambda: lib.tensor_split(f(6), t([1.0]))),
        "tensor_split_0": (R, V, lambda: lib.tensor_split(f(6), 0)),
        "repeat_negative": (R, V, lambda: f(2).repeat(-1)),
        "pad_reflect_value": (R, V, lambda: F.pad(f(1, 1, 3), (1, 1), mode="reflect", value=1.0)),
        "roll_shifts_without_dims": (R, V, lambda: lib.roll(f(2, 3), (1, 1))),
        "index_select_2d_index": (IndexError, V, lambda: lib.index_select(f(2, 3), 0, t([[0]]))),
        "index_add_source_shape": (R, V, lambda: lib.index_add(f(3, 2), 0, t([0, 1]), f(3, 2))),
        "index_fill_vector_value": (R, V, lambda: f(3, 2).index_fill(0, t([0]), t([1.0, 2.0]))),
        "cartesian_prod_2d": (R, V, lambda: lib.cartesian_prod(f(2, 2), f(2))),
        "pixel_shuffle_factor_0": (R, V, lambda: F.pixel_shuffle(f(1, 4, 2, 2), 0)),
        "pixel_shuffle_2d": (R, V, lambda: F.pixel_shuffle(f(4, 2), 2)),
        "pixel_shuffle_channels": (R, V, lambda: F.pixel_shuffle(f(1, 3, 2, 2), 2)),
        "pixel_unshuffle_height": (R, V, lambda: F.pixel_unshuffle(f(1, 1, 3, 3), 2)),
        "cov_float_fweights": (R, T, lambda: lib.cov(f(2, 3), fweights=f(3))),
        "renorm_int": (R, T, lambda: lib.renorm(ints, 2, 0, 1.0)),
        "masked_scatter_int_mask": (R, T, lambda: f(3).masked_scatter(t([1, 0, 1]), f(3))),
        "put_float_index": (R, T, lambda: f(3).put(t([0.0]), f(1))),
        "scatter_reduce_mode": (R, V, lambda: f(3).scatter_reduce(0, t([0]), f(1), reduce="bogus")),
        "index_reduce_bool": (NotImplementedError, T, lambda: lib.zeros(3, dtype=lib.bool).index_reduce(
            0, t([0]), t([True]), reduce="prod")),
        "norm_p_string": (R, V, lambda: lib.norm(f(3), p="bogus")),
        "quantile_interpolation": (R, V, lambda: lib.quantile(f(3), 0.5, interpolation="bogus")),
        "quantile_q_2d": (R, V, lambda: lib.quantile(f(3), f(1, 1) * 0.5)),
        "quantile_q_dtype": (R, T, lambda: lib.quantile(f(3), t([0.5], dtype=lib.float64))),
        "quantile_q_range": (R, V, lambda: lib.quantile(f(3), 1.5)),
        "quantile_empty": (R, V, lambda: lib.quantile(f(0), 0.5)),
        "searchsorted_0d": (R, V, lambda: lib.searchsorted(t(1.0), f(3))),
        "searchsorted_shapes": (R, V, lambda: lib.searchsorted(f(2, 3), f(3, 3))),
        "searchsorted_float_sorter": (R, T, lambda: lib.searchsorted(f(3), f(3), sorter=f(3))),
        "searchsorted_sorter_shape": (R, V, lambda: lib.searchsorted(f(3), f(3), sorter=t([0, 1]))),
        "searchsorted_side": (R, V, lambda: lib.searchsorted(f(3), f(3), side="bogus")),
        "searchsorted_side_right": (R, V, lambda: lib.searchsorted(f(3), f(3), side="left", right=True)),
        "bucketize_2d": (R, V, lambda: lib.bucketize(f(3), f(2, 2))),
        "nll_loss_weight": (R, V, lambda: F.nll_loss(f(2, 3), t([0, 1]), weight=f(2))),
        "margin_ranking_ndim": (R, V, lambda: F.margin_ranking_loss(f(3), f(3), f(1, 3))),
        "cosine_embedding_2d_target": (R, V, lambda: F.cosine_embedding_loss(f(2, 3), f(2, 3), f(2, 2))),
        "cosine_embedding_ndim": (R, V, lambda: F.cosine_embedding_loss(f(2, 3), f(3), f(2))),
        "triplet_margin_ndim": (R, V, lambda: F.triplet_margin_loss(f(2, 3), f(2, 3), f(3))),
        "multi_margin_3d": (R, V, lambda: F.multi_margin_loss(f(2, 3, 4), t([0, 1]))),
        "multi_margin_weight": (R, V, lambda: F.multi_margin_loss(f(2, 3), t([0, 1]), weight=f(2))),
        "multilabel_soft_margin_0d": (IndexError, V, lambda: F.multilabel_soft_margin_loss(t(1.0), t(1.0))),
        "addcdiv_int": (R, T, lambda: lib.addcdiv(t([1]), t([1]), t([1]))),
        "div_rounding_mode": (R, V, lambda: lib.div(f(3), f(3), rounding_mode="bogus")),
        "heaviside_dtypes": (R, T, lambda: lib.heaviside(f(3), t([1.0], dtype=lib.float64))),
        "frexp_int": (R, T, lambda: lib.frexp(t([1]))),
        "positive_bool": (R, T, lambda: +t([True])),
        "linalg_inv_int": (R, T, lambda: lib.linalg.inv(ints)),
        "linalg_det_int": (R, T, lambda: lib.linalg.det(ints)),
        "matrix_norm_int": (R, T, lambda: lib.linalg.matrix_norm(ints)),
        "vecdot_int": (R, T, lambda: lib.linalg.vecdot(t([1]), t([1]))),
    }


def _dtype_mistakes(lib):
    """Mixed dtypes PyTorch refuses to promote."""
    f = lib.ones
    d = lambda *s: lib.ones(*s, dtype=lib.float64)  # noqa: E731
    R, T = RuntimeError, TypeError
    mask = lib.tensor([True, False, True])
    return {
        "prelu_float64_input": (R, T, lambda: lib.nn.functional.prelu(d(2, 3), f(1))),
        "prelu_float64_weight": (R, T, lambda: lib.nn.functional.prelu(f(2, 3), d(1))),
        "addmm_float32_input": (R, T, lambda: lib.addmm(f(2, 2), d(2, 3), d(3, 2))),
        "addmm_float64_input": (R, T, lambda: lib.addmm(d(2, 2), f(2, 3), f(3, 2))),
        "addmv": (R, T, lambda: lib.addmv(f(2), d(2, 3), d(3))),
        "addbmm": (R, T, lambda: lib.addbmm(f(2, 2), d(1, 2, 3), d(1, 3, 2))),
        "baddbmm": (R, T, lambda: lib.baddbmm(f(1, 2, 2), d(1, 2, 3), d(1, 3, 2))),
        "index_add": (R, T, lambda: f(3).index_add(0, lib.tensor([0]), d(1))),
        "index_add_": (R, T, lambda: f(3).index_add_(0, lib.tensor([0]), d(1))),
        "index_add_int_source": (R, T, lambda: f(3).index_add(0, lib.tensor([0]), lib.ones(1, dtype=lib.int64))),
        "index_copy": (R, T, lambda: f(3).index_copy(0, lib.tensor([0]), d(1))),
        "masked_scatter": (R, T, lambda: f(3).masked_scatter(mask, d(3))),
        "masked_scatter_": (R, T, lambda: f(3).masked_scatter_(mask, d(3))),
        "put": (R, T, lambda: f(3).put(lib.tensor([0]), d(1))),
    }


_MISTAKES = {"nn_mistakes": _nn_mistakes, "tensor_mistakes": _tensor_mistakes, "dtype_mistakes": _dtype_mistakes}


@pytest.mark.parametrize("key", list(_MISTAKES))
def test_exception_classes_as_torch(key):
    check(key, _mistakes_program(_MISTAKES[key]))


@pytest.mark.parametrize("key", list(_MISTAKES))
def test_new_classes_keep_the_old_handlers(key):
    """Each mistake is still the class minigrad raised before (ValueError, TypeError), so old
    handlers catch it too."""
    for _cls, old, fn in _MISTAKES[key](minigrad).values():
        with pytest.raises(old):
            fn()


# ------------------------------------------------------------------- logaddexp, xlogy, clamp
def _logaddexp_program(lib):
    a_values = [INF, INF, -INF, -INF, 1.0, INF, 2.0, 0.0, -INF, 3.0, NAN, -5.0]
    b_values = [-INF, INF, -INF, 1.0, -INF, 5.0, 2.0, 1e3, INF, NAN, 1.0, INF]
    out = {}
    for name in ("logaddexp", "logaddexp2"):
        a = lib.tensor(a_values, dtype=lib.float64, requires_grad=True)
        b = lib.tensor(b_values, dtype=lib.float64, requires_grad=True)
        y = getattr(lib, name)(a, b)
        y.sum().backward()
        out.update({f"{name}": y, f"{name}_grad_a": a.grad, f"{name}_grad_b": b.grad})
    return out


def test_logaddexp_gradients_with_infinite_operands_as_torch():
    check("logaddexp", _logaddexp_program)


def _xlogy_program(lib):
    x = lib.tensor([0.0, 0.0, 1.0, 0.0, 2.0, 0.0, 0.0], dtype=lib.float64, requires_grad=True)
    y = lib.tensor([INF, -INF, INF, 2.0, 3.0, INF, -1.0], dtype=lib.float64, requires_grad=True)
    z = lib.xlogy(x, y)
    (z * lib.tensor([1.0, 1.0, 1.0, 1.0, 1.0, -2.0, 1.0], dtype=lib.float64)).sum().backward()
    u = lib.tensor([0.0, 0.0], dtype=lib.float64, requires_grad=True)  # a zero upstream gradient: 0, not nan
    weights = lib.tensor([0.0, 1.0], dtype=lib.float64)
    (lib.xlogy(u, lib.tensor([INF, INF], dtype=lib.float64)) * weights).sum().backward()
    w = lib.tensor([0.0], dtype=lib.float64, requires_grad=True)  # broadcast against other
    lib.xlogy(w, lib.tensor([[INF], [INF]], dtype=lib.float64)).sum().backward()
    return {"value": z, "grad_x": x.grad, "grad_y": y.grad, "grad_zero_upstream": u.grad, "grad_broadcast": w.grad}


def test_xlogy_gradient_at_zero_and_inf_as_torch():
    check("xlogy", _xlogy_program)


def _clamp_program(lib):
    def leaf(values):
        return lib.tensor(values, dtype=lib.float64, requires_grad=True)

    xs = [1.0, 2.0, 3.0, NAN, 0.5, 7.0, 4.0]
    lows = [NAN, 0.0, 5.0, 0.0, 1.0, 2.0, 6.0]
    highs = [NAN, NAN, 6.0, 1.0, 3.0, 5.0, 2.0]  # the last: min > max
    out = {}
    for name, kwargs in (("both", ("min", "max")), ("min", ("min",)), ("max", ("max",))):
        x, low, high = leaf(xs), leaf(lows), leaf(highs)
        bounds = {"min": low, "max": high if name == "both" else low}
        y = lib.clamp(x, **{k: bounds[k] for k in kwargs})
        y.sum().backward()
        out.update({name: y, f"{name}_grad_x": x.grad, f"{name}_grad_bound": low.grad})
        if name == "both":
            out["both_grad_max"] = high.grad
    return out


def test_clamp_gradients_with_nan_tensor_bounds_as_torch():
    check("clamp", _clamp_program)


# ------------------------------------------------------------------- add of bools, mode, Bessel, pow
def _add_bool_program(lib):
    a, b = lib.tensor([True, False, True, False]), lib.tensor([True, True, False, False])
    out = {}
    for alpha in (3, 0, -2, 1):
        r = lib.add(a, b, alpha=alpha)
        out[f"alpha_{alpha}".replace("-", "m")] = r
        out[f"alpha_{alpha}_dtype".replace("-", "m")] = np.array(str(r.dtype).split(".")[-1])
    out["bool_int"] = lib.add(a, lib.tensor(2), alpha=3)
    return out


def test_add_bools_with_alpha_stays_bool_as_torch():
    check("add_bool", _add_bool_program)


def _mode_program(lib):
    rows = np.array([
        [NAN, 1.0, 1.0, NAN, NAN, 2.0],
        [0.0, NAN, 5.0, NAN, 5.0, NAN],
        [NAN, 2.0, 1.0, NAN, 3.0, 4.0],
        [1.0, NAN, NAN, 2.0, 2.0, 0.0],
        [NAN, NAN, NAN, NAN, NAN, NAN],
        [3.0, 2.0, 3.0, 1.0, 2.0, 3.0],
    ])
    rng = np.random.default_rng(15)
    many = rng.choice([0.0, 1.0, 2.0, NAN, NAN, -1.0], size=(40, 16))
    out = {}
    for name, values in (("rows", rows), ("many", many)):
        r = lib.mode(lib.tensor(values, dtype=lib.float64))
        out.update({f"{name}_values": r.values, f"{name}_indices": r.indices})
    r = lib.mode(lib.tensor(rows.T.copy(), dtype=lib.float64), 0, keepdim=True)
    out.update({"dim0_values": r.values, "dim0_indices": r.indices})
    return out


def test_mode_with_nans_as_torch():
    check("mode", _mode_program)


def _bessel_program(lib):
    values = [1e308, -1e308, 3e307, 800.0, 710.0, 1e5, 1e200, INF, -INF, NAN, 0.0, 3.0, -40.0]
    out = {}
    for name in ("i0", "special.i0e", "special.i1", "special.i1e"):
        fn = lib
        for part in name.split("."):
            fn = getattr(fn, part)
        x = lib.tensor(values, dtype=lib.float64, requires_grad=True)
        y = fn(x)
        y.sum().backward()
        out.update({name: y, f"{name}_grad": x.grad})
    return out


def test_bessel_of_huge_arguments_as_torch():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check("bessel", _bessel_program, rtol=1e-12)


def _int_pow_program(lib):
    low, high = -(2**63), 2**63 - 1
    t = lib.tensor
    return {
        "number_base": 2 ** t([low, -1, 0, 3, 62, 63, 64]),
        "negative_number_base": (-3) ** t([low, 41, -2]),
        "tensors": t([2, -2, 0, 1, -1, 3, -1, -1, 1, low, high, low]) ** t([low, low, -1, high, high, 40, -1, -2, low,
                                                                           2, 3, high]),
        "int32": t([-1, 2, -1], dtype=lib.int32) ** t([-(2**31), -(2**31), -(2**31) + 1], dtype=lib.int32),
        "uint8": t([3, 255], dtype=lib.uint8) ** t([255, 255], dtype=lib.uint8),
    }


def test_integer_pow_with_extreme_exponents_as_torch():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check("int_pow", _int_pow_program)


# ------------------------------------------------------------------- quiet overflow, NaN determinants
def _float32_overflow_program(lib):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        given = lib.tensor([1e308, -1e300, 1.0], dtype=lib.float32)
        inferred = lib.tensor([1e308, 2.0])  # the default dtype, float32
    return {"given": given, "inferred": inferred, "warnings": np.array(len(caught))}


def test_tensor_float32_overflow_is_quiet_as_torch():
    check("float32_overflow", _float32_overflow_program)


def _nan_determinant_program(lib):
    matrices = [[[1.0, 2.0], [3.0, 4.0]], [[NAN, 0.0], [0.0, 1.0]], [[NAN, 1.0], [2.0, 3.0]], [[NAN, NAN], [NAN, NAN]]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a = lib.tensor(matrices, dtype=lib.float64, requires_grad=True)
        sign, logabsdet = lib.linalg.slogdet(a)
        logabsdet.sum().backward()
        b = lib.tensor(matrices, dtype=lib.float64, requires_grad=True)
        det = lib.linalg.det(b)
        det.sum().backward()
    return {"sign": sign, "logabsdet": logabsdet, "slogdet_grad": a.grad, "det": det, "det_grad": b.grad,
            "warnings": np.array(len(caught))}


def test_slogdet_and_det_of_nan_matrices_as_torch():
    check("nan_determinant", _nan_determinant_program)


# ------------------------------------------------------------------- linalg.cond
_COND_ORDERS = {"none": None, "2": 2, "m2": -2, "fro": "fro", "nuc": "nuc", "inf": INF, "minf": -INF, "1": 1, "m1": -1}


def _cond_program(lib):
    matrices = np.array([[[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0], [2.0, 4.0]], [[2.0, 0.5], [0.1, 3.0]]])
    a = lib.tensor(matrices, dtype=lib.float64)
    out = {name: lib.linalg.cond(a, p) for name, p in _COND_ORDERS.items()}
    rect = np.random.default_rng(3).standard_normal((2, 3, 4))
    out["rectangular"] = lib.linalg.cond(lib.tensor(rect, dtype=lib.float64))
    out["rectangular_m2"] = lib.linalg.cond(lib.tensor(rect, dtype=lib.float64), -2)
    out["float32_dtype"] = np.array(str(lib.linalg.cond(lib.eye(3), 1).dtype).split(".")[-1])
    out["empty"] = lib.linalg.cond(lib.zeros(0, 0, dtype=lib.float64))
    for name in ("none", "m2"):
        x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.float64, requires_grad=True)
        lib.linalg.cond(x, _COND_ORDERS[name]).backward()
        out[f"grad_{name}"] = x.grad
    return out


def test_linalg_cond_as_torch():
    check("cond", _cond_program, rtol=1e-7)


def _cond_mistakes(lib):
    R = RuntimeError
    return {
        "non_square_fro": (R, R, lambda: lib.linalg.cond(lib.ones(2, 3), "fro")),
        "order_3": (R, R, lambda: lib.linalg.cond(lib.ones(2, 3), 3)),
        "order_string": (R, R, lambda: lib.linalg.cond(lib.ones(2, 2), "bogus")),
        "vector": (R, R, lambda: lib.linalg.cond(lib.ones(3))),
        "int": (R, R, lambda: lib.linalg.cond(lib.ones(2, 2, dtype=lib.int64))),
    }


def test_linalg_cond_mistakes_raise_as_torch():
    check("cond_mistakes", _mistakes_program(_cond_mistakes))


def test_linalg_cond_differentiable_for_the_norm_orders():
    """minigrad's cond composes matrix_norm and inv_ex, so the norm orders have a gradient too
    (PyTorch's backward covers p None, 2 and -2): the finite-difference one."""
    a = np.array([[2.0, 0.5], [0.1, 3.0]])
    for p in ("fro", "nuc", INF, 1):
        x = minigrad.tensor(a, requires_grad=True)
        minigrad.linalg.cond(x, p).backward()
        numeric = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            step = np.zeros_like(a)
            step[idx] = 1e-6
            up = minigrad.linalg.cond(minigrad.tensor(a + step), p).item()
            down = minigrad.linalg.cond(minigrad.tensor(a - step), p).item()
            numeric[idx] = (up - down) / 2e-6
        np.testing.assert_allclose(x.grad.numpy(), numeric, rtol=1e-5, atol=1e-7, err_msg=str(p))
