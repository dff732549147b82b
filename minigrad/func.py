"""torch.func for ported code: functional_call, stack_module_state, grad, grad_and_value, vjp,
jvp, jacrev, jacfwd, hessian and vmap, built on minigrad's tape.

The transforms are reverse mode with create_graph (so they nest: grad(grad(f)), hessian), and
vmap runs the function once per index of the mapped dimension and stacks the results. Results
are PyTorch's in value and structure; they keep a graph only to tensors outside the transform
that require grad (a closed-over parameter, a caller's leaf), as PyTorch's do. Arguments and
results may be tensors or tuples, lists and dicts of them (pytrees), as in PyTorch.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from minigrad import autograd as _autograd
from minigrad.tensor import Tensor

__all__ = ["functional_call", "grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp", "stack_module_state",
           "vjp", "vmap"]


# --- pytrees: tensors in (nested) tuples, lists and dicts --------------------------------------


def _leaves(tree: Any) -> list:
    """The leaves of tree in order (dicts by their keys' order)."""
    if isinstance(tree, Mapping):
        return [leaf for value in tree.values() for leaf in _leaves(value)]
    if isinstance(tree, (tuple, list)):
        return [leaf for value in tree for leaf in _leaves(value)]
    return [tree]


def _rebuilt(tree: Any, leaves: Sequence) -> Any:
    """tree's structure with its leaves replaced, in order, by leaves."""
    it = iter(leaves)

    def build(node: Any) -> Any:
        if isinstance(node, Mapping):
            return type(node)((key, build(value)) for key, value in node.items())
        if isinstance(node, (tuple, list)):
            return type(node)(build(value) for value in node)
        return next(it)

    return build(tree)


# --- functional_call and stack_module_state -----------------------------------------------------


def functional_call(module: Any, parameter_and_buffer_dicts: Mapping | Sequence[Mapping], args: Any = (),
                    kwargs: Mapping | None = None, *, tie_weights: bool = True, strict: bool = False) -> Any:
    """module(*args, **kwargs) with its parameters and buffers named in the dicts replaced by the
    given tensors for this call only, as torch.func.functional_call. With tie_weights, a tensor
    registered under several names (tied weights) is replaced under all of them; with strict,
    every parameter and buffer must be given."""
    dicts = [parameter_and_buffer_dicts] if isinstance(parameter_and_buffer_dicts, Mapping) \
        else list(parameter_and_buffer_dicts)
    given: dict[str, Any] = {}
    for d in dicts:
        repeated = given.keys() & d.keys()
        if repeated:
            raise ValueError(f"{sorted(repeated)} appeared in multiple dictionaries; behavior of functional call "
                             "is ambiguous")
        given.update(d)
    found = {name: _slot(module, name, missing_ok=True) for name in given}
    slots = {name: slot[1:] for name, slot in found.items() if slot[1] is not None}  # name -> (registry, key)
    unexpected = sorted(given.keys() - slots.keys())
    if tie_weights:  # other names of a replaced tensor follow it
        replaced = {id(registry[key]): given[name] for name, (registry, key) in slots.items()}
        for name, (registry, key) in _all_slots(module).items():
            if name not in given and id(registry[key]) in replaced:
                slots[name], given[name] = (registry, key), replaced[id(registry[key])]
    if strict:
        missing = sorted(_all_slots(module).keys() - given.keys())
        if missing or unexpected:
            raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}:"
                               + "".join(f"\n\t{what} key(s): " + ", ".join(f"'{k}'" for k in keys) + "."
                                         for what, keys in (("Unexpected", unexpected), ("Missing", missing)) if keys))
    originals = [(registry, key, registry[key]) for registry, key in slots.values()]
    # a name that is no parameter or buffer: a plain attribute of its module for the call, as PyTorch
    attributes = [(found[name][0].__dict__, found[name][2]) for name in unexpected]
    previous = [(d, key, d.get(key, _ABSENT)) for d, key in attributes]
    try:
        for name, (registry, key) in slots.items():
            registry[key] = given[name]
        for name, (d, key) in zip(unexpected, attributes, strict=True):
            d[key] = given[name]
        return module(*(args if isinstance(args, tuple) else (args,)), **(kwargs or {}))
    finally:
        for d, key, value in reversed(previous):
            if value is _ABSENT:
                d.pop(key, None)
            else:
                d[key] = value
        for registry, key, value in reversed(originals):
            registry[key] = value


_ABSENT = object()


def _slot(module: Any, name: str, missing_ok: bool = False) -> Any:
    """The registry (a module's _parameters or _buffers) and key holding the tensor called name;
    with missing_ok, (the owning module, that registry or None, key)."""
    *path, key = name.split(".")
    owner = module
    for part in path:
        owner = owner._modules.get(part) if hasattr(owner, "_modules") else None
        if owner is None:
            raise AttributeError(f"functional_call: {type(module).__name__} has no submodule on the path of {name!r}")
    for registry in (owner._parameters, owner._buffers):
        if key in registry and registry[key] is not None:
            return (owner, registry, key) if missing_ok else (registry, key)
    if missing_ok:
        return owner, None, key
    raise AttributeError(f"functional_call: {type(module).__name__} has no parameter or buffer {name!r}")


def _all_slots(module: Any) -> dict[str, tuple[dict, str]]:
    names = [name for name, _ in module.named_parameters(remove_duplicate=False)]
    names += [name for name, _ in module.named_buffers(remove_duplicate=False)]
    return {name: _slot(module, name) for name in names}


def stack_module_state(models: Sequence[Any]) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """(parameters, buffers) of models of one architecture, each name's tensors stacked along a
    new first dimension (parameters as new leaves that require grad), for vmap over an ensemble
    with functional_call, as torch.func.stack_module_state."""
    from minigrad.functional import stack

    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    names = [name for name, _ in models[0].named_parameters()]
    params = {name: stack([dict(m.named_parameters())[name].detach() for m in models]).requires_grad_(True)
              for name in names}
    buffers = {name: stack([dict(m.named_buffers())[name] for m in models]) for name, _ in models[0].named_buffers()}
    return params, buffers


# --- gradients --------------------------------------------------------------------------------


def _tracked(tree: Any) -> Any:
    """tree's tensors as new tensors to differentiate with respect to: views of those already on
    the tape (so a result stays connected to them: nested transforms), fresh leaves otherwise."""
    return _rebuilt(tree, [t.view_as(t) if t.requires_grad else t.detach().requires_grad_(True) for t in _leaves(tree)])


def _reaches_outside(results: Sequence[Tensor], inner: Sequence[Tensor]) -> bool:
    """Whether the graph of results reaches a tensor that requires grad other than the transform's
    own leaves (inner): then the results keep their graph, as PyTorch's do."""
    own = {id(t) for t in inner}
    seen: set[int] = set()
    stack = [r.grad_fn or r for r in results if isinstance(r, Tensor) and r.requires_grad]
    while stack:
        node = stack.pop()
        if isinstance(node, Tensor):
            if id(node) not in own:
                return True
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.extend(edge for edge in node.next if edge is not None)
    return False


def _finish(results: Any, inner: Sequence[Tensor]) -> Any:
    """results, detached unless their graph reaches beyond the transform's own leaves."""
    leaves = _leaves(results)
    if _reaches_outside([t for t in leaves if isinstance(t, Tensor)], inner):
        return results
    return _rebuilt(results, [t.detach() if isinstance(t, Tensor) else t for t in leaves])


def _argnums(argnums: int | tuple[int, ...], count: int, fn_name: str) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums:
        raise RuntimeError(f"{fn_name}(f, argnums): argnums must be non-empty")
    for n in nums:
        if not -count <= n < count:
            raise RuntimeError(f"Got argnums={n}, but only {count} positional inputs")
    return tuple(n % count for n in nums)


def grad_and_value(func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable:
    """A function returning (gradient of func's one-element output with respect to the args
    picked by argnums, the output), as torch.func.grad_and_value; with has_aux, func returns
    (output, aux) and the value is that pair."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        nums = _argnums(argnums, len(args), "grad_and_value")
        with _autograd.enable_grad():
            args = list(args)
            for n in nums:
                args[n] = _tracked(args[n])
            out = func(*args, **kwargs)
            output, aux = out if has_aux else (out, None)
            if has_aux and not (isinstance(out, tuple) and len(out) == 2):
                raise RuntimeError("grad_and_value(f)(*args): output of function f should be a tuple: (output, aux) "
                                   "if has_aux is True")
            if not isinstance(output, Tensor) or output.numel() != 1:
                raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got "
                                   + (f"tensor with {output.dim()} dims" if isinstance(output, Tensor) else
                                      type(output).__name__))
            inner = [leaf for n in nums for leaf in _leaves(args[n])]
            grads = _autograd.grad(output, inner, create_graph=True, allow_unused=True) if output.requires_grad \
                else (None,) * len(inner)
            grads = [t.new_zeros(t.shape) if g is None else g for g, t in zip(grads, inner, strict=True)]
            trees = []
            for n in nums:
                count = len(_leaves(args[n]))
                trees.append(_rebuilt(args[n], grads[:count]))
                grads = grads[count:]
            result = _finish(trees[0] if isinstance(argnums, int) else tuple(trees), inner)
            value = _finish((output, aux) if has_aux else output, inner)
        return result, value

    return wrapper


def grad(func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable:
    """A function returning the gradient of func's one-element output with respect to the args
    picked by argnums (and func's aux with has_aux), as torch.func.grad."""
    both = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        gradients, value = both(*args, **kwargs)
        return (gradients, value[1]) if has_aux else gradients

    return wrapper


def vjp(func: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """(func(*primals), vjp_fn[, aux]): vjp_fn(cotangents) gives the vector-Jacobian product for
    each primal, as torch.func.vjp."""
    with _autograd.enable_grad():
        inner_trees = [_tracked(p) for p in primals]
        out = func(*inner_trees)
        output, aux = out if has_aux else (out, None)
    inner = [leaf for tree in inner_trees for leaf in _leaves(tree)]
    outputs = _leaves(output)

    def vjp_fn(cotangents: Any) -> tuple:
        vectors = _leaves(cotangents)
        if len(vectors) != len(outputs):
            raise RuntimeError(f"Expected pytree structure of cotangents to be the same as pytree structure of outputs "
                               f"to the function: {len(vectors)} tensors for {len(outputs)} outputs")
        with _autograd.enable_grad():
            pairs = [(o, v) for o, v in zip(outputs, vectors, strict=True) if o.requires_grad]
            grads = _autograd.grad([o for o, _ in pairs], inner, [v for _, v in pairs], retain_graph=True,
                                   create_graph=True, allow_unused=True) if pairs else (None,) * len(inner)
            grads = [t.new_zeros(t.shape) if g is None else g for g, t in zip(grads, inner, strict=True)]
            trees = []
            for tree in inner_trees:
                count = len(_leaves(tree))
                trees.append(_rebuilt(tree, grads[:count]))
                grads = grads[count:]
            return _finish(tuple(trees), inner)

    result = _finish(output, inner)
    return (result, vjp_fn, _finish(aux, inner)) if has_aux else (result, vjp_fn)


def jvp(func: Callable, primals: Sequence, tangents: Sequence, *, has_aux: bool = False) -> tuple:
    """(func(*primals), J tangents[, aux]), the Jacobian-vector product, as torch.func.jvp (by
    the double-vjp trick on the tape, not forward mode)."""
    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to be tuples")
    if len(_leaves(primals)) != len(_leaves(tangents)):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to have the same python "
                           "structure")
    with _autograd.enable_grad():
        inner_trees = [_tracked(p) for p in primals]
        inner = [leaf for tree in inner_trees for leaf in _leaves(tree)]
        result = func(*inner_trees)
        output, aux = result if has_aux else (result, None)
        outputs = _leaves(output)
        # u -> J^T u is linear in u, so its derivative along the tangents is J tangents
        dummies = [o.new_zeros(o.shape).requires_grad_(True) for o in outputs]
        pairs = [(o, d) for o, d in zip(outputs, dummies, strict=True) if o.requires_grad]
        vjps = _autograd.grad([o for o, _ in pairs], inner, [d for _, d in pairs], create_graph=True,
                              allow_unused=True) if pairs else (None,) * len(inner)
        linked = [(g, t) for g, t in zip(vjps, _leaves(tangents), strict=True) if g is not None]
        products = _autograd.grad([g for g, _ in linked], dummies, [t for _, t in linked], create_graph=True,
                                  allow_unused=True) if linked else (None,) * len(dummies)
        products = [d.new_zeros(d.shape) if p is None else p for p, d in zip(products, dummies, strict=True)]
    done = (_finish(output, inner), _finish(_rebuilt(output, products), inner + dummies))
    return (*done, _finish(aux, inner)) if has_aux else done


def jacrev(func: Callable, argnums: int | tuple[int, ...] = 0, *, has_aux: bool = False,
           chunk_size: int | None = None) -> Callable:
    """A function returning the Jacobian of func (a tensor or a tuple of tensors) with respect to
    the args picked by argnums (tensors), of shape output.shape + input.shape, tuples for several
    outputs or argnums, as torch.func.jacrev: one backward pass per output element
    (autograd.functional.jacobian). chunk_size changes nothing here."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums(argnums, len(args), "jacrev")
        aux = []

        def of_picked(*picked: Tensor) -> Any:
            full = list(args)
            for n, p in zip(nums, picked, strict=True):
                full[n] = p
            out = func(*full, **kwargs)
            if has_aux:
                out, extra = out
                aux.append(extra)
            return out

        with _autograd.enable_grad():
            inner = [_tracked(args[n]) for n in nums]
            jac = _autograd.functional.jacobian(of_picked, inner[0] if isinstance(argnums, int) else tuple(inner),
                                                create_graph=True)
        jac = _finish(jac, inner)
        return (jac, _finish(aux[0], inner)) if has_aux else jac

    return wrapper


def jacfwd(func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False, *,
           randomness: str = "error") -> Callable:
    """torch.func.jacfwd: the same Jacobian as jacrev (computed in reverse mode here)."""
    return jacrev(func, argnums, has_aux=has_aux)


def hessian(func: Callable, argnums: int | tuple[int, ...] = 0) -> Callable:
    """torch.func.hessian: the Jacobian of the Jacobian, shape output.shape + input.shape + input.shape."""
    return jacfwd(jacrev(func, argnums), argnums)


# --- vmap -------------------------------------------------------------------------------------


def vmap(func: Callable, in_dims: Any = 0, out_dims: Any = 0, randomness: str = "error", *,
         chunk_size: int | None = None) -> Callable:
    """func mapped over a dimension of its inputs, as torch.func.vmap: in_dims gives, per
    argument (or for all), the dimension to map over (None: passed whole to every call); the
    results are stacked along out_dims. Here func runs once per index and the results are
    stacked, so it sees unbatched tensors exactly as under PyTorch's vmap; randomness is that of
    "different" calls (and chunk_size changes nothing)."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness}")

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from minigrad.functional import stack

        dims = tuple(in_dims) if isinstance(in_dims, (tuple, list)) else (in_dims,) * len(args)
        if len(dims) != len(args):
            raise ValueError(f"vmap(f, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with the structure "
                             f"of inputs: {len(dims)} in_dims for {len(args)} inputs")
        mapped = [(a, d) for a, d in zip(args, dims, strict=True) if d is not None]
        sizes = {t.shape[d] for a, d in mapped for t in _leaves(a) if isinstance(t, Tensor)}
        if len(sizes) != 1:
            raise ValueError(f"vmap(f, in_dims={in_dims}, ...)(<inputs>): Expected all tensors to have the same size "
                             f"in the mapped dimension, got sizes {sorted(sizes)} for the mapped inputs"
                             if sizes else "vmap: at least one input must be mapped over (in_dims all None)")
        size = sizes.pop()

        def select(a: Any, d: int | None, i: int) -> Any:
            if d is None:
                return a
            return _rebuilt(a, [t.select(d, i) if isinstance(t, Tensor) else t for t in _leaves(a)])

        results = [func(*(select(a, d, i) for a, d in zip(args, dims, strict=True)), **kwargs) for i in range(size)]
        columns = list(zip(*(_leaves(r) for r in results), strict=True))
        outs = _leaves(out_dims) if isinstance(out_dims, (tuple, list)) else [out_dims] * len(columns)
        if len(outs) != len(columns):
            raise ValueError(f"vmap: out_dims {out_dims} does not match the {len(columns)} outputs")
        stacked = [column[0] if d is None else stack(list(column), d) for column, d in zip(columns, outs, strict=True)]
        return _rebuilt(results[0], stacked)

    return wrapper
