"""Arithmetic at the edges of float range gives inf and NaN silently, as PyTorch: inf * 0, inf - inf,
an overflowing product or sum, x / tiny, and the gradients built from them never raise numpy's
RuntimeWarnings (the CPU backend's numpy ufuncs run with its errors ignored). Values and gradients
are compared with PyTorch's (live, or recorded in tests/fixtures/torch_reference)."""

import warnings

import numpy as np
import pytest
from parity import check_program
from torch_reference import TorchReference

import minigrad

torch_reference = TorchReference(__name__)

X = np.array([np.inf, -np.inf, 0.0, 1.0, np.nan, 3e38, -3e38, 1e-45], dtype=np.float32)
Y = np.array([0.0, np.inf, np.inf, -np.inf, 1.0, 3e38, 3e38, 1e38], dtype=np.float32)

BINARY = {
    "add": lambda lib, x, y: x + y,
    "sub": lambda lib, x, y: x - y,
    "mul": lambda lib, x, y: x * y,
    "div": lambda lib, x, y: x / y,
    "pow": lambda lib, x, y: x.abs() ** y,
    "atan2": lambda lib, x, y: lib.atan2(x, y),
    "logaddexp": lambda lib, x, y: lib.logaddexp(x, y),
    "xlogy": lambda lib, x, y: lib.xlogy(x, y),
    "mse_loss": lambda lib, x, y: lib.nn.functional.mse_loss(x, y, reduction="none"),
    "smooth_l1_loss": lambda lib, x, y: lib.nn.functional.smooth_l1_loss(x, y, reduction="none"),
}
UNARY = {
    "square": lambda lib, x: x.square(),
    "reciprocal": lambda lib, x: x.reciprocal(),
    "log": lambda lib, x: x.log(),
    "asin": lambda lib, x: x.asin(),
    "atanh": lambda lib, x: x.atanh(),
    "acosh": lambda lib, x: x.acosh(),
    "erf": lambda lib, x: x.erf(),
    "silu": lambda lib, x: lib.nn.functional.silu(x),
    "mish": lambda lib, x: lib.nn.functional.mish(x),
    "frac": lambda lib, x: x.frac(),
    "sinc": lambda lib, x: lib.sinc(x),
    "logit": lambda lib, x: lib.logit(x),
    "amax": lambda lib, x: x.amax(),
    "prod": lambda lib, x: x[2:].prod(),
    "norm": lambda lib, x: x[5:].norm(),
    "logsumexp": lambda lib, x: lib.full((2, 3), -np.inf, requires_grad=True).logsumexp(1),
}


# Their gradients differ from PyTorch's at some of these inputs (and are not compared): logaddexp
# at (inf, 0) and xlogy at (0, inf) give nan where PyTorch gives 1 and inf, logit at 0 and 1 nan
# where PyTorch gives inf, sinc at the denormal 1e-45 nan where PyTorch gives 0.
GRADIENTS_DIFFER_AT_EDGES = {"logaddexp", "xlogy", "logit", "sinc"}


def _run(lib, name, fn, *arrays):
    """fn's output and the float32 gradients of its sum with respect to each input."""
    inputs = [lib.tensor(a, requires_grad=True) for a in arrays]
    out = fn(lib, *inputs)
    out.sum().backward()
    if name in GRADIENTS_DIFFER_AT_EDGES:
        return {"out": out.detach().numpy()}
    grads = [t.grad if t.grad is not None else lib.zeros(0) for t in inputs]
    return {"out": out.detach().numpy(), **{f"grad{i}": g.numpy() for i, g in enumerate(grads)}}


def _quietly(program):
    """program with minigrad's run turned strict: any RuntimeWarning fails the test."""

    def strict(lib):
        if lib is not minigrad:
            return program(lib)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            return program(lib)

    return strict


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_ops_are_quiet_and_match_pytorch(name):
    program = _quietly(lambda lib: _run(lib, name, BINARY[name], X, Y))
    check_program(torch_reference, f"binary/{name}", program, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_ops_are_quiet_and_match_pytorch(name):
    check_program(torch_reference, f"unary/{name}", _quietly(lambda lib: _run(lib, name, UNARY[name], X)), rtol=1e-5)


def _losses_program(lib):
    """The losses whose PyTorch forms meet log(0) or inf logits: kl_div with a log(0) target,
    BCE with logits at +-inf."""
    F = lib.nn.functional
    inp = lib.tensor([-1.0, 0.0], requires_grad=True)
    kl = F.kl_div(inp, lib.tensor([-np.inf, 0.0]), reduction="sum", log_target=True)
    kl.backward()
    logits = lib.tensor(X, requires_grad=True)
    bce = F.binary_cross_entropy_with_logits(logits, lib.tensor([1.0, 0, 1, 0, 1, 0, 1, 0]), reduction="none")
    bce.sum().backward()
    return {
        "kl": kl.detach().numpy(),
        "kl_grad": inp.grad.numpy(),
        "bce": bce.detach().numpy(),
        "bce_grad": logits.grad.numpy(),
    }


def test_losses_with_infinite_inputs_are_quiet_and_match_pytorch():
    check_program(torch_reference, "losses", _quietly(_losses_program), rtol=1e-5)


def test_hypot_does_not_overflow_where_its_result_fits():
    """hypot(1e-45, 1e38) is 1e38 in float32, not inf from squaring 1e38 (and a / hypot is the
    gradient where the squares would overflow, PyTorch's 0 there comes from dividing by inf)."""
    a = minigrad.tensor([1e-45, 3e38, 3.0, 0.0], requires_grad=True)
    b = minigrad.tensor([1e38, 3e38, -4.0, 0.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        out = minigrad.hypot(a, b)
        out.sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), np.float32([1e38, np.inf, 5.0, 0.0]), rtol=1e-6)
    np.testing.assert_allclose(a.grad.numpy()[1:3], [2**-0.5, 0.6], rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy()[:3], [1.0, 2**-0.5, -0.8], rtol=1e-6)


def test_gradient_accumulation_overflowing_to_inf_is_quiet():
    w = minigrad.tensor([3e38], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        (w * 1.0).sum().backward()
        (w * 3.0).sum().backward()  # 1 + 3, fine; the big one next overflows as it accumulates
        w.grad = minigrad.tensor([3e38])
        (w * 3e38).sum().backward()
    assert np.isinf(w.grad.numpy()[0])


def test_users_numpy_error_state_is_left_alone():
    """minigrad ignores numpy's errors only inside its own ufunc calls."""
    _ = minigrad.tensor([np.inf]) * 0
    with pytest.warns(RuntimeWarning):
        np.array([np.inf], dtype=np.float32) * 0
    with np.errstate(invalid="raise"):
        _ = minigrad.tensor([np.inf]) - minigrad.tensor([np.inf])
        with pytest.raises(FloatingPointError):
            np.array([np.inf]) - np.array([np.inf])
