"""PyTorch names ported training scripts use around the model: seeding (Generator, generator=,
cuda.manual_seed, backends.cudnn), the default dtype, legacy constructors, Size, Tensor.to
options and formatting, ConcatDataset and the samplers. Each against what PyTorch does (its
documented behaviour; PyTorch itself when installed), and bad input as a clear error."""

import threading
from collections import Counter

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
from minigrad.utils.data import (
    ConcatDataset,
    DataLoader,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    random_split,
)

try:
    import torch
except ImportError:
    torch = None


# ---------------------------------------------------------------------------- seeding
def test_generator_streams_are_their_own_and_repeatable():
    a = minigrad.randn(5, generator=minigrad.Generator().manual_seed(7)).numpy()
    minigrad.manual_seed(0)
    b = minigrad.randn(5, generator=minigrad.Generator().manual_seed(7)).numpy()
    np.testing.assert_array_equal(a, b)
    minigrad.manual_seed(0)
    plain = minigrad.randn(5).numpy()
    minigrad.manual_seed(0)
    minigrad.randn(5, generator=minigrad.Generator().manual_seed(7))  # does not advance the global stream
    np.testing.assert_array_equal(minigrad.randn(5).numpy(), plain)


@pytest.mark.parametrize("draw", [
    lambda g: minigrad.rand(4, 3, generator=g),
    lambda g: minigrad.randn(4, generator=g, dtype=minigrad.float64),
    lambda g: minigrad.randint(0, 100, (6,), generator=g),
    lambda g: minigrad.randperm(9, generator=g),
    lambda g: minigrad.bernoulli(minigrad.full((8,), 0.5), generator=g),
    lambda g: minigrad.multinomial(minigrad.tensor([0.2, 0.3, 0.5]), 4, replacement=True, generator=g),
    lambda g: minigrad.empty(5).uniform_(-1, 1, generator=g),
    lambda g: minigrad.empty(5).normal_(0, 2, generator=g),
])
def test_every_sampler_takes_a_generator(draw):
    first = draw(minigrad.Generator().manual_seed(3)).numpy()
    np.testing.assert_array_equal(draw(minigrad.Generator().manual_seed(3)).numpy(), first)
    g = minigrad.Generator().manual_seed(3)
    draw(g)
    assert not np.array_equal(draw(g).numpy(), first) or first.size == 0 or np.unique(first).size == 1


def test_generator_state_seed_and_defaults():
    assert minigrad.Generator().initial_seed() == 67280421310721  # PyTorch's default seed
    g = minigrad.Generator("cuda")
    assert g.device == "cuda" and g.manual_seed(5) is g and g.initial_seed() == 5
    state = g.get_state()
    first = minigrad.rand(3, generator=g).numpy()
    g.set_state(state)
    np.testing.assert_array_equal(minigrad.rand(3, generator=g).numpy(), first)
    fresh = g.seed()
    assert g.initial_seed() == fresh and isinstance(fresh, int)
    assert minigrad.Generator().manual_seed(-1).initial_seed() == 2**64 - 1  # wraps, as PyTorch
    with pytest.raises(ValueError, match="outside"):
        minigrad.Generator().manual_seed(2**64)
    with pytest.raises(TypeError, match="minigrad.Generator"):
        minigrad.randn(2, generator=np.random.default_rng(0))
    with pytest.raises(TypeError, match="minigrad.Generator"):
        random_split(TensorDataset(np.zeros(4)), [2, 2], generator=3)


def test_global_seed_functions():
    minigrad.manual_seed(123)
    assert minigrad.initial_seed() == 123
    state = minigrad.get_rng_state()
    a = minigrad.rand(4).numpy()
    minigrad.set_rng_state(state)
    np.testing.assert_array_equal(minigrad.rand(4).numpy(), a)
    s = minigrad.seed()
    assert minigrad.initial_seed() == s
    # one generator serves both devices: cuda.manual_seed(_all) reseed it, without needing a device
    minigrad.manual_seed(9)
    b = minigrad.rand(4).numpy()
    minigrad.cuda.manual_seed(9)
    np.testing.assert_array_equal(minigrad.rand(4).numpy(), b)
    minigrad.cuda.manual_seed_all(9)
    np.testing.assert_array_equal(minigrad.rand(4).numpy(), b)
    minigrad.manual_seed("4")  # int(seed), as torch.manual_seed takes it
    assert minigrad.initial_seed() == 4


def test_backends_flags_set_and_read():
    cudnn = minigrad.backends.cudnn
    before = (cudnn.benchmark, cudnn.deterministic)
    try:
        cudnn.benchmark, cudnn.deterministic = True, True
        assert cudnn.benchmark and cudnn.deterministic
    finally:
        cudnn.benchmark, cudnn.deterministic = before
    assert cudnn.is_available() is False and cudnn.enabled
    assert minigrad.backends.mps.is_available() is False and minigrad.backends.mps.is_built() is False


@pytest.mark.parametrize("kernel,stride", [(3, 2), (2, 2), (3, 3), ((3, 1), (2, 1))])
def test_use_deterministic_algorithms(device, kernel, stride):
    # set_seed helpers of course code call it; on CUDA only max-pool's backward with overlapping
    # windows (atomics) is nondeterministic, and refuses to run under it, as PyTorch's
    assert minigrad.are_deterministic_algorithms_enabled() is False
    overlapping = device == "cuda" and (kernel, stride) in ((3, 2), ((3, 1), (2, 1)))

    def pool_backward():
        x = minigrad.randn(2, 3, 9, 9, device=device, requires_grad=True)
        nn.functional.max_pool2d(x, kernel, stride).sum().backward()
        nn.functional.relu_max_pool2d(x, kernel, stride).sum().backward()  # the fused kernel's backward too
        return x.grad

    try:
        minigrad.use_deterministic_algorithms(True)
        assert minigrad.are_deterministic_algorithms_enabled()
        assert not minigrad.is_deterministic_algorithms_warn_only_enabled()
        if overlapping:
            with pytest.raises(RuntimeError, match="max_pool2d_backward_cuda does not have a deterministic"):
                pool_backward()
        else:
            pool_backward()
        minigrad.use_deterministic_algorithms(True, warn_only=True)
        assert minigrad.is_deterministic_algorithms_warn_only_enabled()
        if overlapping:
            with pytest.warns(UserWarning, match="deterministic"):
                assert pool_backward() is not None
        with pytest.raises(TypeError, match="bool"):
            minigrad.use_deterministic_algorithms(1)
    finally:
        minigrad.use_deterministic_algorithms(False)
    assert not minigrad.are_deterministic_algorithms_enabled()
    pool_backward()
    if torch is not None:  # the same switch and queries in PyTorch
        assert torch.are_deterministic_algorithms_enabled() is False


def test_random_split_and_loader_follow_a_generator():
    ds = TensorDataset(np.arange(20.0))
    first = [list(s.indices) for s in random_split(ds, [0.5, 0.5], generator=minigrad.Generator().manual_seed(1))]
    again = [list(s.indices) for s in random_split(ds, [10, 10], minigrad.Generator().manual_seed(1))]  # positional
    assert first == again and sorted(first[0] + first[1]) == list(range(20))
    with pytest.raises(ValueError, match="not both"):
        random_split(ds, [10, 10], seed=1, generator=minigrad.Generator())

    def batches(**kw):
        return [b[0].numpy().tolist() for b in DataLoader(ds, batch_size=5, shuffle=True, **kw)]

    def seeded(seed):
        return minigrad.Generator().manual_seed(seed)

    assert batches(generator=seeded(2)) == batches(generator=seeded(2))
    assert batches(generator=seeded(2)) != batches(generator=seeded(3))


@pytest.mark.parametrize("num_workers", [0, 1, 3])
def test_loader_worker_init_fn_and_accepted_options(num_workers):
    seen, lock = [], threading.Lock()

    def init(worker_id):
        with lock:
            seen.append(worker_id)

    ds = TensorDataset(np.arange(30.0))
    loader = DataLoader(ds, batch_size=2, num_workers=num_workers, worker_init_fn=init, persistent_workers=True,
                        prefetch_factor=4, pin_memory=True)
    assert sum(len(b[0]) for b in loader) == 30
    # num_workers=0: no worker, so no worker_init_fn call, as in PyTorch
    assert sorted(seen) == list(range(num_workers))[: len(seen)] and min(num_workers, 1) <= len(seen) <= num_workers
    assert loader.prefetch == 4
    with pytest.raises(TypeError, match="worker_init_fn must be callable"):
        DataLoader(ds, worker_init_fn=3)
    with pytest.raises(ValueError, match="prefetch"):
        DataLoader(ds, prefetch_factor=0)


# ---------------------------------------------------------------------------- default dtype
@pytest.fixture
def float64_default():
    minigrad.set_default_dtype(minigrad.float64)
    if torch is not None:
        torch.set_default_dtype(torch.float64)
    yield
    minigrad.set_default_dtype(minigrad.float32)
    if torch is not None:
        torch.set_default_dtype(torch.float32)


CASES = {  # what each gives under set_default_dtype(float64) (PyTorch's dtypes, checked live below)
    "tensor of floats": (lambda lib: lib.tensor([1.5, 2.0]), "float64"),
    "tensor of ints": (lambda lib: lib.tensor([1, 2]), "int64"),
    "tensor of a float32 array": (lambda lib: lib.tensor(np.ones(2, np.float32)), "float32"),
    "zeros": (lambda lib: lib.zeros(2), "float64"),
    "randn": (lambda lib: lib.randn(2), "float64"),
    "arange of floats": (lambda lib: lib.arange(0.0, 1.0, 0.5), "float64"),
    "arange of ints": (lambda lib: lib.arange(3), "int64"),
    "linspace": (lambda lib: lib.linspace(0, 1, 3), "float64"),
    "eye": (lambda lib: lib.eye(2), "float64"),
    "int tensor / int": (lambda lib: lib.tensor([1, 2]) / 2, "float64"),
    "int tensor * float": (lambda lib: lib.tensor([1, 2]) * 0.5, "float64"),
    "float32 tensor * float": (lambda lib: lib.ones(2, dtype=lib.float32) * 0.5, "float32"),
    "Linear weight": (lambda lib: lib.nn.Linear(2, 3).weight, "float64"),
    "Conv2d bias": (lambda lib: lib.nn.Conv2d(1, 2, 3).bias, "float64"),
    "BatchNorm2d running_mean": (lambda lib: lib.nn.BatchNorm2d(3).running_mean, "float64"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_set_default_dtype_float64(float64_default, name):
    make, want = CASES[name]
    assert minigrad.get_default_dtype() == minigrad.float64
    assert str(make(minigrad).dtype) == want
    if torch is not None:
        assert str(make(torch).dtype) == f"torch.{want}"


def test_default_dtype_back_to_float32_and_bad_dtypes():
    assert minigrad.get_default_dtype() == minigrad.float32
    assert minigrad.tensor([1.5]).dtype == minigrad.float32 and nn.Linear(2, 2).weight.dtype == minigrad.float32
    with pytest.raises(TypeError, match="floating-point"):
        minigrad.set_default_dtype(minigrad.int64)
    with pytest.raises(TypeError, match="unsupported dtype"):
        minigrad.set_default_dtype("float16")
    assert minigrad.get_default_dtype() == minigrad.float32


# ---------------------------------------------------------------------------- constructors, Size, Tensor
@pytest.mark.parametrize("name, dtype", [("FloatTensor", "float32"), ("DoubleTensor", "float64"),
                                         ("LongTensor", "int64"), ("ByteTensor", "uint8"), ("BoolTensor", "bool")])
def test_legacy_constructors(name, dtype):
    make = getattr(minigrad, name)
    t = make([1, 0, 2])
    assert str(t.dtype) == dtype and t.shape == (3,)
    np.testing.assert_array_equal(t.numpy(), np.array([1, 0, 2]).astype(dtype))
    assert make(2, 3).shape == (2, 3) and str(make(2, 3).dtype) == dtype
    # as in PyTorch: a tuple is data (a 1-D tensor of [2, 3]), a Size is a size; no argument, no elements
    assert make((2, 3)).shape == (2,) and make(minigrad.Size([2, 3])).shape == (2, 3) and make().shape == (0,)
    if torch is not None:
        theirs = getattr(torch, name)
        assert tuple(theirs((2, 3)).shape) == (2,) and tuple(theirs(torch.Size([2, 3])).shape) == (2, 3)


TENSOR_CONSTRUCTOR_CASES = {
    "ints list": ([1, 2, 3],),
    "nested": ([[1, 2], [3, 4.5]],),
    "bools": ([True, False],),
    "tuple is data": ((2, 3),),
    "int64 array": (np.arange(4),),
    "float64 array": (np.linspace(0, 1, 3),),
    "uint8 array": (np.array([0, 255], np.uint8),),
    "0-d array": (np.array(2.5),),
    "empty list": ([],),
}


@pytest.mark.parametrize("label", sorted(TENSOR_CONSTRUCTOR_CASES))
def test_tensor_constructor_takes_data_as_the_default_float_dtype(label, device):
    # torch.Tensor(data) is the legacy FloatTensor constructor: any data becomes float32
    data = TENSOR_CONSTRUCTOR_CASES[label][0]
    t = minigrad.Tensor(data, device=device)
    expected = np.asarray(data, dtype=np.float64).astype(np.float32)
    assert t.dtype == minigrad.float32 and t.shape == expected.shape and t.device == device
    np.testing.assert_array_equal(t.numpy(), expected)
    if torch is not None:
        theirs = torch.Tensor(data)
        assert theirs.dtype == torch.float32 and tuple(theirs.shape) == t.shape
        np.testing.assert_array_equal(theirs.numpy(), t.numpy())
    minigrad.set_default_dtype(minigrad.float64)
    try:
        assert minigrad.Tensor(data).dtype == minigrad.float64
    finally:
        minigrad.set_default_dtype(minigrad.float32)


@pytest.mark.parametrize("sizes", [(2, 3), (4,), (0, 2), (minigrad.Size([2, 1, 3]),), (np.int64(2), 2), ()])
def test_tensor_constructor_takes_sizes(sizes, device):
    t = minigrad.Tensor(*sizes, device=device)
    shape = tuple(sizes[0]) if sizes and isinstance(sizes[0], minigrad.Size) else tuple(int(n) for n in sizes) or (0,)
    assert t.shape == shape and t.dtype == minigrad.float32 and t.device == device
    if torch is not None:
        theirs = torch.Tensor(*(torch.Size(s) if isinstance(s, minigrad.Size) else s for s in sizes))
        assert tuple(theirs.shape) == shape and theirs.dtype == torch.float32
    leaf = minigrad.Tensor(*sizes, requires_grad=True)
    assert leaf.requires_grad and leaf.is_leaf


def test_tensor_constructor_shares_a_tensor_or_default_dtype_array():
    a = np.zeros(3, np.float32)
    t = minigrad.Tensor(a)
    a[0] = 5  # as torch.Tensor(ndarray) of the default dtype: the same memory
    assert t[0].item() == 5
    d = minigrad.tensor([1, 2], dtype=minigrad.float64)
    alias = minigrad.Tensor(d)  # a Tensor is shared and keeps its dtype, as PyTorch
    d.add_(1)
    assert alias.dtype == minigrad.float64 and alias.tolist() == [2.0, 3.0]
    ints = minigrad.Tensor(minigrad.tensor([1, 2]))
    assert ints.dtype == minigrad.int64
    other = np.arange(3)
    converted = minigrad.Tensor(other)
    other[0] = 7  # a conversion is a copy
    assert converted.tolist() == [0.0, 1.0, 2.0]
    if torch is not None:
        assert torch.Tensor(torch.tensor([1, 2])).dtype == torch.int64


@pytest.mark.parametrize("args, error", [
    ((2.5,), TypeError),      # PyTorch: data must be a sequence (got float)
    ((True,), TypeError),
    (("abc",), TypeError),
    ((2, "a"), TypeError),
    (([1, 2], 3), TypeError),
    ((2, 3.0), TypeError),
    ((-1,), RuntimeError),    # PyTorch: negative dimension
    ((2, -3), RuntimeError),
])
def test_tensor_constructor_rejects_bad_arguments(args, error):
    with pytest.raises(error):
        minigrad.Tensor(*args)
    if torch is not None:
        with pytest.raises((TypeError, RuntimeError)):
            torch.Tensor(*args)


def test_parameter_keeps_dtype_and_defaults_to_empty():
    p = nn.Parameter(minigrad.tensor([1.0, 2.0], dtype=minigrad.float64))
    assert p.dtype == minigrad.float64 and p.requires_grad
    assert nn.Parameter().shape == (0,) and nn.Parameter().requires_grad
    assert nn.Parameter(minigrad.Tensor(2, 3)).shape == (2, 3)


def test_size_and_empty_like():
    s = minigrad.Size([2, 3, 4])
    assert s == (2, 3, 4) and minigrad.ones(2, 3, 4).shape == s and s.numel() == 24 and minigrad.Size().numel() == 1
    assert repr(s) == "minigrad.Size([2, 3, 4])"
    x = minigrad.zeros(2, 3)
    assert isinstance(x.shape, minigrad.Size) and isinstance(x.size(), minigrad.Size) and x.size(1) == 3
    assert str(x.shape) == "minigrad.Size([2, 3])" and x.shape.numel() == 6 and x.shape == (2, 3)
    assert f"{x.shape}" == "(2, 3)"  # f-strings (minigrad's messages) keep the tuple form
    assert minigrad.Tensor(x.shape).shape == (2, 3)  # a Size is a size, as in PyTorch
    if torch is not None:
        assert str(torch.zeros(2, 3).shape) == "torch.Size([2, 3])"
    x = minigrad.ones(2, 3, dtype=minigrad.float64)
    e = minigrad.empty_like(x)
    assert e.shape == x.shape and e.dtype == x.dtype and e.device == x.device
    assert minigrad.empty_like(x, dtype=minigrad.int64).dtype == minigrad.int64


def test_tensor_device_flags_and_to_options():
    x = minigrad.ones(3)
    assert x.is_cpu and not x.is_cuda
    assert x.to("cpu", non_blocking=True) is x and x.to(device="cpu") is x
    y = x.to("cpu", copy=True)
    assert y is not x and np.array_equal(y.numpy(), x.numpy())
    y.add_(1)
    assert x.numpy().tolist() == [1, 1, 1]
    with pytest.raises(TypeError, match="unexpected arguments"):
        x.to("cpu", memory_layout=1)
    if minigrad.cuda.is_available():
        z = x.to("cuda", non_blocking=True)
        assert z.is_cuda and not z.is_cpu


def test_format_of_tensors():
    loss = minigrad.tensor(0.123456)
    assert f"{loss:.3f}" == "0.123" and f"{loss}" == format(loss.item(), "") and f"{minigrad.tensor(7):04d}" == "0007"
    assert f"{minigrad.ones(2)}" == str(minigrad.ones(2))
    with pytest.raises(TypeError, match="only a 0-d tensor"):
        f"{minigrad.ones(2):.2f}"
    with pytest.raises(TypeError, match="only a 0-d tensor"):
        f"{minigrad.ones(1):.2f}"  # PyTorch too formats only 0-d tensors as numbers
    if torch is not None:
        assert f"{torch.tensor(0.123456):.3f}" == f"{loss:.3f}"


# ---------------------------------------------------------------------------- ConcatDataset and samplers
def test_concat_dataset_indexing():
    a, b = TensorDataset(np.arange(3.0)), TensorDataset(np.arange(10.0, 15.0))
    cat = a + b
    assert isinstance(cat, ConcatDataset) and len(cat) == 8 and cat.cumulative_sizes == [3, 8]
    assert [float(cat[i][0]) for i in range(8)] == [0, 1, 2, 10, 11, 12, 13, 14]
    assert float(cat[-1][0]) == 14 and float(cat[-8][0]) == 0
    with pytest.raises(IndexError):
        cat[8]
    with pytest.raises(IndexError):
        cat[-9]
    with pytest.raises(ValueError, match="empty"):
        ConcatDataset([])
    batch = next(iter(DataLoader(ConcatDataset([a, b, a]), batch_size=11)))
    assert batch[0].numpy().tolist() == [0, 1, 2, 10, 11, 12, 13, 14, 0, 1, 2]


def test_sequential_and_random_samplers():
    ds = list(range(10))
    assert list(SequentialSampler(ds)) == ds and len(SequentialSampler(ds)) == 10
    minigrad.manual_seed(0)
    s = RandomSampler(ds)
    first, second = list(s), list(s)
    assert sorted(first) == ds and sorted(second) == ds and first != second  # a fresh order each epoch
    minigrad.manual_seed(0)
    assert list(RandomSampler(ds)) == first  # manual_seed makes the orders repeatable
    long = list(RandomSampler(ds, num_samples=25, generator=minigrad.Generator().manual_seed(1)))
    assert len(long) == 25 and sorted(long[:10]) == ds and sorted(long[10:20]) == ds
    drawn = list(RandomSampler(ds, replacement=True, num_samples=1000, generator=minigrad.Generator()))
    assert len(drawn) == 1000 and set(drawn) == set(ds)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="num_samples"):
            RandomSampler(ds, num_samples=bad)
    with pytest.raises(TypeError, match="minigrad.Generator"):
        RandomSampler(ds, generator="seed")


def test_subset_random_sampler_splits_train_and_validation():
    ds = TensorDataset(np.arange(100.0))
    train_idx, val_idx = list(range(80)), list(range(80, 100))
    train = DataLoader(ds, batch_size=16, sampler=SubsetRandomSampler(train_idx))
    val = DataLoader(ds, batch_size=16, sampler=SubsetRandomSampler(val_idx, generator=minigrad.Generator()))
    seen = sorted(v for b in train for v in b[0].numpy().tolist())
    assert seen == list(range(80)) and len(train) == 5
    assert sorted(v for b in val for v in b[0].numpy().tolist()) == list(range(80, 100))
    epochs = [[v for b in train for v in b[0].numpy().tolist()] for _ in range(2)]
    assert epochs[0] != epochs[1]
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, sampler=SubsetRandomSampler(train_idx), shuffle=True)


def test_weighted_random_sampler_balances_classes():
    labels = np.array([0] * 90 + [1] * 10)
    weights = 1.0 / np.bincount(labels)[labels]
    sampler = WeightedRandomSampler(minigrad.tensor(weights), num_samples=4000, generator=minigrad.Generator())
    counts = Counter(labels[list(sampler)])
    assert len(sampler) == 4000 and abs(counts[0] - counts[1]) < 400  # ~2000 each (binomial sd 32)
    unique = list(WeightedRandomSampler([1.0, 2.0, 3.0, 0.0], 3, replacement=False))
    assert sorted(unique) == [0, 1, 2]
    with pytest.raises(ValueError, match="without replacement"):
        WeightedRandomSampler([1.0, 0.0], 2, replacement=False)
    for bad in ([1.0, -1.0], [0.0, 0.0], [1.0, float("nan")]):
        with pytest.raises(ValueError, match="weights"):
            WeightedRandomSampler(bad, 2)
    with pytest.raises(ValueError, match="1d"):
        WeightedRandomSampler([[1.0]], 2)
    with pytest.raises(ValueError, match="num_samples"):
        WeightedRandomSampler([1.0], 0)


def test_a_custom_sampler_subclass():
    class EvenFirst(Sampler):
        def __init__(self, n):
            super().__init__(None)
            self.n = n

        def __iter__(self):
            return iter(list(range(0, self.n, 2)) + list(range(1, self.n, 2)))

        def __len__(self):
            return self.n

    batch = next(iter(DataLoader(TensorDataset(np.arange(6.0)), batch_size=6, sampler=EvenFirst(6))))
    assert batch[0].numpy().tolist() == [0, 2, 4, 1, 3, 5]


# ---------------------------------------------------------------------------- more names ported code uses
def test_normal_forms():
    g = minigrad.Generator().manual_seed(0)
    x = minigrad.normal(2.0, 3.0, (4000,), generator=g)
    assert x.shape == (4000,) and x.dtype == minigrad.float32 and not x.requires_grad
    assert abs(x.numpy().mean() - 2.0) < 0.2 and abs(x.numpy().std() - 3.0) < 0.2
    mean, std = minigrad.zeros(2, 3, dtype=minigrad.float64), minigrad.full((3,), 0.5, dtype=minigrad.float64)
    y = minigrad.normal(mean, std)
    assert y.shape == (2, 3) and y.dtype == minigrad.float64
    assert minigrad.normal(minigrad.ones(5), 0.0).numpy().tolist() == [1.0] * 5  # std 0: the mean
    a = minigrad.normal(mean, 1.0, generator=minigrad.Generator().manual_seed(4)).numpy()
    np.testing.assert_array_equal(minigrad.normal(mean, 1.0, generator=minigrad.Generator().manual_seed(4)).numpy(), a)
    with pytest.raises(RuntimeError, match="std >= 0"):
        minigrad.normal(0.0, -1.0, (2,))
    with pytest.raises(RuntimeError, match="std >= 0"):
        minigrad.normal(minigrad.zeros(2), minigrad.tensor([1.0, -1.0]))
    with pytest.raises(TypeError, match="pass size"):
        minigrad.normal(0.0, 1.0)
    with pytest.raises(TypeError, match="size is only"):
        minigrad.normal(minigrad.zeros(2), 1.0, (2,))


@pytest.mark.parametrize("name, op", [("eq", "__eq__"), ("ne", "__ne__"), ("lt", "__lt__"), ("le", "__le__"),
                                      ("gt", "__gt__"), ("ge", "__ge__")])
def test_comparison_functions(name, op):
    a, b = np.array([[1.0, 2.0, 3.0]]), np.array([[2.0], [1.0]])
    got = getattr(minigrad, name)(minigrad.tensor(a), minigrad.tensor(b))
    np.testing.assert_array_equal(got.numpy(), getattr(a, op)(b))
    assert got.dtype == minigrad.bool
    np.testing.assert_array_equal(getattr(minigrad, name)(minigrad.tensor(a), 2.0).numpy(), getattr(a, op)(2.0))
    if torch is not None:
        np.testing.assert_array_equal(got.numpy(), getattr(torch, name)(torch.tensor(a), torch.tensor(b)).numpy())


def test_grad_mode_decorators_without_parentheses():
    x = minigrad.ones(2, requires_grad=True)

    @minigrad.no_grad
    def off(t):
        return (t * 2).requires_grad

    @minigrad.enable_grad
    def on(t):
        return (t * 2).requires_grad

    assert off(x) is False and off.__name__ == "off" and minigrad.is_grad_enabled()
    with minigrad.no_grad():
        assert on(x) is True
        assert (x * 2).requires_grad is False
    with pytest.raises(TypeError), minigrad.no_grad:  # the class is not a context manager, as in PyTorch
        pass


def test_compile_and_tf32_switches_for_ported_code():
    model = nn.Linear(2, 2)
    assert minigrad.compile(model) is model and minigrad.compile(model, mode="max-autotune") is model

    def f(x):
        return x

    assert minigrad.compile()(f) is f
    minigrad.backends.cuda.matmul.allow_tf32 = True
    try:
        assert minigrad.backends.cuda.matmul.allow_tf32
    finally:
        minigrad.backends.cuda.matmul.allow_tf32 = False


def test_legacy_types_check_and_convert():
    x = minigrad.tensor([1, 2])
    assert isinstance(x, minigrad.LongTensor) and not isinstance(x, minigrad.FloatTensor)
    f = x.type(minigrad.FloatTensor)
    assert f.dtype == minigrad.float32 and isinstance(f, minigrad.FloatTensor) and isinstance(f, minigrad.Tensor)
    assert x.type(minigrad.DoubleTensor).dtype == minigrad.float64
    assert not isinstance(np.zeros(2, np.float32), minigrad.FloatTensor)
    if torch is not None:
        theirs = torch.tensor([1, 2])
        assert isinstance(theirs, torch.LongTensor) and not isinstance(theirs, torch.FloatTensor)


# ---------------------------------------------------------------------------- dtype= on reductions, stride()
@pytest.mark.parametrize("name", ["sum", "mean", "softmax", "log_softmax"])
def test_reductions_and_softmax_take_dtype(name):
    x = minigrad.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3) / 7, requires_grad=True)
    args = (1,) if "softmax" in name else ()
    y = getattr(x, name)(*args, dtype=minigrad.float64)
    z = getattr(minigrad.nn.functional if "softmax" in name else minigrad, name)(x, *args, dtype=minigrad.float64)
    assert y.dtype == z.dtype == minigrad.float64
    np.testing.assert_array_equal(y.detach().numpy(), z.detach().numpy())
    (y * minigrad.tensor(np.ones(y.shape))).sum().backward()
    assert x.grad.dtype == minigrad.float32  # the gradient comes back through the cast
    if torch is not None:
        t = torch.tensor(x.detach().numpy(), requires_grad=True)
        theirs = getattr(t, name)(*args, dtype=torch.float64)
        np.testing.assert_allclose(y.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)
        theirs.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-7)
    assert minigrad.ones(3, dtype=minigrad.int64).sum(dtype=minigrad.float32).dtype == minigrad.float32


def test_stride_and_get_device(device):
    x = minigrad.ones(2, 3, 4, device=device)
    assert x.stride() == (12, 4, 1) and x.stride(1) == 4 and x.stride(-1) == 1
    assert x.get_device() == (-1 if device == "cpu" else 0)
    if device == "cpu":  # CPU views keep their parent's memory, as PyTorch's
        assert x.transpose(0, 2).stride() == (1, 4, 12) and x[:, 1].stride() == (12, 1)
    if torch is not None:
        t = torch.ones(2, 3, 4)
        assert t.stride() == (12, 4, 1) and t.transpose(0, 2).stride() == (1, 4, 12) and t.get_device() == -1
