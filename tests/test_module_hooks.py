"""Module hooks as PyTorch's: register_forward_pre_hook, register_forward_hook (prepend,
with_kwargs) and register_full_backward_hook (a Grad-CAM-style capture of activations and
gradients, gradient replacement, input without grad, an input also used outside the module),
against PyTorch in float64; get_submodule / get_parameter / get_buffer; bad input."""

import numpy as np
import pytest
from torch_reference import TorchReference

import minigrad
from minigrad import nn

torch_reference = TorchReference(__name__)


def _model(lib):
    nn_ = lib.nn
    return nn_.Sequential(nn_.Conv2d(2, 3, 3, padding=1), nn_.ReLU(), nn_.Conv2d(3, 4, 3), nn_.Flatten(),
                          nn_.Linear(64, 5)).double()  # fmt: skip


X = np.random.default_rng(0).standard_normal((2, 2, 6, 6))


def _grad_cam(lib, model, x_requires_grad):
    """Activations and gradients captured by hooks; a pre-hook doubling the head's input, a
    backward hook tripling ReLU's input gradient; the input also feeds a second term."""
    seen = {}

    def keep(name):
        return lambda module, grad_in, grad_out: seen.update({f"{name}/in": grad_in, f"{name}/out": grad_out})

    handles = [model[2].register_forward_hook(lambda m, args, out: seen.update(act=out.detach())),
               model[2].register_full_backward_hook(keep("conv2")), model[0].register_full_backward_hook(keep("conv1")),
               model[4].register_forward_pre_hook(lambda m, args: (args[0] * 2,)),
               model[1].register_full_backward_hook(lambda m, grad_in, grad_out: (grad_in[0] * 3,))]  # fmt: skip
    x = lib.tensor(X, requires_grad=x_requires_grad)
    out = model(x)
    (out[:, 1].sum() + (x * x).sum() if x_requires_grad else out[:, 1].sum()).backward()
    for h in handles:
        h.remove()
    result = {"act": seen["act"], "out": out}
    for key, grads in seen.items():
        if key != "act":
            result |= {f"{key}/{i}": g for i, g in enumerate(grads) if g is not None}
            result[f"{key}/none"] = np.array([g is None for g in grads])
    if x_requires_grad:
        result["x.grad"] = x.grad
    return result


@pytest.mark.parametrize("x_requires_grad", [True, False])
def test_hooks_capture_and_replace_as_torch(x_requires_grad):
    def compute(torch):
        model = _model(torch)
        return {**_grad_cam(torch, model, x_requires_grad), **{f"w/{k}": v for k, v in model.state_dict().items()}}

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch warns when no input requires grad
        want = torch_reference(f"grad_cam/x_requires_grad={x_requires_grad}", compute)
    model = _model(minigrad)
    model.load_state_dict({k: minigrad.tensor(want[f"w/{k}"]) for k in model.state_dict()})
    got = _grad_cam(minigrad, model, x_requires_grad)
    assert got.keys() == {k for k in want if not k.startswith("w/")}
    for key, value in got.items():
        value = value if isinstance(value, np.ndarray) else value.detach().numpy()
        np.testing.assert_allclose(value, want[key], rtol=1e-12, atol=1e-13, err_msg=key)
    assert not any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks for m in model.modules())


def test_forward_hook_options():
    calls = []
    layer = nn.Linear(2, 2)
    layer.register_forward_hook(lambda m, args, out: calls.append("first"))
    layer.register_forward_hook(lambda m, args, out: calls.append("prepended"), prepend=True)
    layer.register_forward_pre_hook(lambda m, args, kwargs: ((args[0] + 1,), kwargs), with_kwargs=True)
    layer.register_forward_hook(lambda m, args, kwargs, out: out * 0, with_kwargs=True)
    x = minigrad.zeros(1, 2)
    assert not layer(x).detach().numpy().any()
    assert calls == ["prepended", "first"]
    bad = nn.Linear(2, 2)
    bad.register_forward_pre_hook(lambda m, args, kwargs: args, with_kwargs=True)
    with pytest.raises(RuntimeError, match="must return None or a tuple of"):
        bad(minigrad.zeros(1, 2))


def test_full_backward_hook_limits():
    class Add(nn.Module):
        def forward(self, a, b):
            return a + b

    add = Add()
    add.register_full_backward_hook(lambda m, gi, go: None)
    a, b = minigrad.ones(2, requires_grad=True), minigrad.ones(2, requires_grad=True)
    with pytest.raises(NotImplementedError, match="one tensor that requires grad, got 2"):
        add(a, b)
    seen = []
    add.register_full_backward_hook(lambda m, gi, go: seen.append((gi, go)))
    add(a, minigrad.ones(2)).sum().backward()  # one of two inputs wants a gradient
    (grad_input, grad_output), = seen
    assert grad_input[1] is None and grad_input[0].tolist() == [1.0, 1.0] and len(grad_output) == 1
    wrong = nn.ReLU()
    wrong.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="invalid number of grad_input, got 2, but expected 1"):
        wrong(minigrad.ones(2, requires_grad=True)).sum().backward()
    with minigrad.no_grad():  # no hooks wired without grad
        assert wrong(minigrad.ones(2)).tolist() == [1.0, 1.0]


def test_get_submodule_parameter_buffer():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Sequential(nn.Linear(2, 2)))
    assert model.get_submodule("") is model and model.get_submodule("2.0") is model[2][0]
    assert model.get_parameter("2.0.bias") is model[2][0].bias
    assert model.get_buffer("1.running_mean") is model[1].running_mean
    for call, match in ((lambda: model.get_submodule("3"), "Sequential has no attribute `3`"),
                        (lambda: model.get_submodule("0.weight"), "`weight` is not an nn.Module"),
                        (lambda: model.get_parameter("1.running_mean"), "`running_mean` is not an nn.Parameter"),
                        (lambda: model.get_parameter("0.nothing"), "Conv2d has no attribute `nothing`"),
                        (lambda: model.get_buffer("1.weight"), "`weight` is not a buffer")):  # fmt: skip
        with pytest.raises(AttributeError, match=match):
            call()
