"""PyTorch APIs that course code uses, added together: mixed precision (minigrad.amp's no-op autocast
and GradScaler, minigrad.cuda.amp's deprecated forms), F.upsample and its variants, F.gumbel_softmax,
minigrad.autograd.function.once_differentiable, distributions.Independent, nn.utils.get_total_norm /
clip_grads_with_norm_ / clip_grad_norm, and nn.functional's in-place activations and *_with_indices
pooling forms."""

from __future__ import annotations

import importlib
import math
import warnings

import numpy as np
import pytest
from torch_reference import TorchReference, assert_matches

import minigrad as mg
from minigrad import nn
from minigrad.distributions import Bernoulli, Independent, Normal, kl_divergence

F = nn.functional
torch_reference = TorchReference(__name__)
needs_no_cuda = pytest.mark.skipif(mg.cuda.is_available(), reason="checks what happens without a usable CUDA device")


# --- autocast ---------------------------------------------------------------------------------


@pytest.fixture
def fresh_half_warning(monkeypatch):
    """The one-time float16/bfloat16 warning, not yet given in this test."""
    monkeypatch.setattr(mg.amp, "_warned_half_precision", [False])


def test_autocast_runs_the_region_unchanged_and_warns_once(fresh_half_warning):
    assert mg.autocast is mg.amp.autocast
    layer = nn.Linear(3, 2)
    x = mg.randn(4, 3)
    expected = layer(x)
    with pytest.warns(UserWarning, match="no float16 or bfloat16"):
        region = mg.autocast("cpu")  # PyTorch's default CPU dtype: bfloat16
    with region as entered:
        out = layer(x)
    assert entered is region and out.dtype == mg.float32
    np.testing.assert_array_equal(out.detach().numpy(), expected.detach().numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per process: no second warning
        with mg.amp.autocast(device_type="cpu", dtype="float16", cache_enabled=False):
            loss = layer(x.double().float()).sum()
        with mg.autocast("cpu", enabled=False):  # disabled: nothing to warn about
            pass
    loss.backward()
    assert layer.weight.grad.shape == (2, 3)


def test_autocast_as_decorator(fresh_half_warning):
    with pytest.warns(UserWarning):
        decorate = mg.autocast("cpu", dtype=np.float16)

    @decorate
    def double(x: mg.Tensor) -> mg.Tensor:
        return x * 2

    assert double(mg.tensor([1.0, 2.0], dtype=mg.float64)).dtype == mg.float64
    with pytest.raises(TypeError, match="requires a callable"):
        mg.autocast("cpu", enabled=False)(42)


def test_autocast_turns_itself_off_as_pytorch():
    with pytest.warns(UserWarning, match="target dtype is not supported"):
        region = mg.autocast("cpu", dtype=mg.float32)
    assert not region._enabled
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'tpu'"):
        mg.autocast("tpu")
    with pytest.raises(ValueError, match="of type `str`"):
        mg.autocast(0)
    assert mg.amp.is_autocast_available("cpu") and mg.amp.is_autocast_available("cuda")
    assert not mg.amp.is_autocast_available("mps")


@needs_no_cuda
def test_cuda_autocast_without_cuda_warns_and_disables():
    with pytest.warns(UserWarning, match="CUDA is not available. Disabling autocast"):
        region = mg.autocast("cuda")
    assert not region._enabled and region.fast_dtype is mg.float16


def test_custom_fwd_and_bwd_leave_the_function_as_it_is():
    def forward(ctx, x):
        return x

    assert mg.amp.custom_fwd(forward, device_type="cuda") is forward
    assert mg.amp.custom_fwd(device_type="cpu", cast_inputs=mg.float32)(forward) is forward
    assert mg.amp.custom_bwd(forward, device_type="cuda") is forward
    assert mg.amp.custom_bwd(device_type="cuda")(forward) is forward
    with pytest.raises(ValueError, match="of type `str`"):
        mg.amp.custom_fwd(forward, device_type=None)


def test_cuda_amp_is_importable_and_deprecated(fresh_half_warning):
    from minigrad.cuda.amp import GradScaler, autocast, custom_bwd, custom_fwd

    assert importlib.import_module("minigrad.cuda.amp") is mg.cuda.amp
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        region = autocast()
        scaler = GradScaler(init_scale=4.0, enabled=mg.cuda.is_available())
        custom_bwd(custom_fwd(lambda ctx, x: x))
    assert sum(issubclass(w.category, FutureWarning) for w in caught) == 4
    assert isinstance(region, mg.amp.autocast) and region.device == "cuda" and region.fast_dtype == "float16"
    assert isinstance(scaler, mg.amp.GradScaler) and scaler.get_scale() == (4.0 if mg.cuda.is_available() else 1.0)
    assert mg.cuda.is_bf16_supported() is False


# --- GradScaler ---------------------------------------------------------------------------------


def _scaled_training(lib, device: str, explicit_unscale: bool, data: dict) -> dict:
    """The AMP loop of PyTorch's docs on a small MLP, in lib (torch or minigrad): a non-finite loss
    at step 3 makes step() skip and update() back off; growth_interval 2 makes the scale grow."""
    model = lib.nn.Sequential(lib.nn.Linear(5, 4), lib.nn.Tanh(), lib.nn.Linear(4, 3))
    with lib.no_grad():
        for p, value in zip(model.parameters(), data["params"], strict=True):
            p.copy_(lib.tensor(value))
    model = model.to(device)
    opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scaler = lib.amp.GradScaler(device, init_scale=2.0**12, growth_interval=2)
    x, y = lib.tensor(data["x"], device=device), lib.tensor(data["y"], device=device)
    scales, norms = [], []
    for step in range(7):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        if step == 3:
            loss = loss * math.inf
        scaler.scale(loss).backward()
        if explicit_unscale:
            scaler.unscale_(opt)
            norms.append(float(lib.nn.utils.clip_grad_norm_(model.parameters(), 0.5)))
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale())
    state = scaler.state_dict()
    result = {f"param{i}": p.detach().cpu().numpy() for i, p in enumerate(model.parameters())}
    result.update(scales=np.array(scales), tracker=np.array(state["_growth_tracker"]), norms=np.array(norms))
    return result


@pytest.mark.parametrize("explicit_unscale", [True, False])
def test_grad_scaler_training_matches_torch(device, explicit_unscale):
    rng = np.random.default_rng(1)
    shapes = [(4, 5), (4,), (3, 4), (3,)]
    data = {"params": [rng.standard_normal(s).astype(np.float32) * 0.5 for s in shapes],
            "x": rng.standard_normal((16, 5)).astype(np.float32), "y": rng.standard_normal((16, 3)).astype(np.float32)}
    want = torch_reference(f"grad_scaler/unscale={explicit_unscale}",
                           lambda torch: _scaled_training(torch, "cpu", explicit_unscale, data))
    got = _scaled_training(mg, device, explicit_unscale, data)
    assert got.keys() == want.keys()
    np.testing.assert_array_equal(got["scales"], want["scales"])  # 4096, 8192, 8192, 4096 (skipped), ...
    np.testing.assert_array_equal(got["tracker"], want["tracker"])
    for name in got:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=1e-6, err_msg=name)


def _model_and_optimizer() -> tuple[nn.Module, mg.optim.Optimizer]:
    model = nn.Linear(2, 1)
    return model, mg.optim.SGD(model.parameters(), lr=0.1)


def test_grad_scaler_unscales_skips_and_grows():
    model, opt = _model_and_optimizer()
    scaler = mg.amp.GradScaler("cpu", init_scale=8.0, growth_factor=4.0, backoff_factor=0.25, growth_interval=1)
    assert scaler.is_enabled() and scaler.get_scale() == 8.0
    loss = model(mg.ones(1, 2)).sum()
    scaled = scaler.scale(loss)
    np.testing.assert_allclose(scaled.item(), 8 * loss.item(), rtol=1e-6)
    scaled.backward()
    scaler.unscale_(opt)
    np.testing.assert_allclose(model.weight.grad.numpy(), [[1.0, 1.0]])
    before = model.weight.detach().numpy().copy()
    scaler.step(opt)
    scaler.update()
    np.testing.assert_allclose(model.weight.detach().numpy(), before - 0.1)
    assert scaler.get_scale() == 32.0  # grown after one clean step
    opt.zero_grad()
    scaler.scale(model(mg.tensor([[math.nan, 1.0]])).sum()).backward()
    assert scaler.step(opt) is None  # a NaN gradient: skipped
    scaler.update()
    np.testing.assert_allclose(model.weight.detach().numpy(), before - 0.1)
    assert scaler.get_scale() == 8.0
    # lists, tuples and other iterables of outputs, nested
    a, b = mg.tensor([1.0]), mg.tensor([2.0])
    pair = scaler.scale((a, [b]))
    assert isinstance(pair, tuple) and isinstance(pair[1], list) and pair[1][0].item() == 16.0
    assert [t.item() for t in scaler.scale(t for t in (a, b))] == [8.0, 16.0]


def test_grad_scaler_keeps_a_float32_scale():
    model, opt = _model_and_optimizer()
    scaler = mg.amp.GradScaler("cpu", init_scale=2.0**127, growth_interval=1)
    scaler.scale(model(mg.ones(1, 2)).sum()).backward()
    scaler.step(opt)
    scaler.update()
    assert scaler.get_scale() == 2.0**127  # 2**128 overflows float32: not grown
    scaler.update(0.1)
    assert scaler.get_scale() == float(np.float32(0.1))
    scaler.update(mg.tensor(3.0))
    assert scaler.get_scale() == 3.0


def test_grad_scaler_state_dict_round_trip():
    model, opt = _model_and_optimizer()
    scaler = mg.amp.GradScaler("cpu", init_scale=16.0, growth_interval=3)
    scaler.scale(model(mg.ones(1, 2)).sum()).backward()
    scaler.step(opt)
    scaler.update()
    state = scaler.state_dict()
    assert state == {"scale": 16.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 3,
                     "_growth_tracker": 1}
    other = mg.amp.GradScaler("cpu")
    other.load_state_dict(state)
    assert other.state_dict() == state
    other.set_growth_factor(3.0)
    other.set_backoff_factor(0.125)
    other.set_growth_interval(7)
    assert (other.get_growth_factor(), other.get_backoff_factor(), other.get_growth_interval()) == (3.0, 0.125, 7)
    with pytest.raises(RuntimeError, match="state dict is empty"):
        other.load_state_dict({})


def test_disabled_grad_scaler_passes_everything_through():
    model, opt = _model_and_optimizer()
    scaler = mg.amp.GradScaler("cpu", growth_factor=0.5, enabled=False)  # not checked when disabled, as PyTorch
    loss = model(mg.ones(1, 2)).sum()
    assert scaler.scale(loss) is loss
    loss.backward()
    scaler.unscale_(opt)
    before = model.weight.detach().numpy().copy()
    scaler.step(opt)
    scaler.update()
    np.testing.assert_allclose(model.weight.detach().numpy(), before - 0.1)
    assert not scaler.is_enabled() and scaler.get_scale() == 1.0 and scaler.state_dict() == {}
    scaler.load_state_dict({})


@needs_no_cuda
def test_cuda_grad_scaler_without_cuda_warns_and_disables():
    with pytest.warns(UserWarning, match="CUDA is not available.  Disabling"):
        scaler = mg.amp.GradScaler()
    assert not scaler.is_enabled() and scaler.get_scale() == 1.0 and scaler.state_dict() == {}


def test_grad_scaler_refuses_misuse():
    with pytest.raises(AssertionError, match="growth factor must be > 1.0"):
        mg.amp.GradScaler("cpu", growth_factor=1.0)
    with pytest.raises(AssertionError, match="backoff factor must be < 1.0"):
        mg.amp.GradScaler("cpu", backoff_factor=1.0)
    model, opt = _model_and_optimizer()
    scaler = mg.amp.GradScaler("cpu")
    for call in (lambda: scaler.step(opt), lambda: scaler.unscale_(opt), scaler.update):
        with pytest.raises(AssertionError, match="did not use scaler.scale"):
            call()
    with pytest.raises(ValueError, match="Tensor or an iterable of Tensors"):
        scaler.scale(3.0)
    scaler.scale(model(mg.ones(1, 2)).sum()).backward()
    with pytest.raises(AssertionError, match="No inf checks were recorded prior to update"):
        scaler.update()
    with pytest.raises(RuntimeError, match="Closure use is not currently supported"):
        scaler.step(opt, closure=lambda: None)
    scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="already been called on this optimizer"):
        scaler.unscale_(opt)
    scaler.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(opt)
    with pytest.raises(RuntimeError, match="being called after step"):
        scaler.unscale_(opt)
    for bad in (2, mg.tensor([1.0, 2.0]), mg.tensor(1.0, requires_grad=True)):
        with pytest.raises(AssertionError, match="new_scale should be a float"):
            scaler.update(bad)
    scaler.update()
    no_grads = mg.optim.SGD([nn.Parameter(mg.zeros(2))], lr=0.1)
    with pytest.raises(AssertionError, match="No inf checks were recorded for this optimizer"):
        scaler.step(no_grads)


# --- F.upsample, F.upsample_nearest, F.upsample_bilinear ---------------------------------------


UPSAMPLE_CALLS = {
    "upsample/nearest": lambda F, x: F.upsample(x, scale_factor=2),
    "upsample/bilinear": lambda F, x: F.upsample(x, size=(5, 7), mode="bilinear", align_corners=False),
    "upsample_nearest": lambda F, x: F.upsample_nearest(x, size=(6, 5)),
    "upsample_bilinear": lambda F, x: F.upsample_bilinear(x, scale_factor=2),
}


@pytest.mark.parametrize("name", list(UPSAMPLE_CALLS))
def test_upsample_aliases_match_torch(name):
    x = np.random.default_rng(2).standard_normal((2, 3, 3, 4))
    with pytest.warns(UserWarning):
        weights = np.random.default_rng(3).standard_normal(UPSAMPLE_CALLS[name](F, mg.tensor(x)).shape)

    def run(lib, functional):
        t = lib.tensor(x, requires_grad=True)
        with pytest.warns(UserWarning, match="is deprecated. Use `nn.functional.interpolate` instead"):
            y = UPSAMPLE_CALLS[name](functional, t)
        (y * lib.tensor(weights)).sum().backward()
        return {"y": y, "grad": t.grad}

    want = torch_reference(name, lambda torch: run(torch, torch.nn.functional))
    got = run(mg, F)
    for key in want:
        assert_matches(got[key].detach().numpy(), want[key], f"{name}/{key}")


def test_upsample_bilinear_is_the_layers_and_refuses_bad_input():
    x = mg.randn(1, 2, 3, 3)
    with pytest.warns(UserWarning):
        y = F.upsample_bilinear(x, size=5)
    np.testing.assert_array_equal(y.numpy(), nn.UpsamplingBilinear2d(size=5)(x).numpy())
    with pytest.warns(UserWarning):
        np.testing.assert_array_equal(F.upsample_nearest(x, scale_factor=2).numpy(),
                                      nn.UpsamplingNearest2d(scale_factor=2)(x).numpy())
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="needs a 4-D input"):
        F.upsample_bilinear(mg.randn(1, 2, 3), scale_factor=2)
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.upsample(x)


# --- F.gumbel_softmax ----------------------------------------------------------------------------


def test_gumbel_softmax_properties():
    logits = mg.tensor(np.random.default_rng(4).standard_normal((6, 5)), dtype=mg.float32, requires_grad=True)
    mg.manual_seed(7)
    soft = F.gumbel_softmax(logits, tau=0.5)
    mg.manual_seed(7)
    hard = F.gumbel_softmax(logits, tau=0.5, hard=True)
    assert soft.shape == hard.shape == (6, 5) and soft.dtype == mg.float32
    soft_values, hard_values = soft.detach().numpy(), hard.detach().numpy()
    np.testing.assert_allclose(soft_values.sum(-1), 1.0, rtol=1e-6)
    assert ((soft_values > 0) & (soft_values < 1)).all()
    one_hot = np.eye(5)[soft_values.argmax(-1)]  # the same noise: the soft sample's argmax
    np.testing.assert_allclose(hard_values, one_hot, atol=1e-6)
    weights = mg.tensor(np.random.default_rng(5).standard_normal((6, 5)), dtype=mg.float32)
    (soft_grad,) = mg.autograd.grad((soft * weights).sum(), [logits])
    (hard_grad,) = mg.autograd.grad((hard * weights).sum(), [logits])
    np.testing.assert_allclose(hard_grad.numpy(), soft_grad.numpy(), rtol=1e-6, atol=1e-7)  # straight through
    columns = F.gumbel_softmax(logits, hard=True, dim=0)
    np.testing.assert_allclose(columns.detach().sum(0).numpy(), 1.0, atol=1e-6)
    mg.manual_seed(7)
    np.testing.assert_array_equal(F.gumbel_softmax(logits, tau=0.5).detach().numpy(), soft_values)


@pytest.mark.parametrize("hard", [False, True])
def test_gumbel_softmax_matches_torch_on_the_same_noise(monkeypatch, hard):
    rng = np.random.default_rng(6)
    logits, noise = rng.standard_normal((4, 6)), rng.exponential(size=(4, 6))
    weights = rng.standard_normal((4, 6))

    def run(lib, functional):
        t = lib.tensor(logits, requires_grad=True)
        y = functional.gumbel_softmax(t, tau=0.7, hard=hard, dim=-1)
        (y * lib.tensor(weights)).sum().backward()
        return {"y": y, "grad": t.grad}

    def with_torch(torch):
        from unittest import mock

        with mock.patch.object(torch.Tensor, "exponential_", lambda self, *a, **k: self.copy_(torch.tensor(noise))):
            return run(torch, torch.nn.functional)

    want = torch_reference(f"gumbel_softmax/hard={hard}", with_torch)
    monkeypatch.setattr(mg.Tensor, "exponential_", lambda self, *a, **k: self.copy_(mg.tensor(noise)))
    got = run(mg, F)
    for key in want:
        assert_matches(got[key].detach().numpy(), want[key], f"gumbel_softmax/{key}")


def test_gumbel_softmax_refuses_bad_input():
    with pytest.raises(TypeError, match="floating-point"):
        F.gumbel_softmax(mg.tensor([1, 2]))
    with pytest.raises(IndexError, match="out of range"):
        F.gumbel_softmax(mg.randn(2, 3), dim=2)
    with pytest.warns(UserWarning, match="`eps` parameter is deprecated"):
        F.gumbel_softmax(mg.randn(2, 3), eps=1e-5)


# --- autograd.function.once_differentiable -------------------------------------------------------


def test_once_differentiable_custom_function():
    from minigrad.autograd import Function
    from minigrad.autograd.function import Function as FunctionAgain
    from minigrad.autograd.function import FunctionCtx, once_differentiable

    assert FunctionAgain is Function and FunctionCtx is mg.autograd.FunctionCtx
    assert importlib.import_module("minigrad.autograd.function") is mg.autograd.function

    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        @once_differentiable
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 3 * x**2 * grad

    x = mg.tensor([1.0, -2.0, 0.5], requires_grad=True)
    Cube.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0, 0.75])


# --- distributions.Independent --------------------------------------------------------------------


def test_independent_matches_torch():
    rng = np.random.default_rng(8)
    loc, scale = rng.standard_normal((2, 3, 4)), rng.uniform(0.5, 2.0, (2, 3, 4))
    loc2, scale2 = rng.standard_normal((2, 3, 4)), rng.uniform(0.5, 2.0, (2, 3, 4))
    value = rng.standard_normal((5, 2, 3, 4))
    probs, bits = rng.uniform(0.1, 0.9, (3, 4)), rng.integers(0, 2, (2, 3, 4)).astype(np.float64)

    def run(lib, dists):
        out = {}
        for n in range(4):
            d = dists.Independent(dists.Normal(lib.tensor(loc), lib.tensor(scale)), n)
            q = dists.Independent(dists.Normal(lib.tensor(loc2), lib.tensor(scale2)), n)
            out.update({f"normal{n}/batch_shape": np.array(d.batch_shape),
                        f"normal{n}/event_shape": np.array(d.event_shape),
                        f"normal{n}/log_prob": d.log_prob(lib.tensor(value)), f"normal{n}/entropy": d.entropy(),
                        f"normal{n}/kl": dists.kl_divergence(d, q)})
        b = dists.Independent(dists.Bernoulli(probs=lib.tensor(probs)), 2)
        out.update({"bernoulli/log_prob": b.log_prob(lib.tensor(bits)), "bernoulli/entropy": b.entropy(),
                    "bernoulli/mean": b.mean, "bernoulli/variance": b.variance})
        return out

    want = torch_reference("independent", lambda torch: run(torch, torch.distributions))
    got = run(mg, mg.distributions)
    assert got.keys() == want.keys()
    for key, value_ in got.items():
        assert_matches(np.asarray(value_.numpy() if isinstance(value_, mg.Tensor) else value_), want[key], key)


def test_independent_delegates_and_refuses_bad_arguments():
    loc = mg.zeros(3, 2, requires_grad=True)
    d = Independent(Normal(loc, mg.ones(3, 2)), 1)
    assert d.has_rsample and not d.has_enumerate_support
    assert repr(d).startswith("Independent(Normal(") and repr(d).endswith(", 1)")
    assert d.sample((4,)).shape == (4, 3, 2) and not d.sample().requires_grad
    d.rsample((5,)).sum().backward()
    np.testing.assert_array_equal(loc.grad.numpy(), np.full((3, 2), 5.0))
    assert d.mean is d.base_dist.mean and d.mode.shape == (3, 2) and d.stddev.shape == (3, 2)
    assert d.support.check(mg.zeros(3, 2)).tolist() == [True, True, True]
    with pytest.raises(ValueError, match="not broadcastable"):  # the base distribution's check, as PyTorch's
        d.log_prob(mg.zeros(3, 5))
    coin = Independent(Bernoulli(probs=mg.tensor([0.5, 0.25])), 0)
    assert coin.has_enumerate_support and coin.enumerate_support().shape == (2, 2)
    with pytest.raises(NotImplementedError, match="cartesian product"):
        Independent(Bernoulli(probs=mg.tensor([0.5, 0.25])), 1).enumerate_support()
    with pytest.raises(ValueError, match="reinterpreted_batch_ndims <= len"):
        Independent(Normal(mg.zeros(3), mg.ones(3)), 2)
    with pytest.raises(ValueError, match=">= 0"):
        Independent(Normal(mg.zeros(3), mg.ones(3)), -1)
    with pytest.raises(NotImplementedError, match="different reinterpreted_batch_ndims"):
        kl_divergence(d, Independent(Normal(mg.zeros(3, 2), mg.ones(3, 2)), 2))


# --- nn.utils: get_total_norm, clip_grads_with_norm_, clip_grad_norm ------------------------------


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_total_norm_and_clipping_match_torch(norm_type):
    rng = np.random.default_rng(9)
    grads = [rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (4,), (2, 2, 2)]]

    def run(lib, utils):
        params = [lib.zeros(g.shape, requires_grad=True) for g in grads]
        for p, g in zip(params, grads, strict=True):
            p.grad = lib.tensor(g)
        total = utils.get_total_norm([p.grad for p in params], norm_type)
        utils.clip_grads_with_norm_(params, 0.75, total)
        return {"total": total, **{f"grad{i}": p.grad for i, p in enumerate(params)}}

    want = torch_reference(f"clip/{norm_type}", lambda torch: run(torch, torch.nn.utils))
    got = run(mg, nn.utils)
    for key in want:
        np.testing.assert_allclose(got[key].numpy(), want[key], rtol=1e-6, atol=1e-7, err_msg=key)


def test_clip_grad_norm_variants():
    p = nn.Parameter(mg.zeros(3))
    p.grad = mg.tensor([3.0, 4.0, 0.0])
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        total = nn.utils.clip_grad_norm(p, 1.0)
    assert total.item() == 5.0
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8, 0.0], rtol=1e-5)
    assert nn.utils.get_total_norm([]).item() == 0.0
    p.grad = mg.tensor([math.nan, 1.0, 0.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.get_total_norm([p.grad], error_if_nonfinite=True)
    nn.utils.clip_grad_norm_([p], 1.0)  # a NaN norm makes every gradient NaN, as PyTorch's
    assert np.isnan(p.grad.numpy()).all()


# --- nn.functional's in-place activations and *_with_indices ----------------------------------------


IN_PLACE = {
    "relu_": (F.relu_, F.relu, ()),
    "elu_": (F.elu_, F.elu, (0.5,)),
    "leaky_relu_": (F.leaky_relu_, F.leaky_relu, (0.2,)),
    "hardtanh_": (F.hardtanh_, F.hardtanh, (-0.5, 0.5)),
    "selu_": (F.selu_, F.selu, ()),
    "celu_": (F.celu_, F.celu, (2.0,)),
    "threshold_": (F.threshold_, F.threshold, (0.1, -3.0)),
}


@pytest.mark.parametrize("name", list(IN_PLACE))
def test_in_place_activations(name):
    in_place, out_of_place, args = IN_PLACE[name]
    x = mg.tensor(np.random.default_rng(10).standard_normal(8), dtype=mg.float32)
    expected = out_of_place(x, *args).numpy()
    assert in_place(x, *args) is x
    np.testing.assert_array_equal(x.numpy(), expected)
    # integer tensors: relu_, hardtanh_ and threshold_ clamp them as PyTorch; bool is refused by all
    with pytest.raises(TypeError, match="floating-point"):
        in_place(mg.tensor([True, False]), *args)
    if name not in ("relu_", "hardtanh_", "threshold_"):
        with pytest.raises(NotImplementedError, match="floating-point"):
            in_place(mg.tensor([1, -1]), *args)


def test_top_level_in_place_activations_are_nn_functionals():
    assert (mg.selu_, mg.celu_, mg.threshold_) == (F.selu_, F.celu_, F.threshold_)


def test_pooling_with_indices_forms():
    x = mg.tensor(np.random.default_rng(11).standard_normal((2, 3, 6, 6)), dtype=mg.float32)
    cases = [
        (F.max_pool2d_with_indices(x, 2, return_indices=False), F.max_pool2d(x, 2, return_indices=True)),
        (F.max_pool1d_with_indices(x[:, :, 0], 3, 2), F.max_pool1d(x[:, :, 0], 3, 2, return_indices=True)),
        (F.adaptive_max_pool2d_with_indices(x, (4, 3)), F.adaptive_max_pool2d(x, (4, 3), return_indices=True)),
    ]
    for got, want in cases:
        assert isinstance(got, tuple) and len(got) == 2
        np.testing.assert_array_equal(got[0].numpy(), want[0].numpy())
        np.testing.assert_array_equal(got[1].numpy(), want[1].numpy())
    with pytest.raises(TypeError, match="floating-point"):
        F.max_pool1d_with_indices(mg.tensor([[[1, 2, 3]]]), 2)


def test_half_precision_names_exist_for_autocast_and_are_refused_by_tensors(fresh_half_warning):
    """Course code writes torch.autocast(device_type="cpu", dtype=torch.bfloat16): the names exist
    (they raised AttributeError) and autocast takes them; a tensor of either is a TypeError."""
    assert mg.half is mg.float16 and repr(mg.bfloat16) == "minigrad.bfloat16"
    assert mg.float32 != mg.float16 and mg.ones(1).dtype != mg.bfloat16
    with pytest.warns(UserWarning, match="no float16 or bfloat16"):
        region = mg.autocast(device_type="cpu", dtype=mg.bfloat16)
    assert not mg.is_autocast_enabled("cpu") and mg.get_autocast_dtype("cpu") is mg.bfloat16
    with region:
        assert mg.is_autocast_enabled("cpu") and not mg.is_autocast_enabled()  # None: cuda, as PyTorch
        with mg.autocast("cpu", enabled=False):
            assert not mg.is_autocast_enabled("cpu")
        assert (mg.ones(2) @ mg.ones(2)).dtype == mg.float32
    assert not mg.is_autocast_enabled("cpu")
    assert mg.get_autocast_dtype("cuda") is mg.float16

    @mg.autocast("cpu")
    def inside() -> bool:
        return mg.is_autocast_enabled("cpu")

    assert inside() and not mg.is_autocast_enabled("cpu")
    for make in (lambda: mg.zeros(2, dtype=mg.bfloat16), lambda: mg.ones(2).to(mg.float16),
                 lambda: mg.tensor([1.0], dtype=mg.half), lambda: mg.ones(2).bfloat16(),
                 lambda: nn.Linear(2, 2).to(mg.bfloat16), lambda: nn.Linear(2, 2).bfloat16()):
        with pytest.raises(TypeError, match="bfloat16|float16"):
            make()
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'xla'"):
        mg.get_autocast_dtype("xla")
