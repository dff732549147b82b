"""The CUDA backend's foundation: device arrays, the caching allocator, the first
kernels, and (in the MINIGRAD_CUDA=EMULATE build) the SIMT emulator itself.

Runs on a real GPU or on the emulator (tools/build_emulated.sh); skips elsewhere.
"""

import gc

import numpy as np
import pytest

from minigrad import _C

pytestmark = pytest.mark.skipif(
    not _C.build_info()["cuda"] or not _C.cuda.is_available(),
    reason="needs a CUDA build with a device (or the EMULATE build)",
)

DTYPES = [np.float32, np.float64, np.int64]
SIZES = [0, 1, 1023, 1025, 100000]


def cuda():
    return _C.cuda


def random_array(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "i":
        return rng.integers(-(2**40), 2**40, size=shape, dtype=dtype)
    return rng.standard_normal(shape).astype(dtype)


# ---- device queries -----------------------------------------------------------


def test_device_queries():
    c = cuda()
    assert c.device_count() >= 1
    name = c.get_device_name()
    assert isinstance(name, str) and name
    assert c.is_emulated() == _C.build_info()["cuda_emulated"]
    if c.is_emulated():
        assert "emulator" in name
    c.synchronize()


# ---- host <-> device ------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(0,), (1,), (7,), (3, 5), (2, 3, 0), (2, 1, 3, 5), (1023,), (1025,), ()])
def test_round_trip(dtype, shape):
    x = random_array(shape, dtype)
    d = cuda().from_numpy(x)
    assert d.shape == shape
    assert d.dtype == np.dtype(dtype)
    assert d.ndim == len(shape)
    assert d.size == x.size
    assert d.nbytes == x.nbytes
    assert (d.ptr == 0) == (x.size == 0)
    back = d.to_numpy()
    assert back.dtype == x.dtype and back.shape == x.shape
    np.testing.assert_array_equal(back, x)


@pytest.mark.parametrize("dtype", DTYPES)
def test_zeros_fill_copy(dtype):
    c = cuda()
    z = c.zeros((3, 1025), dtype)
    np.testing.assert_array_equal(z.to_numpy(), np.zeros((3, 1025), dtype))
    value = 7 if np.dtype(dtype).kind == "i" else 2.5
    assert z.fill_(value) is z
    np.testing.assert_array_equal(z.to_numpy(), np.full((3, 1025), value, dtype))
    src = c.from_numpy(random_array((3, 1025), dtype, seed=1))
    assert z.copy_(src) is z
    np.testing.assert_array_equal(z.to_numpy(), src.to_numpy())
    e = c.empty(5, dtype=np.dtype(dtype))
    assert e.shape == (5,) and e.dtype == np.dtype(dtype)
    c.empty((0, 4), dtype).fill_(value)  # size 0: nothing to do, no error


def test_int64_precision_survives():
    x = np.array([2**62 + 1, -(2**62) - 3, 0], dtype=np.int64)
    d = cuda().zeros(3, "int64")
    d.fill_(2**62 + 1)
    assert d.to_numpy()[0] == 2**62 + 1
    np.testing.assert_array_equal(cuda().from_numpy(x).to_numpy(), x)


@pytest.mark.skipif(not _C.build_info()["cuda_emulated"], reason="poisoning is the emulator's")
def test_uninitialised_memory_is_poisoned():
    c = cuda()
    c.empty_cache()  # fresh blocks from cudaMalloc, not recycled ones
    assert np.isnan(c.empty(1000, "float32").to_numpy()).all()
    assert (c.empty(10, "int64").to_numpy() == -1).all()


# ---- argument checking ------------------------------------------------------------


def test_bad_arguments():
    c = cuda()
    with pytest.raises(TypeError, match="from_numpy"):
        c.from_numpy([1.0, 2.0])
    with pytest.raises(TypeError, match="from_numpy"):
        c.from_numpy(np.zeros(3, np.int32))
    with pytest.raises(ValueError, match="from_numpy.*contiguous"):
        c.from_numpy(np.zeros((4, 4), np.float32)[:, ::2])
    with pytest.raises(TypeError, match="empty"):
        c.empty((2, 2), "float16")
    with pytest.raises(ValueError, match="zeros.*negative"):
        c.zeros((2, -1))
    with pytest.raises(ValueError, match="empty.*too large"):
        c.empty((2**40, 2**40))
    with pytest.raises(TypeError, match="empty"):
        c.empty((2.0, 3))
    a = c.zeros((2, 3))
    with pytest.raises(ValueError, match="copy_.*shape"):
        a.copy_(c.zeros((3, 2)))
    with pytest.raises(TypeError, match="copy_.*dtype"):
        a.copy_(c.zeros((2, 3), "float64"))
    with pytest.raises(TypeError, match="copy_"):
        a.copy_(np.zeros((2, 3), np.float32))
    with pytest.raises(TypeError, match="fill_"):
        c.zeros(3, "int64").fill_(1.5)
    with pytest.raises(TypeError, match="fill_"):
        a.fill_("1")


def test_out_of_memory_is_memory_error():
    c = cuda()
    with pytest.raises(MemoryError, match="out of memory"):
        c.empty((2**42,), "float64")  # 32 TiB
    c.zeros(10)  # the allocator still works afterwards


# ---- caching allocator --------------------------------------------------------------


def test_allocator_reuses_and_releases():
    c = cuda()
    gc.collect()
    c.empty_cache()
    base_allocated, base_reserved = c.memory_allocated(), c.memory_reserved()
    a = c.empty(100000, "float32")
    assert c.memory_allocated() >= base_allocated + 400000
    ptr = a.ptr
    del a
    gc.collect()
    assert c.memory_allocated() == base_allocated
    reserved = c.memory_reserved()
    assert reserved >= base_reserved + 400000  # cached, not released
    b = c.empty(99000, "float32")  # same size class: the cached block comes back
    assert b.ptr == ptr
    assert c.memory_reserved() == reserved
    del b
    gc.collect()
    c.empty_cache()
    assert c.memory_allocated() == base_allocated
    assert c.memory_reserved() == base_reserved


def test_zero_size_arrays_allocate_nothing():
    c = cuda()
    before = c.memory_allocated()
    arrays = [c.empty(0), c.zeros((3, 0)), c.from_numpy(np.zeros((0, 5)))]
    assert c.memory_allocated() == before
    assert all(a.ptr == 0 for a in arrays)


# ---- elementwise kernels --------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", SIZES)
def test_relu_forward_backward(dtype, n):
    c = cuda()
    x = random_array((n,), dtype)
    y = c.relu(c.from_numpy(x))
    expected = np.maximum(x, 0)
    np.testing.assert_array_equal(y.to_numpy(), expected)
    dy = random_array((n,), dtype, seed=2)
    dx = c.relu_backward(c.from_numpy(dy), y)
    np.testing.assert_array_equal(dx.to_numpy(), np.where(expected > 0, dy, 0).astype(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", SIZES)
def test_add(dtype, n):
    c = cuda()
    a, b = random_array((n,), dtype), random_array((n,), dtype, seed=3)
    out = c.add(c.from_numpy(a), c.from_numpy(b))
    np.testing.assert_array_equal(out.to_numpy(), a + b)


def test_kernels_keep_shape_and_check_arguments():
    c = cuda()
    x = c.from_numpy(random_array((4, 1, 3), np.float32))
    assert c.relu(x).shape == (4, 1, 3)
    with pytest.raises(TypeError, match="relu"):
        c.relu(c.zeros(3, "int64"))
    with pytest.raises(TypeError, match="relu"):
        c.relu(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="add.*shape"):
        c.add(c.zeros((2, 3)), c.zeros((3, 2)))
    with pytest.raises(TypeError, match="add.*dtype"):
        c.add(c.zeros(3), c.zeros(3, "float64"))
    with pytest.raises(ValueError, match="relu_backward.*shape"):
        c.relu_backward(c.zeros(3), c.zeros(4))


# ---- the SIMT emulator itself -------------------------------------------------------------

emulated_only = pytest.mark.skipif(
    not _C.build_info()["cuda_emulated"], reason="tests the SIMT emulator (MINIGRAD_CUDA=EMULATE build)"
)


def selftest():
    return _C.cuda._emulator_selftest


@emulated_only
@pytest.mark.parametrize("threads", [1, 31, 32, 33, 64, 100, 255, 256, 500, 1000, 1023, 1024])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_block_reduction_any_block_size(threads, dtype):
    x = random_array((3001,), dtype, seed=threads)
    for blocks in (1, 3):
        got = selftest().block_sum(cuda().from_numpy(x), threads, blocks)
        np.testing.assert_allclose(got, x.astype(np.float64).sum(), rtol=1e-4 if dtype == np.float32 else 1e-12)


@emulated_only
def test_missing_barrier_reads_poisoned_shared_memory():
    x = cuda().from_numpy(np.ones(256, np.float32))
    assert selftest().shared_tree_sum(x, 256, True) == 256.0
    assert np.isnan(selftest().shared_tree_sum(x, 256, False))


@emulated_only
@pytest.mark.parametrize(
    "name, threads, message",
    [
        ("missing_barrier", 64, r"deadlock: __syncthreads at selftest.cpp:\d+ is reached by 63 of 64 threads"),
        ("divergent_barrier", 64, "divergent barrier"),
        ("shuffle_exited_lane", 64, "__shfl_sync .*reads lane 5, which has exited"),
        ("shuffle_outside_mask", 64, r"__shfl_sync .*reads lane 5, which is not in the mask 0xffffffdf"),
        ("shuffle_partial_warp", 40, "__shfl_down_sync .*reads lane 16, which does not exist"),
        ("mask_without_self", 32, "__ballot_sync .*does not include itself"),
    ],
)
def test_broken_kernels_raise(name, threads, message):
    with pytest.raises(RuntimeError, match=message):
        selftest().run_broken(name, threads)
    # The emulator is usable afterwards.
    np.testing.assert_array_equal(cuda().relu(cuda().from_numpy(np.array([-1.0, 2.0]))).to_numpy(), [0.0, 2.0])


@emulated_only
def test_correct_partial_warp_is_accepted():
    # shuffle_partial_warp is only wrong when the block has a partial warp.
    selftest().run_broken("shuffle_partial_warp", 64)
