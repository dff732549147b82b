"""Parameter: a Tensor that a Module registers as learnable."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.backend import get_backend, resolve_device
from minigrad.tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor with requires_grad=True by default; shares data with the tensor it wraps and
    keeps its dtype (an array is used as given). Parameter() is empty, as PyTorch's."""

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = Tensor()  # empty, of the default dtype
        self._init(data, requires_grad, None)  # a Tensor's array is shared

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Buffer(Tensor):
    """A tensor that registers itself as a buffer when assigned to a Module attribute, as
    torch.nn.Buffer: ``self.mask = nn.Buffer(minigrad.ones(3), persistent=False)`` is
    ``self.register_buffer("mask", ..., persistent=False)``. It shares data's memory; the module
    keeps a plain Tensor (as PyTorch's does)."""

    __slots__ = ("persistent",)

    def __init__(self, data: Tensor | None = None, *, persistent: bool = True) -> None:
        if data is None:
            data = Tensor()
        self._init(data, data.requires_grad, None)
        self.persistent = persistent


_UNINITIALIZED_HINT = (
    "This error happens when you are using a `LazyModule` or explicitly manipulating "
    "`minigrad.nn.parameter.UninitializedParameter` objects. When using LazyModules Call `forward` "
    "with a dummy batch to initialize the parameters before calling minigrad functions")


class _NoData:
    """The array of an uninitialised parameter or buffer: it knows its dtype, and anything else
    read from it (shape, values, an op) is a ValueError saying why, as PyTorch's."""

    __slots__ = ("dtype",)

    def __init__(self, dtype: Any) -> None:
        self.dtype = np.dtype(dtype)

    def _refuse(self, what: str) -> ValueError:
        return ValueError(f"Attempted to use an uninitialized parameter in {what}. {_UNINITIALIZED_HINT}")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy, pickle and numpy probe dunders: absent as usual
            raise AttributeError(name)
        raise self._refuse(name)

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise self._refuse("__array__")

    def __array_ufunc__(self, ufunc: Any, *args: Any, **kwargs: Any) -> Any:
        raise self._refuse(getattr(ufunc, "__name__", "a numpy ufunc"))

    def __array_function__(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        raise self._refuse(getattr(func, "__name__", "a numpy function"))

    def __getstate__(self) -> Any:
        return self.dtype

    def __setstate__(self, state: Any) -> None:
        self.dtype = state

    def __len__(self) -> int:
        raise self._refuse("len")

    def __getitem__(self, index: Any) -> Any:
        raise self._refuse("__getitem__")


class UninitializedTensorMixin:
    """What UninitializedParameter and UninitializedBuffer share, as PyTorch's: a dtype, a device
    and requires_grad but no shape or values until ``materialize(shape)`` gives them memory (and
    turns the object into cls_to_become). Reading the shape is a RuntimeError, using the values
    (an op, numel(), numpy()) a ValueError, as in PyTorch; ``Module.to`` changes the dtype and
    device to materialize with."""

    __slots__ = ()
    cls_to_become: type

    def _uninit(self, requires_grad: bool, device: Any, dtype: Any) -> None:
        from minigrad.tensor import get_default_dtype

        self._init(Tensor(), requires_grad, None)
        self._data = _NoData(get_default_dtype() if dtype is None else dtype)
        self.device = resolve_device(device)

    def materialize(self, shape: Any, device: Any = None, dtype: Any = None) -> None:
        """Give self (uninitialised) memory of shape (uninitialised values) on device (its own by
        default) in dtype (its own by default); self becomes a cls_to_become in place."""
        shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
        device = self.device if device is None else resolve_device(device)
        dtype = self._data.dtype if dtype is None else np.dtype(dtype)
        self._data = get_backend(device).full(shape, 0, dtype)
        self.device = device
        self.__class__ = self.cls_to_become

    def _retarget(self, device: Any = None, dtype: Any = None) -> None:
        """Module.to on an uninitialised tensor: the device and dtype it will materialize with."""
        if dtype is not None:
            self._data = _NoData(dtype)
        if device is not None:
            self.device = resolve_device(device)

    @property
    def shape(self) -> Any:
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually happens in "
            "`load_state_dict` when trying to load an uninitialized parameter into an initialized one. Call "
            "`forward` to initialize the parameters before accessing their attributes.")

    def size(self, dim: int | None = None) -> Any:
        raise self._data._refuse("size")

    def detach(self) -> Any:
        raise self._data._refuse("detach")

    def numpy(self, *args: Any, **kwargs: Any) -> Any:
        raise self._data._refuse("numpy")

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def __deepcopy__(self, memo: dict) -> Any:
        copied = type(self).__new__(type(self))
        copied._uninit(self.requires_grad, self.device, self._data.dtype)
        memo[id(self)] = copied
        return copied


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A Parameter without a shape yet, as torch.nn.UninitializedParameter: what the lazy layers
    (LazyLinear, LazyConvNd, LazyBatchNormNd) hold until their first forward call (or a
    load_state_dict) materializes it into a Parameter. isinstance(p, nn.Parameter) holds."""

    cls_to_become = Parameter

    def __init__(self, requires_grad: bool = True, device: Any = None, dtype: Any = None) -> None:
        self._uninit(requires_grad, device, dtype)


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer without a shape yet, as torch.nn.UninitializedBuffer (the lazy batch norms'
    running statistics until materialized into plain Tensors)."""

    __slots__ = ()
    cls_to_become = Tensor

    def __init__(self, requires_grad: bool = False, device: Any = None, dtype: Any = None) -> None:
        self._uninit(requires_grad, device, dtype)


def is_lazy(param: Any) -> bool:
    """Whether param is an uninitialised parameter or buffer (torch.nn.parameter.is_lazy)."""
    return isinstance(param, UninitializedTensorMixin)
