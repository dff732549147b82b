"""torch.nn.utils.parametrize: a module's parameter or buffer computed on access from parametrizations.

register_parametrization(module, "weight", p) moves module.weight to
module.parametrizations.weight.original (a ParametrizationList, the ModuleList of the
parametrizations) and turns module.weight into a property computing p(original) on each access;
module's class becomes a generated subclass, Parametrized<ClassName>, that holds the property. A
parametrization with a right_inverse returning a tuple keeps its tensors as original0, original1,
... The state_dict keys are PyTorch's, so state dicts move between the two libraries unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from copy import deepcopy
from typing import Any

from minigrad.autograd import no_grad
from minigrad.nn.module import Module, ModuleDict, ModuleList
from minigrad.nn.parameter import Parameter
from minigrad.tensor import Tensor

__all__ = ["ParametrizationList", "cached", "is_parametrized", "register_parametrization", "remove_parametrizations",
           "type_before_parametrizations"]

_cache_enabled = 0
_cache: dict[tuple[int, str], Tensor] = {}


@contextmanager
def cached() -> Iterator[None]:
    """Within this context a parametrized tensor is computed on its first access and reused after,
    as PyTorch's parametrize.cached(): for a forward pass that uses it several times (an RNN's
    recurrent kernel, shared weights). The values are dropped on leaving the outermost context."""
    global _cache, _cache_enabled
    _cache_enabled += 1
    try:
        yield
    finally:
        _cache_enabled -= 1
        if not _cache_enabled:
            _cache = {}


def _register_parameter_or_buffer(module: Module, name: str, value: Tensor) -> None:
    if isinstance(value, Parameter):
        module.register_parameter(name, value)
    else:
        module.register_buffer(name, value)


def _set(dest: Tensor, src: Tensor) -> None:
    """dest takes src's memory (PyTorch's dest.set_(src)): the same Tensor object, so optimizers
    holding it keep it."""
    dest.data = src


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, in registration order, with the tensor they start from:
    `original`, or `original0`, `original1`, ... when the first parametrization's right_inverse
    returns a sequence. Made by register_parametrization, as PyTorch's; not meant to be built by
    hand. unsafe: the parametrizations may change the tensor's shape and dtype (unchecked)."""

    def __init__(self, modules: Sequence[Module], original: Tensor, unsafe: bool = False) -> None:
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        original_shape, original_dtype = original.shape, original.dtype
        with no_grad():
            new = original
            for module in reversed(self):
                if hasattr(module, "right_inverse"):
                    try:
                        new = module.right_inverse(new)
                    except NotImplementedError:
                        pass
        if not isinstance(new, (Tensor, Sequence)):
            raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). "
                             f"Got {type(new).__name__}")
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if new.dtype != original.dtype:
                raise ValueError("When `right_inverse` outputs one tensor, it may not change the dtype.\n"
                                 f"original.dtype: {original.dtype}\nright_inverse(original).dtype: {new.dtype}")
            if new.device != original.device:
                raise ValueError("When `right_inverse` outputs one tensor, it may not change the device.\n"
                                 f"original.device: {original.device}\n"
                                 f"right_inverse(original).device: {new.device}")
            with no_grad():
                _set(original, new)
            _register_parameter_or_buffer(self, "original", original)
        else:
            for i, tensor in enumerate(new):
                if not isinstance(tensor, Tensor):
                    raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). "
                                     f"Got element {i} of the sequence with type {type(tensor).__name__}.")
                if isinstance(original, Parameter):
                    tensor = Parameter(tensor, original.requires_grad)
                else:
                    tensor.requires_grad_(original.requires_grad)
                _register_parameter_or_buffer(self, f"original{i}", tensor)
        if not self.unsafe:
            _check_unchanged(self(), original_shape, original_dtype, "unparametrized", "parametrized")

    def _originals(self) -> list[Tensor]:
        return [self.original] if self.is_tensor else [getattr(self, f"original{i}") for i in range(self.ntensors)]

    def right_inverse(self, value: Tensor) -> None:
        """Set the originals from a value of the parametrized tensor: the parametrizations'
        right_inverse in reverse registration order (RuntimeError if one has none), stored in
        place into `original` (or `original0`, `original1`, ...)."""
        with no_grad():
            for module in reversed(self):
                if not hasattr(module, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(module).__name__} does not implement right_inverse.")
                value = module.right_inverse(value)
            if self.is_tensor:
                if not isinstance(value, Tensor):
                    raise ValueError(f"`right_inverse` should return a tensor. Got {type(value).__name__}")
                values = [value]
            else:
                if not isinstance(value, Sequence):
                    raise ValueError(f"'right_inverse' must return a sequence of tensors. Got {type(value).__name__}.")
                if len(value) != self.ntensors:
                    raise ValueError(f"'right_inverse' must return a sequence of tensors of length {self.ntensors}. "
                                     f"Got a sequence of length {len(value)}.")
                values = list(value)
            for i, (original, tensor) in enumerate(zip(self._originals(), values, strict=True)):
                if not isinstance(tensor, Tensor):
                    raise ValueError(f"'right_inverse' must return a sequence of tensors. "
                                     f"Got element {i} of type {type(tensor).__name__}.")
                if tensor.dtype != original.dtype:
                    raise ValueError(f"Tensor {i} returned by `right_inverse` has dtype {tensor.dtype} "
                                     f"while its original has dtype {original.dtype}")
                _set(original, tensor)

    def forward(self) -> Tensor:
        """The parametrized tensor: the parametrizations applied in turn to the originals."""
        modules = iter(self)
        x = next(modules)(*self._originals())
        for module in modules:
            x = module(x)
        return x


def _check_unchanged(x: Any, shape: tuple[int, ...], dtype: Any, before: str, after: str) -> None:
    """ValueError unless x (after) is a tensor of the shape and dtype of before: a parametrization may
    not change them unless registered with unsafe=True."""
    if not isinstance(x, Tensor):
        raise ValueError(f"A parametrization must return a tensor. Got {type(x).__name__}.")
    for what, want, got in (("dtype", dtype, x.dtype), ("shape", tuple(shape), tuple(x.shape))):
        if got != want:
            raise ValueError(f"Registering a parametrization may not change the {what} of the tensor, unless the "
                             f"`unsafe` flag is enabled.\n{before} {what}: {want}\n{after} {what}: {got}")


def _deepcopy(self: Module, memo: dict[int, Any]) -> Module:
    """copy.deepcopy of a parametrized module: a replica of the same generated class."""
    if id(self) in memo:
        return memo[id(self)]
    replica = self.__new__(type(self))
    memo[id(self)] = replica
    replica.__dict__ = deepcopy(self.__dict__, memo)
    return replica


def _getstate(self: Module) -> None:
    raise RuntimeError("Serialization of parametrized modules is only supported through state_dict(): save "
                       "module.state_dict() and load it into a module parametrized the same way")


def _inject_new_class(module: Module) -> None:
    """Swap module's class for a new subclass, Parametrized<ClassName>, to hold the properties."""
    cls = type(module)
    namespace: dict[str, Any] = {"__getstate__": _getstate}
    if not hasattr(cls, "__deepcopy__"):
        namespace["__deepcopy__"] = _deepcopy
    module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), namespace)


def _inject_property(module: Module, tensor_name: str) -> None:
    """module.<tensor_name> as a property of module's (generated) class: reading computes the
    parametrization (once per cached() context), assigning goes through right_inverse."""

    def get_parametrized(self: Module) -> Tensor:
        parametrization = self.parametrizations[tensor_name]
        if not _cache_enabled:
            return parametrization()
        key = (id(self), tensor_name)
        if key not in _cache:
            _cache[key] = parametrization()
        return _cache[key]

    def set_original(self: Module, value: Tensor) -> None:
        self.parametrizations[tensor_name].right_inverse(value)

    setattr(type(module), tensor_name, property(get_parametrized, set_original))


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """Parametrize module.<tensor_name> (a parameter or buffer) by parametrization, as PyTorch's:
    reading module.<tensor_name> then returns parametrization(original), differentiable with
    respect to module.parametrizations.<tensor_name>.original, which optimizers update.

    If parametrization has right_inverse, it is applied to the current value to initialise
    `original` (a returned sequence is stored as original0, original1, ...); assigning
    module.<tensor_name> = value also goes through it. Registering again on the same name chains
    the parametrizations (applied in registration order). unsafe: skip the check that the
    parametrization keeps the tensor's shape and dtype. ValueError if module has no parameter,
    buffer or parametrized tensor of that name. Returns module."""
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            y = getattr(module, tensor_name)
            x = parametrization(y)
            _check_unchanged(x, y.shape, y.dtype, f"module.{tensor_name}", f"parametrization(module.{tensor_name})")
            if hasattr(parametrization, "right_inverse"):
                try:
                    z = parametrization.right_inverse(x)
                except NotImplementedError:
                    pass
                else:
                    if not isinstance(z, Tensor):
                        raise ValueError(f"parametrization.right_inverse must return a tensor. Got: {type(z).__name__}")
                    _check_unchanged(z, y.shape, y.dtype, f"module.{tensor_name}", "parametrization.right_inverse")
        parametrizations = module.parametrizations[tensor_name]
        parametrizations.append(parametrization)
        parametrizations.unsafe |= unsafe
    elif tensor_name in module._parameters or tensor_name in module._buffers:
        original = getattr(module, tensor_name)
        if original is None:
            raise ValueError(f"Module '{type(module).__name__}' has no tensor under '{tensor_name}' "
                             "(it is registered as None)")
        parametrizations = ParametrizationList([parametrization], original, unsafe=unsafe)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            _inject_new_class(module)
            module.parametrizations = ModuleDict()
        _inject_property(module, tensor_name)
        module.parametrizations[tensor_name] = parametrizations
    else:
        raise ValueError(f"Module '{type(module).__name__}' does not have a parameter, a buffer, or a parametrized "
                         f"element with name '{tensor_name}'")
    return module


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """Whether module has a parametrization on tensor_name (on any tensor when None)."""
    parametrizations = getattr(module, "parametrizations", None)
    if not isinstance(parametrizations, ModuleDict):
        return False
    return len(parametrizations) > 0 if tensor_name is None else tensor_name in parametrizations


def remove_parametrizations(module: Module, tensor_name: str, leave_parametrized: bool = True) -> Module:
    """Undo register_parametrization on tensor_name, as PyTorch's: module.<tensor_name> is a plain
    parameter (or buffer) again, holding the parametrized value (leave_parametrized) or the
    unparametrized `original` (not possible when the parametrization has several originals:
    ValueError). The parameter object of `original` is kept, so optimizers still update it.
    ValueError if tensor_name is not parametrized. Returns module."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {type(module).__name__} does not have a parametrization on {tensor_name}")
    parametrizations = module.parametrizations[tensor_name]
    if parametrizations.is_tensor:
        original = parametrizations.original
        if leave_parametrized:
            with no_grad():
                _set(original, getattr(module, tensor_name))
    elif leave_parametrized:
        value = getattr(module, tensor_name)
        original = Parameter(value) if value.requires_grad else value
    else:
        raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is parametrized "
                         "in terms of a sequence of tensors.")
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    _register_parameter_or_buffer(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = type(module).__bases__[0]
    return module


def type_before_parametrizations(module: Module) -> type:
    """module's class before any parametrization (its own class when it has none)."""
    return type(module).__bases__[0] if is_parametrized(module) else type(module)
