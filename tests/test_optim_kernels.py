"""Fused optimizer kernels (_C.*_step): numpy references and torch.optim, step by step."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from torch_reference import TorchReference

from minigrad import _C

torch_reference = TorchReference(__name__)

STEPS = 5

# ---------------------------------------------------------------- numpy references
# Same signatures as the _C kernels, in place on float64 arrays; transcribed
# from the single-tensor update rules in torch/optim/*.py.


def _effective_grad(param, grad, weight_decay, maximize):
    g = -grad if maximize else grad
    return g + weight_decay * param if weight_decay != 0 else g


def ref_sgd(
    param,
    grad,
    momentum_buffer,
    lr,
    momentum=0.0,
    dampening=0.0,
    weight_decay=0.0,
    nesterov=False,
    maximize=False,
    first_step=False,
):
    g = _effective_grad(param, grad, weight_decay, maximize)
    if momentum != 0:
        momentum_buffer[...] = g if first_step else momentum * momentum_buffer + (1 - dampening) * g
        g = g + momentum * momentum_buffer if nesterov else momentum_buffer
    param -= lr * g


def ref_adam(
    param,
    grad,
    exp_avg,
    exp_avg_sq,
    step,
    lr,
    beta1=0.9,
    beta2=0.999,
    eps=1e-8,
    weight_decay=0.0,
    decoupled_weight_decay=False,
    max_exp_avg_sq=None,
    maximize=False,
):
    if decoupled_weight_decay:
        g = -grad if maximize else grad
        param *= 1 - lr * weight_decay
    else:
        g = _effective_grad(param, grad, weight_decay, maximize)
    exp_avg[...] = beta1 * exp_avg + (1 - beta1) * g
    exp_avg_sq[...] = beta2 * exp_avg_sq + (1 - beta2) * g * g
    v = exp_avg_sq
    if max_exp_avg_sq is not None:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        v = max_exp_avg_sq
    step_size = lr / (1 - beta1**step)
    param -= step_size * exp_avg / (np.sqrt(v) / np.sqrt(1 - beta2**step) + eps)


def ref_rmsprop(
    param,
    grad,
    square_avg,
    lr,
    alpha=0.99,
    eps=1e-8,
    weight_decay=0.0,
    momentum=0.0,
    momentum_buffer=None,
    grad_avg=None,
    maximize=False,
):
    g = _effective_grad(param, grad, weight_decay, maximize)
    square_avg[...] = alpha * square_avg + (1 - alpha) * g * g
    var = square_avg
    if grad_avg is not None:
        grad_avg[...] = alpha * grad_avg + (1 - alpha) * g
        var = square_avg - grad_avg * grad_avg
    avg = np.sqrt(var) + eps
    if momentum > 0:
        momentum_buffer[...] = momentum * momentum_buffer + g / avg
        param -= lr * momentum_buffer
    else:
        param -= lr * g / avg


def ref_adagrad(param, grad, state_sum, step, lr, lr_decay=0.0, weight_decay=0.0, eps=1e-10, maximize=False):
    g = _effective_grad(param, grad, weight_decay, maximize)
    state_sum += g * g
    param -= lr / (1 + (step - 1) * lr_decay) * g / (np.sqrt(state_sum) + eps)


def ref_adadelta(param, grad, square_avg, acc_delta, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
    g = _effective_grad(param, grad, weight_decay, maximize)
    square_avg[...] = rho * square_avg + (1 - rho) * g * g
    delta = np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * g
    acc_delta[...] = rho * acc_delta + (1 - rho) * delta * delta
    param -= lr * delta


REFERENCES = {
    "sgd": ref_sgd,
    "adam": ref_adam,
    "rmsprop": ref_rmsprop,
    "adagrad": ref_adagrad,
    "adadelta": ref_adadelta,
}
KERNELS = {name: getattr(_C, f"{name}_step") for name in REFERENCES}

# (kernel, torch.optim class, torch-style options); AdamW is adam with decoupled weight decay.
CASES = [
    ("sgd", "SGD", dict(lr=0.1)),
    ("sgd", "SGD", dict(lr=0.1, momentum=0.9)),
    ("sgd", "SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("sgd", "SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1, maximize=True)),
    ("sgd", "SGD", dict(lr=0.1, weight_decay=0.2, maximize=True)),
    ("adam", "Adam", dict(lr=0.01)),
    ("adam", "Adam", dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
    ("adam", "Adam", dict(lr=0.01, amsgrad=True, maximize=True)),
    ("adam", "AdamW", dict(lr=0.01, weight_decay=0.1)),
    ("adam", "AdamW", dict(lr=0.02, weight_decay=0.3, amsgrad=True, betas=(0.5, 0.6))),
    ("rmsprop", "RMSprop", dict(lr=0.01)),
    ("rmsprop", "RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.9, weight_decay=0.1)),
    ("rmsprop", "RMSprop", dict(lr=0.01, centered=True)),
    ("rmsprop", "RMSprop", dict(lr=0.01, alpha=0.8, centered=True, momentum=0.5, maximize=True, eps=1e-4)),
    ("adagrad", "Adagrad", dict(lr=0.1)),
    ("adagrad", "Adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.5, maximize=True)),
    ("adadelta", "Adadelta", dict()),
    ("adadelta", "Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1, maximize=True)),
]


def run_steps(step_fn, kernel, torch_name, options, param, grads):
    """Applies step_fn (a kernel or a reference) once per gradient; returns param and state after each step."""
    o = dict(options)
    zeros = lambda: np.zeros_like(param)  # noqa: E731
    lr = o.pop("lr", 1.0)
    maximize = o.pop("maximize", False)
    weight_decay = o.pop("weight_decay", 0.0)
    history = []
    if kernel == "sgd":
        momentum = o.pop("momentum", 0.0)
        state = dict(momentum_buffer=zeros() if momentum else None)
        kw = dict(lr=lr, momentum=momentum, dampening=o.pop("dampening", 0.0), nesterov=o.pop("nesterov", False))
    elif kernel == "adam":
        beta1, beta2 = o.pop("betas", (0.9, 0.999))
        state = dict(exp_avg=zeros(), exp_avg_sq=zeros(), max_exp_avg_sq=zeros() if o.pop("amsgrad", False) else None)
        kw = dict(lr=lr, beta1=beta1, beta2=beta2, eps=o.pop("eps", 1e-8), decoupled_weight_decay=torch_name == "AdamW")
    elif kernel == "rmsprop":
        momentum = o.pop("momentum", 0.0)
        state = dict(
            square_avg=zeros(),
            momentum_buffer=zeros() if momentum > 0 else None,
            grad_avg=zeros() if o.pop("centered", False) else None,
        )
        kw = dict(lr=lr, alpha=o.pop("alpha", 0.99), eps=o.pop("eps", 1e-8), momentum=momentum)
    elif kernel == "adagrad":
        state = dict(state_sum=np.full_like(param, o.pop("initial_accumulator_value", 0.0)))
        kw = dict(lr=lr, lr_decay=o.pop("lr_decay", 0.0), eps=o.pop("eps", 1e-10))
    else:
        state = dict(square_avg=zeros(), acc_delta=zeros())
        kw = dict(lr=lr, rho=o.pop("rho", 0.9), eps=o.pop("eps", 1e-6))
    assert not o, f"unhandled options {o}"
    for k, grad in enumerate(grads):
        extra = {}
        if kernel == "sgd":
            extra["first_step"] = k == 0
        if kernel in ("adam", "adagrad"):
            extra["step"] = k + 1
        step_fn(param, grad, **state, **kw, **extra, weight_decay=weight_decay, maximize=maximize)
        history.append((param.copy(), {n: None if b is None else b.copy() for n, b in state.items()}))
    return history


def make_problem(seed, shape=(3, 4), dtype=np.float64):
    rng = np.random.default_rng(seed)
    param = rng.normal(size=shape).astype(dtype)
    grads = [rng.normal(size=shape).astype(dtype) for _ in range(STEPS)]
    return param, grads


def case_id(case):
    kernel, torch_name, options = case
    return f"{torch_name}-" + "-".join(f"{k}={v}" for k, v in options.items())


@pytest.mark.parametrize("case", CASES, ids=case_id)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_matches_numpy_reference(case, dtype):
    kernel, torch_name, options = case
    param, grads = make_problem(0, dtype=dtype)
    got = run_steps(KERNELS[kernel], kernel, torch_name, options, param.copy(), grads)
    want = run_steps(
        REFERENCES[kernel], kernel, torch_name, options, param.astype(np.float64), [g.astype(np.float64) for g in grads]
    )
    t = 2e-5 if dtype == np.float32 else 1e-13
    for k, ((p, s), (wp, ws)) in enumerate(zip(got, want, strict=True)):
        assert p.dtype == dtype
        np.testing.assert_allclose(p, wp, rtol=t, atol=t, err_msg=f"param after step {k + 1}")
        for name, buf in s.items():
            if buf is not None:
                np.testing.assert_allclose(buf, ws[name], rtol=t, atol=t, err_msg=f"{name} after step {k + 1}")


def _torch_steps(torch, torch_name, options, param, grads):
    """torch.optim's parameter after each step."""
    tp = torch.nn.Parameter(torch.from_numpy(param.copy()))
    opt = getattr(torch.optim, torch_name)([tp], foreach=False, **options)
    after = {}
    for k, grad in enumerate(grads):
        tp.grad = torch.from_numpy(grad.copy())
        opt.step()
        after[f"step{k + 1}"] = tp.detach().clone()
    return after


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_kernel_matches_torch_each_step(case):
    kernel, torch_name, options = case
    param, grads = make_problem(1)
    got = run_steps(KERNELS[kernel], kernel, torch_name, options, param.copy(), grads)
    want = torch_reference(case_id(case), lambda torch: _torch_steps(torch, torch_name, options, param, grads))
    for k in range(len(grads)):
        np.testing.assert_allclose(
            got[k][0], want[f"step{k + 1}"], rtol=1e-10, atol=1e-12, err_msg=f"{torch_name} {options} step {k + 1}"
        )


def test_large_parameter_takes_the_threaded_path():
    param, grads = make_problem(2, shape=(200, 300))
    got = run_steps(
        KERNELS["adam"], "adam", "AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True), param.copy(), grads
    )
    want = run_steps(ref_adam, "adam", "AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True), param.copy(), grads)
    np.testing.assert_allclose(got[-1][0], want[-1][0], rtol=1e-13, atol=1e-13)


@settings(max_examples=25, deadline=None)
@given(
    shape=st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple),
    case=st.sampled_from(CASES),
    seed=st.integers(0, 2**31),
)
def test_any_shape_property(shape, case, seed):
    kernel, torch_name, options = case
    param, grads = make_problem(seed, shape=shape)
    param, grads = np.asarray(param), [np.asarray(g) for g in grads]  # shape () gives numpy scalars
    got = run_steps(KERNELS[kernel], kernel, torch_name, options, param.copy(), grads)
    want = run_steps(REFERENCES[kernel], kernel, torch_name, options, param.copy(), grads)
    np.testing.assert_allclose(got[-1][0], want[-1][0], rtol=1e-12, atol=1e-12)


def test_grad_may_be_read_only_and_is_not_modified():
    param, grads = make_problem(3)
    grad = grads[0]
    grad.flags.writeable = False
    before = grad.copy()
    buf = np.zeros_like(param)
    _C.sgd_step(param, grad, buf, lr=0.1, momentum=0.9, first_step=True)
    np.testing.assert_array_equal(grad, before)
    np.testing.assert_array_equal(buf, before)


# ---------------------------------------------------------------- bad input


def kernel_args(kernel, param, grad):
    """Valid keyword arguments with every optional buffer in use; names of the buffers."""
    z = lambda: np.zeros_like(param)  # noqa: E731
    if kernel == "sgd":
        return dict(param=param, grad=grad, momentum_buffer=z(), lr=0.1, momentum=0.9), ["momentum_buffer"]
    if kernel == "adam":
        return (
            dict(param=param, grad=grad, exp_avg=z(), exp_avg_sq=z(), step=1, lr=0.1, max_exp_avg_sq=z()),
            ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
        )
    if kernel == "rmsprop":
        return (
            dict(param=param, grad=grad, square_avg=z(), lr=0.1, momentum=0.9, momentum_buffer=z(), grad_avg=z()),
            ["square_avg", "momentum_buffer", "grad_avg"],
        )
    if kernel == "adagrad":
        return dict(param=param, grad=grad, state_sum=z(), step=1, lr=0.1), ["state_sum"]
    return dict(param=param, grad=grad, square_avg=z(), acc_delta=z()), ["square_avg", "acc_delta"]


@pytest.mark.parametrize("kernel", KERNELS)
def test_bad_param_and_grad(kernel):
    op, fn = f"{kernel}_step", KERNELS[kernel]
    param, grad = np.zeros((2, 3)), np.ones((2, 3))
    kw, _ = kernel_args(kernel, param, grad)
    fn(**kw)  # valid as built
    read_only = param.copy()
    read_only.flags.writeable = False
    bad = [
        (TypeError, f"{op}: param must be float32 or float64", dict(param=param.astype(np.int32))),
        (TypeError, f"{op}: param must be a numpy.ndarray", dict(param=[1.0, 2.0])),
        (ValueError, f"{op}: param must be writeable", dict(param=read_only)),
        (ValueError, f"{op}: param must be C-contiguous", dict(param=np.zeros((3, 2)).T)),
        (ValueError, rf"{op}: grad has shape \(3, 2\) but param has shape \(2, 3\)", dict(grad=np.zeros((3, 2)))),
        (TypeError, f"{op}: grad has dtype float32", dict(grad=grad.astype(np.float32))),
        (ValueError, f"{op}: grad must be C-contiguous", dict(grad=np.zeros((3, 2)).T)),
        (TypeError, f"{op}: grad must be a numpy.ndarray", dict(grad=None)),
    ]
    for error, message, override in bad:
        with pytest.raises(error, match=message):
            fn(**{**kw, **override})


@pytest.mark.parametrize("kernel", KERNELS)
def test_bad_state_buffers(kernel):
    op, fn = f"{kernel}_step", KERNELS[kernel]
    param, grad = np.zeros((2, 3)), np.ones((2, 3))
    kw, buffers = kernel_args(kernel, param, grad)
    for name in buffers:
        read_only = np.zeros_like(param)
        read_only.flags.writeable = False
        bad = [
            (TypeError, f"{op}: {name} has dtype float32", np.zeros((2, 3), np.float32)),
            (ValueError, rf"{op}: {name} has shape \(6,\) but param has shape", np.zeros(6)),
            (ValueError, f"{op}: {name} must be C-contiguous", np.zeros((3, 2)).T),
            (ValueError, f"{op}: {name} must be writeable", read_only),
            (TypeError, f"{op}: {name} must be a numpy.ndarray", [[0.0] * 3] * 2),
        ]
        for error, message, value in bad:
            with pytest.raises(error, match=message):
                fn(**{**kw, name: value})


def test_required_buffers_and_hyper_parameters():
    p, g = np.zeros(3), np.ones(3)
    z = np.zeros(3)
    with pytest.raises(ValueError, match="sgd_step: momentum_buffer is required when momentum != 0"):
        _C.sgd_step(p, g, None, lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="sgd_step: Nesterov momentum requires"):
        _C.sgd_step(p, g, z.copy(), lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)
    with pytest.raises(ValueError, match="sgd_step: Nesterov momentum requires"):
        _C.sgd_step(p, g, None, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="rmsprop_step: momentum_buffer is required when momentum > 0"):
        _C.rmsprop_step(p, g, z.copy(), lr=0.1, momentum=0.5)
    for step in (0, -3):
        with pytest.raises(ValueError, match="adam_step: step must be >= 1"):
            _C.adam_step(p, g, z.copy(), z.copy(), step, 0.1)
        with pytest.raises(ValueError, match="adagrad_step: step must be >= 1"):
            _C.adagrad_step(p, g, z.copy(), step, 0.1)
    _C.sgd_step(p, g, None, lr=0.1)  # plain SGD needs no buffer
    np.testing.assert_allclose(p, -0.1)
