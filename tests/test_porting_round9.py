"""Course programs ported with `import minigrad as torch`, round 9: each program runs on both
libraries (`program(lib)` with lib minigrad or torch) and its results are compared with PyTorch's
(live, or recorded in tests/fixtures/torch_reference/test_porting_round9.npz). Programs:
the exception classes of more mistakes, caught by PyTorch's class (torch.where with a float or int
condition; matrix products of two dtypes: matmul, mm, bmm, einsum, addmm, F.linear, nn.Bilinear;
an integer tensor to a negative integer number; integer floor division, remainder and fmod by
zero; a float64 input to a float32 convolution; - of a bool tensor, `1 - mask`; matmul of a 0-d
tensor) while the classes minigrad raised before still catch them; the values around them that
must not change (integer tensors to negative tensor exponents, float division by zero, exp
overflowing silently) and softmax's warning for its deprecated implicit dim; grad_fn names
(VarBackward0, StdBackward0, PowBackward1/2, ClampBackward1, ClampMinBackward0, SplitBackward0,
SplitWithSizesBackward0, GatherBackward0, CumsumBackward0, UnsafeViewBackward0,
ReshapeAliasBackward0, ...); a state_dict's `_metadata` (the module versions load_state_dict
reads) through save and load; a DataLoader batch's string field as a tuple; interpolate's "area"
and "nearest-exact" modes."""

import io
import tempfile
import warnings
from pathlib import Path

import numpy as np
from parity import check_program
from test_porting_round8 import caught_as
from torch_reference import TorchReference

import minigrad

torch_reference = TorchReference(__name__)


def check(key, program, rtol=1e-6):
    """program(minigrad)'s results against program(torch)'s (parity.check_program)."""
    check_program(torch_reference, key, program, rtol)


# ------------------------------------------------------------------- exception classes
def _mistakes(lib):
    """More mistakes of course code: name -> (PyTorch's exception class, the mistake)."""
    F, nn = lib.nn.functional, lib.nn
    x = lib.tensor(np.linspace(-1, 1, 6).reshape(2, 3), dtype=lib.float32)
    x64 = lib.ones(3, 2, dtype=lib.float64)
    ints = lib.tensor([1, 2])
    mask = lib.tensor([True, False])
    return {
        "where_float_condition": (RuntimeError, lambda: lib.where(lib.tensor([1.0, 0.0]), ints, ints)),
        "where_int_condition": (RuntimeError, lambda: lib.where(lib.tensor([1, 0]), ints, ints)),
        "where_method_int_condition": (RuntimeError, lambda: ints.where(lib.tensor([1, 0]), ints)),
        "matmul_float64_float32": (RuntimeError, lambda: x64.t() @ x.t()),
        "matmul_int64_float32": (RuntimeError, lambda: lib.ones(2, 3, dtype=lib.int64) @ x.t()),
        "matmul_float32_float64": (RuntimeError, lambda: x @ x64),
        "matmul_int32_int64": (RuntimeError, lambda: ints.int() @ ints),
        "matmul_vector_float64": (RuntimeError, lambda: x @ lib.ones(3, dtype=lib.float64)),
        "mm_float32_float64": (RuntimeError, lambda: lib.mm(x, x64)),
        "bmm_float32_float64": (RuntimeError, lambda: lib.bmm(x[None], x64[None])),
        "einsum_float32_float64": (RuntimeError, lambda: lib.einsum("ij,jk->ik", x, x64)),
        "addmm_float64_mat2": (RuntimeError, lambda: lib.addmm(lib.ones(2), x, x64)),
        "linear_float64_weight": (RuntimeError, lambda: F.linear(x, x64.t())),
        "bilinear_float64_inputs": (RuntimeError, lambda: nn.Bilinear(3, 3, 2)(x.double(), x.double())),
        "matmul_0d": (RuntimeError, lambda: lib.matmul(lib.tensor(2.0), lib.ones(2))),
        "pow_int_negative": (RuntimeError, lambda: ints ** -1),
        "pow_function_int_negative": (RuntimeError, lambda: lib.pow(ints, -2)),
        "pow_uint8_negative": (RuntimeError, lambda: ints.to(lib.uint8) ** -1),
        "pow_bool_negative": (RuntimeError, lambda: mask ** -1),
        "floor_divide_int_zero": (RuntimeError, lambda: ints // 0),
        "floor_divide_int_zero_tensor": (RuntimeError, lambda: lib.tensor([1]) // lib.tensor([0])),
        "remainder_int_zero": (RuntimeError, lambda: ints % 0),
        "remainder_int_zero_tensor": (RuntimeError, lambda: lib.tensor([1]) % lib.tensor([0])),
        "fmod_int_zero": (RuntimeError, lambda: lib.fmod(ints, 0)),
        "div_floor_int_zero": (RuntimeError, lambda: lib.div(ints, 0, rounding_mode="floor")),
        "conv2d_float64_input": (RuntimeError, lambda: nn.Conv2d(1, 1, 1)(lib.ones(1, 1, 2, 2, dtype=lib.float64))),
        "conv1d_float64_input": (RuntimeError, lambda: nn.Conv1d(1, 1, 1)(lib.ones(1, 1, 3, dtype=lib.float64))),
        "conv_transpose2d_float64_input": (RuntimeError, lambda: nn.ConvTranspose2d(1, 1, 1)(
            lib.ones(1, 1, 2, 2, dtype=lib.float64))),
        "negate_bool": (RuntimeError, lambda: -mask),
        "subtract_bools": (RuntimeError, lambda: mask - mask),
        "one_minus_bool_mask": (RuntimeError, lambda: 1 - mask),
        "bool_minus_int": (RuntimeError, lambda: mask - ints),
    }


def _exception_classes_program(lib):
    cases = _mistakes(lib)
    return {"caught": caught_as(cases), "names": np.array(list(cases))}


def test_mistakes_raise_torch_exception_classes():
    """PyTorch's classes, while handlers written for the classes minigrad raised before still
    catch them (the mistakes minigrad computed something for before have no handler to keep)."""
    check("exception_classes", _exception_classes_program)
    old = {"pow_int_negative": ValueError, "pow_function_int_negative": ValueError, "pow_bool_negative": ValueError,
           "floor_divide_int_zero": ZeroDivisionError, "floor_divide_int_zero_tensor": ZeroDivisionError,
           "remainder_int_zero": ZeroDivisionError, "remainder_int_zero_tensor": ZeroDivisionError,
           "fmod_int_zero": ZeroDivisionError, "div_floor_int_zero": ZeroDivisionError, "matmul_0d": ValueError,
           "conv2d_float64_input": TypeError, "conv1d_float64_input": TypeError,
           "conv_transpose2d_float64_input": TypeError, "negate_bool": TypeError, "subtract_bools": TypeError,
           "linear_float64_weight": TypeError}
    cases = {name: (cls, fn) for name, (_, fn) in _mistakes(minigrad).items() if (cls := old.get(name))}
    assert caught_as(cases).all(), [name for name, ok in zip(cases, caught_as(cases), strict=True) if not ok]


# ------------------------------------------------------------------- values that must not change
def _with_warnings(fn):
    """fn()'s result and how many warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return result, np.array(len(caught))


def _values_program(lib):
    ints = lib.tensor([0, 1, -1, 2, -2, 3, -1, 0])
    exponents = lib.tensor([-1, -1, -1, -1, -1, -2, -2, 0])
    overflow, overflow_warnings = _with_warnings(lambda: lib.tensor([1.0, 100.0]).exp())
    batch = lib.tensor(np.linspace(-1, 1, 24).reshape(2, 3, 4), dtype=lib.float32)
    implicit, implicit_warnings = _with_warnings(lambda: lib.nn.functional.softmax(batch))
    return {
        "int_negative_tensor_exponents": ints ** exponents,
        "int32_negative_tensor_exponents": ints.int() ** exponents.int(),
        "number_to_negative_tensor_exponents": 2 ** lib.tensor([-1, 2]),
        "int_zero_exponent": ints ** 0,
        "int_float_exponent": lib.tensor([1, 2]) ** -1.0,
        "float_divide_zero": lib.tensor([1.0, 0.0, -1.0]) / 0,
        "float_floor_divide_zero": lib.tensor([1.0, 0.0]) // 0,
        "float_remainder_zero": lib.tensor([1.0, -1.0]) % 0,
        "int_matmul": lib.ones(2, 3, dtype=lib.int64) @ lib.ones(3, 2, dtype=lib.int64),
        "where_bool": lib.where(lib.tensor([True, False]), lib.ones(2), lib.zeros(2)),
        "where_nonzero_int": lib.where(lib.tensor([1, 0, 2]))[0],
        "exp_overflow": overflow,
        "exp_overflow_warnings": overflow_warnings,
        "softmax_implicit_dim": implicit,
        "softmax_implicit_dim_warnings": implicit_warnings,
    }


def test_values_around_the_new_errors_as_torch():
    check("values", _values_program)


# ------------------------------------------------------------------- grad_fn names
def _grad_fn_names_program(lib):
    F = lib.nn.functional
    x = lib.tensor(np.linspace(0.1, 1, 12).reshape(3, 4), dtype=lib.float32, requires_grad=True)
    index = lib.tensor([[0], [1], [2]])
    made = {
        "var": x.var(), "var_dim": x.var(1), "std": x.std(), "std_dim": x.std(0, unbiased=False),
        "pow_number": x ** 2, "pow_tensor": x ** x, "number_pow": 2 ** x, "square": x.square(),
        "clamp": x.clamp(0.2, 0.5), "clamp_min_keyword": x.clamp(min=0.2), "clip": x.clip(0, 1),
        "clamp_min": x.clamp_min(0.2), "clamp_max": x.clamp_max(0.2),
        "clamp_tensors": x.clamp(lib.zeros(4), lib.ones(4)),
        "split": x.split(2)[1], "split_sizes": x.split([1, 2])[0], "chunk": x.chunk(2, 1)[1], "unbind": x.unbind(1)[0],
        "gather": x.gather(1, index), "cumsum": x.cumsum(0), "cumprod": x.cumprod(1),
        "log_softmax": F.log_softmax(x, 1), "softmax": F.softmax(x, 1), "exp": x.exp(), "log": x.log(),
        "sqrt": x.sqrt(), "rsqrt": x.rsqrt(), "reciprocal": x.reciprocal(), "tanh": x.tanh(), "sigmoid": x.sigmoid(),
        "relu": F.relu(x), "silu": F.silu(x), "elu": F.elu(x), "mean": x.mean(), "mean_dim": x.mean(1),
        "cat": lib.cat([x, x]), "view": x.view(4, 3), "reshape": x.reshape(12), "reshape_copy": x.t().reshape(12),
        "reshape_strided_view": x[:, ::2].reshape(6), "view_strided": x[:, ::2].view(6),
        "flatten_copy": x.t().flatten(),
        "transpose": x.transpose(0, 1), "permute": x.permute(1, 0), "index_tensor": x[lib.tensor([0, 2])],
        "max": x.max(), "max_dim": x.max(1).values, "min_dim": x.min(0)[0], "prod": x.prod(), "prod_dim": x.prod(1),
        "logsumexp": x.logsumexp(1), "sort": x.sort(1).values, "topk": x.topk(2).values, "flip": x.flip(0),
        "roll": x.roll(1, 0), "repeat": x.repeat(2, 1), "masked_fill": x.masked_fill(x > 0.5, 0.0),
        "index_select": x.index_select(0, lib.tensor([0])), "masked_select": x.masked_select(x > 0.5),
        "pad": F.pad(x, (1, 1)), "tril": x.tril(), "triu": x.triu(1), "floor": x.floor(), "round": x.round(),
        "round_decimals": x.round(decimals=1), "rsub": 1 - x,
    }
    return {"names": np.array([y.grad_fn.name() for y in made.values()]), "ops": np.array(list(made)),
            "reprs": np.array([repr(made[op]).rpartition("grad_fn=")[2] for op in ("var", "split_sizes", "rsub")])}


def test_grad_fn_names_as_torch():
    check("grad_fn_names", _grad_fn_names_program)


# ------------------------------------------------------------------- state_dict _metadata
def _state_dict_metadata_program(lib):
    nn = lib.nn
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    loaded = {}
    with tempfile.TemporaryDirectory() as folder:
        lib.save(model.state_dict(), Path(folder, "model.pt"))
        loaded["model.pt"] = lib.load(Path(folder, "model.pt"))
        lib.save({"model": model.state_dict(), "epoch": 3}, Path(folder, "checkpoint.pt"))
        loaded["checkpoint"] = lib.load(Path(folder, "checkpoint.pt"))["model"]
    buffer = io.BytesIO()
    lib.save(model.state_dict(), buffer)
    buffer.seek(0)
    loaded["file_object"] = lib.load(buffer)
    out = {}
    for name, state in loaded.items():
        metadata = getattr(state, "_metadata", {})
        out[f"{name}_prefixes"] = np.array(list(metadata), dtype=str)
        out[f"{name}_versions"] = np.array([entry["version"] for entry in metadata.values()])
    # the versions say the checkpoint's BatchNorm has num_batches_tracked: without it, a missing key
    del loaded["model.pt"]["1.num_batches_tracked"]
    out["missing_buffer_refused"] = caught_as({"load": (RuntimeError,
                                                        lambda: model.load_state_dict(loaded["model.pt"]))})
    return out


def test_state_dict_metadata_survives_save_and_load_as_torch():
    check("state_dict_metadata", _state_dict_metadata_program)


def test_state_dict_metadata_survives_safetensors_files(tmp_path):
    """minigrad's own format keeps it too, for a state dict and inside a checkpoint."""
    state = minigrad.nn.Sequential(minigrad.nn.Linear(2, 3), minigrad.nn.BatchNorm1d(3)).state_dict()
    minigrad.save(state, tmp_path / "model.safetensors")
    minigrad.save({"model": state, "epoch": 3}, tmp_path / "checkpoint.safetensors")
    assert minigrad.load(tmp_path / "model.safetensors")._metadata == state._metadata
    assert minigrad.load(tmp_path / "checkpoint.safetensors")["model"]._metadata == state._metadata


# ------------------------------------------------------------------- DataLoader string fields
def _collate_strings_program(lib):
    data = lib.utils.data
    pairs = [(np.float32(i), f"item{i}") for i in range(4)]
    values, names = next(iter(data.DataLoader(pairs, batch_size=3)))
    plain = next(iter(data.DataLoader(["a", "b"], batch_size=2)))
    return {"values": values, "names": np.array(names), "names_kind": np.array(type(names).__name__),
            "plain_kind": np.array(type(plain).__name__),
            "collate_kind": np.array(type(data.default_collate([(1, "a"), (2, "b")])[1]).__name__)}


def test_string_fields_collate_as_torch():
    check("collate_strings", _collate_strings_program)


# ------------------------------------------------------------------- interpolate modes
def _interpolate_program(lib):
    F = lib.nn.functional
    image = lib.tensor(np.linspace(-1, 1, 35).reshape(1, 1, 5, 7), dtype=lib.float32, requires_grad=True)
    signal = lib.tensor(np.linspace(-1, 1, 14).reshape(1, 2, 7), dtype=lib.float32, requires_grad=True)
    out = {
        "area_size": F.interpolate(image, size=(2, 3), mode="area"),
        "area_up": F.interpolate(image, size=(8, 3), mode="area"),
        "area_scale": F.interpolate(image, scale_factor=0.5, mode="area"),
        "area_1d": F.interpolate(signal, size=4, mode="area"),
        "nearest_exact_size": F.interpolate(image, size=(3, 10), mode="nearest-exact"),
        "nearest_exact_scale": F.interpolate(image, scale_factor=1.7, mode="nearest-exact"),
        "nearest_exact_down": F.interpolate(image, scale_factor=0.4, mode="nearest-exact"),
        "nearest_exact_1d": F.interpolate(signal, size=9, mode="nearest-exact"),
    }
    sum((y * y).sum() for y in out.values()).backward()
    return {**out, "image_grad": image.grad, "signal_grad": signal.grad}


def test_interpolate_area_and_nearest_exact_as_torch():
    check("interpolate", _interpolate_program)
