"""Course programs ported with `import minigrad as torch`, round 10: each program runs on both
libraries (`program(lib)` with lib minigrad or torch) and its results are compared with PyTorch's
(live, or recorded in tests/fixtures/torch_reference/test_porting_round10.npz). Programs:
F.linear with a 1-D weight and with biases that broadcast (0-d, (1,), (N, out)), values, gradients
and grad_fn names; F.channel_shuffle, torch.channel_shuffle and nn.ChannelShuffle, with their errors;
the warnings PyTorch gives (the .grad of a non-leaf tensor, std/var with degrees of freedom <= 0,
torch.tensor of a tensor, each call; x.T of other than 2 dims and torch.tensor of a list of
ndarrays, once a process), attributed to the user's line; & | ^ << >> of float tensors as
PyTorch's NotImplementedError (~ as its TypeError) while `except TypeError` still catches them;
conv1d's dtype error naming conv1d; grad_fn names (1 / x, einsum, Tensor.unfold, var_mean,
std_mean, reflect/replicate/circular padding); LR schedulers' state_dict keys and values."""

import json
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
from parity import check_program, error_of
from test_porting_round8 import caught_as
from torch_reference import TorchReference
from train_utils import same_minigrad_env

import minigrad

torch_reference = TorchReference(__name__)


def check(key, program, rtol=1e-6):
    """program(minigrad)'s results against program(torch)'s (parity.check_program)."""
    check_program(torch_reference, key, program, rtol)


# ------------------------------------------------------------------- F.linear
def _linear_program(lib):
    F = lib.nn.functional
    rng = np.random.default_rng(10)

    def leaf(*shape):
        return lib.tensor(rng.standard_normal(shape), dtype=lib.float64, requires_grad=True)

    x1, x2, x3, w, weight = leaf(3), leaf(2, 3), leaf(5, 2, 3), leaf(3), leaf(4, 3)
    scalar, one, row, rows, grid = leaf(), leaf(1), leaf(4), leaf(2, 4), leaf(5, 1, 4)
    made = {
        "vector_weight_1d": F.linear(x1, w), "vector_weight_2d": F.linear(x2, w), "vector_weight_3d": F.linear(x3, w),
        "vector_weight_1d_scalar_bias": F.linear(x1, w, scalar),
        "vector_weight_3d_scalar_bias": F.linear(x3, w, scalar),
        "scalar_bias_1d": F.linear(x1, weight, scalar), "scalar_bias_2d": F.linear(x2, weight, scalar),
        "scalar_bias_3d": F.linear(x3, weight, scalar), "one_bias_2d": F.linear(x2, weight, one),
        "one_bias_3d": F.linear(x3, weight, one), "row_bias_1d": F.linear(x1, weight, row),
        "rows_bias_2d": F.linear(x2, weight, rows), "rows_bias_3d": F.linear(x3, weight, rows),
        "grid_bias_3d": F.linear(x3, weight, grid),
    }
    total = sum((y * y).sum() for y in made.values())
    total.backward()
    leaves = {"x1": x1, "x2": x2, "x3": x3, "w": w, "weight": weight, "scalar": scalar, "one": one, "row": row,
              "rows": rows, "grid": grid}
    errors = {
        "vector_weight_2d_bias": (RuntimeError, lambda: F.linear(x2, w, scalar)),
        "vector_weight_row_bias": (RuntimeError, lambda: F.linear(x3, w, one)),
        "vector_weight_wrong_features": (RuntimeError, lambda: F.linear(leaf(2, 4), w)),
        "bias_growing_the_output": (RuntimeError, lambda: F.linear(x1, weight, rows)),
        "bias_not_broadcasting": (RuntimeError, lambda: F.linear(x2, weight, leaf(3))),
    }
    return {**made, **{f"{name}_grad": t.grad for name, t in leaves.items()},
            "names": np.array([y.grad_fn.name() for y in made.values()]), "errors": caught_as(errors)}


def test_linear_vector_weight_and_broadcast_bias_as_torch():
    check("linear", _linear_program, rtol=1e-12)


# ------------------------------------------------------------------- channel_shuffle
def _channel_shuffle_program(lib):
    F, nn = lib.nn.functional, lib.nn
    image = lib.tensor(np.linspace(-1, 1, 48).reshape(2, 6, 2, 2), dtype=lib.float32, requires_grad=True)
    signal = lib.tensor(np.linspace(-1, 1, 36).reshape(1, 12, 3), dtype=lib.float32, requires_grad=True)
    weights = lib.tensor(np.linspace(0.5, 2, 48).reshape(2, 6, 2, 2), dtype=lib.float32)
    out = {"functional": F.channel_shuffle(image, 3), "top_level": lib.channel_shuffle(signal, 4),
           "module": nn.ChannelShuffle(2)(image), "one_group": F.channel_shuffle(image, 1),
           "every_channel": F.channel_shuffle(signal, 12)}
    ((out["functional"] * weights).sum() + (out["module"] * weights * 3).sum()
     + (out["top_level"] ** 2).sum()).backward()
    errors = {"zero_groups": (RuntimeError, lambda: F.channel_shuffle(image, 0)),
              "negative_groups": (RuntimeError, lambda: F.channel_shuffle(image, -2)),
              "groups_not_dividing": (RuntimeError, lambda: F.channel_shuffle(image, 4)),
              "two_dims": (RuntimeError, lambda: F.channel_shuffle(image[0, :, 0], 2)),
              "float_groups": (TypeError, lambda: F.channel_shuffle(image, 2.0))}
    return {**out, "image_grad": image.grad, "signal_grad": signal.grad,
            "names": np.array([y.grad_fn.name() for y in out.values()]),
            "repr": np.array(repr(nn.ChannelShuffle(3))), "errors": caught_as(errors)}


def test_channel_shuffle_as_torch():
    check("channel_shuffle", _channel_shuffle_program)


# ------------------------------------------------------------------- warnings
_PHRASES = {"non_leaf": "not a leaf Tensor", "dof": "degrees of freedom is <= 0", "copy": "To copy construct",
            "T": "`x.T`", "T_0d": "Tensor.T is deprecated on 0-D", "ndarrays": "list of numpy.ndarrays"}


def _warned(fn, phrase):
    """How many UserWarnings with phrase fn() gave, and the files they are attributed to."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    ours = [w for w in caught if issubclass(w.category, UserWarning) and phrase in str(w.message)]
    return len(ours), sorted({Path(w.filename).name for w in ours})


def _per_call_warnings_program(lib):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y, kept = x * 2, x * 3
    kept.retain_grad()
    one = lib.ones(1)
    cases = {
        "non_leaf_grad": ("non_leaf", lambda: (y.grad, y.grad)),
        "retained_grad": ("non_leaf", lambda: kept.grad),
        "leaf_grad": ("non_leaf", lambda: x.grad),
        "untracked_grad": ("non_leaf", lambda: (lib.ones(2) * 2).grad),
        "std_of_one": ("dof", lambda: (one.std(), lib.std(one))),
        "var_dim_of_one": ("dof", lambda: lib.ones(2, 1).var(1)),
        "var_correction_two": ("dof", lambda: lib.ones(2).var(correction=2)),
        "var_mean_of_one": ("dof", lambda: lib.var_mean(one)),
        "std_mean_of_one": ("dof", lambda: lib.std_mean(one)),
        "var_population_of_one": ("dof", lambda: one.var(unbiased=False)),
        "var_of_two": ("dof", lambda: lib.ones(2).var()),
        "tensor_of_tensor": ("copy", lambda: (lib.tensor(x), lib.tensor(lib.ones(2)))),
        "tensor_of_parameter": ("copy", lambda: lib.tensor(lib.nn.Parameter(lib.ones(2)))),
        "tensor_of_list": ("copy", lambda: lib.tensor([1.0, 2.0])),
        "as_tensor_of_tensor": ("copy", lambda: lib.as_tensor(x)),
    }
    counts, files = zip(*(_warned(fn, _PHRASES[kind]) for kind, fn in cases.values()), strict=True)
    messages = [_first_message(lambda: y.grad), _first_message(lambda: one.std()),
                _first_message(lambda: lib.var_mean(one)), _first_message(lambda: lib.tensor(x))]
    return {"counts": np.array(counts), "files": np.array([",".join(f) for f in files]),
            "messages": np.array(messages), "cases": np.array(list(cases))}


def _first_message(fn):
    """The first warning fn() gives ("" if none), less PyTorch's "(Triggered internally at ...)" suffix."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return str(caught[0].message).split(" (Triggered internally")[0] if caught else ""


def test_per_call_warnings_as_torch():
    """Each call warns (of the user's line), as PyTorch's."""
    check("per_call_warnings", _per_call_warnings_program)


_ONCE_SCRIPT = """
import json, sys, warnings
import numpy as np
lib = __import__(sys.argv[1])
phrases = json.loads(sys.argv[2])
cases = {
    "T_1d": ("T", lambda: [lib.ones(3).T for _ in range(3)]),
    "T_3d_after_1d": ("T", lambda: lib.ones(2, 3, 4).T),
    "T_2d": ("T", lambda: lib.ones(2, 3).T),
    "T_0d": ("T_0d", lambda: [lib.tensor(1.0).T for _ in range(2)]),
    "ndarrays": ("ndarrays", lambda: [lib.tensor([np.ones(2), np.ones(2)]) for _ in range(2)]),
    "nested_ndarrays_after": ("ndarrays", lambda: lib.tensor([[np.ones(2)], [np.ones(2)]])),
}
counts = {}
for name, (kind, fn) in cases.items():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    counts[name] = [sum(phrases[kind] in str(w.message) and issubclass(w.category, UserWarning) for w in caught),
                    sorted({w.filename for w in caught})]
print(json.dumps(counts))
"""


def _once_warnings_program(lib):
    """In a fresh process (PyTorch warns of these once a process): the counts, and whether each
    warning is attributed to the program's own line (its "<string>")."""
    # outside the repository, with the tests' own minigrad: the uncompiled ./minigrad must not come first
    run = subprocess.run([sys.executable, "-c", _ONCE_SCRIPT, lib.__name__, json.dumps(_PHRASES)],
                         capture_output=True, text=True, check=True, cwd=tempfile.gettempdir(),
                         env=same_minigrad_env())
    counts = json.loads(run.stdout)
    return {"counts": np.array([count for count, _ in counts.values()]),
            "files": np.array([",".join(files) for _, files in counts.values()]), "cases": np.array(list(counts))}


def test_once_a_process_warnings_as_torch():
    check("once_warnings", _once_warnings_program)


# ------------------------------------------------------------------- bitwise ops of floats
def _bitwise_mistakes(lib):
    """Bitwise ops of float tensors: name -> (PyTorch's exception class, the mistake)."""
    f, ints = lib.ones(2), lib.tensor([1, 2])
    return {
        "and": (NotImplementedError, lambda: f & f), "or": (NotImplementedError, lambda: f | f),
        "xor": (NotImplementedError, lambda: f ^ f), "and_number": (NotImplementedError, lambda: f & 1),
        "number_or": (NotImplementedError, lambda: 1 | f), "int_and_float": (NotImplementedError, lambda: ints & f),
        "int_and_float_number": (NotImplementedError, lambda: ints & 1.5),
        "bitwise_and": (NotImplementedError, lambda: lib.bitwise_and(f, f)),
        "bitwise_not": (NotImplementedError, lambda: lib.bitwise_not(f)),
        "left_shift": (NotImplementedError, lambda: f << 1), "right_shift": (NotImplementedError, lambda: f >> 1),
        "gcd": (NotImplementedError, lambda: lib.gcd(f, f)),
        "and_runtime": (RuntimeError, lambda: f & f), "in_place_or": (RuntimeError, lambda: f.clone().__ior__(f)),
        "invert": (TypeError, lambda: ~f), "invert_0d": (TypeError, lambda: ~lib.tensor(1.5)),
    }


def _bitwise_program(lib):
    cases = _bitwise_mistakes(lib)
    return {"caught": caught_as(cases), "names": np.array(list(cases)),
            "bool_and": lib.tensor([True, False]) & lib.tensor([True, True]), "int_xor": lib.tensor([5, 3]) ^ 1}


def test_bitwise_ops_of_floats_raise_torch_classes():
    """PyTorch's classes, while the TypeError minigrad raised before still catches them."""
    check("bitwise", _bitwise_program)
    cases = {name: (TypeError, fn) for name, (_, fn) in _bitwise_mistakes(minigrad).items()}
    assert caught_as(cases).all()


# ------------------------------------------------------------------- conv1d's dtype error
def _conv1d_mistakes(lib):
    nn, F = lib.nn, lib.nn.functional
    signal = lib.ones(1, 1, 3, dtype=lib.float64)
    return {"conv1d": lambda: nn.Conv1d(1, 1, 1)(signal),
            "conv_transpose1d": lambda: nn.ConvTranspose1d(1, 1, 1)(signal),
            "functional_conv1d": lambda: F.conv1d(signal, lib.ones(1, 1, 1)),
            "functional_conv_transpose1d": lambda: F.conv_transpose1d(signal, lib.ones(1, 1, 1))}


def _conv1d_dtype_program(lib):
    messages = [error_of(fn) for fn in _conv1d_mistakes(lib).values()]
    return {"runtime_error": caught_as({name: (RuntimeError, fn) for name, fn in _conv1d_mistakes(lib).items()}),
            "names_conv2d": np.array(["conv2d" in m or "conv_transpose2d" in m for m in messages])}


def test_conv1d_dtype_error_names_the_op_called():
    check("conv1d_dtype", _conv1d_dtype_program)
    for name, fn in _conv1d_mistakes(minigrad).items():
        assert error_of(fn).startswith(f"DtypeError: {name.removeprefix('functional_')}:"), error_of(fn)


# ------------------------------------------------------------------- grad_fn names
def _grad_fn_names_program(lib):
    F = lib.nn.functional
    x = lib.tensor(np.linspace(0.1, 1, 12).reshape(3, 4), dtype=lib.float32, requires_grad=True)
    square, v = x[:, :3], x[0]

    def padded(shape, pad, mode):
        t = lib.tensor(np.linspace(-1, 1, int(np.prod(shape))).reshape(shape), requires_grad=True)
        return F.pad(t, pad, mode=mode)

    made = {
        "number_over": 1 / x, "float_over": 2.5 / x, "tensor_over": lib.tensor(1.0) / x, "over_number": x / 2,
        "einsum_mm": lib.einsum("ij,jk->ik", x, x.t()), "einsum_transpose": lib.einsum("ij->ji", x),
        "einsum_identity": lib.einsum("ij->ij", x), "einsum_vector_identity": lib.einsum("i->i", v),
        "einsum_sum": lib.einsum("ij->", x), "einsum_row_sum": lib.einsum("ij->i", x),
        "einsum_mul": lib.einsum("ij,ij->ij", x, x), "einsum_mul_transposed": lib.einsum("ij,ij->ji", x, x),
        "einsum_outer": lib.einsum("i,j->ij", v, v), "einsum_dot": lib.einsum("i,i->", v, v),
        "einsum_mv": lib.einsum("ij,j->i", x, v), "einsum_batched": lib.einsum("bij,bjk->bik", x[None], x.t()[None]),
        "einsum_ellipsis": lib.einsum("...ij,...jk->...ik", x, x.t()), "einsum_diagonal": lib.einsum("ii->i", square),
        "einsum_trace": lib.einsum("ii", square), "einsum_three": lib.einsum("ij,jk,kl->il", x, x.t(), x),
        "einsum_three_outer": lib.einsum("i,j,k->ijk", v, v, v), "einsum_unused": lib.einsum("ij,k->k", x, v),
        "unfold": x.unfold(1, 2, 1), "unfold_0d": x[0, 0].unfold(0, 1, 1),
        "reflect_1d": padded((1, 2, 5), (1, 2), "reflect"), "reflect_1d_unbatched": padded((2, 5), (1, 1), "reflect"),
        "reflect_2d": padded((1, 1, 4, 5), (1, 1, 2, 1), "reflect"),
        "reflect_3d": padded((1, 1, 3, 4, 5), (1, 1, 1, 1, 1, 1), "reflect"),
        "replicate_1d": padded((1, 2, 5), (2, 0), "replicate"),
        "replicate_2d": padded((1, 4, 5), (1, 1, 1, 1), "replicate"),
        "replicate_3d": padded((1, 1, 3, 4, 5), (1, 1, 1, 1, 1, 1), "replicate"),
        "circular_1d": padded((1, 2, 5), (1, 1), "circular"),
        "circular_2d": padded((1, 1, 4, 5), (1, 1, 1, 1), "circular"),
    }
    pairs = {"var_mean": lib.var_mean(x), "var_mean_dim": lib.var_mean(x, 1, unbiased=False),
             "std_mean": lib.std_mean(x), "std_mean_dim": lib.std_mean(x, 0, keepdim=True)}
    names = [y.grad_fn.name() for y in made.values()] + [t.grad_fn.name() for pair in pairs.values() for t in pair]
    total = sum(y.sum() for y in made.values()) + sum(a.sum() + b.sum() for a, b in pairs.values())
    total.backward()
    return {"names": np.array(names), "ops": np.array(list(made) + list(pairs)),
            "values": lib.cat([y.reshape(-1) for y in made.values()]),
            "pairs": lib.cat([t.reshape(-1) for pair in pairs.values() for t in pair]), "x_grad": x.grad}


def test_grad_fn_names_as_torch():
    check("grad_fn_names", _grad_fn_names_program, rtol=1e-5)


# ------------------------------------------------------------------- LR schedulers' state_dict
_SCHEDULERS = {
    "StepLR": lambda S, o: S.StepLR(o, 3, gamma=0.5), "MultiStepLR": lambda S, o: S.MultiStepLR(o, [2, 4]),
    "ExponentialLR": lambda S, o: S.ExponentialLR(o, 0.9), "CosineAnnealingLR": lambda S, o: S.CosineAnnealingLR(o, 10),
    "OneCycleLR": lambda S, o: S.OneCycleLR(o, 1.0, total_steps=20),
    "OneCycleLR_three_phase_linear": lambda S, o: S.OneCycleLR(o, 1.0, total_steps=20, three_phase=True,
                                                                 anneal_strategy="linear"),
    "ReduceLROnPlateau": lambda S, o: S.ReduceLROnPlateau(o, patience=1),
    "ReduceLROnPlateau_max_lists": lambda S, o: S.ReduceLROnPlateau(o, mode="max", min_lr=[0.01], patience=1),
    "LambdaLR": lambda S, o: S.LambdaLR(o, lambda epoch: 0.9**epoch),
}


def _plain(value):
    """value as text when a plain number, bool, string or a list (or dict) of them: the values a
    ported program compares or prints; None for anything else (a Counter, a function)."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return repr(value)
    if isinstance(value, list) and all(_plain(v) is not None for v in value):
        return "[" + ", ".join(_plain(v) for v in value) + "]"
    if isinstance(value, dict) and type(value) is dict:
        return "{" + ", ".join(f"{k!r}: {_plain(v)}" for k, v in value.items()) + "}"
    return None


def _scheduler_program(lib):
    out = {}
    for name, make in _SCHEDULERS.items():
        def run(make=make):
            optimizer = lib.optim.SGD([lib.nn.Parameter(lib.ones(2))], lr=0.1, momentum=0.9)
            return optimizer, make(lib.optim.lr_scheduler, optimizer)

        def step(optimizer, scheduler, metric, name=name):
            optimizer.step()
            scheduler.step(metric) if name.startswith("ReduceLROnPlateau") else scheduler.step()
            return optimizer.param_groups[0]["lr"]

        optimizer, scheduler = run()
        for epoch in range(4):
            step(optimizer, scheduler, 1.0 - (epoch == 0))
        state = scheduler.state_dict()
        resumed_optimizer, resumed = run()
        resumed.load_state_dict(state)
        lrs = [step(o, s, 1.0) for _ in range(3) for o, s in ((optimizer, scheduler), (resumed_optimizer, resumed))]
        keys = sorted(state)
        out[f"{name}_keys"] = np.array(keys)
        out[f"{name}_values"] = np.array([f"{key}={_plain(state[key])}" for key in keys if _plain(state[key])])
        out[f"{name}_lrs"] = np.array(lrs)
    return out


def test_lr_scheduler_state_dicts_as_torch():
    """PyTorch's keys (lambdas left out, as PyTorch does) and plain values, and a saved state
    resumed by load_state_dict goes on as the original."""
    check("schedulers", _scheduler_program, rtol=1e-12)


def test_more_warnings_point_at_the_callers_line_and_im2col_names():
    """cov, chain_matmul, uint8 indexing and scatter's reduce warn at the user's line (PyTorch's
    point there too), and unfold / fold's nodes are PyTorch's Im2ColBackward0 / Col2ImBackward0."""
    lib = minigrad
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lib.cov(lib.randn(3, 1))
        lib.chain_matmul(lib.randn(2, 2), lib.randn(2, 2))
        lib.zeros(3)[lib.tensor([1, 0, 1], dtype=lib.uint8)]
        lib.zeros(3).scatter(0, lib.tensor([0]), lib.ones(1), reduce="add")
    assert [Path(w.filename).name for w in caught] == [Path(__file__).name] * 4, [str(w.message) for w in caught]
    x = lib.randn(1, 2, 4, 4, requires_grad=True)
    names = [lib.nn.functional.unfold(x, 2).grad_fn.name(), lib.nn.functional.unfold(x[0], 2).grad_fn.name(),
             lib.nn.functional.fold(lib.randn(1, 8, 9, requires_grad=True), (4, 4), 2).grad_fn.name()]
    assert names == ["Im2ColBackward0", "Im2ColBackward0", "Col2ImBackward0"]
