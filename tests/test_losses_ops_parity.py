"""The PyTorch losses and tensor ops ported code meets next: margin ranking, cosine embedding, triplet
margin, soft margin, multi margin, multilabel soft margin, Poisson and Gaussian NLL and hinge
embedding losses (functional and modules); addcmul/addcdiv/lerp (and in place), index_add/
index_fill/index_copy/scatter_add (and in place), unflatten, tensor_split, broadcast_tensors/
broadcast_shapes, aminmax, cumprod, cummax/cummin, trace, logspace, cartesian_prod and
triu_indices/tril_indices. Each is checked against PyTorch when it is installed (values and
gradients), against numpy (or a closed form) always, with float64 finite differences for its
gradient, and with its bad inputs."""

import itertools
import math

import numpy as np
import pytest
from parity import assert_same, f64

import minigrad
import minigrad.nn.functional as F
from minigrad.autograd import gradcheck

try:
    import torch
except ImportError:  # the numpy references and gradchecks still run
    torch = None

RNG = np.random.default_rng(0)
REDUCTIONS = ("none", "mean", "sum")


def normal(*shape):
    return RNG.standard_normal(shape)


def signs(*shape):
    return np.where(RNG.random(shape) < 0.5, -1.0, 1.0)


def positive(*shape):
    return RNG.random(shape) + 0.5


def functional(lib):
    return F if lib is minigrad else torch.nn.functional


def tensors(lib, arrays, n_grad=0):
    """The arrays as lib tensors, the first n_grad of them requiring grad."""
    return [lib.tensor(np.asarray(a), requires_grad=i < n_grad) for i, a in enumerate(arrays)]


def check(fn, arrays, n_grad=0, reference=None, rtol=1e-6):
    """fn(lib, *tensors) on minigrad and, when installed, PyTorch, the first n_grad arrays requiring
    grad: the same results, and the same gradients of the (first) result weighted by fixed random
    numbers; the results also equal reference when given. Returns minigrad's result."""
    mine_inputs = tensors(minigrad, arrays, n_grad)
    mine = fn(minigrad, *mine_inputs)
    if reference is not None:
        assert_same(mine, reference, rtol)
    if torch is None:
        return mine
    theirs_inputs = tensors(torch, arrays, n_grad)
    theirs = fn(torch, *theirs_inputs)
    assert_same(mine, theirs, rtol)
    if n_grad:
        out_mine, out_theirs = (mine[0], theirs[0]) if isinstance(mine, tuple) else (mine, theirs)
        weights = np.random.default_rng(1).standard_normal(out_mine.shape)
        (out_mine * minigrad.tensor(weights, dtype=out_mine.dtype)).sum().backward()
        (out_theirs * torch.tensor(weights, dtype=out_theirs.dtype)).sum().backward()
        for m, t in zip(mine_inputs[:n_grad], theirs_inputs[:n_grad], strict=True):
            assert_same(m.grad, t.grad, rtol)
    return mine


def gradchecks(fn, arrays, n_grad):
    """gradcheck of fn(*tensors) in float64, the first n_grad arrays requiring grad."""
    inputs = [f64(a) if i < n_grad else minigrad.tensor(np.asarray(a)) for i, a in enumerate(arrays)]
    assert gradcheck(fn, inputs)


# --- losses ----------------------------------------------------------------------------------------

COUNTS = np.array([[0.0, 1.0, 2.0, 7.0], [3.0, 0.0, 1.0, 12.0], [5.0, 2.0, 0.0, 1.0]])
BINARY = (RNG.random((2, 3, 4)) < 0.5).astype(np.float64)

# (id, fn(F, *tensors, reduction), arrays, how many of the first arrays are differentiated)
LOSS_CASES = [
    ("margin_ranking", lambda F, a, b, t, r: F.margin_ranking_loss(a, b, t, 0.3, reduction=r),
     [normal(6), normal(6), signs(6)], 3),
    ("margin_ranking_broadcast", lambda F, a, b, t, r: F.margin_ranking_loss(a, b, t, -0.2, reduction=r),
     [normal(2, 3), normal(1, 3), signs(2, 1)], 2),
    ("cosine_embedding", lambda F, a, b, t, r: F.cosine_embedding_loss(a, b, t, 0.2, reduction=r),
     [normal(5, 4), normal(5, 4), np.array([1.0, -1.0, 1.0, -1.0, 0.0])], 2),
    ("cosine_embedding_1d", lambda F, a, b, t, r: F.cosine_embedding_loss(a, b, t, -0.5, reduction=r),
     [normal(4), normal(4), np.array(-1.0)], 2),
    ("cosine_embedding_broadcast", lambda F, a, b, t, r: F.cosine_embedding_loss(a, b, t, reduction=r),
     [normal(3, 4), normal(1, 4), np.array([1, -1, 1])], 2),
    ("triplet", lambda F, a, p, n, r: F.triplet_margin_loss(a, p, n, reduction=r),
     [normal(4, 3), normal(4, 3), normal(4, 3)], 3),
    ("triplet_p1_swap", lambda F, a, p, n, r: F.triplet_margin_loss(a, p, n, 0.5, 1, 1e-6, True, reduction=r),
     [normal(5, 3), normal(5, 3), normal(5, 3)], 3),
    ("triplet_p3_broadcast_3d", lambda F, a, p, n, r: F.triplet_margin_loss(a, p, n, 2.0, 3.0, reduction=r),
     [normal(2, 3, 4), normal(1, 3, 4), normal(2, 1, 4)], 3),
    ("triplet_1d_swap", lambda F, a, p, n, r: F.triplet_margin_loss(a, p, n, 3.0, swap=True, reduction=r),
     [normal(5), normal(5), normal(5)], 3),
    ("soft_margin", lambda F, x, t, r: F.soft_margin_loss(x, t, reduction=r), [normal(3, 4) * 4, signs(3, 4)], 1),
    ("soft_margin_broadcast_int_target", lambda F, x, t, r: F.soft_margin_loss(x, t, reduction=r),
     [normal(3, 4), np.array([1, -1, -1, 1])], 1),
    ("multi_margin", lambda F, x, t, r: F.multi_margin_loss(x, t, reduction=r),
     [normal(4, 5), np.array([0, 4, 2, 2])], 1),
    ("multi_margin_p2_weight", lambda F, x, t, w, r: F.multi_margin_loss(x, t, 2, 0.7, w, reduction=r),
     [normal(4, 5), np.array([1, 3, 3, 0]), positive(5)], 1),
    ("multi_margin_1d", lambda F, x, t, r: F.multi_margin_loss(x, t, margin=2.0, reduction=r),
     [normal(5), np.array(3)], 1),
    ("multilabel_soft_margin", lambda F, x, t, r: F.multilabel_soft_margin_loss(x, t, reduction=r),
     [normal(3, 4), BINARY[0]], 1),
    ("multilabel_soft_margin_weight_3d", lambda F, x, t, w, r: F.multilabel_soft_margin_loss(x, t, w, reduction=r),
     [normal(2, 3, 4), BINARY, positive(4)], 1),
    ("poisson", lambda F, x, t, r: F.poisson_nll_loss(x, t, reduction=r), [normal(3, 4), COUNTS], 1),
    ("poisson_full", lambda F, x, t, r: F.poisson_nll_loss(x, t, True, True, reduction=r),
     [normal(3, 4), COUNTS], 1),
    ("poisson_rate_full", lambda F, x, t, r: F.poisson_nll_loss(x, t, False, True, eps=1e-3, reduction=r),
     [positive(3, 4), COUNTS], 1),
    ("gaussian", lambda F, x, t, v, r: F.gaussian_nll_loss(x, t, v, reduction=r),
     [normal(4, 3), normal(4, 3), positive(4, 3)], 3),
    ("gaussian_full_var_per_row", lambda F, x, t, v, r: F.gaussian_nll_loss(x, t, v, True, reduction=r),
     [normal(4, 3), normal(4, 3), positive(4)], 3),
    ("gaussian_var_size_1_dim", lambda F, x, t, v, r: F.gaussian_nll_loss(x, t, v, reduction=r),
     [normal(2, 3, 4), normal(2, 3, 4), positive(2, 1, 4)], 3),
    ("gaussian_var_number", lambda F, x, t, r: F.gaussian_nll_loss(x, t, 0.7, reduction=r),
     [normal(4, 3), normal(4, 3)], 2),
    ("hinge_embedding", lambda F, x, t, r: F.hinge_embedding_loss(x, t, reduction=r), [normal(3, 4), signs(3, 4)], 1),
    ("hinge_embedding_other_targets", lambda F, x, t, r: F.hinge_embedding_loss(x, t, 0.5, reduction=r),
     [normal(6), np.array([1.0, -1.0, 0.0, 2.0, -1.0, 1.0])], 1),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,fn,arrays,n_grad", LOSS_CASES, ids=[case[0] for case in LOSS_CASES])
def test_loss_matches_pytorch_and_gradchecks(name, fn, arrays, n_grad, reduction):
    out = check(lambda lib, *ts: fn(functional(lib), *ts, reduction), arrays, n_grad)
    assert out.dtype == minigrad.float64 and (out.ndim == 0 or reduction == "none")
    gradchecks(lambda *ts: fn(F, *ts, reduction), arrays, n_grad)


@pytest.mark.parametrize("name,fn,arrays,n_grad", LOSS_CASES[::4], ids=[case[0] for case in LOSS_CASES[::4]])
def test_loss_rejects_unknown_reduction(name, fn, arrays, n_grad):
    with pytest.raises(ValueError, match="reduction must be"):
        fn(F, *tensors(minigrad, arrays), "batchmean")


def test_losses_closed_forms():
    a, b, t = normal(6), normal(6), signs(6)
    got = F.margin_ranking_loss(minigrad.tensor(a), minigrad.tensor(b), minigrad.tensor(t), 0.3, reduction="none")
    assert_same(got, np.maximum(0, -t * (a - b) + 0.3))
    x = normal(3, 4) * 4
    want = np.log1p(np.exp(-np.abs(x))).mean()
    assert_same(F.soft_margin_loss(minigrad.tensor(x), minigrad.tensor(np.sign(x))), want)
    assert F.soft_margin_loss(minigrad.tensor([-200.0]), minigrad.tensor([1.0])).item() == 200.0  # not inf
    # multi margin, one sample at a time
    x, y, w = normal(4, 5), np.array([1, 3, 3, 0]), positive(5)
    want = [sum(w[y[n]] * max(0.0, 0.7 - x[n, y[n]] + x[n, i]) ** 2 for i in range(5) if i != y[n]) / 5
            for n in range(4)]
    got = F.multi_margin_loss(minigrad.tensor(x), minigrad.tensor(y), 2, 0.7, minigrad.tensor(w), reduction="none")
    assert_same(got, np.array(want))
    # Gaussian and Poisson negative log-likelihoods, full
    x, t, v = normal(4, 3), normal(4, 3), positive(4, 3)
    want = 0.5 * (np.log(v) + (x - t) ** 2 / v) + 0.5 * math.log(2 * math.pi)
    assert_same(F.gaussian_nll_loss(*tensors(minigrad, [x, t, v]), full=True, reduction="none"), want)
    x = normal(3, 4)
    stirling = np.where(COUNTS > 1, COUNTS * np.log(np.maximum(COUNTS, 1)) - COUNTS
                        + 0.5 * np.log(2 * math.pi * np.maximum(COUNTS, 1)), 0)
    got = F.poisson_nll_loss(minigrad.tensor(x), minigrad.tensor(COUNTS), full=True, reduction="sum")
    assert_same(got, np.sum(np.exp(x) - COUNTS * x + stirling))
    # triplet with swap: distances of the differences plus eps over the last dim
    a, p, n = normal(5, 3), normal(5, 3), normal(5, 3)
    d = {k: np.linalg.norm(u - v + 1e-6, axis=-1) for k, (u, v) in {"ap": (a, p), "an": (a, n), "pn": (p, n)}.items()}
    want = np.maximum(d["ap"] - np.minimum(d["an"], d["pn"]) + 1.0, 0)
    assert_same(F.triplet_margin_loss(*tensors(minigrad, [a, p, n]), swap=True, reduction="none"), want)
    # hinge embedding: both terms for targets other than 1 and -1, as PyTorch
    x, t = np.array([0.3, -2.0, 0.4, 1.5]), np.array([1.0, -1.0, 0.0, -1.0])
    assert_same(F.hinge_embedding_loss(*tensors(minigrad, [x, t]), reduction="none"), np.array([0.3, 3.0, 1.0, 0.0]))


def test_hinge_gradients_at_the_kink_follow_pytorch():
    # margin ranking passes the gradient at max(0, 0) (PyTorch's clamp_min); multi margin does not (x > 0)
    arrays = [np.array([1.0, 2.0]), np.array([1.0, 1.0]), np.array([1.0, -1.0])]
    check(lambda lib, a, b, t: functional(lib).margin_ranking_loss(a, b, t, reduction="sum"), arrays, 2)
    a, b, t = tensors(minigrad, arrays, 2)
    F.margin_ranking_loss(a, b, t, reduction="sum").backward()
    np.testing.assert_array_equal(a.grad.numpy(), [-1.0, 1.0])
    arrays = [np.array([[0.0, 1.0, 0.5]]), np.array([1])]
    check(lambda lib, x, y: functional(lib).multi_margin_loss(x, y), arrays, 1)
    x, y = tensors(minigrad, arrays, 1)
    F.multi_margin_loss(x, y).backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.0, -1 / 3, 1 / 3]])


def test_gaussian_nll_clamps_var_and_passes_its_gradient_through():
    x, t, v = normal(2, 3), normal(2, 3), np.array([[0.01, 0.5, 0.001], [1.0, 0.02, 2.0]])
    check(lambda lib, x, t, v: functional(lib).gaussian_nll_loss(x, t, v, eps=0.05, reduction="sum"), [x, t, v], 3)
    var = f64(v)
    F.gaussian_nll_loss(minigrad.tensor(x), minigrad.tensor(t), var, eps=0.05, reduction="sum").backward()
    clamped = np.maximum(v, 0.05)
    np.testing.assert_allclose(var.grad.numpy(), 0.5 * (1 / clamped - (x - t) ** 2 / clamped**2))


def test_loss_empty_batches():
    for reduction, want in (("none", np.zeros((0,))), ("sum", np.array(0.0))):
        check(lambda lib, a, b, t, r=reduction: functional(lib).margin_ranking_loss(a, b, t, reduction=r),
              [np.zeros(0), np.zeros(0), np.zeros(0)], reference=want)
        check(lambda lib, a, p, n, r=reduction: functional(lib).triplet_margin_loss(a, p, n, reduction=r),
              [np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 3))], reference=want)
        check(lambda lib, x, t, r=reduction: functional(lib).multilabel_soft_margin_loss(x, t, reduction=r),
              [np.zeros((0, 3)), np.zeros((0, 3))], reference=want)


def loss_module(lib, name, kwargs):
    """lib.nn.<name>(**kwargs), arrays among kwargs as lib tensors."""
    kwargs = {k: lib.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    return getattr(lib.nn, name)(**kwargs)


MODULE_CASES = [
    ("MarginRankingLoss", {"margin": 0.2}, [normal(4), normal(4), signs(4)]),
    ("CosineEmbeddingLoss", {"margin": 0.1, "reduction": "sum"}, [normal(3, 5), normal(3, 5), signs(3)]),
    ("TripletMarginLoss", {"margin": 0.5, "p": 1.0, "swap": True}, [normal(3, 4), normal(3, 4), normal(3, 4)]),
    ("SoftMarginLoss", {"reduction": "none"}, [normal(3, 4), signs(3, 4)]),
    ("MultiMarginLoss", {"p": 2, "margin": 0.5, "weight": positive(4)}, [normal(3, 4), np.array([0, 3, 1])]),
    ("MultiLabelSoftMarginLoss", {"weight": positive(4)}, [normal(3, 4), BINARY[0]]),
    ("PoissonNLLLoss", {"log_input": False, "full": True, "eps": 1e-3}, [positive(3, 4), COUNTS]),
    ("GaussianNLLLoss", {"full": True, "eps": 1e-3}, [normal(4, 3), normal(4, 3), positive(4, 1)]),
    ("HingeEmbeddingLoss", {"margin": 2.0}, [normal(3, 4), signs(3, 4)]),
]


@pytest.mark.parametrize("name,kwargs,arrays", MODULE_CASES, ids=[case[0] for case in MODULE_CASES])
def test_loss_modules_match_pytorch(name, kwargs, arrays):
    check(lambda lib, *ts: loss_module(lib, name, kwargs)(*ts), arrays, 1)
    check(lambda lib, *ts: getattr(lib.nn, name)()(*ts), arrays, 1)  # the defaults
    module = loss_module(minigrad, name, kwargs)
    assert name in repr(module) and ("weight" in dict(module.named_buffers())) == ("weight" in kwargs)
    with pytest.raises(ValueError, match="reduction"):
        getattr(minigrad.nn, name)(reduction="elementwise_mean")


def test_loss_bad_inputs():
    z3, i3 = minigrad.zeros(3), minigrad.zeros(3, dtype=minigrad.int64)
    with pytest.raises(ValueError, match="same number of dimensions"):
        F.margin_ranking_loss(z3, z3, minigrad.ones(1, 3))
    with pytest.raises(TypeError, match="floating-point"):
        F.margin_ranking_loss(i3, z3, z3)
    with pytest.raises(ValueError, match="cannot be broadcast"):
        F.margin_ranking_loss(z3, minigrad.zeros(2), z3)
    with pytest.raises(ValueError, match="0-d or 1-D"):
        F.cosine_embedding_loss(minigrad.zeros(2, 3), minigrad.zeros(2, 3), minigrad.ones(2, 1))
    with pytest.raises(ValueError, match="a 0-d target needs 1-d inputs"):
        F.cosine_embedding_loss(minigrad.zeros(2, 3), minigrad.zeros(2, 3), minigrad.tensor(1.0))
    with pytest.raises(ValueError, match="cannot be broadcast"):
        F.cosine_embedding_loss(minigrad.zeros(2, 3), minigrad.zeros(2, 3), minigrad.ones(3))
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        F.triplet_margin_loss(z3, z3, z3, margin=0.0)
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        minigrad.nn.TripletMarginLoss(margin=-1.0)
    with pytest.raises(ValueError, match="same number of dimensions"):
        F.triplet_margin_loss(minigrad.zeros(2, 3), minigrad.zeros(2, 3), z3)
    with pytest.raises(ValueError, match="does not broadcast to input shape"):
        F.soft_margin_loss(z3, minigrad.zeros(2, 3))
    x, y = minigrad.zeros(2, 3), minigrad.tensor([0, 2])
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        F.multi_margin_loss(x, y, p=3)
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        minigrad.nn.MultiMarginLoss(p=0)
    with pytest.raises(TypeError, match="int64"):
        F.multi_margin_loss(x, y.float())
    with pytest.raises(ValueError, match="target 3 is out of range for 3 classes"):
        F.multi_margin_loss(x, minigrad.tensor([0, 3]))
    with pytest.raises(ValueError, match="one class for each of the 2 samples"):
        F.multi_margin_loss(x, minigrad.tensor([0, 1, 1]))
    with pytest.raises(ValueError, match=r"non-empty \(C,\) or \(N, C\)"):
        F.multi_margin_loss(minigrad.zeros(2, 3, 1), y)
    with pytest.raises(ValueError, match=r"non-empty \(C,\) or \(N, C\)"):
        F.multi_margin_loss(minigrad.zeros(2, 0), y)
    with pytest.raises(ValueError, match="weight shape"):
        F.multi_margin_loss(x, y, weight=minigrad.ones(2))
    with pytest.raises(ValueError, match="class dimension"):
        F.multilabel_soft_margin_loss(minigrad.tensor(1.0), minigrad.tensor(1.0))
    with pytest.raises(ValueError, match="cannot be broadcast"):
        F.poisson_nll_loss(z3, minigrad.zeros(2))
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(z3, z3, -1.0)
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(z3, z3, minigrad.tensor([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="var shape"):
        F.gaussian_nll_loss(x, x, minigrad.ones(1, 1))  # two dimensions of size 1
    with pytest.raises(ValueError, match="var shape"):
        F.gaussian_nll_loss(x, x, minigrad.ones(3))
    with pytest.raises(TypeError, match="floating-point"):
        F.gaussian_nll_loss(x, x, minigrad.ones(2, 3, dtype=minigrad.int64))
    with pytest.raises(ValueError, match="cannot be broadcast"):
        F.hinge_embedding_loss(z3, minigrad.ones(2))


# --- addcmul, addcdiv, lerp ------------------------------------------------------------------------

ADDC_SHAPES = [[(3,), (3,), (3,)], [(2, 1), (1, 3), (3,)], [(), (2, 2), ()], [(0, 2), (1, 2), (2,)]]


@pytest.mark.parametrize("shapes", ADDC_SHAPES)
@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
def test_addcmul_addcdiv(name, shapes):
    a, b, c = normal(*shapes[0]), normal(*shapes[1]), positive(*shapes[2])
    ref = a + 0.5 * (b * c if name == "addcmul" else b / c)
    check(lambda lib, x, y, z: getattr(lib, name)(x, y, z, value=0.5), [a, b, c], 3, reference=ref)
    ref = a + (b * c if name == "addcmul" else b / c)
    check(lambda lib, x, y, z: getattr(x, name)(y, z), [a, b, c], 3, reference=ref)
    if ref.size:
        gradchecks(lambda x, y, z: getattr(minigrad, name)(x, y, z, value=-2.0), [a, b, c], 3)


def test_addcmul_addcdiv_dtypes_and_errors():
    ints = [np.array([1, 2]), np.array([3, 4]), np.array([2, 2])]
    check(lambda lib, x, y, z: lib.addcmul(x, y, z, value=2), ints, reference=np.array([13, 18]))
    check(lambda lib, x, y, z: lib.addcdiv(x, y.float(), z), ints, reference=np.array([2.5, 4.0], np.float32))
    with pytest.raises(TypeError, match="integer division"):
        minigrad.addcdiv(*tensors(minigrad, ints))
    with pytest.raises(RuntimeError, match="alpha must not be a floating point"):  # PyTorch truncates the 0.5
        minigrad.addcmul(*tensors(minigrad, ints), value=0.5)
    with pytest.raises(ValueError, match="cannot be broadcast"):
        minigrad.addcmul(minigrad.zeros(2), minigrad.zeros(3), minigrad.zeros(3))


WEIGHTS = np.array([-0.7, 0.2, 0.49, 0.5, 0.9, 1.0, 1.5])


@pytest.mark.parametrize("weight", [0.3, -0.7, 0.5, 1.0, 1.5, "tensor"])
def test_lerp(weight):
    start, end = normal(2, 7), normal(7)
    w = WEIGHTS if weight == "tensor" else weight
    ref = np.where(np.abs(w) < 0.5, start + w * (end - start), end - (end - start) * (1 - w))
    arrays = [start, end] + ([WEIGHTS] if weight == "tensor" else [])
    fn = (lambda lib, s, e, w: lib.lerp(s, e, w)) if weight == "tensor" else (lambda lib, s, e: s.lerp(e, weight))
    out = check(fn, arrays, len(arrays), reference=ref)
    if weight == 1.0:
        np.testing.assert_array_equal(out.detach().numpy(), np.broadcast_to(end, (2, 7)))  # exactly end, as PyTorch
    gradchecks(lambda *ts: minigrad.lerp(ts[0], ts[1], ts[2] if weight == "tensor" else weight), arrays, len(arrays))


def test_lerp_errors():
    with pytest.raises(TypeError, match="dtype"):
        minigrad.lerp(minigrad.zeros(2), minigrad.zeros(2, dtype=minigrad.float64), 0.5)
    with pytest.raises(TypeError, match="floating-point"):
        minigrad.lerp(minigrad.tensor([1, 2]), minigrad.tensor([3, 4]), 0.5)
    with pytest.raises(TypeError, match="floating-point"):
        minigrad.lerp(minigrad.zeros(2), minigrad.zeros(2), minigrad.tensor([0, 1]))


# --- in place: values, versions, recorded gradients, saved values changed ----------------------------

# name -> (call(x, name, *others), arrays: x first, then the others; the float arrays come first)
INPLACE = {
    "addcmul_": (lambda x, n, a, b: getattr(x, n)(a, b, value=0.5), [normal(2, 3), normal(2, 3), normal(3)]),
    "addcdiv_": (lambda x, n, a, b: getattr(x, n)(a, b, value=-2), [normal(2, 3), normal(2, 3), positive(3)]),
    "lerp_": (lambda x, n, e, w: getattr(x, n)(e, w), [normal(2, 3), normal(3), RNG.random((2, 3))]),
    "index_add_": (lambda x, n, s, i: getattr(x, n)(1, i, s, alpha=2),
                   [normal(2, 3), normal(2, 4), np.array([0, 2, 2, 1])]),
    "index_copy_": (lambda x, n, s, i: getattr(x, n)(0, i, s), [normal(3, 2), normal(2, 2), np.array([2, 0])]),
    "index_fill_": (lambda x, n, v, i: getattr(x, n)(1, i, v), [normal(2, 3), np.array(1.5), np.array([0, 2])]),
    "scatter_add_": (lambda x, n, s, i: getattr(x, n)(0, i, s),
                     [normal(3, 2), normal(2, 2), np.array([[0, 2], [0, 0]])]),
}


def n_float(arrays):
    return sum(np.asarray(a).dtype.kind == "f" for a in arrays)


@pytest.mark.parametrize("name", list(INPLACE))
def test_in_place_ops_match_pytorch_and_bump_the_version(name):
    call, arrays = INPLACE[name]

    def run(lib, leaf, *others):
        x = leaf * 1  # not a leaf: its in-place change is recorded
        version = x._version
        assert call(x, name, *others) is x and x._version == version + 1
        return x

    out = check(run, arrays, n_float(arrays))
    assert_same(out, call(*tensors(minigrad, arrays[:1]), name[:-1], *tensors(minigrad, arrays[1:])))
    assert out.grad_fn is not None


@pytest.mark.parametrize("name", list(INPLACE))
def test_in_place_change_of_a_saved_value_is_an_error(name):
    call, arrays = INPLACE[name]
    for recorded in (True, False):
        leaf, *others = tensors(minigrad, arrays, n_float(arrays))
        h = leaf * 2
        z = (h * h).sum()  # saves h
        with minigrad.set_grad_enabled(recorded):
            call(h, name, *others)
        with pytest.raises(RuntimeError, match="modified by an in-place operation"):
            z.backward()
    leaf = tensors(minigrad, arrays, 1)[0]
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        call(leaf, name, *tensors(minigrad, arrays[1:]))


# --- index_add, index_copy, index_fill, scatter_add ---------------------------------------------------

# (input shape, dim, index); index_copy uses the distinct indices only (PyTorch leaves repeats undefined)
INDEX_CASES = [((3, 4), 0, [0, 2, 0]), ((3, 4), 1, [3, 1]), ((2, 3, 4), -1, [0, 0, 3]), ((2, 3, 4), -2, []),
               ((3, 4), 0, 1), ((), 0, [0]), ((0, 3), 1, [2, 0])]


def numpy_index_op(name, x, dim, index, source, alpha=1.0):
    """index_add/index_copy/index_fill (source: the fill value) on numpy arrays."""
    out = np.array(x, dtype=np.float64).reshape(x.shape or (1,))
    where = (slice(None),) * (dim % out.ndim) + (np.atleast_1d(index),)
    if name == "index_add":
        np.add.at(out, where, alpha * np.asarray(source).reshape(out[where].shape))
    else:
        out[where] = source if name == "index_fill" else np.asarray(source).reshape(out[where].shape)
    return out.reshape(x.shape)


@pytest.mark.parametrize("shape,dim,index", INDEX_CASES)
@pytest.mark.parametrize("name", ["index_add", "index_copy", "index_fill"])
def test_index_ops(name, shape, dim, index):
    if name == "index_copy" and not isinstance(index, int):
        index = list(dict.fromkeys(index))
    index = np.array(index, dtype=np.int64)
    x = normal(*shape)
    if name == "index_fill":
        value = np.array(-1.5)
        fn = lambda lib, x, v, i: lib.index_fill(x, dim, i, v)  # noqa: E731
        check(lambda lib, x, i: x.index_fill(dim, i, 2.0), [x, index], 1,
              reference=numpy_index_op(name, x, dim, index, 2.0))
    else:
        d = dim % max(len(shape), 1)
        value = normal(*(shape[:d] + (index.size,) + shape[d + 1 :])) if shape else normal()
        fn = ((lambda lib, x, s, i: lib.index_add(x, dim, i, s, alpha=-2.0)) if name == "index_add" else
              (lambda lib, x, s, i: x.index_copy(dim, i, s)))
    ref = numpy_index_op(name, x, dim, index, value, alpha=-2.0)
    check(fn, [x, value, index], 2, reference=ref)
    if x.size:
        gradchecks(lambda *ts: fn(minigrad, *ts), [x, value, index], 2)


def test_index_ops_accumulate_cast_and_refuse_bad_input():
    x = minigrad.zeros(3, dtype=minigrad.int64)
    assert_same(x.index_add(0, minigrad.tensor([1, 1, 2]), minigrad.tensor([1, 2, 3]), alpha=2), np.array([0, 6, 6]))
    assert_same(x.index_fill(0, minigrad.tensor([1]), 1.5), np.array([0, 1, 0]))  # truncated, as PyTorch
    x = normal(3, 4)  # index_fill counts negative indices from the end (PyTorch's backward then fails)
    check(lambda lib, t, i: t.index_fill(-1, i, 7.0), [x, np.array([-1, 0, -4])],
          reference=numpy_index_op("index_fill", x, -1, np.array([-1, 0, -4]), 7.0))
    gradchecks(lambda t, v, i: t.index_fill(1, i, v), [x, np.array(2.0), np.array([-1, 3, 1])], 2)
    x, idx = minigrad.zeros(3, 4), minigrad.tensor([1])
    for name, extra in (("index_add", minigrad.ones(1, 4)), ("index_copy", minigrad.ones(1, 4)), ("index_fill", 1.0)):
        op = getattr(minigrad, name)
        with pytest.raises(TypeError, match="int64"):
            op(x, 0, minigrad.tensor([1.0]), extra)
        with pytest.raises(ValueError, match="1-D or 0-d"):
            op(x, 0, minigrad.tensor([[1]]), extra)
        with pytest.raises(IndexError, match="out of range"):
            op(x, 0, minigrad.tensor([3]), extra)
        with pytest.raises(IndexError):
            op(x, 2, idx, extra)
        if name != "index_fill":  # negative indices: out of range here, counted from the end by index_fill
            with pytest.raises(IndexError, match="out of range"):
                op(x, 0, minigrad.tensor([-1]), extra)
            with pytest.raises(ValueError, match="source shape"):
                op(x, 0, minigrad.tensor([1, 2]), extra)
            with pytest.raises(ValueError, match="source shape"):
                op(x, 0, idx, minigrad.ones(1, 3))
    with pytest.raises(ValueError, match="0-d tensor"):
        minigrad.index_fill(x, 0, idx, minigrad.ones(1))


SCATTER_CASES = [((3, 4), 0, [[0, 1, 2, 0], [2, 2, 0, 1]], (2, 4)), ((3, 4), 1, [[0, 0], [3, 1]], (2, 3)),
                 ((2, 3, 4), -1, RNG.integers(0, 4, (2, 3, 2)), (2, 3, 2)), ((3, 4), 0, np.zeros((0, 4)), (1, 4))]


@pytest.mark.parametrize("shape,dim,index,src_shape", SCATTER_CASES)
def test_scatter_add(shape, dim, index, src_shape):
    x, src, index = normal(*shape), normal(*src_shape), np.array(index, dtype=np.int64)
    ref = x.copy()
    positions = list(np.indices(index.shape, sparse=True))
    positions[dim] = index
    np.add.at(ref, tuple(positions), src[tuple(slice(0, n) for n in index.shape)])
    n_grad = 2 if src.shape == index.shape else 1  # PyTorch's src gradient fails for a larger src
    check(lambda lib, x, s, i: lib.scatter_add(x, dim, i, s), [x, src, index], n_grad, reference=ref)
    check(lambda lib, x, s, i: x.scatter_add(dim, i, s), [x, src, index], reference=ref)
    gradchecks(lambda x, s, i: minigrad.scatter_add(x, dim, i, s), [x, src, index], 2)


def test_scatter_add_errors():
    x = minigrad.zeros(3, 4)
    with pytest.raises(ValueError, match="src shape"):
        x.scatter_add(0, minigrad.tensor([[0, 1]]), minigrad.ones(1, 1))
    with pytest.raises(TypeError, match="int64"):
        x.scatter_add(0, minigrad.tensor([[0.0]]), minigrad.ones(1, 1))
    with pytest.raises(IndexError, match="out of bounds"):
        x.scatter_add(0, minigrad.tensor([[3]]), minigrad.ones(1, 1))
    with pytest.raises(TypeError, match="expected a Tensor"):
        x.scatter_add(0, minigrad.tensor([[0]]), 1.0)


# --- unflatten, tensor_split, broadcast_shapes/broadcast_tensors, cartesian_prod --------------------


@pytest.mark.parametrize("shape,dim,sizes", [((2, 12), 1, (3, 4)), ((2, 12), -1, (2, -1, 3)), ((6,), 0, [-1]),
                                             ((0, 4), 1, (2, -1)), ((2, 0), 1, (0, 5)), ((2, 3), 0, (1, 2, 1))])
def test_unflatten(shape, dim, sizes):
    x = normal(*shape)
    d = dim % len(shape)
    known = math.prod(s for s in sizes if s != -1)
    full = tuple(shape[d] // known if s == -1 else s for s in sizes)
    ref = x.reshape(shape[:d] + full + shape[d + 1 :])
    check(lambda lib, t: t.unflatten(dim, sizes), [x], 1, reference=ref)
    check(lambda lib, t: lib.unflatten(t, dim, sizes), [x], reference=ref)


def test_unflatten_errors():
    x = minigrad.zeros(2, 4)
    with pytest.raises(ValueError, match="non-empty"):
        x.unflatten(1, ())
    with pytest.raises(ValueError, match="don't multiply up to the size 4 of dim 1"):
        x.unflatten(1, (3, -1))
    with pytest.raises(ValueError, match="don't multiply up"):
        x.unflatten(1, (-1, -1))
    with pytest.raises(ValueError, match="don't multiply up"):
        minigrad.zeros(2, 0).unflatten(1, (0, -1))
    with pytest.raises(IndexError):
        x.unflatten(2, (2, 2))
    with pytest.raises(IndexError, match="no dimensions"):
        minigrad.tensor(1.0).unflatten(0, (1,))


SPLIT_CASES = [((7,), 3, 0), ((7,), 1, 0), ((2,), 4, 0), ((5, 6), 4, 1), ((7,), [2, 5], 0), ((7,), [-2, 10], 0),
               ((7,), [5, 2], 0), ((7,), [], 0), ((0, 3), 2, 0), ((3, 8), (1, 3), -1)]


@pytest.mark.parametrize("shape,sections,dim", SPLIT_CASES)
def test_tensor_split(shape, sections, dim):
    x = normal(*shape)
    ref = tuple(np.array_split(x, sections, axis=dim))
    check(lambda lib, t: lib.tensor_split(t, sections, dim), [x], reference=ref)
    as_tensor = np.array(sections, dtype=np.int64)  # a 0-d tensor: sections; a 1-D one: indices
    check(lambda lib, t, s: t.tensor_split(s, dim=dim), [x, as_tensor], reference=ref)
    if x.size:
        gradchecks(lambda t: minigrad.cat([p * (i + 1) for i, p in enumerate(minigrad.tensor_split(t, sections, dim))],
                                          dim), [x], 1)


def test_tensor_split_errors():
    with pytest.raises(ValueError, match="larger than 0"):
        minigrad.tensor_split(minigrad.zeros(3), 0)
    with pytest.raises(ValueError, match="at least a 1-dimensional"):
        minigrad.tensor_split(minigrad.tensor(1.0), 2)
    with pytest.raises(TypeError, match="int64"):
        minigrad.tensor_split(minigrad.zeros(3), minigrad.tensor([1.0]))
    with pytest.raises(TypeError):
        minigrad.tensor_split(minigrad.zeros(3), [1.5])
    with pytest.raises(IndexError):
        minigrad.tensor_split(minigrad.zeros(3), 2, dim=1)


@pytest.mark.parametrize("shapes", [[(2,), (3, 1)], [2, (3, 1), (1, 1)], [()], [(0,), (1,)], [(5, 1, 4), (3, 1)], []])
def test_broadcast_shapes_and_tensors(shapes):
    want = np.broadcast_shapes(*shapes)
    got = minigrad.broadcast_shapes(*shapes)
    assert isinstance(got, minigrad.Size) and got == want
    if torch is not None:
        assert tuple(torch.broadcast_shapes(*shapes)) == want
    arrays = [normal(*((s,) if isinstance(s, int) else s)) for s in shapes]
    check(lambda lib, *ts: lib.broadcast_tensors(*ts), arrays, reference=tuple(np.broadcast_arrays(*arrays)))
    if len(arrays) > 1 and math.prod(want):
        gradchecks(lambda *ts: math.prod(minigrad.broadcast_tensors(*ts)), arrays, len(arrays))


def test_broadcast_errors():
    with pytest.raises(ValueError, match="cannot be broadcast to a single shape"):
        minigrad.broadcast_shapes((2,), (3,))
    with pytest.raises(ValueError, match="cannot be broadcast"):
        minigrad.broadcast_tensors(minigrad.zeros(2, 3), minigrad.zeros(2))
    with pytest.raises(TypeError, match="expected a Tensor"):
        minigrad.broadcast_tensors(minigrad.zeros(2), [1.0, 2.0])


@pytest.mark.parametrize("arrays", [[[1, 2], [3, 4, 5]], [[1.5, 2.5]], [[1, 2], [], [3]], [[1, 2], [3], [4, 5]]])
def test_cartesian_prod(arrays):
    arrays = [np.array(a, dtype=np.float64 if isinstance(arrays[0][0], float) else np.int64) for a in arrays]
    product = np.array(list(itertools.product(*arrays)), np.int64).reshape(-1, len(arrays))
    ref = arrays[0] if len(arrays) == 1 else product
    check(lambda lib, *ts: lib.cartesian_prod(*ts), arrays, reference=ref)


def test_cartesian_prod_gradient_and_errors():
    gradchecks(lambda a, b: minigrad.cartesian_prod(a, b) * minigrad.tensor([1.0, 3.0], dtype=minigrad.float64),
               [normal(3), normal(2)], 2)
    with pytest.raises(ValueError, match="1-D"):
        minigrad.cartesian_prod(minigrad.tensor(1), minigrad.tensor([1]))
    with pytest.raises(ValueError, match="1-D"):
        minigrad.cartesian_prod(minigrad.zeros(2, 2))
    with pytest.raises(RuntimeError, match="one dtype"):
        minigrad.cartesian_prod(minigrad.zeros(2), minigrad.tensor([1, 2]))


# --- aminmax, cumprod, cummax/cummin, trace ----------------------------------------------------------


@pytest.mark.parametrize("shape,dim,keepdim", [((3, 4), None, False), ((3, 4), None, True), ((3, 4), 1, False),
                                               ((2, 3, 4), -1, True), ((), 0, False), ((), None, False),
                                               ((2, 0), 0, False)])
def test_aminmax(shape, dim, keepdim):
    x = RNG.integers(0, 3, shape).astype(np.float64)  # ties: the gradient is shared among them, as PyTorch
    kwargs = {} if dim is None else {"dim": dim}
    ref = (np.min(x, axis=dim, keepdims=keepdim), np.max(x, axis=dim, keepdims=keepdim))
    out = check(lambda lib, t: lib.aminmax(t, keepdim=keepdim, **kwargs), [x], reference=ref)
    assert out._fields == ("min", "max")
    check(lambda lib, t: (lambda r: r.min * 2 + r.max)(t.aminmax(keepdim=keepdim, **kwargs)), [x], 1)
    check(lambda lib, t: lib.aminmax(t, **kwargs), [x.astype(np.int64)], reference=tuple(r.reshape(
        np.min(x, axis=dim).shape).astype(np.int64) for r in ref))
    if x.size:
        gradchecks(lambda t: (lambda r: r.min * 2 + r.max)(minigrad.aminmax(t, **kwargs)), [normal(*shape)], 1)


def test_aminmax_of_nothing_is_an_error():
    with pytest.raises(IndexError, match="non-zero size"):
        minigrad.aminmax(minigrad.zeros(0))
    with pytest.raises(IndexError, match="non-zero size"):
        minigrad.aminmax(minigrad.zeros(0, 2), dim=0)


def with_zeros(shape, count):
    x = normal(*shape).reshape(-1)
    x[RNG.choice(x.size, count, replace=False)] = 0.0
    return x.reshape(shape)


@pytest.mark.parametrize("x,dim", [(with_zeros((5,), 1), 0), (with_zeros((6,), 2), 0), (with_zeros((3, 4), 4), 1),
                                   (with_zeros((2, 3, 4), 3), -2), (np.zeros((4,)), 0), (normal(0, 3), 0),
                                   (normal(3, 0), 1), (np.array(2.5), 0), (np.array(2.5), -1), (normal(9), 0)])
def test_cumprod_matches_pytorch_also_with_zeros(x, dim):
    check(lambda lib, t: lib.cumprod(t, dim), [x], 1, reference=np.cumprod(x.reshape(x.shape or (1,)), axis=dim)
          .reshape(x.shape))
    if x.size:
        gradchecks(lambda t: t.cumprod(dim), [x], 1)


def test_cumprod_dtypes_and_errors():
    ints = np.array([[1, 2, 3], [0, 4, 5]])
    check(lambda lib, t: t.cumprod(1), [ints], reference=np.cumprod(ints, axis=1))
    check(lambda lib, t: lib.cumprod(t, 0), [ints > 0], reference=np.cumprod(ints > 0, axis=0).astype(np.int64))
    check(lambda lib, t: lib.cumprod(t, 0, dtype=lib.float64), [ints.astype(np.float32)],
          reference=np.cumprod(ints, axis=0).astype(np.float64))
    with pytest.raises(IndexError):
        minigrad.cumprod(minigrad.zeros(2, 3), 2)


def cum_reference(x, dim, largest):
    """cummax/cummin by a loop: ties take the later index, a NaN wins and stays."""
    moved = np.moveaxis(np.atleast_1d(x), dim, -1)
    values, indices = np.empty_like(moved), np.zeros(moved.shape, np.int64)
    for pos in np.ndindex(moved.shape[:-1]):
        row, best = moved[pos], 0
        for i, v in enumerate(row):
            better = v >= row[best] if largest else v <= row[best]
            if np.isnan(v) or (not np.isnan(row[best]) and better):
                best = i
            values[pos + (i,)], indices[pos + (i,)] = row[best], best
    return np.moveaxis(values, -1, dim).reshape(x.shape), np.moveaxis(indices, -1, dim).reshape(x.shape)


NAN = math.nan
CUM_CASES = [(np.array([1.0, 3.0, 3.0, NAN, 2.0, NAN, 5.0]), 0), (RNG.integers(0, 3, (3, 5)).astype(float), 1),
             (RNG.integers(0, 3, (3, 5)).astype(float), 0), (normal(2, 3, 4), -1), (normal(0, 3), 0),
             (normal(3, 0), 1), (np.array(1.5), 0), (RNG.integers(-3, 3, (4, 3)), 0),
             (np.array([True, False, True]), 0)]


@pytest.mark.parametrize("x,dim", CUM_CASES)
@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cummax_cummin(name, x, dim):
    n_grad = int(x.dtype.kind == "f")
    out = check(lambda lib, t: getattr(lib, name)(t, dim), [x], n_grad,
                reference=cum_reference(x, dim, name == "cummax"))
    assert out._fields == ("values", "indices")
    check(lambda lib, t: getattr(t, name)(dim), [x], n_grad)
    if n_grad and x.size:
        gradchecks(lambda t: getattr(minigrad, name)(t, dim).values, [normal(*x.shape)], 1)  # distinct values


def test_cummax_errors():
    with pytest.raises(IndexError):
        minigrad.cummax(minigrad.zeros(2, 3), 2)
    with pytest.raises(TypeError, match="expected a Tensor"):
        minigrad.cummin([1.0, 2.0], 0)


@pytest.mark.parametrize("x", [normal(3, 3), normal(2, 4), normal(4, 2), normal(0, 3), np.arange(12).reshape(3, 4)])
def test_trace(x):
    n_grad = int(x.dtype.kind == "f")
    check(lambda lib, t: lib.trace(t), [x], n_grad, reference=np.asarray(np.trace(x)))
    check(lambda lib, t: t.trace(), [x], n_grad)
    if n_grad and x.size:
        gradchecks(minigrad.trace, [x], 1)


def test_trace_errors():
    with pytest.raises(ValueError, match="expected a matrix"):
        minigrad.trace(minigrad.zeros(3))
    with pytest.raises(ValueError, match="expected a matrix"):
        minigrad.zeros(2, 2, 2).trace()


# --- logspace, triu_indices/tril_indices -----------------------------------------------------------


@pytest.mark.parametrize("start,end,steps,base,dtype", [(0, 3, 4, 10.0, None), (-1, 2, 7, 2, None), (1, 1, 1, 10, None),
                                                        (0, 1, 0, 10, None), (2, -2, 5, 3.0, "float64"),
                                                        (0, 3, 4, 10, "int64"), (0.5, 1.5, 3, 0.5, None)])
def test_logspace(start, end, steps, base, dtype):
    want = np.logspace(start, end, steps, base=base).astype(dtype or np.float32)
    got = minigrad.logspace(start, end, steps, base, dtype=dtype and getattr(minigrad, dtype))
    assert_same(got, want, rtol=1e-6)
    if torch is not None:
        assert_same(got, torch.logspace(start, end, steps, base, dtype=dtype and getattr(torch, dtype)), rtol=1e-6)


def test_logspace_options_and_errors():
    x = minigrad.logspace(0, 1, 3, requires_grad=True)
    assert x.requires_grad and x.dtype == minigrad.float32
    with pytest.raises(RuntimeError, match="greater or equal to 0"):
        minigrad.logspace(0, 1, -1)


@pytest.mark.parametrize("row,col,offset", [(3, 4, 1), (4, 3, -1), (3, 3, 0), (0, 0, 0), (3, 3, -5), (2, 5, 10),
                                            (5, 2, 0)])
@pytest.mark.parametrize("name", ["triu_indices", "tril_indices"])
def test_triangle_indices(name, row, col, offset):
    want = np.stack(getattr(np, name)(row, offset, col)).astype(np.int64).reshape(2, -1)
    got = getattr(minigrad, name)(row, col, offset)
    assert_same(got, want)
    if torch is not None:
        assert_same(got, getattr(torch, name)(row, col, offset))


def test_triangle_indices_errors():
    with pytest.raises(RuntimeError, match="row must be greater or equal to 0"):
        minigrad.triu_indices(-1, 3)
    with pytest.raises(TypeError, match="col must be an int"):
        minigrad.tril_indices(3, 2.0)


# --- every device: the composites run wherever their parts do ---------------------------------------

IDX = np.array([0, 2, 2, 1])
DEVICE_CASES = [(name, lambda *ts, fn=fn: fn(F, *ts, "mean"), arrays, n_grad)
                for name, fn, arrays, n_grad in LOSS_CASES] + [
    ("addcmul", lambda a, b, c: minigrad.addcmul(a, b, c, value=0.5), [normal(2, 3), normal(3), normal(2, 1)], 3),
    ("addcdiv", lambda a, b, c: a.addcdiv(b, c, value=-1.5), [normal(2, 3), normal(3), positive(2, 1)], 3),
    ("lerp", minigrad.lerp, [normal(2, 7), normal(7), WEIGHTS], 3),
    ("index_add", lambda x, s, i: x.index_add(1, i, s, alpha=2), [normal(2, 3), normal(2, 4), IDX], 2),
    ("index_copy", lambda x, s, i: x.index_copy(0, i, s), [normal(3, 2), normal(2, 2), np.array([2, 0])], 2),
    ("index_fill", lambda x, v, i: x.index_fill(1, i, v), [normal(2, 3), np.array(1.5), np.array([0, -1])], 2),
    ("scatter_add", lambda x, s, i: x.scatter_add(0, i, s), [normal(3, 2), normal(2, 2), np.array([[0, 2], [0, 0]])],
     2),
    ("unflatten", lambda x: x.unflatten(1, (2, -1)), [normal(2, 6)], 1),
    ("tensor_split", lambda x: minigrad.cat(x.tensor_split([1, 4], 1), 1) * 2, [normal(2, 6)], 1),
    ("broadcast_tensors", lambda a, b: math.prod(minigrad.broadcast_tensors(a, b)), [normal(2, 1), normal(3)], 2),
    ("aminmax", lambda x: (lambda r: r.min * 2 + r.max)(x.aminmax(dim=1)), [normal(3, 4)], 1),
    ("cumprod", lambda x: x.cumprod(1), [with_zeros((3, 5), 4)], 1),
    ("cummax", lambda x: x.cummax(0).values, [CUM_CASES[1][0]], 1),
    ("cummin", lambda x: x.cummin(-1).values, [CUM_CASES[0][0]], 1),
    ("trace", minigrad.trace, [normal(3, 4)], 1),
    ("cartesian_prod", lambda a, b: minigrad.cartesian_prod(a, b), [normal(3), normal(2)], 2),
] + [(name, lambda x, *others, name=name, call=call: call(x * 1, name, *others), arrays, n_float(arrays))
     for name, (call, arrays) in INPLACE.items()]


@pytest.mark.parametrize("name,fn,arrays,n_grad", DEVICE_CASES, ids=[case[0] for case in DEVICE_CASES])
def test_ops_and_losses_on_every_device(device, name, fn, arrays, n_grad):
    def run(where):
        inputs = [minigrad.tensor(np.asarray(a), device=where, requires_grad=i < n_grad) for i, a in enumerate(arrays)]
        out = fn(*inputs)
        weights = np.random.default_rng(1).standard_normal(out.shape)
        (out * minigrad.tensor(weights, dtype=out.dtype, device=where)).sum().backward()
        assert out.device == where
        return [out.detach().to("cpu"), *(t.grad.to("cpu") for t in inputs[:n_grad])]

    for got, want in zip(run(device), run("cpu"), strict=True):
        assert_same(got, want, rtol=1e-12)


def test_creation_on_every_device(device):
    for made in (minigrad.logspace(0, 2, 5, device=device), minigrad.triu_indices(3, 4, 1, device=device),
                 minigrad.tril_indices(4, 3, -1, device=device)):
        assert made.device == device
    assert_same(minigrad.logspace(-1, 1, 4, 2, device=device).to("cpu"), minigrad.logspace(-1, 1, 4, 2))


# ---- PyTorch's deprecated size_average= / reduce= keywords (old course code passes them) ----

PROBS = RNG.random((3, 4)) * 0.8 + 0.1
LEGACY_CASES = {  # functional name: (module name, arrays)
    "binary_cross_entropy": ("BCELoss", [PROBS, BINARY[0]]),
    "binary_cross_entropy_with_logits": ("BCEWithLogitsLoss", [normal(3, 4), BINARY[0]]),
    "cosine_embedding_loss": ("CosineEmbeddingLoss", [normal(3, 5), normal(3, 5), signs(3)]),
    "cross_entropy": ("CrossEntropyLoss", [normal(3, 4), np.array([0, 3, 1])]),
    "hinge_embedding_loss": ("HingeEmbeddingLoss", [normal(3, 4), signs(3, 4)]),
    "kl_div": ("KLDivLoss", [np.log(PROBS), PROBS]),
    "l1_loss": ("L1Loss", [normal(3, 4), normal(3, 4)]),
    "margin_ranking_loss": ("MarginRankingLoss", [normal(4), normal(4), signs(4)]),
    "mse_loss": ("MSELoss", [normal(3, 4), normal(3, 4)]),
    "multi_margin_loss": ("MultiMarginLoss", [normal(3, 4), np.array([0, 3, 1])]),
    "multilabel_soft_margin_loss": ("MultiLabelSoftMarginLoss", [normal(3, 4), BINARY[0]]),
    "nll_loss": ("NLLLoss", [np.log(PROBS), np.array([0, 3, 1])]),
    "poisson_nll_loss": ("PoissonNLLLoss", [normal(3, 4), COUNTS]),
    "smooth_l1_loss": ("SmoothL1Loss", [normal(3, 4), normal(3, 4)]),
    "soft_margin_loss": ("SoftMarginLoss", [normal(3, 4), signs(3, 4)]),
    "triplet_margin_loss": ("TripletMarginLoss", [normal(3, 4), normal(3, 4), normal(3, 4)]),
}
# (size_average, reduce) -> the reduction PyTorch's legacy_get_string gives
LEGACY_REDUCTIONS = {(False, None): "sum", (None, False): "none", (True, None): "mean", (False, True): "sum",
                     (True, False): "none", (None, True): "mean"}


@pytest.mark.parametrize("legacy", list(LEGACY_REDUCTIONS), ids=str)
@pytest.mark.parametrize("name", list(LEGACY_CASES))
def test_legacy_size_average_and_reduce(name, legacy):
    size_average, reduce = legacy
    module_name, arrays = LEGACY_CASES[name]
    reduction = LEGACY_REDUCTIONS[legacy]
    inputs = tensors(minigrad, arrays)
    want = getattr(F, name)(*inputs, reduction=reduction).numpy()
    message = f"please use reduction='{reduction}' instead"
    with pytest.warns(UserWarning, match=message):
        got = getattr(F, name)(*inputs, size_average=size_average, reduce=reduce).numpy()
    np.testing.assert_array_equal(got, want)
    with pytest.warns(UserWarning, match=message):
        module = getattr(minigrad.nn, module_name)(size_average=size_average, reduce=reduce)
    assert module.reduction == reduction
    np.testing.assert_array_equal(module(*inputs).numpy(), want)
    if torch is not None:
        with pytest.warns(UserWarning, match=message):
            theirs = getattr(torch.nn.functional, name)(*tensors(torch, arrays), size_average=size_average,
                                                        reduce=reduce)
        np.testing.assert_allclose(got, theirs.numpy(), rtol=1e-6, atol=1e-12)


def test_legacy_keywords_only_where_pytorch_has_them():
    assert minigrad.nn.MSELoss(None, None, "sum").reduction == "sum"  # PyTorch's positional order
    for name in ("HuberLoss", "GaussianNLLLoss"):  # newer than the deprecation: no legacy keywords
        with pytest.raises(TypeError, match="size_average"):
            getattr(minigrad.nn, name)(size_average=False)
    with pytest.raises(TypeError, match="size_average"):
        F.huber_loss(minigrad.ones(2), minigrad.ones(2), size_average=False)
