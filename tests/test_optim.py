"""Optimizers and LR schedulers: updates and lr sequences identical to torch's, resumable state."""

import math

import numpy as np
import pytest
from torch_reference import TorchReference

import minigrad
from minigrad import nn, optim
from minigrad.nn import Parameter
from minigrad.optim import lr_scheduler
from minigrad.serialization import load, save
from minigrad.tensor import Tensor

torch_reference = TorchReference(__name__)

OPTIMIZER_CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.1)),
    ("Adam", dict(lr=0.1, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.1, amsgrad=True, maximize=True)),
    ("AdamW", dict(lr=0.1)),
    ("AdamW", dict(lr=0.1, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("Adagrad", dict(lr=0.1, maximize=True, eps=1e-6)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1)),
    ("Adadelta", dict(lr=0.5, maximize=True)),
]
CASE_IDS = [
    f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}"
    for name, kw in OPTIMIZER_CASES
]
SHAPES = [(3, 4), (4,), (2, 1, 3, 3)]


def _problem(dtype, steps, seed=0):
    rng = np.random.default_rng(seed)
    inits = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]
    return inits, grads


def _minigrad_run(opt, params, grads):
    for step_grads in grads:
        for p, g in zip(params, step_grads, strict=True):
            p.grad = minigrad.tensor(g.copy())
        opt.step()


def _torch_run(torch, make_opt, inits, grads):
    """torch.optim's optimizer make_opt(params) after the steps: (params, optimizer)."""
    params = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in inits]
    opt = make_opt(params)
    for step_grads in grads:
        for p, g in zip(params, step_grads, strict=True):
            p.grad = torch.from_numpy(g.copy())
        opt.step()
    return params, opt


def _torch_params_after(torch, make_opt, inits, grads):
    params, _ = _torch_run(torch, make_opt, inits, grads)
    return {f"param{i}": p for i, p in enumerate(params)}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("name", "kwargs"), OPTIMIZER_CASES, ids=CASE_IDS)
def test_steps_match_torch(name, kwargs, dtype):
    inits, grads = _problem(dtype, steps=6)
    params = [Parameter(minigrad.tensor(a.copy())) for a in inits]
    _minigrad_run(getattr(optim, name)(params, **kwargs), params, grads)
    expected = torch_reference(
        f"steps/{name}-{sorted(kwargs.items())}/{np.dtype(dtype).name}",
        lambda torch: _torch_params_after(torch, lambda ps: getattr(torch.optim, name)(ps, **kwargs), inits, grads),
    )
    tol = dict(rtol=1e-12, atol=1e-13) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    for p, e in zip(params, expected.values(), strict=True):
        assert p.dtype == dtype
        np.testing.assert_allclose(p.detach().numpy(), e, **tol)


def test_param_groups_with_own_hyperparameters_match_torch():
    inits, grads = _problem(np.float64, steps=4, seed=1)
    params = [Parameter(minigrad.tensor(a.copy())) for a in inits]
    opt = optim.SGD(
        [{"params": params[:2]}, {"params": params[2:], "lr": 0.5, "nesterov": True}],
        lr=0.1,
        momentum=0.9,
    )
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["lr"] == 0.5
    assert opt.param_groups[0]["nesterov"] is False
    _minigrad_run(opt, params, grads)

    def make_torch_sgd(torch, ps):
        groups = [{"params": ps[:2]}, {"params": ps[2:], "lr": 0.5, "nesterov": True}]
        return torch.optim.SGD(groups, lr=0.1, momentum=0.9)

    expected = torch_reference(
        "param_groups/SGD", lambda torch: _torch_params_after(torch, lambda ps: make_torch_sgd(torch, ps), inits, grads)
    )
    for p, e in zip(params, expected.values(), strict=True):
        np.testing.assert_allclose(p.detach().numpy(), e, rtol=1e-12)


def test_parameters_without_grad_are_skipped_and_closure_is_returned():
    a, b = Parameter(minigrad.tensor(np.ones(3))), Parameter(minigrad.tensor(np.ones(3)))
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = minigrad.tensor(np.full(3, 2.0))
    assert opt.step(lambda: 42.0) == 42.0
    assert np.all(a.detach().numpy() < 1.0)
    np.testing.assert_array_equal(b.detach().numpy(), np.ones(3))
    assert b not in opt.state or not opt.state[b]


def test_zero_grad_and_bad_arguments():
    a = Parameter(minigrad.tensor(np.ones(2)))
    opt = optim.SGD([a], lr=0.1)
    a.grad = minigrad.tensor(np.ones(2))
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad.numpy(), np.zeros(2))
    opt.zero_grad()
    assert a.grad is None
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.SGD(a, lr=0.1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([a], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="invalid learning rate"):
        optim.Adam([a], lr=-1.0)
    leaf = minigrad.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([leaf * 2], lr=0.1)


def test_frozen_parameters_are_accepted_and_left_alone_until_unfrozen():
    # fine-tuning: optimizer built over all parameters, some frozen (as PyTorch allows)
    layer = nn.Linear(3, 2)
    layer.weight.requires_grad_(False)
    frozen = layer.weight.numpy().copy()
    opt = optim.SGD(layer.parameters(), lr=0.1, momentum=0.9)
    for _ in range(2):
        opt.zero_grad()
        layer(minigrad.tensor(np.ones((4, 3), np.float32))).sum().backward()
        opt.step()
    np.testing.assert_array_equal(layer.weight.numpy(), frozen)
    assert layer.bias.grad is not None and len(opt.state_dict()["state"]) == 1
    layer.weight.requires_grad_(True)
    opt.zero_grad()
    layer(minigrad.tensor(np.ones((4, 3), np.float32))).sum().backward()
    opt.step()
    assert not np.array_equal(layer.weight.detach().numpy(), frozen)


def _torch_state_dict(torch, name, kwargs, inits, grads):
    """torch.optim's state_dict after the steps, flattened: state/<index>/<key>, the group's keys and params."""
    _, opt = _torch_run(torch, lambda ps: getattr(torch.optim, name)(ps, **kwargs), inits, grads)
    theirs = opt.state_dict()
    results = {f"state/{i}/{k}": v for i, state in theirs["state"].items() for k, v in state.items()}
    group = theirs["param_groups"][0]
    return results | {"group_keys": np.array(sorted(group)), "group_params": np.array(group["params"])}


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [OPTIMIZER_CASES[i] for i in (1, 7, 13, 15, 18)],
    ids=[CASE_IDS[i] for i in (1, 7, 13, 15, 18)],
)
def test_state_dict_layout_matches_torch(name, kwargs):
    inits, grads = _problem(np.float64, steps=2)
    params = [Parameter(minigrad.tensor(a.copy())) for a in inits]
    opt = getattr(optim, name)(params, **kwargs)
    _minigrad_run(opt, params, grads)
    theirs = torch_reference(
        f"state_dict/{name}-{sorted(kwargs.items())}",
        lambda torch: _torch_state_dict(torch, name, kwargs, inits, grads),
    )
    ours = opt.state_dict()
    their_state = {k for k in theirs if k.startswith("state/")}
    assert {f"state/{i}/{k}" for i, state in ours["state"].items() for k in state} == their_state
    assert set(ours["state"]) == {0, 1, 2}
    for key in their_state:
        _, index, entry = key.split("/")
        np.testing.assert_allclose(np.asarray(_plain(ours["state"][int(index)][entry])), theirs[key], rtol=1e-12)
    assert ours["param_groups"][0]["params"] == theirs["group_params"].tolist()
    assert set(ours["param_groups"][0]) <= set(theirs["group_keys"].tolist())


def _plain(value):
    return value.numpy() if isinstance(value, Tensor) else value


@pytest.mark.parametrize(("name", "kwargs"), OPTIMIZER_CASES[1::3], ids=CASE_IDS[1::3])
def test_resume_from_saved_checkpoint_is_exact(tmp_path, name, kwargs):
    inits, grads = _problem(np.float32, steps=6, seed=2)
    straight = [Parameter(minigrad.tensor(a.copy())) for a in inits]
    _minigrad_run(getattr(optim, name)(straight, **kwargs), straight, grads)

    params = [Parameter(minigrad.tensor(a.copy())) for a in inits]
    opt = getattr(optim, name)(params, **kwargs)
    _minigrad_run(opt, params, grads[:3])
    path = tmp_path / "ckpt.safetensors"
    save({"params": {str(i): p for i, p in enumerate(params)}, "optimizer": opt.state_dict()}, path)
    ckpt = load(path)
    resumed = [Parameter(ckpt["params"][str(i)]) for i in range(len(params))]
    opt2 = getattr(optim, name)(resumed, **kwargs)
    opt2.load_state_dict(ckpt["optimizer"])
    _minigrad_run(opt2, resumed, grads[3:])
    for a, b in zip(straight, resumed, strict=True):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_load_state_dict_copies_and_checks_layout():
    a, b = Parameter(minigrad.tensor(np.ones(2))), Parameter(minigrad.tensor(np.ones(3)))
    opt = optim.SGD([a, b], lr=0.1, momentum=0.9)
    a.grad, b.grad = minigrad.tensor(np.ones(2)), minigrad.tensor(np.ones(3))
    opt.step()
    saved = opt.state_dict()
    other = optim.SGD([a, b], lr=0.5, momentum=0.9)
    other.load_state_dict(saved)
    assert other.param_groups[0]["lr"] == 0.1 and other.param_groups[0]["params"][0] is a
    other.step()  # must not write into the first optimizer's buffers
    np.testing.assert_array_equal(saved["state"][0]["momentum_buffer"].numpy(), np.ones(2))
    with pytest.raises(ValueError, match="parameter groups"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match="has 2 parameters"):
        optim.SGD([a], lr=0.1).load_state_dict(saved)
    swapped = {**saved, "state": {0: saved["state"][1], 1: saved["state"][0]}}
    with pytest.raises(ValueError, match=r"state 0 'momentum_buffer': a float64 tensor of shape \(3,\), "
                       r"the parameter is float64 \(2,\)"):
        other.load_state_dict(swapped)
    ints = {**saved, "state": {0: {"momentum_buffer": minigrad.tensor(np.ones(2, np.int64))}}}
    with pytest.raises(ValueError, match="int64 tensor"):
        other.load_state_dict(ints)


# ---- schedulers ----


def _lr_sequence(make_opt, make_sched, epochs, metrics=None):
    opt = make_opt()
    sched = make_sched(opt)
    lrs = [list(sched.get_last_lr())] if hasattr(sched, "get_last_lr") else []
    for epoch in range(epochs):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[epoch])
        lrs.append([g["lr"] for g in opt.param_groups])
    return lrs


SCHEDULER_CASES = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("StepLR", dict(step_size=1)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=7)),
    ("CosineAnnealingLR", dict(T_max=5, eta_min=0.01)),
]


@pytest.mark.parametrize(
    ("name", "kwargs"), SCHEDULER_CASES, ids=[c[0] + str(i) for i, c in enumerate(SCHEDULER_CASES)]
)
def test_scheduler_lr_sequence_matches_torch(name, kwargs):
    ours = _lr_sequence(
        lambda: optim.SGD(
            [
                {"params": [Parameter(minigrad.tensor(np.ones(1)))]},
                {"params": [Parameter(minigrad.tensor(np.ones(1)))], "lr": 0.05},
            ],
            lr=0.1,
        ),
        lambda o: getattr(lr_scheduler, name)(o, **kwargs),
        epochs=25,
    )
    theirs = torch_reference(
        f"scheduler/{name}-{sorted(kwargs.items())}",
        lambda torch: {
            "lrs": _lr_sequence(
                lambda: torch.optim.SGD(
                    [
                        {"params": [torch.nn.Parameter(torch.ones(1))]},
                        {"params": [torch.nn.Parameter(torch.ones(1))], "lr": 0.05},
                    ],
                    lr=0.1,
                ),
                lambda o: getattr(torch.optim.lr_scheduler, name)(o, **kwargs),
                epochs=25,
            )
        },
    )
    assert ours == theirs["lrs"].tolist()


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(),
        dict(
            mode="max",
            factor=0.5,
            patience=1,
            threshold=0.1,
            threshold_mode="abs",
            cooldown=2,
            min_lr=0.01,
        ),
        dict(factor=0.2, patience=0, cooldown=1, min_lr=[0.001, 0.02], eps=1e-3),
    ],
)
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    metrics = [
        1.0,
        0.9,
        0.95,
        0.95,
        0.9,
        0.91,
        0.92,
        0.85,
        0.85,
        0.85,
        0.85,
        0.8,
        0.9,
        0.95,
        0.95,
        1.0,
        1.0,
        1.0,
        0.7,
        0.7,
    ] * 2
    ours = _lr_sequence(
        lambda: optim.SGD(
            [
                {"params": [Parameter(minigrad.tensor(np.ones(1)))]},
                {"params": [Parameter(minigrad.tensor(np.ones(1)))], "lr": 0.5},
            ],
            lr=0.1,
        ),
        lambda o: lr_scheduler.ReduceLROnPlateau(o, **kwargs),
        len(metrics),
        metrics,
    )
    theirs = torch_reference(
        f"plateau/{sorted(kwargs.items())}",
        lambda torch: {
            "lrs": _lr_sequence(
                lambda: torch.optim.SGD(
                    [
                        {"params": [torch.nn.Parameter(torch.ones(1))]},
                        {"params": [torch.nn.Parameter(torch.ones(1))], "lr": 0.5},
                    ],
                    lr=0.1,
                ),
                lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, **kwargs),
                len(metrics),
                metrics,
            )
        },
    )["lrs"].tolist()
    assert ours == theirs
    assert ours[-1] != ours[0]  # the schedule did reduce something


def test_scheduler_state_dict_resume(tmp_path):
    def make():
        opt = optim.SGD([Parameter(minigrad.tensor(np.ones(1)))], lr=0.1)
        return opt, lr_scheduler.CosineAnnealingLR(opt, T_max=6, eta_min=0.001)

    opt, sched = make()
    for _ in range(10):
        opt.step()
        sched.step()
    expected = sched.get_last_lr()

    opt, sched = make()
    for _ in range(4):
        opt.step()
        sched.step()
    path = tmp_path / "ckpt.safetensors"
    save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, path)
    ckpt = load(path)
    opt2, sched2 = make()
    opt2.load_state_dict(ckpt["optimizer"])
    sched2.load_state_dict(ckpt["scheduler"])
    for _ in range(6):
        opt2.step()
        sched2.step()
    assert sched2.get_last_lr() == expected

    plateau = lr_scheduler.ReduceLROnPlateau(opt2, patience=0)
    plateau.step(1.0)
    copy = lr_scheduler.ReduceLROnPlateau(opt2)
    copy.load_state_dict(plateau.state_dict())
    assert copy.best == 1.0 and copy.patience == 0


def test_scheduler_bad_arguments():
    opt = optim.SGD([Parameter(minigrad.tensor(np.ones(1)))], lr=0.1)
    with pytest.raises(TypeError, match="not an Optimizer"):
        lr_scheduler.StepLR(object(), step_size=2)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="mode"):
        lr_scheduler.ReduceLROnPlateau(opt, mode="up")
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(
            optim.SGD([Parameter(minigrad.tensor(np.ones(1)))], lr=0.1), step_size=2, last_epoch=3
        )


# ---- end to end: each optimizer drives a small model to near-zero loss ----

TRAINING_CASES = [
    ("SGD", dict(lr=0.1, momentum=0.9), 150),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True), 150),
    ("Adam", dict(lr=0.02), 150),
    ("AdamW", dict(lr=0.02, weight_decay=1e-4), 150),
    ("RMSprop", dict(lr=0.005), 150),
    ("Adagrad", dict(lr=0.1), 200),
    ("Adadelta", dict(lr=10.0), 200),
]


def _fixed_batch(seed, shape, classes=3, n=12):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, *shape)).astype(np.float32), np.arange(
        n, dtype=np.int64
    ) % classes


def _overfit(model, x, y, name, kwargs, steps):
    opt = getattr(optim, name)(model.parameters(), **kwargs)
    loss_fn = nn.CrossEntropyLoss()
    xs, ys = minigrad.tensor(x), minigrad.tensor(y)
    first = None
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(xs), ys)
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    final = loss_fn(model(xs), ys).item()
    assert math.isfinite(final)
    return first, final


@pytest.mark.parametrize(
    ("name", "kwargs", "steps"),
    TRAINING_CASES,
    ids=[c[0] + str(i) for i, c in enumerate(TRAINING_CASES)],
)
def test_mlp_overfits_fixed_batch(name, kwargs, steps):
    import minigrad

    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 32), nn.Tanh(), nn.Linear(32, 3))
    first, final = _overfit(model, *_fixed_batch(0, (6,)), name, kwargs, steps)
    assert final < 0.02 < first


@pytest.mark.parametrize(
    ("name", "kwargs", "steps"),
    TRAINING_CASES,
    ids=[c[0] + str(i) for i, c in enumerate(TRAINING_CASES)],
)
def test_cnn_overfits_fixed_batch(name, kwargs, steps):
    import minigrad

    minigrad.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 3 * 3, 3),
    )
    first, final = _overfit(model, *_fixed_batch(1, (1, 6, 6)), name, kwargs, steps)
    assert final < 0.02 < first


@pytest.mark.parametrize("make", [
    lambda p: optim.SGD(p, lr=float("nan")),
    lambda p: optim.Adam(p, lr=float("nan")),
    lambda p: optim.AdamW(p, betas=(0.9, float("nan"))),
    lambda p: optim.RMSprop(p, alpha=float("nan")),
    lambda p: optim.Adagrad(p, eps=float("nan")),
    lambda p: optim.Adadelta(p, rho=float("nan")),
])
def test_nan_hyperparameters_are_refused(make):
    # issue 13, defect 9: optim.Adam(lr=nan) was accepted (every range check is `x < 0`)
    with pytest.raises(ValueError, match="invalid .*nan"):
        make([minigrad.zeros(2, requires_grad=True)])
