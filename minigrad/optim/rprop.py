"""Rprop: per-coordinate step sizes that grow while the gradient keeps its sign and shrink when it
flips, the update following only the gradient's sign."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from minigrad.optim.optimizer import Optimizer, count_step, scalar_state, state_buffer
from minigrad.tensor import Tensor


class Rprop(Optimizer):
    """torch.optim.Rprop, written with tensor ops after PyTorch's single-tensor implementation."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _update(self, group: dict[str, Any], param: Tensor, state: dict[str, Any]) -> None:
        if not state:
            state.update(step=scalar_state(0.0), prev=state_buffer(param), step_size=state_buffer(param, group["lr"]))
        count_step(state)
        grad = -param.grad if group["maximize"] else param.grad
        etaminus, etaplus = group["etas"]
        # the step-size factor: etaplus where the gradient kept its sign, etaminus where it flipped,
        # 1 where either is 0 (filled in PyTorch's order, so a NaN stays NaN)
        factor = grad.mul(state["prev"]).sign()
        factor.masked_fill_(factor > 0, etaplus)
        factor.masked_fill_(factor < 0, etaminus)
        factor.masked_fill_(factor == 0, 1.0)
        state["step_size"].mul_(factor).clamp_(*group["step_sizes"])
        grad = grad.masked_fill(factor == etaminus, 0.0)  # no step (and no sign memory) after a flip
        param.addcmul_(grad.sign(), state["step_size"], value=-1)
        state["prev"].copy_(grad)
