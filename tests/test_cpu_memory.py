"""The host caching allocator behind large kernel outputs (csrc/cpu/memory.h, minigrad.cpu)."""

import gc
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from train_utils import same_minigrad_env

import minigrad
from minigrad import _C

LARGE = (256, 256)  # 256 KiB of float32: above the 64 KiB threshold
caching = pytest.mark.skipif(_C.cpu.cache_limit() == 0, reason="the cache is off (sanitizer build)")


def pointer(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def product(a: np.ndarray) -> np.ndarray:
    """A fresh kernel output: a @ I through the GEMM binding."""
    return _C.gemm(a, np.eye(a.shape[1], dtype=a.dtype))


def test_large_outputs_are_counted_correct_and_aligned():
    gc.collect()
    before = minigrad.cpu.memory_allocated()
    a = np.random.default_rng(0).standard_normal(LARGE).astype(np.float32)
    y = product(a)
    np.testing.assert_array_equal(y, a)
    assert minigrad.cpu.memory_allocated() >= before + y.nbytes
    assert minigrad.cpu.memory_reserved() >= minigrad.cpu.memory_allocated()
    assert pointer(y) % 64 == 0 and y.flags.writeable and y.flags.c_contiguous
    y[0, 0] = 5.0  # an ordinary array: writable, picklable, views keep it alive
    view = y[1:]
    restored = pickle.loads(pickle.dumps(y))
    del y
    gc.collect()
    assert view[0, 0] == a[1, 0] and restored[0, 0] == 5.0
    del view
    gc.collect()
    assert minigrad.cpu.memory_allocated() == before


@caching
def test_freed_blocks_are_reused_and_never_shared_by_live_arrays():
    gc.collect()
    a = np.ones(LARGE, np.float32)
    first, second = product(a), product(2 * a)
    assert not np.shares_memory(first, second)
    freed = pointer(first)
    del first
    gc.collect()
    third = product(3 * a)  # the same size class: the block just freed comes back
    assert pointer(third) == freed
    np.testing.assert_array_equal(second, 2 * a)
    np.testing.assert_array_equal(third, 3 * a)


@caching
def test_empty_cache_gives_idle_blocks_back():
    gc.collect()
    y = product(np.ones(LARGE, np.float32))
    del y
    gc.collect()
    assert minigrad.cpu.memory_reserved() > minigrad.cpu.memory_allocated()
    minigrad.cpu.empty_cache()
    assert minigrad.cpu.memory_reserved() == minigrad.cpu.memory_allocated()


@pytest.mark.skipif(os.environ.get("MINIGRAD_CPU_POISON") == "1", reason="poisoning serves every size")
def test_small_outputs_stay_plain_numpy_arrays():
    y = product(np.ones((4, 4), np.float32))
    assert y.flags.owndata


def test_an_output_beyond_the_heap_is_a_memory_error():
    dy, indices = np.ones((1, 1, 1, 1), np.float32), np.zeros((1, 1, 1, 1), np.int64)
    # a dx of 2**60 bytes: beyond any x86-64 address space, so no overcommit setting grants it
    with pytest.raises(MemoryError, match=r"shape \(1, 1, 536870912, 536870912\): 1152921504606846976 bytes"):
        _C.max_pool2d_backward(dy, indices, (1, 1, 2**29, 2**29))
    np.testing.assert_array_equal(product(np.ones(LARGE, np.float32)), np.ones(LARGE))  # still serving


def test_tensors_on_cached_arrays_train_and_free():
    """Outputs and gradients on cached blocks: the step runs; once the graph is gone, every block is back."""
    gc.collect()
    before = minigrad.cpu.memory_allocated()
    conv = minigrad.nn.Conv2d(3, 16, 3, padding=1)
    x = minigrad.randn(8, 3, 32, 32)  # outputs of 512 KiB
    loss = minigrad.nn.functional.relu(conv(x)).sum()
    loss.backward()
    assert conv.weight.grad is not None and np.isfinite(conv.weight.grad.numpy()).all()
    del loss, conv, x
    gc.collect()
    assert minigrad.cpu.memory_allocated() == before


def run_with_cache_mb(value: str, tmp_path) -> subprocess.CompletedProcess:
    code = (
        "import gc\nimport numpy as np\nfrom minigrad import _C\n"
        "ys = [_C.gemm(np.ones((512, 512), np.float32), np.eye(512, dtype=np.float32)) for _ in range(4)]\n"
        "del ys; gc.collect()\n"
        "print(_C.cpu.cache_limit(), _C.cpu.memory_reserved() - _C.cpu.memory_allocated())\n"
    )
    env = {**same_minigrad_env(), "MINIGRAD_CPU_CACHE_MB": value}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                          cwd=tmp_path)


@pytest.mark.parametrize("value,limit,most_idle", [("0", 0, 0), ("1", 1 << 20, 1 << 20)])
def test_cache_limit_from_the_environment(value, limit, most_idle, tmp_path):
    """MINIGRAD_CPU_CACHE_MB bounds what waits idle: four freed 1 MiB arrays keep at most one (1), none (0)."""
    result = run_with_cache_mb(value, tmp_path)
    assert result.returncode == 0, result.stderr
    got_limit, idle = map(int, result.stdout.split())
    assert got_limit == limit
    assert idle <= most_idle


def test_poisoned_outputs_show_unwritten_elements(tmp_path):
    """MINIGRAD_CPU_POISON=1: blocks of every size come filled with 0xFF (NaN), which kernels then overwrite."""
    code = (
        "import numpy as np\nfrom minigrad import _C\n"
        "a = np.ones((3, 3), np.float32)\n"
        "print(np.array_equal(_C.gemm(a, a), np.full((3, 3), 3, np.float32)), _C.gemm(a, a).flags.owndata)\n"
    )
    env = {**same_minigrad_env(), "MINIGRAD_CPU_POISON": "1"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False"]  # correct, and from the cache although small


def test_a_bad_cache_limit_warns_and_keeps_the_default(tmp_path):
    result = run_with_cache_mb("lots", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "MINIGRAD_CPU_CACHE_MB=lots is not a number of MiB" in result.stderr
