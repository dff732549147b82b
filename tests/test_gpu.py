"""Real-GPU tests (`pytest -m gpu`): every op on the GPU against the CPU backend, and
LeNet-5 trained for one epoch. They skip where no real GPU is usable (the emulated
build runs the device-parametrised suite instead; these need real hardware)."""

import numpy as np
import pytest

import minigrad
from minigrad import nn, optim
from minigrad.nn import functional as F

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(
        not minigrad.cuda.is_available() or minigrad.cuda.is_emulated(),
        reason="needs a real CUDA GPU (none usable, or the emulated build)",
    ),
]

RTOL, ATOL = 1e-4, 1e-5


def pair(shape, seed, dtype=np.float32):
    """The same random values as a CPU tensor and a CUDA tensor, both requiring grad."""
    data = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return minigrad.tensor(data, requires_grad=True), minigrad.tensor(data, requires_grad=True, device="cuda")


OPS = {
    "matmul": (lambda a, b: a @ b, [(37, 53), (53, 29)]),
    "linear": (lambda x, w, b: F.linear(x, w, b), [(16, 40), (24, 40), (24,)]),
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), [(3, 4, 13, 11), (6, 4, 3, 3), (6,)]),
    "conv2d_groups": (lambda x, w: F.conv2d(x, w, padding=2, groups=2, dilation=2), [(2, 4, 12, 12), (6, 2, 3, 3)]),
    "max_pool2d": (lambda x: F.max_pool2d(x, 3, 2, padding=1, ceil_mode=True), [(2, 3, 15, 14)]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 2, count_include_pad=False, padding=1), [(2, 3, 9, 10)]),
    "cross_entropy": (lambda x: F.cross_entropy(x, minigrad.tensor(np.arange(17) % 10, device=x.device),
                                                label_smoothing=0.1), [(17, 10)]),
    "log_softmax": (lambda x: F.log_softmax(x, 1).sum(), [(9, 33)]),
    "batch_norm": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [(4, 3, 5, 5), (3,), (3,)]),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (3, 70), w, b), [(4, 3, 70), (3, 70), (3, 70)]),
    "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b), [(3, 4, 5, 5), (4,), (4,)]),
    "activations": (lambda x: (F.relu(x) + F.sigmoid(x) * F.tanh(x) + F.leaky_relu(x, 0.1)).sum(), [(7, 65)]),
    "broadcast_arith": (lambda a, b: ((a - b) * a / (b.abs() + 1) + a.exp().log()).mean(0), [(5, 1, 7), (3, 7)]),
    "reductions": (lambda x: x.sum(1) + x.mean(1) + x.max(1)[0], [(6, 129, 3)]),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_matches_cpu(name):
    fn, shapes = OPS[name]
    pairs = [pair(s, seed) for seed, s in enumerate(shapes)]
    cpu_out, gpu_out = fn(*(p[0] for p in pairs)), fn(*(p[1] for p in pairs))
    np.testing.assert_allclose(gpu_out.numpy(), cpu_out.numpy(), rtol=RTOL, atol=ATOL)
    cpu_out.sum().backward()
    gpu_out.sum().backward()
    for i, (c, g) in enumerate(pairs):
        np.testing.assert_allclose(g.grad.numpy(), c.grad.numpy(), rtol=1e-3, atol=1e-4, err_msg=f"input {i}")


@pytest.mark.parametrize("opt_name", ["SGD", "Adam", "RMSprop", "Adagrad", "Adadelta"])
def test_optimizer_step_matches_cpu(opt_name):
    cpu_p, gpu_p = pair((33, 7), 1)
    grad = np.random.default_rng(2).standard_normal((33, 7)).astype(np.float32)
    kwargs = {"lr": 0.01, "momentum": 0.9} if opt_name == "SGD" else {"lr": 0.01}
    cpu_opt, gpu_opt = getattr(optim, opt_name)([cpu_p], **kwargs), getattr(optim, opt_name)([gpu_p], **kwargs)
    for _ in range(3):
        cpu_p.grad, gpu_p.grad = minigrad.tensor(grad), minigrad.tensor(grad, device="cuda")
        cpu_opt.step()
        gpu_opt.step()
    np.testing.assert_allclose(gpu_p.numpy(), cpu_p.numpy(), rtol=1e-5, atol=1e-6)


def test_lenet5_trains_one_epoch_on_the_gpu():
    """One epoch of MNIST (the real data when it can be found, else a synthetic stand-in)."""
    from minigrad.data import MNIST, DataLoader
    from minigrad.models import LeNet5

    try:
        train, test = MNIST(train=True, download=False), MNIST(train=False, download=False)
    except Exception:
        pytest.skip("MNIST not found without the network (set MINIGRAD_DATA)")
    minigrad.manual_seed(0)
    model = LeNet5().to("cuda")
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    for images, labels in DataLoader(train, batch_size=64, shuffle=True, seed=0):
        opt.zero_grad()
        loss = loss_fn(model(images.cuda()), labels.cuda())
        loss.backward()
        opt.step()
    model.eval()
    correct = 0
    with minigrad.no_grad():
        for images, labels in DataLoader(test, batch_size=1000):
            correct += int((model(images.cuda()).argmax(1).cpu().numpy() == labels.numpy()).sum())
    assert correct / len(test) > 0.97
