"""Peak memory (RSS) of one full LeNet-5 training epoch on MNIST: minigrad against PyTorch.

    MINIGRAD_DATA=../shared/data PYTHONPATH=. python benchmarks/bench_memory.py [--batch-size 64] [--threads 1]

Each engine runs in a fresh child process (so neither sees the other's libraries
or caches): it reads the MNIST training IDX files with the same plain numpy reader,
then trains LeNet-5 (SGD, momentum 0.9) for one epoch over all 60,000 images, one
shuffled batch at a time, normalised per batch. The figures are the child's peak
resident set (ru_maxrss from wait4), its RSS and peak RSS after the imports and the
data load (before the first step), and the epoch's time. torch is timed only when importable.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the benchmarks package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402

CHILD = r"""
import gzip, json, resource, sys, time
import numpy as np

engine, data_dir, batch_size, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

def idx(name):  # uint8 IDX, read straight into its array (no second copy of the bytes)
    with gzip.open(f"{data_dir}/mnist/{name}.gz") as f:
        dims = f.read(4)[3]
        shape = [int.from_bytes(f.read(4), "big") for _ in range(dims)]
        array = np.empty(shape, np.uint8)
        flat = memoryview(array.reshape(-1))
        for start in range(0, len(flat), 2**20):  # in slices: GzipFile.readinto makes a temporary of its size
            f.readinto(flat[start:start + 2**20])
    return array

images, labels = idx("train-images-idx3-ubyte"), idx("train-labels-idx1-ubyte").astype(np.int64)
order = np.random.default_rng(0).permutation(len(images))

def batches():
    for start in range(0, len(images), batch_size):
        take = order[start:start + batch_size]
        x = (images[take].astype(np.float32)[:, None] / 255 - 0.1307) / 0.3081
        yield x, labels[take]

if engine == "minigrad":
    import minigrad, minigrad.nn.functional as F
    from minigrad import optim
    from minigrad.models import LeNet5
    minigrad.set_num_threads(threads)
    minigrad.manual_seed(0)
    model = LeNet5()
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    def step(x, t):
        loss = F.cross_entropy(model(minigrad.from_numpy(x)), minigrad.from_numpy(t))
        opt.zero_grad(); loss.backward(); opt.step()
        return loss.item()
else:
    import torch
    from torch import nn
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    def step(x, t):
        loss = nn.functional.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(t))
        opt.zero_grad(); loss.backward(); opt.step()
        return loss.item()

ready, peak_ready = rss_mib(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
for x, t in batches():
    last = step(x, t)
seconds = time.perf_counter() - t0
print(json.dumps({"rss_ready_mib": ready, "peak_ready_mib": peak_ready, "epoch_s": seconds,
                  "images_per_s": len(images) / seconds, "last_loss": last}))
"""


def run_child(engine: str, data_dir: str, batch_size: int, threads: int) -> dict:
    """One epoch in a fresh process; its report plus its peak RSS."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, engine, data_dir, str(batch_size), str(threads)],
                            stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{engine} child failed with status {proc.returncode}")
    return {**json.loads(out), "peak_rss_mib": usage.ru_maxrss / 1024}  # ru_maxrss is in KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-dir", default=os.environ.get("MINIGRAD_DATA"),
                        help="folder holding mnist/ (default $MINIGRAD_DATA)")
    args = parser.parse_args()
    if not args.data_dir or not (Path(args.data_dir) / "mnist" / "train-images-idx3-ubyte.gz").is_file():
        parser.error("needs the MNIST IDX files: --data-dir or $MINIGRAD_DATA with mnist/*.gz")
    # find_spec, not import: this process must stay small, since a child's ru_maxrss
    # starts from the RSS of the process it was forked from
    engines = ["minigrad"] + (["torch"] if importlib.util.find_spec("torch") else [])
    if len(engines) == 1:
        print("torch is not installed: minigrad alone", file=sys.stderr)
    results = {}
    for engine in engines:
        print(f"{engine}: one epoch at batch {args.batch_size}, {args.threads} thread(s) ...", file=sys.stderr)
        started = time.perf_counter()
        results[engine] = run_child(engine, args.data_dir, args.batch_size, args.threads)
        results[engine]["wall_s"] = time.perf_counter() - started
    rows = [[engine, f"{r['peak_rss_mib']:.0f} MiB", f"{r['rss_ready_mib']:.0f} / {r['peak_ready_mib']:.0f} MiB",
             f"{r['epoch_s']:.1f} s", f"{r['images_per_s']:,.0f}", f"{r['last_loss']:.3f}"]
            for engine, r in results.items()]
    print(common.markdown_table(["engine", "peak RSS", "RSS / peak before training", "epoch", "img/s", "last loss"],
                                rows))
    if "torch" in results:
        m, t = results["minigrad"], results["torch"]
        print(f"\nminigrad / torch peak RSS: {m['peak_rss_mib'] / t['peak_rss_mib']:.2f}; "
              f"epoch speed (torch time / minigrad time): {t['epoch_s'] / m['epoch_s']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
