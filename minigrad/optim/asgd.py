"""ASGD: SGD with a decaying learning rate that also keeps a running average of the parameters."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from minigrad.optim.optimizer import Optimizer, count_step, scalar_state, state_buffer
from minigrad.tensor import Tensor


class ASGD(Optimizer):
    """torch.optim.ASGD (averaged SGD), written with tensor ops after PyTorch's single-tensor
    implementation: state["ax"] holds the average of the parameter over the steps after t0, and
    state["eta"] and state["mu"] (0-d tensors, as PyTorch's) the learning rate and averaging
    weight of the next step."""

    _scalar_state = ("step", "eta", "mu")

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _update(self, group: dict[str, Any], param: Tensor, state: dict[str, Any]) -> None:
        lr, lambd = group["lr"], group["lambd"]
        if not state:
            state.update(step=scalar_state(0.0), eta=scalar_state(lr), mu=scalar_state(1.0), ax=state_buffer(param))
        step = count_step(state)
        grad = -param.grad if group["maximize"] else param.grad
        if group["weight_decay"] != 0:
            grad = grad.add(param, alpha=group["weight_decay"])
        eta, mu = state["eta"].item(), state["mu"].item()  # rounded to the default dtype, as PyTorch's
        param.mul_(1 - lambd * eta)
        param.add_(grad, alpha=-eta)
        if mu != 1:
            state["ax"].add_(param.sub(state["ax"]).mul_(mu))
        else:
            state["ax"].copy_(param)
        state["eta"].fill_(lr / ((1 + lambd * lr * step) ** group["alpha"]))
        state["mu"].fill_(1 / max(1, step - group["t0"]))
