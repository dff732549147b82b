"""Adamax, NAdam and RAdam: every step matches PyTorch's and a numpy transcription of PyTorch's
update rules (the only reference without PyTorch), on every device; state dicts carry over
between minigrad, PyTorch and the transcription mid-run, and bad arguments raise as PyTorch."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import minigrad
from minigrad import optim
from minigrad.nn import Parameter
from minigrad.serialization import load, save
from minigrad.tensor import Tensor

try:
    import torch
except ImportError:
    torch = None

STEPS = 30
DEFAULTS = {  # PyTorch's, implementation switches (foreach, capturable, differentiable) included
    "Adamax": dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, foreach=None, maximize=False,
                   differentiable=False, capturable=False),
    "NAdam": dict(
        lr=2e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.0,
        momentum_decay=4e-3,
        decoupled_weight_decay=False,
        maximize=False,
        foreach=None,
        capturable=False,
        differentiable=False,
    ),
    "RAdam": dict(
        lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False, foreach=None, capturable=False,
        decoupled_weight_decay=False, differentiable=False,
    ),
}
TWO_GROUPS = [{}, {"lr": 0.01, "betas": (0.8, 0.9), "weight_decay": 0.1}]  # the second group's own settings
CASES = [
    ("Adamax", dict(), None),
    ("Adamax", dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1), None),
    ("Adamax", dict(lr=0.05, weight_decay=0.05, maximize=True), None),
    ("Adamax", dict(lr=0.05), TWO_GROUPS),
    ("NAdam", dict(), None),
    ("NAdam", dict(lr=0.05, weight_decay=0.1), None),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True), None),
    ("NAdam", dict(lr=0.02, betas=(0.8, 0.9), momentum_decay=0.01, maximize=True), None),
    ("NAdam", dict(lr=0.05, decoupled_weight_decay=True), TWO_GROUPS),
    ("RAdam", dict(), None),
    ("RAdam", dict(lr=0.05, weight_decay=0.1), None),
    ("RAdam", dict(lr=0.05, betas=(0.9, 0.99), weight_decay=0.1, decoupled_weight_decay=True), None),
    ("RAdam", dict(lr=0.05, maximize=True), None),
    ("RAdam", dict(lr=0.05), TWO_GROUPS),
]
CASE_IDS = [
    f"{name}-{'-'.join(f'{k}={v}' for k, v in kwargs.items()) or 'defaults'}{'-two_groups' if groups else ''}"
    for name, kwargs, groups in CASES
]


@dataclass
class Problem:
    """Minimise sum(scale * (param - target) ** 2) over two parameters; a third, frozen, gets no gradient."""

    inits: list[np.ndarray]
    targets: list[np.ndarray]
    scales: list[np.ndarray]
    frozen: np.ndarray


def _problem(dtype: Any) -> Problem:
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (5,)]
    inits = [rng.standard_normal(s).astype(dtype) for s in shapes]
    targets = [rng.standard_normal(s).astype(dtype) for s in shapes]
    scales = [rng.uniform(0.5, 2.0, s).astype(dtype) for s in shapes]
    return Problem(inits, targets, scales, rng.standard_normal(2).astype(dtype))


def _param_groups(params: list[Any], frozen: Any, groups: list[dict] | None) -> list[Any]:
    """The optimizer's params argument; either way the parameters are numbered 0, 1 and frozen 2."""
    if groups is None:
        return [*params, frozen]
    return [{"params": [params[0]], **groups[0]}, {"params": [params[1], frozen], **groups[1]}]


def _neutral(value: Any) -> Any:
    """A state or group value of either library as numpy arrays and plain values."""
    if isinstance(value, dict):
        return {k: _neutral(v) for k, v in value.items()}
    if isinstance(value, Tensor) or (torch is not None and isinstance(value, torch.Tensor)):
        return value.detach().numpy().copy()
    if isinstance(value, np.ndarray):  # the transcription's own buffers, which its next step changes
        return value.copy()
    if isinstance(value, list):
        return list(value)
    return value


class MinigradRun:
    """minigrad's optimizer on the problem, on device, starting from start (default: the inits)."""

    def __init__(self, name: str, kwargs: dict, groups: list | None, problem: Problem, device: str,
                 start: list[np.ndarray] | None = None) -> None:
        def tensor(a: np.ndarray) -> Tensor:
            return minigrad.tensor(a.copy(), device=device)

        self.params = [Parameter(tensor(a)) for a in (start or problem.inits)]
        self.frozen = Parameter(tensor(problem.frozen))
        self.targets, self.scales = [tensor(t) for t in problem.targets], [tensor(s) for s in problem.scales]
        self.opt = getattr(optim, name)(_param_groups(self.params, self.frozen, groups), **kwargs)

    def step(self) -> None:
        self.opt.zero_grad()
        loss = sum(((p - t) ** 2 * s).sum() for p, t, s in zip(self.params, self.targets, self.scales, strict=True))
        loss.backward()
        self.opt.step()

    def values(self) -> list[np.ndarray]:
        return [p.detach().numpy().copy() for p in self.params]  # a copy: on the CPU numpy() is a view

    def state_dict(self) -> dict:
        return _neutral(self.opt.state_dict())

    def load_state_dict(self, state_dict: dict) -> None:
        state = {i: {k: minigrad.tensor(v) if isinstance(v, np.ndarray) else v for k, v in s.items()}
                 for i, s in state_dict["state"].items()}
        self.opt.load_state_dict({**state_dict, "state": state})


class TorchRun:
    """torch.optim's optimizer on the problem (CPU)."""

    def __init__(self, name: str, kwargs: dict, groups: list | None, problem: Problem,
                 start: list[np.ndarray] | None = None) -> None:
        self.params = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in (start or problem.inits)]
        frozen = torch.nn.Parameter(torch.from_numpy(problem.frozen.copy()))
        self.targets = [torch.from_numpy(t) for t in problem.targets]
        self.scales = [torch.from_numpy(s) for s in problem.scales]
        self.opt = getattr(torch.optim, name)(_param_groups(self.params, frozen, groups), **kwargs)

    def step(self) -> None:
        self.opt.zero_grad()
        loss = sum(((p - t) ** 2 * s).sum() for p, t, s in zip(self.params, self.targets, self.scales, strict=True))
        loss.backward()
        self.opt.step()

    def values(self) -> list[np.ndarray]:
        return [p.detach().numpy().copy() for p in self.params]

    def state_dict(self) -> dict:
        return _neutral(self.opt.state_dict())

    def load_state_dict(self, state_dict: dict) -> None:
        state = {i: {k: torch.from_numpy(v.copy()) if isinstance(v, np.ndarray) else v for k, v in s.items()}
                 for i, s in state_dict["state"].items()}
        self.opt.load_state_dict({**state_dict, "state": state})


def _numpy_update(name: str, h: dict, p: np.ndarray, g: np.ndarray, state: dict) -> None:
    """PyTorch's single-tensor update of one parameter with group settings h, transcribed to numpy
    (p and state in place)."""
    lr, (beta1, beta2), eps, weight_decay = h["lr"], h["betas"], h["eps"], h["weight_decay"]
    if not state:
        state.update(step=0, exp_avg=np.zeros_like(p))
        if name == "Adamax":
            state["exp_inf"] = np.zeros_like(p)
        else:
            state["exp_avg_sq"] = np.zeros_like(p)
        if name == "NAdam":
            state["mu_product"] = 1.0
    state["step"] += 1
    step = state["step"]
    g = -g if h["maximize"] else g
    if weight_decay:
        if h.get("decoupled_weight_decay", False):
            p *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * p
    m = state["exp_avg"]
    m += (1 - beta1) * (g - m)
    if name == "Adamax":
        u = state["exp_inf"]
        u[...] = np.maximum(beta2 * u, np.abs(g) + eps)
        p -= lr / (1 - beta1**step) * m / u
        return
    v = state["exp_avg_sq"]
    v *= beta2
    v += (1 - beta2) * g * g
    bias_correction2 = 1 - beta2**step
    if name == "NAdam":
        mu = beta1 * (1 - 0.5 * 0.96 ** (step * h["momentum_decay"]))
        mu_next = beta1 * (1 - 0.5 * 0.96 ** ((step + 1) * h["momentum_decay"]))
        # PyTorch keeps mu_product in a 0-d tensor of its default dtype, float32
        mu_product = state["mu_product"] = float(np.float32(state["mu_product"]) * np.float32(mu))
        denom = np.sqrt(v / bias_correction2) + eps
        p -= lr * (1 - mu) / (1 - mu_product) * g / denom
        p -= lr * mu_next / (1 - mu_product * mu_next) * m / denom
        return
    update = lr * m / (1 - beta1**step)
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * beta2**step / bias_correction2
    if rho_t > 5:
        rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        update = update * rect * math.sqrt(bias_correction2) / (np.sqrt(v) + eps)
    p -= update


class NumpyRun:
    """The numpy transcription on the problem, with the same state dict layout."""

    def __init__(self, name: str, kwargs: dict, groups: list | None, problem: Problem,
                 start: list[np.ndarray] | None = None) -> None:
        self.name, self.problem = name, problem
        self.params = [a.copy() for a in (start or problem.inits)]
        group_settings = [{**DEFAULTS[name], **kwargs, **own} for own in (groups or [{}])]
        indices = [[0, 1, 2]] if groups is None else [[0], [1, 2]]
        self.groups = [{**s, "params": i} for s, i in zip(group_settings, indices, strict=True)]
        self.state: dict[int, dict] = {}

    def step(self) -> None:
        for group in self.groups:
            for i in group["params"]:
                if i == 2:  # the frozen parameter has no gradient
                    continue
                p, t, s = self.params[i], self.problem.targets[i], self.problem.scales[i]
                _numpy_update(self.name, group, p, 2 * s * (p - t), self.state.setdefault(i, {}))

    def values(self) -> list[np.ndarray]:
        return [p.copy() for p in self.params]

    def state_dict(self) -> dict:
        return _neutral({"state": self.state, "param_groups": self.groups})

    def load_state_dict(self, state_dict: dict) -> None:
        self.groups = [dict(g) for g in state_dict["param_groups"]]
        numbers = {"step": int, "mu_product": float}  # PyTorch's are 0-d tensors
        dtype = self.params[0].dtype
        self.state = {
            int(i): {k: numbers[k](v) if k in numbers else np.array(v, dtype) for k, v in s.items()}
            for i, s in state_dict["state"].items()
        }


def _references(name: str, kwargs: dict, groups: list | None, problem: Problem,
                start: list[np.ndarray] | None = None) -> list[Any]:
    """The numpy transcription, and PyTorch's optimizer where PyTorch is installed."""
    runs: list[Any] = [NumpyRun(name, kwargs, groups, problem, start)]
    if torch is not None:
        runs.append(TorchRun(name, kwargs, groups, problem, start))
    return runs


def _assert_close(ours: list[np.ndarray], theirs: list[np.ndarray], where: str) -> None:
    for a, b in zip(ours, theirs, strict=True):
        assert a.dtype == b.dtype, where
        tol = dict(rtol=1e-12, atol=1e-12) if a.dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
        np.testing.assert_allclose(a, b, err_msg=where, **tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("name", "kwargs", "groups"), CASES, ids=CASE_IDS)
def test_every_step_matches_torch_and_numpy(name, kwargs, groups, dtype, device):
    problem = _problem(dtype)
    ours = MinigradRun(name, kwargs, groups, problem, device)
    references = _references(name, kwargs, groups, problem)
    for step in range(1, STEPS + 1):
        for run in (ours, *references):
            run.step()
        for reference in references:
            _assert_close(ours.values(), reference.values(), f"{type(reference).__name__}, step {step}")
    assert not np.allclose(ours.values()[0], problem.inits[0])  # the parameters did move
    np.testing.assert_array_equal(ours.frozen.detach().numpy(), problem.frozen)  # no grad: left alone
    assert ours.frozen not in ours.opt.state


@pytest.mark.parametrize("name", list(DEFAULTS))
def test_defaults_and_param_groups_as_torch(name):
    problem = _problem(np.float64)
    ours = MinigradRun(name, {}, TWO_GROUPS, problem, "cpu")
    assert ours.opt.defaults == DEFAULTS[name]
    assert [g["lr"] for g in ours.opt.param_groups] == [DEFAULTS[name]["lr"], 0.01]
    assert ours.opt.param_groups[1]["eps"] == DEFAULTS[name]["eps"]
    if torch is not None:
        theirs = TorchRun(name, {}, TWO_GROUPS, problem).opt
        for key, value in DEFAULTS[name].items():
            assert theirs.defaults[key] == value, key
        for our_group, their_group in zip(ours.opt.param_groups, theirs.param_groups, strict=True):
            assert {k: v for k, v in our_group.items() if k != "params"}.items() <= their_group.items()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("name", "kwargs", "groups"), [CASES[i] for i in (2, 6, 8, 11)], ids=[CASE_IDS[i] for i in (2, 6, 8, 11)]
)
def test_state_dict_carries_over_between_libraries_mid_run(name, kwargs, groups, dtype, device):
    """Each library continues exactly from another's state_dict(): same state names, same meaning."""
    problem = _problem(dtype)
    runs = {"minigrad": MinigradRun(name, kwargs, groups, problem, device)} | {
        type(r).__name__: r for r in _references(name, kwargs, groups, problem)
    }
    for _ in range(STEPS // 2):
        for run in runs.values():
            run.step()
    saved = {library: run.state_dict() for library, run in runs.items()}
    for library, state_dict in saved.items():  # the same entries everywhere
        assert {i: sorted(s) for i, s in state_dict["state"].items()} == {
            i: sorted(s) for i, s in saved["minigrad"]["state"].items()
        }, library
    starts = {library: run.values() for library, run in runs.items()}
    trajectories: dict[str, list[list[np.ndarray]]] = {library: [] for library in runs}
    for _ in range(STEPS // 2):
        for library, run in runs.items():
            run.step()
            trajectories[library].append(run.values())
    pairs = [(source, "minigrad") for source in runs if source != "minigrad"]
    pairs += [("minigrad", target) for target in runs if target != "minigrad"]
    for source, target in pairs:
        settings = (name, dict(kwargs, lr=0.5), groups, problem)  # the state dict's groups set lr back
        if target == "minigrad":
            resumed = MinigradRun(*settings, device, starts[source])
        else:
            resumed = type(runs[target])(*settings, starts[source])
        resumed.load_state_dict(saved[source])
        for step, expected in enumerate(trajectories[source], start=1):
            resumed.step()
            _assert_close(resumed.values(), expected, f"{source} -> {target}, step {step}")


@pytest.mark.parametrize(
    ("name", "kwargs", "groups"), [CASES[i] for i in (1, 7, 13)], ids=[CASE_IDS[i] for i in (1, 7, 13)]
)
def test_checkpoint_round_trip_mid_run_is_exact(tmp_path, name, kwargs, groups, device):
    problem = _problem(np.float32)
    straight = MinigradRun(name, kwargs, groups, problem, device)
    for _ in range(STEPS):
        straight.step()

    first = MinigradRun(name, kwargs, groups, problem, device)
    for _ in range(STEPS // 2):
        first.step()
    path = tmp_path / "checkpoint.safetensors"
    save({"params": list(first.params), "optimizer": first.opt.state_dict()}, path)
    checkpoint = load(path)
    start = [p.numpy() for p in checkpoint["params"]]
    resumed = MinigradRun(name, dict(kwargs, lr=0.5), groups, problem, device, start)
    resumed.opt.load_state_dict(checkpoint["optimizer"])
    assert resumed.opt.param_groups[0]["lr"] == first.opt.param_groups[0]["lr"]
    for _ in range(STEPS - STEPS // 2):
        resumed.step()
    for a, b in zip(straight.values(), resumed.values(), strict=True):
        np.testing.assert_array_equal(a, b)


@contextmanager
def _default_dtype(dtype: Any) -> Iterator[None]:
    """minigrad's default float dtype, and PyTorch's where installed, set to dtype meanwhile."""
    previous = minigrad.get_default_dtype()
    torch_previous = None if torch is None else torch.get_default_dtype()
    minigrad.set_default_dtype(dtype)
    if torch is not None:
        torch.set_default_dtype(getattr(torch, np.dtype(dtype).name))
    try:
        yield
    finally:
        minigrad.set_default_dtype(previous)
        if torch is not None:
            torch.set_default_dtype(torch_previous)


@pytest.mark.parametrize("default", [np.float32, np.float64])
def test_nadam_keeps_mu_product_in_the_default_dtype(default):
    """As PyTorch, which keeps mu_product in a 0-d tensor of its default dtype: a float64 run's
    steps depend on it."""
    problem = _problem(np.float64)
    with _default_dtype(default):
        ours = MinigradRun("NAdam", dict(lr=0.05), None, problem, "cpu")
        theirs = None if torch is None else TorchRun("NAdam", dict(lr=0.05), None, problem)
        expected = default(1.0)
        for step in range(1, STEPS + 1):
            expected = expected * default(0.9 * (1.0 - 0.5 * 0.96 ** (step * 4e-3)))
            ours.step()
            if theirs is not None:
                theirs.step()
                _assert_close(ours.values(), theirs.values(), f"step {step}")
    assert [ours.opt.state[p]["mu_product"] for p in ours.params] == [float(expected)] * 2
    if theirs is not None:
        assert [theirs.opt.state[p]["mu_product"].item() for p in theirs.params] == [float(expected)] * 2


BAD_ARGUMENTS = [
    dict(lr=-1e-3),
    dict(lr=math.nan),
    dict(betas=(-0.1, 0.999)),
    dict(betas=(1.0, 0.999)),
    dict(betas=(0.9, 1.0)),
    dict(betas=(0.9, -1e-3)),
    dict(eps=-1e-8),
    dict(weight_decay=-0.1),
]


@pytest.mark.parametrize("name", list(DEFAULTS))
def test_bad_arguments_raise_as_torch(name):
    cases = BAD_ARGUMENTS + ([dict(momentum_decay=-1e-3)] if name == "NAdam" else [])
    for kwargs in cases:
        with pytest.raises(ValueError, match="invalid"):
            getattr(optim, name)([Parameter(minigrad.tensor(np.ones(2)))], **kwargs)
        if torch is not None:
            with pytest.raises(ValueError):
                getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(2))], **kwargs)
    edges = dict(lr=0.0, betas=(0.0, 0.0), eps=0.0, weight_decay=0.0)  # the ends of the ranges are valid
    getattr(optim, name)([Parameter(minigrad.tensor(np.ones(2)))], **edges)
    if torch is not None:
        getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(2))], **edges)
