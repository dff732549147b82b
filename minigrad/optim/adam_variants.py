"""Adamax, NAdam and RAdam: Adam's variants, written with tensor ops (so they run on every device).

Each follows PyTorch's single-tensor implementation operation by operation, with PyTorch's
per-parameter state names, so a state_dict() means the same thing in both libraries.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from minigrad.optim.optimizer import Optimizer, check_adam_arguments, count_step, scalar_state, state_buffer
from minigrad.tensor import Tensor, get_default_dtype


def _start_step(group: dict[str, Any], param: Tensor, state: dict[str, Any], decoupled: bool) -> tuple[Tensor, int]:
    """Count the step and return the gradient the update follows (negated for maximize, and with
    weight_decay either added to it as param's L2 gradient, or (decoupled) applied to param
    directly) and the new step count."""
    step = count_step(state)
    grad = -param.grad if group["maximize"] else param.grad
    if group["weight_decay"] != 0:
        if decoupled:
            param.mul_(1 - group["lr"] * group["weight_decay"])
        else:
            grad = grad.add(param, alpha=group["weight_decay"])
    return grad, step


def _update_moments(group: dict[str, Any], state: dict[str, Any], grad: Tensor) -> None:
    """Adam's running averages of the gradient (exp_avg) and of its square (exp_avg_sq), in place."""
    beta1, beta2 = group["betas"]
    state["exp_avg"].lerp_(grad, 1 - beta1)
    state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)


class Adamax(Optimizer):
    """torch.optim.Adamax: Adam with the infinity norm of past gradients (exp_inf) as denominator."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,  # an int, as PyTorch (print(optimizer) shows 0)
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        check_adam_arguments("Adamax", lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _update(self, group: dict[str, Any], param: Tensor, state: dict[str, Any]) -> None:
        if not state:
            state.update(step=scalar_state(0.0), exp_avg=state_buffer(param), exp_inf=state_buffer(param))
        grad, step = _start_step(group, param, state, decoupled=False)
        beta1, beta2 = group["betas"]
        exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
        exp_avg.lerp_(grad, 1 - beta1)
        exp_inf.copy_(exp_inf.mul_(beta2).maximum(grad.abs().add_(group["eps"])))
        param.addcdiv_(exp_avg, exp_inf, value=-group["lr"] / (1 - beta1**step))


class NAdam(Optimizer):
    """torch.optim.NAdam: Adam with Nesterov momentum, whose coefficient mu_t = beta1 * (1 - 0.5 *
    0.96 ** (t * momentum_decay)) warms up over the steps; decoupled_weight_decay=True gives NAdamW."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_adam_arguments("NAdam", lr, betas, eps, weight_decay)
        if momentum_decay < 0.0:
            raise ValueError(f"NAdam: invalid momentum_decay {momentum_decay}")
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Optimizer.load_state_dict; a mu_product saved by PyTorch (a 0-d tensor) is read as a number."""
        state = {
            key: {**values, "mu_product": float(values["mu_product"])} if "mu_product" in values else values
            for key, values in state_dict["state"].items()
        }
        super().load_state_dict({**state_dict, "state": state})

    def _update(self, group: dict[str, Any], param: Tensor, state: dict[str, Any]) -> None:
        if not state:
            state.update(step=scalar_state(0.0), mu_product=1.0, exp_avg=state_buffer(param),
                         exp_avg_sq=state_buffer(param))
        grad, step = _start_step(group, param, state, decoupled=group["decoupled_weight_decay"])
        beta1, beta2 = group["betas"]
        lr = group["lr"]
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * group["momentum_decay"]))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * group["momentum_decay"]))
        # PyTorch keeps the product in a 0-d tensor of the default dtype, rounding it to that each step
        scalar = get_default_dtype().type
        mu_product = state["mu_product"] = float(scalar(state["mu_product"]) * scalar(mu))
        _update_moments(group, state, grad)
        denom = (state["exp_avg_sq"] / (1 - beta2**step)).sqrt().add_(group["eps"])
        param.addcdiv_(grad, denom, value=-lr * (1.0 - mu) / (1.0 - mu_product))
        param.addcdiv_(state["exp_avg"], denom, value=-lr * mu_next / (1.0 - mu_product * mu_next))


class RAdam(Optimizer):
    """torch.optim.RAdam: Adam whose adaptive step is rectified for the variance of its second
    moment, and plain (bias-corrected) momentum SGD while that variance is intractable (rho_t <= 5);
    decoupled_weight_decay=True gives RAdamW."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_adam_arguments("RAdam", lr, betas, eps, weight_decay)
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            decoupled_weight_decay=decoupled_weight_decay,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def _update(self, group: dict[str, Any], param: Tensor, state: dict[str, Any]) -> None:
        if not state:
            state.update(step=scalar_state(0.0), exp_avg=state_buffer(param), exp_avg_sq=state_buffer(param))
        grad, step = _start_step(group, param, state, decoupled=group["decoupled_weight_decay"])
        _update_moments(group, state, grad)
        beta1, beta2 = group["betas"]
        bias_correction2 = 1 - beta2**step
        update = state["exp_avg"] / (1 - beta1**step) * group["lr"]
        rho_inf = 2 / (1 - beta2) - 1  # the maximum length of the approximated simple moving average
        rho_t = rho_inf - 2 * step * beta2**step / bias_correction2  # its length at this step
        if rho_t > 5.0:
            adaptive_lr = bias_correction2**0.5 / state["exp_avg_sq"].sqrt().add_(group["eps"])
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            update = update * adaptive_lr * rect
        param.sub_(update)
