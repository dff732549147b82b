"""The benchmark cases: each op or model step written once per engine.

A case maps an engine kind ("minigrad-cpu", "minigrad-cuda", "numpy", "torch-cpu",
"torch-cuda") to a builder. A builder makes its inputs once and returns the
function to time (or None where that engine cannot run the case). Inputs are
float32 and drawn from one seeded generator, so every engine sees the same data.
minigrad ops call the `_C` kernels directly (op level) or the Python API (model
level); PyTorch backward ops call the same aten backward kernels its autograd
would, so neither side pays graph bookkeeping at op level.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from benchmarks import bench_gemm

Builder = Callable[[], "Callable[[], object] | None"]


@dataclass
class Case:
    group: str  # gemm, conv2d, max_pool2d, cross_entropy, optimizer, lenet5, cifar_cnn
    name: str  # the shape or setting
    phase: str  # forward, backward, step, train step, inference
    flops: float | None = None  # per call, where it is meaningful (GEMM, conv)
    items: int | None = None  # images per call (model level)
    builders: dict[str, Builder] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.group} {self.name} {self.phase}"


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _torch():
    import torch

    return torch


def _cuda():
    from minigrad import _C

    return _C.cuda


# ---------------------------------------------------------------------------- GEMM
def _gemm_backward(mm, a, b, dc, ta: bool, tb: bool):
    """dA, dB of C = op(A) op(B), written with mm(x, y, trans_x, trans_y) only."""
    da = mm(b, dc, tb, True) if ta else mm(dc, b, False, not tb)
    db = mm(dc, a, True, ta) if tb else mm(a, dc, not ta, False)
    return da, db


def _np_mm(x, y, tx, ty):
    return (x.T if tx else x) @ (y.T if ty else y)


def gemm_cases(shapes: list[tuple[str, int, int, int, bool, bool]]) -> list[Case]:
    cases = []
    for label, m, k, n, ta, tb in shapes:
        def arrays(m=m, k=k, n=n, ta=ta, tb=tb):
            rng = _rng()
            a = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
            b = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
            dc = rng.standard_normal((m, n), dtype=np.float32)
            return a, b, dc

        def minigrad_cpu(phase, ta=ta, tb=tb, arrays=arrays):
            from minigrad import _C

            a, b, dc = arrays()
            if phase == "forward":
                return lambda: _C.gemm(a, b, ta, tb)
            return lambda: _gemm_backward(_C.gemm, a, b, dc, ta, tb)

        def minigrad_cuda(phase, ta=ta, tb=tb, arrays=arrays):
            cuda = _cuda()
            a, b, dc = (cuda.from_numpy(x) for x in arrays())
            if phase == "forward":
                return lambda: cuda.gemm(a, b, ta, tb)
            return lambda: _gemm_backward(cuda.gemm, a, b, dc, ta, tb)

        def numpy(phase, ta=ta, tb=tb, arrays=arrays):
            a, b, dc = arrays()
            if phase == "forward":
                return lambda: _np_mm(a, b, ta, tb)
            return lambda: _gemm_backward(_np_mm, a, b, dc, ta, tb)

        def torch_on(device, phase, ta=ta, tb=tb, arrays=arrays):
            torch = _torch()
            a, b, dc = (torch.from_numpy(x).to(device) for x in arrays())
            if phase == "forward":
                return lambda: _np_mm(a, b, ta, tb)
            return lambda: _gemm_backward(_np_mm, a, b, dc, ta, tb)

        ops = "".join([" A^T" if ta else "", " B^T" if tb else ""])
        name = f"{label} {m}x{k}x{n}{ops}"
        for phase, factor in (("forward", 1), ("backward", 2)):
            cases.append(_case("gemm", name, phase, minigrad_cpu, minigrad_cuda, numpy, torch_on,
                               flops=factor * 2.0 * m * n * k))
    return cases


def _case(group, name, phase, minigrad_cpu, minigrad_cuda, numpy, torch_on, flops=None, items=None) -> Case:
    """A Case whose builders take the phase (and torch's device) as arguments."""
    builders = {
        "minigrad-cpu": lambda: minigrad_cpu(phase),
        "minigrad-cuda": lambda: minigrad_cuda(phase) if minigrad_cuda else None,
        "numpy": lambda: numpy(phase) if numpy else None,
        "torch-cpu": lambda: torch_on("cpu", phase),
        "torch-cuda": lambda: torch_on("cuda", phase),
    }
    return Case(group, name, phase, flops=flops, items=items, builders=builders)


# ---------------------------------------------------------------------------- conv2d
def _np_im2col(x, kh, kw, stride, pad):
    """(N, C, H, W) -> (N, C*kh*kw, Ho*Wo): the clear reference im2col."""
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    n, c, ho, wo = win.shape[:4]
    return win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, ho * wo), ho, wo


def _np_conv_forward(x, w, b, stride, pad):
    cols, ho, wo = _np_im2col(x, w.shape[2], w.shape[3], stride, pad)
    y = np.matmul(w.reshape(w.shape[0], -1), cols) + b[:, None]
    return y.reshape(x.shape[0], w.shape[0], ho, wo)


def _np_conv_backward(dy, x, w, stride, pad):
    """(dx, dw, db); col2im adds one slice per kernel offset."""
    n, c, h, wd = x.shape
    co, _, kh, kw = w.shape
    cols, ho, wo = _np_im2col(x, kh, kw, stride, pad)
    dy2 = dy.reshape(n, co, ho * wo)
    dw = np.einsum("npq,nkq->pk", dy2, cols, optimize=True).reshape(w.shape)
    db = dy.sum(axis=(0, 2, 3))
    dcols = np.matmul(w.reshape(co, -1).T, dy2).reshape(n, c, kh, kw, ho, wo)
    dxp = np.zeros((n, c, h + 2 * pad, wd + 2 * pad), x.dtype)
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + stride * ho:stride, j:j + stride * wo:stride] += dcols[:, :, i, j]
    return dxp[:, :, pad:pad + h, pad:pad + wd], dw, db


def conv_cases(shapes: list[tuple]) -> list[Case]:
    """shapes: (label, N, C_in, H(=W), C_out, kernel, stride, padding[, groups]); numpy's im2col
    reference takes groups 1 only."""
    cases = []
    for label, n, ci, hw, co, k, stride, pad, *rest in shapes:
        groups = rest[0] if rest else 1

        def arrays(n=n, ci=ci, hw=hw, co=co, k=k, stride=stride, pad=pad, groups=groups):
            rng = _rng()
            x = rng.standard_normal((n, ci, hw, hw), dtype=np.float32)
            w = rng.standard_normal((co, ci // groups, k, k), dtype=np.float32) * np.float32(0.1)
            b = rng.standard_normal(co, dtype=np.float32)
            ho = (hw + 2 * pad - k) // stride + 1
            dy = rng.standard_normal((n, co, ho, ho), dtype=np.float32)
            return x, w, b, dy

        def minigrad_cpu(phase, stride=stride, pad=pad, groups=groups, arrays=arrays):
            from minigrad import _C

            x, w, b, dy = arrays()
            if phase == "forward":
                return lambda: _C.conv2d_forward(x, w, b, stride, pad, 1, groups)
            return lambda: _C.conv2d_backward(dy, x, w, stride, pad, 1, groups)

        def minigrad_cuda(phase, stride=stride, pad=pad, groups=groups, arrays=arrays):
            cuda = _cuda()
            x, w, b, dy = (cuda.from_numpy(a) for a in arrays())
            if phase == "forward":
                return lambda: cuda.conv2d_forward(x, w, b, stride, pad, 1, groups)
            return lambda: cuda.conv2d_backward(dy, x, w, stride, pad, 1, groups)

        def numpy(phase, stride=stride, pad=pad, arrays=arrays):
            x, w, b, dy = arrays()
            if phase == "forward":
                return lambda: _np_conv_forward(x, w, b, stride, pad)
            return lambda: _np_conv_backward(dy, x, w, stride, pad)

        def torch_on(device, phase, stride=stride, pad=pad, groups=groups, arrays=arrays):
            torch = _torch()
            x, w, b, dy = (torch.from_numpy(a).to(device) for a in arrays())
            if phase == "forward":
                return lambda: torch.nn.functional.conv2d(x, w, b, stride, pad, 1, groups)
            mask = [True, True, True]
            return lambda: torch.ops.aten.convolution_backward(
                dy, x, w, [w.shape[0]], [stride] * 2, [pad] * 2, [1, 1], False, [0, 0], groups, mask)

        ho = (hw + 2 * pad - k) // stride + 1
        fwd = 2.0 * n * co * ho * ho * (ci // groups) * k * k
        name = f"{label} {n}x{ci}x{hw}x{hw} -> {co} k{k} s{stride} p{pad}" + (f" g{groups}" if groups > 1 else "")
        # backward: dW and dX are each one GEMM of the forward's size.
        for phase, flops in (("forward", fwd), ("backward", 2 * fwd)):
            cases.append(_case("conv2d", name, phase, minigrad_cpu, minigrad_cuda, numpy if groups == 1 else None,
                               torch_on, flops=flops))
    return cases


# ---------------------------------------------------------------------------- max pool
def pool_cases(shapes: list[tuple[str, int, int, int]]) -> list[Case]:
    """shapes: (label, N, C, H(=W)); 2x2 windows, stride 2, as LeNet's."""
    cases = []
    for label, n, c, hw in shapes:
        def arrays(n=n, c=c, hw=hw):
            rng = _rng()
            return (rng.standard_normal((n, c, hw, hw), dtype=np.float32),
                    rng.standard_normal((n, c, hw // 2, hw // 2), dtype=np.float32))

        def minigrad_cpu(phase, arrays=arrays):
            from minigrad import _C

            x, dy = arrays()
            if phase == "forward":
                return lambda: _C.max_pool2d_forward(x, 2)
            _, idx = _C.max_pool2d_forward(x, 2)
            return lambda: _C.max_pool2d_backward(dy, idx, x.shape)

        def minigrad_cuda(phase, arrays=arrays):
            cuda = _cuda()
            x, dy = (cuda.from_numpy(a) for a in arrays())
            if phase == "forward":
                return lambda: cuda.max_pool2d_forward(x, 2)
            _, idx = cuda.max_pool2d_forward(x, 2)
            return lambda: cuda.max_pool2d_backward(dy, idx, x.shape)

        def numpy(phase, n=n, c=c, hw=hw, arrays=arrays):
            if phase != "forward":
                return None  # no clear numpy equivalent of the indexed scatter
            x, _ = arrays()
            h = hw // 2
            return lambda: x.reshape(n, c, h, 2, h, 2).max(axis=(3, 5))

        def torch_on(device, phase, arrays=arrays):
            torch = _torch()
            x, dy = (torch.from_numpy(a).to(device) for a in arrays())
            if phase == "forward":
                return lambda: torch.ops.aten.max_pool2d_with_indices(x, [2, 2], [2, 2])
            _, idx = torch.ops.aten.max_pool2d_with_indices(x, [2, 2], [2, 2])
            return lambda: torch.ops.aten.max_pool2d_with_indices_backward(
                dy, x, [2, 2], [2, 2], [0, 0], [1, 1], False, idx)

        name = f"{label} {n}x{c}x{hw}x{hw} k2 s2"
        for phase in ("forward", "backward"):
            cases.append(_case("max_pool2d", name, phase, minigrad_cpu, minigrad_cuda, numpy, torch_on))
    return cases


# ---------------------------------------------------------------------------- cross-entropy
def _np_ce_forward(x, t):
    shifted = x - x.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(t)), t].mean(), logp


def _np_ce_backward(logp, t):
    g = np.exp(logp)
    g[np.arange(len(t)), t] -= 1
    return g / len(t)


def cross_entropy_cases(shapes: list[tuple[int, int]]) -> list[Case]:
    """shapes: (N, classes); mean reduction."""
    cases = []
    for n, classes in shapes:
        def arrays(n=n, classes=classes):
            rng = _rng()
            return rng.standard_normal((n, classes), dtype=np.float32), rng.integers(0, classes, n)

        def minigrad_cpu(phase, arrays=arrays):
            from minigrad import _C

            x, t = arrays()
            if phase == "forward":
                return lambda: _C.cross_entropy_forward(x, t)
            _, logp = _C.cross_entropy_forward(x, t)
            one = np.array(1.0, np.float32)
            return lambda: _C.cross_entropy_backward(logp, t, one)

        def minigrad_cuda(phase, arrays=arrays):
            cuda = _cuda()
            x, t = (cuda.from_numpy(a) for a in arrays())
            if phase == "forward":
                return lambda: cuda.cross_entropy_forward(x, t)
            _, logp = cuda.cross_entropy_forward(x, t)
            one = cuda.from_numpy(np.array(1.0, np.float32))
            return lambda: cuda.cross_entropy_backward(logp, t, one)

        def numpy(phase, arrays=arrays):
            x, t = arrays()
            if phase == "forward":
                return lambda: _np_ce_forward(x, t)
            logp = _np_ce_forward(x, t)[1]
            return lambda: _np_ce_backward(logp, t)

        def torch_on(device, phase, arrays=arrays):
            torch = _torch()
            x, t = (torch.from_numpy(a).to(device) for a in arrays())
            if phase == "forward":
                return lambda: torch.nn.functional.cross_entropy(x, t)
            x.requires_grad_(True)
            loss = torch.nn.functional.cross_entropy(x, t)
            return lambda: torch.autograd.grad(loss, x, retain_graph=True)

        for phase in ("forward", "backward"):
            cases.append(_case("cross_entropy", f"{n}x{classes}", phase, minigrad_cpu, minigrad_cuda, numpy,
                               torch_on))
    return cases


# ---------------------------------------------------------------------------- models
def torch_lenet5(torch):
    """The same architecture as minigrad.models.LeNet5, in PyTorch."""
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def _minigrad_lenet(device: str):
    import minigrad
    from minigrad.models import LeNet5

    minigrad.manual_seed(0)
    model = LeNet5()
    return model.to(device) if device != "cpu" else model


def optimizer_cases() -> list[Case]:
    """One step of SGD (momentum 0.9) and of Adam over LeNet-5's parameters, gradients in place."""
    cases = []
    for opt in ("sgd", "adam"):
        def minigrad_on(device, phase, opt=opt):
            import minigrad
            from minigrad import optim

            model = _minigrad_lenet(device)
            rng = _rng()
            for p in model.parameters():
                p.grad = minigrad.from_numpy(rng.standard_normal(p.shape, dtype=np.float32)).to(device)
            o = optim.SGD(model.parameters(), lr=0.01, momentum=0.9) if opt == "sgd" else \
                optim.Adam(model.parameters(), lr=1e-3)
            return o.step

        def numpy(phase, opt=opt):
            rng = _rng()
            params = [rng.standard_normal(p.shape, dtype=np.float32) for p in _minigrad_lenet("cpu").parameters()]
            grads = [rng.standard_normal(p.shape, dtype=np.float32) for p in params]
            bufs = [np.zeros_like(p) for p in params]
            bufs2 = [np.zeros_like(p) for p in params]

            def sgd():
                for p, g, m in zip(params, grads, bufs, strict=True):
                    m *= 0.9
                    m += g
                    p -= np.float32(0.01) * m

            def adam(b1=0.9, b2=0.999, lr=1e-3, step=10):
                c1, c2 = 1 - b1**step, 1 - b2**step
                for p, g, m, v in zip(params, grads, bufs, bufs2, strict=True):
                    m *= b1
                    m += (1 - b1) * g
                    v *= b2
                    v += (1 - b2) * g * g
                    p -= (lr / c1) * m / (np.sqrt(v / c2) + 1e-8)

            return sgd if opt == "sgd" else adam

        def torch_on(device, phase, opt=opt):
            torch = _torch()
            torch.manual_seed(0)
            model = torch_lenet5(torch).to(device)
            for p in model.parameters():
                p.grad = torch.randn_like(p)
            o = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9) if opt == "sgd" else \
                torch.optim.Adam(model.parameters(), lr=1e-3)
            return o.step

        name = "SGD momentum 0.9" if opt == "sgd" else "Adam"
        cases.append(_case("optimizer", f"{name}, LeNet-5 params (61,706)", "step",
                           lambda phase, f=minigrad_on: f("cpu", phase),
                           lambda phase, f=minigrad_on: f("cuda", phase), numpy, torch_on))
    return cases


def torch_cifar_cnn(torch):
    """The same architecture as minigrad.models.CifarCNN, in PyTorch."""
    nn = torch.nn
    layers = []
    for i, (a, b) in enumerate([(3, 32), (32, 32), (32, 64), (64, 64), (64, 128)]):
        layers += [nn.Conv2d(a, b, 3, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU()]
        if i in (1, 3, 4):
            layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(2048, 256), nn.ReLU(), nn.Linear(256, 10))


def _minigrad_cifar_cnn(device: str):
    import minigrad
    from minigrad.models import CifarCNN

    minigrad.manual_seed(0)
    model = CifarCNN()
    return model.to(device) if device != "cpu" else model


def model_cases(group: str, image: tuple[int, int, int], minigrad_model, torch_model,
                train_batches: list[int], infer_batches: list[int]) -> list[Case]:
    """A model on random images of shape `image`: training step (forward,
    cross-entropy, backward, SGD momentum) and inference (forward without the
    tape). minigrad_model(device) and torch_model(torch) build the two twins."""
    cases = []
    for phase, batches in (("train step", train_batches), ("inference", infer_batches)):
        for n in batches:
            def data(n=n):
                rng = _rng()
                return rng.standard_normal((n, *image), dtype=np.float32), rng.integers(0, 10, n)

            def minigrad_on(device, phase, data=data):
                import minigrad
                import minigrad.nn.functional as F
                from minigrad import optim

                model = minigrad_model(device)
                x, t = (minigrad.from_numpy(a).to(device) for a in data())
                if phase == "inference":
                    model.eval()

                    def infer():
                        with minigrad.no_grad():
                            return model(x)

                    return infer
                opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

                def step():
                    loss = F.cross_entropy(model(x), t)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()

                return step

            def torch_on(device, phase, data=data):
                torch = _torch()
                torch.manual_seed(0)
                model = torch_model(torch).to(device)
                x, t = (torch.from_numpy(a).to(device) for a in data())
                if phase == "inference":
                    model.eval()

                    def infer():
                        with torch.inference_mode():
                            return model(x)

                    return infer
                opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

                def step():
                    loss = torch.nn.functional.cross_entropy(model(x), t)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()

                return step

            cases.append(_case(group, f"batch {n}", phase,
                               lambda phase, f=minigrad_on: f("cpu", phase),
                               lambda phase, f=minigrad_on: f("cuda", phase), None, torch_on, items=n))
    return cases


def lenet_cases(train_batches: list[int], infer_batches: list[int]) -> list[Case]:
    """LeNet-5 on 28x28 images."""
    return model_cases("lenet5", (1, 28, 28), _minigrad_lenet, torch_lenet5, train_batches, infer_batches)


def cifar_cnn_cases(batches: list[int]) -> list[Case]:
    """The VGG-style CifarCNN on 3x32x32 images (conv layers with 32-128 channels)."""
    return model_cases("cifar_cnn", (3, 32, 32), _minigrad_cifar_cnn, torch_cifar_cnn, batches, batches)


# ---------------------------------------------------------------------------- the suite
LENET_GEMM = [bench_gemm.LENET[i] for i in (1, 4, 6, 8)]  # conv1/conv2 fwd at 64 images, fc1 fwd, fc1 dW
# Linear's x W^T at small batches (one image, a few, an LSTM step's 32 rows): the dot-product path
LINEAR_GEMM = [("MLP fc1 x W^T, 1 row", 1, 784, 512, False, True), ("MLP fc1 x W^T, 8 rows", 8, 784, 512, False, True),
               ("LSTM step h W^T, 32 rows", 32, 128, 512, False, True)]


def suite(quick: bool) -> list[Case]:
    """Every case of the full run, or the --quick subset (< 1 minute in all)."""
    squares = [256] if quick else [256, 512, 1024]
    gemm = [(f"square {s}", s, s, s, False, False) for s in squares]
    gemm += [(f"LeNet {label}", *shape) for label, *shape in (LENET_GEMM[1:3] if quick else LENET_GEMM)]
    gemm += [] if quick else LINEAR_GEMM
    conv = [("LeNet conv1", 64, 1, 28, 6, 5, 1, 2), ("LeNet conv2", 64, 6, 14, 16, 5, 1, 0)]
    if not quick:
        # General convolutions (channels >= 16), ResNet-like: 3x3 and 1x1, stride 1 and 2.
        conv += [("ResNet 3x3", 8, 64, 56, 64, 3, 1, 1), ("ResNet 3x3 s2", 8, 64, 56, 128, 3, 2, 1),
                 ("ResNet 1x1", 8, 64, 56, 256, 1, 1, 0), ("ResNet 1x1 s2", 8, 256, 56, 128, 1, 2, 0),
                 ("CIFAR 3x3", 64, 32, 32, 32, 3, 1, 1)]
        # The other CifarCNN layers with >= 16 input channels, at its benchmark batch.
        conv += [("CIFAR 3x3 32->64", 64, 32, 16, 64, 3, 1, 1), ("CIFAR 3x3 64->64", 64, 64, 16, 64, 3, 1, 1),
                 ("CIFAR 3x3 64->128", 64, 64, 8, 128, 3, 1, 1)]
        # A CIFAR ResNet's first stage (64 channels at 32x32: a 296 KiB padded image).
        conv += [("CIFAR ResNet 3x3 64->64", 32, 64, 32, 64, 3, 1, 1)]
        # A CIFAR ResNet-20's downsampling layers (16 -> 32 at 32x32, 32 -> 64 at 16x16, stride 2).
        conv += [("CIFAR ResNet 3x3 s2 16->32", 128, 16, 32, 32, 3, 2, 1),
                 ("CIFAR ResNet 3x3 s2 32->64", 128, 32, 16, 64, 3, 2, 1)]
        # ResNet-18's last stage: many channels on small planes (7x7 out).
        conv += [("ResNet 3x3 7x7", 8, 512, 7, 512, 3, 1, 1), ("ResNet 3x3 s2 14x14", 8, 256, 14, 512, 3, 2, 1),
                 ("ResNet 1x1 7x7", 8, 512, 7, 512, 1, 1, 0)]
        # MobileNetV2's depthwise 3x3 layers (groups = channels): large planes, a stride, small planes.
        conv += [("MobileNet dw 3x3", 8, 144, 56, 144, 3, 1, 1, 144),
                 ("MobileNet dw 3x3 s2", 8, 144, 56, 144, 3, 2, 1, 144),
                 ("MobileNet dw 3x3 14x14", 8, 384, 14, 384, 3, 1, 1, 384),
                 ("MobileNet dw 3x3 7x7", 8, 960, 7, 960, 3, 1, 1, 960)]
    pool = [("LeNet pool1", 64, 6, 28)] + ([] if quick else [("LeNet pool2", 64, 16, 10)])
    ce = [(64, 10)] + ([] if quick else [(256, 1000)])
    train = [1, 64] if quick else [1, 32, 64, 128, 256]
    infer = [64] if quick else [32, 64, 128, 256, 1024]
    return (gemm_cases(gemm) + conv_cases(conv) + pool_cases(pool) + cross_entropy_cases(ce)
            + optimizer_cases() + lenet_cases(train, infer)
            + cifar_cnn_cases([64] if quick else [64, 128]))
