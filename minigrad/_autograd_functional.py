"""torch.autograd.functional: vjp, jvp, jacobian, hessian, vhp and hvp of a function of tensors,
by reverse mode on minigrad's tape (jvp, hvp and hessian through create_graph's second
derivatives). minigrad/autograd.py registers this module as minigrad.autograd.functional.

As PyTorch's: inputs (and v) are a tensor or a tuple of tensors, and results take the same form;
func's inputs are taken off the tape (or, with create_graph, kept on it through a view, so the
results can be differentiated with respect to the callers' tensors); with strict=False an output
that does not depend on an input gives zeros, with strict=True it is an error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from minigrad import autograd as _autograd
from minigrad.tensor import Tensor

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def _as_tuple(value: Any, what: str, fn_name: str) -> tuple[bool, tuple[Tensor, ...]]:
    """(whether value was a tuple or list, its tensors as a tuple), refusing anything else."""
    is_tuple = isinstance(value, (tuple, list))
    items = tuple(value) if is_tuple else (value,)
    for i, item in enumerate(items):
        if not isinstance(item, Tensor):
            where = f"The {what} given to {fn_name}" + (f" at index {i}" if is_tuple else "")
            raise TypeError(f"{where} must be either a Tensor or a tuple of Tensors but the value at index {i} has "
                            f"type {type(item).__name__}.")
    return is_tuple, items


def _untuple(values: tuple, is_tuple: bool | tuple[bool, bool]) -> Any:
    """values back in the caller's form: the tuple, or its one element (nested for two levels)."""
    if isinstance(is_tuple, tuple):
        outer, inner = is_tuple
        values = tuple(row if inner else row[0] for row in values)
        return values if outer else values[0]
    return values if is_tuple else values[0]


def _prepared(inputs: tuple[Tensor, ...], create_graph: bool) -> tuple[Tensor, ...]:
    """func's inputs: views of the callers' tensors when create_graph keeps them on the tape,
    else fresh leaves sharing their memory."""
    return tuple(t.view_as(t) if create_graph and t.requires_grad else t.detach().requires_grad_(True) for t in inputs)


def _finished(values: tuple, create_graph: bool) -> tuple:
    """Results detached unless create_graph (None stays None)."""
    return tuple(v if v is None or create_graph else v.detach() for v in values)


def _check_v(v: Any, like: tuple[Tensor, ...], fn_name: str, what: str) -> tuple[Tensor, ...]:
    _, vs = _as_tuple(v, "v", fn_name)
    if len(vs) != len(like):
        raise RuntimeError(f"v is a tuple of invalid length: should be {len(like)} but got {len(vs)}.")
    for i, (a, b) in enumerate(zip(vs, like, strict=True)):
        if a.shape != b.shape:
            raise RuntimeError(f"Entry {i} in v has invalid size: should be {list(b.shape)} (that of the {what}) "
                               f"but got {list(a.shape)}.")
    return vs


def _input_vector(v: Any, inputs: tuple[Tensor, ...], fn_name: str) -> tuple[Tensor, ...]:
    """v checked against the inputs' shapes; omitted, ones for a single one-element input."""
    if v is None:
        if len(inputs) != 1 or inputs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided function is a "
                               "single Tensor with a single element.")
        return (inputs[0].new_ones(inputs[0].shape),)
    return _check_v(v, inputs, fn_name, "input")


def _grad(outputs: tuple, inputs: tuple, grad_outputs: tuple, create_graph: bool, strict: bool,
          fn_name: str) -> tuple[Tensor, ...]:
    """autograd.grad of the outputs that are on the tape, zeros (or, strict, an error) for the
    inputs they do not reach."""
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs, strict=True) if o.requires_grad]
    if pairs:
        grads = _autograd.grad([o for o, _ in pairs], list(inputs), [g for _, g in pairs], retain_graph=True,
                               create_graph=create_graph, allow_unused=True)
    else:
        grads = (None,) * len(inputs)
    out = []
    for i, (g, t) in enumerate(zip(grads, inputs, strict=True)):
        if g is None:
            if strict:
                raise RuntimeError(f"{fn_name}: the output of the user-provided function is independent of input "
                                   f"{i}. This is not allowed in strict mode.")
            g = t.new_zeros(t.shape)
        out.append(g)
    return tuple(out)


def _outputs(func: Callable, inputs: tuple, fn_name: str) -> tuple[bool, tuple[Tensor, ...]]:
    return _as_tuple(func(*inputs), "outputs of the user-provided function", fn_name)


def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(inputs), v^T J): the vector-Jacobian product; v may be omitted for a one-element output."""
    with _autograd.enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _prepared(inputs, create_graph)
        is_outputs_tuple, outputs = _outputs(func, inputs, "vjp")
        if v is None:
            if len(outputs) != 1 or outputs[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the user-provided function returns a single "
                                   "Tensor with a single element.")
            v = (outputs[0].new_ones(outputs[0].shape),)
        grads = _grad(outputs, inputs, _check_v(v, outputs, "vjp", "output"), create_graph, strict, "vjp")
    return _untuple(_finished(outputs, create_graph), is_outputs_tuple), _untuple(_finished(grads, create_graph),
                                                                                   is_inputs_tuple)


def jvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(inputs), J v): the Jacobian-vector product, by the double-vjp trick (the vjp is
    linear in its vector u, so differentiating u^T J with respect to u along v gives J v)."""
    with _autograd.enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _prepared(inputs, create_graph)
        v = _input_vector(v, inputs, "jvp")
        is_outputs_tuple, outputs = _outputs(func, inputs, "jvp")
        dummies = tuple(o.new_zeros(o.shape).requires_grad_(True) for o in outputs)
        vjps = _grad(outputs, inputs, dummies, True, strict, "jvp")
        # a vjp no output reaches is zeros off the tape: J v is then zeros
        on_tape = [(g, u) for g, u in zip(vjps, v, strict=True) if g.requires_grad]
        grads = _grad(tuple(g for g, _ in on_tape), dummies, tuple(u for _, u in on_tape), create_graph, strict, "jvp")
    return _untuple(_finished(outputs, create_graph), is_outputs_tuple), _untuple(_finished(grads, create_graph),
                                                                                   is_outputs_tuple)


def jacobian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """d func / d inputs: for one output and one input a tensor of shape output.shape +
    input.shape; a tuple over the inputs (and, for several outputs, a tuple of those). One
    backward pass per output element whichever the strategy: "forward-mode" (which PyTorch
    allows only with vectorize=True) gives the same Jacobian; vectorize changes nothing else."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your function '
                         'has more outputs than inputs, "forward-mode" tends to be more performant. Otherwise, '
                         'prefer to use "reverse-mode".')
    if strategy == "forward-mode" and not vectorize:
        raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse Hessian is only "
                                  "implemented for `vectorize=True`.")  # PyTorch's rule and message
    with _autograd.enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _prepared(inputs, create_graph)
        is_outputs_tuple, outputs = _outputs(func, inputs, "jacobian")
        rows = []
        for out in outputs:
            flat = out.reshape(-1)
            per_input: list[list[Tensor]] = [[] for _ in inputs]
            for j in range(flat.numel()):
                grads = _grad((flat[j],), inputs, (None,), create_graph, strict, "jacobian")
                for k, g in enumerate(grads):
                    per_input[k].append(g)
            pairs = zip(per_input, inputs, strict=True)
            rows.append(tuple(_stacked(parts, out, t, create_graph) for parts, t in pairs))
    return _untuple(tuple(rows), (is_outputs_tuple, is_inputs_tuple))


def _stacked(parts: list[Tensor], out: Tensor, inp: Tensor, create_graph: bool) -> Tensor:
    """The gradients of out's elements with respect to inp as one (out.shape + inp.shape) tensor."""
    from minigrad.functional import stack

    if not parts:
        return inp.new_zeros(tuple(out.shape) + tuple(inp.shape))
    whole = stack(parts).reshape(tuple(out.shape) + tuple(inp.shape))
    return whole if create_graph else whole.detach()


def _scalar_output(func: Callable, fn_name: str) -> Callable:
    def single(*inputs: Tensor) -> Tensor:
        is_tuple, outputs = _outputs(func, inputs, fn_name)
        if is_tuple or outputs[0].numel() != 1:
            raise RuntimeError(f"The function given to {fn_name} should return a single Tensor with a single "
                               "element")
        return outputs[0].reshape(())

    return single


def hessian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Hessian of a function with a one-element output: the jacobian of its gradient, of shape
    input.shape + input.shape (a tuple of tuples over pairs of inputs for several)."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    single = _scalar_output(func, "hessian")

    def gradient(*args: Tensor) -> tuple[Tensor, ...]:
        return jacobian(single, args, create_graph=True, strict=strict)

    result = jacobian(gradient, inputs, create_graph=create_graph, strict=strict, strategy=outer_jacobian_strategy)
    return _untuple(result, (is_inputs_tuple, is_inputs_tuple))


def vhp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Tensor, Any]:
    """(func(inputs), v^T H) for a function with a one-element output, by double backward."""
    return _hessian_product(func, inputs, v, create_graph, strict, "vhp")


def hvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Tensor, Any]:
    """(func(inputs), H v) for a function with a one-element output. The Hessian of a twice
    differentiable function is symmetric, so this is v^T H, computed as vhp."""
    return _hessian_product(func, inputs, v, create_graph, strict, "hvp")


def _hessian_product(func: Callable, inputs: Any, v: Any, create_graph: bool, strict: bool,
                     fn_name: str) -> tuple[Tensor, Any]:
    with _autograd.enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn_name)
        inputs = _prepared(inputs, create_graph)
        v = _input_vector(v, inputs, fn_name)
        output = _scalar_output(func, fn_name)(*inputs)
        first = _grad((output,), inputs, (None,), True, strict, fn_name)
        on_tape = [(g, u) for g, u in zip(first, v, strict=True) if g.requires_grad]
        product = _grad(tuple(g for g, _ in on_tape), inputs, tuple(u for _, u in on_tape), create_graph, strict,
                        fn_name)
    return _finished((output,), create_graph)[0], _untuple(_finished(product, create_graph), is_inputs_tuple)
