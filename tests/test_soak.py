"""A long training run keeps memory flat: no leak per step, on the host or in the device allocator.

MINIGRAD_SOAK_STEPS (default 2000) sets the number of CPU steps, MINIGRAD_SOAK_CUDA_STEPS
the CUDA ones (default 1000 on a GPU, 40 on the slow emulated build); `pytest -s` prints the figures.
"""

import os
import sys

import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F
from minigrad import optim
from minigrad.data import ArrayDataset, DataLoader
from minigrad.models import LeNet5

STEPS = int(os.environ.get("MINIGRAD_SOAK_STEPS", "2000"))
WARMUP = 300
RSS_GROWTH_LIMIT = 4 * 2**20  # bytes, after warm-up


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def loader(batch_size: int) -> DataLoader:
    rng = np.random.default_rng(0)
    images = rng.random((512, 1, 28, 28), dtype=np.float32)
    labels = rng.integers(0, 10, 512)
    return DataLoader(ArrayDataset(images, labels), batch_size=batch_size, shuffle=True, seed=0)


def training_steps(device: str, batch_size: int):
    """An endless LeNet-5 training loop (DataLoader, forward, loss, backward, SGD); yields after each step."""
    minigrad.manual_seed(0)
    model = LeNet5().to(device)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    data = loader(batch_size)
    epoch = 0
    while True:
        data.set_epoch(epoch)
        for images, labels in data:
            images, labels = images.to(device), labels.to(device)
            loss = F.cross_entropy(model(images), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
            yield float(loss.item())
        epoch += 1


@pytest.fixture
def one_thread():
    """One kernel thread: on a busy shared machine an OpenMP team waits on descheduled threads."""
    threads = minigrad.get_num_threads()
    minigrad.set_num_threads(1)
    yield
    minigrad.set_num_threads(threads)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
@pytest.mark.skipif(os.environ.get("MINIGRAD_SANITIZED") == "1",
                    reason="AddressSanitizer's quarantine holds freed memory, so RSS grows by design")
def test_cpu_training_rss_stays_flat(one_thread):
    steps = training_steps("cpu", batch_size=16)
    for _ in range(WARMUP):
        next(steps)
    baseline = peak = rss_bytes()
    for i in range(STEPS):
        loss = next(steps)
        if i % 50 == 0:
            peak = max(peak, rss_bytes())
    end = rss_bytes()
    print(f"\nCPU soak: {STEPS} steps after {WARMUP} warm-up: RSS {baseline / 2**20:.1f} MiB -> {end / 2**20:.1f} "
          f"MiB (growth {(end - baseline) / 2**20:+.2f} MiB, peak {peak / 2**20:.1f} MiB), last loss {loss:.3f}")
    assert np.isfinite(loss)
    assert end - baseline < RSS_GROWTH_LIMIT and peak - baseline < RSS_GROWTH_LIMIT


def test_cuda_allocator_in_use_returns_to_baseline():
    if not minigrad.cuda.is_available():
        pytest.skip("needs the CUDA backend (a GPU or the emulated build)")
    steps = training_steps("cuda", batch_size=4)
    next(steps)
    baseline = minigrad.cuda.memory_allocated()
    in_use = []
    default = 40 if minigrad.cuda.is_emulated() else 1000
    for _ in range(int(os.environ.get("MINIGRAD_SOAK_CUDA_STEPS", default))):
        next(steps)
        in_use.append(minigrad.cuda.memory_allocated())
    reserved = minigrad.cuda.memory_reserved()
    print(f"\nCUDA soak: {len(in_use)} steps: allocator in use {baseline} B after step 1, "
          f"{min(in_use)}..{max(in_use)} B after later steps; reserved {reserved} B")
    assert set(in_use) == {baseline}
