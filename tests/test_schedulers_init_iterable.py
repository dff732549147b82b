"""MultiplicativeLR, LinearLR, ConstantLR, PolynomialLR, CosineAnnealingWarmRestarts, CyclicLR, SequentialLR and
ChainedScheduler; nn.init's orthogonal_, eye_, dirac_ and sparse_; IterableDataset in DataLoader.

Every learning-rate sequence is checked against a closed form written here and, where PyTorch is
installed, against PyTorch's own sequence (equal to the last bit)."""

import math

import numpy as np
import pytest

import minigrad
from minigrad import optim
from minigrad.data import DataLoader, Dataset, IterableDataset
from minigrad.nn import Parameter, init
from minigrad.optim import lr_scheduler
from minigrad.serialization import load, save

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

BASE_LRS = [0.1, 0.05]
STEPS = 50


# ---- learning-rate schedulers ----


def _optimizer(lib, kind: str = "sgd"):
    """Two param groups (lr 0.1 and 0.05) of minigrad ("mg") or torch ("torch")."""
    if lib == "mg":
        params, make = (lambda: [Parameter(minigrad.tensor(np.ones(1)))]), optim
    else:
        params, make = (lambda: [torch.nn.Parameter(torch.ones(1))]), torch.optim
    groups = [{"params": params()}, {"params": params(), "lr": BASE_LRS[1]}]
    if kind == "adam":
        return make.Adam(groups, lr=BASE_LRS[0])
    if kind == "adagrad":
        return make.Adagrad(groups, lr=BASE_LRS[0])
    return make.SGD(groups, lr=BASE_LRS[0], momentum=0.9)


def _momentum(group) -> float:
    return group["betas"][0] if "betas" in group else group["momentum"]


def _run(lib, kind, make, steps=STEPS):
    """lrs and momentums of both groups after construction and after each step; the scheduler and
    its optimizer."""
    mod = lr_scheduler if lib == "mg" else torch.optim.lr_scheduler
    opt = _optimizer(lib, kind)
    sched = make(mod, opt)
    lrs, momentums = [[g["lr"] for g in opt.param_groups]], [[_momentum(g) for g in opt.param_groups]]
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.append([g["lr"] for g in opt.param_groups])
        momentums.append([_momentum(g) for g in opt.param_groups])
    return lrs, momentums, sched, opt


def _warm_restarts(t: float, t_0: int, t_mult: int) -> tuple[float, int]:
    """(T_cur, T_i) at epoch t, restart by restart."""
    t_cur, t_i = t, t_0
    while t_cur >= t_i:
        t_cur, t_i = t_cur - t_i, t_i * t_mult
    return t_cur, t_i


def _cosine(base: float, eta_min: float, fraction: float) -> float:
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * fraction)) / 2


def _cawr_closed(t: float, t_0: int, t_mult: int, eta_min: float) -> list[float]:
    t_cur, t_i = _warm_restarts(t, t_0, t_mult)
    return [_cosine(base, eta_min, t_cur / t_i) for base in BASE_LRS]


def _cyclic_factor(t: int, up: int, down: int) -> tuple[float, int]:
    """(how far up the lr is in [0, 1], cycle number from 1) at step t."""
    cycle, x = divmod(t, up + down)
    return (x / up if x <= up else (up + down - x) / down), cycle + 1


def _cyclic_closed(t, base_lr, max_lrs, up, down, scale, momentum=(0.8, 0.9)):
    factor, cycle = _cyclic_factor(t, up, down)
    s = scale(cycle, t)
    lrs = [base_lr + (top - base_lr) * factor * s for top in max_lrs]
    return lrs, [momentum[1] - (momentum[1] - momentum[0]) * factor * s] * 2


def _products(factor, t: int) -> float:
    return float(np.prod([factor(e) for e in range(1, t + 1)]))


SCHEDULES = {
    "MultiplicativeLR": (
        "sgd",
        lambda m, o: m.MultiplicativeLR(o, lambda e: 0.95),
        lambda t: [b * 0.95**t for b in BASE_LRS],
    ),
    "MultiplicativeLR-per-group": (
        "adam",
        lambda m, o: m.MultiplicativeLR(o, [lambda e: 0.9, lambda e: 0.5 if e % 3 == 0 else 1.0]),
        lambda t: [BASE_LRS[0] * _products(lambda e: 0.9, t),
                   BASE_LRS[1] * _products(lambda e: 0.5 if e % 3 == 0 else 1.0, t)],
    ),
    "LinearLR-defaults": (
        "sgd",
        lambda m, o: m.LinearLR(o),
        lambda t: [b * (1 / 3 + (1 - 1 / 3) * min(t, 5) / 5) for b in BASE_LRS],
    ),
    "LinearLR": (
        "sgd",
        lambda m, o: m.LinearLR(o, start_factor=0.25, end_factor=0.75, total_iters=12),
        lambda t: [b * (0.25 + 0.5 * min(t, 12) / 12) for b in BASE_LRS],
    ),
    "ConstantLR": (
        "sgd",
        lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=7),
        lambda t: [b * (0.5 if t < 7 else 1.0) for b in BASE_LRS],
    ),
    "ConstantLR-defaults": (
        "sgd",
        lambda m, o: m.ConstantLR(o),
        lambda t: [b * (1 / 3 if t < 5 else 1.0) for b in BASE_LRS],
    ),
    "PolynomialLR": (
        "sgd",
        lambda m, o: m.PolynomialLR(o, total_iters=30, power=2.0),
        lambda t: [b * (1 - min(t, 30) / 30) ** 2 for b in BASE_LRS],
    ),
    "PolynomialLR-defaults": (
        "sgd",
        lambda m, o: m.PolynomialLR(o),
        lambda t: [b * (1 - min(t, 5) / 5) for b in BASE_LRS],
    ),
    "CosineAnnealingWarmRestarts": (
        "sgd",
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001),
        lambda t: _cawr_closed(t, 3, 2, 0.001),
    ),
    "CosineAnnealingWarmRestarts-Tmult1": (
        "sgd",
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=7),
        lambda t: _cawr_closed(t, 7, 1, 0.0),
    ),
    "CyclicLR-triangular": (
        "sgd",
        lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=[0.1, 0.2], step_size_up=4, step_size_down=6),
        lambda t: _cyclic_closed(t, 0.01, [0.1, 0.2], 4, 6, lambda c, i: 1.0),
    ),
    "CyclicLR-triangular2-adam": (
        "adam",
        lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=5, mode="triangular2", base_momentum=0.85,
                                max_momentum=0.95),
        lambda t: _cyclic_closed(t, 0.01, [0.1, 0.1], 5, 5, lambda c, i: 0.5 ** (c - 1), (0.85, 0.95)),
    ),
    "CyclicLR-exp_range": (
        "sgd",
        lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=3, step_size_down=5, mode="exp_range", gamma=0.97),
        lambda t: _cyclic_closed(t, 0.01, [0.1, 0.1], 3, 5, lambda c, i: 0.97**i),
    ),
    "CyclicLR-scale_fn": (
        "sgd",
        lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=4, scale_fn=lambda x: 1 / x, scale_mode="cycle"),
        lambda t: _cyclic_closed(t, 0.01, [0.1, 0.1], 4, 4, lambda c, i: 1 / c),
    ),
    "SequentialLR": (
        "sgd",
        lambda m, o: m.SequentialLR(
            o, [m.LinearLR(o, start_factor=0.1, total_iters=5), m.CosineAnnealingLR(o, T_max=30, eta_min=0.001)],
            milestones=[5],
        ),
        lambda t: [b * (0.1 + 0.9 * t / 5) if t < 5 else _cosine(b, 0.001, (t - 5) / 30) for b in BASE_LRS],
    ),
    "SequentialLR-3": (
        "sgd",
        lambda m, o: m.SequentialLR(
            o, [m.ConstantLR(o, factor=0.5, total_iters=10), m.ExponentialLR(o, gamma=0.9), m.StepLR(o, 4, 0.5)],
            milestones=[4, 20],
        ),
        lambda t: [b * (0.5 if t < 4 else 0.9 ** (t - 4) if t < 20 else 0.5 ** ((t - 20) // 4)) for b in BASE_LRS],
    ),
    "ChainedScheduler": (
        "sgd",
        lambda m, o: m.ChainedScheduler([m.ConstantLR(o, factor=0.1, total_iters=10), m.ExponentialLR(o, 0.9)]),
        lambda t: [b * 0.9**t * (0.1 if t < 10 else 1.0) for b in BASE_LRS],
    ),
    "ChainedScheduler-optimizer": (
        "sgd",
        lambda m, o: m.ChainedScheduler([m.LinearLR(o, 0.2, total_iters=8), m.PolynomialLR(o, 40, 0.5)], optimizer=o),
        lambda t: [b * (0.2 + 0.8 * min(t, 8) / 8) * (1 - min(t, 40) / 40) ** 0.5 for b in BASE_LRS],
    ),
}


def _closed_form(name: str, t: int) -> tuple[list[float], list[float] | None]:
    result = SCHEDULES[name][2](t)
    return result if isinstance(result, tuple) else (result, None)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_lr_sequence_matches_closed_form(name):
    kind, make, _ = SCHEDULES[name]
    lrs, momentums, sched, _ = _run("mg", kind, make)
    for t, (got, got_momentum) in enumerate(zip(lrs, momentums, strict=True)):
        want, want_momentum = _closed_form(name, t)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-15, err_msg=f"step {t}")
        if want_momentum is not None:
            np.testing.assert_allclose(got_momentum, want_momentum, rtol=1e-10, err_msg=f"momentum, step {t}")
    assert sched.get_last_lr() == lrs[-1]


@needs_torch
@pytest.mark.parametrize("name", list(SCHEDULES))
def test_lr_sequence_matches_torch(name):
    kind, make, _ = SCHEDULES[name]
    lrs, momentums, sched, _ = _run("mg", kind, make)
    torch_lrs, torch_momentums, torch_sched, _ = _run("torch", kind, make)
    assert lrs == torch_lrs
    assert momentums == torch_momentums
    assert sched.get_last_lr() == torch_sched.get_last_lr()
    assert getattr(sched, "last_epoch", None) == getattr(torch_sched, "last_epoch", None)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_state_dict_round_trip_mid_run(name, tmp_path):
    kind, make, _ = SCHEDULES[name]
    want, want_momentums, _, _ = _run("mg", kind, make)
    _, _, sched, opt = _run("mg", kind, make, steps=17)
    save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, tmp_path / "ckpt.safetensors")
    ckpt = load(tmp_path / "ckpt.safetensors")

    opt2 = _optimizer("mg", kind)
    sched2 = make(lr_scheduler, opt2)
    opt2.load_state_dict(ckpt["optimizer"])
    sched2.load_state_dict(ckpt["scheduler"])
    lrs, momentums = [], []
    for _ in range(STEPS - 17):
        opt2.step()
        sched2.step()
        lrs.append([g["lr"] for g in opt2.param_groups])
        momentums.append([_momentum(g) for g in opt2.param_groups])
    assert lrs == want[18:]
    assert momentums == want_momentums[18:]


FRACTIONAL_EPOCHS = [0.37 * i for i in range(40)] + [26, None, None, 3.5, None, 100.25, None]


def _step_epochs(sched, epochs):
    lrs = []
    for epoch in epochs:
        sched.step() if epoch is None else sched.step(epoch)
        lrs.append(list(sched.get_last_lr()))
    return lrs


@pytest.mark.parametrize("t_mult", [1, 2])
def test_warm_restarts_fractional_epochs(t_mult):
    opt = _optimizer("mg")
    sched = lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=4, T_mult=t_mult, eta_min=0.002)
    lrs = _step_epochs(sched, FRACTIONAL_EPOCHS)
    position = 0.0
    for given, got in zip(FRACTIONAL_EPOCHS, lrs, strict=True):
        position = position + 1 if given is None else given  # step() goes on from a fractional epoch
        np.testing.assert_allclose(got, _cawr_closed(position, 4, t_mult, 0.002), rtol=1e-9, err_msg=str(position))
    assert sched.last_epoch == 101 == math.floor(position)
    if torch is not None:
        torch_sched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
            _optimizer("torch"), T_0=4, T_mult=t_mult, eta_min=0.002
        )
        assert lrs == _step_epochs(torch_sched, FRACTIONAL_EPOCHS)


def test_step_with_epoch_uses_closed_form_and_warns():
    opt = _optimizer("mg")
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    with pytest.warns(UserWarning, match="deprecated"):
        sched.step(3)
    assert sched.last_epoch == 3 and sched.get_last_lr() == [b * 0.5**3 for b in BASE_LRS]
    sched.step()
    assert sched.get_last_lr() == [b * 0.5**4 for b in BASE_LRS]


def test_cyclic_lr_needs_momentum_or_betas():
    with pytest.raises(ValueError, match="momentum or beta1"):
        lr_scheduler.CyclicLR(_optimizer("mg", "adagrad"), 0.01, 0.1)
    opt = _optimizer("mg", "adagrad")
    sched = lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up=2, cycle_momentum=False)
    sched.step()
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.055, 0.055])
    if torch is not None:
        with pytest.raises(ValueError, match="momentum"):
            torch.optim.lr_scheduler.CyclicLR(_optimizer("torch", "adagrad"), 0.01, 0.1)


BAD_SCHEDULERS = {
    "MultiplicativeLR-lambdas": (
        lambda m, o: m.MultiplicativeLR(o, [lambda e: 0.9] * 3), "Expected 2 lr_lambdas, but got 3"
    ),
    "LinearLR-start_factor": (lambda m, o: m.LinearLR(o, start_factor=0), "Starting multiplicative factor"),
    "LinearLR-end_factor": (lambda m, o: m.LinearLR(o, end_factor=1.5), "Ending multiplicative factor"),
    "ConstantLR-factor": (lambda m, o: m.ConstantLR(o, factor=1.5), "factor"),
    "CAWR-T_0": (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=0), "T_0"),
    "CAWR-T_0-float": (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2.5), "T_0"),
    "CAWR-T_mult": (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=0), "T_mult"),
    "CyclicLR-mode": (lambda m, o: m.CyclicLR(o, 0.01, 0.1, mode="sawtooth"), "mode"),
    "CyclicLR-max_lr": (lambda m, o: m.CyclicLR(o, 0.01, [0.1, 0.2, 0.3]), "max_lr"),
    "SequentialLR-empty": (lambda m, o: m.SequentialLR(o, [], milestones=[]), "at least one"),
    "SequentialLR-milestones": (lambda m, o: m.SequentialLR(o, [m.ConstantLR(o)], milestones=[3]), "milestone"),
    "SequentialLR-plateau": (
        lambda m, o: m.SequentialLR(o, [m.ConstantLR(o), m.ReduceLROnPlateau(o)], milestones=[3]), "ReduceLROnPlateau"
    ),
    "SequentialLR-optimizer": (
        lambda m, o: m.SequentialLR(o, [m.ConstantLR(_optimizer("mg" if m is lr_scheduler else "torch"))], []),
        "optimizer",
    ),
    "ChainedScheduler-empty": (lambda m, o: m.ChainedScheduler([]), "at least one"),
    "ChainedScheduler-optimizer": (
        lambda m, o: m.ChainedScheduler(
            [m.ConstantLR(o), m.ConstantLR(_optimizer("mg" if m is lr_scheduler else "torch"))]
        ),
        "optimizer",
    ),
}


@pytest.mark.parametrize("name", list(BAD_SCHEDULERS))
def test_scheduler_bad_arguments(name):
    make, match = BAD_SCHEDULERS[name]
    with pytest.raises(ValueError, match=match):
        make(lr_scheduler, _optimizer("mg"))
    if torch is not None:
        with pytest.raises(ValueError):
            make(torch.optim.lr_scheduler, _optimizer("torch"))


def test_scheduler_bad_types_and_epochs():
    opt = _optimizer("mg")
    with pytest.raises(TypeError, match="not an Optimizer"):
        lr_scheduler.CyclicLR(object(), 0.01, 0.1)
    sched = lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3)
    with pytest.raises(ValueError, match="non-negative"):
        sched.step(-1)


# ---- nn.init ----


@pytest.mark.parametrize("shape", [(6, 4), (3, 8), (5, 5), (4, 2, 3, 3), (2, 3, 5)])
@pytest.mark.parametrize("gain", [1, 2.5])
def test_orthogonal(shape, gain):
    minigrad.manual_seed(0)
    weight = Parameter(minigrad.tensor(np.zeros(shape, dtype=np.float32)))
    assert init.orthogonal_(weight, gain=gain) is weight
    assert weight.shape == shape and weight.dtype == np.float32 and weight.is_leaf
    flat = weight.detach().numpy().astype(np.float64).reshape(shape[0], -1)
    gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    np.testing.assert_allclose(gram, gain**2 * np.eye(len(gram)), atol=1e-5 * gain**2)
    minigrad.manual_seed(0)
    again = init.orthogonal_(minigrad.tensor(np.zeros(shape, dtype=np.float32)), gain=gain)
    np.testing.assert_array_equal(again.numpy(), weight.detach().numpy())
    if torch is not None:  # PyTorch's (different random) matrix has the same property
        theirs = torch.nn.init.orthogonal_(torch.empty(shape, dtype=torch.float64), gain=gain).reshape(shape[0], -1)
        theirs_gram = theirs.T @ theirs if theirs.shape[0] >= theirs.shape[1] else theirs @ theirs.T
        np.testing.assert_allclose(theirs_gram.numpy(), gain**2 * np.eye(len(gram)), atol=1e-10)


def test_orthogonal_generator_and_empty():
    a = init.orthogonal_(minigrad.tensor(np.zeros((4, 3))), generator=minigrad.Generator().manual_seed(5))
    b = init.orthogonal_(minigrad.tensor(np.zeros((4, 3))), generator=minigrad.Generator().manual_seed(5))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert init.orthogonal_(minigrad.tensor(np.zeros((0, 3)))).shape == (0, 3)


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4), (1, 1)])
def test_eye(shape):
    weight = Parameter(minigrad.tensor(np.full(shape, 7.0, dtype=np.float32)))
    assert init.eye_(weight) is weight and weight.is_leaf
    np.testing.assert_array_equal(weight.detach().numpy(), np.eye(*shape, dtype=np.float32))
    if torch is not None:
        np.testing.assert_array_equal(weight.detach().numpy(), torch.nn.init.eye_(torch.empty(shape)).numpy())


def _dirac_expected(shape, groups):
    expected = np.zeros(shape)
    out_per_group = shape[0] // groups
    centre = tuple(s // 2 for s in shape[2:])
    for out in range(shape[0]):
        if out % out_per_group < shape[1]:
            expected[(out, out % out_per_group, *centre)] = 1
    return expected


@pytest.mark.parametrize(
    ("shape", "groups"),
    [((4, 4, 3), 1), ((3, 5, 4), 1), ((6, 2, 3, 3), 2), ((4, 4, 3, 3), 1), ((2, 5, 4, 5), 1), ((4, 2, 3, 3, 3), 2),
     ((6, 3, 1, 2), 3)],
)
def test_dirac(shape, groups):
    weight = Parameter(minigrad.tensor(np.full(shape, 3.0, dtype=np.float32)))
    assert init.dirac_(weight, groups=groups) is weight and weight.is_leaf
    np.testing.assert_array_equal(weight.detach().numpy(), _dirac_expected(shape, groups))
    if torch is not None:
        theirs = torch.nn.init.dirac_(torch.empty(shape), groups=groups)
        np.testing.assert_array_equal(weight.detach().numpy(), theirs.numpy())


def test_dirac_conv_is_identity():
    x = minigrad.tensor(np.random.default_rng(0).standard_normal((2, 3, 6, 6)).astype(np.float32))
    conv = minigrad.nn.Conv2d(3, 3, 3, padding=1, bias=False)
    init.dirac_(conv.weight)
    np.testing.assert_allclose(conv(x).detach().numpy(), x.numpy(), atol=1e-6)


@pytest.mark.parametrize(("shape", "sparsity"), [((10, 7), 0.3), ((10, 7), 0.25), ((9, 4), 0.0), ((5, 3), 1.0)])
def test_sparse_zeros_per_column(shape, sparsity):
    minigrad.manual_seed(1)
    weight = Parameter(minigrad.tensor(np.zeros(shape, dtype=np.float32)))
    assert init.sparse_(weight, sparsity) is weight and weight.is_leaf
    zeros = (weight.detach().numpy() == 0).sum(axis=0)
    assert (zeros == math.ceil(sparsity * shape[0])).all()
    if torch is not None:
        theirs = torch.nn.init.sparse_(torch.empty(shape), sparsity)
        np.testing.assert_array_equal(zeros, (theirs == 0).sum(dim=0).numpy())


def test_sparse_std_and_seed():
    minigrad.manual_seed(2)
    values = init.sparse_(minigrad.tensor(np.zeros((200, 50))), 0.1, std=0.5).numpy()
    assert np.std(values[values != 0]) == pytest.approx(0.5, rel=0.05)
    minigrad.manual_seed(2)
    np.testing.assert_array_equal(init.sparse_(minigrad.tensor(np.zeros((200, 50))), 0.1, std=0.5).numpy(), values)


def test_init_bad_inputs():
    cases = [
        (init.eye_, (2, 3, 4), {}),
        (init.eye_, (4,), {}),
        (init.dirac_, (3, 3), {}),
        (init.dirac_, (2, 2, 2, 2, 2, 2), {}),
        (init.dirac_, (5, 2, 3), {"groups": 2}),
        (init.orthogonal_, (5,), {}),
        (init.sparse_, (2, 3, 4), {"sparsity": 0.1}),
        (init.sparse_, (4,), {"sparsity": 0.1}),
    ]
    for fn, shape, kwargs in cases:
        with pytest.raises(ValueError, match="supported|divisible"):
            fn(minigrad.tensor(np.zeros(shape)), **kwargs)
        if torch is not None:
            with pytest.raises(ValueError):
                getattr(torch.nn.init, fn.__name__)(torch.zeros(shape), **kwargs)
    with pytest.raises(ValueError, match="sparsity"):
        init.sparse_(minigrad.tensor(np.zeros((3, 3))), 1.5)


# ---- IterableDataset ----


class Stream(IterableDataset):
    """n samples (features float32 (2,), label int), computed as they are read."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __iter__(self):
        for i in range(self.n):
            yield np.array([i, i + 0.5], dtype=np.float32), i


class SizedStream(Stream):
    def __len__(self) -> int:
        return self.n


class DictStream(IterableDataset):
    def __iter__(self):
        for i in range(5):
            yield {"x": np.full(3, i, dtype=np.float32), "y": i * 10}


def _torch_stream():
    """PyTorch's IterableDataset yielding Stream(10)'s samples."""

    class TorchStream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(Stream(10))

    return TorchStream()


def _as_lists(batches):
    return [[field.numpy().tolist() for field in batch] for batch in batches]


@pytest.mark.parametrize("num_workers", [0, 3])
def test_iterable_batches(num_workers):
    loader = DataLoader(Stream(10), batch_size=4, num_workers=num_workers)
    batches = list(loader)
    assert [b[0].shape for b in batches] == [(4, 2), (4, 2), (2, 2)]
    assert batches[0][0].dtype == np.float32 and batches[0][1].dtype == np.int64
    assert [b[1].numpy().tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    np.testing.assert_array_equal(batches[2][0].numpy(), [[8, 8.5], [9, 9.5]])
    assert _as_lists(loader) == _as_lists(batches)  # iterated anew each epoch
    if torch is not None:
        theirs = [[f.numpy().tolist() for f in b] for b in torch.utils.data.DataLoader(_torch_stream(), batch_size=4)]
        assert _as_lists(batches) == theirs


def test_iterable_drop_last_and_len():
    assert [b[1].numpy().tolist() for b in DataLoader(Stream(10), batch_size=4, drop_last=True)] == [
        [0, 1, 2, 3], [4, 5, 6, 7]
    ]
    assert len(list(DataLoader(Stream(8), batch_size=4, drop_last=True))) == 2
    assert len(DataLoader(SizedStream(10), batch_size=4)) == 3
    assert len(DataLoader(SizedStream(10), batch_size=4, drop_last=True)) == 2
    with pytest.raises(TypeError):
        len(DataLoader(Stream(10), batch_size=4))
    if torch is not None:
        with pytest.raises(TypeError):
            len(torch.utils.data.DataLoader(_torch_stream(), batch_size=4))


def test_iterable_collate_fn_and_dicts():
    sums = list(DataLoader(Stream(5), batch_size=2, collate_fn=lambda samples: sum(s[1] for s in samples)))
    assert sums == [1, 5, 4]
    batches = list(DataLoader(DictStream(), batch_size=3))
    assert [sorted(b) for b in batches] == [["x", "y"], ["x", "y"]]
    np.testing.assert_array_equal(batches[0]["x"].numpy(), np.repeat(np.arange(3.0, dtype=np.float32), 3).reshape(3, 3))
    assert batches[1]["y"].numpy().tolist() == [30, 40]
    raw = list(DataLoader(DictStream(), batch_size=5, as_tensor=False))
    assert isinstance(raw[0]["x"], np.ndarray) and raw[0]["y"].tolist() == [0, 10, 20, 30, 40]


def test_iterable_shuffle_and_sampler_are_errors():
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(Stream(4), shuffle=True)
    with pytest.raises(ValueError, match="sampler"):
        DataLoader(Stream(4), sampler=[0, 1, 2, 3])
    if torch is not None:
        with pytest.raises(ValueError, match="shuffle"):
            torch.utils.data.DataLoader(_torch_stream(), shuffle=True)


def test_iterable_errors_reach_the_consumer():
    class Broken(IterableDataset):
        def __iter__(self):
            yield 1
            raise RuntimeError("stream broke")

    with pytest.raises(RuntimeError, match="stream broke"):
        list(DataLoader(Broken(), batch_size=1))
    with pytest.raises(TypeError, match="abstract"):  # as PyTorch's, an Iterable without __iter__
        IterableDataset()


def test_iterable_dataset_exports():
    from minigrad.utils import data as utils_data

    assert utils_data.IterableDataset is IterableDataset and "IterableDataset" in utils_data.__all__
    assert "IterableDataset" in minigrad.data.__all__ and issubclass(IterableDataset, Dataset)
