"""Course programs ported with `import minigrad as torch`, round 6: each program runs on both
libraries (`program(lib)` with lib minigrad or torch) and its results are compared with PyTorch's
(live, or recorded in tests/fixtures/torch_reference/test_porting_round6.npz). Programs:
load_state_dict's result (`<All keys matched successfully>`, _IncompatibleKeys), its strict
error message and checkpoints without BatchNorm's num_batches_tracked, nn.Buffer attributes,
default_collate giving Tensors (a custom collate_fn that calls it), default_convert and
batch_size=None samples, StackDataset and ChainDataset, the DataLoader's worker options
(timeout, ...), grad_fn.next_functions down to AccumulateGrad, broadcasting, reshape, cat,
stack and expand errors as RuntimeError (float() of several elements: ValueError), the return
types of max/min/sort/topk/median/kthvalue/mode/cummax/... (names, reprs, pickling),
torch.optim.swa_utils (AveragedModel, EMA, SWALR, update_bn), adaptive_max_pool1d /
nn.AdaptiveMaxPool1d and nn.utils.spectral_norm / remove_spectral_norm (the hook form)."""

import collections
import copy
import pickle
import re

import numpy as np
import pytest
from parity import check_program, error_of
from torch_reference import TorchReference

import minigrad

torch_reference = TorchReference(__name__)


def check(key, program, rtol=1e-9):
    """program(minigrad)'s results against program(torch)'s (parity.check_program)."""
    check_program(torch_reference, key, program, rtol)


def unprefixed(text, lib):
    """text with the library's name ("torch." / "minigrad.") taken out, to compare reprs."""
    return text.replace(lib.__name__ + ".", "")


# ------------------------------------------------------------------- load_state_dict's result
def _load_state_dict_program(lib):
    model = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.BatchNorm1d(2))
    state = model.state_dict()
    matched = model.load_state_dict(state)
    partial = dict(state)
    del partial["0.bias"]
    partial["extra"] = lib.ones(1)
    loose = model.load_state_dict(partial, strict=False)
    return {
        "matched": np.array([repr(matched), str(matched), type(matched).__name__, f"{matched}"]),
        "loose": np.array([repr(loose), str(loose), type(loose).__name__]),
        "fields": np.array([*loose.missing_keys, *loose.unexpected_keys, len(matched.missing_keys)]),
        "strict_error": np.array(error_of(lambda: model.load_state_dict(partial))),
        "missing_only": np.array(error_of(lambda: model.load_state_dict({}))),
        "checkpoints": np.array(_checkpoints_without_num_batches_tracked(lib)),
    }


def _checkpoints_without_num_batches_tracked(lib):
    """BatchNorm's num_batches_tracked may be absent from a hand-built (or older) checkpoint, not
    from one that state_dict() made (its _metadata has the module's version)."""
    model = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.BatchNorm1d(2))
    with lib.no_grad():
        model[1].num_batches_tracked.fill_(7)
    state = model.state_dict()
    versions = [f"{prefix}:{entry['version']}" for prefix, entry in state._metadata.items()]
    kept = copy.deepcopy(state)
    del kept["1.num_batches_tracked"]
    built = {key: value for key, value in state.items() if "num_batches" not in key}
    return versions + [
        str(model.load_state_dict(kept, strict=False)),
        error_of(lambda: model.load_state_dict(kept)),
        str(model.load_state_dict(built)),
        str(model.load_state_dict(collections.OrderedDict(built), strict=False)),
        str(model[1].num_batches_tracked.item()),
    ]


def test_load_state_dict_result_and_message_as_torch():
    check("load_state_dict", _load_state_dict_program)


# ------------------------------------------------------------------- nn.Buffer
def _buffer_program(lib):
    class Model(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = lib.nn.Linear(2, 2)
            self.scale = lib.nn.Buffer(lib.full((2,), 3.0))
            self.mask = lib.nn.Buffer(lib.ones(2), persistent=False)

        def forward(self, x):
            return self.lin(x) * self.scale * self.mask

    model = Model()
    model.scale = lib.nn.Buffer(lib.full((2,), 2.0))  # re-assigned: keeps its place
    model.extra = lib.nn.Buffer()
    model.double()
    return {
        "state_dict": np.array(list(model.state_dict())),
        "buffers": np.array([name for name, _ in model.named_buffers()]),
        "params": np.array([name for name, _ in model.named_parameters()]),
        "types": np.array([type(model.scale).__name__, str(model.scale.dtype).replace(lib.__name__ + ".", ""),
                           isinstance(model.scale, lib.nn.Parameter)]),
        "scale": model.scale,
        "extra_shape": np.array(list(model.extra.shape)),
        "repr": np.array(unprefixed(repr(model), lib)),
    }


def test_nn_buffer_registers_as_torch():
    check("buffer", _buffer_program)


# ------------------------------------------------------------------- default_collate, default_convert
def _collate_program(lib):
    data = lib.utils.data
    direct = {
        "ints": data.default_collate([1, 2, 3]),
        "floats": data.default_collate([1.0, 2.5]),
        "bools": data.default_collate([True, False]),
        "arrays": data.default_collate([np.ones(2, dtype=np.float32), np.zeros(2, dtype=np.float32)]),
        "float64_arrays": data.default_collate([np.ones(2), np.zeros(2)]),
        "numpy_numbers": data.default_collate([np.int32(1), np.int32(4)]),
    }
    out = {name: value for name, value in direct.items()}
    out["types"] = np.array([type(v).__name__ for v in direct.values()])
    nested = data.default_collate([{"x": np.ones(2), "y": (1, 2.0)}, {"x": np.zeros(2), "y": (3, 4.0)}])
    out["nested"] = np.array([type(nested).__name__, type(nested["x"]).__name__, type(nested["y"]).__name__,
                              type(nested["y"][0]).__name__])
    out["nested_y"] = nested["y"][1]

    samples = [(np.full(3, i, dtype=np.float32), i, f"s{i}") for i in range(5)]

    def collate(batch):  # a course's collate_fn: default_collate, then tensor work on the result
        x, y, names = data.default_collate(batch)
        return x.to("cpu") * 2, y.float(), names

    loader = data.DataLoader(samples, batch_size=2, collate_fn=collate)
    first = next(iter(loader))
    out["custom_x"], out["custom_y"], out["custom_names"] = first[0], first[1], np.array(first[2])

    converted = data.default_convert([np.ones(2), 3, (np.float32(2.5), "a"), {"k": np.arange(2)}])
    out["convert_types"] = np.array([type(converted).__name__, type(converted[0]).__name__, type(converted[1]).__name__,
                                     type(converted[2]).__name__, type(converted[2][0]).__name__,
                                     type(converted[3]["k"]).__name__])
    out["convert_scalar"] = converted[2][0]
    tensors = data.TensorDataset(lib.arange(6.0).reshape(3, 2), lib.tensor([0, 1, 0]))
    unbatched = next(iter(data.DataLoader(tensors, batch_size=None)))
    numpy_unbatched = next(iter(data.DataLoader(samples, batch_size=None)))
    out["unbatched"] = np.array([type(unbatched).__name__, type(numpy_unbatched).__name__,
                                 type(numpy_unbatched[0]).__name__, type(numpy_unbatched[1]).__name__])
    return out


def test_default_collate_gives_tensors_as_torch():
    check("collate", _collate_program)


# ------------------------------------------------------------------- StackDataset, ChainDataset, options
def _datasets_program(lib):
    data = lib.utils.data
    xs, ys = lib.arange(8.0).reshape(4, 2), lib.tensor([0, 1, 1, 0])
    stacked = data.StackDataset(xs, ys)
    named = data.StackDataset(image=xs, label=ys)

    class Stream(data.IterableDataset):
        def __init__(self, start, n):
            self.start, self.n = start, n

        def __iter__(self):
            return iter(range(self.start, self.start + self.n))

        def __len__(self):
            return self.n

    chain = data.ChainDataset([Stream(0, 3), Stream(10, 2)])
    batches = list(data.DataLoader(named, batch_size=3))
    loader = data.DataLoader(stacked, batch_size=2, num_workers=0, timeout=0, multiprocessing_context=None,
                             pin_memory_device="", in_order=True)
    return {
        "stacked": stacked[2][0], "stacked_label": stacked[2][1], "len": np.array([len(stacked), len(named)]),
        "named_keys": np.array(sorted(named[1])), "named_label": named[1]["label"],
        "batches_image": batches[0]["image"], "batches_label": batches[1]["label"],
        "chain": np.array(list(chain)), "chain_len": np.array(len(chain)),
        "chain_batches": lib.cat(list(data.DataLoader(chain, batch_size=2))),
        "errors": np.array([error_of(lambda: data.StackDataset(xs, ys[:3])),
                            error_of(lambda: data.StackDataset(xs, label=ys)),
                            error_of(lambda: data.DataLoader(stacked, timeout=-1))]),
        "options": np.array([loader.timeout, len(list(loader)), loader.in_order]),
    }


def test_stack_and_chain_datasets_and_loader_options_as_torch():
    check("datasets", _datasets_program)


# ------------------------------------------------------------------- grad_fn.next_functions
def _node_name(node):
    """A node's name without PyTorch's overload number (MulBackward0 -> MulBackward)."""
    return "None" if node is None else re.sub(r"\d+$", "", node.name()).split("::")[-1]


def _next_functions_program(lib):
    w = lib.tensor([1.0, 2.0], requires_grad=True)
    b = lib.tensor(0.5, requires_grad=True)
    x = lib.tensor([3.0, 4.0])
    loss = ((w * x).sum() + b).exp()
    walk, nodes = [], [loss.grad_fn]
    while nodes:  # breadth first, as the tutorials print it
        node = nodes.pop(0)
        pairs = node.next_functions
        walk.append(f"{_node_name(node)} -> " + ", ".join(f"{_node_name(n)}:{i}" for n, i in pairs))
        nodes += [n for n, _ in pairs if n is not None]
    add = loss.grad_fn.next_functions[0][0]
    mul = add.next_functions[0][0].next_functions[0][0]
    leaf = mul.next_functions[0][0]
    return {
        "walk": np.array(walk),
        "types": np.array([type(pairs).__name__ for pairs in (loss.grad_fn.next_functions, add.next_functions[0])]),
        "leaf": np.array([type(leaf).__name__, leaf.variable is w, leaf.variable is b, len(leaf.next_functions),
                          add.next_functions[1][0].variable is b, mul.next_functions[1][0] is None]),
    }


def test_next_functions_walk_the_graph_as_torch():
    check("next_functions", _next_functions_program)


# ------------------------------------------------------------------- broadcasting errors
def _broadcast_errors_program(lib):
    a, b = lib.ones(2, 3), lib.ones(4)
    cases = {
        "add": lambda: a + b, "mul": lambda: a * b, "sub": lambda: a - b, "div": lambda: a / b,
        "pow": lambda: a**b, "floordiv": lambda: a // b, "mod": lambda: a % b, "add_": lambda: a.add_(b),
        "iadd": lambda: a.__iadd__(b), "maximum": lambda: lib.maximum(a, b), "eq": lambda: a == b,
        "gt": lambda: a > b, "where": lambda: lib.where(a > 0, a, b),
        "broadcast_shapes": lambda: lib.broadcast_shapes((2, 3), (4,)),
        "broadcast_tensors": lambda: lib.broadcast_tensors(a, b),
        # a classifier head of the wrong size: x.view(-1, 16 * 5 * 5)
        "view": lambda: a.view(4), "view_-1": lambda: a.view(-1, 4), "reshape": lambda: a.reshape(5),
        "flatten_view": lambda: lib.ones(2, 3, 4).view(2, 16),
        "cat": lambda: lib.cat([a, b]), "cat_dim1": lambda: lib.cat([a, lib.ones(3, 3)], dim=1),
        "stack": lambda: lib.stack([a, a.t()]), "expand": lambda: a.expand(4, 4), "expand_dims": lambda: a.expand(3),
        # float()/int() of several elements: PyTorch's ValueError (item() stays a RuntimeError)
        "float": lambda: float(b), "int": lambda: int(b), "item": lambda: b.item(),
    }
    caught = {}
    for name, fn in cases.items():
        try:
            fn()
            caught[name] = "returned"
        except RuntimeError:  # what a ported `except RuntimeError:` catches
            caught[name] = "RuntimeError"
        except Exception as exc:  # noqa: BLE001
            caught[name] = type(exc).__name__
    return {"caught": np.array(list(caught.values())), "names": np.array(list(caught)),
            "float_message": np.array(error_of(lambda: float(b)))}


def test_shape_errors_are_runtime_errors_as_torch():
    check("shape_errors", _broadcast_errors_program)


def test_shape_errors_are_still_value_errors():
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast together"):
        minigrad.ones(2, 3) + minigrad.ones(4)
    with pytest.raises(ValueError, match=r"eq: shapes"):
        minigrad.ones(2, 3) == minigrad.ones(4)  # noqa: B015 (the comparison raises)
    with pytest.raises(ValueError, match=r"reshape: shape \(4,\) is invalid for input of shape \(2, 3\)"):
        minigrad.ones(2, 3).view(4)


# ------------------------------------------------------------------- return types of max/min/sort/topk
def _return_types_program(lib):
    x = lib.tensor([[1.0, 3.0, 2.0], [4.0, 0.0, 5.0]])
    results = {"max": lib.max(x, 1), "min": x.min(dim=0), "max_keep": x.max(1, keepdim=True), "sort": x.sort(),
               "topk": x.topk(2), "max_scalar": lib.tensor(2.0).max(0), "min_scalar": lib.tensor(2.0).min(0),
               "topk_scalar": lib.tensor(2.0).topk(1), "median": x.median(1), "nanmedian": x.nanmedian(0),
               "kthvalue": x.kthvalue(2), "mode": x.mode(1), "cummax": x.cummax(1), "cummin": x.cummin(0),
               "aminmax": x.aminmax(dim=1), "histogram": lib.histogram(x.flatten(), bins=3)}
    out = {
        "names": np.array([type(r).__name__ for r in results.values()]),
        "modules": np.array([unprefixed(type(r).__module__, lib) for r in results.values()]),
        "reprs": np.array([unprefixed(repr(r), lib) for r in results.values()]),
        "lengths": np.array([len(r) for r in results.values()]),
    }
    again = pickle.loads(pickle.dumps(results["max"]))
    out["pickled"] = np.array([type(again).__name__, again.indices.tolist() == [1, 2]])
    out["values"], out["indices"] = results["topk"]
    return out


def test_return_types_as_torch():
    check("return_types", _return_types_program)


# ------------------------------------------------------------------- swa_utils
def _swa_program(lib):
    swa = lib.optim.swa_utils
    model = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(3), lib.nn.Linear(3, 1))
    with lib.no_grad():
        for p in model.parameters():
            p.copy_(lib.tensor(np.linspace(-0.3, 0.3, p.numel()).reshape(tuple(p.shape)), dtype=lib.float32))
    averaged = swa.AveragedModel(model)
    ema = swa.AveragedModel(model, multi_avg_fn=swa.get_ema_multi_avg_fn(0.9))
    ema_buffers = swa.AveragedModel(model, avg_fn=swa.get_ema_avg_fn(0.5), use_buffers=True)
    optimizer = lib.optim.SGD(model.parameters(), lr=0.05)
    scheduler = swa.SWALR(optimizer, swa_lr=0.01, anneal_epochs=3)
    x = lib.tensor(np.linspace(-2, 2, 16).reshape(8, 2), dtype=lib.float32)
    lrs = []
    for _ in range(5):
        optimizer.zero_grad()
        model(x).pow(2).mean().backward()
        optimizer.step()
        for average in (averaged, ema, ema_buffers):
            average.update_parameters(model)
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    loader = lib.utils.data.DataLoader(lib.utils.data.TensorDataset(x, x[:, 0]), batch_size=3)
    swa.update_bn(loader, averaged)
    optimizer2 = lib.optim.SGD([lib.nn.Parameter(lib.ones(1))], lr=1.0)
    linear = swa.SWALR(optimizer2, swa_lr=0.1, anneal_epochs=4, anneal_strategy="linear")
    linear_lrs = []
    for _ in range(6):
        optimizer2.step()
        linear.step()
        linear_lrs.append(optimizer2.param_groups[0]["lr"])
    return {
        "lrs": np.array(lrs), "linear_lrs": np.array(linear_lrs), "n_averaged": averaged.n_averaged,
        "keys": np.array(list(averaged.state_dict())), "output": averaged(x),
        "ema_weight": ema.module[0].weight, "ema_running_mean": ema_buffers.module[1].running_mean,
        "swa_running_mean": averaged.module[1].running_mean, "swa_running_var": averaged.module[1].running_var,
        "restored": np.array([averaged.module[1].momentum, averaged.training]),
        "swa_fn": swa.get_swa_avg_fn()(lib.tensor([1.0]), lib.tensor([3.0]), lib.tensor(1)),
        "errors": np.array([error_of(lambda: swa.SWALR(optimizer2, 0.1, anneal_strategy="exp")).split(":")[0],
                            error_of(lambda: swa.SWALR(optimizer2, 0.1, anneal_epochs=-1)).split(":")[0]]),
    }


def test_swa_utils_as_torch():
    check("swa", _swa_program, rtol=1e-5)


# ------------------------------------------------------------------- adaptive_max_pool1d
def _adaptive_max_pool1d_program(lib):
    rng = np.random.default_rng(3)
    x = lib.tensor(rng.standard_normal((2, 3, 7)), requires_grad=True)
    values, indices = lib.nn.functional.adaptive_max_pool1d(x, 3, return_indices=True)
    (values * lib.arange(6.0, dtype=lib.float64).reshape(2, 1, 3)).sum().backward()
    layer = lib.nn.AdaptiveMaxPool1d(2)
    return {
        "values": values, "indices": indices, "grad": x.grad,
        "equal_windows": lib.nn.functional.adaptive_max_pool1d(x.detach(), 7),
        "unbatched": layer(x.detach()[0]),
        "layer_indices": lib.nn.AdaptiveMaxPool1d(4, return_indices=True)(x.detach())[1],
        "repr": np.array(repr(layer)),
    }


def test_adaptive_max_pool1d_as_torch():
    check("adaptive_max_pool1d", _adaptive_max_pool1d_program)


# ------------------------------------------------------------------- nn.utils.spectral_norm (hook form)
def _spectral_norm_program(lib):
    utils = lib.nn.utils
    lin = utils.spectral_norm(lib.nn.Linear(4, 3))
    conv = utils.spectral_norm(lib.nn.Conv2d(2, 3, 2))
    transposed = utils.spectral_norm(lib.nn.ConvTranspose2d(2, 3, 2))
    out = {
        "names": np.array([",".join(name for name, _ in lin.named_parameters()),
                           ",".join(name for name, _ in lin.named_buffers()), ",".join(lin.state_dict())]),
        "shapes": np.array([list(lin.weight_u.shape) + list(lin.weight_v.shape),
                            list(conv.weight_u.shape) + list(conv.weight_v.shape),
                            list(transposed.weight_u.shape) + list(transposed.weight_v.shape)]),
    }
    rng = np.random.default_rng(4)
    with lib.no_grad():
        lin.weight_orig.copy_(lib.tensor(rng.standard_normal((3, 4)), dtype=lib.float32))
        transposed.weight_orig.copy_(lib.tensor(rng.standard_normal((2, 3, 2, 2)), dtype=lib.float32))
    x = lib.tensor(rng.standard_normal((2, 4)), dtype=lib.float32)
    for _ in range(60):  # power iteration converges from any start: the random u and v drop out
        y = lin(x)
        transposed(lib.ones(1, 2, 2, 2))
    y.sum().backward()
    out["weight"], out["transposed"], out["grad"] = lin.weight, transposed.weight, lin.weight_orig.grad
    lin.eval()
    u = lin.weight_u.clone()
    lin(x)
    out["eval_keeps_u"] = np.array((u == lin.weight_u).all().item())
    utils.remove_spectral_norm(lin)
    out["removed"] = np.array([",".join(name for name, _ in lin.named_parameters()), ",".join(lin.state_dict())])
    out["removed_weight"] = lin.weight
    out["errors"] = np.array([error_of(lambda: utils.remove_spectral_norm(lin)).split(":")[0],
                              error_of(lambda: utils.spectral_norm(transposed)).split(":")[0]])
    return out


def test_spectral_norm_hook_form_as_torch():
    check("spectral_norm", _spectral_norm_program, rtol=1e-4)
