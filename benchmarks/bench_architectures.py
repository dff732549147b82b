"""Training steps (and inference) of common architectures beyond the suite's LeNet-5 and
CifarCNN: minigrad against PyTorch on the CPU, random data, interleaved in one process.

    PYTHONPATH=. python benchmarks/bench_architectures.py [--threads 1 2] [--rounds 5] [--only lstm gru]
        [--out results.md]

Each architecture is written once over the `nn` namespace (torch.nn or minigrad.nn, the same
PyTorch names), so both engines run the same layers: PyTorch's MNIST example CNN, a
MobileNetV2-style CIFAR net (1x1 and depthwise 3x3 convolutions, BatchNorm, ReLU6), a small
CIFAR ResNet, an MLP with dropout, LSTM and GRU language models and a Transformer encoder layer.
A step is zero_grad, forward, cross-entropy, backward and the optimizer's step (Adam; SGD with
momentum for the CNNs); inference is the forward pass in eval mode without gradients. Each
round times every engine in turn (the best of a few calls each), and the table gives the
median over rounds; ratio = PyTorch time / minigrad time (> 1: minigrad faster). Needs torch.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make the benchmarks package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402


def mnist_example(nn: Any) -> Any:
    """pytorch/examples' mnist/main.py Net (its dropout layers included)."""
    return nn.Sequential(nn.Conv2d(1, 32, 3, 1), nn.ReLU(), nn.Conv2d(32, 64, 3, 1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Dropout(0.25), nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(128, 10))


def mobilenet_v2_cifar(nn: Any) -> Any:
    """Inverted residual blocks (expand 1x1, depthwise 3x3, project 1x1; BatchNorm, ReLU6)."""

    class InvertedResidual(nn.Module):
        def __init__(self, c_in: int, c_out: int, expand: int, stride: int) -> None:
            super().__init__()
            hidden = c_in * expand
            layers = [nn.Conv2d(c_in, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6()] if expand > 1 else []
            layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
                       nn.ReLU6(), nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
            self.body = nn.Sequential(*layers)
            self.residual = stride == 1 and c_in == c_out

        def forward(self, x: Any) -> Any:
            y = self.body(x)
            return x + y if self.residual else y

    blocks = [(32, 16, 1, 1), (16, 24, 6, 2), (24, 24, 6, 1), (24, 32, 6, 2), (32, 32, 6, 1), (32, 64, 6, 2),
              (64, 64, 6, 1)]
    return nn.Sequential(nn.Conv2d(3, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6(),
                         *[InvertedResidual(*b) for b in blocks], nn.Conv2d(64, 256, 1, bias=False),
                         nn.BatchNorm2d(256), nn.ReLU6(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(256, 10))


def resnet_cifar(nn: Any) -> Any:
    """Basic blocks, 32-64-128-256 channels, a 1x1 projection where the shape changes."""

    class BasicBlock(nn.Module):
        def __init__(self, c_in: int, c_out: int, stride: int) -> None:
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out)
            self.conv2, self.bn2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out)
            self.relu = nn.ReLU()
            self.shortcut = (nn.Sequential() if stride == 1 and c_in == c_out else
                             nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)))

        def forward(self, x: Any) -> Any:
            y = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
            return self.relu(y + self.shortcut(x))

    return nn.Sequential(nn.Conv2d(3, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), BasicBlock(32, 32, 1),
                         BasicBlock(32, 64, 2), BasicBlock(64, 128, 2), BasicBlock(128, 256, 2),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(256, 10))


def mlp(nn: Any) -> Any:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2), nn.Linear(512, 512),
                         nn.ReLU(), nn.Dropout(0.2), nn.Linear(512, 10))


def language_model(cell: str) -> Callable[[Any], Any]:
    """Embedding (100 tokens, 64), one recurrent layer of 128 units, a Linear back to the tokens."""

    def build(nn: Any) -> Any:
        class LanguageModel(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.embed = nn.Embedding(100, 64)
                self.rnn = getattr(nn, cell)(64, 128, batch_first=True)
                self.head = nn.Linear(128, 100)

            def forward(self, tokens: Any) -> Any:
                return self.head(self.rnn(self.embed(tokens))[0]).reshape(-1, 100)

        return LanguageModel()

    return build


def transformer(nn: Any) -> Any:
    """Embedding (100 tokens, 128), one TransformerEncoderLayer (4 heads, 256 wide), a Linear."""

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(100, 128)
            self.layer = nn.TransformerEncoderLayer(128, 4, 256, 0.1, batch_first=True)
            self.head = nn.Linear(128, 100)

        def forward(self, tokens: Any) -> Any:
            return self.head(self.layer(self.embed(tokens))).reshape(-1, 100)

    return Encoder()


# name -> (builder, input (numpy, from a Generator), targets, optimizer)
def _images(shape: tuple) -> Callable[[np.random.Generator], np.ndarray]:
    return lambda rng: rng.standard_normal(shape, dtype=np.float32)


ARCHITECTURES: dict[str, tuple] = {
    "mnist-example-cnn": (mnist_example, _images((64, 1, 28, 28)), lambda rng: rng.integers(0, 10, 64), "sgd"),
    "mobilenet-v2-cifar": (mobilenet_v2_cifar, _images((64, 3, 32, 32)), lambda rng: rng.integers(0, 10, 64), "sgd"),
    "resnet-cifar": (resnet_cifar, _images((32, 3, 32, 32)), lambda rng: rng.integers(0, 10, 32), "sgd"),
    "mlp": (mlp, _images((128, 1, 28, 28)), lambda rng: rng.integers(0, 10, 128), "adam"),
    "lstm": (language_model("LSTM"), lambda rng: rng.integers(0, 100, (32, 35)),
             lambda rng: rng.integers(0, 100, 32 * 35), "adam"),
    "gru": (language_model("GRU"), lambda rng: rng.integers(0, 100, (32, 35)),
            lambda rng: rng.integers(0, 100, 32 * 35), "adam"),
    "transformer": (transformer, lambda rng: rng.integers(0, 100, (32, 64)),
                    lambda rng: rng.integers(0, 100, 32 * 64), "adam"),
}


def steps(lib: Any, name: str) -> tuple[Callable[[], object], Callable[[], object]]:
    """(training step, inference) of architecture `name` on library lib (torch or minigrad)."""
    build, make_x, make_y, optimizer = ARCHITECTURES[name]
    rng = np.random.default_rng(0)
    model = build(lib.nn)
    x, y = lib.tensor(make_x(rng)), lib.tensor(make_y(rng))
    params = list(model.parameters())
    opt = lib.optim.SGD(params, lr=0.01, momentum=0.9) if optimizer == "sgd" else lib.optim.Adam(params, lr=1e-3)
    loss_fn = lib.nn.functional.cross_entropy

    def train() -> None:
        model.train()
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    def infer() -> None:
        model.eval()
        with lib.no_grad():
            model(x)

    return train, infer


def best_of(fn: Callable[[], object], calls: int) -> float:
    fn()
    return min(common.time_calls(fn, 1) for _ in range(calls))


def run(names: list[str], threads: list[int], rounds: int, calls: int) -> list[list[str]]:
    import torch

    import minigrad

    rows = []
    for name in names:
        for t in threads:
            torch.set_num_threads(t)
            minigrad.set_num_threads(t)
            engines = {"minigrad": steps(minigrad, name), "torch": steps(torch, name)}
            times: dict[tuple[str, str], list[float]] = {}
            for _ in range(rounds):
                for engine, (train, infer) in engines.items():
                    for phase, fn in (("train", train), ("infer", infer)):
                        times.setdefault((engine, phase), []).append(best_of(fn, calls))
            cells = [name, str(t)]
            for phase in ("train", "infer"):
                mine, theirs = statistics.median(times["minigrad", phase]), statistics.median(times["torch", phase])
                cells += [f"{mine * 1e3:.1f}", f"{theirs * 1e3:.1f}", f"{theirs / mine:.2f}"]
            rows.append(cells)
            print(" | ".join(cells), flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, common.usable_cores()])
    parser.add_argument("--rounds", type=int, default=5, help="rounds per architecture and thread count")
    parser.add_argument("--calls", type=int, default=3, help="calls per engine and round (the best counts)")
    parser.add_argument("--only", nargs="+", choices=sorted(ARCHITECTURES), help="architectures to time")
    parser.add_argument("--out", type=Path, help="also write the table (Markdown) here")
    args = parser.parse_args(argv)
    common.ensure_process_env()
    rows = run(args.only or list(ARCHITECTURES), sorted(set(args.threads)), args.rounds, args.calls)
    info = common.machine_info()
    table = common.markdown_table(
        ["architecture", "threads", "train ms, minigrad", "PyTorch", "ratio", "inference ms, minigrad", "PyTorch",
         "ratio"], rows)
    text = (f"{info['cpu_model']}, {info['usable_cores']} usable cores, minigrad SIMD "
            f"{info['minigrad_build']['simd']}, torch {info['torch']}; medians over rounds, ratio = PyTorch / "
            f"minigrad.\n\n{table}\n")
    print("\n" + text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
