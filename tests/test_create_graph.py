"""Higher-order gradients: backward and autograd.grad with create_graph=True record the gradients
on the tape (minigrad.functional.derivatives), so they can be differentiated again. Each op's
second derivatives are checked against float64 finite differences (autograd.gradgradcheck) and,
with the course programs that need them (a Hessian-vector product, a physics-informed loss, a
WGAN-GP gradient penalty, a MAML step), against PyTorch's (live, or recorded in
tests/fixtures/torch_reference/test_create_graph.npz)."""

import numpy as np
import pytest
from parity import check_program, error_of
from torch_reference import TorchReference

import minigrad
from minigrad import autograd

torch_reference = TorchReference(__name__)


def _leaf(lib, values, dtype=None, device="cpu"):
    return lib.tensor(np.asarray(values), dtype=dtype or lib.float64, device=device, requires_grad=True)


def _away_from_zero(rng, *shape):
    """Values with |x| in [0.3, 1.5] (no kink of relu, abs, max pool ties within a finite difference)."""
    return rng.uniform(0.3, 1.5, shape) * rng.choice([-1.0, 1.0], shape)


def _assigned(lib, a, b):
    """An in-place slice assignment into a non-leaf (CopySlices) and index_put / index_add."""
    out = a * a
    out[1:, 0] = b[:2] * b[1:]
    put = (a * 2).index_put((lib.tensor([0, 2]),), b[:1] * 3)
    added = (a * 3).index_add(0, lib.tensor([2, 0, 2]), b.reshape(3, 1).expand(3, 4) * b[0])
    return out * a + put**2 + added * a


# (name, inputs' shapes or ("positive", shape), function of (lib, *tensors))
_CASES = {
    "add_broadcast": ([(3, 4), (4,)], lambda lib, a, b: (a + b) ** 2),
    "sub_broadcast": ([(3, 1), (1, 4)], lambda lib, a, b: (a - b) ** 3),
    "mul_broadcast": ([(3, 4), (3, 1)], lambda lib, a, b: a * b * a),
    "div": ([(3, 4), ("positive", (4,))], lambda lib, a, b: a / b),
    "pow_tensor": ([("positive", (3, 4)), (3, 4)], lambda lib, a, b: a**b),
    "pow_scalars": ([("positive", (5,))], lambda lib, a: a**3 + a**0.5 + a**-1 + a**2.5),
    "exp_log_sqrt": ([("positive", (5,))], lambda lib, a: a.exp() + a.log() * a + a.sqrt()),
    "abs_clamp": ([(6,)], lambda lib, a: a.abs() * a + a.clamp(-0.5, 0.5) * a),
    "math": ([(6,)], lambda lib, a: a.sin() * a.cos() + a.tan() + lib.erf(a) + lib.log1p(a * a) + lib.asinh(a)
             + lib.atan(a) * a.sinh()),
    "where_maximum": ([(6,), (6,)], lambda lib, a, b: lib.where(a > 0, a * b, b * b) + lib.maximum(a, b) * a),
    "softplus": ([(6,)], lambda lib, a: lib.nn.functional.softplus(a * 3, beta=2, threshold=2) * a),
    "sum_mean": ([(3, 4, 2)], lambda lib, a: a.sum(1) * a.mean((0, 2), keepdim=True).sum() + a.sum() ** 2),
    "norm": ([(3, 4)], lambda lib, a: a.norm(dim=1) * a.norm()),
    "shapes": ([(2, 3, 4)], lambda lib, a: (a.permute(2, 0, 1).reshape(4, 6) ** 2).expand(2, 4, 6)),
    "index": ([(4, 5)], lambda lib, a: a[1:4, ::2] ** 2 * a[[0, 0, 3]][:, [1, 2, 4]] * a[0, 1]),
    "cat_pad": ([(2, 3), (2, 2)], lambda lib, a, b: lib.nn.functional.pad(lib.cat([a, b * b], 1), (1, 2)) ** 2),
    "diagonal_trace": ([(3, 4, 5)], lambda lib, a: (a.diagonal(1, 1, 2) ** 2).sum(1)
                       + (a[0] @ a[1].T).trace() * a[:, 0, 0]),
    "matmul": ([(2, 3, 4), (4, 5)], lambda lib, a, b: (a @ b) ** 2),
    "matmul_vector": ([(4,), (4, 3)], lambda lib, a, b: (a @ b) ** 2),
    "linear_3d": ([(2, 3, 4), (5, 4), (5,)], lambda lib, x, w, b: lib.nn.functional.linear(x, w, b).tanh()),
    "activations": ([(8,)], lambda lib, a: a.sigmoid() * a.tanh() + lib.relu(a) * a
                    + lib.nn.functional.leaky_relu(a, 0.2) ** 2 + lib.nn.functional.gelu(a) * a
                    + lib.nn.functional.gelu(a, approximate="tanh") + lib.nn.functional.logsigmoid(a) * a
                    + lib.nn.functional.hardtanh(a * 2) * a),
    "softmax": ([(3, 4)], lambda lib, a: lib.softmax(a * a, 1) * a + lib.log_softmax(a, 0) ** 2),
    "cross_entropy": ([(4, 5)], lambda lib, a: lib.nn.functional.cross_entropy(a * a, lib.tensor([1, 0, 4, 2]))),
    "cross_entropy_options": ([(4, 5)], lambda lib, a: lib.nn.functional.cross_entropy(
        a * a, lib.tensor([1, -100, 4, 2]), reduction="sum", label_smoothing=0.2)
        + (lib.nn.functional.cross_entropy(a.tanh(), lib.tensor([1, 0, 4, 2]), reduction="none") ** 2).sum()),
    "nll_weighted": ([(4, 5)], lambda lib, a: lib.nn.functional.cross_entropy(
        a * a, lib.tensor([1, 3, 4, 2]), weight=lib.tensor([0.5, 1.0, 2.0, 1.5, 0.7], dtype=lib.float64))),
    "conv2d": ([(2, 4, 6, 5), (6, 2, 3, 3), (6,)], lambda lib, x, w, b: lib.nn.functional.conv2d(
        x, w, b, stride=(2, 1), padding=1, groups=2).tanh()),
    "conv2d_dilated": ([(1, 2, 7, 7), (3, 2, 2, 2)], lambda lib, x, w: lib.nn.functional.conv2d(
        x, w, dilation=2) ** 2),
    "conv_transpose2d": ([(2, 3, 4, 4), (3, 2, 3, 3), (2,)], lambda lib, x, w, b: lib.nn.functional.conv_transpose2d(
        x, w, b, stride=2, padding=1, output_padding=1).tanh()),
    "batch_norm": ([(4, 3, 2, 2), ("positive", (3,)), (3,)], lambda lib, x, w, b: lib.nn.functional.batch_norm(
        x * x, None, None, w, b, training=True, eps=0.1) ** 2),
    "batch_norm_eval": ([(4, 3, 2, 2), ("positive", (3,)), (3,)], lambda lib, x, w, b: lib.nn.functional.batch_norm(
        x * x, lib.tensor([0.1, -0.2, 0.3], dtype=lib.float64), lib.tensor([0.5, 1.5, 2.0], dtype=lib.float64), w, b)
        ** 2),
    "layer_norm": ([(2, 3, 4), ("positive", (3, 4)), (3, 4)], lambda lib, x, w, b: lib.nn.functional.layer_norm(
        x * x, (3, 4), w, b) ** 2 + lib.nn.functional.layer_norm(x.tanh(), (4,)) ** 3),
    "embedding": ([(5, 3)], lambda lib, w: lib.nn.functional.embedding(lib.tensor([[0, 2], [4, 2]]), w) ** 3),
    "max_min_cumsum": ([(3, 4)], lambda lib, a: a.max() * a.min(1).values.sum() + a.max(0, keepdim=True).values ** 2
                       + a.amax(1, keepdim=True) * a.amin((0, 1)) + a.cumsum(1) ** 2),
    "assignments": ([(3, 4), (3,)], _assigned),
    "binary_cross_entropy": ([("positive", (5,)), (5,)], lambda lib, p, x: lib.nn.functional.binary_cross_entropy(
        p / 2.5, lib.tensor([0.0, 1.0, 1.0, 0.3, 0.0], dtype=lib.float64)) * p.sum()
        + lib.nn.functional.binary_cross_entropy_with_logits(x * x, lib.tensor([0.0, 1.0, 1.0, 0.3, 0.0],
        dtype=lib.float64), pos_weight=lib.tensor([2.0], dtype=lib.float64), reduction="sum") ** 2),
    "hardswish": ([(8,)], lambda lib, a: lib.nn.functional.hardswish(a * 4) ** 2),
    "hardsigmoid": ([(8,)], lambda lib, a: lib.nn.functional.hardsigmoid(a * 4) * a),
    "pools": ([(2, 3, 6, 6)], lambda lib, x: lib.nn.functional.max_pool2d(x * x, 2) ** 2
              + lib.nn.functional.avg_pool2d(x, 3, stride=2, padding=1) ** 3),
}


def _inputs(lib, case, seed=0, dtype=None, device="cpu"):
    rng = np.random.default_rng(seed)
    tensors = []
    for spec in _CASES[case][0]:
        positive = isinstance(spec[0], str)
        shape = spec[1] if positive else spec
        values = rng.uniform(0.5, 2.0, shape) if positive else _away_from_zero(rng, *shape)
        tensors.append(_leaf(lib, values, dtype, device))
    return tensors


@pytest.mark.parametrize("case", sorted(_CASES))
def test_second_derivatives_match_finite_differences(case):
    fn = _CASES[case][1]
    xs = _inputs(minigrad, case)
    # the recorded first derivatives are the ops' own (array) gradients
    on_tape = autograd.grad(fn(minigrad, *xs).sum(), xs, create_graph=True)
    plain = autograd.grad(fn(minigrad, *xs).sum(), xs)
    for g, want in zip(on_tape, plain, strict=True):
        np.testing.assert_allclose(g.detach().numpy(), want.numpy(), rtol=1e-10, atol=1e-12)
    assert autograd.gradgradcheck(lambda *args: fn(minigrad, *args), xs, atol=1e-5, rtol=1e-4)


def _second_order_program(case, device="cpu"):
    """g1 = d<f, w>/dx (with create_graph), then d<g1, v>/dx, for each input x."""

    def program(lib):
        xs = _inputs(lib, case, seed=1, device=device)
        out = _CASES[case][1](lib, *xs)
        rng = np.random.default_rng(2)
        weight = lib.tensor(rng.uniform(0.5, 1.5, tuple(out.shape)), dtype=out.dtype, device=device)
        firsts = lib.autograd.grad((out * weight).sum(), xs, create_graph=True)
        total = sum((g * lib.tensor(rng.uniform(-1, 1, tuple(g.shape)), dtype=g.dtype, device=device)).sum()
                    for g in firsts)
        seconds = lib.autograd.grad(total, xs, allow_unused=True)
        made = {f"first{i}": g for i, g in enumerate(firsts)}
        made.update({f"second{i}": g for i, g in enumerate(seconds) if g is not None})
        return made

    return program


_NO_TORCH_DOUBLE_BACKWARD = {"hardsigmoid"}  # "derivative for aten::hardsigmoid_backward is not implemented"


@pytest.mark.parametrize("case", sorted(_CASES.keys() - _NO_TORCH_DOUBLE_BACKWARD))
def test_second_derivatives_as_torch(case):
    check_program(torch_reference, f"second_{case}", _second_order_program(case), rtol=1e-7)


_CUDA_CASES = sorted(_CASES.keys() - {"cross_entropy", "cross_entropy_options", "nll_weighted", "batch_norm_eval",
                                     "assignments", "embedding", "binary_cross_entropy"})  # these make CPU tensors


@pytest.mark.skipif(not minigrad.cuda.is_available(), reason="no usable CUDA device (or emulator)")
@pytest.mark.parametrize("case", _CUDA_CASES)
def test_second_derivatives_on_cuda_as_on_cpu(case):
    on_cpu, on_cuda = _second_order_program(case)(minigrad), _second_order_program(case, "cuda")(minigrad)
    assert on_cpu.keys() == on_cuda.keys()
    for name, want in on_cpu.items():
        got = on_cuda[name]
        assert got.device == "cuda"
        np.testing.assert_allclose(got.detach().cpu().numpy(), want.detach().numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=name)


# ------------------------------------------------------------------ course programs
def _mlp(lib, sizes, seed, activation):
    rng = np.random.default_rng(seed)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:], strict=False)):
        layers.append(lib.nn.Linear(n_in, n_out).double())
        if i < len(sizes) - 2:
            layers.append(activation())
    model = lib.nn.Sequential(*layers)
    with lib.no_grad():
        for p in model.parameters():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape)) * 0.5))
    return model


def _pinn_program(lib):
    """A physics-informed loss: u(x, t) by a tanh MLP, u_t + u u_x - nu u_xx at collocation
    points through autograd.grad with create_graph, then the parameters' gradients."""
    model = _mlp(lib, [2, 16, 16, 1], 3, lib.nn.Tanh)
    rng = np.random.default_rng(4)
    xt = lib.tensor(rng.uniform(-1, 1, (32, 2)), requires_grad=True)
    u = model(xt)
    du = lib.autograd.grad(u, xt, grad_outputs=lib.ones_like(u), create_graph=True)[0]
    u_x, u_t = du[:, 0:1], du[:, 1:2]
    u_xx = lib.autograd.grad(u_x, xt, grad_outputs=lib.ones_like(u_x), create_graph=True)[0][:, 0:1]
    residual = u_t + u * u_x - 0.01 / np.pi * u_xx
    loss = (residual**2).mean()
    loss.backward()
    made = {"loss": loss, "u_xx": u_xx}
    made.update({f"grad_{name}": p.grad for name, p in model.named_parameters()})
    return made


def _gradient_penalty_program(lib):
    """WGAN-GP: a conv critic's gradient at interpolated images, (|grad| - 1)^2, and the
    critic's parameter gradients through it."""
    nn = lib.nn
    critic = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(4, 8, 3, stride=2),
                           nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(8, 1)).double()
    rng = np.random.default_rng(5)
    with lib.no_grad():
        for p in critic.parameters():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape)) * 0.3))
    real, fake = (lib.tensor(rng.standard_normal((4, 1, 8, 8))) for _ in range(2))
    alpha = lib.tensor(rng.uniform(0, 1, (4, 1, 1, 1)))
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    score = critic(mixed)
    grad = lib.autograd.grad(score, mixed, grad_outputs=lib.ones_like(score), create_graph=True)[0]
    penalty = ((grad.reshape(4, -1).norm(2, dim=1) - 1) ** 2).mean()
    (score.mean() + 10 * penalty).backward()
    made = {"penalty": penalty}
    made.update({f"grad_{name}": p.grad for name, p in critic.named_parameters()})
    return made


def _maml_program(lib):
    """One MAML step: an inner SGD step on a support batch with create_graph, the query loss
    at the adapted weights, and its gradient with respect to the initial weights."""
    F = lib.nn.functional
    rng = np.random.default_rng(6)
    shapes = [(8, 4), (8,), (3, 8), (3,)]
    params = [lib.tensor(rng.standard_normal(shape) * 0.5, requires_grad=True) for shape in shapes]

    def net(x, p):
        return F.linear(F.relu(F.linear(x, p[0], p[1])), p[2], p[3])

    x_support, x_query = lib.tensor(rng.standard_normal((6, 4))), lib.tensor(rng.standard_normal((6, 4)))
    y_support, y_query = lib.tensor(rng.integers(0, 3, 6)), lib.tensor(rng.integers(0, 3, 6))
    inner = F.cross_entropy(net(x_support, params), y_support)
    grads = lib.autograd.grad(inner, params, create_graph=True)
    adapted = [p - 0.4 * g for p, g in zip(params, grads, strict=True)]
    outer = F.cross_entropy(net(x_query, adapted), y_query)
    outer.backward()
    return {"outer": outer, **{f"grad{i}": p.grad for i, p in enumerate(params)}}


def _hessian_vector_program(lib):
    """H v of a softmax regression loss by double backward, and the third derivative of x^3."""
    rng = np.random.default_rng(7)
    w = lib.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    x, y = lib.tensor(rng.standard_normal((10, 5))), lib.tensor(rng.integers(0, 3, 10))
    loss = lib.nn.functional.cross_entropy(x @ w, y)
    (g,) = lib.autograd.grad(loss, w, create_graph=True)
    v = lib.tensor(rng.standard_normal((5, 3)))
    (hv,) = lib.autograd.grad((g * v).sum(), w)
    t = lib.tensor([0.5, -2.0], dtype=lib.float64, requires_grad=True)
    (d1,) = lib.autograd.grad((t**3).sum(), t, create_graph=True)
    (d2,) = lib.autograd.grad(d1.sum(), t, create_graph=True)
    (d3,) = lib.autograd.grad(d2.sum(), t)
    return {"g": g, "hv": hv, "d1": d1, "d2": d2, "d3": d3}


@pytest.mark.parametrize("name, program", [("pinn", _pinn_program), ("gradient_penalty", _gradient_penalty_program),
                                           ("maml", _maml_program), ("hessian_vector", _hessian_vector_program)])
def test_course_programs_with_create_graph_as_torch(name, program):
    check_program(torch_reference, name, program, rtol=1e-7)


# ------------------------------------------------------------------ the engine's behaviour
def test_backward_with_create_graph_leaves_a_differentiable_grad():
    x = _leaf(minigrad, [1.0, 2.0])
    (x**3).sum().backward(create_graph=True)
    assert x.grad.grad_fn is not None and x.grad.requires_grad
    np.testing.assert_allclose(x.grad.detach().numpy(), [3.0, 12.0])
    grad_of_grad = autograd.grad(x.grad.sum(), x)[0]  # d/dx 3x^2 = 6x
    np.testing.assert_allclose(grad_of_grad.numpy(), [6.0, 12.0])
    # the graph is kept (retain_graph follows create_graph, as PyTorch): a second pass accumulates
    (x**2).sum().backward(create_graph=True)
    np.testing.assert_allclose(x.grad.detach().numpy(), [5.0, 16.0])
    assert x.grad.grad_fn is not None


def test_create_graph_hooks_and_grad_outputs_that_require_grad():
    x = _leaf(minigrad, [1.0, -2.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.requires_grad) or g * 2)
    weight = _leaf(minigrad, [3.0, 5.0])
    (g,) = autograd.grad(x**2, x, grad_outputs=weight, create_graph=True)  # 2 * (w * 2x)
    np.testing.assert_allclose(g.detach().numpy(), [12.0, -40.0])
    assert seen == [True]
    dw, dx = autograd.grad(g.sum(), [weight, x])
    np.testing.assert_allclose(dw.numpy(), [4.0, -8.0])
    np.testing.assert_allclose(dx.numpy(), [24.0, 40.0])  # 4w, doubled again by x's hook, as PyTorch


def test_op_without_a_graph_formula_gives_first_order_then_refuses_the_second():
    class CubeOp(autograd.Function):  # an op on arrays with no create_graph formula (every built-in one has one)
        def forward(self, a):
            self.saved = (a,)
            return self.be.mul(self.be.mul(a, a), a)

        def backward(self, g):
            (a,) = self.saved
            return (self.be.mul(g, self.be.mul(self.be.mul(a, a), 3.0)),)

    x = _leaf(minigrad, [[0.5, 2.0, -1.0]])
    (g,) = autograd.grad(CubeOp.apply(x * x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), 6 * x.detach().numpy() ** 5, rtol=1e-12)
    assert g.requires_grad
    message = error_of(lambda: g.sum().backward())
    assert message == ("RuntimeError: the derivative of CubeBackward0's gradient is not implemented in minigrad: "
                       "create_graph=True gave its first-order gradient, which cannot be differentiated again")


def test_gradgradcheck_catches_a_wrong_second_derivative():
    class Cube(minigrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x * x.detach()  # one factor detached: half the second derivative is lost

    x = _leaf(minigrad, [0.7, -1.3])
    assert autograd.gradcheck(Cube.apply, [x])
    assert not autograd.gradgradcheck(Cube.apply, [x], raise_exception=False)
    assert autograd.gradgradcheck(lambda t: t**3, [x])


def test_once_differentiable_backward_refuses_a_second_derivative():
    from minigrad.autograd.function import once_differentiable

    class Square(minigrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            assert not minigrad.is_grad_enabled()
            return g * 2 * x

    x = _leaf(minigrad, [1.5, -1.0])
    weight = _leaf(minigrad, [1.0, 2.0])
    (g,) = autograd.grad(Square.apply(x), x, grad_outputs=weight, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), [3.0, -4.0])
    message = error_of(lambda: g.sum().backward())
    assert message == ("RuntimeError: trying to differentiate twice a function that was marked with "
                       "@once_differentiable")
    # given gradients that need none, the result needs none either (PyTorch's rule)
    (g,) = autograd.grad(Square.apply(x).sum(), x, create_graph=True)
    assert not g.requires_grad
