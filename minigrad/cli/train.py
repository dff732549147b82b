"""``minigrad-train`` (also ``python -m minigrad.cli.train``): train a model on MNIST or Fashion-MNIST.

minigrad-train                                   # LeNet-5 on MNIST, 10 epochs, the defaults below
minigrad-train --model mnist-cnn --dataset fashion-mnist --optimizer adam --lr 1e-3
minigrad-train --resume runs/lenet5-mnist-20260101-120000   # continue an interrupted run exactly

Writes to --out: best.safetensors (the model with the best validation accuracy,
with its normalisation and class names in the metadata; see minigrad-eval),
checkpoint.safetensors (everything needed to resume, written atomically every
--checkpoint-every batches, at every epoch end and on Ctrl-C, so a killed run
loses at most those batches), metrics.csv / metrics.json, and PNG plots when
matplotlib is installed.

Data-parallel over MPI: ``mpiexec -n N minigrad-train ...`` (or srun; detected from the
launcher's environment, or --distributed) trains on N processes, each on its shard of every
epoch with --batch-size images per step (global batch N x --batch-size), gradients averaged
over the ranks; only rank 0 prints and writes files. See docs/distributed.md.

A loss or gradient that is not finite (divergence, e.g. from a huge learning rate)
stops the run with a message naming the step (exit status 3), or with
--on-divergence skip drops that step; non-finite weights are never saved.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import minigrad
import minigrad.nn.functional as F
from minigrad import distributed as dist
from minigrad import optim
from minigrad import random as mg_random
from minigrad.backend import get_backend, resolve_device
from minigrad.cli.argtypes import non_negative_float, non_negative_int, positive_float, positive_int
from minigrad.cli.evaluate import EvalResult, evaluate
from minigrad.data import MNIST, DataLoader, DistributedSampler, FashionMNIST, Subset, random_split
from minigrad.data import transforms as T
from minigrad.distributed import launch
from minigrad.models import MODELS, ModelInfo, build_model, save_model
from minigrad.serialization import load, save

__all__ = ["DATASETS", "NORMALIZATION", "NoiseAugment", "main", "build_parser"]

DATASETS = {"mnist": MNIST, "fashion-mnist": FashionMNIST}
# Mean and std of the training images scaled to [0, 1].
NORMALIZATION = {"mnist": (0.1307, 0.3081), "fashion-mnist": (0.2860, 0.3530)}

# The defaults; kept apart from the parser so that --resume can tell what was given.
DEFAULTS: dict[str, Any] = dict(
    model="lenet5",
    dataset="mnist",
    data_dir=None,
    epochs=10,
    batch_size=64,
    optimizer="sgd",
    lr=None,  # per optimizer, LR_DEFAULTS
    momentum=None,  # 0.9 for SGD, 0 for RMSprop
    weight_decay=5e-4,
    nesterov=True,
    scheduler="cosine",
    device="auto",
    augment="none",
    seed=0,
    val_split=5000,
    out=None,
    limit_train=None,
    threads=None,
    plots=True,
    checkpoint_every=200,
    on_divergence="stop",
    distributed=None,  # None: when an MPI launcher started the process
)
LR_DEFAULTS = {"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3, "adagrad": 1e-2, "adadelta": 1.0}
# Settings a resumed run may change; all others come from the checkpoint.
RESUMABLE_OVERRIDES = ("epochs", "device", "threads", "data_dir", "out", "plots", "checkpoint_every", "on_divergence",
                       "distributed")
CHECKPOINT = "checkpoint.safetensors"
BEST = "best.safetensors"


class NoiseAugment(T.Transform):
    """Training-time noise: per image one of clean / Gaussian / salt-and-pepper / speckle
    (equally likely), at a strength drawn per batch up to the given maxima."""

    def __init__(self, gaussian: float = 0.6, salt_pepper: float = 0.35, speckle: float = 1.0) -> None:
        self.gaussian, self.salt_pepper, self.speckle = gaussian, salt_pepper, speckle

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        noisy = [
            x,
            T.GaussianNoise(rng.uniform(0, self.gaussian))(x, rng),
            T.SaltAndPepper(rng.uniform(0, self.salt_pepper))(x, rng),
            T.SpeckleNoise(rng.uniform(0, self.speckle))(x, rng),
        ]
        choice = rng.integers(0, len(noisy), size=len(x))
        return np.choose(choice[:, None, None, None], noisy)


AUGMENTATIONS = {
    "shift": lambda: T.RandomShift(2),
    "noise": NoiseAugment,
    "erase": lambda: T.RandomErasing(p=0.5),
    "contrast": lambda: T.RandomBrightnessContrast(0.2, 0.2),
}


def _augment_list(value: str) -> list[str]:
    names = [] if value == "none" else value.split(",")
    for name in names:
        if name not in AUGMENTATIONS:
            raise argparse.ArgumentTypeError(f"unknown augmentation {name!r}: none, or a comma list of "
                                             f"{', '.join(AUGMENTATIONS)}")
    return names


def build_parser() -> argparse.ArgumentParser:
    d = DEFAULTS
    p = argparse.ArgumentParser(
        prog="minigrad-train",
        description="Train a model on MNIST or Fashion-MNIST with minigrad.",
        epilog="Ctrl-C saves a checkpoint after the current batch; --resume continues from it.",
    )
    p.add_argument("--model", choices=list(MODELS), help=f"default {d['model']}")
    p.add_argument("--dataset", choices=list(DATASETS), help=f"default {d['dataset']}")
    p.add_argument("--data-dir", help="directory holding mnist/ and fashion-mnist/ (default: $MINIGRAD_DATA, "
                   "then the user cache, system data directories, download)")
    p.add_argument("--epochs", type=positive_int, help=f"default {d['epochs']}")
    p.add_argument("--batch-size", type=positive_int, help=f"default {d['batch_size']}")
    p.add_argument("--optimizer", choices=list(LR_DEFAULTS), help=f"default {d['optimizer']}")
    p.add_argument("--lr", type=positive_float, help="learning rate (default: " +
                   ", ".join(f"{k} {v:g}" for k, v in LR_DEFAULTS.items()) + ")")
    p.add_argument("--momentum", type=non_negative_float,
                   help="SGD/RMSprop momentum (default 0.9 for SGD, 0 for RMSprop)")
    p.add_argument("--weight-decay", type=non_negative_float, help=f"default {d['weight_decay']:g}")
    p.add_argument("--nesterov", action=argparse.BooleanOptionalAction, help="SGD Nesterov momentum (default on)")
    p.add_argument("--scheduler", choices=["none", "step", "cosine", "plateau"],
                   help=f"default {d['scheduler']} (cosine: per batch down to 0 at the last epoch; step: "
                   "x0.1 at 1/2 and 3/4 of the epochs; plateau: x0.1 when val loss stalls 2 epochs)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="default auto (the GPU when one is usable)")
    p.add_argument("--augment", type=_augment_list, help="none, or a comma list of " +
                   ", ".join(AUGMENTATIONS) + " (noise: Gaussian, salt-and-pepper, speckle); default none")
    p.add_argument("--seed", type=int, help=f"default {d['seed']}; the same seed gives the same numbers")
    p.add_argument("--val-split", type=_val_split, help=f"images held out of train for validation: a count, or "
                   f"a fraction < 1 (default {d['val_split']})")
    p.add_argument("--out", help="output directory (default runs/<model>-<dataset>-<timestamp>)")
    p.add_argument("--resume", help=f"checkpoint file, or a run directory holding {CHECKPOINT}: continues the run "
                   "with its saved settings (only --" + ", --".join(RESUMABLE_OVERRIDES).replace("_", "-") +
                   " may change; more --epochs extend it, a cosine schedule then decays to 0 at the new end)")
    p.add_argument("--limit-train", type=positive_int, help="train on the first N training images only (quick runs)")
    p.add_argument("--threads", type=positive_int, help="CPU threads for the kernels (default: minigrad's)")
    p.add_argument("--plots", action=argparse.BooleanOptionalAction,
                   help="write PNG plots when matplotlib is installed (default on)")
    p.add_argument("--checkpoint-every", type=non_negative_int, metavar="N",
                   help=f"also write {CHECKPOINT} every N batches, 0: only at epoch ends "
                   f"(default {d['checkpoint_every']})")
    p.add_argument("--on-divergence", choices=["stop", "skip"],
                   help="when the loss or a gradient is NaN/inf: stop the run (exit status 3), or skip that "
                   "step (default stop)")
    p.add_argument("--distributed", action=argparse.BooleanOptionalAction,
                   help="train data-parallel over MPI, one process per rank (default: when started by mpiexec, "
                   "mpirun or srun); needs pip install \"minigrad[distributed]\"")
    return p


def _val_split(text: str) -> float:
    """A fraction in [0, 1) or a whole count of images."""
    value = non_negative_float(text)
    if value >= 1 and value != int(value):
        raise argparse.ArgumentTypeError(f"expected a fraction < 1 or a whole count, got {text!r}")
    return value


def _settings(args: argparse.Namespace, saved: dict[str, Any] | None) -> dict[str, Any]:
    """The run's settings: command line over defaults; when resuming, the saved ones
    except RESUMABLE_OVERRIDES given on the command line."""
    given = {k: v for k, v in vars(args).items() if v is not None and k != "resume"}
    if saved is None:
        s = {**DEFAULTS, **given}
    else:
        ignored = sorted(k for k in given if k not in RESUMABLE_OVERRIDES and given[k] != saved.get(k))
        if ignored:
            print(f"note: resuming with the checkpoint's settings; ignoring --{', --'.join(ignored)}",
                  file=sys.stderr)
        # DEFAULTS first: a checkpoint from before a setting existed runs with its default
        s = {**DEFAULTS, **saved, **{k: v for k, v in given.items() if k in RESUMABLE_OVERRIDES}}
    if s["lr"] is None:
        s["lr"] = LR_DEFAULTS[s["optimizer"]]
    if isinstance(s["augment"], str):
        s["augment"] = _augment_list(s["augment"])
    return s


def make_optimizer(name: str, params, s: dict[str, Any]) -> optim.Optimizer:
    lr, wd, momentum = s["lr"], s["weight_decay"], s["momentum"]
    if momentum is None:
        momentum = 0.9 if name == "sgd" else 0.0
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=momentum, weight_decay=wd, nesterov=s["nesterov"] and momentum > 0)
    if name == "adam":
        return optim.Adam(params, lr=lr, weight_decay=wd)
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=wd)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=wd)
    if name == "adagrad":
        return optim.Adagrad(params, lr=lr, weight_decay=wd)
    return optim.Adadelta(params, lr=lr, weight_decay=wd)


def make_scheduler(name: str, optimizer: optim.Optimizer, epochs: int, steps_per_epoch: int):
    """(scheduler or None, whether it steps per batch)."""
    if name == "cosine":
        return optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, epochs * steps_per_epoch)), True
    if name == "step":
        milestones = sorted({max(1, epochs // 2), max(1, 3 * epochs // 4)})
        return optim.lr_scheduler.MultiStepLR(optimizer, milestones, gamma=0.1), False
    if name == "plateau":
        return optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.1, patience=2), False
    return None, False


class _Interrupt:
    """SIGINT sets a flag the training loop checks after each batch (so the state saved is
    consistent); a second Ctrl-C interrupts at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def __enter__(self) -> _Interrupt:
        try:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: leave Ctrl-C alone
            self._previous = None
        return self

    def _handle(self, signum, frame) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)
        print("\ninterrupted: saving a checkpoint after this batch (Ctrl-C again to stop at once)", file=sys.stderr)

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


class Divergence(RuntimeError):
    """The loss, a gradient or a weight stopped being finite. ``applied``: the update was
    already made (the weights are no longer finite), so the step cannot be skipped."""

    def __init__(self, message: str, applied: bool = False) -> None:
        super().__init__(message)
        self.applied = applied


def _all_finite(tensors) -> bool:
    return all(get_backend(t.device).all_finite(t._data) for t in tensors)


def train_batch(model, optimizer, images, labels) -> tuple[float, int, int]:
    """One optimisation step; returns the batch's summed loss, correct count and size, summed
    over the ranks in a distributed run (so that every rank takes the same decisions).

    Raises Divergence before touching the weights when the loss or a gradient is not
    finite, and after the update when the update made a weight non-finite.
    """
    logits = model(images)
    loss = F.cross_entropy(logits, labels)
    correct = int((logits.detach().numpy().argmax(axis=1) == labels.numpy()).sum())
    stats = minigrad.tensor([float(loss.item()) * len(labels), correct, len(labels)], dtype=minigrad.float64)
    if dist.is_initialized():
        dist.all_reduce(stats)
    loss_sum, correct, count = stats.tolist()
    if not math.isfinite(loss_sum):
        raise Divergence(f"the loss is {loss_sum / count}")
    optimizer.zero_grad()
    loss.backward()
    params = [p for group in optimizer.param_groups for p in group["params"]]
    if not _all_finite(p.grad for p in params if p.grad is not None):
        optimizer.zero_grad()
        raise Divergence(f"a gradient is not finite (loss {loss_sum / count:.4g})")
    optimizer.step()
    if not _all_finite([*params, *(b for b in model.buffers() if b.dtype.kind == "f")]):
        raise Divergence("the update made a weight or running statistic non-finite", applied=True)
    return loss_sum, int(correct), int(count)


def _loaders(s: dict[str, Any], device: str):
    cls = DATASETS[s["dataset"]]
    train_full = cls(root=s["data_dir"], train=True)
    test = cls(root=s["data_dir"], train=False)
    val_split = s["val_split"]
    n_val = int(round(val_split * len(train_full))) if 0 < val_split < 1 else int(val_split)
    if not 0 <= n_val < len(train_full):
        raise ValueError(f"--val-split {val_split}: must leave training images ({len(train_full)} in all)")
    train, val = random_split(train_full, [len(train_full) - n_val, n_val], seed=s["seed"])
    if s["limit_train"]:
        train = Subset(train_full, train.indices[: s["limit_train"]])
    mean, std = NORMALIZATION[s["dataset"]]
    normalize = T.Normalize(mean, std)
    augment = [AUGMENTATIONS[name]() for name in s["augment"]]
    rank, world = dist.rank_and_world_size()
    sampler = DistributedSampler(train, world, rank, seed=s["seed"]) if world > 1 else None
    train_loader = DataLoader(train, s["batch_size"], shuffle=sampler is None, seed=s["seed"], sampler=sampler,
                              transform=T.Compose([*augment, normalize]))
    val_loader = DataLoader(val, 500, transform=normalize) if n_val else None
    test_loader = DataLoader(test, 500, transform=normalize)
    info = ModelInfo(s["model"], s["dataset"], mean, std, list(cls.classes), tuple(train_full.data.shape[1:]))
    return train_loader, val_loader, test_loader, info


def _on(device: str, batch: tuple) -> tuple:
    return tuple(t.to(device) for t in batch) if device != "cpu" else batch


def _progress(total: int, initial: int, desc: str):
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, initial=initial, desc=desc, unit="batch", leave=False, dynamic_ncols=True, disable=None)


def _write_text_atomically(path: Path, text: str) -> None:
    """A kill mid-write leaves the previous file, never a partial one."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _write_metrics(out: Path, settings: dict, history: list[dict], extra: dict) -> None:
    if history:
        rows = io.StringIO(newline="")
        writer = csv.DictWriter(rows, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
        _write_text_atomically(out / "metrics.csv", rows.getvalue())
    payload = {"settings": settings, "epochs": history, **extra}
    _write_text_atomically(out / "metrics.json", json.dumps(payload, indent=1, default=str) + "\n")


def _remove_stale_temporaries(out: Path) -> None:
    """Temporary files of writes cut short by a kill (minigrad.save's and ours); this run owns out."""
    for name in (CHECKPOINT, BEST, "metrics.csv", "metrics.json"):
        for tmp in out.glob(f".{name}.*tmp"):
            tmp.unlink(missing_ok=True)


def _epoch_row(epoch, lr, sums: dict, val: EvalResult | None, seconds) -> dict[str, Any]:
    nan = float("nan")
    images = sums["seen"]
    return {
        "epoch": epoch,
        "lr": lr,
        "train_loss": sums["loss"] / images if images else nan,
        "train_acc": sums["correct"] / images if images else nan,
        "skipped_steps": sums.get("skipped", 0),
        "val_loss": val.loss if val else nan,
        "val_acc": val.accuracy if val else nan,
        "val_top1_err": 1 - val.accuracy if val else nan,
        "val_top5_err": 1 - val.top5_accuracy if val else nan,
        "epoch_time_s": seconds,
        "images_per_s": images / seconds if seconds > 0 else nan,
    }


def _new_sums() -> dict[str, Any]:
    """An epoch's running sums (saved in checkpoints, so a resumed epoch continues them)."""
    return {"loss": 0.0, "correct": 0, "seen": 0, "seconds": 0.0, "skipped": 0}


def _is_better(row: dict, best: dict | None) -> bool:
    if best is None or math.isnan(row["val_acc"]):
        return True
    return (row["val_acc"], -row["val_loss"]) > (best["val_acc"], -best["val_loss"])


_CHECKPOINT_KEYS = ("model", "optimizer", "scheduler", "rng", "epoch", "batch", "partial", "history", "best",
                    "settings")


def _load_checkpoint(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The checkpoint at path and its settings; ValueError when it is not one minigrad-train wrote."""
    checkpoint = load(path)
    missing = [key for key in _CHECKPOINT_KEYS if key not in checkpoint]
    if missing:
        raise ValueError(f"{path}: not a minigrad-train checkpoint (no {', '.join(missing)}); a model file "
                         f"such as {BEST} is for minigrad-eval, --resume takes {CHECKPOINT} or its run directory")
    settings = json.loads(checkpoint["settings"])
    if not isinstance(settings, dict):
        raise ValueError(f"{path}: damaged checkpoint (its settings are not a JSON object)")
    return checkpoint, settings


def _prepare_output(out: Path) -> None:
    """Create out and prove it writable now, not after the first epoch."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=out):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of minigrad-train; returns the exit status (130 after Ctrl-C, 3 on divergence,
    2 with one ``error:`` line for a bad argument, checkpoint, output folder or data, or a failed write)."""
    args = build_parser().parse_args(argv)
    if launch.wanted(args.distributed):
        return launch.run(_train, args, "minigrad-train")
    return _train(args)


def _train(args: argparse.Namespace) -> int:
    """The run on this rank; a bad argument, checkpoint, output folder or data, or a failed write,
    is one error line and status 2 (which ends every rank of a distributed run)."""
    try:
        return _run(args)
    except (OSError, ValueError) as exc:  # CheckpointError is a ValueError
        print(f"minigrad-train: error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    rank, world = dist.rank_and_world_size()  # (0, 1) unless distributed
    checkpoint = saved_settings = None
    if args.resume:
        path = Path(args.resume)
        path = path / CHECKPOINT if path.is_dir() else path
        if not path.is_file():
            raise ValueError(f"--resume: no checkpoint at {path} (the run wrote none yet; "
                             "start it again without --resume)")
        checkpoint, saved_settings = _load_checkpoint(path)
        args.out = args.out or str(path.parent)
    s = _settings(args, saved_settings)
    try:
        device = resolve_device(s["device"], notice=args.device is not None)  # silent for the default auto
    except RuntimeError as exc:
        raise ValueError(str(exc)) from None
    if s["threads"]:
        minigrad.set_num_threads(s["threads"])
    out = Path(s["out"] or f"runs/{s['model']}-{s['dataset']}-{time.strftime('%Y%m%d-%H%M%S')}")
    s["out"] = str(out)
    if rank == 0:
        _prepare_output(out)
        _remove_stale_temporaries(out)

    minigrad.manual_seed(s["seed"])
    train_loader, val_loader, test_loader, info = _loaders(s, device)
    model = build_model(s["model"], num_classes=len(info.classes)).to(device)
    step_model = dist.DistributedDataParallel(model) if world > 1 else model
    optimizer = make_optimizer(s["optimizer"], model.parameters(), s)
    scheduler, per_batch = make_scheduler(s["scheduler"], optimizer, s["epochs"], len(train_loader))

    # Where the run stands: epoch (0-based) and batch within it, and the partial epoch sums.
    start_epoch, start_batch, partial = 0, 0, _new_sums()
    history: list[dict] = []
    best: dict | None = None
    if checkpoint:
        note = launch.adapt_checkpoint(checkpoint, s["batch_size"], world, len(train_loader), per_batch)
        if note:
            print(note, file=sys.stderr)
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        if scheduler is not None:
            horizon = {k: v for k, v in scheduler.state_dict().items() if k in ("T_max", "milestones")}
            scheduler.load_state_dict(checkpoint["scheduler"])
            extended = any(scheduler.state_dict()[k] != v for k, v in horizon.items())
            scheduler.__dict__.update(horizon)  # a resumed run may have more epochs: schedule to its end
            if extended and s["scheduler"] == "cosine":
                # the chained cosine formula scales the current lr (0 at a finished run's end): restart
                # it from the closed form on the longer horizon
                t, t_max = scheduler.last_epoch, scheduler.T_max
                for group, base in zip(optimizer.param_groups, scheduler.base_lrs, strict=True):
                    group["lr"] = base * (1 + math.cos(math.pi * t / t_max)) / 2
                scheduler._last_lr = [group["lr"] for group in optimizer.param_groups]
        mg_random.set_rng_state(json.loads(checkpoint["rng"]))
        start_epoch, start_batch = checkpoint["epoch"], checkpoint["batch"]
        partial, history, best = checkpoint["partial"], checkpoint["history"], checkpoint["best"]
        print(f"resuming {out} at epoch {start_epoch + 1}, batch {start_batch}", file=sys.stderr)

    def save_checkpoint(epoch: int, batch: int, sums: dict) -> None:
        if rank != 0:
            return
        save({
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "rng": json.dumps(mg_random.get_rng_state()),
            "epoch": epoch,
            "batch": batch,
            "partial": sums,
            "history": history,
            "best": best,
            "settings": json.dumps(s),
            "world_size": world,
        }, out / CHECKPOINT)

    print(f"{s['model']} on {s['dataset']}: {len(train_loader.dataset)} train / "
          f"{len(val_loader.dataset) if val_loader else 0} val images, {s['epochs']} epochs, "
          f"{s['optimizer']} lr {s['lr']:g}, scheduler {s['scheduler']}, device {device}, "
          f"{minigrad.get_num_threads()} threads" + (f" x {world} ranks" if world > 1 else "") + f" -> {out}")
    with _Interrupt() as interrupt:
        for epoch in range(start_epoch, s["epochs"]):
            model.train()
            train_loader.set_epoch(epoch)
            sums = {**_new_sums(), **partial} if epoch == start_epoch else _new_sums()
            bar = _progress(len(train_loader), start_batch if epoch == start_epoch else 0,
                            f"epoch {epoch + 1}/{s['epochs']}")
            t0 = time.perf_counter() - sums["seconds"]
            for i, batch in enumerate(train_loader):
                if epoch == start_epoch and i < start_batch:
                    continue  # replayed so the loader's random draws match an uninterrupted run
                images, labels = _on(device, batch)
                try:
                    loss_sum, correct, seen = train_batch(step_model, optimizer, images, labels)
                    sums["loss"] += loss_sum
                    sums["correct"] += correct
                    sums["seen"] += seen
                except Divergence as exc:
                    where = f"epoch {epoch + 1}, batch {i + 1} (step {epoch * len(train_loader) + i + 1})"
                    if exc.applied or s["on_divergence"] == "stop":
                        if bar is not None:
                            bar.close()
                        print(f"minigrad-train: error: training diverged at {where}: {exc}. Nothing from this "
                              f"step was saved; {out / CHECKPOINT} holds the last checkpoint. Try a lower --lr"
                              + ("" if exc.applied else ", or --on-divergence skip") + ".", file=sys.stderr)
                        return 3
                    sums["skipped"] += 1
                    print(f"\nwarning: skipped {where}: {exc}", file=sys.stderr)
                if per_batch:
                    scheduler.step()
                sums["seconds"] = time.perf_counter() - t0
                if bar is not None:
                    bar.update()
                    if sums["seen"]:
                        bar.set_postfix(loss=f"{sums['loss'] / sums['seen']:.4f}",
                                        acc=f"{100 * sums['correct'] / sums['seen']:.2f}%",
                                        img_s=f"{sums['seen'] / sums['seconds']:.0f}", refresh=False)
                every = s["checkpoint_every"]
                if every and (i + 1) % every == 0 and i + 1 < len(train_loader) and not interrupt.requested:
                    save_checkpoint(epoch, i + 1, sums)
                if interrupt.requested:
                    if bar is not None:
                        bar.close()
                    save_checkpoint(epoch, i + 1, sums)
                    print(f"checkpoint saved at epoch {epoch + 1}, batch {i + 1}: {out / CHECKPOINT}\n"
                          f"resume with: python -m minigrad.cli.train --resume {out}", file=sys.stderr)
                    return 130
            if bar is not None:
                bar.close()
            seconds = time.perf_counter() - t0
            lr = optimizer.param_groups[0]["lr"]
            val = evaluate(model, (_on(device, b) for b in val_loader), len(info.classes)) if val_loader else None
            row = _epoch_row(epoch + 1, lr, sums, val, seconds)
            history.append(row)
            if scheduler is not None and not per_batch:
                if s["scheduler"] == "plateau":
                    scheduler.step(row["val_loss"] if val else row["train_loss"])
                else:
                    scheduler.step()
            if _is_better(row, best):
                best = row
                if rank == 0:
                    save_model(model, out / BEST, info)
            print(f"epoch {epoch + 1}/{s['epochs']}: train loss {row['train_loss']:.4f} acc "
                  f"{100 * row['train_acc']:.2f}% | val loss {row['val_loss']:.4f} acc {100 * row['val_acc']:.2f}% "
                  f"top-1 err {100 * row['val_top1_err']:.2f}% top-5 err {100 * row['val_top5_err']:.2f}% | "
                  f"{seconds:.1f} s, {row['images_per_s']:.0f} images/s"
                  + (f" | {row['skipped_steps']} steps skipped (not finite)" if row["skipped_steps"] else ""),
                  flush=True)
            start_batch = 0
            save_checkpoint(epoch + 1, 0, _new_sums())
            if rank == 0:
                _write_metrics(out, s, history, {"best_epoch": best["epoch"]})
            if interrupt.requested:
                print(f"resume with: python -m minigrad.cli.train --resume {out}", file=sys.stderr)
                return 130

    if rank != 0:
        return 0  # the test evaluation, metrics and plots are rank 0's
    from minigrad.models import load_model

    best_model = load_model(out / BEST).to(device)
    test = evaluate(best_model, (_on(device, b) for b in test_loader), len(info.classes))
    extra = {
        "best_epoch": best["epoch"],
        "test": {"loss": test.loss, "accuracy": test.accuracy, "top5_accuracy": test.top5_accuracy,
                 "count": test.count, "confusion": test.confusion.tolist()},
    }
    _write_metrics(out, s, history, extra)
    plots = []
    if s["plots"]:
        from minigrad.cli.plots import write_plots

        plots = write_plots(out, history, best_model, test.confusion, info.classes)
    print(f"test accuracy {100 * test.accuracy:.2f}% (top-5 {100 * test.top5_accuracy:.2f}%, loss {test.loss:.4f}) "
          f"with the model of epoch {best['epoch']}: {out / BEST}" + (f"; plots: {len(plots)} PNG" if plots else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
