"""Adadelta: step sizes from running averages of squared gradients and updates."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from minigrad.optim.optimizer import FusedArrays, Optimizer, count_step, scalar_state, state_buffer
from minigrad.tensor import Tensor


class Adadelta(Optimizer):
    """torch.optim.Adadelta."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,  # an int, as PyTorch (print(optimizer) shows 0)
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        if lr < 0.0:
            raise ValueError(f"Adadelta: invalid learning rate {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Adadelta: invalid rho {rho}")
        if eps < 0.0 or weight_decay < 0.0:
            raise ValueError(f"Adadelta: invalid eps {eps} or weight_decay {weight_decay}")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize, capturable=capturable,
                        foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def _update(self, group: dict[str, Any], param: Tensor, state: dict[str, Any]) -> None:
        if not state:
            state["step"] = scalar_state(0.0)
            state["square_avg"] = state_buffer(param)
            state["acc_delta"] = state_buffer(param)
        count_step(state)
        with FusedArrays(param, state["square_avg"], state["acc_delta"]) as (data, grad, square_avg, acc_delta):
            self._kernels(param).adadelta_step(
                data,
                grad,
                square_avg,
                acc_delta,
                lr=group["lr"],
                rho=group["rho"],
                eps=group["eps"],
                weight_decay=group["weight_decay"],
                maximize=group["maximize"],
            )
