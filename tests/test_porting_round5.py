"""Course programs ported with `import minigrad as torch`, round 5: each program runs on both
libraries (`program(lib)` with lib minigrad or torch) and its results are compared with PyTorch's
(live, or recorded in tests/fixtures/torch_reference/test_porting_round5.npz). Programs:
Subset.indices kept as given (random_split's are lists, so `a.indices + b.indices` concatenates),
torch.tensor of a list of tensors (one element each, else PyTorch's ValueError), the repr of
bool tensors and of empty ones, logcumsumexp (values, -inf entries, gradients),
Module.register_full_backward_pre_hook, the optimizers' param_group keys (foreach, fused,
capturable, differentiable) and the LR schedulers' warning when scheduler.step() comes before
optimizer.step()."""

import warnings

import numpy as np
import pytest
from gradcheck_utils import assert_grad_close, numerical_grad
from parity import check_program, error_of
from torch_reference import TorchReference

import minigrad

torch_reference = TorchReference(__name__)

INF = float("inf")


def check(key, program, rtol=1e-9):
    """program(minigrad)'s results against program(torch)'s (parity.check_program; NaN where
    PyTorch has NaN)."""
    check_program(torch_reference, key, program, rtol)


# ------------------------------------------------------------------- Subset.indices
def _subset_program(lib):
    data = lib.utils.data
    ds = data.TensorDataset(lib.arange(10.0))
    a, b = data.random_split(ds, [6, 4], generator=lib.Generator().manual_seed(1))
    joined = a.indices + b.indices  # list concatenation, as PyTorch's
    given = data.Subset(ds, [3, -1])
    ranged = data.Subset(ds, range(2, 5))
    fractions = data.random_split(ds, [0.5, 0.5], generator=lib.Generator().manual_seed(2))
    return {
        "types": np.array([type(a.indices).__name__, type(b.indices).__name__, type(given.indices).__name__,
                           type(ranged.indices).__name__, type(fractions[0].indices).__name__,
                           type(a.indices[0]).__name__]),
        "joined": np.array(sorted(joined)),
        "lengths": np.array([len(joined), len(a), len(b), len(fractions[0]), len(fractions[1])]),
        "given": np.array(given.indices),
        "given/items": np.array([given[0][0].item(), given[1][0].item()]),
        "ranged/items": np.array([ranged[i][0].item() for i in range(len(ranged))]),
    }


def test_subset_indices_keep_what_they_were_given_as_torch():
    check("subset", _subset_program)


def test_subset_of_a_list_still_batches_and_refuses_bad_indices():
    ds = minigrad.utils.data.TensorDataset(np.arange(10.0))
    part = minigrad.utils.data.Subset(ds, [7, -1, 0])
    assert part.indices == [7, -1, 0]
    batches = [b[0].tolist() for b in minigrad.utils.data.DataLoader(part, batch_size=2)]
    assert batches == [[7.0, 9.0], [0.0]]
    with pytest.raises(IndexError, match="out of range"):
        minigrad.utils.data.Subset(ds, [10])


# ------------------------------------------------------------------- torch.tensor([tensors])
def _tensor_of_tensors_program(lib):
    t1, t2 = lib.tensor([1.0, 2.0]), lib.tensor([3.0, 4.0])
    one = lib.tensor([[5.0]])
    out = {
        "errors": np.array([error_of(f) for f in (
            lambda: lib.tensor([t1, t2]),
            lambda: lib.tensor((t1, t2)),
            lambda: lib.tensor([t1]),
            lambda: lib.tensor([t1, 3.0]),
            lambda: lib.tensor([[t1, t2]]),
            lambda: lib.as_tensor([t1, t2]),
        )]),
    }
    made = {
        "scalars": lib.tensor([lib.tensor(1.0), lib.tensor(2.0)]),
        "one_element": lib.tensor([lib.tensor([1.0]), one]),
        "nested": lib.tensor([[lib.tensor([1.0]), 2.0], [3.0, lib.tensor(4.0)]]),
        "float64": lib.tensor([lib.tensor(1.0, dtype=lib.float64), 2.0]),
        "ints": lib.tensor([lib.tensor([3]), 4]),
        "grad": lib.tensor([lib.tensor(2.0, requires_grad=True) * 3, 1.0]),
    }
    for name, value in made.items():
        out[name] = value
        out[f"{name}/requires_grad"] = np.array(value.requires_grad)
    return out


def test_tensor_of_tensors_as_torch():
    check("tensor_of_tensors", _tensor_of_tensors_program)


# ------------------------------------------------------------------- repr of bool tensors
def _bool_repr_program(lib):
    cases = [
        lib.tensor([True]),
        lib.tensor([False]),
        lib.tensor([True, False]),
        lib.tensor([[True, False], [False, True]]),
        lib.tensor([[True], [False]]),
        lib.tensor(True),
        lib.ones(12, dtype=lib.bool),
        lib.zeros(2, 3, dtype=lib.bool),
        lib.ones(1000, dtype=lib.bool),
        lib.ones(2000, dtype=lib.bool),
        lib.tensor([[True, True]] * 600),
        lib.tensor([[True, False]] * 600),
        lib.tensor([], dtype=lib.bool),
        lib.zeros(0, 3, dtype=lib.bool),
        lib.tensor([], dtype=lib.int64),
        lib.tensor([]),
        lib.tensor([1, 2]),
    ]
    prefix = lib.__name__ + "."  # "dtype=torch.bool" and "dtype=minigrad.bool"
    return {"reprs": np.array([repr(x).replace(prefix, "") for x in cases])}


def test_bool_and_empty_reprs_as_torch():
    check("bool_repr", _bool_repr_program)


# ------------------------------------------------------------------- logcumsumexp
RAGGED = np.array([[-INF, -INF, 1.0, -INF, 2.0], [-INF, -INF, -INF, -INF, -INF], [-1000.0, 0.0, 3.0, -2.0, 800.0]])


def _logcumsumexp_program(lib):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4, 5)) * 4
    out = {}
    for dtype in ("float32", "float64"):
        for dim in (0, 1, -1):
            out[f"{dtype}/dim{dim}"] = lib.logcumsumexp(lib.tensor(x, dtype=getattr(lib, dtype)), dim)
    out["method"] = lib.tensor(x[0]).logcumsumexp(dim=0)
    out["scalar"] = lib.logcumsumexp(lib.tensor(2.5), 0)
    out["empty"] = lib.logcumsumexp(lib.zeros(0, 3), 0)
    upstream = rng.standard_normal(x.shape)
    for name, values in (("random", x), ("ragged", RAGGED)):
        t = lib.tensor(values, dtype=lib.float64, requires_grad=True)
        y = lib.logcumsumexp(t, 1 if name == "ragged" else 2)
        g = upstream[..., : values.shape[-1]].reshape(-1)[: values.size].reshape(values.shape)
        y.backward(lib.tensor(g))  # (y * g).sum() would add -inf to inf
        out[f"{name}/value"], out[f"{name}/grad"] = y, t.grad
    out["errors"] = np.array([error_of(f).partition(":")[0] for f in (
        lambda: lib.logcumsumexp(lib.tensor([1, 2]), 0),
        lambda: lib.logcumsumexp(lib.tensor([1.0]), 1),
        lambda: lib.logcumsumexp(lib.tensor([1.0]), None),
    )])
    return out


def test_logcumsumexp_as_torch():
    check("logcumsumexp", _logcumsumexp_program, rtol=1e-5)


def test_logcumsumexp_gradient_matches_finite_differences():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 6)) * 3
    weights = rng.standard_normal((3, 6))
    for dim in (0, 1):
        t = minigrad.tensor(x, requires_grad=True)
        (minigrad.logcumsumexp(t, dim) * minigrad.tensor(weights)).sum().backward()

        def loss(dim=dim):
            return float((minigrad.logcumsumexp(minigrad.tensor(x), dim).numpy() * weights).sum())

        assert_grad_close(t.grad.numpy(), numerical_grad(loss, x), tol=1e-6, name=f"dim {dim}")


def test_logcumsumexp_is_stable_far_from_zero():
    x = minigrad.tensor([-1000.0, -1000.0, 1000.0, 1000.0], dtype=minigrad.float64)
    want = [-1000.0, -1000.0 + np.log(2.0), 1000.0, 1000.0 + np.log(2.0)]
    np.testing.assert_allclose(minigrad.logcumsumexp(x, 0).numpy(), want, rtol=1e-12)


# ------------------------------------------------------------------- backward pre-hooks
class _TwoOutputs:
    """A module class body for either library: one output that requires grad, one that does not."""

    @staticmethod
    def make(lib):
        class TwoOutputs(lib.nn.Module):
            def forward(self, a):
                return a * 2, lib.ones(2)

        return TwoOutputs()


def _pre_hook_program(lib):
    rng = np.random.default_rng(7)
    lin = lib.nn.Linear(3, 2).double()
    with lib.no_grad():
        lin.weight.copy_(lib.tensor(rng.standard_normal((2, 3))))
        lin.bias.copy_(lib.tensor(rng.standard_normal(2)))
    x = lib.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    seen = []
    pre = lin.register_full_backward_pre_hook(
        lambda m, grad_output: (seen.append(grad_output[0].clone()), (grad_output[0] * 2,))[1]
    )
    full = lin.register_full_backward_hook(lambda m, grad_input, grad_output: seen.append(grad_output[0].clone()))
    lin(x).pow(2).sum().backward()
    out = {"doubled/x": x.grad.clone(), "doubled/bias": lin.bias.grad.clone(), "doubled/seen": lib.stack(seen)}
    pre.remove()
    full.remove()
    x.grad, seen = None, []
    lin.zero_grad()
    lin(x).pow(2).sum().backward()
    out["removed/x"], out["removed/seen"] = x.grad.clone(), np.array(len(seen))

    order = []
    lin.register_full_backward_pre_hook(lambda *a: order.append("second"))
    lin.register_full_backward_pre_hook(lambda *a: order.append("first"), prepend=True)
    lin.register_full_backward_hook(lambda *a: order.append("full"))
    lin(lib.ones(1, 3, dtype=lib.float64)).sum().backward()  # no input requires grad
    out["order"] = np.array(order)

    bad = lib.nn.Linear(3, 2)
    bad.register_full_backward_pre_hook(lambda m, grad_output: (grad_output[0], grad_output[0]))
    out["bad_length"] = np.array(error_of(lambda: bad(lib.ones(1, 3)).sum().backward()))

    two = _TwoOutputs.make(lib)
    shapes = []
    two.register_full_backward_pre_hook(
        lambda m, grad_output: (shapes.append([g is None for g in grad_output]), (grad_output[0] * 10, None))[1]
    )
    a = lib.ones(2, requires_grad=True)
    first, _ = two(a)
    first.sum().backward()
    out["two/grad"], out["two/none"] = a.grad, np.array(shapes)
    return out


def test_full_backward_pre_hook_as_torch():
    check("backward_pre_hook", _pre_hook_program)


def test_backward_pre_hook_handle_and_unsupported_outputs():
    lin = minigrad.nn.Linear(2, 2)
    handle = lin.register_full_backward_pre_hook(lambda m, g: None)
    assert type(handle).__name__ == "RemovableHandle" and len(lin._backward_pre_hooks) == 1
    handle.remove()
    assert not lin._backward_pre_hooks

    class Two(minigrad.nn.Module):
        def forward(self, a):
            return a * 2, a * 3

    two = Two()
    two.register_full_backward_pre_hook(lambda m, g: None)
    with pytest.raises(NotImplementedError, match="one tensor that requires grad"):
        two(minigrad.ones(2, requires_grad=True))
    two(minigrad.ones(2))  # nothing requires grad: no hook to run, no error

    # pre-hooks alone need no single-input restriction (that is the full backward hooks')
    class Add(minigrad.nn.Module):
        def forward(self, a, b):
            return a + b

    add, seen = Add(), []
    add.register_full_backward_pre_hook(lambda m, g: seen.append(g[0].tolist()))
    a, b = minigrad.ones(2, requires_grad=True), minigrad.ones(2, requires_grad=True)
    add(a, b).sum().backward()
    assert seen == [[1.0, 1.0]] and a.grad.tolist() == b.grad.tolist() == [1.0, 1.0]


# ------------------------------------------------------------------- optimizers' param_groups
OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam"]


def _param_group_program(lib):
    out = {}
    for name in OPTIMIZERS:
        opt = getattr(lib.optim, name)([lib.nn.Parameter(lib.ones(1))], lr=0.1)
        group = {k: v for k, v in opt.param_groups[0].items() if k != "params"}
        out[f"{name}/keys"] = np.array(list(group))
        out[f"{name}/values"] = np.array([repr(v) if v is None or isinstance(v, (bool, tuple)) else repr(float(v))
                                          for v in group.values()])
        out[f"{name}/state_dict_keys"] = np.array(list(opt.state_dict()["param_groups"][0]))
    p = lib.nn.Parameter(lib.ones(1))
    out["errors"] = np.array([error_of(f) for f in (
        lambda: lib.optim.Adam([p], foreach=True, fused=True),
        lambda: lib.optim.SGD([p], lr=0.1, foreach=True, fused=True),
    )])
    return out


def test_param_group_keys_as_torch():
    check("param_groups", _param_group_program)


def test_implementation_switches_minigrad_cannot_honour_raise():
    p = minigrad.nn.Parameter(minigrad.ones(2))
    for kwargs in (dict(capturable=True), dict(differentiable=True)):
        with pytest.raises(NotImplementedError, match="not supported by minigrad"):
            minigrad.optim.Adam([p], **kwargs)
    with pytest.raises(NotImplementedError, match="differentiable"):
        minigrad.optim.SGD([{"params": [p], "differentiable": True}], lr=0.1)
    opt = minigrad.optim.Adam([p], lr=0.1, foreach=False)
    saved = opt.state_dict()
    saved["param_groups"][0]["capturable"] = True
    with pytest.raises(NotImplementedError, match="capturable"):
        opt.load_state_dict(saved)
    # foreach and fused pick kernels only: the same steps either way
    steps = []
    for kwargs in ({}, dict(foreach=True), dict(fused=True)):
        q = minigrad.nn.Parameter(minigrad.tensor([1.0, -2.0]))
        opt = minigrad.optim.Adam([q], lr=0.1, **kwargs)
        q.grad = minigrad.tensor([0.5, 0.25])
        opt.step()
        steps.append(q.tolist())
    assert steps[0] == steps[1] == steps[2]
    # a state_dict without the new keys (an older minigrad's) loads, the keys defaulted
    opt = minigrad.optim.Adam([q], lr=0.1)
    old = opt.state_dict()
    for key in ("foreach", "fused", "capturable", "differentiable"):
        del old["param_groups"][0][key]
    opt.load_state_dict(old)
    assert opt.param_groups[0]["fused"] is None and opt.param_groups[0]["capturable"] is False


# ------------------------------------------------------------------- scheduler before optimizer
def _scheduler_warning_program(lib):
    sched = lib.optim.lr_scheduler

    def optimizer():
        p = lib.nn.Parameter(lib.ones(1))
        p.grad = lib.ones(1)
        return lib.optim.SGD([p], lr=0.1)

    def warned(fn):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fn()
        return sum("before `optimizer.step()`" in str(w.message) and w.category is UserWarning for w in caught)

    counts = {}
    opt = optimizer()
    s = sched.StepLR(opt, 1)
    counts["scheduler_first"] = warned(s.step)
    counts["scheduler_second"] = warned(s.step)  # only the first step() is checked
    opt = optimizer()
    s = sched.StepLR(opt, 1)
    opt.step()
    counts["optimizer_first"] = warned(s.step)
    opt = optimizer()
    opt.step()  # before the scheduler existed: does not count
    s = sched.ExponentialLR(opt, 0.5)
    counts["optimizer_before_scheduler"] = warned(s.step)
    s2 = sched.StepLR(opt, 1)  # a second scheduler: the optimizer is already tracked
    opt.step()
    counts["second_scheduler"] = warned(s2.step)
    opt = optimizer()
    counts["plateau"] = warned(lambda: sched.ReduceLROnPlateau(opt).step(1.0))
    opt = optimizer()
    s = sched.SequentialLR(opt, [sched.ConstantLR(opt), sched.StepLR(opt, 1)], [2])
    counts["sequential"] = warned(s.step)
    opt = optimizer()
    s = sched.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    counts["one_cycle"] = warned(s.step)

    class Custom(lib.optim.Optimizer):  # a course's own optimizer: its step() counts too
        def __init__(self, params):
            super().__init__(params, dict(lr=0.1))

        def step(self, closure=None):
            return None

    opt = Custom([lib.nn.Parameter(lib.ones(1))])
    s = sched.StepLR(opt, 1)
    opt.step()
    counts["custom_optimizer"] = warned(s.step)
    return {"names": np.array(list(counts)), "counts": np.array(list(counts.values()))}


def test_scheduler_step_before_optimizer_step_warns_as_torch():
    check("scheduler_warning", _scheduler_warning_program)
