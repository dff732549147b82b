"""Porting leftovers, each a small gap earlier rounds found; every program runs on both libraries
(`program(lib)`, lib minigrad or torch) and is compared with PyTorch's results (live, or recorded in
tests/fixtures/torch_reference/test_porting_leftovers.npz). Covers: torch.cpu.amp's deprecated
autocast and GradScaler (FutureWarning, the amp classes for "cpu"; torch.cuda.amp's still
importable); the 3-D padding layers (ZeroPad3d, ConstantPad3d, ReflectionPad3d, ReplicationPad3d,
CircularPad3d: values, reprs, exception classes, float64 finite-difference gradients) and the
1-D/2-D families; spectral_norm's dim=1 for ConvTranspose3d (both forms); PyTorch's exception
classes for Embedding's padding_idx out of range, integer logsigmoid/histc/histogram, integer
attention masks, TensorDataset size mismatches and Generator().manual_seed of a non-integer."""

import importlib
import warnings

import numpy as np
import pytest
from gradcheck_utils import assert_grad_close, numerical_grad
from parity import check_program, mistakes_program
from torch_reference import TorchReference

import minigrad

torch_reference = TorchReference(__name__)


def check(key, program, rtol=1e-9):
    """program(minigrad)'s results against program(torch)'s (parity.check_program)."""
    check_program(torch_reference, key, program, rtol)



# ------------------------------------------------------------------- torch.cpu.amp
def _cpu_amp_program(lib):
    """The deprecated torch.cpu.amp forms: their FutureWarnings, the device and dtype they give
    the amp classes, and a scaled training step."""
    cpu_amp = importlib.import_module(f"{lib.__name__}.cpu.amp")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        region = cpu_amp.autocast()
        scaler = cpu_amp.GradScaler(init_scale=8.0, growth_interval=1)
        off = cpu_amp.autocast(enabled=False)
    futures = [str(w.message) for w in caught if issubclass(w.category, FutureWarning)]
    with region:
        enabled = lib.is_autocast_enabled("cpu")
    w = lib.tensor([1.0, -2.0], requires_grad=True)
    opt = lib.optim.SGD([w], lr=0.1)
    scaler.scale((w**2).sum()).backward()
    scaler.step(opt)
    scaler.update()
    return {
        "futures": np.array(len(futures)),
        "deprecated": np.array(["is deprecated" in m and ".cpu.amp." in m for m in futures]),
        "classes": np.array([isinstance(region, lib.amp.autocast), isinstance(scaler, lib.amp.GradScaler)]),
        "device": np.array(region.device), "dtype": np.array(str(region.fast_dtype).split(".")[-1]),
        "enabled": np.array([enabled, off._enabled, lib.is_autocast_enabled("cpu")]),
        "w": w, "scale": np.array(scaler.get_scale()),
    }


def test_cpu_amp_deprecated_forms_as_torch():
    check("cpu_amp", _cpu_amp_program)
    from minigrad.cpu.amp import GradScaler, autocast
    from minigrad.cuda.amp import GradScaler as CudaGradScaler
    from minigrad.cuda.amp import autocast as cuda_autocast

    assert importlib.import_module("minigrad.cpu.amp") is minigrad.cpu.amp
    assert autocast.__module__ == "minigrad._cpu_amp" and autocast is not cuda_autocast
    assert issubclass(GradScaler, minigrad.amp.GradScaler) and GradScaler is not CudaGradScaler


# ------------------------------------------------------------------- padding layers
_PAD_LAYERS = {
    "ZeroPad3d": lambda nn: nn.ZeroPad3d((1, 0, 2, 1, 0, 1)),
    "ConstantPad3d": lambda nn: nn.ConstantPad3d(1, 2.5),
    "ReflectionPad3d": lambda nn: nn.ReflectionPad3d((1, 2, 0, 1, 2, 0)),
    "ReplicationPad3d": lambda nn: nn.ReplicationPad3d(2),
    "CircularPad3d": lambda nn: nn.CircularPad3d((1, 2, 0, 1, 2, 1)),
    "ZeroPad3d_crop": lambda nn: nn.ZeroPad3d((-1, 1, 0, -1, 1, 0)),
    "ZeroPad1d": lambda nn: nn.ZeroPad1d((2, 1)),
    "ConstantPad1d": lambda nn: nn.ConstantPad1d(2, -1.0),
    "CircularPad1d": lambda nn: nn.CircularPad1d(2),
    "ReflectionPad1d": lambda nn: nn.ReflectionPad1d((1, 2)),
    "ReplicationPad1d": lambda nn: nn.ReplicationPad1d(3),
    "ZeroPad2d": lambda nn: nn.ZeroPad2d(1),
    "ConstantPad2d": lambda nn: nn.ConstantPad2d((1, 0, 2, 1), 0.5),
    "CircularPad2d": lambda nn: nn.CircularPad2d((1, 2, 2, 0)),
    "ReflectionPad2d": lambda nn: nn.ReflectionPad2d(2),
    "ReplicationPad2d": lambda nn: nn.ReplicationPad2d((0, 1, 3, 2)),
}


def _padding_program(lib):
    """Each layer on a batched and an unbatched input: values, shapes, reprs, and the gradient of
    a weighted sum."""
    rng = np.random.default_rng(3)
    out = {}
    for name, make in _PAD_LAYERS.items():
        layer = make(lib.nn)
        dims = 3 if "3d" in name else 2 if "2d" in name else 1
        x = lib.tensor(rng.standard_normal((2, 2) + (4,) * dims), requires_grad=True)
        y = layer(x)
        (y * lib.tensor(rng.standard_normal(tuple(y.shape)))).sum().backward()
        out.update({f"{name}/y": y, f"{name}/grad": x.grad, f"{name}/repr": np.array(repr(layer)),
                    f"{name}/unbatched": layer(x[0]),
                    f"{name}/bases": np.array([isinstance(layer, lib.nn.Module),
                                               isinstance(layer, getattr(lib.nn, f"ConstantPad{dims}d"))])})
    return out


def test_padding_layers_as_torch():
    check("padding_layers", _padding_program)


def _padding_mistakes(lib):
    nn = lib.nn
    x5, x3 = lib.zeros(1, 2, 3, 3, 3), lib.zeros(2, 3, 3)
    return {
        "reflect_too_wide": (RuntimeError, lambda: nn.ReflectionPad3d(3)(x5)),
        "reflect_rank": (NotImplementedError, lambda: nn.ReflectionPad3d(1)(x3)),
        "replicate_rank": (NotImplementedError, lambda: nn.ReplicationPad3d(1)(lib.zeros(1, 1, 1, 2, 3, 3))),
        "circular_rank": (ValueError, lambda: nn.CircularPad3d(1)(x3)),
        "circular_rank_2d": (ValueError, lambda: nn.CircularPad2d(1)(lib.zeros(3, 3))),
        "circular_rank_1d": (ValueError, lambda: nn.CircularPad1d(1)(lib.zeros(1, 1, 2, 3))),
        "circular_wraps_twice": (RuntimeError, lambda: nn.CircularPad3d(5)(x5)),
        "reflect_2d_rank": (NotImplementedError, lambda: nn.ReflectionPad2d(1)(lib.zeros(3))),
        "pad_odd_widths": (RuntimeError, lambda: lib.nn.functional.pad(x5, (1, 2, 3))),
        "pad_bad_mode": (NotImplementedError, lambda: lib.nn.functional.pad(x5, (1, 1), "mirror")),
    }


def test_padding_mistakes_raise_as_torch():
    check("padding_mistakes", mistakes_program(_padding_mistakes))
    with pytest.raises(ValueError, match="6 widths"):  # minigrad checks the widths when built
        minigrad.nn.ReplicationPad3d((1, 2))


@pytest.mark.parametrize("name", ["ReflectionPad3d", "ReplicationPad3d", "CircularPad3d", "ConstantPad3d",
                                  "ZeroPad3d_crop"])
def test_padding_3d_gradients_match_finite_differences(name):
    layer = _PAD_LAYERS[name](minigrad.nn)
    rng = np.random.default_rng(4)
    data = rng.standard_normal((1, 2, 3, 4, 3))
    x = minigrad.tensor(data, requires_grad=True)
    weights = rng.standard_normal(tuple(layer(x).shape))
    (layer(x) * minigrad.tensor(weights)).sum().backward()

    def loss():
        return float((layer(minigrad.tensor(data)).numpy() * weights).sum())

    assert_grad_close(x.grad.numpy(), numerical_grad(loss, data), name=name)


# ------------------------------------------------------------------- spectral_norm of ConvTranspose3d
def _spectral_norm_program(lib):
    """spectral_norm (both forms) of transposed convolutions and a Conv3d: the normalised weight
    after a forward in training mode, with PyTorch's u and v (shaped by the default dim)."""
    out = {}
    layers = {"ct3": lambda: lib.nn.ConvTranspose3d(2, 3, 2), "ct1": lambda: lib.nn.ConvTranspose1d(2, 3, 2),
              "c3": lambda: lib.nn.Conv3d(2, 3, 2)}
    rng = np.random.default_rng(5)
    for name, make in layers.items():
        for form, wrap in (("old", lib.nn.utils.spectral_norm), ("param", lib.nn.utils.parametrizations.spectral_norm)):
            layer = make()
            with lib.no_grad():
                layer.weight.copy_(lib.tensor(rng.standard_normal(tuple(layer.weight.shape)), dtype=lib.float32))
            layer = wrap(layer)
            # the same start in both libraries: the old form iterates from u, the new one from v
            start = layer.weight_u if form == "old" else layer.parametrizations.weight[0]._v
            with lib.no_grad():
                start.copy_(lib.tensor(np.linspace(1, 2, start.shape[0]), dtype=lib.float32))
            u = layer.weight_u if form == "old" else layer.parametrizations.weight[0]._u
            x = lib.ones((1, 2) + (3,) * (len(layer.weight.shape) - 2))
            layer(x)
            out[f"{name}/{form}/u_shape"] = np.array(u.shape)
            out[f"{name}/{form}/weight"] = layer.weight
    return out


def test_spectral_norm_conv_transpose3d_as_torch():
    check("spectral_norm", _spectral_norm_program, rtol=1e-5)


# ------------------------------------------------------------------- exception classes
def _class_mistakes(lib):
    """Mistakes whose exception class earlier minigrad got wrong: name -> (PyTorch's class, mistake)."""
    F, nn = lib.nn.functional, lib.nn
    ints = lib.tensor([1, 2, 3])
    q = lib.zeros(3, 1, 4)
    return {
        "embedding_padding_idx_above": (AssertionError, lambda: nn.Embedding(5, 3, padding_idx=5)),
        "embedding_padding_idx_below": (AssertionError, lambda: nn.Embedding(5, 3, padding_idx=-6)),
        "embedding_bag_padding_idx": (AssertionError, lambda: nn.EmbeddingBag(5, 3, padding_idx=7)),
        "logsigmoid_int": (NotImplementedError, lambda: F.logsigmoid(ints)),
        "histc_int": (NotImplementedError, lambda: lib.histc(ints, bins=3)),
        "histc_int_method": (NotImplementedError, lambda: ints.histc(bins=3)),
        "histogram_int": (NotImplementedError, lambda: lib.histogram(ints, bins=3)),
        "mha_int_attn_mask": (AssertionError, lambda: nn.MultiheadAttention(4, 2)(
            q, q, q, attn_mask=lib.zeros(3, 3, dtype=lib.int64))),
        "mha_int_key_padding_mask": (AssertionError, lambda: nn.MultiheadAttention(4, 2)(
            q, q, q, key_padding_mask=lib.zeros(1, 3, dtype=lib.int64))),
        "tensor_dataset_sizes": (AssertionError, lambda: lib.utils.data.TensorDataset(lib.zeros(3), lib.zeros(4))),
        "generator_seed_float": (RuntimeError, lambda: lib.Generator().manual_seed(1.5)),
        "generator_seed_bool": (RuntimeError, lambda: lib.Generator().manual_seed(True)),
        "generator_seed_tensor": (RuntimeError, lambda: lib.Generator().manual_seed(lib.tensor(3))),
    }


def test_exception_classes_as_torch():
    check("class_mistakes", mistakes_program(_class_mistakes))


def test_new_classes_keep_the_old_handlers():
    """Each new class subclasses what minigrad raised before, so old handlers still catch it."""
    F = minigrad.nn.functional
    q = minigrad.zeros(3, 1, 4)
    old = {
        ValueError: [lambda: minigrad.nn.Embedding(5, 3, padding_idx=5),
                     lambda: minigrad.utils.data.TensorDataset(minigrad.zeros(3), minigrad.zeros(4)),
                     lambda: minigrad.nn.ReflectionPad3d(3)(minigrad.zeros(1, 2, 3, 3, 3))],
        TypeError: [lambda: F.logsigmoid(minigrad.tensor([1])), lambda: minigrad.histc(minigrad.tensor([1]), bins=2),
                    lambda: minigrad.nn.MultiheadAttention(4, 2)(q, q, q, attn_mask=minigrad.zeros(3, 3).long())],
    }
    for cls, mistakes in old.items():
        for mistake in mistakes:
            with pytest.raises(cls):
                mistake()
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        minigrad.utils.data.TensorDataset(minigrad.zeros(3), minigrad.zeros(4))
    assert minigrad.Generator().manual_seed(np.int64(3)).initial_seed() == 3  # numpy integers still taken


# ------------------------------------------------------------------- lazy layers
_LAZY = {
    "LazyConv1d": (lambda nn: nn.LazyConv1d(4, 3), (2, 3, 6)),
    "LazyConv2d": (lambda nn: nn.LazyConv2d(4, 3, padding=1, bias=False), (2, 3, 5, 5)),
    "LazyConv3d": (lambda nn: nn.LazyConv3d(3, 2, groups=3), (3, 4, 4, 4)),
    "LazyConvTranspose1d": (lambda nn: nn.LazyConvTranspose1d(4, 3, stride=2), (2, 3, 5)),
    "LazyConvTranspose2d": (lambda nn: nn.LazyConvTranspose2d(2, 2), (1, 3, 3, 3)),
    "LazyConvTranspose3d": (lambda nn: nn.LazyConvTranspose3d(2, 2), (1, 2, 2, 2, 2)),
    "LazyBatchNorm1d": (lambda nn: nn.LazyBatchNorm1d(), (4, 3)),
    "LazyBatchNorm2d": (lambda nn: nn.LazyBatchNorm2d(affine=False), (2, 3, 2, 2)),
    "LazyBatchNorm3d": (lambda nn: nn.LazyBatchNorm3d(momentum=None), (2, 3, 2, 2, 2)),
}


def _lazy_program(lib):
    """Each lazy layer: the uninitialised module's repr and state_dict keys, then a dry run, the
    plain class it became, its repr and parameter shapes, and an optimizer step built afterwards."""
    out = {}
    for name, (make, shape) in _LAZY.items():
        layer = make(lib.nn)
        out[f"{name}/before"] = np.array([repr(layer), *sorted(layer.state_dict())])
        x = lib.tensor(np.linspace(-1, 1, int(np.prod(shape))).reshape(shape), dtype=lib.float32)
        y = layer(x)
        shapes = [str(tuple(p.shape)) for p in layer.parameters()]
        if shapes:  # LazyBatchNorm2d(affine=False) has none
            opt = lib.optim.SGD(layer.parameters(), lr=0.1)
            with lib.no_grad():
                for p in layer.parameters():
                    p.fill_(0.5)
            layer(x).square().sum().backward()
            opt.step()
        out.update({f"{name}/after": np.array([type(layer).__name__, repr(layer), *sorted(layer.state_dict())]),
                    f"{name}/shape": np.array(y.shape), f"{name}/params": np.array(shapes),
                    f"{name}/stepped": np.array([float(p.detach().sum()) for p in layer.parameters()])})
    return out


def test_lazy_layers_as_torch():
    check("lazy_layers", _lazy_program, rtol=1e-5)


def _lazy_mistakes(lib):
    nn = lib.nn
    return {
        "conv_rank": (RuntimeError, lambda: nn.LazyConv2d(4, 3)(lib.zeros(3, 5))),
        "conv_groups": (ValueError, lambda: nn.LazyConv2d(4, 3, groups=2)(lib.zeros(1, 3, 5, 5))),
        "batch_norm_rank": (ValueError, lambda: nn.LazyBatchNorm2d()(lib.zeros(3, 5))),
    }


def test_lazy_mistakes_raise_as_torch():
    check("lazy_mistakes", mistakes_program(_lazy_mistakes))
