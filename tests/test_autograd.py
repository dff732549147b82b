"""The tape: order, accumulation, retain_graph, freed graphs, grad mode, anomaly mode,
device mixing, and the gradient checkers themselves."""

import numpy as np
import pytest
from torch_reference import TorchReference

import minigrad
from minigrad import autograd, backend
from minigrad.autograd import Function, GradcheckError, gradcheck, gradcheck_directional
from minigrad.backend import get_backend, register_backend
from minigrad.backend.cpu import CPUBackend

torch_reference = TorchReference(__name__)


def f64(values, requires_grad=True):
    return minigrad.tensor(values, dtype=minigrad.float64, requires_grad=requires_grad)


def test_chain_rule_matches_hand_derivative():
    x = f64([1.5, -0.5])
    y = (x * x * 3 + x).exp().sum()
    y.backward()
    xn = np.array([1.5, -0.5])
    np.testing.assert_allclose(x.grad.numpy(), np.exp(3 * xn**2 + xn) * (6 * xn + 1))


def test_leaf_used_twice_accumulates_and_grads_accumulate_across_backward():
    x = f64([2.0])
    (x * x + x).sum().backward()  # d/dx = 2x + 1
    assert x.grad.item() == 5.0
    (x * 3).sum().backward()
    assert x.grad.item() == 8.0  # accumulated, as PyTorch
    x.grad = None
    (x * 3).sum().backward()
    assert x.grad.item() == 3.0


def test_diamond_graph_replays_in_sequence_order():
    order = []

    class Tap(Function):
        __slots__ = ("label",)

        def forward(self, a, label):
            self.label = label
            return a

        def backward(self, g):
            order.append(self.label)
            return (g,)

    x = f64([1.0])
    a = Tap.apply(x, label="a")
    b = Tap.apply(a * 2, label="b")
    c = Tap.apply(a * 3, label="c")
    d = Tap.apply(b + c, label="d")
    d.sum().backward()
    assert order == ["d", "c", "b", "a"]  # every consumer before what it consumes
    assert x.grad.item() == 5.0


def test_non_leaf_grad_only_with_retain_grad():
    x = f64([1.0, 2.0])
    h = x * 2
    k = h * 3
    k.retain_grad()
    (k * h).sum().backward()
    assert h.grad is None and not h.is_leaf
    np.testing.assert_allclose(k.grad.numpy(), h.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), 2 * 2 * 6 * x.detach().numpy())


def test_freed_graph_raises_and_retain_graph_allows_second_backward():
    x = f64([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_in_place_change_of_saved_values_is_an_error_not_a_wrong_gradient():
    from minigrad import nn, optim

    layer = nn.Linear(3, 2)
    x = minigrad.randn(4, 3, requires_grad=True)
    opt = optim.SGD(layer.parameters(), lr=0.1)
    loss = layer(x).pow(2).sum()
    loss.backward(retain_graph=True)
    opt.step()  # changes the weight that the tape saved to compute x's gradient
    with pytest.raises(RuntimeError, match=r"modified by an in-place operation: a float32 tensor of shape \(4, 3\)|"
                       r"modified by an in-place operation: a float32 tensor of shape \(2, 3\)"):
        loss.backward()

    x = minigrad.randn(4, 3)  # not requiring grad: the weight is not saved (x's gradient is not wanted)
    loss = layer(x).pow(2).sum()
    loss.backward(retain_graph=True)
    opt.step()
    loss.backward()  # as PyTorch: nothing this backward reads was changed

    loss = layer(x).sum()
    with minigrad.no_grad():
        x.mul_(2)  # the input the weight gradient needs
    with pytest.raises(RuntimeError, match=r"shape \(4, 3\) saved by .* is at version 1, expected version 0"):
        loss.backward()

    b = minigrad.zeros(3, requires_grad=True)
    loss = (x + b).sum()  # add saves neither input: changing b does not make its gradient wrong
    with minigrad.no_grad():
        b.add_(1)
    loss.backward()
    np.testing.assert_array_equal(b.grad.numpy(), [4, 4, 4])


def test_non_scalar_backward_needs_gradient():
    x = f64([1.0, 2.0])
    y = x * 2
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        y.backward()
    y.backward(minigrad.tensor([1.0, 10.0], dtype=minigrad.float64))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 20.0])
    with pytest.raises(RuntimeError, match="shape"):
        (x * 2).backward(np.ones(3))
    with pytest.raises(RuntimeError, match="does not require grad"):
        minigrad.ones(2).sum().backward()


def test_backward_on_leaf_itself():
    x = f64(3.0)
    x.backward()
    assert x.grad.item() == 1.0


def test_no_grad_context_and_decorator_and_enable_grad():
    x = f64([1.0])
    with minigrad.no_grad():
        y = x * 2
        assert not minigrad.is_grad_enabled()
        with minigrad.enable_grad():
            z = x * 2
    assert minigrad.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and z.requires_grad

    @minigrad.no_grad()
    def double(t):
        return t * 2

    assert not double(x).requires_grad and minigrad.is_grad_enabled()
    minigrad.set_grad_enabled(False)
    try:
        assert not (x * 2).requires_grad
    finally:
        minigrad.set_grad_enabled(True)


def test_detach_cuts_the_tape():
    x = f64([3.0])
    y = x * x.detach()  # only the first factor is differentiated
    y.sum().backward()
    assert x.grad.item() == 3.0
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False


def test_grad_is_contiguous_own_memory_and_dtype_of_leaf():
    w = f64(np.arange(6.0).reshape(2, 3))
    (w.T * 1.0).sum().backward()
    assert w.grad.numpy().flags.c_contiguous and w.grad.shape == (2, 3)
    a, b = f64([1.0]), f64([2.0])
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())


def test_anomaly_mode_names_the_op():
    x = f64([0.0, 1.0])
    with np.errstate(all="ignore"), autograd.detect_anomaly():
        with pytest.raises(RuntimeError, match=r"Log.*forward.*\(2,\)"):
            x.log()
        y = x.sqrt().sum()  # sqrt(0) is fine forward; its gradient is inf
        with pytest.raises(RuntimeError, match="Sqrt.*backward"):
            y.backward()
    assert not autograd.is_anomaly_enabled()
    with np.errstate(divide="ignore"):
        assert not np.isfinite(x.log().detach().numpy()).all()  # no check outside the context


def test_mixing_devices_names_both():
    class FakeBackend(CPUBackend):
        device = "fake"

    register_backend(FakeBackend())
    try:
        a = minigrad.ones(2)
        b = minigrad.ones(2, device="fake")
        assert b.device == "fake" and get_backend("fake").device == "fake"
        with pytest.raises(RuntimeError, match="cpu and fake"):
            a + b
        c = minigrad.ones(2, requires_grad=True)
        moved = c.to("fake")
        assert moved.device == "fake"
        (moved * 2).sum().backward()
        assert c.grad.device == "cpu" and np.all(c.grad.numpy() == 2)
    finally:
        backend._backends.pop("fake")


def test_register_backend_refuses_a_kernel_op_it_cannot_run():
    class NoKernels(CPUBackend):
        device = "nokernels"
        kernels = object()

        def relu(self, x):  # a method of its own is enough
            return np.maximum(x, 0)

    with pytest.raises(TypeError, match="'nokernels': no kernel or method for relu_backward, sigmoid"):
        register_backend(NoKernels())
    assert "nokernels" not in backend._backends


def test_cpu_kernel_inputs_are_made_contiguous_but_in_place_buffers_are_not():
    be = get_backend("cpu")
    x = np.arange(12.0).reshape(3, 4).T  # a transposed view: copied for the kernel
    np.testing.assert_array_equal(be.relu(x - 5), np.maximum(x - 5, 0))
    x4 = np.ones((4, 2, 3, 3)).transpose(0, 1, 3, 2)
    running_mean = np.zeros(4)[::2]  # updated in place: must raise, not be updated in a copy
    with pytest.raises(ValueError, match="batch_norm_forward: running_mean must be C-contiguous"):
        be.batch_norm_forward(x4, None, None, running_mean, np.ones(2), True, 0.1, 1e-5)
    param, buf = np.ones(4), np.zeros(8)[::2]
    with pytest.raises(ValueError, match="sgd_step: momentum_buffer must be C-contiguous"):
        be.sgd_step(param, np.ones(4), buf, lr=0.1, momentum=0.9)
    np.testing.assert_array_equal(param, np.ones(4))


def test_gradcheck_catches_a_wrong_gradient():
    class BadSquare(Function):
        __slots__ = ()

        def forward(self, a):
            self.saved = (a,)
            return a * a

        def backward(self, g):
            return (g * self.saved[0] * 2.1,)

    x = f64([0.5, -1.5, 2.0])
    with pytest.raises(GradcheckError, match=r"input 0 \(shape \(3,\)\)"):
        gradcheck(BadSquare.apply, (x,))
    assert gradcheck(BadSquare.apply, (x,), raise_exception=False) is False
    assert gradcheck(lambda t: t * t, (x,))
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda t: t * t, (minigrad.ones(2, requires_grad=True),))
    with pytest.raises(GradcheckError, match="direction"):
        gradcheck_directional(BadSquare.apply, (x.float().detach().requires_grad_(),))


def test_gradcheck_directional_works_in_float32():
    x = minigrad.tensor([[0.3, -1.2, 2.0], [0.7, 1.1, -0.4]], requires_grad=True)
    w = minigrad.tensor([[0.5], [-1.0], [2.0]], requires_grad=True)
    assert gradcheck_directional(lambda a, b: ((a * a).sum(1, keepdim=True) * b.sum()).exp(), (x, w))
    assert x.dtype == minigrad.float32 and x.grad is not None


def test_in_place_change_of_a_saved_non_leaf_is_an_error():
    # issue 13, defect 3: the version was checked for leaves only (x.grad came out [408, 416, 424])
    x = minigrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x * 2
    z = (h * h).sum()
    with minigrad.no_grad():
        h.add_(100)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.backward()


def test_in_place_change_through_the_base_of_a_saved_view_is_an_error():
    # issue 13, defect 3: a view did not share its base's counter (x.grad came out [30, 40])
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    w = minigrad.tensor([[3.0, 4.0]])
    z = (x * w.reshape((2,))).sum()
    w.mul_(10)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.backward()


def test_in_place_change_of_a_saved_output_is_an_error():
    x = minigrad.tensor([0.5, 1.0], requires_grad=True)
    y = x.exp()  # exp saves its output
    z = y.sum()
    with minigrad.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.backward()


def test_views_share_the_version_counter_and_copies_do_not():
    w = minigrad.zeros(2, 3)
    views = [w.reshape(6), w[0], w.transpose(0, 1), w.detach(), w.unsqueeze(0)]
    copies = [w.clone(), w + 0, w.transpose(0, 1).reshape(6)]  # a reshape of a transpose copies
    w.add_(1)
    assert [v._version for v in views] == [1] * len(views)
    assert [c._version for c in copies] == [0] * len(copies)
    views[0].mul_(3)  # and the other way: a change through a view is a change of the base
    assert w._version == 2
    np.testing.assert_array_equal(w.numpy(), np.full((2, 3), 3.0))


def test_unchanged_saved_values_still_backward():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    z = (h * h).sum()
    other = h.detach().clone()
    with minigrad.no_grad():
        other.add_(1)  # a copy: not the saved memory
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), [8.0, 16.0])


def test_autograd_grad_returns_gradients_without_touching_grad():
    x = f64([1.0, 2.0])
    w = f64([3.0, -1.0])
    h = x * w
    y = (h * h).sum()
    gx, gh = autograd.grad(y, [x, h], retain_graph=True)
    np.testing.assert_allclose(gx.numpy(), 2 * (x.detach().numpy() * w.detach().numpy()) * w.detach().numpy())
    np.testing.assert_allclose(gh.numpy(), 2 * h.detach().numpy())
    assert x.grad is None and w.grad is None
    (gw,) = autograd.grad([y, h.sum()], w, grad_outputs=[None, minigrad.tensor(2.0, dtype=minigrad.float64)])
    np.testing.assert_allclose(gw.numpy(), 2 * x.detach().numpy() ** 2 * w.detach().numpy() + 2 * x.detach().numpy())
    unused = f64([1.0])
    with pytest.raises(RuntimeError, match="allow_unused"):
        autograd.grad((x * 2).sum(), [x, unused])
    assert autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)[1] is None
    def torch_grad(torch):
        tx = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
        return {"grad": torch.autograd.grad((tx.exp() * tx).sum(), tx)[0]}

    (mg,) = autograd.grad((x.exp() * x).sum(), x)
    np.testing.assert_allclose(mg.numpy(), torch_reference("grad/x*exp(x)", torch_grad)["grad"])
def test_post_accumulate_grad_hook_runs_once_with_the_whole_gradient():
    x, w, unused = f64([2.0, 3.0]), f64([1.0, -1.0]), f64([1.0])
    seen = []
    handles = [t.register_post_accumulate_grad_hook(lambda t, n=n: seen.append((n, t.grad.numpy().copy())))
               for n, t in (("x", x), ("w", w), ("unused", unused))]
    (x * w + x * x + x).sum().backward()  # x reaches three ops: its hook runs once, after all three
    assert [n for n, _ in seen] == ["w", "x"] or [n for n, _ in seen] == ["x", "w"]
    grads = dict(seen)
    np.testing.assert_array_equal(grads["x"], [1 + 4 + 1, -1 + 6 + 1])
    np.testing.assert_array_equal(grads["w"], [2.0, 3.0])
    seen.clear()
    (x * 2).sum().backward()  # accumulates: the hook sees the sum over both passes
    np.testing.assert_array_equal(dict(seen)["x"], [8.0, 8.0])
    for h in handles:
        h.remove()
        h.remove()  # twice is harmless
    seen.clear()
    (x * w).sum().backward()
    assert seen == [] and not any(id(t) in autograd._hooked_leaves for t in (x, w, unused))


def test_post_accumulate_grad_hook_on_a_root_leaf_and_bad_registrations():
    x, calls = f64([1.0]), []
    x.register_post_accumulate_grad_hook(calls.append)
    x.backward(minigrad.tensor([1.0], dtype=minigrad.float64))
    assert calls == [x]
    with pytest.raises(RuntimeError, match="non-leaf"):
        (x * 2).register_post_accumulate_grad_hook(print)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        minigrad.ones(2).register_post_accumulate_grad_hook(print)
    with pytest.raises(TypeError, match="callable"):
        f64([1.0]).register_post_accumulate_grad_hook(3)


def test_queue_callback_runs_after_every_node_and_only_inside_backward():
    x, w = f64([2.0]), f64([3.0])
    order = []

    def hook(t):
        order.append("x hook")
        autograd.queue_callback(lambda: order.append(("callback", w.grad.item())))

    x.register_post_accumulate_grad_hook(hook)
    (x * w).sum().backward()
    assert order == ["x hook", ("callback", 2.0)]
    with pytest.raises(RuntimeError, match="no backward"):
        autograd.queue_callback(print)
