"""Adam and AdamW (decoupled weight decay), with the AMSGrad variant."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from minigrad.optim.optimizer import (
    FusedArrays,
    Optimizer,
    check_adam_arguments,
    count_step,
    scalar_state,
    state_buffer,
)
from minigrad.tensor import Tensor


class Adam(Optimizer):
    """torch.optim.Adam; decoupled_weight_decay=True makes it AdamW."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,  # an int, as PyTorch (print(optimizer) shows 0)
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        check_adam_arguments(type(self).__name__, lr, betas, eps, weight_decay)
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def _update(self, group: dict[str, Any], param: Tensor, state: dict[str, Any]) -> None:
        if not state:
            state["step"] = scalar_state(0.0)
            state["exp_avg"] = state_buffer(param)
            state["exp_avg_sq"] = state_buffer(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = state_buffer(param)
        step = count_step(state)
        max_exp_avg_sq = state["max_exp_avg_sq"] if group["amsgrad"] else None
        beta1, beta2 = group["betas"]
        with FusedArrays(param, state["exp_avg"], state["exp_avg_sq"], max_exp_avg_sq) as arrays:
            data, grad, exp_avg, exp_avg_sq, max_sq = arrays
            self._kernels(param).adam_step(
                data,
                grad,
                exp_avg,
                exp_avg_sq,
                step,
                lr=group["lr"],
                beta1=beta1,
                beta2=beta2,
                eps=group["eps"],
                weight_decay=group["weight_decay"],
                decoupled_weight_decay=group["decoupled_weight_decay"],
                max_exp_avg_sq=max_sq,
                maximize=group["maximize"],
            )


class AdamW(Adam):
    """torch.optim.AdamW: Adam with decoupled weight decay (default 1e-2)."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )
