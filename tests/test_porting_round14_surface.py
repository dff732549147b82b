"""Porting round 14, the framework surface: names PyTorch users' training scripts, utilities and
notebooks touch. Every program runs on both libraries (`program(lib)`, lib minigrad or torch)
and is compared with PyTorch's results (live, or recorded in
tests/fixtures/torch_reference/test_porting_round14_surface.npz). Covers: the memory formats
(contiguous_format, channels_last, channels_last_3d, preserve_format) in contiguous,
is_contiguous, to, clone, the *_like factories and Module.to, with the strides they give;
minigrad.strided and Tensor.layout; minigrad.version; pin_memory/is_pinned; resolve_conj,
resolve_neg, is_conj, is_neg; is_anomaly_check_nan_enabled; set_warn_always; default_generator;
set_default_device/get_default_device; empty_strided; minigrad.multiprocessing (spawn); and
nn.UninitializedParameter / UninitializedBuffer in the lazy layers (placeholders, errors,
materialisation on the first call and from load_state_dict)."""

import copy
import pickle
import warnings

import numpy as np
import pytest
import spawn_targets
from parity import caught_as, check_program, mistakes_program
from torch_reference import TorchReference

import minigrad

torch_reference = TorchReference(__name__)


def check(key, program, rtol=1e-9):
    """program(minigrad)'s results against program(torch)'s (parity.check_program)."""
    check_program(torch_reference, key, program, rtol)


def _name(obj):
    """A constant's repr without the library prefix: "channels_last" for torch.channels_last."""
    return repr(obj).split(".")[-1]



# ------------------------------------------------------------------- memory formats
def _nchw(lib, shape=(2, 3, 4, 5)):
    return lib.tensor(np.arange(np.prod(shape), dtype=np.float32).reshape(shape) / 7 - 3)


def _memory_format_program(lib):
    """contiguous/is_contiguous/to/clone and the *_like factories with each memory format: the
    strides, contiguity answers and values they give (a channels-last tensor's too)."""
    x = _nchw(lib)
    cl = x.contiguous(memory_format=lib.channels_last)
    x5 = _nchw(lib, (2, 3, 2, 3, 4))
    cl3 = x5.contiguous(memory_format=lib.channels_last_3d)
    pf = lib.preserve_format
    likes = {
        "zeros_like": lib.zeros_like(cl, memory_format=pf), "ones_like": lib.ones_like(cl, memory_format=pf),
        "empty_like": lib.empty_like(cl, memory_format=pf), "full_like": lib.full_like(cl, 2.0, memory_format=pf),
        "rand_like": lib.rand_like(cl, memory_format=pf), "randn_like": lib.randn_like(cl, memory_format=pf),
        "empty_like_contiguous": lib.empty_like(cl, memory_format=lib.contiguous_format),
        "zeros_like_cl": lib.zeros_like(x, memory_format=lib.channels_last),
        "zeros_like_permuted": lib.zeros_like(x.permute(0, 2, 3, 1), memory_format=pf),
        "zeros_like_sliced_cl": lib.zeros_like(cl[:, :, ::2], memory_format=pf),
        "zeros_like_sliced": lib.zeros_like(x[:, :, ::2], memory_format=pf),
        "clone_preserve": cl.clone(memory_format=pf),
        "clone_contiguous": cl.clone(memory_format=lib.contiguous_format),
        "top_clone_cl": lib.clone(x, memory_format=lib.channels_last),
        "to_cl": x.to(memory_format=lib.channels_last),
        "to_contiguous": cl.to(memory_format=lib.contiguous_format),
        "to_double_preserve": cl.to(lib.float64, memory_format=pf),
        "to_double_cl": x.to(lib.float64, memory_format=lib.channels_last),
        "cl3": cl3, "cl3_contiguous": cl3.contiguous(),
        "preserve_contiguous": x.contiguous(memory_format=pf),
    }
    out = {f"stride/{k}": np.array(v.stride()) for k, v in likes.items()}
    out["values/clone_preserve"] = likes["clone_preserve"]
    out["values/to_double_cl"] = likes["to_double_cl"]
    out["values/cl3"] = cl3
    out["values/full_like"] = likes["full_like"]
    out.update({
        "names": np.array([_name(f) for f in (lib.contiguous_format, lib.channels_last, lib.channels_last_3d,
                                              lib.preserve_format)]),
        "stride/cl": np.array(cl.stride()), "values/cl": cl,
        "same_object": np.array([cl.contiguous(memory_format=lib.channels_last) is cl, x.contiguous() is x,
                                 cl.to(memory_format=lib.channels_last) is cl]),
        "is_contiguous": np.array([
            x.is_contiguous(), x.is_contiguous(memory_format=lib.channels_last), cl.is_contiguous(),
            cl.is_contiguous(memory_format=lib.channels_last), cl.is_contiguous(memory_format=lib.contiguous_format),
            cl3.is_contiguous(memory_format=lib.channels_last_3d), cl3.is_contiguous(memory_format=lib.channels_last),
            x5.is_contiguous(memory_format=lib.channels_last_3d),
            lib.zeros(3, 4).is_contiguous(memory_format=lib.channels_last),
            lib.zeros(1, 3, 1, 1).is_contiguous(memory_format=lib.channels_last),
            lib.zeros(2, 1, 4, 5).is_contiguous(memory_format=lib.channels_last),
            lib.zeros(3).is_contiguous(memory_format=lib.preserve_format),
            x.permute(0, 2, 3, 1).is_contiguous(memory_format=lib.channels_last),
        ]),
        "types": np.array([isinstance(lib.channels_last, lib.memory_format), isinstance(lib.strided, lib.layout),
                           pickle.loads(pickle.dumps(lib.channels_last)) is lib.channels_last,
                           copy.deepcopy(lib.preserve_format) is lib.preserve_format,
                           lib.channels_last == lib.channels_last, lib.channels_last != lib.contiguous_format]),
    })
    # a channels-last input through a convolution, its gradient, and a model moved to channels-last
    w = lib.tensor(np.linspace(-1, 1, 4 * 3 * 3 * 3, dtype=np.float32).reshape(4, 3, 3, 3))
    xg = x.detach().clone().requires_grad_(True)
    y = xg.contiguous(memory_format=lib.channels_last)
    conv = lib.nn.functional.conv2d(y, w, padding=1)
    (conv * conv).sum().backward()
    out["conv"] = conv
    out["conv_row_major"] = lib.nn.functional.conv2d(x, w, padding=1)
    out["grad"] = xg.grad
    model = lib.nn.Conv2d(3, 4, 3)
    with lib.no_grad():
        model.weight.copy_(w)
        model.bias.fill_(0.25)
    moved = model.to(memory_format=lib.channels_last)
    opt = lib.optim.Adam(model.parameters(), lr=0.1)
    model(cl).square().mean().backward()
    opt.step()
    out.update({"module_to_returns_self": np.array(moved is model),
                "module_weight_stride": np.array(model.weight.stride()),
                "module_bias_stride": np.array(model.bias.stride()),
                "module_weight_is_cl": np.array(model.weight.is_contiguous(memory_format=lib.channels_last)),
                "module_weight": model.weight, "module_bias": model.bias})
    return out


def test_memory_formats_as_torch():
    check("memory_formats", _memory_format_program, rtol=1e-5)


def _memory_format_mistakes(lib):
    x3 = lib.zeros(2, 3, 4)
    x4 = lib.zeros(2, 3, 4, 5)
    return {
        "contiguous_cl_rank": (RuntimeError, lambda: x3.contiguous(memory_format=lib.channels_last)),
        "contiguous_cl3d_rank": (RuntimeError, lambda: x4.contiguous(memory_format=lib.channels_last_3d)),
        "contiguous_str": (TypeError, lambda: x4.contiguous(memory_format="channels_last")),
        "contiguous_layout": (TypeError, lambda: x4.contiguous(memory_format=lib.strided)),
        "is_contiguous_none": (TypeError, lambda: x4.is_contiguous(memory_format=None)),
        "zeros_like_rank": (RuntimeError, lambda: lib.zeros_like(x3, memory_format=lib.channels_last)),
        "clone_rank": (RuntimeError, lambda: x3.clone(memory_format=lib.channels_last)),
        "to_rank": (RuntimeError, lambda: x3.to(memory_format=lib.channels_last)),
        "module_rank": (RuntimeError, lambda: lib.nn.Conv3d(2, 2, 2).to(memory_format=lib.channels_last)),
        "module_rank_3d": (RuntimeError, lambda: lib.nn.Conv2d(2, 2, 2).to(memory_format=lib.channels_last_3d)),
        "new_memory_format": (TypeError, lambda: lib.memory_format()),
        "view_cl": (RuntimeError, lambda: x4.contiguous(memory_format=lib.channels_last).view(2, -1)),
    }


def test_memory_format_mistakes_raise_as_torch():
    check("memory_format_mistakes", mistakes_program(_memory_format_mistakes))


def test_memory_format_on_the_tape_and_reshape():
    """A channels-last copy stays differentiable, reshape copies where view cannot, and the layout
    survives save/load as values."""
    x = minigrad.randn(2, 3, 4, 5, requires_grad=True)
    y = x.contiguous(memory_format=minigrad.channels_last)
    assert y.grad_fn is not None and y.reshape(2, -1).shape == (2, 60)
    (y * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3, 4, 5), 2.0, np.float32))
    assert "channels_last" in minigrad._memory_format.__doc__ and "row-major" in minigrad.Tensor.contiguous.__doc__


# ------------------------------------------------------------------- layout, version, settings
def _surface_program(lib):
    """minigrad.strided and Tensor.layout, version, pin_memory/is_pinned, the lazy-conjugation
    and negation answers, anomaly check_nan and warn_always settings."""
    x = lib.tensor([1.0, -2.0, 3.0])
    out = {
        "layout": np.array([_name(x.layout), _name(lib.strided), str(x.layout is lib.strided)]),
        "version": np.array([isinstance(lib.version.__version__, str), lib.version.__version__ == lib.__version__,
                             (lib.version.cuda is None) == (not lib.cuda.is_available()),
                             isinstance(lib.version.git_version, str), lib.version.hip is None]),
        "conj_neg": np.array([x.resolve_conj() is x, x.resolve_neg() is x, x.is_conj(), x.is_neg()]),
        "is_pinned": np.array(x.is_pinned()),
    }
    raised = caught_as({"pin": (RuntimeError, x.pin_memory)})[0]
    out["pin_raises_without_cuda"] = np.array(bool(raised) == (not lib.cuda.is_available()))
    flags = [lib.is_anomaly_check_nan_enabled()]
    with lib.autograd.set_detect_anomaly(True, check_nan=False):
        flags += [lib.is_anomaly_check_nan_enabled(), lib.is_anomaly_enabled()]
    with lib.autograd.set_detect_anomaly(True):
        flags += [lib.is_anomaly_check_nan_enabled(), lib.is_anomaly_enabled()]
    flags += [lib.is_anomaly_check_nan_enabled(), lib.is_anomaly_enabled()]
    out["anomaly"] = np.array(flags)
    warn_flags = [lib.is_warn_always_enabled()]
    lib.set_warn_always(True)
    try:
        warn_flags.append(lib.is_warn_always_enabled())
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(2):
                lib.tensor([np.zeros(2), np.ones(2)])
        slow = [w for w in caught if "list of numpy.ndarrays" in str(w.message)]
        warn_flags.append(len(slow) >= 2)  # each time, not once (PyTorch's gives it twice a call)
    finally:
        lib.set_warn_always(False)
    warn_flags.append(lib.is_warn_always_enabled())
    out["warn_always"] = np.array(warn_flags)
    return out


def test_layout_version_and_settings_as_torch():
    check("surface", _surface_program)


def test_pin_memory_and_flush_denormal_here():
    x = minigrad.ones(3)
    if minigrad.cuda.is_available():
        assert x.pin_memory() is x and not x.is_pinned()
        with pytest.raises(RuntimeError, match="only dense CPU tensors"):
            x.cuda().pin_memory()
    else:
        with pytest.raises(RuntimeError, match="accelerator"):
            x.pin_memory()
    assert minigrad.set_flush_denormal(True) is False and minigrad.set_flush_denormal(False) is False
    for name in ("channels_last", "strided", "default_generator", "empty_strided", "set_default_device",
                 "get_default_device", "set_flush_denormal", "is_warn_always_enabled"):
        assert name in minigrad.__all__ and hasattr(minigrad, name)
    assert "multiprocessing" not in minigrad.__all__ and minigrad.multiprocessing.spawn and minigrad.version.cuda in (
        None, minigrad.build_info()["cuda_runtime"])


# ------------------------------------------------------------------- generator and device
def _generator_program(lib):
    """default_generator: seeding it seeds the global draws, its state restores them, and it is a
    Generator passable as generator=."""
    g = lib.default_generator
    same_obj = g.manual_seed(5) is g
    a = lib.rand(4)
    state = g.get_state()
    b = lib.rand(4)
    g.set_state(state)
    c = lib.rand(4)
    lib.manual_seed(5)
    d = lib.rand(4)
    e = lib.randn(3, generator=g)
    seed_ok = g.initial_seed() == 5 and lib.initial_seed() == 5
    return {"flags": np.array([isinstance(g, lib.Generator), same_obj, bool(lib.equal(b, c)), bool(lib.equal(a, d)),
                               not bool(lib.equal(a, b)), seed_ok, tuple(e.shape) == (3,)]),
            "mistake": caught_as({"float_seed": (RuntimeError, lambda: g.manual_seed(1.5))})}


def test_default_generator_as_torch():
    check("default_generator", _generator_program)


def _device_program(lib):
    """get_default_device/set_default_device with the CPU; factories then make CPU tensors."""
    before = repr(lib.get_default_device())
    lib.set_default_device("cpu")
    try:
        made = [str(t.device) for t in (lib.zeros(2), lib.tensor([1.0]), lib.arange(3), lib.randn(2),
                                        lib.nn.Linear(2, 2).weight)]
        during = str(lib.get_default_device())
    finally:
        lib.set_default_device(None)
    return {"before": np.array(before), "made": np.array(made), "during": np.array(during),
            "after": np.array(str(lib.get_default_device())),
            "mistake": caught_as({"bad_device": (RuntimeError, lambda: lib.set_default_device("foo"))})}


def test_default_device_as_torch():
    check("default_device", _device_program)
    assert minigrad.get_default_device() == "cpu"


def test_default_device_cuda_here():
    """Where CUDA is usable the factories land there; elsewhere asking for it says why at once."""
    if not minigrad.cuda.is_available():
        with pytest.raises(RuntimeError, match="not available"):
            minigrad.set_default_device("cuda")
        assert minigrad.get_default_device() == "cpu"
        return
    minigrad.set_default_device("cuda")
    try:
        assert minigrad.zeros(2).device == "cuda" and minigrad.nn.Linear(2, 2).weight.device == "cuda"
        assert minigrad.zeros(2, device="cpu").device == "cpu"
    finally:
        minigrad.set_default_device("cpu")


def _empty_strided_program(lib):
    shapes = {"row_major": ((2, 3), (3, 1)), "transposed": ((2, 3), (1, 2)), "column_major": ((2, 3, 4), (1, 2, 6)),
              "channels_last": ((2, 3, 4, 5), (60, 1, 15, 3))}
    out = {f"stride/{k}": np.array(lib.empty_strided(*v).stride()) for k, v in shapes.items()}
    t = lib.empty_strided((2, 3), (1, 2), dtype=lib.float64, requires_grad=True)
    out["props"] = np.array([str(t.dtype).split(".")[-1], str(t.requires_grad), str(t.is_contiguous()),
                             str(tuple(t.shape))])
    out["mistakes"] = caught_as({
        "rank": (RuntimeError, lambda: lib.empty_strided((2, 3), (3,))),
        "negative": (RuntimeError, lambda: lib.empty_strided((2, 3), (-1, 1))),
    })
    return out


def test_empty_strided_as_torch():
    check("empty_strided", _empty_strided_program)
    with pytest.raises(RuntimeError, match="not supported"):  # overlapping strides: PyTorch allows them
        minigrad.empty_strided((2, 3), (0, 1))


# ------------------------------------------------------------------- multiprocessing
def _multiprocessing_program(lib):
    mp = __import__(f"{lib.__name__}.multiprocessing", fromlist=["spawn"])
    names = ["get_context", "set_start_method", "get_start_method", "Process", "Queue", "SimpleQueue", "Pool",
             "Manager", "Event", "Lock", "cpu_count", "spawn", "start_processes", "ProcessContext",
             "ProcessRaisedException", "ProcessExitedException", "get_sharing_strategy", "set_sharing_strategy",
             "get_all_sharing_strategies"]
    return {"has": np.array([hasattr(mp, n) for n in names]),
            "strategy": np.array(mp.get_sharing_strategy()),
            "exceptions": np.array([issubclass(mp.ProcessRaisedException, Exception),
                                    issubclass(mp.ProcessExitedException, Exception)])}


def test_multiprocessing_api_as_torch():
    check("multiprocessing", _multiprocessing_program)


def test_multiprocessing_spawn_runs_ranks_and_reports_failures():
    import minigrad.multiprocessing as mp

    queue = mp.get_context("spawn").SimpleQueue()
    assert mp.spawn(spawn_targets.put_sum, args=(queue, 2.0), nprocs=2) is None
    assert sorted(queue.get() for _ in range(2)) == [(0, 6.0), (1, 6.0)]
    with pytest.raises(mp.ProcessRaisedException, match="rank one fails") as info:
        mp.spawn(spawn_targets.fail_on_rank_one, nprocs=2)
    assert info.value.error_index == 1
    context = mp.start_processes(spawn_targets.fail_on_rank_one, nprocs=1, join=False, start_method="fork")
    while not context.join():
        pass


# ------------------------------------------------------------------- uninitialised parameters
def _lazy_placeholder_program(lib):
    """The lazy layers' nn.UninitializedParameter / UninitializedBuffer placeholders: types,
    reprs, state_dict entries, Module.to, deepcopy, materialize, and in-place materialisation on
    the first call (an optimizer built before it trains the parameters)."""
    nn = lib.nn
    lin = nn.LazyLinear(3)
    bn = nn.LazyBatchNorm2d()
    out = {
        "types": np.array([isinstance(lin.weight, nn.Parameter), isinstance(lin.weight, nn.UninitializedParameter),
                           isinstance(lin.bias, nn.UninitializedParameter), lin.has_uninitialized_params(),
                           isinstance(bn.running_mean, nn.UninitializedBuffer), bn.has_uninitialized_params(),
                           nn.parameter.UninitializedParameter is nn.UninitializedParameter,
                           lin.weight.requires_grad, not bn.running_mean.requires_grad]),
        "reprs": np.array([repr(lin.weight), repr(bn.running_var), repr(nn.UninitializedBuffer()),
                           repr(nn.UninitializedParameter(requires_grad=False))]),
        "state_dict": np.array([f"{k}:{type(v).__name__}" for k, v in bn.state_dict().items()]),
        "deepcopy": np.array(type(copy.deepcopy(lin).weight).__name__),
        "to_double": np.array(str(lin.to(lib.float64).weight.dtype).split(".")[-1]),
        "device": np.array(str(lin.weight.device)),
    }
    p = nn.UninitializedParameter()
    p.materialize((2, 3))
    b = nn.UninitializedBuffer()
    b.materialize(4, dtype=lib.float64)
    out["materialized"] = np.array([type(p).__name__, str(tuple(p.shape)), str(p.requires_grad), type(b).__name__,
                                    str(tuple(b.shape)), str(b.dtype).split(".")[-1]])
    # an optimizer built before the dry run trains the materialized parameters
    model = nn.Sequential(nn.LazyLinear(4), nn.ReLU(), nn.LazyLinear(2))
    opt = lib.optim.SGD(model.parameters(), lr=0.1)
    x = lib.tensor(np.linspace(-1, 1, 15, dtype=np.float32).reshape(3, 5))
    model(x)
    with lib.no_grad():
        for i, q in enumerate(model.parameters()):
            q.copy_(lib.tensor(np.cos(np.arange(q.numel()) + i).reshape(tuple(q.shape)), dtype=q.dtype))
    model(x).square().sum().backward()
    opt.step()
    out["trained"] = np.array([float(q.detach().sum()) for q in opt.param_groups[0]["params"]])
    out["after"] = np.array([type(m).__name__ for m in model] + [str(m.has_uninitialized_params()) if
                                                                  hasattr(m, "has_uninitialized_params") else "-"
                                                                  for m in model])
    return out


def test_lazy_placeholders_as_torch():
    check("lazy_placeholders", _lazy_placeholder_program, rtol=1e-5)


def _lazy_mistakes(lib):
    nn = lib.nn
    lin = nn.LazyLinear(3)
    return {
        "shape": (RuntimeError, lambda: lin.weight.shape),
        "numel": (ValueError, lambda: lin.weight.numel()),
        "add": (ValueError, lambda: lin.weight + 1),
        "sum": (ValueError, lambda: lin.weight.sum()),
        "detach": (ValueError, lambda: lin.weight.detach()),
        "count": (ValueError, lambda: sum(q.numel() for q in lin.parameters())),
        "functional": (ValueError, lambda: nn.functional.linear(lib.zeros(2, 4), lin.weight)),
        "buffer": (ValueError, lambda: nn.LazyBatchNorm1d().running_mean * 2),
    }


def test_lazy_placeholder_mistakes_raise_as_torch():
    check("lazy_mistakes", mistakes_program(_lazy_mistakes))


def _lazy_load_program(lib):
    """load_state_dict into uninitialised lazy layers materializes them from the checkpoint's
    shapes; the first call then keeps the loaded values and turns them into the plain layers."""
    nn = lib.nn
    rng = np.random.default_rng(3)

    def filled(module):
        with lib.no_grad():
            for t in [*module.parameters(), *(b for b in module.buffers() if b.dtype == lib.float32)]:
                t.copy_(lib.tensor(rng.standard_normal(tuple(t.shape)) * 0.3 + 0.5, dtype=t.dtype))
        return module

    out = {}
    cases = {
        "LazyLinear": (nn.LazyLinear(3), filled(nn.Linear(5, 3)), (2, 5)),
        "LazyConv2d": (nn.LazyConv2d(4, 3, groups=2), filled(nn.Conv2d(6, 4, 3, groups=2)), (1, 6, 5, 5)),
        "LazyConvTranspose1d": (nn.LazyConvTranspose1d(2, 3), filled(nn.ConvTranspose1d(4, 2, 3)), (1, 4, 6)),
        "LazyBatchNorm2d": (nn.LazyBatchNorm2d(), filled(nn.BatchNorm2d(3)), (2, 3, 2, 2)),
    }
    for name, (lazy, source, shape) in cases.items():
        result = lazy.load_state_dict(source.state_dict())
        state = [type(lazy).__name__, str(lazy.has_uninitialized_params()), str(list(result.missing_keys)),
                 *(type(v).__name__ for v in lazy.state_dict().values())]
        lazy.eval()
        source.eval()
        x = lib.tensor(np.linspace(-2, 2, int(np.prod(shape)), dtype=np.float32).reshape(shape))
        y = lazy(x)
        out[f"{name}/state"] = np.array(state + [type(lazy).__name__])
        out[f"{name}/out"] = y
        out[f"{name}/same"] = np.array(bool(lib.allclose(y, source(x))))
    return out


def test_lazy_load_state_dict_as_torch():
    check("lazy_load", _lazy_load_program, rtol=1e-5)


def test_lazy_load_sizes_and_mismatch_here():
    """minigrad also records the input size a checkpoint gives (PyTorch leaves it 0 until the first
    call, and for the batch norms after it), and refuses a checkpoint whose known sizes disagree
    (PyTorch materializes it whatever the output size)."""
    lin = minigrad.nn.LazyLinear(3)
    lin.load_state_dict(minigrad.nn.Linear(5, 3).state_dict())
    assert lin.in_features == 5 and repr(lin) == "LazyLinear(in_features=5, out_features=3, bias=True)"
    bn = minigrad.nn.LazyBatchNorm1d()
    bn.load_state_dict(minigrad.nn.BatchNorm1d(4).state_dict())
    assert bn.num_features == 4
    with pytest.raises(RuntimeError, match="size mismatch for weight"):
        minigrad.nn.LazyLinear(3).load_state_dict(minigrad.nn.Linear(5, 4).state_dict())
    p = minigrad.nn.UninitializedParameter()
    q = pickle.loads(pickle.dumps(p))
    assert type(q) is minigrad.nn.UninitializedParameter and q.dtype == minigrad.float32
