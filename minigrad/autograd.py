"""The tape: Function nodes, backward(), grad mode, anomaly mode, gradcheck.

Every differentiable op is a Function subclass with forward(*arrays, **params)
-> array and backward(grad) -> one gradient (or None) per input. Applying it to
tensors that require grad records the Function instance itself as the node: its
edges to the inputs, the arrays it saved, and an increasing sequence number.
Creation order is a topological order, so backward simply replays the reachable
nodes from the highest sequence number down.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import inspect
import itertools
import sys
import threading
import warnings
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minigrad.backend import _backends, get_backend


class _ThreadGradMode(threading.local):
    """Grad mode is per thread, as in PyTorch: a no_grad() block in one thread must not switch
    recording off (or, on exit, back on) in another. Each thread starts with recording on; the
    attributes exist from the start because every op reads ``enabled`` (a getattr with a default
    on a bare threading.local took 0.6 us, a tenth of a small op)."""

    def __init__(self) -> None:
        self.enabled = True
        self.inference = False
        self.saved: list[bool] = []  # the modes to restore, innermost last
        self.inference_saved: list[bool] = []


_grad_mode = _ThreadGradMode()
_anomaly = False
_sequence = itertools.count()
_FREED = object()  # Function.saved after backward without retain_graph
# Tracing (minigrad.onnx, minigrad.profiler): while a thread runs inside trace(hook, start, span),
# every Function.apply in that thread calls start(cls) first and hook(cls, inputs, params, result)
# last, recorded or not, and each backward node it evaluates opens spans (see trace). _tracing
# counts the threads tracing, so the common path costs one global read at each check.
_tracing = 0
_tracer = threading.local()


# --- grad mode -----------------------------------------------------------------------


def is_grad_enabled() -> bool:
    """Whether ops applied now are recorded on the tape (in this thread)."""
    return _grad_mode.enabled


def _set_grad_mode(mode: bool) -> None:
    _grad_mode.enabled = bool(mode)


class _GradMode(contextlib.ContextDecorator):
    mode = True

    # The modes to restore, per thread: one instance may be entered by several
    # threads at once (a decorator is a single instance).
    def __enter__(self) -> None:
        self._switch(is_grad_enabled())

    def _switch(self, restore: bool) -> None:
        _grad_mode.saved.append(restore)
        _set_grad_mode(self.mode)

    def __exit__(self, *exc: object) -> None:
        _set_grad_mode(_grad_mode.saved.pop())

    def __call__(self, func: Callable) -> Callable:
        """func running in this mode. A generator function, as in PyTorch, runs in this mode each
        time it resumes and in its caller's mode while suspended at a yield."""
        if inspect.isgeneratorfunction(func):
            return self._wrap_generator(func)
        return super().__call__(func)

    def _wrap_generator(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def generator(*args: Any, **kwargs: Any) -> Any:
            gen = func(*args, **kwargs)
            try:
                with self:
                    response = gen.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with self:
                            gen.close()
                        raise
                    except BaseException as exc:
                        with self:
                            response = gen.throw(exc)
                    else:
                        with self:
                            response = gen.send(request)
            except StopIteration as stop:
                return stop.value

        return generator


class _BareDecorator(_GradMode):
    """A mode that also decorates without parentheses (@no_grad as well as @no_grad()), as PyTorch's."""

    def __new__(cls, func: Callable | None = None):
        mode = super().__new__(cls)
        return mode if func is None else mode(func)

    def __init__(self, func: Callable | None = None) -> None:
        pass


class no_grad(_BareDecorator):  # noqa: N801 (PyTorch's name)
    """Context manager and decorator (@no_grad or @no_grad()): ops inside are not recorded."""

    mode = False


class inference_mode(_GradMode):  # noqa: N801
    """As PyTorch's inference_mode: ops inside are not recorded (inference_mode(False): they are).
    minigrad has no separate inference tensors, so this is no_grad under PyTorch's name."""

    def __new__(cls, mode: bool | Callable = True):
        instance = super().__new__(cls)
        if callable(mode):  # bare @inference_mode, as PyTorch's
            instance.mode = False
            return instance(mode)
        return instance

    def __init__(self, mode: bool | Callable = True) -> None:
        self.mode = not mode

    def __enter__(self) -> None:
        super().__enter__()
        _grad_mode.inference_saved.append(is_inference_mode_enabled())
        _grad_mode.inference = not self.mode

    def __exit__(self, *exc: object) -> None:
        _grad_mode.inference = _grad_mode.inference_saved.pop()
        super().__exit__(*exc)


def is_inference_mode_enabled() -> bool:
    """Whether ops run inside an inference_mode block (in this thread; an inner
    inference_mode(False) turns it off), as torch.is_inference_mode_enabled."""
    return _grad_mode.inference


class enable_grad(_BareDecorator):  # noqa: N801
    """Context manager and decorator (@enable_grad or @enable_grad()): ops inside are recorded, even
    within no_grad."""

    mode = True


class set_grad_enabled(_GradMode):  # noqa: N801
    """Turn recording on or off (in this thread), as PyTorch's: a plain call takes effect at once;
    as a context manager it also restores the previous mode on exit, and as a decorator
    (@set_grad_enabled(False)) it sets the mode only while the function runs."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._previous = is_grad_enabled()
        _set_grad_mode(self.mode)

    def __enter__(self) -> None:
        self._switch(self._previous)  # the mode before the call, which already switched

    def __call__(self, func: Callable) -> Callable:
        _set_grad_mode(self._previous)  # decorating does not switch; each call of func does
        return (enable_grad() if self.mode else no_grad())(func)


@contextlib.contextmanager
def detect_anomaly():
    """Within it, an op whose forward output or backward gradient holds NaN/inf raises
    RuntimeError naming the op and the shapes."""
    global _anomaly
    prev, _anomaly = _anomaly, True
    try:
        yield
    finally:
        _anomaly = prev


class set_detect_anomaly:  # noqa: N801 (PyTorch's name)
    """Switch anomaly mode (see detect_anomaly) on or off, as torch.autograd.set_detect_anomaly:
    at once, or for a with block, after which the previous mode is back. Anomaly mode here is
    the check for NaN/inf, so check_nan=False leaves it off."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        global _anomaly, _anomaly_check_nan, _anomaly_without_checks
        self._previous, _anomaly = _anomaly, bool(mode) and bool(check_nan)
        self._previous_check_nan, _anomaly_check_nan = _anomaly_check_nan, bool(check_nan)
        self._previous_without, _anomaly_without_checks = _anomaly_without_checks, bool(mode) and not check_nan

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        global _anomaly, _anomaly_check_nan, _anomaly_without_checks
        _anomaly, _anomaly_check_nan = self._previous, self._previous_check_nan
        _anomaly_without_checks = self._previous_without


def is_anomaly_enabled() -> bool:
    """Whether anomaly mode is on (set_detect_anomaly(True), with or without check_nan, or inside
    detect_anomaly), as torch.is_anomaly_enabled; only check_nan=True makes minigrad check."""
    return _anomaly or _anomaly_without_checks


_anomaly_without_checks = False  # set_detect_anomaly(True, check_nan=False): the mode on, nothing checked


_anomaly_check_nan = True  # the check_nan of the set_detect_anomaly in force (PyTorch's default: True)


def is_anomaly_check_nan_enabled() -> bool:
    """The check_nan flag of the set_detect_anomaly in force (True unless one passed
    check_nan=False), as torch.is_anomaly_check_nan_enabled; it is True outside anomaly mode too."""
    return _anomaly_check_nan


@contextlib.contextmanager
def trace(hook: Callable[[type, tuple, dict, Tensor], None], start: Callable[[type], None] | None = None,
          span: Callable[[str], Callable[[], None]] | None = None):
    """Within it, each op applied in this thread calls hook(op class, input tensors (None for an
    absent optional input), keyword parameters, result) after its forward and, when given,
    start(op class) as apply begins. When given, span(name) is called as a backward pass in this
    thread begins a stretch of work, and returns the callable that ends it: the evaluation of each
    node ("autograd::engine::evaluate_function: MulBackward0", from taking its gradient to passing
    its inputs' on) and, inside it, the node's own backward ("MulBackward0"), PyTorch's profiler
    names; ops the backward applies (create_graph) come between. Used by minigrad.onnx (hook alone)
    and minigrad.profiler (all three: an op's time runs from start to hook)."""
    global _tracing
    if getattr(_tracer, "hook", None) is not None:
        raise RuntimeError("autograd.trace: this thread is already tracing")
    _tracer.hook, _tracer.start, _tracer.span = hook, start, span
    _tracing += 1
    try:
        yield
    finally:
        _tracing -= 1
        _tracer.hook = _tracer.start = _tracer.span = None


# --- nodes ---------------------------------------------------------------------------------


class Function:
    """A differentiable op and, once applied to tensors that require grad, its tape node.

    Subclasses define forward(self, *arrays, **params) -> array, saving what backward
    needs in self.saved (a tuple; only what the wanted gradients need, self.needs_grad(i), since
    an in-place change of a saved input makes backward refuse) and parameters in their own __slots__, and
    backward(self, grad) -> tuple with one gradient array (or None) per input.
    self.be is the inputs' backend; self.needs_grad(i) says whether input i wants a gradient.

    A subclass with PyTorch's static methods instead, ``forward(ctx, *args)`` on Tensors and
    ``backward(ctx, *grad_outputs)`` returning one gradient Tensor (or None) per argument of
    forward, is a custom function as torch.autograd.Function: ``MyFn.apply(*args)`` (see
    FunctionCtx and _apply_custom).
    """

    # hooks: {id: hook} of Tensor.register_hook on the tensor this node made, or None
    # node_name: PyTorch's name of the function that made the node, where name_node gave one
    __slots__ = ("next", "saved", "seq", "be", "retained", "hooks", "versions", "node_name", "__weakref__")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if isinstance(inspect.getattr_static(cls, "forward"), staticmethod):  # PyTorch's form: forward(ctx, *args)
            cls.apply = classmethod(_apply_custom)
            # its nodes' class, named as PyTorch's (MyFnBackward)
            cls._node = type(f"{cls.__name__}Backward", (_CustomFunctionNode,), {"__slots__": (), "function": cls})

    @classmethod
    def apply(cls, *inputs: Tensor | None, **params) -> Tensor:
        """Run forward on the inputs' arrays and record the node when any input requires grad.
        Inputs may be None (an absent optional tensor such as a bias)."""
        if _tracing:  # first, so that a profiler's time for the op includes all of apply
            start = getattr(_tracer, "start", None)
            if start is not None:
                start(cls)
        # plain loops: this runs for every op, so it avoids generator and helper overhead
        fn = cls.__new__(cls)
        device = None
        record = False
        arrays = []
        edges = []
        for t in inputs:
            if t is None:
                arrays.append(None)
                edges.append(None)
                continue
            if t._view is not None and t._view[2] != t._version_counter.value:
                _refresh_view(t)  # its base changed in place since t's node was made
            if t.device != device:
                if device is not None:
                    raise RuntimeError(
                        f"{cls.op_name()}: expected all tensors on the same device, got {device} and {t.device}"
                    )
                device = t.device
            arrays.append(t._data)
            if t._requires_grad:
                record = True
                edges.append(t.grad_fn or t)  # the node that made t, or the leaf itself
            else:
                edges.append(None)
        be = fn.be = _backends.get(device) or get_backend(device)
        fn.saved = ()
        fn.next = edges  # before forward, so that it saves only what the wanted gradients need
        out = fn.forward(*arrays, **params)
        if _anomaly:
            _check_finite(fn, out, "forward output", inputs)
        result = Tensor._make(out, device)
        source = be.view_source(out, arrays)
        if source >= 0:  # a view shares its base's version counter, as in PyTorch
            _make_view(result, inputs[source], cls, params if len(inputs) == 1 else None)
        if record and _grad_mode.enabled:
            fn.seq = next(_sequence)
            fn.retained = fn.hooks = None
            fn.versions = _saved_versions(be, (*inputs, result), (*arrays, out), fn.saved) if fn.saved else None
            result._requires_grad = True
            result.grad_fn = fn
        if _tracing:
            hook = getattr(_tracer, "hook", None)
            if hook is not None:
                hook(cls, inputs, params, result)
        return result

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    def needs_grad(self, i: int) -> bool:
        return self.next[i] is not None

    @classmethod
    def op_name(cls) -> str:
        """The op's name: the class name without its "Op" suffix (MulOp -> Mul)."""
        return cls.__name__.removesuffix("Op")

    def name(self) -> str:
        """The node's name as PyTorch prints it in ``grad_fn=<MulBackward0>``: the name given with
        name_node, else the op's name (or PyTorch's, where it differs) with PyTorch's "Backward0"."""
        return getattr(self, "node_name", None) or self._torch_name()

    def _torch_name(self) -> str:
        """PyTorch's name of this node from its op alone (ops whose name depends on their
        parameters, as sum over all elements or over dims, override it)."""
        op = self.op_name()
        return _TORCH_OP_NAMES.get(op, op) + "Backward0"

    @property
    def next_functions(self) -> tuple[tuple[Function | AccumulateGrad | None, int], ...]:
        """One (node, 0) pair per input, as PyTorch's: the Function that made the input, an
        AccumulateGrad for a leaf that requires grad, None for an input that needs no gradient;
        so tutorials can walk the graph (``loss.grad_fn.next_functions[0][0]``)."""
        return tuple((AccumulateGrad(edge) if isinstance(edge, Tensor) else edge, 0) for edge in self.next)

    def __repr__(self) -> str:
        return f"<{self.name()}>"


# PyTorch's names for the ops minigrad names differently (its node for ReLUOp is ReluBackward0;
# a Linear layer's is AddmmBackward0, a cross_entropy's NllLossBackward0, as PyTorch's graphs end)
_TORCH_OP_NAMES = {
    "ReLU": "Relu", "LeakyReLU": "LeakyRelu", "GELU": "Gelu", "Linear": "Addmm", "MatMul": "Mm",
    "Reshape": "View", "CrossEntropy": "NllLoss", "NLLLoss": "NllLoss", "Conv2d": "Convolution",
    "ConvTranspose2d": "Convolution", "MaxPool2d": "MaxPool2DWithIndices", "AvgPool2d": "AvgPool2D",
    "BatchNorm": "NativeBatchNorm", "LayerNorm": "NativeLayerNorm", "PowScalar": "Pow", "Cast": "ToCopy",
    "ToDevice": "ToCopy", "Dropout": "Mul", "Norm": "LinalgVectorNorm", "Pad": "ConstantPadNd",
}


def name_node(result: Tensor, name: str) -> Tensor:
    """result, whose node (when one was recorded) is then printed as PyTorch's node name for the
    function that made it (``grad_fn=<MseLossBackward0>``) rather than its last op's name: for
    functions minigrad composes from other ops or shares with another (mse_loss ends in a mean,
    squeeze is a reshape)."""
    if result.grad_fn is not None:
        result.grad_fn.node_name = name
    return result


class AccumulateGrad:
    """The graph node of a leaf that requires grad, as seen through next_functions (PyTorch's
    name): its gradient lands in ``variable.grad``."""

    __slots__ = ("variable",)

    def __init__(self, variable: Tensor) -> None:
        self.variable = variable

    @property
    def next_functions(self) -> tuple:
        return ()

    def name(self) -> str:
        return "AccumulateGrad"

    def __repr__(self) -> str:
        return "<AccumulateGrad>"


class FunctionCtx:
    """The ``ctx`` a custom Function's forward and backward get, as PyTorch's: forward calls
    ``ctx.save_for_backward(*tensors)`` and may set any attribute; backward reads
    ``ctx.saved_tensors`` and those attributes. ``ctx.needs_input_grad`` has one bool per argument
    of forward (whether it is a tensor whose gradient is wanted). Outputs passed to
    ``ctx.mark_non_differentiable`` (and integer outputs) get no gradient; after
    ``ctx.set_materialize_grads(False)`` backward gets None, not zeros, for the outputs whose
    gradient it is not asked for. An argument forward changes in place is passed to
    ``ctx.mark_dirty`` and returned: the returned tensor is that argument, whose history is now
    the Function's node (PyTorch's; a leaf that requires grad is refused)."""

    def __init__(self, needs_input_grad: tuple[bool, ...]) -> None:
        self.needs_input_grad = needs_input_grad
        self.materialize_grads = True
        self.to_save: tuple[Tensor | None, ...] = ()
        self.non_differentiable: tuple[Tensor, ...] = ()
        self.dirty: tuple[Tensor, ...] = ()

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save tensors (or None), but argument {i} is of type "
                                f"{type(t).__name__}; keep other values as attributes of ctx")
        self.to_save = tensors

    @property
    def saved_tensors(self) -> tuple[Tensor | None, ...]:
        """What forward gave save_for_backward (an output comes back as a tensor off the tape)."""
        return self.to_save

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        self.non_differentiable = tensors

    def mark_dirty(self, *args: Tensor) -> None:
        """The arguments forward changed in place (each must be returned by forward too)."""
        self.dirty = args

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)


def _apply_custom(cls: type[Function], *args: Any) -> Any:
    """apply of a custom Function (PyTorch's static forward(ctx, ...) and backward(ctx, ...)):
    forward runs with grad mode off; when grad mode is on and a tensor argument requires grad,
    each floating output not marked non-differentiable gets a node (cls._node, a _CustomFunctionNode) whose
    backward calls the class's backward. Outputs come back as new tensors sharing the memory
    of what forward returned, so an argument returned as it is does not become a non-leaf."""
    record = is_grad_enabled() and any(isinstance(a, Tensor) and a._requires_grad for a in args)
    ctx = FunctionCtx(tuple(record and isinstance(a, Tensor) and a._requires_grad for a in args))
    with no_grad():
        outputs = cls.forward(ctx, *args)
    if not record:
        return outputs
    results = list(outputs) if isinstance(outputs, tuple) else [outputs]
    dirty = {id(t) for t in ctx.dirty}
    if dirty:
        _check_dirty(ctx.dirty, results)
    skipped = {id(t) for t in ctx.non_differentiable}
    recorded = {id(o): o.detach() for o in results
                if isinstance(o, Tensor) and o.dtype.kind == "f" and id(o) not in skipped}
    ctx.to_save = tuple(recorded.get(id(t), t) for t in ctx.to_save)
    saved = [t for t in ctx.to_save if t is not None]
    versions = [(t._version_counter, t._version_counter.value, t.dtype, t.shape) for t in saved] or None
    edges = [(a.grad_fn or a) if isinstance(a, Tensor) and a._requires_grad else None for a in args]
    inputs = [(a.shape, a.dtype) if isinstance(a, Tensor) else None for a in args]
    metas = [(o.shape, o.dtype) if isinstance(o, Tensor) else None for o in results]
    for k, out in enumerate(results):
        if id(out) not in recorded:
            continue
        node = cls._node.__new__(cls._node)
        node.be, node.next, node.saved, node.versions = get_backend(out.device), edges, (ctx,), versions
        node.seq, node.retained, node.hooks = next(_sequence), None, None
        node.output, node.outputs, node.inputs = k, metas, inputs
        if id(out) not in dirty:
            results[k] = recorded[id(out)]
        results[k]._requires_grad, results[k].grad_fn = True, node  # a dirty argument: rebased in place
    return tuple(results) if isinstance(outputs, tuple) else results[0]


def _check_dirty(dirty: tuple, results: list) -> None:
    """PyTorch's checks of ctx.mark_dirty's tensors: each is returned, and none is a leaf that
    requires grad (whose history cannot change)."""
    returned = {id(o) for o in results}
    if any(id(t) not in returned for t in dirty):
        raise RuntimeError("Some elements marked as dirty during the forward method were not returned as output. "
                           "The inputs that are modified inplace must all be outputs of the Function.")
    if any(isinstance(t, Tensor) and t._requires_grad and t.grad_fn is None for t in dirty):
        raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")


class _CustomFunctionNode(Function):
    """The tape node of one output of a custom Function: its backward calls the class's
    backward(ctx, *grad_outputs) with this output's gradient and zeros (None without
    materialize_grads) for the others, so a function with several outputs used in the loss
    runs its backward once per output (the sum is the same by linearity), and checks what it
    returns as PyTorch does."""

    # output: which of forward's outputs this is; outputs: (shape, dtype) of each of forward's
    # outputs (None for a non-tensor); inputs: the same for forward's arguments. Each custom
    # Function has its own subclass (Function.__init_subclass__), whose `function` is that class.
    __slots__ = ("output", "outputs", "inputs")
    function: type[Function]

    def name(self) -> str:
        return type(self).__name__

    def backward(self, grad: Any) -> list:
        return [g if g is None else g._data for g in self.gradients(Tensor._make(grad, self.be.device), False)]

    def gradients(self, grad: Tensor, on_tape: bool) -> list[Tensor | None]:
        """The class's backward for this output's gradient, one tensor (or None) per input; with
        on_tape (create_graph) run with grad mode on, as PyTorch does, so what it computes from
        tensors that require grad is recorded."""
        ctx = self.saved[0]
        device = self.be.device
        grad_outputs = []
        for k, meta in enumerate(self.outputs):
            if k == self.output:
                grad_outputs.append(grad)
            elif meta is not None and ctx.materialize_grads:
                grad_outputs.append(Tensor._make(self.be.full(meta[0], 0, meta[1]), device))
            else:
                grad_outputs.append(None)
        with enable_grad() if on_tape else no_grad():
            returned = self.function.backward(ctx, *grad_outputs)
        returned = returned if isinstance(returned, tuple) else (returned,)
        n = len(self.inputs)
        if len(returned) < n or any(g is not None for g in returned[n:]):
            raise RuntimeError(f"function {self.name()} returned an incorrect number of gradients (expected {n}, "
                               f"got {len(returned)})")
        grads = []
        for i, (g, meta, edge) in enumerate(zip(returned[:n], self.inputs, self.next, strict=True)):
            if g is not None and not isinstance(g, Tensor):
                raise RuntimeError(f"function {self.name()} returned a {type(g).__name__} at index {i}; expected a "
                                   "Tensor or None")
            if g is not None and meta is None:
                raise RuntimeError(f"function {self.name()} returned a gradient different than None at position "
                                   f"{i + 1}, but the corresponding forward input was not a Tensor")
            if g is None or edge is None:
                grads.append(None)
                continue
            shape, dtype = meta
            if g.shape != shape:
                raise RuntimeError(f"Function {self.name()} returned an invalid gradient at index {i} - got "
                                   f"{list(g.shape)} but expected shape {list(shape)}")
            grads.append(g if g.dtype == dtype else g.to(dtype))
        return grads


class _VariableType(type):
    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, Tensor)


class Variable(metaclass=_VariableType):
    """PyTorch's legacy wrapper, for old code: ``Variable(t, requires_grad=False)`` is
    ``t.detach().requires_grad_(requires_grad)`` (a new tensor sharing t's memory, off the tape),
    and every Tensor is an instance of Variable. volatile is accepted and does nothing (as in
    PyTorch; use no_grad())."""

    def __new__(cls, data: Tensor, requires_grad: bool = False, volatile: bool = False) -> Tensor:
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        return data.detach().requires_grad_(requires_grad)


def _make_view(view: Tensor, source: Tensor, cls: type, params: dict | None) -> None:
    """view shares source's memory: it shares its version counter and, when the op has the one
    input (reshape, permute, expand, basic indexing), remembers how to take it again from the
    base that owns the memory (view._view = (base, view function, base version)), so that an
    in-place change through it or through the base can be recorded for backward."""
    counter = view._version_counter = source._version_counter
    if params is None:
        return

    def take(t: Tensor) -> Tensor:
        return cls.apply(t, **params)

    if source._view is None:
        view._view = (source, take, counter.value)
    else:
        base, outer, _ = source._view
        view._view = (base, lambda t: take(outer(t)), counter.value)


def _refresh_view(t: Tensor) -> None:
    """t's base changed in place after t's node was made: take t from the base again, so that its
    gradient goes through the change (PyTorch regenerates a view's grad_fn the same way)."""
    if not is_grad_enabled():
        return  # refreshed when it is next used with recording on
    base, take, _ = t._view
    fresh = take(base)
    t.grad_fn, t._requires_grad = fresh.grad_fn, fresh._requires_grad
    t._view = (base, take, t._version_counter.value)


def _saved_output_is(result: Tensor, target: Tensor) -> None:
    """result's values were written into target's memory (an in-place op): where result's node
    saved result, it now counts target's version, as if it had saved target (PyTorch's in-place
    ops save self), so a later in-place change of target makes backward refuse."""
    fn = result.grad_fn
    if fn is None or fn.versions is None:
        return
    counter = target._version_counter
    fn.versions = [
        (counter, counter.value, dtype, shape) if saved is result._version_counter else (saved, version, dtype, shape)
        for saved, version, dtype, shape in fn.versions
    ]


def _saved_versions(be, tensors: Sequence, arrays: Sequence, saved: tuple) -> list | None:
    """(version counter, version, dtype, shape) of each input or output whose memory the node
    saved (the array itself or a view of it), so backward can tell when it was changed in place.
    The counter, not the tensor, is kept: a tensor would keep its own node alive in a cycle."""
    versions = None
    for s in saved:
        if type(s) is tuple or not (hasattr(s, "base") or hasattr(s, "ptr")):  # shapes, numbers: not arrays
            continue
        i = be.view_source(s, arrays)
        if i >= 0:
            counter, array = tensors[i]._version_counter, arrays[i]
            versions = versions or []
            versions.append((counter, counter.value, array.dtype, tuple(array.shape)))
    return versions


def _check_versions(fn: Function) -> None:
    for counter, version, dtype, shape in fn.versions:
        if counter.value != version:
            raise RuntimeError(
                f"one of the tensors needed for gradient computation has been modified by an in-place "
                f"operation: a {dtype.name} tensor of shape {shape} saved by {fn.name()} is at "
                f"version {counter.value}, expected version {version} (e.g. optimizer.step() between the "
                "forward pass and backward())"
            )


def _check_finite(fn: Function, array, what: str, inputs: Sequence) -> None:
    if array is not None and array.dtype.kind == "f" and not fn.be.all_finite(array):
        shapes = ", ".join(str(tuple(t.shape)) for t in inputs if t is not None)
        raise RuntimeError(
            f"anomaly: {fn.op_name()} produced NaN/inf in its {what} "
            f"(shape {tuple(array.shape)}; input shapes {shapes})"
        )


# --- backward ------------------------------------------------------------------------------


def _accumulate(leaf: Tensor, grad) -> None:
    """leaf.grad += grad; the first gradient is copied so .grad never aliases another array. A
    gradient on the tape (create_graph) is kept as it is, and added to the one before out of place,
    as PyTorch's, so that .grad stays differentiable."""
    if isinstance(grad, Tensor):
        grad = grad if grad.dtype == leaf.dtype else grad.to(leaf.dtype)
        leaf._grad = grad if leaf._grad is None else leaf._grad + grad
        return
    be = get_backend(leaf.device)
    if leaf._grad is None:  # _grad: backward(inputs=) accumulates into non-leaves too, which .grad warns of
        leaf._grad = Tensor._make(be.astype(grad, leaf.dtype), leaf.device)
    else:
        be.accumulate(leaf._grad._data, grad)


# --- tensor and leaf hooks, end-of-backward callbacks ------------------------------------------

# {id: weak reference} of the leaves whose hook tables (register_hook's and
# register_post_accumulate_grad_hook's) hold hooks; a leaf dropped with its hooks leaves it. While
# it is empty, backward skips the pass that counts each hooked leaf's incoming edges. (Not a
# WeakSet: that compares tensors with ==, which is elementwise.)
_hooked_leaves: dict[int, weakref.ref] = {}
_LEAF_HOOKS = ("_grad_hooks", "_post_accumulate_grad_hooks")  # a leaf's hook tables (Tensor slots)
_callbacks = threading.local()  # .queue: callables to run when this thread's backward() ends


class RemovableHook:
    """Returned by Tensor.register_hook and register_post_accumulate_grad_hook; remove()
    unregisters the hook (again: no effect)."""

    _next_id = itertools.count()

    def __init__(self, hooks: dict, hook: Callable, leaf: Tensor | None) -> None:
        self.id = next(RemovableHook._next_id)
        self._hooks, self._leaf = hooks, None if leaf is None else weakref.ref(leaf)
        hooks[self.id] = hook
        if leaf is not None and id(leaf) not in _hooked_leaves:
            key = id(leaf)
            _hooked_leaves[key] = weakref.ref(leaf, lambda _, key=key: _hooked_leaves.pop(key, None))

    def remove(self) -> None:
        if self._hooks.pop(self.id, None) is None or self._leaf is None:
            return
        leaf = self._leaf()
        if leaf is not None and not any(getattr(leaf, kind, None) for kind in _LEAF_HOOKS):
            _hooked_leaves.pop(id(leaf), None)



def _leaf_hooks(t: Tensor, kind: str) -> dict:
    """The leaf t's hook table kind ("_grad_hooks" or "_post_accumulate_grad_hooks"), made when first needed."""
    hooks = getattr(t, kind, None)
    if hooks is None:
        hooks = {}
        setattr(t, kind, hooks)
    return hooks


def _check_hook(t: Tensor, hook: Callable, name: str) -> None:
    if not t._requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if not callable(hook):
        raise TypeError(f"{name}: hook must be callable, got {type(hook).__name__}")


def register_hook(t: Tensor, hook: Callable[[Tensor], Tensor | None]) -> RemovableHook:
    """Call hook(grad) with t's whole gradient of each backward() or grad() (all its uses summed),
    before it goes on (into t.grad for a leaf, to the ops that made t otherwise); a returned
    tensor replaces the gradient, as PyTorch's Tensor.register_hook. Hooks run in the order
    registered, each given the previous one's result; retain_grad keeps the final gradient."""
    _check_hook(t, hook, "register_hook")
    if t.grad_fn is None:
        return RemovableHook(_leaf_hooks(t, "_grad_hooks"), hook, t)
    if t.grad_fn.hooks is None:
        t.grad_fn.hooks = {}
    return RemovableHook(t.grad_fn.hooks, hook, None)


def register_post_accumulate_grad_hook(t: Tensor, hook: Callable[[Tensor], None]) -> RemovableHook:
    """Call hook(t) once per backward(), after the whole gradient of the leaf t of that pass has
    been accumulated into t.grad (all its uses summed), as PyTorch's hook of the same name."""
    if t.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    _check_hook(t, hook, "register_post_accumulate_grad_hook")
    return RemovableHook(_leaf_hooks(t, "_post_accumulate_grad_hooks"), hook, t)


def _run_grad_hooks(hooks: dict, grad, device: str):
    """grad passed through register_hook's hooks in order (with grad mode off, as in PyTorch's
    backward, unless grad is a tensor on the tape: create_graph); a hook's returned tensor must
    keep the gradient's shape, dtype and device."""
    on_tape = isinstance(grad, Tensor)
    for hook in list(hooks.values()):
        with enable_grad() if on_tape else no_grad():
            out = hook(grad if on_tape else Tensor._make(grad, device))
        if out is None:
            continue
        name = getattr(hook, "__name__", type(hook).__name__)
        if not isinstance(out, Tensor):
            raise TypeError(f"expected Variable, but hook '{name}' returned '{type(out).__name__}'")
        if out.shape != tuple(grad.shape):
            raise RuntimeError(f"hook '{name}' has changed the size of value (was {tuple(grad.shape)} got {out.shape})")
        if out.dtype != grad.dtype or out.device != device:
            raise RuntimeError(
                f"hook '{name}' has changed the type of value (was {grad.dtype} on {device} "
                f"got {out.dtype} on {out.device})"
            )
        grad = out if on_tape else out._data
    return grad


def queue_callback(callback: Callable[[], None]) -> None:
    """Run callback() when the backward() now running in this thread has processed every node
    (PyTorch's Variable._execution_engine.queue_callback); only valid inside a backward, e.g.
    from a hook. Callbacks run in the order queued; one may queue another."""
    queue = getattr(_callbacks, "queue", None)
    if queue is None:
        raise RuntimeError("queue_callback: no backward() is running in this thread")
    queue.append(callback)


def _hooked_leaf_edges(root_fns: list, accumulating: bool) -> dict:
    """{leaf with hooks: number of edges reaching it from the nodes reachable from root_fns}
    (register_hook's hooks; post-accumulate-grad hooks too when accumulating into .grad)."""
    counts: dict = {}
    seen = set(root_fns)
    stack = list(root_fns)
    while stack:
        for edge in stack.pop().next:
            if edge is None:
                continue
            if not isinstance(edge, Function):
                if getattr(edge, "_grad_hooks", None) or (
                    accumulating and getattr(edge, "_post_accumulate_grad_hooks", None)
                ):
                    counts[edge] = counts.get(edge, 0) + 1
            elif edge not in seen:
                seen.add(edge)
                stack.append(edge)
    return counts


def _leading_to(root_fns: list, only: dict) -> set:
    """The nodes reachable from root_fns from which one of only's tensors (by the id of its node,
    or of itself for a leaf) is reached, their own included: those backward(inputs=) runs, as
    PyTorch's, so the retained gradients and hooks of the others stay untouched."""
    nodes = []
    seen = set(root_fns)
    stack = list(root_fns)
    while stack:
        fn = stack.pop()
        nodes.append(fn)
        for edge in fn.next:
            if isinstance(edge, Function) and edge not in seen:
                seen.add(edge)
                stack.append(edge)
    needed: set = set()
    for fn in sorted(nodes, key=lambda node: node.seq):  # a node's inputs were made before it
        if id(fn) in only or any(edge in needed if isinstance(edge, Function) else id(edge) in only
                                 for edge in fn.next if edge is not None):
            needed.add(fn)
    return needed


def _root_gradient(root: Tensor, gradient, create_graph: bool = False) -> object:
    """The gradient to start from at root: ones for a one-element root, else the given one. An
    array, or with create_graph a tensor (the given one itself, which may require grad)."""
    if not root._requires_grad:
        raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
    be = get_backend(root.device)
    given = gradient if isinstance(gradient, Tensor) else None
    if gradient is None:
        if root._data.size != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        gradient = be.full(root.shape, 1.0, root.dtype)
    elif given is not None:
        gradient = given._data
    else:
        gradient = be.from_numpy(np.asarray(gradient, dtype=root.dtype))
    if tuple(gradient.shape) != root.shape:
        raise RuntimeError(
            f"backward: gradient has shape {tuple(gradient.shape)} but the output has shape {root.shape}"
        )
    if not create_graph:
        return gradient
    return given if given is not None else Tensor._make(gradient, root.device)


def _backward_inputs(inputs: Tensor | Sequence[Tensor]) -> dict[int, Tensor]:
    """backward(inputs=)'s tensors by the id of the node that made them (of themselves for leaves)."""
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if not inputs:
        raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    for t in inputs:
        if not isinstance(t, Tensor):
            raise TypeError(f"backward: inputs must be tensors, got {type(t).__name__}")
        if not t._requires_grad:
            raise RuntimeError("backward: every tensor of inputs must require grad")
    return {id(t.grad_fn or t): t for t in inputs}


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: object = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Tensor | Sequence[Tensor] | None = None,
) -> None:
    """Gradients of tensors (weighted by grad_tensors; one-element tensors need none) with respect
    to every leaf that requires grad, accumulated into .grad, as torch.autograd.backward; with
    inputs, only into those tensors' .grad (leaves or not; the others' are left alone).
    With create_graph the gradients are recorded on the tape (see _run_backward), so .grad can be
    differentiated again; retain_graph then defaults to True, as in PyTorch.

    Leaf hooks (register_post_accumulate_grad_hook) run as each leaf's gradient is complete,
    callbacks queued during the pass (queue_callback) once every node has run."""
    roots = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None or isinstance(grad_tensors, Tensor) or isinstance(tensors, Tensor):
        grad_tensors = [grad_tensors] * len(roots) if grad_tensors is None else [grad_tensors]
    grad_tensors = list(grad_tensors)
    if len(grad_tensors) != len(roots):
        raise RuntimeError(f"backward: got {len(grad_tensors)} gradients for {len(roots)} tensors")
    only = None if inputs is None else _backward_inputs(inputs)
    outer = getattr(_callbacks, "queue", None)
    _callbacks.queue = []
    try:
        pairs = [(root, _root_gradient(root, g, create_graph)) for root, g in zip(roots, grad_tensors, strict=True)]
        _run_backward(pairs, create_graph if retain_graph is None else bool(retain_graph), None, only, create_graph)
        queue = _callbacks.queue
        while queue:  # a callback may queue another
            queue.pop(0)()
    finally:
        _callbacks.queue = outer


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple[Tensor | None, ...] | dict[str, Tensor | None]:
    """The gradients of outputs (weighted by grad_outputs) with respect to inputs, as
    torch.autograd.grad (same parameters, in PyTorch's order): returned, not accumulated into any
    .grad. An input the outputs do not depend on is an error, or None with allow_unused=True
    (zeros with materialize_grads=True, which implies allow_unused). With create_graph the
    gradients are recorded on the tape and can be differentiated again (retain_graph then defaults
    to True). only_inputs is PyTorch's deprecated, ignored flag (False warns); is_grads_batched
    takes grad_outputs with a leading batch dim and gives each input's gradients stacked along it
    (one pass per row here, not vmap); inputs as a dict {name: tensor} gives a dict back."""
    if not only_inputs:
        warnings.warn("only_inputs argument is deprecated and is ignored now (defaults to True). To accumulate "
                      "gradient for other parts of the graph, please use torch.autograd.backward.",
                      FutureWarning, stacklevel=2)
    if isinstance(inputs, dict):
        names = list(inputs)
        result = grad(outputs, list(inputs.values()), grad_outputs, retain_graph, create_graph, True, allow_unused,
                      is_grads_batched, materialize_grads)
        return dict(zip(names, result, strict=True))
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, "
                         "but got: allow_unused=False.")
    allow_unused = materialize_grads if allow_unused is None else allow_unused
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    if is_grads_batched:
        return _batched_grad(outputs, inputs, list(grad_outputs), retain_graph, create_graph, allow_unused,
                             materialize_grads)
    for t in inputs:
        if not isinstance(t, Tensor) or not t._requires_grad:
            raise RuntimeError("grad: every input must be a tensor that requires grad")
    captured: dict[int, object] = {id(t.grad_fn or t): None for t in inputs}
    roots = [(out, _root_gradient(out, g, create_graph)) for out, g in zip(outputs, grad_outputs, strict=True)]
    _run_backward(roots, create_graph if retain_graph is None else bool(retain_graph), captured, None, create_graph)
    results = []
    for t in inputs:
        g = captured[id(t.grad_fn or t)]
        if g is None and not allow_unused:
            raise RuntimeError("grad: one of the differentiated tensors appears not to have been used in the "
                               "graph; set allow_unused=True if this is what you want")
        if g is None and materialize_grads:  # zeros, differentiable again with create_graph, as PyTorch's
            zeros = Tensor._make(get_backend(t.device).full(t.shape, 0, t.dtype), t.device)
            results.append(zeros.requires_grad_(True) if create_graph else zeros)
            continue
        if isinstance(g, Tensor):  # on the tape (create_graph)
            results.append(g if g.dtype == t.dtype else g.to(t.dtype))
        else:
            results.append(None if g is None else Tensor._make(get_backend(t.device).astype(g, t.dtype), t.device))
    return tuple(results)


def _batched_grad(outputs: list, inputs: list, grad_outputs: list, retain_graph: bool | None, create_graph: bool,
                  allow_unused: bool, materialize_grads: bool) -> tuple[Tensor | None, ...]:
    """autograd.grad with is_grads_batched: each grad_output's first dim is a batch of vectors; one
    pass per row (the graph kept until the last), each input's gradients stacked along a new dim 0."""
    if any(g is None for g in grad_outputs):
        raise RuntimeError("If `is_grads_batched=True`, we interpret the first dimension of each grad_output "
                           "as the batch dimension. The sizes of the remaining dimensions are expected to match "
                           "the shape of corresponding output, but a grad_output of None was given.")
    for out, g in zip(outputs, grad_outputs, strict=True):
        if g.dim() == 0 or tuple(g.shape[1:]) != tuple(out.shape):
            raise RuntimeError(f"If `is_grads_batched=True`, we interpret the first dimension of each grad_output "
                               f"as the batch dimension. The sizes of the remaining dimensions are expected to "
                               f"match the shape of corresponding output, but a mismatch was detected: grad_output "
                               f"has a shape of {tuple(g.shape)} and output has a shape of {tuple(out.shape)}.")
    n = grad_outputs[0].shape[0]
    if any(g.shape[0] != n for g in grad_outputs):
        raise RuntimeError("If `is_grads_batched=True`, every grad_output must have the same batch size")
    keep = create_graph if retain_graph is None else bool(retain_graph)
    rows = [grad(outputs, inputs, [g[i] for g in grad_outputs], True if i < n - 1 else keep, create_graph,
                 True, allow_unused, False, materialize_grads) for i in range(n)]
    from minigrad.functional import stack

    results: list[Tensor | None] = []
    for j, t in enumerate(inputs):
        if not rows:  # a batch of none: empty gradients
            results.append(Tensor._make(get_backend(t.device).full((0, *t.shape), 0, t.dtype), t.device))
        else:
            results.append(None if rows[0][j] is None else stack([r[j] for r in rows]))
    return tuple(results)


def _run_backward(roots: list, retain_graph: bool, captured: dict | None, only: dict | None = None,
                  create_graph: bool = False) -> None:
    """Replay the nodes reachable from the roots (tensor, gradient) in decreasing sequence order.
    Leaves accumulate into .grad (then their post-accumulate-grad hooks run, after the last edge
    reaching them); with only ({id of a node or leaf: tensor}, backward(inputs=)), just those
    tensors' .grad do, a non-leaf's with the gradient reaching its node, and no other leaf's
    hooks run; with captured ({id of a node or leaf: None}), the gradients reaching those
    are stored there instead and no .grad changes (autograd.grad). register_hook's hooks see a
    tensor's whole gradient: a node's when it is popped, a hooked leaf's once its edges are
    counted down (its gradients are summed until then).
    With create_graph the gradients are tensors on the tape: each node's come from the
    differentiable formulas of functional/derivatives.py (graph_backward), recorded with grad mode
    on, and are summed by recorded additions."""
    if create_graph and not is_grad_enabled():
        with enable_grad():
            return _run_backward(roots, retain_graph, captured, only, create_graph)
    if create_graph:
        from minigrad.functional.derivatives import graph_backward as node_backward

        def add(be, a, b):
            return a + b
    else:

        def node_backward(fn, g):
            return fn.backward(g)

        def add(be, a, b):
            return be.add(a, b)

    span = getattr(_tracer, "span", None) if _tracing else None
    if span is not None:  # each node's own backward as a span of its own (see trace)
        unspanned = node_backward

        def node_backward(fn, g):
            end = span(fn.name())
            try:
                return unspanned(fn, g)
            finally:
                end()

    grads: dict = {}
    heap: list = []
    accumulating = captured is None
    # hooked leaf -> edges still to come; its gradients wait in held until the count reaches 0
    nodes = [root.grad_fn for root, _ in roots if root.grad_fn is not None]
    pending = _hooked_leaf_edges(nodes, accumulating) if _hooked_leaves else None
    needed = None if only is None else _leading_to(nodes, only)
    held: dict = {}

    def to_leaf(leaf: Tensor, g, be) -> None:
        if accumulating:
            _accumulate(leaf, g)
        elif id(leaf) in captured:
            before = captured[id(leaf)]
            captured[id(leaf)] = g if before is None else add(be, before, g)

    def finish_leaf(leaf: Tensor, g, be) -> None:
        """A hooked leaf's whole gradient: through its hooks, into .grad (or captured), then its
        post-accumulate-grad hooks."""
        if only is not None and id(leaf) not in only:
            return
        if getattr(leaf, "_grad_hooks", None):
            g = _run_grad_hooks(leaf._grad_hooks, g, leaf.device)
        to_leaf(leaf, g, be)
        if accumulating and getattr(leaf, "_post_accumulate_grad_hooks", None):
            for hook in list(leaf._post_accumulate_grad_hooks.values()):
                hook(leaf)

    def to_node(fn: Function, g, be) -> None:
        if needed is not None and fn not in needed:
            return
        if fn in grads:
            grads[fn] = add(be, grads[fn], g)
        else:
            grads[fn] = g
            heapq.heappush(heap, (-fn.seq, fn))

    for root, gradient in roots:
        be = get_backend(root.device)
        if root.grad_fn is not None:
            to_node(root.grad_fn, gradient, be)
        elif pending and root in pending:  # also reached from another root: summed with the rest
            held[root] = add(be, held[root], gradient) if root in held else gradient
        else:
            finish_leaf(root, gradient, be)
    while heap:
        fn = heapq.heappop(heap)[1]
        if span is not None:
            evaluated = span(f"autograd::engine::evaluate_function: {fn.name()}")
        grad = grads.pop(fn)
        if fn.hooks:
            grad = _run_grad_hooks(fn.hooks, grad, fn.be.device)
        if captured is not None and id(fn) in captured:
            captured[id(fn)] = grad
        listed = None if only is None else only.get(id(fn))
        if listed is not None:
            _accumulate(listed, grad)
        if fn.saved is _FREED:
            raise RuntimeError(
                f"Trying to backward through the graph a second time ({fn.name()}): its saved "
                "arrays were freed by the first backward; use backward(retain_graph=True) "
                "the first time"
            )
        if fn.versions is not None:
            _check_versions(fn)
        if fn.retained is not None and accumulating:
            kept = fn.retained()
            if kept is not None and kept is not listed:  # a listed input's gradient is accumulated once
                _accumulate(kept, grad)
        input_grads = node_backward(fn, grad)
        if not retain_graph:
            fn.saved = _FREED
        for edge, g in zip(fn.next, input_grads, strict=True):
            if edge is None:
                continue
            if g is not None and _anomaly:
                _check_finite(fn, g._data if create_graph else g, "backward gradient", [])
            if isinstance(edge, Function):
                if g is not None:
                    to_node(edge, g, fn.be)
            elif pending and edge in pending:  # a hooked leaf: finished after its last edge
                if g is not None:
                    held[edge] = add(fn.be, held[edge], g) if edge in held else g
                pending[edge] -= 1
                if not pending[edge] and edge in held:
                    finish_leaf(edge, held.pop(edge), fn.be)
            elif g is not None and (only is None or id(edge) in only):
                to_leaf(edge, g, fn.be)
        if span is not None:
            evaluated()
    for leaf, g in held.items():  # edges from nodes no gradient reached never counted down
        finish_leaf(leaf, g, get_backend(leaf.device))


def retain_grad(t: Tensor) -> None:
    """Keep the gradient of the non-leaf t in t.grad during backward."""
    if t.grad_fn is not None:
        t.grad_fn.retained = weakref.ref(t)


# --- gradient checks ---------------------------------------------------------------------


class GradcheckError(RuntimeError):
    """An analytic gradient disagrees with finite differences."""


def _scalar_objective(fn: Callable, inputs: Sequence, weights: list | None):
    """sum_k <w_k, out_k> over fn's tensor outputs with fixed random weights w_k."""
    outs = fn(*inputs)
    outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
    outs = [o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f"]
    if weights is None:
        rng = np.random.default_rng(1234)
        weights = [rng.uniform(0.5, 1.5, o.shape) for o in outs]
    total = None
    for o, w in zip(outs, weights, strict=True):
        weight = get_backend(o.device).from_numpy(w.astype(o.dtype))
        term = (o * Tensor._make(weight, o.device)).sum()
        total = term if total is None else total + term
    return total, weights


def _analytic(fn: Callable, inputs: Sequence) -> tuple[list, list]:
    for t in inputs:
        if isinstance(t, Tensor):
            t.grad = None
    with enable_grad():
        total, weights = _scalar_objective(fn, inputs, None)
        total.backward()
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    grads = [np.zeros(t.shape) if t.grad is None else t.grad.numpy().astype(np.float64) for t in checked]
    return grads, weights


def _set_values(t: Tensor, host: np.ndarray) -> None:
    """Give t a copy of the host values, on its device (the original array is restored later)."""
    t._data = get_backend(t.device).from_numpy(np.array(host, dtype=t.dtype))


def _objective_value(fn: Callable, inputs: Sequence, weights: list) -> float:
    with no_grad():
        return float(_scalar_objective(fn, inputs, weights)[0].item())


def gradcheck(
    fn: Callable,
    inputs: Sequence,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Compare the analytic gradient of fn(*inputs) with float64 central differences.

    Every input tensor that requires grad must be float64. The outputs are reduced to
    a scalar with fixed random weights, so one backward checks the whole vector-Jacobian
    product. Raises GradcheckError naming the worst element (or returns False when
    raise_exception is False); returns True when every element is within
    atol + rtol * |numeric|.
    """
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    for t in checked:
        if t.dtype != np.float64:
            raise TypeError(f"gradcheck: inputs must be float64, got {t.dtype} for shape {t.shape}")
    analytic, weights = _analytic(fn, inputs)
    for k, t in enumerate(checked):
        original = t._data
        host = t._host().copy()
        flat = host.reshape(-1)
        numeric = np.empty(flat.size)
        try:
            for i in range(flat.size):
                orig = flat[i]
                flat[i] = orig + eps
                _set_values(t, host)
                plus = _objective_value(fn, inputs, weights)
                flat[i] = orig - eps
                _set_values(t, host)
                minus = _objective_value(fn, inputs, weights)
                flat[i] = orig
                numeric[i] = (plus - minus) / (2 * eps)
        finally:
            t._data = original
        a = analytic[k].reshape(-1)
        err = np.abs(a - numeric) - (atol + rtol * np.abs(numeric))
        worst = int(np.argmax(err)) if err.size else 0
        if err.size and err[worst] > 0:
            msg = (
                f"gradcheck: input {k} (shape {t.shape}) element "
                f"{tuple(int(i) for i in np.unravel_index(worst, t.shape))}: analytic "
                f"{a[worst]:.10g} vs numeric {numeric[worst]:.10g} (atol {atol}, rtol {rtol})"
            )
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def gradgradcheck(
    fn: Callable,
    inputs: Sequence,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Compare the second derivatives of fn(*inputs) with float64 central differences, as
    torch.autograd.gradgradcheck: the gradients of fn's outputs (weighted by fixed random
    tensors) with respect to the inputs that require grad, taken with create_graph=True, go
    through gradcheck as functions of the inputs."""
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]

    def first_gradients(*args: Any) -> tuple:
        with enable_grad():
            total, _ = _scalar_objective(fn, args, None)  # the same seeded weights at every call
            wanted = [t for t in args if isinstance(t, Tensor) and t.requires_grad]
            grads = grad(total, wanted, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    if not checked:
        raise ValueError("gradgradcheck: no input requires grad")
    return gradcheck(first_gradients, inputs, eps, atol, rtol, raise_exception)


def gradcheck_directional(
    fn: Callable,
    inputs: Sequence,
    eps: float = 1e-3,
    atol: float = 1e-3,
    rtol: float = 1e-2,
    n_directions: int = 3,
    seed: int = 0,
    raise_exception: bool = True,
) -> bool:
    """Random-projection gradient check that works in float32.

    For random directions d (one per input requiring grad), compares
    f(x + eps d) - f(x - eps d) with <grad f, (x + eps d) - (x - eps d)>, where the
    perturbed points are rounded to the inputs' dtype before both sides are computed.
    """
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck_directional: no input requires grad")
    analytic, weights = _analytic(fn, inputs)
    rng = np.random.default_rng(seed)
    saved_arrays = [t._data for t in checked]
    originals = [t._host().copy() for t in checked]
    for trial in range(n_directions):
        dirs = [rng.standard_normal(t.shape) for t in checked]
        norm = np.sqrt(sum(float((d * d).sum()) for d in dirs)) or 1.0
        plus_pts = [(o + eps * d / norm).astype(o.dtype) for o, d in zip(originals, dirs, strict=True)]
        minus_pts = [(o - eps * d / norm).astype(o.dtype) for o, d in zip(originals, dirs, strict=True)]
        try:
            for t, p in zip(checked, plus_pts, strict=True):
                _set_values(t, p)
            plus = _objective_value(fn, inputs, weights)
            for t, m in zip(checked, minus_pts, strict=True):
                _set_values(t, m)
            minus = _objective_value(fn, inputs, weights)
        finally:
            for t, a in zip(checked, saved_arrays, strict=True):
                t._data = a
        # both sides as directional derivatives (per unit of eps)
        numeric = (plus - minus) / (2 * eps)
        steps = zip(analytic, plus_pts, minus_pts, strict=True)
        predicted = sum(float((g * (p.astype(np.float64) - m)).sum()) for g, p, m in steps) / (2 * eps)
        if abs(numeric - predicted) > atol + rtol * abs(numeric):
            msg = (
                f"gradcheck_directional: direction {trial}: finite difference {numeric!r} vs "
                f"gradient projection {predicted!r} (eps {eps}, atol {atol}, rtol {rtol})"
            )
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


# minigrad._autograd_function, imported last as it imports Function from here, is torch.autograd.function:
# this is one module, not a package, so that path is registered by hand.
from minigrad import _autograd_function as function  # noqa: E402
from minigrad.tensor import Tensor  # noqa: E402  (tensor.py imports this module back)

sys.modules[f"{__name__}.function"] = function
# torch.autograd.functional (jacobian, hessian, vjp, jvp, vhp, hvp), registered the same way
from minigrad import _autograd_functional as functional  # noqa: E402

sys.modules[f"{__name__}.functional"] = functional
