"""Course programs ported with `import minigrad as torch`, round 4: each program runs on both
libraries from the same numpy weights and data (`program(lib)` with lib minigrad or torch) and its
results are compared with PyTorch's (live, or recorded in
tests/fixtures/torch_reference/test_porting_round4.npz). Programs: grad-mode decorators on
generator functions, a bare @inference_mode and is_inference_mode_enabled, Tensor.view on
non-contiguous tensors (PyTorch's error) against reshape, predictions accumulated by torch.cat
into an empty torch.tensor([]),
regression losses with integer and bool targets, named_parameters/modules/buffers with
remove_duplicate=False, device.type as a plain str, torch.utils.data's submodules
(dataloader, dataset, sampler, distributed) and DataLoader.sampler's defaults, and arrays and
models that went through pickle. Bad input raises PyTorch's exception types."""

import importlib
import pickle

import numpy as np
import pytest
from parity import as_array, check_program, set_params
from torch_reference import TorchReference

import minigrad

torch_reference = TorchReference(__name__)


def check(key, program, rtol=1e-9):
    """program(minigrad)'s results against program(torch)'s (parity.check_program)."""
    check_program(torch_reference, key, program, rtol)


def error_name(fn):
    """The name of the exception fn() raises ("" when it returns)."""
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 (the type is the result)
        return type(exc).__name__
    return ""


# ------------------------------------------------------------------- grad-mode decorators
def _grad_mode_program(lib):
    """@no_grad() on a sampling generator (PyTorch runs its body without grad at each resume and
    gives the caller back its own mode at each yield), @enable_grad inside no_grad, the bare
    @inference_mode, and is_inference_mode_enabled."""
    w = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)

    @lib.no_grad()
    def sample(steps):
        x = lib.ones(2, dtype=lib.float64)
        for _ in range(steps):
            x = x * w
            received = yield x, lib.is_grad_enabled()
            if received is not None:
                x = x + received
        return "done"

    out = {}
    gen = sample(3)
    x, inside = next(gen)
    out["first"], out["first/flags"] = x, np.array([x.requires_grad, inside, lib.is_grad_enabled()])
    x, inside = gen.send(lib.tensor([10.0, 0.0], dtype=lib.float64))
    out["second"], out["second/flags"] = x, np.array([x.requires_grad, inside, lib.is_grad_enabled()])
    out["rest"] = np.array([s.requires_grad for s, _ in sample(4)])
    try:
        gen.send(None)
        gen.send(None)
    except StopIteration as stop:
        out["return_value"] = np.array(stop.value)
    closed = sample(5)
    next(closed)
    closed.close()
    out["after_close"] = np.array(lib.is_grad_enabled())

    @lib.enable_grad()
    def grads_anyway():
        for k in range(2):
            yield (w * k).requires_grad

    with lib.no_grad():
        out["enable_grad_generator"] = np.array(list(grads_anyway()))

    @lib.inference_mode
    def predict(x):
        return x * w

    @lib.inference_mode()
    def predict_called(x):
        return x * w

    y = predict(lib.ones(2, dtype=lib.float64))
    out["bare_inference"], out["bare_inference/requires_grad"] = y, np.array(y.requires_grad)
    out["inference/requires_grad"] = np.array(predict_called(w).requires_grad)
    out["name"] = np.array(predict.__name__)
    flags = [lib.is_inference_mode_enabled()]
    with lib.inference_mode():
        flags.append(lib.is_inference_mode_enabled())
        with lib.inference_mode(False):
            flags += [lib.is_inference_mode_enabled(), lib.is_grad_enabled()]
        flags.append(lib.is_inference_mode_enabled())
    out["inference_flags"] = np.array(flags + [lib.is_inference_mode_enabled()])
    (w * w).sum().backward()
    out["grad_after"] = w.grad
    return out


def test_grad_mode_decorators_on_generators_as_torch():
    check("grad_mode_generators", _grad_mode_program)


def test_grad_mode_generator_passes_exceptions_through():
    @minigrad.no_grad()
    def gen():
        try:
            yield minigrad.is_grad_enabled()
        except KeyError:
            yield "caught", minigrad.is_grad_enabled()

    g = gen()
    assert next(g) is False and minigrad.is_grad_enabled()
    assert g.throw(KeyError("x")) == ("caught", False)
    with pytest.raises(ValueError):
        g.throw(ValueError("y"))
    assert minigrad.is_grad_enabled()


# ------------------------------------------------------------------- view against reshape
def _view_program(lib):
    """view shares memory (writes reach the base); on a transposed or column-sliced tensor it
    raises RuntimeError as PyTorch's, where reshape copies."""
    x = lib.arange(12.0).reshape(3, 4)
    out = {}
    v = x.view(4, 3)
    v[0, 0] = 100.0
    x[1].view(2, 2).mul_(-1)
    x.t()[0].view(3, 1).add_(0.5)
    out["base_after_writes"] = x
    out["reshape_of_transpose"] = x.t().reshape(12)
    out["contiguous_view"] = x.t().contiguous().view(-1)
    out["rows_view"] = x[1:].view(8)
    out["errors"] = np.array([error_name(f) for f in (
        lambda: x.t().view(12),
        lambda: x[:, 1:].view(9),
        lambda: x.permute(1, 0).view(2, 6),
        lambda: x.view(5, -1),
    )])
    out["empty_view"] = lib.zeros(0, 3).t().view(0)
    return out


def test_view_on_non_contiguous_tensors_as_torch():
    want = torch_reference("view", _view_program)
    got = _view_program(minigrad)
    # a size that does not fit: PyTorch's RuntimeError; minigrad's ShapeError is one, and also the
    # ValueError minigrad raised before
    np.testing.assert_array_equal(got["errors"][:3], want["errors"][:3])
    assert got["errors"][3] == "ShapeError" and want["errors"][3] == "RuntimeError"
    with pytest.raises(RuntimeError) as raised:
        minigrad.arange(12.0).view(5, -1)
    assert isinstance(raised.value, ValueError)
    for name in ("base_after_writes", "reshape_of_transpose", "contiguous_view", "rows_view", "empty_view"):
        np.testing.assert_array_equal(as_array(got[name]), want[name], err_msg=name)


def test_view_error_says_to_reshape():
    with pytest.raises(RuntimeError, match=r"Use \.reshape"):
        minigrad.ones(2, 3).t().view(6)
    y = minigrad.ones(2, 3, requires_grad=True)
    (y.t().reshape(6) * 2).sum().backward()  # reshape still records gradients
    np.testing.assert_array_equal(y.grad.numpy(), np.full((2, 3), 2.0, np.float32))


# ------------------------------------------------------------------- cat into torch.tensor([])
def _accumulate_program(lib):
    """The get_all_preds pattern of course code: predictions gathered batch by batch into an
    empty torch.tensor([]) with torch.cat, whatever the batches' shapes."""
    model = set_params(lib.nn.Linear(4, 3), lib, 1, 0.3)
    data = lib.tensor(np.random.default_rng(2).standard_normal((10, 4)), dtype=lib.float32)
    all_preds = lib.tensor([])
    all_labels = lib.tensor([])
    with lib.no_grad():
        for start in range(0, 10, 4):
            preds = model(data[start : start + 4])
            all_preds = lib.cat((all_preds, preds), dim=0)
            all_labels = lib.cat([all_labels, preds.argmax(dim=1)])
    out = {"preds": all_preds, "labels": all_labels}
    out["dim1"] = lib.cat([lib.tensor([]), lib.ones(2, 3), lib.tensor([])], dim=1)
    out["only_empty"] = lib.cat([lib.tensor([]), lib.tensor([])])
    out["int_into_float"] = lib.cat([lib.tensor([]), lib.ones(2, 2, dtype=lib.int64)])
    empty = lib.tensor([], requires_grad=True)
    weights = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    (lib.cat([empty, weights]) ** 2).sum().backward()
    out["grad"], out["empty_grad"] = weights.grad, empty.grad
    out["errors"] = np.array([error_name(f) for f in (
        lambda: lib.cat([np.ones(2), np.ones(2)]),
        lambda: lib.stack([lib.ones(2), [3.0, 4.0]]),
        lambda: lib.cat(lib.ones(2, 2)),
        lambda: lib.stack(lib.ones(2, 2)),
    )])
    return out


def test_cat_into_an_empty_tensor_as_torch():
    check("accumulate_with_cat", _accumulate_program, rtol=1e-6)


def test_cat_and_stack_name_what_is_not_a_tensor():
    with pytest.raises(TypeError, match="element 1 .* got ndarray"):
        minigrad.cat([minigrad.ones(2), np.ones(2)])
    with pytest.raises(TypeError, match="element 0 .* got list"):
        minigrad.stack([[1.0], minigrad.ones(1)])
    with pytest.raises(ValueError, match="differ outside dim 0"):  # a (2, 0) tensor is no legacy empty one
        minigrad.cat([minigrad.zeros(2, 0), minigrad.ones(2, 3)])
    with pytest.raises(ValueError, match="non-empty"):
        minigrad.cat([])


# ------------------------------------------------------------------- losses with integer targets
def _integer_target_program(lib):
    """Regression losses against integer or bool targets (class labels used as numbers): PyTorch
    promotes them; the gradients reach the float input."""
    F = lib.nn.functional
    rng = np.random.default_rng(3)
    out = {}
    labels = rng.integers(0, 3, size=6)
    for name, fn in (("mse", F.mse_loss), ("l1", F.l1_loss), ("smooth_l1", F.smooth_l1_loss)):
        for dtype in ("int64", "int32"):
            x = lib.tensor(rng.standard_normal(6) + 1, dtype=lib.float32, requires_grad=True)
            loss = fn(x, lib.tensor(labels, dtype=getattr(lib, dtype)))
            loss.backward()
            out[f"{name}/{dtype}"], out[f"{name}/{dtype}/grad"] = loss, x.grad
    for name, fn in (("mse", F.mse_loss), ("smooth_l1", F.smooth_l1_loss)):
        x = lib.tensor(rng.random(6), dtype=lib.float32, requires_grad=True)
        loss = fn(x, lib.tensor(labels > 0), reduction="sum")
        loss.backward()
        out[f"{name}/bool"], out[f"{name}/bool/grad"] = loss, x.grad
    # a regression step on integer targets, as nn.MSELoss in a course's first training loop
    model = set_params(lib.nn.Linear(2, 1), lib, 4, 0.3)
    optimizer = lib.optim.SGD(model.parameters(), lr=0.05)
    inputs = lib.tensor(rng.standard_normal((6, 2)), dtype=lib.float32)
    for _ in range(3):
        optimizer.zero_grad()
        loss = lib.nn.MSELoss()(model(inputs).squeeze(1), lib.tensor(labels))
        loss.backward()
        optimizer.step()
    out["trained/loss"], out["trained/weight"] = loss.detach(), model.weight
    # huber_loss: PyTorch computes the value (its backward then fails on the integer target)
    out["huber/int64"] = F.huber_loss(lib.tensor([0.5, 2.0, -1.0]), lib.tensor([1, 3, 0]), delta=0.7)
    out["huber/bool"] = F.huber_loss(lib.tensor([0.5, 2.0]), lib.tensor([True, False]))
    return out


def test_regression_losses_take_integer_targets_as_torch():
    check("integer_targets", _integer_target_program, rtol=1e-6)


def test_losses_still_refuse_non_numeric_targets():
    with pytest.raises(TypeError, match="mse_loss: expected a floating-point tensor, got int64"):
        minigrad.nn.functional.mse_loss(minigrad.tensor([1, 2]), minigrad.ones(2))  # the input must be float
    with pytest.raises(TypeError, match="l1_loss"):
        minigrad.nn.functional.l1_loss(minigrad.ones(2), minigrad.tensor([True, False]))
    with pytest.raises(TypeError, match="mse_loss"):
        minigrad.nn.functional.mse_loss(minigrad.ones(2), np.ones(2))


# ------------------------------------------------------------------- module traversal, devices
def _traversal_program(lib):
    """A tied encoder/decoder layer (one module under two names) and a shared buffer: the
    default walk lists each once, remove_duplicate=False under every name."""

    class Tied(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = lib.nn.Linear(3, 3)
            self.decoder = self.encoder
            self.norm = lib.nn.BatchNorm1d(3)
            self.head = lib.nn.Sequential(self.norm, lib.nn.ReLU())

        def forward(self, x):
            return self.head(self.decoder(self.encoder(x)))

    model = Tied()
    names = lambda pairs: np.array([name for name, _ in pairs])  # noqa: E731
    return {
        "parameters": names(model.named_parameters()),
        "parameters/all": names(model.named_parameters(remove_duplicate=False)),
        "parameters/prefix": names(model.named_parameters(prefix="model", remove_duplicate=False)),
        "modules": names(model.named_modules()),
        "modules/all": names(model.named_modules(remove_duplicate=False)),
        "buffers": names(model.named_buffers()),
        "buffers/all": names(model.named_buffers(remove_duplicate=False)),
        "count": np.array(len(list(model.parameters()))),
        "state_dict": np.array(list(model.state_dict())),
    }


def test_named_members_with_remove_duplicate_as_torch():
    check("traversal", _traversal_program)


def _device_program(lib):
    """device.type is a plain str, as course code prints and compares it."""
    x = lib.ones(2)
    kinds = [x.device.type, lib.device("cpu").type, lib.device("cuda", 0).type, lib.device("cuda:1").type]
    return {
        "reprs": np.array([repr(k) for k in kinds]),
        "listed": np.array(str(kinds)),
        "is_str": np.array([type(k) is str for k in kinds]),
        "indices": np.array([-1 if d.index is None else d.index for d in (x.device, lib.device("cuda:1"))]),
    }


def test_device_type_is_a_str_as_torch():
    check("device_type", _device_program)


# ------------------------------------------------------------------- torch.utils.data
def _data_modules_program(lib):
    """Course imports from torch.utils.data's submodules (the Udacity train/valid split with a
    SubsetRandomSampler), and DataLoader.sampler's defaults that len(loader.sampler) reads."""
    dataset_mod = importlib.import_module(f"{lib.__name__}.utils.data.dataset")
    sampler_mod = importlib.import_module(f"{lib.__name__}.utils.data.sampler")
    loader_mod = importlib.import_module(f"{lib.__name__}.utils.data.dataloader")
    distributed_mod = importlib.import_module(f"{lib.__name__}.utils.data.distributed")
    data = dataset_mod.TensorDataset(lib.arange(20.0).reshape(10, 2), lib.arange(10))
    train_idx, valid_idx = list(range(8)), [8, 9]
    train_loader = loader_mod.DataLoader(data, batch_size=3, sampler=sampler_mod.SubsetRandomSampler(train_idx))
    valid_loader = loader_mod.DataLoader(data, batch_size=3, sampler=sampler_mod.SequentialSampler(valid_idx))
    shuffled = lib.utils.data.DataLoader(data, batch_size=4, shuffle=True)
    ordered = lib.utils.data.DataLoader(data, batch_size=4)
    seen = sorted(int(y) for _, labels in train_loader for y in labels)
    total = sum(float(x.sum()) for x, _ in valid_loader)
    return {
        "sampler_lengths": np.array([len(train_loader.sampler), len(valid_loader.sampler),
                                     len(shuffled.sampler), len(ordered.sampler)]),
        "sampler_types": np.array([type(loader.sampler).__name__ for loader in (shuffled, ordered)]),
        "same_sampler": np.array([shuffled.sampler is shuffled.sampler, ordered.sampler is ordered.sampler]),
        "ordered_sampler": np.array(list(ordered.sampler)),
        "seen": np.array(seen),
        "valid_total": np.array(total),
        "collated": loader_mod.default_collate([(1, 2.0), (3, 4.0)]),
        "subset": np.array(len(dataset_mod.Subset(data, [1, 2, 3]))),
        "distributed": np.array(distributed_mod.DistributedSampler.__name__),
        "same_objects": np.array([sampler_mod.Sampler is lib.utils.data.Sampler,
                                  loader_mod.DataLoader is lib.utils.data.DataLoader,
                                  lib.utils.data.dataloader is loader_mod]),
    }


def test_utils_data_submodules_and_sampler_defaults_as_torch():
    want = torch_reference("data_modules", _data_modules_program)
    got = _data_modules_program(minigrad)
    assert got.keys() == want.keys()
    for name, value in got.items():
        if name == "collated":  # a list of two tensors: stacked by as_array
            value = np.stack([as_array(v) for v in value])
        np.testing.assert_array_equal(as_array(value), want[name], err_msg=name)


def test_loader_sampler_is_read_only_and_keeps_the_loaders_order():
    data = minigrad.utils.data.TensorDataset(minigrad.arange(6))
    loader = minigrad.utils.data.DataLoader(data, batch_size=6, shuffle=True, seed=3)
    first = next(iter(loader))[0].tolist()
    assert isinstance(loader.sampler, minigrad.utils.data.RandomSampler)
    loader.set_epoch(0)
    assert next(iter(loader))[0].tolist() == first  # the loader's (seed, epoch) order, sampler or not
    with pytest.raises(AttributeError):
        loader.sampler = None

    class Stream(minigrad.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(3))

    assert minigrad.utils.data.DataLoader(Stream(), batch_size=2).sampler is None


# ------------------------------------------------------------------- pickled arrays and models
def _pickled_program(lib):
    """A data set of numpy arrays that went through pickle (a pickled preprocessed data set, a
    joblib cache) fed to matmul, conv and softmax, and a model pickled and restored."""
    rng = np.random.default_rng(5)
    images = pickle.loads(pickle.dumps(rng.standard_normal((2, 1, 4, 4)).astype(np.float32)))
    table = pickle.loads(pickle.dumps(rng.standard_normal((3, 4))))
    labels = pickle.loads(pickle.dumps(np.array([1, 0])))
    conv = set_params(lib.nn.Conv2d(1, 2, 3), lib, 6, 0.3)
    model = set_params(lib.nn.Sequential(lib.nn.Linear(4, 3), lib.nn.BatchNorm1d(3), lib.nn.Linear(3, 2)), lib, 7, 0.3)
    restored = pickle.loads(pickle.dumps(model))
    x = lib.tensor(table, dtype=lib.float32)
    out = {
        "conv": conv(lib.from_numpy(images)),
        "matmul": lib.tensor(table) @ lib.as_tensor(table).T,
        "softmax": lib.from_numpy(table).softmax(dim=1),
        "legacy": lib.Tensor(images.reshape(2, 16)) @ lib.ones(16, 1),
        "model": model(x),
        "restored": restored(x),
        "restored_weight": restored[0].weight,
        "labels": lib.nn.functional.cross_entropy(restored.eval()(x[:2]), lib.from_numpy(labels)),
    }
    views = pickle.loads(pickle.dumps({"t": lib.arange(6.0).reshape(2, 3).t(), "row": model[0].weight.detach()[1]}))
    views["t"][0, 0] = 50.0  # a tensor of its own now
    out["views"], out["row"] = views["t"], views["row"]
    tensor = pickle.loads(pickle.dumps(lib.tensor(table, requires_grad=True)))
    (tensor @ tensor.T).sum().backward()
    out["tensor_grad"] = tensor.grad
    return out


def test_pickled_arrays_and_models_work_as_torch():
    check("pickled", _pickled_program, rtol=1e-5)
