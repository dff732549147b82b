"""RMSprop, optionally centered and with momentum."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from minigrad.optim.optimizer import FusedArrays, Optimizer, count_step, scalar_state, state_buffer
from minigrad.tensor import Tensor


class RMSprop(Optimizer):
    """torch.optim.RMSprop."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,  # an int, as PyTorch (print(optimizer) shows 0)
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        for name, value in (
            ("learning rate", lr),
            ("epsilon", eps),
            ("momentum", momentum),
            ("weight_decay", weight_decay),
            ("alpha", alpha),
        ):
            if value < 0.0:
                raise ValueError(f"RMSprop: invalid {name} {value}")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            alpha=alpha,
            eps=eps,
            centered=centered,
            weight_decay=weight_decay,
            capturable=capturable,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def _update(self, group: dict[str, Any], param: Tensor, state: dict[str, Any]) -> None:
        if not state:
            state["step"] = scalar_state(0.0)
            state["square_avg"] = state_buffer(param)
            if group["momentum"] > 0:
                state["momentum_buffer"] = state_buffer(param)
            if group["centered"]:
                state["grad_avg"] = state_buffer(param)
        count_step(state)
        momentum_buffer = state["momentum_buffer"] if group["momentum"] > 0 else None
        grad_avg = state["grad_avg"] if group["centered"] else None
        with FusedArrays(param, state["square_avg"], momentum_buffer, grad_avg) as arrays:
            data, grad, square_avg, momentum_data, grad_avg_data = arrays
            self._kernels(param).rmsprop_step(
                data,
                grad,
                square_avg,
                lr=group["lr"],
                alpha=group["alpha"],
                eps=group["eps"],
                weight_decay=group["weight_decay"],
                momentum=group["momentum"],
                momentum_buffer=momentum_data,
                grad_avg=grad_avg_data,
                maximize=group["maximize"],
            )
