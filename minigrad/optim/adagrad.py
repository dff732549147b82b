"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from minigrad.optim.optimizer import FusedArrays, Optimizer, count_step, scalar_state, state_buffer
from minigrad.tensor import Tensor


class Adagrad(Optimizer):
    """torch.optim.Adagrad."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-2,
        lr_decay: float = 0,  # an int, as PyTorch (print(optimizer) shows 0)
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        for name, value in (
            ("learning rate", lr),
            ("lr_decay", lr_decay),
            ("weight_decay", weight_decay),
            ("initial_accumulator_value", initial_accumulator_value),
            ("epsilon", eps),
        ):
            if value < 0.0:
                raise ValueError(f"Adagrad: invalid {name} {value}")
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(params, defaults)

    @staticmethod
    def _initial_state(group: dict[str, Any], param: Tensor) -> dict[str, Any]:
        return {"step": scalar_state(0.0), "sum": state_buffer(param, group["initial_accumulator_value"])}

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        # torch creates Adagrad's state eagerly, so state_dict() has it before the first step
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p in group["params"]:
            self.state[p] = self._initial_state(group, p)

    def _update(self, group: dict[str, Any], param: Tensor, state: dict[str, Any]) -> None:
        if not state:
            state.update(self._initial_state(group, param))
        step = count_step(state)
        with FusedArrays(param, state["sum"]) as (data, grad, total):
            self._kernels(param).adagrad_step(
                data,
                grad,
                total,
                step,
                lr=group["lr"],
                lr_decay=group["lr_decay"],
                weight_decay=group["weight_decay"],
                eps=group["eps"],
                maximize=group["maximize"],
            )
