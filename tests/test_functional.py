"""Differentiable neural-network ops and losses: forward against plain numpy, gradients by
float64 finite differences, bad input, and every op and loss against torch (live, or its
recorded results: tests/torch_reference.py), forward and all gradients."""

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from torch_reference import TorchReference

import minigrad
import minigrad.nn.functional as F
from minigrad import _C
from minigrad.autograd import gradcheck, gradcheck_directional

torch_reference = TorchReference(__name__)

rng = np.random.default_rng(7)


_COMPOSED_ON_CUDA = {"bias_add", "bias_grad"}  # the CUDA backend builds these from broadcasting kernels
_device = "cpu"  # the device of the running test: t64/randn create tensors there


def _has_kernel(device, name):
    if device == "cpu":
        return hasattr(_C, name)
    return name in _COMPOSED_ON_CUDA or hasattr(_C.cuda, name)


def needs(*kernels):
    """Run the test only on devices whose build has these kernels."""

    def mark(fn):
        fn.needs_kernels = kernels
        return fn

    return mark


@pytest.fixture(autouse=True)
def on_device(device, request):
    """Every test runs on each device (conftest's `device`); t64/randn create tensors there."""
    global _device
    missing = [k for k in getattr(request.function, "needs_kernels", ()) if not _has_kernel(device, k)]
    if missing:
        pytest.skip(f"{device} kernels not built yet: {missing}")
    _device = device
    yield
    _device = "cpu"


def t64(array, requires_grad=True):
    return minigrad.tensor(np.asarray(array, np.float64), requires_grad=requires_grad, device=_device)


def randn(*shape, requires_grad=True):
    return t64(rng.standard_normal(shape), requires_grad)


# --- numpy references -------------------------------------------------------------------


def conv2d_ref(x, w, b, stride, padding, dilation, groups):
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, c, _, _ = x.shape
    co, cg, kh, kw = w.shape
    windows = sliding_window_view(x, ((kh - 1) * dilation + 1, (kw - 1) * dilation + 1), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride, ::dilation, ::dilation]  # n c oh ow kh kw
    out = []
    for g in range(groups):
        xs = windows[:, g * cg : (g + 1) * cg]
        ws = w[g * (co // groups) : (g + 1) * (co // groups)]
        out.append(np.einsum("nchwij,ocij->nohw", xs, ws))
    y = np.concatenate(out, axis=1)
    return y if b is None else y + b[None, :, None, None]


def pool_windows(x, k, stride, padding, pad_value):
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), constant_values=pad_value)
    return sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]


def softmax_ref(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax_ref(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def reduce_ref(loss, reduction):
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


# --- linear ------------------------------------------------------------------------------


@needs("gemm", "bias_add", "bias_grad")
@pytest.mark.parametrize("x_shape", [(4, 3), (2, 5, 3), (3,)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear(x_shape, with_bias):
    x, w = randn(*x_shape), randn(2, 3)
    b = randn(2) if with_bias else None
    ref = x.detach().numpy() @ w.detach().numpy().T + (b.detach().numpy() if with_bias else 0)
    np.testing.assert_allclose(F.linear(x, w, b).detach().numpy(), ref, rtol=1e-12)
    gradcheck(F.linear, (x, w, b))


@needs("gemm", "bias_add", "bias_grad")
def test_linear_backward_skips_input_gradient_of_constant_input():
    x, w = randn(4, 3, requires_grad=False), randn(2, 3)
    F.linear(x, w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.tile(x.numpy().sum(0), (2, 1)))


def test_linear_bad_input():
    w = minigrad.zeros(120, 400)
    with pytest.raises(ValueError, match=r"linear: input shape \(8, 401\).*401 features.*\(120, 400\)"):
        F.linear(minigrad.zeros(8, 401), w)
    with pytest.raises(ValueError, match="linear: bias"):
        F.linear(minigrad.zeros(8, 400), w, minigrad.zeros(3))
    with pytest.raises(TypeError, match="linear"):
        F.linear(minigrad.zeros(8, 400, dtype=minigrad.int64), w)
    with pytest.raises(TypeError, match="linear: input, weight and bias must share a dtype"):
        F.linear(minigrad.zeros(8, 400, dtype=minigrad.float64), w)


# --- convolution and pooling ----------------------------------------------------------------


@needs("conv2d_forward", "conv2d_backward")
@pytest.mark.parametrize(
    "n,c,h,w,co,k,stride,padding,dilation,groups",
    [
        (2, 3, 5, 6, 4, 3, 1, 1, 1, 1),
        (1, 4, 6, 5, 2, 2, 2, 0, 1, 2),
        (1, 1, 4, 4, 1, 4, 1, 0, 1, 1),
        (2, 2, 7, 7, 2, 3, 3, 2, 2, 1),
    ],
)
def test_conv2d(n, c, h, w, co, k, stride, padding, dilation, groups):
    x, wt, b = randn(n, c, h, w), randn(co, c // groups, k, k), randn(co)
    y = F.conv2d(x, wt, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    ref = conv2d_ref(x.detach().numpy(), wt.detach().numpy(), b.detach().numpy(), stride, padding, dilation, groups)
    np.testing.assert_allclose(y.detach().numpy(), ref, rtol=1e-10, atol=1e-12)
    gradcheck(lambda *a: F.conv2d(*a, stride=stride, padding=padding, dilation=dilation, groups=groups), (x, wt, b))


@needs("conv2d_forward", "conv2d_backward")
def test_conv2d_same_valid_no_bias_and_bad_dtype():
    x, wt = randn(1, 2, 5, 5), randn(3, 2, 3, 3)
    assert F.conv2d(x, wt, padding="same").shape == (1, 3, 5, 5)
    assert F.conv2d(x, wt, padding="valid").shape == (1, 3, 3, 3)
    gradcheck(lambda a, b: F.conv2d(a, b, padding="same"), (x, wt))
    with pytest.raises(TypeError, match="conv2d"):
        F.conv2d(minigrad.zeros(1, 2, 5, 5, dtype=minigrad.int64), wt)


@needs("max_pool2d_forward", "max_pool2d_backward")
@pytest.mark.parametrize("k,stride,padding", [(2, None, 0), (3, 1, 1), (2, 3, 0), (4, None, 0)])
def test_max_pool2d(k, stride, padding):
    x = t64(rng.permutation(2 * 3 * 4 * 4).reshape(2, 3, 4, 4) / 10.0)  # distinct: no ties
    y, idx = F.max_pool2d(x, k, stride, padding, return_indices=True)
    ref = pool_windows(x.detach().numpy(), k, stride or k, padding, -np.inf).max(axis=(-1, -2))
    np.testing.assert_allclose(y.detach().numpy(), ref)
    flat = x.detach().numpy().reshape(2, 3, -1)
    np.testing.assert_allclose(np.take_along_axis(flat, idx.numpy().reshape(2, 3, -1), 2), ref.reshape(2, 3, -1))
    assert idx.dtype == minigrad.int64
    gradcheck(lambda a: F.max_pool2d(a, k, stride, padding), (x,))


@needs("max_pool2d_forward", "max_pool2d_backward", "relu", "relu_backward")
@pytest.mark.parametrize("k,stride,padding,ceil_mode", [(2, None, 0, False), (3, 2, 1, True), (2, 3, 0, False)])
def test_relu_max_pool2d_is_max_pool_of_relu(k, stride, padding, ceil_mode):
    # Distinct values, 0.05 or more from the ReLU's kink, many windows all negative.
    x = t64((rng.permutation(2 * 3 * 6 * 5).reshape(2, 3, 6, 5) - 100 + 0.5) / 10.0)
    args = (k, stride, padding, 1, ceil_mode)
    fused = F.relu_max_pool2d(x, *args)
    plain = F.max_pool2d(F.relu(x), *args)
    np.testing.assert_array_equal(fused.detach().numpy(), plain.detach().numpy())
    assert (fused.detach().numpy() == 0).any() and (fused.detach().numpy() > 0).any()
    g = randn(*fused.shape, requires_grad=False)
    (fused * g).sum().backward()
    fused_grad, x.grad = x.grad.numpy(), None
    (plain * g).sum().backward()
    np.testing.assert_array_equal(fused_grad, x.grad.numpy())
    gradcheck(lambda a: F.relu_max_pool2d(a, *args), (x,))


@needs("avg_pool2d_forward", "avg_pool2d_backward")
@pytest.mark.parametrize("k,stride,padding", [(2, None, 0), (3, 1, 1), (2, 3, 0)])
def test_avg_pool2d(k, stride, padding):
    x = randn(2, 2, 5, 4)
    ref = pool_windows(x.detach().numpy(), k, stride or k, padding, 0.0).mean(axis=(-1, -2))
    np.testing.assert_allclose(F.avg_pool2d(x, k, stride, padding).detach().numpy(), ref, rtol=1e-12)
    gradcheck(lambda a: F.avg_pool2d(a, k, stride, padding), (x,))


# --- activations ----------------------------------------------------------------------------


def away_from_zero(*shape):
    a = rng.uniform(0.2, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    return t64(a)


@needs("relu", "relu_backward", "sigmoid", "sigmoid_backward", "tanh", "tanh_backward")
@pytest.mark.parametrize(
    "fn,ref",
    [(F.relu, lambda a: np.maximum(a, 0)), (F.sigmoid, lambda a: 1 / (1 + np.exp(-a))), (F.tanh, np.tanh)],
)
def test_kernel_activations(fn, ref):
    x = away_from_zero(3, 4)
    np.testing.assert_allclose(fn(x).detach().numpy(), ref(x.detach().numpy()), rtol=1e-12)
    gradcheck(fn, (x,))


def test_leaky_relu():
    x = away_from_zero(3, 4)
    np.testing.assert_allclose(
        F.leaky_relu(x, 0.1).detach().numpy(),
        np.where(x.detach().numpy() > 0, x.detach().numpy(), 0.1 * x.detach().numpy()),
    )
    gradcheck(lambda a: F.leaky_relu(a, 0.2), (x,))


@needs("softmax", "softmax_backward", "log_softmax", "log_softmax_backward")
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_log_softmax(dim):
    x = randn(3, 4, 2)
    np.testing.assert_allclose(F.softmax(x, dim).detach().numpy(), softmax_ref(x.detach().numpy(), dim), rtol=1e-12)
    np.testing.assert_allclose(
        F.log_softmax(x, dim).detach().numpy(), log_softmax_ref(x.detach().numpy(), dim), rtol=1e-12
    )
    gradcheck(lambda a: F.softmax(a, dim), (x,))
    gradcheck(lambda a: F.log_softmax(a, dim), (x,))


def test_dropout():
    x = minigrad.ones(200, 50, requires_grad=True)
    minigrad.manual_seed(3)
    y = F.dropout(x, 0.3)
    minigrad.manual_seed(3)
    np.testing.assert_array_equal(F.dropout(x, 0.3).detach().numpy(), y.detach().numpy())
    values = np.unique(y.detach().numpy())
    np.testing.assert_allclose(values, [0.0, 1 / 0.7], rtol=1e-6)
    assert abs((y.detach().numpy() == 0).mean() - 0.3) < 0.02
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())
    assert F.dropout(x, 0.3, training=False) is x and F.dropout(x, 0.0) is x
    assert np.all(F.dropout(x, 1.0).detach().numpy() == 0)
    with pytest.raises(ValueError, match="dropout"):
        F.dropout(x, 1.5)


# --- normalization --------------------------------------------------------------------------


def batch_norm_ref(x, w, b, eps=1e-5):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * w.reshape(shape) + b.reshape(shape)


@needs("batch_norm_forward", "batch_norm_backward")
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2, 2)])
def test_batch_norm_training_and_eval(shape):
    x, w, b = randn(*shape), randn(3), randn(3)
    rm = minigrad.zeros(3, dtype=minigrad.float64, device=_device)
    rv = minigrad.ones(3, dtype=minigrad.float64, device=_device)
    y = F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.1)
    np.testing.assert_allclose(
        y.detach().numpy(),
        batch_norm_ref(x.detach().numpy(), w.detach().numpy(), b.detach().numpy()),
        rtol=1e-9,
        atol=1e-12,
    )
    axes = (0,) + tuple(range(2, x.ndim))
    np.testing.assert_allclose(rm.detach().numpy(), 0.1 * x.detach().numpy().mean(axis=axes), rtol=1e-10)
    np.testing.assert_allclose(rv.detach().numpy(), 0.9 + 0.1 * x.detach().numpy().var(axis=axes, ddof=1), rtol=1e-10)
    rm2, rv2 = rm.clone(), rv.clone()
    gradcheck(lambda *a: F.batch_norm(a[0], rm2, rv2, a[1], a[2], training=True), (x, w, b))
    ye = F.batch_norm(x, rm, rv, w, b, training=False)
    shape_c = (1, -1) + (1,) * (x.ndim - 2)
    ref = (
        x.detach().numpy() - rm.detach().numpy().reshape(shape_c)) / np.sqrt(rv.detach().numpy().reshape(shape_c) + 1e-5
    )
    np.testing.assert_allclose(
        ye.detach().numpy(), ref * w.detach().numpy().reshape(shape_c) + b.detach().numpy().reshape(shape_c), rtol=1e-10
    )
    gradcheck(lambda *a: F.batch_norm(a[0], rm, rv, a[1], a[2], training=False), (x, w, b))


def test_batch_norm_bad_input():
    with pytest.raises(ValueError, match="batch_norm"):
        F.batch_norm(minigrad.zeros(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match="batch_norm"):
        F.batch_norm(minigrad.zeros(4, 3), None, None, training=False)


def lrn_ref(x, size, alpha, beta, k):
    c = x.shape[1]
    sq = np.pad(x * x, [(0, 0), (size // 2, (size - 1) // 2)] + [(0, 0)] * (x.ndim - 2))
    window = sum(sq[:, i : i + c] for i in range(size))
    return x / (k + alpha / size * window) ** beta


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_local_response_norm(size):
    x = randn(2, 4, 3, 2)
    np.testing.assert_allclose(
        F.local_response_norm(
            x, size, alpha=0.5, beta=0.75, k=2.0).detach().numpy(), lrn_ref(x.detach().numpy(), size, 0.5, 0.75, 2.0
        )
    )
    gradcheck(lambda a: F.local_response_norm(a, size, alpha=0.5, beta=0.75, k=2.0), (x,))


# --- losses --------------------------------------------------------------------------------


def ce_ref(logits, target, reduction, label_smoothing=0.0, ignore_index=-100):
    logp = log_softmax_ref(logits, 1)
    n, c = logits.shape
    valid = target != ignore_index
    safe = np.where(valid, target, 0)
    nll = -logp[np.arange(n), safe]
    loss = ((1 - label_smoothing) * nll - label_smoothing * logp.mean(1)) * valid
    if reduction == "mean":
        return loss.sum() / valid.sum()
    return reduce_ref(loss, reduction)


@needs("cross_entropy_forward", "cross_entropy_backward")
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_cross_entropy(reduction, label_smoothing):
    x = randn(5, 4)
    target = minigrad.tensor([0, 3, 1, 1, 2], device=_device)
    kw = dict(reduction=reduction, label_smoothing=label_smoothing)
    np.testing.assert_allclose(
        F.cross_entropy(x, target, **kw).detach().numpy(), ce_ref(x.detach().numpy(), target.numpy(), **kw), rtol=1e-12
    )
    gradcheck(lambda a: F.cross_entropy(a, target, **kw), (x,))
    ignored = minigrad.tensor([0, -100, 1, 1, -100], device=_device)
    np.testing.assert_allclose(
        F.cross_entropy(x, ignored, **kw).detach().numpy(),
        ce_ref(x.detach().numpy(), ignored.numpy(), **kw),
        rtol=1e-12,
    )
    gradcheck(lambda a: F.cross_entropy(a, ignored, **kw), (x,))


@needs("cross_entropy_forward", "cross_entropy_backward")
def test_cross_entropy_spatial_probabilities_and_bad_target():
    x = randn(2, 3, 2, 2)
    target = minigrad.randint(0, 3, (2, 2, 2), device=_device)
    moved = x.detach().numpy().transpose(0, 2, 3, 1).reshape(-1, 3)
    np.testing.assert_allclose(
        F.cross_entropy(x, target, reduction="none").detach().numpy(),
        ce_ref(moved, target.numpy().reshape(-1), "none").reshape(2, 2, 2),
        rtol=1e-12,
    )
    gradcheck(lambda a: F.cross_entropy(a, target), (x,))
    probs = t64(softmax_ref(rng.standard_normal((4, 3)), 1), requires_grad=False)
    logits = randn(4, 3)
    np.testing.assert_allclose(
        F.cross_entropy(
            logits, probs).item(), -(probs.detach().numpy() * log_softmax_ref(logits.detach().numpy(), 1)).sum(1).mean(
        )
    )
    with pytest.raises(TypeError, match="cross_entropy: target"):
        F.cross_entropy(logits, minigrad.tensor([True, False, True, True], device=_device))
    with pytest.raises(ValueError, match="cross_entropy: target shape"):
        F.cross_entropy(logits, minigrad.tensor([0, 1], device=_device))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss(reduction):
    logp = randn(5, 4)
    target = minigrad.tensor([0, 3, -100, 1, 2], device=_device)
    weight = t64([0.5, 1.0, 2.0, 1.5], requires_grad=False)
    t, w = target.numpy(), weight.numpy()
    valid = t != -100
    picked = -logp.detach().numpy()[np.arange(5), np.where(valid, t, 0)] * w[np.where(valid, t, 0)] * valid
    expected = (
        picked.sum() / (w[np.where(valid, t, 0)] * valid).sum()
        if reduction == "mean"
        else reduce_ref(picked, reduction)
    )
    np.testing.assert_allclose(
        F.nll_loss(logp, target, weight, reduction=reduction).detach().numpy(), expected, rtol=1e-12
    )
    gradcheck(lambda a: F.nll_loss(a, target, weight, reduction=reduction), (logp,))
    gradcheck(lambda a: F.nll_loss(a, target, reduction=reduction), (logp,))


def test_nll_loss_bad_input():
    with pytest.raises(ValueError, match="nll_loss: target 4 is out of range for 4 classes"):
        F.nll_loss(minigrad.zeros(2, 4), minigrad.tensor([0, 4]))
    with pytest.raises(ValueError, match="nll_loss: target -2"):
        F.nll_loss(minigrad.zeros(2, 4), minigrad.tensor([0, -2]))
    with pytest.raises(TypeError, match="nll_loss"):
        F.nll_loss(minigrad.zeros(2, 4), minigrad.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="nll_loss: reduction"):
        F.nll_loss(minigrad.zeros(2, 4), minigrad.tensor([0, 1]), reduction="avg")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss(reduction):
    a, b = randn(3, 4), randn(3, 4)
    np.testing.assert_allclose(
        F.mse_loss(
            a,
            b,
            reduction=reduction).detach().numpy(), reduce_ref((a.detach().numpy() - b.detach().numpy()) ** 2,
            reduction,
        )
    )
    gradcheck(lambda x, y: F.mse_loss(x, y, reduction=reduction), (a, b))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy(reduction):
    p = t64(rng.uniform(0.05, 0.95, (3, 4)))
    t = t64(rng.uniform(0, 1, (3, 4)), requires_grad=False)
    w = t64(rng.uniform(0.5, 2, (3, 4)), requires_grad=False)
    pn, tn, wn = (v.detach().numpy() for v in (p, t, w))
    ref = -(tn * np.log(pn) + (1 - tn) * np.log(1 - pn)) * wn
    np.testing.assert_allclose(
        F.binary_cross_entropy(p, t, w, reduction=reduction).detach().numpy(), reduce_ref(ref, reduction)
    )
    gradcheck(lambda x: F.binary_cross_entropy(x, t, w, reduction=reduction), (p,))
    edge = F.binary_cross_entropy(t64([0.0, 1.0], False), t64([1.0, 0.0], False), reduction="none")
    np.testing.assert_allclose(edge.numpy(), [100.0, 100.0])  # log clamped at -100, as PyTorch
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(t64([1.5]), t64([1.0], False))


@needs("sigmoid")
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("with_pos_weight", [False, True])
def test_binary_cross_entropy_with_logits(reduction, with_pos_weight):
    x = randn(3, 4)
    t = t64(rng.uniform(0, 1, (3, 4)), requires_grad=False)
    pw = t64(rng.uniform(0.5, 3, (4,)), requires_grad=False) if with_pos_weight else None
    s = 1 / (1 + np.exp(-x.detach().numpy()))
    pwn = pw.numpy() if with_pos_weight else 1.0
    ref = -(pwn * t.numpy() * np.log(s) + (1 - t.numpy()) * np.log(1 - s))
    got = F.binary_cross_entropy_with_logits(x, t, reduction=reduction, pos_weight=pw)
    np.testing.assert_allclose(got.detach().numpy(), reduce_ref(ref, reduction), rtol=1e-12)
    gradcheck(lambda a: F.binary_cross_entropy_with_logits(a, t, reduction=reduction, pos_weight=pw), (x,))
    big = F.binary_cross_entropy_with_logits(t64([1000.0, -1000.0]), t64([0.0, 1.0], False), reduction="none")
    np.testing.assert_allclose(big.detach().numpy(), [1000.0, 1000.0])  # stable for huge logits


def test_losses_reject_bad_reduction_and_target_grad():
    a = minigrad.zeros(2)
    with pytest.raises(ValueError, match="mse_loss: reduction"):
        F.mse_loss(a, a, reduction="avg")
    with pytest.raises(NotImplementedError, match="binary_cross_entropy: the gradient with respect to target"):
        F.binary_cross_entropy(minigrad.full((2,), 0.5), minigrad.zeros(2, requires_grad=True))
    with pytest.raises(ValueError, match="binary_cross_entropy_with_logits: target shape"):
        F.binary_cross_entropy_with_logits(a, minigrad.zeros(3))


def test_nn_functional_exports_pytorch_names():
    for name in F.__all__:
        assert callable(getattr(F, name))
    assert F.flatten(minigrad.zeros(2, 3, 4), 1).shape == (2, 12)


@needs("gemm", "bias_add", "bias_grad", "relu", "relu_backward", "cross_entropy_forward", "cross_entropy_backward")
def test_float32_network_gradients_directionally():
    x = minigrad.randn(4, 6)
    w1, b1 = minigrad.randn(5, 6, requires_grad=True), minigrad.randn(5, requires_grad=True)
    w2 = minigrad.randn(3, 5, requires_grad=True)
    target = minigrad.tensor([0, 2, 1, 2])
    assert gradcheck_directional(
        lambda a, b, c: F.cross_entropy(F.linear(F.relu(F.linear(x, a, b)), c), target),
        (w1, b1, w2),
        eps=1e-2,
        rtol=2e-2,
        atol=1e-3,
    )


# --- against torch ----------------------------------------------------------------------------


def _cases():
    """(name, fn(m, *tensors) calling m.<op>, input arrays, kernels needed): the same call in both."""
    n = rng.standard_normal
    x4 = n((2, 4, 5, 5))
    target = rng.integers(0, 4, (3,))
    probs = rng.uniform(0.05, 0.95, (3, 4))
    t01 = rng.uniform(0, 1, (3, 4))
    ignored = np.array([1, -100, 3])
    class_w = rng.uniform(0.5, 2.0, 4)
    return [
        ("linear", lambda m, a, w, b: m.linear(a, w, b), [n((3, 5)), n((2, 5)), n(2)], ["gemm", "bias_add"]),
        (
            "conv2d",
            lambda m, a, w, b: m.conv2d(a, w, b, stride=2, padding=1),
            [x4, n((3, 4, 3, 3)), n(3)],
            ["conv2d_forward"],
        ),
        (
            "conv2d_groups",
            lambda m, a, w: m.conv2d(a, w, None, padding=1, dilation=2, groups=2),
            [x4, n((4, 2, 2, 2))],
            ["conv2d_forward"],
        ),
        ("max_pool2d", lambda m, a: m.max_pool2d(a, 2, 2), [x4], ["max_pool2d_forward"]),
        ("max_pool2d_ceil", lambda m, a: m.max_pool2d(a, 3, 2, 1, ceil_mode=True), [x4], ["max_pool2d_forward"]),
        ("avg_pool2d", lambda m, a: m.avg_pool2d(a, 3, 2, 1, count_include_pad=False), [x4], ["avg_pool2d_forward"]),
        ("relu", lambda m, a: m.relu(a), [x4], ["relu"]),
        ("leaky_relu", lambda m, a: m.leaky_relu(a, 0.1), [x4], []),
        ("sigmoid", lambda m, a: m.sigmoid(a), [x4], ["sigmoid"]),
        ("tanh", lambda m, a: m.tanh(a), [x4], ["tanh"]),
        ("softmax", lambda m, a: m.softmax(a, 1), [x4], ["softmax"]),
        ("log_softmax", lambda m, a: m.log_softmax(a, -1), [x4], ["log_softmax"]),
        ("local_response_norm", lambda m, a: m.local_response_norm(a, 3, 1e-2, 0.75, 1.0), [x4], []),
        (
            "batch_norm_train",
            lambda m, a, w, b: m.batch_norm(a, None, None, w, b, training=True),
            [x4, n(4), n(4)],
            ["batch_norm_forward"],
        ),
        (
            "cross_entropy",
            lambda m, a: m.cross_entropy(a, target, label_smoothing=0.1),
            [n((3, 4))],
            ["cross_entropy_forward"],
        ),
        (
            "cross_entropy_sum",
            lambda m, a: m.cross_entropy(a, target, reduction="sum"),
            [n((3, 4))],
            ["cross_entropy_forward"],
        ),
        ("cross_entropy_weight", lambda m, a: m.cross_entropy(a, ignored, class_w), [n((3, 4))], ["log_softmax"]),
        ("nll_loss", lambda m, a: m.nll_loss(a, target, reduction="sum"), [n((3, 4))], []),
        ("mse_loss", lambda m, a, b: m.mse_loss(a, b), [n((3, 4)), n((3, 4))], []),
        ("binary_cross_entropy", lambda m, a: m.binary_cross_entropy(a, t01), [probs], []),
        (
            "bce_with_logits",
            lambda m, a: m.binary_cross_entropy_with_logits(a, t01, pos_weight=t01[0] + 1),
            [n((3, 4))],
            ["sigmoid"],
        ),
    ]


CASES = _cases()


class _Namespace:
    """fn(m, ...) calls m.<op> of a framework's namespace; constant numpy arguments (targets) are
    converted by `convert` first."""

    def __init__(self, ns, convert):
        self.ns, self.convert = ns, convert

    def __getattr__(self, op):
        f = getattr(self.ns, op)

        def call(*args, **kwargs):
            args = [self.convert(a) if isinstance(a, np.ndarray) else a for a in args]
            kwargs = {k: self.convert(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
            return f(*args, **kwargs)

        return call


def _output_grad(shape):
    return np.random.default_rng(1).standard_normal(shape)


def _torch_case(torch, fn, arrays):
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    y = fn(_Namespace(torch.nn.functional, torch.tensor), *theirs)
    y.backward(torch.tensor(_output_grad(tuple(y.shape))))
    return {"y": y} | {f"grad{i}": t.grad for i, t in enumerate(theirs)}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_against_torch(case):
    name, fn, arrays, kernels = case
    missing = [k for k in kernels if not hasattr(_C, k)]
    if missing:
        pytest.skip(f"_C kernels not built yet: {missing}")

    def convert_m(v):
        return minigrad.tensor(v, dtype=minigrad.int64 if v.dtype.kind == "i" else minigrad.float64)

    theirs = torch_reference(f"functional/{name}", lambda torch: _torch_case(torch, fn, arrays))
    ours = [minigrad.tensor(a, dtype=minigrad.float64, requires_grad=True) for a in arrays]
    y_m = fn(_Namespace(F, convert_m), *ours)
    np.testing.assert_allclose(y_m.detach().numpy(), theirs["y"], rtol=1e-10, atol=1e-12, err_msg=name)
    y_m.backward(minigrad.tensor(_output_grad(y_m.shape), dtype=minigrad.float64))
    for i, a in enumerate(ours):
        want = theirs[f"grad{i}"]
        np.testing.assert_allclose(a.grad.numpy(), want, rtol=1e-9, atol=1e-11, err_msg=f"{name} grad {i}")


# issue 13, defect 6: pow's gradients at 0 were nan/-inf where PyTorch gives 0 (values from PyTorch 2.13)
_POW_EDGES = [
    ("x ** 0", lambda x: x**0, [0.0, 2.0], [0.0, 0.0]),
    ("0 ** x", lambda x: 0**x, [0.0, 2.0], [0.0, 0.0]),
    ("x ** x", lambda x: x**x, [0.0, 2.0], [0.0, 6.772588722239782]),
    ("x ** 0.5", lambda x: x**0.5, [0.0, 2.0], [np.inf, 0.3535533905932738]),
]


@pytest.mark.filterwarnings("error")  # and no numpy RuntimeWarning on the way
@pytest.mark.parametrize("name, fn, values, grad", _POW_EDGES, ids=[case[0] for case in _POW_EDGES])
def test_pow_gradients_at_zero_match_pytorch(name, fn, values, grad):
    x = minigrad.tensor(values, dtype=minigrad.float64, requires_grad=True)
    fn(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), grad, rtol=1e-12)


@pytest.mark.filterwarnings("error")
def test_pow_tensor_exponent_gradients_at_zero_match_pytorch():
    a = minigrad.tensor([0.0, 0.0, 2.0, 0.0, -2.0], dtype=minigrad.float64, requires_grad=True)
    b = minigrad.tensor([0.0, 2.0, -1.0, -1.0, 0.5], dtype=minigrad.float64, requires_grad=True)
    (a**b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [0.0, 0.0, -0.25, -np.inf, np.nan], rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), [0.0, 0.0, 0.34657359027997264, -np.inf, np.nan], rtol=1e-12)


@pytest.mark.filterwarnings("error")
def test_mean_of_nothing_is_nan():
    # issue 13, defect 7: the mean of an empty tensor was 0
    assert np.isnan(minigrad.zeros(0).mean().item())
    assert np.isnan(minigrad.zeros(2, 0).mean(1).numpy()).all()
    assert minigrad.zeros(2, 0).mean(0).shape == (0,)
    x = minigrad.zeros(0, 3, requires_grad=True)
    x.mean(0).sum().backward()
    assert x.grad.shape == (0, 3)


def test_binary_cross_entropy_log_terms_clamp_at_minus_100_in_float32():
    # issue 13, defect 10: clamping x at exp(-100) (subnormal in float32) gave 99.98
    for dtype in (minigrad.float32, minigrad.float64):
        x = minigrad.tensor([0.0, 1.0], dtype=dtype)
        t = minigrad.tensor([1.0, 0.0], dtype=dtype)
        assert F.binary_cross_entropy(x, t, reduction="none").tolist() == [100.0, 100.0]
