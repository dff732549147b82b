"""torch._foreach_* for ported code (manual EMA updates, custom optimizers): each op applied to every
tensor of a list, through the Tensor methods (so autograd and in-place version counters behave as
for the single-tensor op). As PyTorch's: the out-of-place forms return a tuple, the in-place forms
(name ending in "_") return the list they were given; an empty list, lists of different lengths and
a scalar list of another length are RuntimeErrors; `alpha` is for a tensor or tensor-list operand
only (a TypeError with a scalar, as PyTorch's argument parser)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from minigrad.tensor import Tensor

_UNARY = (
    "abs", "acos", "asin", "atan", "ceil", "cos", "cosh", "erf", "erfc", "exp", "expm1", "floor", "frac", "lgamma",
    "log", "log10", "log1p", "log2", "neg", "reciprocal", "round", "rsqrt", "sigmoid", "sign", "sin", "sinh", "sqrt",
    "tan", "tanh", "trunc",
)
_BINARY = ("add", "sub", "mul", "div", "maximum", "minimum", "clamp_min", "clamp_max", "pow")
_INPLACE_ONLY_BINARY = {"maximum", "minimum"}  # PyTorch has _foreach_maximum_ too; Tensor has no maximum_


def _check_list(tensors: Sequence[Tensor]) -> list[Tensor]:
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("Tensor list must have at least one tensor.")
    return tensors


def _operands(name: str, tensors: list[Tensor], other: Any) -> list[Any]:
    """other per tensor: a tensor list, a scalar list or one scalar or tensor."""
    if isinstance(other, (list, tuple)):
        if len(other) != len(tensors):
            if other and all(isinstance(o, Tensor) for o in other):
                raise RuntimeError(
                    f"Tensor lists must have the same number of tensors, got {len(tensors)} and {len(other)}"
                )
            raise RuntimeError("Tensor list must have same number of elements as scalar list.")
        return list(other)
    return [other] * len(tensors)


def _is_tensor_operand(other: Any) -> bool:
    if isinstance(other, Tensor):
        return True
    return isinstance(other, (list, tuple)) and bool(other) and all(isinstance(o, Tensor) for o in other)


def _binary(name: str, inplace: bool):
    method = name + "_" if inplace else name

    def op(self: Any, other: Any, *, alpha: Any = None) -> Any:
        if name == "pow" and not inplace and not isinstance(self, (list, tuple)):
            # _foreach_pow(Scalar self, Tensor[] exponent): the scalar to each tensor's power
            return tuple(t.new_full(t.shape, self) ** t for t in _check_list(other))
        tensors = _check_list(self)
        if alpha is not None and not (name in ("add", "sub") and _is_tensor_operand(other)):
            raise TypeError(
                f"_foreach_{method}() received an invalid combination of arguments: alpha is only for a tensor "
                "or a list of tensors"
            )
        kwargs = {} if alpha is None else {"alpha": alpha}
        results = []
        for t, o in zip(tensors, _operands(name, tensors, other), strict=True):
            if name in ("maximum", "minimum") and not isinstance(o, Tensor):
                o = t.new_tensor(o) if hasattr(t, "new_tensor") else o
            if inplace and name in _INPLACE_ONLY_BINARY:
                t.copy_(getattr(t, name)(o))
                results.append(t)
            else:
                results.append(getattr(t, method)(o, **kwargs))
        return self if inplace else tuple(results)

    op.__name__ = f"_foreach_{method}"
    op.__doc__ = f"torch._foreach_{method}: Tensor.{name} of each tensor with its operand."
    return op


def _unary(name: str, inplace: bool):
    method = name + "_" if inplace else name

    def op(self: Sequence[Tensor]) -> Any:
        tensors = _check_list(self)
        results = [getattr(t, method)() for t in tensors]
        return self if inplace else tuple(results)

    op.__name__ = f"_foreach_{method}"
    op.__doc__ = f"torch._foreach_{method}: Tensor.{method} of each tensor."
    return op


def _pointwise(name: str, inplace: bool):
    """addcmul/addcdiv: self + value * t1 (*|/) t2, value a scalar, a scalar list or a 1-D tensor."""
    method = name + "_" if inplace else name

    def op(self: Sequence[Tensor], tensor1: Sequence[Tensor], tensor2: Sequence[Tensor], value: Any = 1) -> Any:
        tensors = _check_list(self)
        t1 = _operands(name, tensors, list(tensor1))
        t2 = _operands(name, tensors, list(tensor2))
        if isinstance(value, Tensor):
            value = value.tolist()
        values = _operands(name, tensors, value)
        results = [getattr(t, method)(a, b, value=v) for t, a, b, v in zip(tensors, t1, t2, values, strict=True)]
        return self if inplace else tuple(results)

    op.__name__ = f"_foreach_{method}"
    return op


def _lerp(inplace: bool):
    def op(self: Sequence[Tensor], tensors1: Sequence[Tensor], weight: Any) -> Any:
        tensors = _check_list(self)
        ends = _operands("lerp", tensors, list(tensors1))
        weights = _operands("lerp", tensors, weight)
        method = "lerp_" if inplace else "lerp"
        results = [getattr(t, method)(e, w) for t, e, w in zip(tensors, ends, weights, strict=True)]
        return self if inplace else tuple(results)

    op.__name__ = "_foreach_lerp_" if inplace else "_foreach_lerp"
    return op


def _foreach_norm(self: Sequence[Tensor], ord: Any = 2, dtype: Any = None) -> tuple[Tensor, ...]:  # noqa: A002
    """torch._foreach_norm: the vector ord-norm of each tensor (0-d tensors)."""
    tensors = _check_list(self)
    from minigrad import linalg

    return tuple(linalg.vector_norm(t, ord, dtype=dtype) for t in tensors)


def _foreach_zero_(self: Sequence[Tensor]) -> Any:
    """torch._foreach_zero_: zero every tensor in place."""
    for t in _check_list(self):
        t.zero_()
    return self


def _foreach_copy_(self: Sequence[Tensor], src: Sequence[Tensor], non_blocking: bool = False) -> Any:
    """torch._foreach_copy_: copy src[i] into self[i]."""
    tensors = _check_list(self)
    for t, s in zip(tensors, _operands("copy", tensors, list(src)), strict=True):
        t.copy_(s)
    return self


def _foreach_clone(self: Sequence[Tensor]) -> tuple[Tensor, ...]:
    """torch._foreach_clone."""
    return tuple(t.clone() for t in _check_list(self))


def _build() -> dict[str, Any]:
    ops: dict[str, Any] = {}
    for name in _UNARY:
        ops[f"_foreach_{name}"] = _unary(name, False)
        ops[f"_foreach_{name}_"] = _unary(name, True)
    for name in _BINARY:
        ops[f"_foreach_{name}"] = _binary(name, False)
        ops[f"_foreach_{name}_"] = _binary(name, True)
    for name in ("addcmul", "addcdiv"):
        ops[f"_foreach_{name}"] = _pointwise(name, False)
        ops[f"_foreach_{name}_"] = _pointwise(name, True)
    ops["_foreach_lerp"] = _lerp(False)
    ops["_foreach_lerp_"] = _lerp(True)
    ops["_foreach_norm"] = _foreach_norm
    ops["_foreach_zero_"] = _foreach_zero_
    ops["_foreach_copy_"] = _foreach_copy_
    ops["_foreach_clone"] = _foreach_clone
    return ops


FOREACH_OPS = _build()
globals().update(FOREACH_OPS)
__all__ = sorted(FOREACH_OPS)
