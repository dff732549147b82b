"""torch.testing, torch.profiler and torch.jit as minigrad.testing, minigrad.profiler and minigrad.jit.

assert_close's outcomes and messages, make_tensor's argument errors and the profiler schedule's
actions are compared with PyTorch's (live, or recorded in
tests/fixtures/torch_reference/test_torch_namespaces.npz); make_tensor's values, the profiler on a
small CNN's training steps (ops, backward nodes, optimizer steps, ranges) and jit's
script/trace/save/load are checked on minigrad alone."""

import collections
import gzip
import json
import math
import sys
import time
import warnings

import numpy as np
import pytest
from parity import check_program, error_of
from torch_reference import TorchReference

import minigrad
import minigrad.jit
import minigrad.profiler
import minigrad.testing
from minigrad import autograd, nn

torch_reference = TorchReference(__name__)


def _normalized(message, lib):
    """A message with the library's names made neutral, so that minigrad's and PyTorch's compare."""
    return message.replace(repr(lib.Tensor), "<class 'Tensor'>").replace(f"{lib.__name__}.", "lib.")


def _outcomes(cases, lib):
    """"ExceptionType: message" (or "" for success) of each case, neutralized, as an array."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # assert_allclose is deprecated in both
        return np.array([_normalized(error_of(fn), lib) for fn in cases.values()])


# ------------------------------------------------------------------- testing.assert_close
def _assert_close_cases(lib):
    ac, t, f64 = lib.testing.assert_close, lib.tensor, lib.float64
    grid = lib.arange(6.0).reshape(2, 3)
    return {
        "float32": lambda: ac(t([1.0, 2.0, 3.0]), t([1.0, 2.5, 3.0])),
        "float32_within": lambda: ac(t([1.0, 2.0]), t([1.0, 2.0 + 1e-6])),
        "float64_within": lambda: ac(t([1.0, 2.0], dtype=f64), t([1.0, 2.0000001], dtype=f64)),
        "float64_outside": lambda: ac(t([1.0, 2.0], dtype=f64), t([1.0, 2.000001], dtype=f64)),
        "int": lambda: ac(t([1, 2, 3]), t([1, 2, 4])),
        "bool": lambda: ac(t([True, False]), t([True, True])),
        "shape": lambda: ac(lib.zeros(2, 3), lib.zeros(3, 2)),
        "dtype": lambda: ac(lib.zeros(2), lib.zeros(2, dtype=f64)),
        "dtype_unchecked": lambda: ac(lib.ones(2), lib.ones(2, dtype=f64), check_dtype=False),
        "int_float_unchecked": lambda: ac(t([1, 2]), t([1.0, 2.5]), check_dtype=False),
        "stride": lambda: ac(lib.ones(2, 3).t(), lib.ones(3, 2), check_stride=True),
        "stride_unchecked": lambda: ac(lib.ones(2, 3).t(), lib.ones(3, 2)),
        "scalar": lambda: ac(1.0, 1.1),
        "scalar_int": lambda: ac(1, 2),
        "scalar_types": lambda: ac(1, 1.0),
        "scalar_types_unchecked": lambda: ac(1, 1.0, check_dtype=False),
        "numpy_scalar": lambda: ac(np.float64(1.0), 1.0 + 1e-9),
        "zero_dim": lambda: ac(t(1.0), t(2.0)),
        "sequence_length": lambda: ac([1, 2], [1, 2, 3]),
        "sequence": lambda: ac([lib.ones(2), lib.zeros(2)], [lib.ones(2), lib.ones(2)]),
        "tuple_list": lambda: ac((1, 2), [1, 2]),
        "mapping": lambda: ac({"a": lib.ones(2)}, {"a": lib.zeros(2)}),
        "mapping_keys": lambda: ac({"a": 1}, {"b": 1}),
        "nested": lambda: ac({"a": [1.0, {"b": lib.ones(2)}]}, {"a": [1.0, {"b": lib.zeros(2)}]}),
        "nan": lambda: ac(t([math.nan]), t([math.nan])),
        "nan_equal": lambda: ac(t([math.nan, 1.0]), t([math.nan, 1.0]), equal_nan=True),
        "infinities": lambda: ac(t([math.inf]), t([-math.inf])),
        "same_infinity": lambda: ac(t([math.inf, 1.0]), t([math.inf, 1.0])),
        "zero_expected": lambda: ac(t([1.0]), t([0.0])),
        "numpy": lambda: ac(np.array([1.0, 2.0]), np.array([1.0, 3.0])),
        "tensor_and_numpy": lambda: ac(lib.ones(2), np.ones(2)),
        "tensor_and_list": lambda: ac(lib.ones(1), [1.0]),
        "strings": lambda: ac("a", "a"),
        "none": lambda: ac(None, None),
        "none_and_number": lambda: ac(None, 1),
        "booleans": lambda: ac(True, False),
        "requires_grad": lambda: ac(lib.ones(2, requires_grad=True), lib.ones(2)),
        "empty": lambda: ac(lib.zeros(0), lib.zeros(0)),
        "two_dims": lambda: ac(grid, grid + t([[0, 0, 0], [0, 1.0, 0]])),
        "many": lambda: ac(lib.arange(100.0), lib.arange(100.0) + 1),
        "msg": lambda: ac(lib.ones(2), lib.zeros(2), msg="custom"),
        "msg_callable": lambda: ac(lib.ones(2), lib.zeros(2), msg=lambda m: "X " + m),
        "msg_structure": lambda: ac([1], [1, 2], msg="not used for structure"),
        "rtol_only": lambda: ac(lib.ones(2), lib.zeros(2), rtol=1e-3),
        "atol_only": lambda: ac(lib.ones(2), lib.zeros(2), atol=1e-3),
        "tolerances": lambda: ac(t([1.0, 2.0]), t([1.1, 2.0]), rtol=0.2, atol=0),
        "zero_tolerances": lambda: ac(t([1.0, 2.0]), t([1.0, 2.5]), rtol=0, atol=0),
        "int_tolerances": lambda: ac(t([10, 20]), t([11, 20]), rtol=0.1, atol=0),
        "allclose": lambda: lib.testing.assert_allclose(t([1.0, 2.0]), [1.0, 2.00001]),
        "allclose_fails": lambda: lib.testing.assert_allclose(t([1.0, 2.0]), [1.0, 2.1]),
    }


def _assert_close_program(lib):
    cases = _assert_close_cases(lib)
    return {"names": np.array(list(cases)), "outcomes": _outcomes(cases, lib)}


def test_assert_close_as_torch():
    """Outcomes, exception classes and messages of assert_close (and assert_allclose) as PyTorch's."""
    check_program(torch_reference, "assert_close", _assert_close_program)


def test_assert_close_messages_name_minigrad():
    with pytest.raises(AssertionError, match=r"minigrad\.Size\(\[2, 3\]\) != minigrad\.Size\(\[3, 2\]\)"):
        minigrad.testing.assert_close(minigrad.zeros(2, 3), minigrad.zeros(3, 2))
    with pytest.raises(AssertionError, match="up to 1e-05 allowed"):
        minigrad.testing.assert_close(minigrad.ones(3), minigrad.tensor([1.0, 1.1, 1.0]))


# ------------------------------------------------------------------- testing.make_tensor
def _make_tensor_errors(lib):
    mt = lib.testing.make_tensor
    return {
        "low_above_high": lambda: mt(3, dtype=lib.float32, device="cpu", low=2, high=1),
        "int_grad": lambda: mt(3, dtype=lib.int64, device="cpu", requires_grad=True),
        "bool_grad": lambda: mt(3, dtype=lib.bool, device="cpu", requires_grad=True),
        "nan_bound": lambda: mt(3, dtype=lib.float32, device="cpu", low=math.nan),
        "outside_dtype": lambda: mt(3, dtype=lib.int8, device="cpu", low=200, high=300),
        "clamped": lambda: mt(3, dtype=lib.uint8, device="cpu", low=-5, high=3),
        "sequence_shape": lambda: mt([2, 3], dtype=lib.float64, device="cpu"),
    }


def _make_tensor_program(lib):
    cases = _make_tensor_errors(lib)
    return {"names": np.array(list(cases)), "outcomes": _outcomes(cases, lib)}


def test_make_tensor_errors_as_torch():
    check_program(torch_reference, "make_tensor_errors", _make_tensor_program)


@pytest.mark.parametrize(("dtype", "low", "high"), [
    ("bool", 0, 1), ("uint8", 0, 9), ("int8", -9, 9), ("int16", -9, 9), ("int32", -9, 9), ("int64", -9, 9),
    ("float32", -9, 9), ("float64", -9, 9),
])
def test_make_tensor_default_ranges(dtype, low, high):
    minigrad.manual_seed(0)
    x = minigrad.testing.make_tensor(40, 50, dtype=getattr(minigrad, dtype), device="cpu")
    values = x.numpy().astype(np.float64)
    assert x.shape == (40, 50) and x.dtype == getattr(minigrad, dtype) and x.is_contiguous()
    assert values.min() >= low and values.max() <= high
    assert values.min() < low + 1 and values.max() > high - 1  # the whole range is drawn from
    assert not x.requires_grad


def test_make_tensor_options():
    mt = minigrad.testing.make_tensor
    minigrad.manual_seed(1)
    x = mt((3, 4), dtype=minigrad.float32, device="cpu", low=-1, high=1, requires_grad=True, noncontiguous=True)
    assert x.shape == (3, 4) and not x.is_contiguous() and x.requires_grad and x.is_leaf
    assert np.abs(x.detach().numpy()).max() <= 1
    assert mt(1, dtype=minigrad.float32, device="cpu", noncontiguous=True).is_contiguous()  # one element: as PyTorch
    ones = mt(100, dtype=minigrad.int64, device="cpu", low=0, high=1, exclude_zero=True)
    assert (ones.numpy() == 1).all()
    tiny = mt(100, dtype=minigrad.float64, device="cpu", low=0, high=1e-320, exclude_zero=True).numpy()
    assert (tiny != 0).all()
    wide = mt(1000, dtype=minigrad.float32, device="cpu", low=-math.inf, high=math.inf).numpy()
    assert np.isfinite(wide).all() and wide.max() > 1e37  # clamped to the dtype, drawn over half spans
    assert mt(dtype=minigrad.float32, device="cpu").shape == ()
    with pytest.raises(TypeError, match="not supported"):
        mt(2, dtype=np.complex64, device="cpu")


# ------------------------------------------------------------------- profiler
def _cnn():
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 5 * 5, 10))
    x, y = minigrad.randn(8, 1, 12, 12), minigrad.randint(0, 10, (8,))
    return model, minigrad.optim.SGD(model.parameters(), lr=0.1), x, y


def _train_step(model, optimizer, x, y):
    record_function = minigrad.profiler.record_function
    with record_function("train_step"):
        with record_function("forward"):
            loss = nn.functional.cross_entropy(model(x), y)
        with record_function("backward"):
            optimizer.zero_grad()
            loss.backward()
        optimizer.step()


def _graph_nodes(loss):
    """The names of the Function nodes a backward from loss evaluates, counted."""
    seen, stack = set(), [loss.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or isinstance(node, autograd.AccumulateGrad) or node in seen:
            continue
        seen.add(node)
        stack.extend(next_node for next_node, _ in node.next_functions)
    return collections.Counter(node.name() for node in seen)


def test_profiler_cnn_training_step(tmp_path):
    model, optimizer, x, y = _cnn()
    ran = collections.Counter()
    with autograd.trace(lambda cls, *_: ran.update([minigrad.profiler.op_event_name(cls)])):
        _train_step(model, optimizer, x, y)
    nodes = _graph_nodes(nn.functional.cross_entropy(model(x), y))
    profiler = minigrad.profiler
    with profiler.profile(activities=[profiler.ProfilerActivity.CPU], record_shapes=True, profile_memory=True) as prof:
        for _ in range(3):
            _train_step(model, optimizer, x, y)
    averages = {e.key: e for e in prof.key_averages()}
    ops = {key: e.count for key, e in averages.items() if key.startswith("aten::")}
    assert ops == {name: 3 * count for name, count in ran.items()}
    assert {"aten::conv2d", "aten::relu", "aten::max_pool2d", "aten::linear", "aten::cross_entropy_loss"} <= set(ops)
    assert averages["train_step"].count == averages["forward"].count == averages["backward"].count == 3
    assert averages["Optimizer.step#SGD.step"].count == 3
    assert averages["aten::conv2d"].cpu_memory_usage == 3 * 8 * 4 * 10 * 10 * 4  # the outputs' bytes
    # one row per node evaluated and one for its backward, as PyTorch's ("ConvolutionBackward0", ...)
    evaluated = {key.removeprefix("autograd::engine::evaluate_function: "): e.count for key, e in averages.items()
                 if key.startswith("autograd::engine::evaluate_function: ")}
    assert evaluated == {name: 3 * count for name, count in nodes.items()}
    assert {name: averages[name].count for name in nodes} == evaluated
    assert {"ConvolutionBackward0", "AddmmBackward0", "NllLossBackward0"} <= set(nodes)

    # the ranges nest: each forward, backward and optimizer step lies inside a train_step, each
    # node's backward inside its evaluation, inside a backward
    events = prof.events()

    def within(inner, outer_key):
        return any(o.time_range[0] <= inner.time_range[0] <= inner.time_range[1] <= o.time_range[1]
                   for o in events if o.key == outer_key)

    children = ("forward", "backward", "Optimizer.step#SGD.step")
    assert all(within(e, "train_step") for e in events if e.key in children)
    assert all(within(e, f"autograd::engine::evaluate_function: {e.key}") for e in events if e.key in nodes)
    assert all(within(e, "backward") for e in events if e.key.startswith("autograd::engine::"))
    step = next(e for e in events if e.key == "train_step")
    inside = [e for e in events if e.key in children and step.time_range[0] <= e.time_range[0] <= step.time_range[1]]
    assert len(inside) == 3 and step.self_cpu_time_total >= 0
    # train_step's own time is what its ranges leave out; each op's and node's, what its children do
    assert step.self_cpu_time_total == pytest.approx(step.cpu_time_total - sum(e.cpu_time_total for e in inside))
    for event in events:
        assert 0 <= event.self_cpu_time_total <= event.cpu_time_total

    table = prof.key_averages().table(sort_by="cpu_time_total", row_limit=5)
    lines = table.splitlines()
    assert lines[1].split() == ["Name", "Self", "CPU", "%", "Self", "CPU", "CPU", "total", "%", "CPU", "total", "CPU",
                                "time", "avg", "CPU", "Mem", "Self", "CPU", "Mem", "#", "of", "Calls"]
    assert len(lines) == 3 + 5 + 2 and lines[-1].startswith("Self CPU time total: ")
    assert lines[3].split()[0] == "train_step"  # the largest total first
    shapes = prof.key_averages(group_by_input_shape=True).table(sort_by="self_cpu_time_total", row_limit=100)
    assert "Input Shapes" in shapes and "[[8, 1, 12, 12], [4, 1, 3, 3], [4]]" in shapes

    trace = json.loads((prof.export_chrome_trace(tmp_path / "trace.json"), (tmp_path / "trace.json").read_text())[1])
    names = collections.Counter(e["name"] for e in trace["traceEvents"])
    assert names["aten::conv2d"] == 3 and names["train_step"] == 3
    assert all(e["ph"] == "X" and e["dur"] >= 0 for e in trace["traceEvents"])
    prof.export_chrome_trace(tmp_path / "trace.json.gz")
    assert json.loads(gzip.decompress((tmp_path / "trace.json.gz").read_bytes())) == trace


def test_profiler_times_ops_from_their_start():
    """An op's time runs from its start to its end: Python between ops (here a sleep) is in no op,
    only in the range around it. An op that raises, whose end is not seen, is left out."""
    profiler = minigrad.profiler
    a = minigrad.ones(16, 16, requires_grad=True)
    with profiler.profile() as prof, profiler.record_function("around"):
        with pytest.raises(RuntimeError, match="broadcast"):
            a - minigrad.ones(3)
        b = a * 2
        time.sleep(0.05)
        b + 1
    events = {e.key: e for e in prof.events()}
    assert "aten::sub" not in events
    mul, add, around = events["aten::mul"], events["aten::add"], events["around"]
    assert add.time_range[0] - mul.time_range[1] >= 50_000  # microseconds
    assert mul.cpu_time_total < 25_000 and add.cpu_time_total < 25_000
    assert around.self_cpu_time_total >= 50_000
    assert around.self_cpu_time_total == pytest.approx(around.cpu_time_total - mul.cpu_time_total - add.cpu_time_total)


def test_profiler_create_graph_ops_nest_in_their_node():
    """With create_graph, the ops a node's backward applies are rows inside that node's row."""
    profiler = minigrad.profiler
    x = minigrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with profiler.profile() as prof:
        (g,) = autograd.grad((x * x).sum(), x, create_graph=True)
    assert g.grad_fn is not None
    counts = {e.key: e.count for e in prof.key_averages()}
    for name in ("SumBackward0", "MulBackward0"):
        assert counts[name] == counts[f"autograd::engine::evaluate_function: {name}"] == 1
    events = prof.events()
    node = next(e for e in events if e.key == "MulBackward0")
    ops = [e for e in events if e.key.startswith("aten::")
           and node.time_range[0] <= e.time_range[0] <= e.time_range[1] <= node.time_range[1]]
    assert ops  # the gradient's ops, recorded on the tape, ran inside the node's backward
    assert node.self_cpu_time_total == pytest.approx(node.cpu_time_total - sum(e.cpu_time_total for e in ops))


def _schedule_program(lib):
    actions = [lib.profiler.schedule(wait=w, warmup=u, active=a, repeat=r, skip_first=s)(step).name
               for w, u, a, r, s in [(1, 1, 2, 1, 0), (2, 1, 3, 0, 1), (0, 1, 1, 2, 2)] for step in range(12)]
    return {"actions": np.array(actions)}


def test_schedule_as_torch():
    check_program(torch_reference, "schedule", _schedule_program)


def test_profiler_schedule_steps():
    profiler = minigrad.profiler
    model, optimizer, x, y = _cnn()
    ready = []
    with profiler.profile(schedule=profiler.schedule(wait=1, warmup=1, active=2, repeat=2),
                          on_trace_ready=lambda p: ready.append((p.step_num, p.key_averages()))) as prof:
        for _ in range(10):
            model(x)
            prof.step()
    assert [step for step, _ in ready] == [4, 8]  # each cycle ends with its last active step
    for step, averages in ready:
        counts = {e.key: e.count for e in averages}
        assert counts["aten::conv2d"] == 2
        assert counts[f"ProfilerStep#{step - 2}"] == counts[f"ProfilerStep#{step - 1}"] == 1


def test_profiler_off_and_record_function_alone():
    profiler = minigrad.profiler

    @profiler.record_function("decorated")
    def double(t):
        return t * 2

    assert double(minigrad.ones(1)).item() == 2  # no profiler: nothing recorded, nothing fails
    with profiler.profile(enabled=False) as prof:
        double(minigrad.ones(1))
    assert len(prof.events()) == 0
    with profiler.profile() as prof:
        double(double(minigrad.ones(1)))
    assert {e.key: e.count for e in prof.key_averages()} == {"decorated": 2, "aten::mul": 2}
    assert "Self CPU time total" in str(prof)
    with pytest.raises(RuntimeError, match="already"), profiler.profile(), profiler.profile():
        pass
    handler = profiler.tensorboard_trace_handler
    assert callable(handler("unused-dir"))


# ------------------------------------------------------------------- jit
class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3)
        self.bn = nn.BatchNorm2d(3)
        self.fc = nn.Linear(3 * 6 * 6, 4)
        self.tied = self.fc  # shared submodules stay shared through save/load
        self.activation = minigrad.relu
        self.scale, self.sizes = 0.5, (3, 6, 6)
        self.seen_tracing = False

    def forward(self, x):
        self.seen_tracing = self.seen_tracing or minigrad.jit.is_tracing()
        return self.fc(self.activation(self.bn(self.conv(x))).flatten(1)) * self.scale

    @minigrad.jit.export
    def features(self, x):
        return self.conv(x)

    @minigrad.jit.ignore
    def python_only(self):
        return "ignored"

    @minigrad.jit.unused
    def never_scripted(self):
        return "unused"


@pytest.mark.parametrize("name", ["net.pt", "net.safetensors"])
def test_jit_script_trace_save_load(tmp_path, name):
    minigrad.manual_seed(0)
    net = _Net().eval()
    x = minigrad.randn(2, 1, 8, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        scripted, traced = minigrad.jit.script(net), minigrad.jit.trace(net, x)
    assert traced.seen_tracing and not minigrad.jit.is_tracing()
    for module in (scripted, traced):
        assert isinstance(module, _Net) and isinstance(module, minigrad.jit.ScriptModule)
        assert module.state_dict().keys() == net.state_dict().keys() and module.fc.weight is net.fc.weight
        np.testing.assert_array_equal(module(x).detach().numpy(), net(x).detach().numpy())
    assert not isinstance(net, minigrad.jit.ScriptModule)  # the original keeps its class
    scripted.save(tmp_path / name, _extra_files={"note": "hello"})
    extra = {"note": ""}
    loaded = minigrad.jit.load(tmp_path / name, map_location="cpu", _extra_files=extra)
    assert extra == {"note": "hello"} and isinstance(loaded, _Net) and not loaded.training
    assert loaded.tied is loaded.fc and loaded.sizes == (3, 6, 6) and loaded.activation is minigrad.relu
    minigrad.testing.assert_close(loaded(x), net(x), rtol=0, atol=0)
    minigrad.testing.assert_close(loaded.features(x), net.features(x), rtol=0, atol=0)
    assert loaded.python_only() == "ignored" and loaded.never_scripted() == "unused"
    assert loaded.fc.weight.requires_grad and isinstance(loaded.fc.weight, nn.Parameter)
    minigrad.jit.save(traced, tmp_path / ("again_" + name))
    minigrad.testing.assert_close(minigrad.jit.load(tmp_path / ("again_" + name))(x), net(x), rtol=0, atol=0)


def test_jit_helpers(tmp_path, monkeypatch):
    jit = minigrad.jit
    monkeypatch.setattr(jit, "_warned", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net = nn.Linear(2, 2)
        assert jit.freeze(jit.script(net).eval()) is not net
        assert jit.optimize_for_inference(net) is net
        fn = jit.script(lambda t: t + 1)
        assert jit.trace(fn, (minigrad.ones(1),)) is fn
    assert [str(w.message) for w in caught if "TorchScript" in str(w.message)] != []
    assert len([w for w in caught if "TorchScript" in str(w.message)]) == 1  # once per process
    assert not jit.is_scripting() and jit.Final[int] is not None and jit.annotate(list, [1]) == [1]
    assert jit.wait(jit.fork(lambda a, b: a * b, 3, b=4)) == 12

    @jit.ignore(drop=True)
    def dropped():
        return 1

    assert dropped() == 1

    class Local(nn.Module):
        pass

    with pytest.raises(TypeError, match="cannot be imported"):
        jit.save(Local(), tmp_path / "local.pt")
    odd = nn.Linear(1, 1)
    odd.callback = lambda: None
    with pytest.raises(TypeError, match=r"Linear\.callback"):
        jit.save(odd, tmp_path / "odd.pt")
    minigrad.save({"w": minigrad.ones(1)}, tmp_path / "weights.pt")
    with pytest.raises(ValueError, match="not a file minigrad.jit.save wrote"):
        jit.load(tmp_path / "weights.pt")


def test_torch_names():
    """The submodules as attributes of minigrad (import minigrad as torch; torch.testing...), and
    torch.autograd.profiler once minigrad/__init__.py names it."""
    assert minigrad.testing.assert_close is not None and minigrad.profiler.profile and minigrad.jit.script
    autograd_profiler = getattr(minigrad.autograd, "profiler", None)
    if autograd_profiler is not None:
        assert autograd_profiler.profile is minigrad.profiler.profile
        assert autograd_profiler.record_function is minigrad.profiler.record_function
    for name in ("testing", "profiler", "jit"):
        assert getattr(minigrad, name) is sys.modules[f"minigrad.{name}"]
