"""Stochastic weight averaging and EMA models, as torch.optim.swa_utils: AveragedModel (a running
average of a model's weights), SWALR (anneal each group's lr to its swa_lr), update_bn (recompute
BatchNorm statistics for the averaged weights) and the average functions."""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable
from typing import Any

from minigrad.autograd import no_grad
from minigrad.creation import tensor
from minigrad.nn.layers import _BatchNorm, _InstanceNorm
from minigrad.nn.module import Module
from minigrad.optim.lr_scheduler import LRScheduler, _per_group, _warn_if_outside_step
from minigrad.optim.optimizer import Optimizer
from minigrad.tensor import Tensor, int64

__all__ = ["AveragedModel", "SWALR", "get_ema_avg_fn", "get_ema_multi_avg_fn", "get_swa_avg_fn",
           "get_swa_multi_avg_fn", "update_bn"]

AvgFn = Callable[[Tensor, Tensor, Tensor | int], Tensor]


def get_swa_avg_fn() -> AvgFn:
    """The equal-weight running mean: ``averaged + (current - averaged) / (num_averaged + 1)``."""

    def swa_update(averaged: Tensor, current: Tensor, num_averaged: Tensor | int) -> Tensor:
        return averaged + (current - averaged) / (num_averaged + 1)

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> AvgFn:
    """The exponential moving average: ``decay * averaged + (1 - decay) * current``."""

    def ema_update(averaged: Tensor, current: Tensor, num_averaged: Tensor | int) -> Tensor:
        return decay * averaged + (1 - decay) * current

    return ema_update


def _multi(avg_fn: AvgFn) -> Callable[[list[Tensor], list[Tensor], Tensor | int], None]:
    """avg_fn applied in place to lists of tensors (PyTorch's multi_avg_fn form)."""

    def update(averaged: list[Tensor], current: list[Tensor], num_averaged: Tensor | int) -> None:
        for a, c in zip(averaged, current, strict=True):
            a.copy_(avg_fn(a, c, num_averaged))

    return update


def get_swa_multi_avg_fn() -> Callable[[list[Tensor], list[Tensor], Tensor | int], None]:
    """get_swa_avg_fn's update over lists of tensors, in place."""
    return _multi(get_swa_avg_fn())


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable[[list[Tensor], list[Tensor], Tensor | int], None]:
    """get_ema_avg_fn's update over lists of tensors, in place."""
    return _multi(get_ema_avg_fn(decay))


class AveragedModel(Module):
    """A copy of model whose weights are the running average of model's at each
    ``update_parameters(model)`` (equal weights by default; ``avg_fn``/``multi_avg_fn`` for others,
    e.g. ``multi_avg_fn=get_ema_multi_avg_fn(0.999)``). Its buffers follow model's unless
    use_buffers=True, which averages them too. ``n_averaged`` counts the updates (a buffer)."""

    def __init__(self, model: Module, device: Any = None, avg_fn: AvgFn | None = None,
                 multi_avg_fn: Callable | None = None, use_buffers: bool = False) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=int64, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def _tensors(self, model: Module) -> Iterable[Tensor]:
        return itertools.chain(model.parameters(), model.buffers()) if self.use_buffers else model.parameters()

    def update_parameters(self, model: Module) -> None:
        """Fold model's current weights into the average (the first call copies them)."""
        averaged = [t.detach() for t in self._tensors(self.module)]
        current = [t.detach().to(a.device) for t, a in zip(self._tensors(model), averaged, strict=True)]
        n = int(self.n_averaged.item())
        with no_grad():
            if n == 0:
                for a, c in zip(averaged, current, strict=True):
                    a.copy_(c)
            elif self.multi_avg_fn is not None:
                self.multi_avg_fn(averaged, current, self.n_averaged)
            else:
                _multi(self.avg_fn or get_swa_avg_fn())(averaged, current, self.n_averaged)
            if not self.use_buffers:  # the buffers are not averaged: they follow the model's
                for a, c in zip(self.module.buffers(), model.buffers(), strict=True):
                    a.copy_(c.detach().to(a.device))
            self.n_averaged.add_(1)


def update_bn(loader: Iterable, model: Module, device: Any = None) -> None:
    """Recompute the BatchNorm running statistics of model over one pass of loader (its batches,
    or the first element of each when batches are lists or tuples), as a cumulative average;
    the momenta and the training mode are restored afterwards."""
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm) and not isinstance(module, _InstanceNorm):  # PyTorch's _BatchNorm
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    for batch in loader:
        if isinstance(batch, (list, tuple)):
            batch = batch[0]
        if device is not None:
            batch = batch.to(device)
        model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each param group's lr from its current value to swa_lr over anneal_epochs steps
    (cosine or linear), then hold it there, as torch.optim.swa_utils.SWALR."""

    def __init__(self, optimizer: Optimizer, swa_lr: float | list[float], anneal_epochs: int = 10,
                 anneal_strategy: str = "cos", last_epoch: int = -1) -> None:
        for value, group in zip(_per_group("swa_lr", optimizer, swa_lr), optimizer.param_groups, strict=True):
            group["swa_lr"] = value
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must by one of 'cos' or 'linear', instead got {anneal_strategy}")
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        self._anneal_strategy = anneal_strategy  # the state_dict holds the name, as PyTorch's
        super().__init__(optimizer, last_epoch)

    @property
    def anneal_func(self) -> Callable[[float], float]:
        """The annealing function of anneal_strategy ("cos" or "linear")."""
        return self._linear_anneal if getattr(self, "_anneal_strategy", "cos") == "linear" else self._cosine_anneal

    @staticmethod
    def _linear_anneal(t: float) -> float:
        return t

    @staticmethod
    def _cosine_anneal(t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        """The lr the annealing started from, given the current one at progress alpha."""
        return swa_lr if alpha == 1 else (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list[float]:
        _warn_if_outside_step(self)
        # PyTorch's rule: recover the previous step's starting lr, so that a change made to
        # group["lr"] by someone else is annealed from
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self.anneal_func(max(0.0, min(1.0, (step - 1) / max(1, self.anneal_epochs))))
        alpha = self.anneal_func(max(0.0, min(1.0, step / max(1, self.anneal_epochs))))
        groups = self.optimizer.param_groups
        return [g["swa_lr"] * alpha + self._initial_lr(g["lr"], g["swa_lr"], prev_alpha) * (1 - alpha)
                for g in groups]
