"""The CUDA backend (minigrad/backend/cuda.py, _C.cuda kernels): every kernel against
numpy, bad input, device selection, moving tensors/modules/optimizer state, and the
optimizers against the CPU kernels. Runs on a GPU or in the emulated build
(MINIGRAD_CUDA=EMULATE); the device-selection tests also run without CUDA."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad
from minigrad import _C, nn
from minigrad.backend import resolve_device
from minigrad.nn import functional as F

cuda_only = pytest.mark.skipif(not minigrad.cuda.is_available(), reason="no usable CUDA device (or emulator)")
rng = np.random.default_rng(5)
DTYPES = [np.float32, np.float64]


def dev(a):
    return _C.cuda.from_numpy(np.array(a, order="C"))  # ascontiguousarray would make 0-d arrays 1-d


def tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)


# --- device selection (any build) -------------------------------------------------------


def test_device_resolution(monkeypatch, capsys):
    import minigrad.backend as backend

    assert resolve_device(None) == resolve_device("cpu") == "cpu"
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    monkeypatch.delitem(backend._backends, "cuda", raising=False)
    monkeypatch.setattr(backend, "cuda_unavailable_reason", lambda: "no driver (test)")
    monkeypatch.setattr(backend, "_auto_notice_shown", False)
    with pytest.raises(RuntimeError, match=r"device 'cuda' is not available: no driver \(test\)"):
        minigrad.zeros(2, device="cuda")
    assert minigrad.zeros(2, device="auto").device == "cpu"
    assert resolve_device("auto") == "cpu"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no driver (test)" in err and "CPU" in err  # one line, once
    monkeypatch.setenv("MINIGRAD_REQUIRE_CUDA", "1")
    with pytest.raises(RuntimeError, match="MINIGRAD_REQUIRE_CUDA=1 but CUDA is not usable: no driver"):
        resolve_device("auto")


def test_cuda_queries_without_or_with_a_device():
    assert minigrad.cuda.is_available() == (minigrad.cuda.device_count() > 0)
    assert minigrad.cuda.memory_allocated() >= 0 and minigrad.cuda.memory_reserved() >= 0
    minigrad.cuda.empty_cache()
    if minigrad.cuda.is_available():
        assert resolve_device("auto") == "cuda" and resolve_device("cuda:0") == "cuda"
        assert isinstance(minigrad.cuda.get_device_name(), str)
        minigrad.cuda.synchronize()
    else:
        with pytest.raises(RuntimeError, match="get_device_name: CUDA is not available"):
            minigrad.cuda.get_device_name()


# --- kernels against numpy ------------------------------------------------------------------

shapes = st.lists(st.integers(1, 4), min_size=0, max_size=4)


@cuda_only
@settings(max_examples=40, deadline=None)
@given(shape=shapes, drop=st.lists(st.booleans(), min_size=4, max_size=4), lead=st.integers(0, 2))
def test_broadcasting_binary_ops(shape, drop, lead):
    other = [1 if d else n for n, d in zip(shape, drop, strict=False)][lead:]
    for dtype in DTYPES:
        a = rng.uniform(0.5, 2.0, shape).astype(dtype)
        b = rng.uniform(0.5, 2.0, other).astype(dtype)
        for name, ref in [
            ("add", np.add),
            ("sub", np.subtract),
            ("mul", np.multiply),
            ("div", np.divide),
            ("pow", np.power),
            ("maximum", np.maximum),
            ("minimum", np.minimum),
        ]:
            got = getattr(_C.cuda, name)(dev(a), dev(b)).to_numpy()
            np.testing.assert_allclose(got, ref(a, b), **tol(dtype), err_msg=name)
            assert got.dtype == dtype
        for op, ref in [("lt", np.less), ("eq", np.equal), ("ge", np.greater_equal)]:
            np.testing.assert_array_equal(_C.cuda.compare(op, dev(a), dev(b)).to_numpy(), ref(a, b))
        cond = a > 1.0
        np.testing.assert_array_equal(_C.cuda.where(dev(cond), dev(a), dev(b)).to_numpy(), np.where(cond, a, b))


@cuda_only
@pytest.mark.parametrize("dtype", DTYPES)
def test_unary_ops_and_activation_gradients(dtype):
    x = (rng.uniform(0.2, 2.0, (3, 37)) * rng.choice([-1, 1], (3, 37))).astype(dtype)
    pos = np.abs(x)
    for name, arg, ref in [
        ("neg", x, np.negative),
        ("exp", x, np.exp),
        ("log", pos, np.log),
        ("log1p", pos, np.log1p),
        ("sqrt", pos, np.sqrt),
        ("abs", x, np.abs),
        ("sign", x, np.sign),
        ("relu", x, lambda a: np.maximum(a, 0)),
        ("sigmoid", x, lambda a: 1 / (1 + np.exp(-a))),
        ("tanh", x, np.tanh),
        ("sin", x, np.sin),
        ("cos", x, np.cos),
        ("tan", x / 2, np.tan),
        ("asin", x / 2.5, np.arcsin),
        ("acos", x / 2.5, np.arccos),
        ("atan", x, np.arctan),
        ("sinh", x, np.sinh),
        ("cosh", x, np.cosh),
        ("expm1", x, np.expm1),
        ("log2", pos, np.log2),
        ("log10", pos, np.log10),
        ("erf", x, lambda a: np.vectorize(math.erf)(a)),
    ]:
        np.testing.assert_allclose(getattr(_C.cuda, name)(dev(arg)).to_numpy(), ref(arg), **tol(dtype), err_msg=name)
    np.testing.assert_allclose(_C.cuda.clamp(dev(x), -0.5, None).to_numpy(), np.clip(x, -0.5, None))
    zeros = np.array([-0.0, 0.0], dtype)
    assert not np.signbit(_C.cuda.abs(dev(zeros)).to_numpy()).any()  # |-0| is +0, as on the CPU
    dy = rng.standard_normal(x.shape).astype(dtype)
    y = np.tanh(x)
    np.testing.assert_allclose(_C.cuda.tanh_backward(dev(dy), dev(y)).to_numpy(), dy * (1 - y * y), **tol(dtype))
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(_C.cuda.sigmoid_backward(dev(dy), dev(s)).to_numpy(), dy * s * (1 - s), **tol(dtype))
    np.testing.assert_array_equal(_C.cuda.relu_backward(dev(dy), dev(np.maximum(x, 0))).to_numpy(), dy * (x > 0))
    np.testing.assert_array_equal(_C.cuda.hardtanh(dev(x), -0.5, 0.5).to_numpy(), np.clip(x, -0.5, 0.5))
    np.testing.assert_array_equal(_C.cuda.hardtanh_backward(dev(dy), dev(x), -0.5, 0.5).to_numpy(),
                                  np.where((x > -0.5) & (x < 0.5), dy, 0))
    np.testing.assert_array_equal(_C.cuda.leaky_relu(dev(x), 0.2).to_numpy(), _C.leaky_relu(x, 0.2))
    np.testing.assert_array_equal(_C.cuda.leaky_relu_backward(dev(dy), dev(x), 0.2).to_numpy(),
                                  _C.leaky_relu_backward(dy, x, 0.2))
    np.testing.assert_array_equal(_C.cuda.add_scaled(dev(x), dev(dy), -0.3).to_numpy(), _C.add_scaled(x, dy, -0.3))
    for approximate in ("none", "tanh"):
        np.testing.assert_allclose(_C.cuda.gelu(dev(x), approximate).to_numpy(), _C.gelu(x, approximate),
                                   **tol(dtype), err_msg=approximate)
        np.testing.assert_allclose(_C.cuda.gelu_backward(dev(dy), dev(x), approximate).to_numpy(),
                                   _C.gelu_backward(dy, x, approximate), **tol(dtype), err_msg=approximate)
    big = np.array([-1000.0, 1000.0], dtype)
    np.testing.assert_array_equal(_C.cuda.sigmoid(dev(big)).to_numpy(), [0.0, 1.0])  # stable, no nan
    assert not _C.cuda.all_finite(dev(np.array([1.0, np.inf], dtype))) and _C.cuda.all_finite(dev(x))


@cuda_only
@pytest.mark.parametrize("dtype", DTYPES + [np.int64])
@pytest.mark.parametrize(
    "shape,axis",
    [
        ((3, 4, 5), None),
        ((3, 4, 5), 1),
        ((3, 4, 5), (0, 2)),
        ((3, 4, 5), (1, 2)),
        ((2, 3, 4, 5), (0, 2, 3)),
        ((1, 1), 0),
        ((700,), 0),
        ((2, 300), -1),
        ((4,), ()),
        ((), None),
    ],
)
def test_reductions_over_axes(dtype, shape, axis):
    x = rng.integers(-50, 50, shape).astype(dtype) if dtype == np.int64 else rng.standard_normal(shape).astype(dtype)
    for keepdims in (False, True):
        for name in ("sum", "max", "min"):
            got = getattr(_C.cuda, name)(dev(x), axis, keepdims).to_numpy()
            ref = getattr(np, name)(x, axis=axis, keepdims=keepdims)
            assert got.shape == np.shape(ref), name
            np.testing.assert_allclose(got, ref, **tol(np.float32 if dtype == np.float32 else np.float64))
    if axis is None or isinstance(axis, int):
        for name in ("argmax", "argmin"):
            got = getattr(_C.cuda, name)(dev(x), axis, False).to_numpy()
            np.testing.assert_array_equal(got, getattr(np, name)(x, axis=axis))


@cuda_only
def test_reductions_ties_nan_and_empty():
    x = np.array([[1.0, 3.0, 3.0, np.nan, 2.0, np.nan]], np.float32)
    assert _C.cuda.argmax(dev(x[:, :3]), 1, False).to_numpy()[0] == 1  # first of the ties
    assert _C.cuda.argmax(dev(x), 1, False).to_numpy()[0] == 3  # first nan, as numpy
    assert np.isnan(_C.cuda.max(dev(x), None, False).to_numpy())
    assert _C.cuda.sum(dev(np.zeros((0, 3), np.float32)), 0, False).to_numpy().tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="max: reducing an empty axis"):
        _C.cuda.max(dev(np.zeros((0, 3), np.float32)), 0, False)


@cuda_only
def test_data_movement():
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    d = dev(x)
    np.testing.assert_array_equal(_C.cuda.permute(d, [2, 0, 1]).to_numpy(), x.transpose(2, 0, 1))
    np.testing.assert_array_equal(
        _C.cuda.broadcast_to(dev(x[:, :1]), (5, 2, 3, 4)).to_numpy(), np.broadcast_to(x[:, :1], (5, 2, 3, 4))
    )
    view = _C.cuda.reshape(d, (6, 4))
    assert view.ptr == d.ptr and view.shape == (6, 4)  # metadata only
    for dtype in (np.float64, np.int64, np.bool_):
        got = _C.cuda.astype(d, dtype).to_numpy()
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, x.astype(dtype))
    acc = dev(x)
    acc += dev(x[:1])
    np.testing.assert_allclose(acc.to_numpy(), x + x[:1])
    assert dev(x > 0).all() == (x > 0).all() and dev(x).any()


@cuda_only
def test_bad_input_is_an_error_naming_the_op():
    a, b = dev(np.zeros((2, 3), np.float32)), dev(np.zeros((4,), np.float32))
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        _C.cuda.add(a, b)
    with pytest.raises(TypeError, match="mul: dtypes differ"):
        _C.cuda.mul(a, dev(np.zeros((2, 3))))
    with pytest.raises(TypeError, match="exp: x must be float32 or float64, got int64"):
        _C.cuda.exp(dev(np.zeros(3, np.int64)))
    with pytest.raises(TypeError, match="sub: bool"):
        _C.cuda.sub(dev(np.zeros(3, bool)), dev(np.zeros(3, bool)))
    with pytest.raises(TypeError, match="add: a must be a minigrad._C.cuda.DeviceArray"):
        _C.cuda.add(np.zeros(3, np.float32), a)
    with pytest.raises(ValueError, match="sum: axis 2 is out of range"):
        _C.cuda.sum(a, 2, False)
    with pytest.raises(ValueError, match="permute: axes must be a permutation"):
        _C.cuda.permute(a, [0, 0])
    with pytest.raises(ValueError, match="reshape: cannot reshape"):
        _C.cuda.reshape(a, (4, 2))
    with pytest.raises(TypeError, match="where: cond must be bool"):
        _C.cuda.where(a, a, a)
    with pytest.raises(ValueError, match="compare: op must be"):
        _C.cuda.compare("lte", a, a)
    with pytest.raises(ValueError, match="sgd_step: grad has shape"):
        _C.cuda.sgd_step(a, b, None, lr=0.1)
    with pytest.raises(ValueError, match="adam_step: step must be >= 1"):
        _C.cuda.adam_step(a, a, dev(np.zeros((2, 3), np.float32)), dev(np.zeros((2, 3), np.float32)), 0, 0.1)


# --- optimizers: the CUDA kernels against the CPU kernels -------------------------------------

OPTIMIZERS = [
    ("sgd_step", ("momentum_buffer",), dict(lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True)),
    ("adam_step", ("exp_avg", "exp_avg_sq"), dict(step=3, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("rmsprop_step", ("square_avg",), dict(lr=0.01, momentum=0.5, momentum_buffer=None, grad_avg=None)),
    ("adagrad_step", ("state_sum",), dict(step=2, lr=0.1, lr_decay=0.01)),
    ("adadelta_step", ("square_avg", "acc_delta"), dict(lr=1.0, rho=0.9, weight_decay=0.1)),
]


@cuda_only
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,states,kwargs", OPTIMIZERS)
def test_optimizer_steps_match_cpu(dtype, name, states, kwargs):
    n = 1000  # not a multiple of the block size
    host = [rng.standard_normal(n).astype(dtype) for _ in range(2)] + [
        rng.uniform(0.1, 1, n).astype(dtype) for _ in states
    ]
    extra_host = {k: rng.uniform(0.1, 1, n).astype(dtype) for k, v in kwargs.items() if v is None}
    cpu = [a.copy() for a in host]
    cpu_kw = {**kwargs, **{k: a.copy() for k, a in extra_host.items()}}
    gpu = [dev(a) for a in host]
    gpu_kw = {**kwargs, **{k: dev(a) for k, a in extra_host.items()}}
    for _ in range(3):
        getattr(_C, name)(*cpu, **cpu_kw)
        getattr(_C.cuda, name)(*gpu, **gpu_kw)
    for c, g in zip(cpu, gpu, strict=True):
        np.testing.assert_allclose(g.to_numpy(), c, **tol(dtype))
    for k in extra_host:
        np.testing.assert_allclose(gpu_kw[k].to_numpy(), cpu_kw[k], **tol(dtype))


# --- tensors, modules and optimizers across devices ------------------------------------------


@cuda_only
def test_tensors_move_between_devices_with_gradients():
    x = minigrad.randn(3, 4, requires_grad=True)
    y = x.cuda()
    assert y.device == "cuda" and isinstance(y._data, _C.cuda.DeviceArray)
    ((y * y).sum() + y.to("cuda").mean()).backward()
    assert x.grad.device == "cpu"
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.detach().numpy() + 1 / 12, rtol=1e-5)
    np.testing.assert_array_equal(y.cpu().detach().numpy(), x.detach().numpy())
    z = minigrad.tensor([[1.0, 2.0]], device="cuda")
    assert z.device == "cuda" and z.dtype == minigrad.float32 and repr(z).endswith("device='cuda')")
    assert minigrad.tensor(np.ones(3), device="cuda").device == "cuda"


@cuda_only
def test_mixing_devices_is_an_error_naming_both():
    a, b = minigrad.ones(2), minigrad.ones(2, device="cuda")
    with pytest.raises(RuntimeError, match="cpu and cuda"):
        a + b
    with pytest.raises(RuntimeError, match="cuda and cpu"):
        b * a
    # Arguments the kernels take as raw arrays (targets, running stats, conditions) are checked too.
    logits, target = minigrad.randn(3, 4, device="cuda"), minigrad.tensor(np.array([0, 1, 2]))
    with pytest.raises(RuntimeError, match="cross_entropy: .*cuda and cpu"):
        F.cross_entropy(logits, target)
    with pytest.raises(RuntimeError, match="nll_loss: .*cuda and cpu"):
        F.nll_loss(logits, target)
    stats = minigrad.zeros(4), minigrad.ones(4)
    with pytest.raises(RuntimeError, match="batch_norm: .*cuda and cpu"):
        F.batch_norm(logits, *stats, training=True)
    with pytest.raises(RuntimeError, match="where: .*cuda and cpu"):
        minigrad.where(minigrad.ones(3, 4) > 0, logits, logits)


@cuda_only
def test_module_and_optimizer_state_follow_the_device():
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2)) if hasattr(_C.cuda, "gemm") else None
    if model is None:
        pytest.skip("cuda gemm kernel not built yet")
    x = minigrad.randn(5, 4)
    cpu_model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
    cpu_model.load_state_dict(model.state_dict())
    model.to("cuda")
    assert all(p.device == "cuda" for p in model.parameters())
    opt, cpu_opt = (
        minigrad.optim.Adam(model.parameters(), lr=0.01),
        minigrad.optim.Adam(cpu_model.parameters(), lr=0.01),
    )
    for _ in range(3):
        for m, o, inp in ((model, opt, x.cuda()), (cpu_model, cpu_opt, x)):
            o.zero_grad()
            (m(inp) ** 2).sum().backward()
            o.step()
    for p, q in zip(model.parameters(), cpu_model.parameters(), strict=True):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-5, atol=1e-6)
    state = opt.state_dict()["state"]
    # the buffers follow the parameters; the step count stays a CPU scalar, as PyTorch's
    assert state and all(v.device == ("cpu" if k == "step" else "cuda") for s in state.values() for k, v in s.items())
    model.to("cpu")
    assert all(p.device == "cpu" for p in model.parameters())
    opt.zero_grad()
    (model(x) ** 2).sum().backward()
    opt.step()  # the state follows the parameters back to the CPU
    state = opt.state_dict()["state"]
    assert all(v.device == "cpu" for s in state.values() for v in s.values() if hasattr(v, "device"))


@cuda_only
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 3), (1, 2, 3, 5), (2, 300), (5, 1, 1, 1)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_matches_cpu(dtype, shape, affine):
    c = shape[1]
    x, dy = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    w, b = (rng.standard_normal(c).astype(dtype) if affine else None for _ in range(2))
    rm, rv = np.zeros(c, dtype), np.ones(c, dtype)
    g_rm, g_rv = dev(rm), dev(rv)
    opt = lambda a: None if a is None else dev(a)  # noqa: E731
    for training in (True, False):
        cpu = _C.batch_norm_forward(x, w, b, rm, rv, training, momentum=0.2, eps=1e-5)
        gpu = _C.cuda.batch_norm_forward(dev(x), opt(w), opt(b), g_rm, g_rv, training, momentum=0.2, eps=1e-5)
        for c_out, g_out in zip(cpu, gpu, strict=True):
            np.testing.assert_allclose(g_out.to_numpy(), c_out, **tol(dtype))
        np.testing.assert_allclose(g_rm.to_numpy(), rm, **tol(dtype))
        np.testing.assert_allclose(g_rv.to_numpy(), rv, **tol(dtype))
        cpu_grads = _C.batch_norm_backward(dy, x, w, cpu[1], cpu[2], training=training)
        gpu_grads = _C.cuda.batch_norm_backward(dev(dy), dev(x), opt(w), gpu[1], gpu[2], training=training)
        for c_g, g_g in zip(cpu_grads, gpu_grads, strict=True):
            assert (c_g is None) == (g_g is None)
            if c_g is not None:
                np.testing.assert_allclose(g_g.to_numpy(), c_g, rtol=1e-4 if dtype == np.float32 else 1e-10, atol=1e-5)


@cuda_only
def test_batch_norm_bad_input():
    x = dev(np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match="batch_norm_forward: Expected more than 1 value per channel"):
        _C.cuda.batch_norm_forward(dev(np.zeros((1, 3), np.float32)), None, None, None, None, True)
    with pytest.raises(ValueError, match=r"batch_norm_forward: weight must have shape \(3,\)"):
        _C.cuda.batch_norm_forward(x, dev(np.zeros(2, np.float32)), None, None, None, True)
    with pytest.raises(TypeError, match="batch_norm_forward: bias has dtype float64"):
        _C.cuda.batch_norm_forward(x, None, dev(np.zeros(3)), None, None, True)
    with pytest.raises(ValueError, match="batch_norm_forward: running_mean and running_var are required"):
        _C.cuda.batch_norm_forward(x, None, None, None, None, False)
    with pytest.raises(ValueError, match="batch_norm_backward: dy has shape"):
        _C.cuda.batch_norm_backward(
            dev(np.zeros((4, 2), np.float32)), x, None, dev(np.zeros(3, np.float32)), dev(np.zeros(3, np.float32))
        )


def _lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Dropout(0.25), nn.ReLU(), nn.Linear(120, 84), nn.Sigmoid(), nn.Linear(84, 10),
    )  # fmt: skip


@cuda_only
def test_lenet5_trains_the_same_on_cuda_and_cpu():
    needed = ("gemm", "conv2d_forward", "max_pool2d_forward", "avg_pool2d_forward", "cross_entropy_forward")
    if not all(hasattr(_C.cuda, k) for k in needed):
        pytest.skip("cuda gemm/conv/pool/cross-entropy kernels not built yet")
    minigrad.manual_seed(0)
    cpu_model = _lenet()
    gpu_model = _lenet()
    gpu_model.load_state_dict(cpu_model.state_dict())
    gpu_model.to("cuda")
    runs = {}
    for device, model in (("cpu", cpu_model), ("cuda", gpu_model)):
        opt = minigrad.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        minigrad.manual_seed(7)  # the same dropout masks on both devices (drawn on the host)
        losses = []
        for step in range(4):
            x = minigrad.tensor(np.random.default_rng(step).standard_normal((8, 1, 28, 28)), minigrad.float32, device)
            y = minigrad.tensor(np.random.default_rng(step).integers(0, 10, 8), device=device)
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        params = list(model.parameters())
        runs[device] = losses, [p.grad.numpy() for p in params], [p.detach().numpy() for p in params]
    np.testing.assert_allclose(runs["cuda"][0], runs["cpu"][0], rtol=1e-4)
    for g_gpu, g_cpu in zip(runs["cuda"][1], runs["cpu"][1], strict=True):
        assert np.any(g_cpu != 0)
        np.testing.assert_allclose(g_gpu, g_cpu, rtol=2e-3, atol=2e-5)
    for p_gpu, p_cpu in zip(runs["cuda"][2], runs["cpu"][2], strict=True):
        np.testing.assert_allclose(p_gpu, p_cpu, rtol=1e-3, atol=1e-5)
    assert all(p.device == "cuda" for p in gpu_model.parameters())


@cuda_only
def test_power_of_two_tensors_has_both_gradients_as_on_cpu():
    # the exponent's gradient masks a base of 0 with a bool "and" (it multiplied bool arrays, which
    # the CUDA kernels refuse)
    base, exponent = np.array([0.0, 0.5, 2.0, 0.0]), np.array([2.0, -1.5, 0.5, -1.0])
    grads = {}
    for device in ("cpu", "cuda"):
        a = minigrad.tensor(base, device=device, requires_grad=True)
        b = minigrad.tensor(exponent, device=device, requires_grad=True)
        (a**b).sum().backward()
        grads[device] = (a.grad.numpy(), b.grad.numpy())
    for got, want in zip(grads["cuda"], grads["cpu"], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6)


@cuda_only
def test_zero_size_and_batch_one_through_the_tensor_api():
    empty = minigrad.zeros(0, 3, device="cuda", requires_grad=True)
    y = (empty * minigrad.ones(3, device="cuda") + 1.0).relu()
    assert y.shape == (0, 3) and y.sum().item() == 0.0
    y.sum().backward()
    assert empty.grad.shape == (0, 3)
    assert minigrad.ones(1, 1, device="cuda").sum(dim=0).numpy().tolist() == [1.0]
    x = minigrad.tensor(np.arange(6.0).reshape(1, 2, 3), device="cuda")
    np.testing.assert_array_equal(x.permute(2, 0, 1).numpy(), np.arange(6.0).reshape(1, 2, 3).transpose(2, 0, 1))
    np.testing.assert_array_equal(x[0, 1].numpy(), [3.0, 4.0, 5.0])  # indexing goes through the host
    # an integer for every dim: 0-d, as on the CPU (it was (1,)), and its gradient lands in place
    leaf = minigrad.tensor(np.arange(6.0).reshape(2, 3), device="cuda", requires_grad=True)
    element = leaf[1, 2]
    assert element.shape == () and element.item() == 5.0
    (element * element).backward()
    np.testing.assert_array_equal(leaf.grad.numpy(), [[0, 0, 0], [0, 0, 10.0]])
    np.testing.assert_array_equal(minigrad.cat([x, x], 0).numpy().shape, (2, 2, 3))


@cuda_only
def test_device_memory_returns_to_the_allocator():
    minigrad.cuda.synchronize()
    before = minigrad.cuda.memory_allocated()
    x = minigrad.randn(64, 32, device="cuda", requires_grad=True)
    ((x * 2).exp().sum(dim=1) ** 2).mean().backward()
    assert minigrad.cuda.memory_allocated() > before
    del x
    assert minigrad.cuda.memory_allocated() == before


@cuda_only
@pytest.mark.parametrize("a_shape,b_shape", [((2, 3, 4), (2, 4, 5)), ((3, 1, 2, 3), (4, 3, 2)), ((1, 1, 1), (1, 1))])
def test_batched_matmul_broadcasts_like_numpy(a_shape, b_shape):
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    ta = minigrad.tensor(a, device="cuda", requires_grad=True)
    tb = minigrad.tensor(b, device="cuda", requires_grad=True)
    out = ta @ tb
    np.testing.assert_allclose(out.detach().numpy(), a @ b, rtol=1e-12)
    ca, cb = minigrad.tensor(a, requires_grad=True), minigrad.tensor(b, requires_grad=True)
    g = rng.standard_normal(out.shape)
    out.backward(minigrad.tensor(g, device="cuda"))
    (ca @ cb).backward(minigrad.tensor(g))
    np.testing.assert_allclose(ta.grad.numpy(), ca.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(tb.grad.numpy(), cb.grad.numpy(), rtol=1e-12)
    assert np.any(ta.grad.numpy() != 0)


@cuda_only
@pytest.mark.parametrize("dtype", DTYPES)
def test_cuda_cumsum_equals_the_cpu_kernel(dtype):
    for shape in [(1,), (7,), (3, 5), (40, 1, 3), (4, 17, 33), (0, 3), (300, 70)]:
        x = (np.random.default_rng(3).standard_normal(shape) * 10).astype(dtype)
        for dim in range(len(shape)):
            for reverse in (False, True):
                got = _C.cuda.cumsum(_C.cuda.from_numpy(x), dim, reverse).to_numpy()
                np.testing.assert_array_equal(got, _C.cumsum(x, dim, reverse), err_msg=f"{shape} {dim} {reverse}")
    t = minigrad.tensor(np.arange(12.0, dtype=dtype).reshape(3, 4), device="cuda", requires_grad=True)
    t.cumsum(1).sum().backward()
    np.testing.assert_array_equal(t.grad.cpu().numpy(), np.tile([4.0, 3.0, 2.0, 1.0], (3, 1)))
    assert minigrad.tensor([[1, 2], [3, 4]], device="cuda").cumsum(0).tolist() == [[1, 2], [4, 6]]
