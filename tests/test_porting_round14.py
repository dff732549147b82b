"""Porting round 14: PyTorch API that course and research code calls, each program run on both
libraries (`program(lib)`, lib minigrad or torch) and compared with PyTorch's results (live, or
recorded in tests/fixtures/torch_reference/test_porting_round14.npz). Covers: torch.pdist /
F.pdist (every p, gradients at zero distances and ties, and cdist's, which shares the norm);
F.max_unpool1d and nn.MaxUnpool1d, torch.max_pool1d_with_indices and torch.adaptive_max_pool1d;
F.multilabel_margin_loss and nn.MultiLabelMarginLoss; F.triplet_margin_with_distance_loss and
nn.TripletMarginWithDistanceLoss; F.feature_alpha_dropout, nn.FeatureAlphaDropout,
torch.feature_alpha_dropout and torch.feature_dropout; torch.gradient; torch.cholesky_solve and
torch.cholesky_inverse (and the Tensor methods); torch.poisson; nn.LazyInstanceNorm1d/2d/3d.
Exception classes for bad input (whether PyTorch's class catches minigrad's), and float64
finite-difference gradients for the differentiable ops."""

import math

import numpy as np
import pytest
from gradcheck_utils import assert_grad_close, numerical_grad
from parity import check_program, mistakes_program
from torch_reference import TorchReference

import minigrad

torch_reference = TorchReference(__name__)


def check(key, program, rtol=1e-9):
    """program(minigrad)'s results against program(torch)'s (parity.check_program)."""
    check_program(torch_reference, key, program, rtol)



def _weighted_sum(lib, y, seed):
    """sum(y * w) for fixed random weights w of y's shape (a scalar to differentiate)."""
    w = np.random.default_rng(seed).standard_normal(tuple(y.shape))
    return (y * lib.tensor(w, dtype=y.dtype)).sum()


# ------------------------------------------------------------------- pdist (and cdist's norms)
_PDIST_DATA = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 0.0, 5.0], [0.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
_PS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, math.inf)


def _pdist_program(lib):
    """pdist and F.pdist for every kind of p on rows with a repeat (a zero distance), equal
    differences (ties for p = inf) and zero differences; their gradients; float32; 1 and 0 rows;
    cdist's values and gradients on the same rows."""
    out = {}
    for p in _PS:
        x = lib.tensor(_PDIST_DATA, requires_grad=True)
        y = lib.pdist(x, p)
        _weighted_sum(lib, y, 1).backward()
        out[f"pdist/{p}"], out[f"pdist/{p}/grad"] = y, x.grad
        x2 = lib.tensor(_PDIST_DATA, requires_grad=True)
        other = lib.tensor(_PDIST_DATA[[0, 2]])
        d = lib.cdist(x2, other, p)
        _weighted_sum(lib, d, 2).backward()
        out[f"cdist/{p}"], out[f"cdist/{p}/grad"] = d, x2.grad
    out["one_row"] = lib.pdist(lib.ones(1, 3))
    out["no_rows"] = lib.pdist(lib.ones(0, 3))
    out["no_columns"] = lib.pdist(lib.ones(3, 0))
    return out


def test_pdist_as_torch():
    check("pdist", _pdist_program)


def _pdist_mistakes(lib):
    return {
        "rank": (RuntimeError, lambda: lib.pdist(lib.ones(3))),
        "negative_p": (RuntimeError, lambda: lib.pdist(lib.ones(3, 2), -1.0)),
        "integers": (RuntimeError, lambda: lib.pdist(lib.ones(3, 2, dtype=lib.int64))),
    }


def test_pdist_mistakes_raise_as_torch():
    check("pdist_mistakes", mistakes_program(_pdist_mistakes))


@pytest.mark.parametrize("p", [0.5, 1.5, 2.0, 3.0, math.inf])
def test_pdist_gradients_match_finite_differences(p):
    data = np.random.default_rng(5).standard_normal((4, 3))
    weights = np.random.default_rng(6).standard_normal(6)
    x = minigrad.tensor(data, requires_grad=True)
    (minigrad.pdist(x, p) * minigrad.tensor(weights)).sum().backward()

    def loss():
        return float((minigrad.pdist(minigrad.tensor(data), p).numpy() * weights).sum())

    assert_grad_close(x.grad.numpy(), numerical_grad(loss, data), name=f"pdist p={p}")


# ------------------------------------------------------------------- max_unpool1d
_UNPOOL_CASES = {  # name: (shape, kernel, stride, padding, output_size)
    "default": ((2, 3, 8), 2, None, 0, None),
    "stride_padding": ((1, 2, 9), 3, 2, 1, None),
    "output_size": ((2, 2, 9), 2, None, 0, (9,)),
    "output_size_full": ((2, 2, 9), 2, None, 0, (2, 2, 9)),
    "unbatched": ((3, 7), 2, 1, 0, None),
    "tuples": ((1, 2, 8), (2,), (2,), (0,), [8]),
}


def _unpool_program(lib):
    """max_pool1d's indices undone by F.max_unpool1d and nn.MaxUnpool1d: values, gradients, reprs;
    torch.max_pool1d_with_indices and torch.adaptive_max_pool1d (values and indices)."""
    rng = np.random.default_rng(7)
    out = {}
    for name, (shape, kernel, stride, padding, size) in _UNPOOL_CASES.items():
        x = lib.tensor(rng.standard_normal(shape))
        values, indices = lib.nn.functional.max_pool1d(x, kernel, stride, padding, return_indices=True)
        pooled = values.detach().requires_grad_()
        y = lib.nn.functional.max_unpool1d(pooled, indices, kernel, stride, padding, size)
        _weighted_sum(lib, y, 8).backward()
        layer = lib.nn.MaxUnpool1d(kernel, stride, padding)
        out.update({f"{name}/y": y, f"{name}/grad": pooled.grad, f"{name}/layer": layer(pooled, indices, size),
                    f"{name}/repr": np.array(repr(layer))})
    x = lib.tensor(rng.standard_normal((2, 3, 9)))
    for name, result in (("max_pool1d_with_indices", lib.max_pool1d_with_indices(x, 3, 2, 1)),
                         ("max_pool1d_with_indices_default", lib.max_pool1d_with_indices(x, 2)),
                         ("adaptive_max_pool1d", lib.adaptive_max_pool1d(x, 4)),
                         ("F_adaptive_with_indices", lib.nn.functional.adaptive_max_pool1d_with_indices(x, 4))):
        out[f"{name}/tuple"] = np.array(isinstance(result, tuple) and len(result) == 2)
        out[f"{name}/values"], out[f"{name}/indices"] = result
    return out


def test_max_unpool1d_as_torch():
    check("max_unpool1d", _unpool_program)


def _unpool_mistakes(lib):
    f = lib.nn.functional
    x = lib.tensor(np.random.default_rng(9).standard_normal((2, 3, 8)))
    values, indices = f.max_pool1d(x, 2, return_indices=True)
    return {
        "float_indices": (RuntimeError, lambda: f.max_unpool1d(values, indices.float(), 2)),
        "index_out_of_range": (RuntimeError, lambda: f.max_unpool1d(values, indices + 10, 2)),
        "rank": (RuntimeError, lambda: f.max_unpool1d(values[0, 0], indices[0, 0], 2)),
        "indices_shape": (RuntimeError, lambda: f.max_unpool1d(values, indices[:, :2], 2)),
        "output_size_range": (ValueError, lambda: f.max_unpool1d(values, indices, 2, output_size=(12,))),
        "integer_input": (NotImplementedError, lambda: f.max_unpool1d(indices, indices, 2)),
    }


def test_max_unpool1d_mistakes_raise_as_torch():
    check("max_unpool1d_mistakes", mistakes_program(_unpool_mistakes))


def test_max_unpool1d_gradient_matches_finite_differences():
    x = minigrad.tensor(np.random.default_rng(10).standard_normal((2, 2, 9)))
    values, indices = minigrad.nn.functional.max_pool1d(x, 3, 3, 1, return_indices=True)  # distinct indices
    data = values.numpy().copy()
    weights = np.random.default_rng(11).standard_normal((2, 2, 9))
    pooled = minigrad.tensor(data, requires_grad=True)
    unpool = minigrad.nn.functional.max_unpool1d
    (unpool(pooled, indices, 3, 3, 1, (9,)) * minigrad.tensor(weights)).sum().backward()

    def loss():
        return float((unpool(minigrad.tensor(data), indices, 3, 3, 1, (9,)).numpy() * weights).sum())

    assert_grad_close(pooled.grad.numpy(), numerical_grad(loss, data), name="max_unpool1d")


# ------------------------------------------------------------------- multilabel_margin_loss
_ML_SCORES = np.array([[0.1, 0.2, 0.4, 0.8], [0.3, -0.2, 0.5, 0.1], [1.0, -1.0, 0.25, 0.0]])
_ML_TARGETS = np.array([[3, 0, -1, 1], [1, 1, 2, -1], [-1, 2, 3, 0]])  # a repeat; a row of no classes


def _multilabel_program(lib):
    """The loss of every reduction (F and the module), its gradients, a 1-D and a 0-d input,
    all classes targets, float32 and an empty batch."""
    f = lib.nn.functional
    out = {}
    target = lib.tensor(_ML_TARGETS)
    for reduction in ("none", "mean", "sum"):
        x = lib.tensor(_ML_SCORES, requires_grad=True)
        loss = f.multilabel_margin_loss(x, target, reduction=reduction)
        _weighted_sum(lib, loss, 12).backward()
        out[f"{reduction}/loss"], out[f"{reduction}/grad"] = loss, x.grad
        out[f"{reduction}/module"] = lib.nn.MultiLabelMarginLoss(reduction=reduction)(x, target)
    x = lib.tensor(_ML_SCORES[0], requires_grad=True)
    loss = f.multilabel_margin_loss(x, lib.tensor(_ML_TARGETS[0]), reduction="none")
    loss.backward()
    out["vector/loss"], out["vector/grad"] = loss, x.grad
    out["scalar"] = f.multilabel_margin_loss(lib.tensor(0.5), lib.tensor(0), reduction="none")
    out["all_classes"] = f.multilabel_margin_loss(lib.tensor(_ML_SCORES), lib.tensor([[0, 1, 2, 3]] * 3))
    out["empty_none"] = f.multilabel_margin_loss(lib.ones(0, 3), lib.ones(0, 3, dtype=lib.int64), reduction="none")
    out["repr"] = np.array(repr(lib.nn.MultiLabelMarginLoss()))
    return out


def test_multilabel_margin_loss_as_torch():
    check("multilabel_margin_loss", _multilabel_program)


def _multilabel_mistakes(lib):
    f = lib.nn.functional
    x, target = lib.tensor(_ML_SCORES), lib.tensor(_ML_TARGETS)
    return {
        "float_target": (RuntimeError, lambda: f.multilabel_margin_loss(x, target.float())),
        "int32_target": (RuntimeError, lambda: f.multilabel_margin_loss(x, target.int())),
        "target_shape": (RuntimeError, lambda: f.multilabel_margin_loss(x, target[:, :3])),
        "class_too_large": (RuntimeError, lambda: f.multilabel_margin_loss(x, target + 4)),
        "class_below_minus_one": (RuntimeError, lambda: f.multilabel_margin_loss(x, target - 3)),
        "reduction": (ValueError, lambda: f.multilabel_margin_loss(x, target, reduction="bad")),
        "integer_input": (NotImplementedError, lambda: f.multilabel_margin_loss(target, target)),
        "rank": (RuntimeError, lambda: f.multilabel_margin_loss(lib.zeros(2, 2, 2), lib.zeros(2, 2, 2).long())),
        "no_classes": (RuntimeError, lambda: f.multilabel_margin_loss(lib.zeros(2, 0), lib.zeros(2, 0).long())),
    }


def test_multilabel_margin_loss_mistakes_raise_as_torch():
    check("multilabel_margin_loss_mistakes", mistakes_program(_multilabel_mistakes))


def test_multilabel_margin_loss_gradient_matches_finite_differences():
    data = np.random.default_rng(13).standard_normal((4, 5))
    target = minigrad.tensor(np.array([[4, 0, -1, 2, 2], [1, -1, 0, 0, 0], [0, 1, 2, 3, -1], [3, 3, 1, -1, 4]]))
    x = minigrad.tensor(data, requires_grad=True)
    f = minigrad.nn.functional.multilabel_margin_loss
    (f(x, target, reduction="none") * minigrad.tensor([1.0, -2.0, 0.5, 3.0])).sum().backward()

    def loss():
        return float((f(minigrad.tensor(data), target, reduction="none").numpy() * [1.0, -2.0, 0.5, 3.0]).sum())

    assert_grad_close(x.grad.numpy(), numerical_grad(loss, data), name="multilabel_margin_loss")


# ------------------------------------------------------------------- triplet_margin_with_distance_loss
def _triplets(lib, requires_grad=True):
    rng = np.random.default_rng(14)
    return [lib.tensor(rng.standard_normal((5, 4)), requires_grad=requires_grad) for _ in range(3)]


def _cosine_distance(lib):
    return lambda x1, x2: 1.0 - lib.nn.functional.cosine_similarity(x1, x2)


def _triplet_program(lib):
    """The loss with the default (pairwise) distance, a cosine distance and an L1 module as
    distance_function, swap, margins and reductions; gradients of all three inputs; the modules'
    reprs."""
    f, nn = lib.nn.functional, lib.nn
    out = {}
    settings = {
        "default": {},
        "cosine_swap": {"distance_function": _cosine_distance(lib), "swap": True, "margin": 0.5},
        "pairwise_module": {"distance_function": nn.PairwiseDistance(p=1.0), "reduction": "sum"},
        "none_swap": {"reduction": "none", "swap": True, "margin": 2.0},
    }
    for name, kwargs in settings.items():
        anchor, positive, negative = _triplets(lib)
        loss = f.triplet_margin_with_distance_loss(anchor, positive, negative, **kwargs)
        _weighted_sum(lib, loss, 15).backward()
        module = nn.TripletMarginWithDistanceLoss(**kwargs)
        out.update({f"{name}/loss": loss, f"{name}/anchor": anchor.grad, f"{name}/positive": positive.grad,
                    f"{name}/negative": negative.grad, f"{name}/module": module(anchor, positive, negative)})
    out["repr_default"] = np.array(repr(nn.TripletMarginWithDistanceLoss()))
    out["repr_module"] = np.array(repr(nn.TripletMarginWithDistanceLoss(distance_function=nn.PairwiseDistance())))
    return out


def test_triplet_margin_with_distance_loss_as_torch():
    check("triplet_margin_with_distance_loss", _triplet_program)


def _triplet_mistakes(lib):
    f, nn = lib.nn.functional, lib.nn
    a, p, n = _triplets(lib, requires_grad=False)
    loss = f.triplet_margin_with_distance_loss
    return {
        "margin": (ValueError, lambda: loss(a, p, n, margin=0.0)),
        "reduction": (ValueError, lambda: loss(a, p, n, reduction="avg")),
        "ranks": (RuntimeError, lambda: loss(a, p, n[0])),
        "module_margin": (ValueError, lambda: nn.TripletMarginWithDistanceLoss(margin=-1.0)),
        "positional_distance": (TypeError, lambda: loss(a, p, n, _cosine_distance(lib))),
    }


def test_triplet_margin_with_distance_loss_mistakes_raise_as_torch():
    check("triplet_mistakes", mistakes_program(_triplet_mistakes))


def test_triplet_margin_with_distance_loss_gradient_matches_finite_differences():
    rng = np.random.default_rng(16)
    data = [rng.standard_normal((4, 3)) for _ in range(3)]
    weights = rng.standard_normal(4)
    distance = _cosine_distance(minigrad)
    f = minigrad.nn.functional.triplet_margin_with_distance_loss

    def value(*tensors):
        return f(*tensors, distance_function=distance, swap=True, margin=1.5, reduction="none")

    tensors = [minigrad.tensor(d, requires_grad=True) for d in data]
    (value(*tensors) * minigrad.tensor(weights)).sum().backward()
    for i, t in enumerate(tensors):
        def loss():
            return float((value(*(minigrad.tensor(d) for d in data)).numpy() * weights).sum())

        assert_grad_close(t.grad.numpy(), numerical_grad(loss, data[i]), name=f"triplet input {i}")


# ------------------------------------------------------------------- feature alpha dropout
_ALPHA = 1.7580993408473766


def _feature_dropout_summary(x, y, p, alpha):
    """What any draw of a feature (alpha) dropout must show: every (n, c) slice kept whole (y = a x
    + b) or dropped whole (one constant); the constants a, b and the dropped value."""
    x, y = x.reshape(x.shape[0] * x.shape[1], -1), y.reshape(y.shape[0] * y.shape[1], -1)
    if alpha:
        a = 1.0 / math.sqrt((_ALPHA**2 * p + 1) * (1 - p))
        kept_value, dropped_value = a * x + _ALPHA * a * p, np.full_like(x, -_ALPHA * a + _ALPHA * a * p)
    else:
        kept_value, dropped_value = x / (1 - p), np.zeros_like(x)
    kept = np.all(np.isclose(y, kept_value, rtol=1e-6, atol=1e-6), axis=1)
    dropped = np.all(np.isclose(y, dropped_value, rtol=1e-6, atol=1e-6), axis=1)
    return np.array([bool(np.all(kept | dropped)), bool(kept.any()), bool(dropped.any())])


def _feature_alpha_dropout_program(lib):
    """Training draws (whole channels kept or dropped, at any rank >= 2), the gradient (a per kept
    slice, 0 per dropped), eval and p = 0 (the input), p = 1 (zeros), the module and top-level
    forms, and feature_dropout."""
    f = lib.nn.functional
    out = {}
    rng = np.random.default_rng(17)
    for name, shape in (("3d", (20, 30, 4)), ("2d", (40, 50)), ("5d", (6, 40, 2, 2, 2))):
        data = rng.standard_normal(shape)
        x = lib.tensor(data, requires_grad=True)
        y = f.feature_alpha_dropout(x, 0.4, training=True)
        y.sum().backward()
        out[f"{name}/draw"] = _feature_dropout_summary(data, y.detach().numpy(), 0.4, True)
        out[f"{name}/grad_values"] = np.unique(np.round(x.grad.numpy(), 12))
        out[f"{name}/shape"] = np.array(y.shape)
    data = rng.standard_normal((12, 30, 3))
    x = lib.tensor(data)
    out["top_level"] = _feature_dropout_summary(data, lib.feature_alpha_dropout(x, 0.3, True).numpy(), 0.3, True)
    out["feature_dropout"] = _feature_dropout_summary(data, lib.feature_dropout(x, 0.3, True).numpy(), 0.3, False)
    out["eval"] = f.feature_alpha_dropout(x, 0.5, training=False)
    out["p0"] = f.feature_alpha_dropout(x, 0.0, training=True)
    out["p1"] = f.feature_alpha_dropout(x, 1.0, training=True)
    out["empty"] = f.feature_alpha_dropout(lib.ones(0, 3), 0.5, training=True)
    out["top_level_eval"] = lib.feature_alpha_dropout(x, 0.5, False)
    layer = lib.nn.FeatureAlphaDropout(0.2)
    out["repr"] = np.array(repr(layer))
    out["module_train"] = _feature_dropout_summary(data, layer(x).numpy(), 0.2, True)
    layer.eval()
    out["module_eval"] = layer(x)
    out["inplace"] = _feature_dropout_summary(data, f.feature_alpha_dropout(x.clone(), 0.3, True, True).numpy(),
                                              0.3, True)
    return out


def test_feature_alpha_dropout_as_torch():
    check("feature_alpha_dropout", _feature_alpha_dropout_program)


def _feature_dropout_mistakes(lib):
    f = lib.nn.functional
    return {
        "vector": (RuntimeError, lambda: f.feature_alpha_dropout(lib.ones(3), 0.5, True)),
        "p_above_one": (ValueError, lambda: f.feature_alpha_dropout(lib.ones(2, 3), 1.5, True)),
        "module_p": (ValueError, lambda: lib.nn.FeatureAlphaDropout(-0.1)),
        "top_level_vector": (RuntimeError, lambda: lib.feature_alpha_dropout(lib.ones(3), 0.5, True)),
        "top_level_p": (RuntimeError, lambda: lib.feature_dropout(lib.ones(2, 3), 1.5, True)),
        "feature_dropout_vector": (RuntimeError, lambda: lib.feature_dropout(lib.ones(3), 0.5, True)),
        "top_level_dropout_p": (RuntimeError, lambda: lib.dropout(lib.ones(2, 3), 1.5, True)),
    }


def test_feature_alpha_dropout_mistakes_raise_as_torch():
    check("feature_alpha_dropout_mistakes", mistakes_program(_feature_dropout_mistakes))


def test_feature_alpha_dropout_gradient_matches_finite_differences():
    data = np.random.default_rng(18).standard_normal((3, 4, 2))
    weights = np.random.default_rng(19).standard_normal((3, 4, 2))

    def run(t):
        minigrad.manual_seed(20)  # the same mask at every call
        return minigrad.nn.functional.feature_alpha_dropout(t, 0.5, training=True)

    x = minigrad.tensor(data, requires_grad=True)
    (run(x) * minigrad.tensor(weights)).sum().backward()

    def loss():
        return float((run(minigrad.tensor(data)).numpy() * weights).sum())

    assert_grad_close(x.grad.numpy(), numerical_grad(loss, data), name="feature_alpha_dropout")


# ------------------------------------------------------------------- torch.gradient
_GRAD_DATA = np.random.default_rng(21).standard_normal((4, 5))
_XS, _YS = np.array([0.0, 0.5, 1.5, 1.75]), np.array([-1.0, 0.0, 2.5, 3.0, 4.5])


def _gradient_program(lib):
    """torch.gradient with every form of spacing, dim and edge_order: values, and the gradients
    of the input (and of coordinates); integer input, 0-d input, dims of the minimum size."""
    out = {}
    settings = {
        "default": {},
        "scalar": {"spacing": 2.0},
        "int_scalar": {"spacing": 3},
        "list": {"spacing": [2.0, 0.5]},
        "dim": {"spacing": (3.0,), "dim": 1},
        "dim_negative": {"dim": -2},
        "dims": {"dim": (1, 0), "spacing": [0.5, 2.0]},
        "edge2": {"edge_order": 2},
        "edge2_scalar_dim": {"spacing": 2.0, "dim": 0, "edge_order": 2},
        "coordinates": {"spacing": "coordinates"},
        "coordinates_edge2": {"spacing": "coordinates", "edge_order": 2},
        "coordinates_dim": {"spacing": "one_coordinate", "dim": [1], "edge_order": 2},
    }
    for name, kwargs in settings.items():
        kwargs = dict(kwargs)
        x = lib.tensor(_GRAD_DATA, requires_grad=True)
        coordinates = []
        if kwargs.get("spacing") == "coordinates":
            coordinates = [lib.tensor(_XS, requires_grad=True), lib.tensor(_YS, requires_grad=True)]
            kwargs["spacing"] = coordinates
        elif kwargs.get("spacing") == "one_coordinate":
            coordinates = [lib.tensor(_YS, requires_grad=True)]
            kwargs["spacing"] = coordinates
        results = lib.gradient(x, **kwargs)
        out[f"{name}/count"] = np.array(len(results))
        total = 0
        for i, r in enumerate(results):
            out[f"{name}/{i}"] = r
            total = total + _weighted_sum(lib, r, 22 + i)
        total.backward()
        out[f"{name}/grad"] = x.grad
        for i, c in enumerate(coordinates):
            out[f"{name}/coordinate_grad/{i}"] = c.grad
    ints = lib.tensor([[1, 2, 4, 8], [3, 5, 6, 10], [0, 1, 1, 2]])
    for i, r in enumerate(lib.gradient(ints)):
        out[f"int/{i}"] = r
    for i, r in enumerate(lib.gradient(ints, spacing=2, edge_order=2)):
        out[f"int_edge2/{i}"] = r
    out["scalar_input"] = np.array(len(lib.gradient(lib.tensor(3.0))))
    small = lib.tensor(_GRAD_DATA[:2, :3])
    for i, r in enumerate(lib.gradient(small)):
        out[f"small/{i}"] = r
    out["vector"] = lib.gradient(lib.tensor(_XS ** 2), spacing=(lib.tensor(_XS),), edge_order=2)[0]
    return out


def test_gradient_as_torch():
    check("gradient", _gradient_program)


def _gradient_mistakes(lib):
    x = lib.tensor(_GRAD_DATA)
    return {
        "spacing_length": (RuntimeError, lambda: lib.gradient(x, spacing=[1.0, 2.0, 3.0])),
        "spacing_dim_length": (RuntimeError, lambda: lib.gradient(x, spacing=[1.0], dim=(0, 1))),
        "edge_order": (RuntimeError, lambda: lib.gradient(x, edge_order=3)),
        "too_short": (RuntimeError, lambda: lib.gradient(x[:, :2], edge_order=2)),
        "uint8": (RuntimeError, lambda: lib.gradient(lib.ones(3, 3, dtype=lib.uint8))),
        "dim_range": (IndexError, lambda: lib.gradient(x, dim=2)),
        "dim_twice": (RuntimeError, lambda: lib.gradient(x, dim=(0, 0))),
        "coordinates_rank": (RuntimeError, lambda: lib.gradient(x, spacing=[lib.ones(1, 4), lib.ones(5)])),
        "tensor_spacing": (TypeError, lambda: lib.gradient(x, spacing=lib.ones(2))),
    }


def test_gradient_mistakes_raise_as_torch():
    check("gradient_mistakes", mistakes_program(_gradient_mistakes))


@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_derivatives_match_finite_differences(edge_order):
    weights = np.random.default_rng(23).standard_normal((2, 4, 5))
    data, coords = _GRAD_DATA.copy(), _XS.copy()

    def value(x, c):
        parts = minigrad.gradient(x, spacing=[c, 0.5], edge_order=edge_order)
        return (minigrad.stack(parts) * minigrad.tensor(weights)).sum()

    x, c = minigrad.tensor(data, requires_grad=True), minigrad.tensor(coords, requires_grad=True)
    value(x, c).backward()

    def loss():
        return float(value(minigrad.tensor(data), minigrad.tensor(coords)).item())

    assert_grad_close(x.grad.numpy(), numerical_grad(loss, data), name="gradient input")
    assert_grad_close(c.grad.numpy(), numerical_grad(loss, coords), name="gradient coordinates")


# ------------------------------------------------------------------- cholesky_solve, cholesky_inverse
def _spd_factors(seed, batch=(2,), n=3):
    rng = np.random.default_rng(seed)
    m = rng.standard_normal(batch + (n, n))
    a = m @ np.swapaxes(m, -1, -2) + n * np.eye(n)
    return np.linalg.cholesky(a)


def _cholesky_program(lib):
    """cholesky_solve and cholesky_inverse (functions and Tensor methods), lower and upper
    factors, broadcast batches: values and the gradients of B and the factor."""
    out = {}
    lower = _spd_factors(24)
    rng = np.random.default_rng(25)
    b_data = rng.standard_normal((2, 3, 2))
    for upper in (False, True):
        factor_data = np.swapaxes(lower, -1, -2) if upper else lower
        factor, b = lib.tensor(factor_data, requires_grad=True), lib.tensor(b_data, requires_grad=True)
        x = lib.cholesky_solve(b, factor, upper)
        _weighted_sum(lib, x, 26).backward()
        out.update({f"solve/{upper}": x, f"solve/{upper}/grad_b": b.grad, f"solve/{upper}/grad_factor": factor.grad})
        factor = lib.tensor(factor_data, requires_grad=True)
        inverse = lib.cholesky_inverse(factor, upper=upper)
        _weighted_sum(lib, inverse, 27).backward()
        out.update({f"inverse/{upper}": inverse, f"inverse/{upper}/grad": factor.grad})
        out[f"method_solve/{upper}"] = lib.tensor(b_data).cholesky_solve(lib.tensor(factor_data), upper)
        out[f"method_inverse/{upper}"] = lib.tensor(factor_data).cholesky_inverse(upper)
    broadcast_b = lib.tensor(rng.standard_normal((4, 1, 3, 2)), requires_grad=True)
    factor = lib.tensor(lower, requires_grad=True)
    x = lib.cholesky_solve(broadcast_b, factor)
    _weighted_sum(lib, x, 28).backward()
    out.update({"broadcast": x, "broadcast/grad_b": broadcast_b.grad, "broadcast/grad_factor": factor.grad})
    # only the factor's triangle is read
    out["upper_ignored"] = lib.cholesky_solve(lib.tensor(b_data[0]), lib.tensor(lower[0] + np.triu(np.ones((3, 3)), 1)))
    out["zero_diagonal_solve"] = lib.cholesky_solve(lib.ones(3, 2), lib.zeros(3, 3))
    out["empty"] = lib.cholesky_solve(lib.ones(0, 2), lib.zeros(0, 0))
    out["empty_inverse"] = lib.cholesky_inverse(lib.zeros(0, 0))
    return out


def test_cholesky_solve_and_inverse_as_torch():
    check("cholesky", _cholesky_program)


def _cholesky_mistakes(lib):
    factor = lib.tensor(_spd_factors(29, ())).float()
    b = lib.ones(3, 2)
    singular = lib.eye(3).repeat(2, 1, 1)  # a copy, as PyTorch's (minigrad's was an unwritable view)
    singular[1, 2, 2] = 0.0
    return {
        "dtypes": (RuntimeError, lambda: lib.cholesky_solve(b.double(), factor)),
        "b_vector": (RuntimeError, lambda: lib.cholesky_solve(lib.ones(3), factor)),
        "not_square": (RuntimeError, lambda: lib.cholesky_solve(b, factor[:2])),
        "rows": (RuntimeError, lambda: lib.cholesky_solve(lib.ones(4, 2), factor)),
        "integers": (NotImplementedError, lambda: lib.cholesky_solve(b.long(), factor.long())),
        "batches": (RuntimeError, lambda: lib.cholesky_solve(lib.ones(2, 3, 2), factor.repeat(3, 1, 1))),
        "inverse_vector": (RuntimeError, lambda: lib.cholesky_inverse(factor[0])),
        "inverse_not_square": (RuntimeError, lambda: lib.cholesky_inverse(factor[:2])),
        "inverse_integers": (NotImplementedError, lambda: lib.cholesky_inverse(factor.long())),
        "inverse_singular": (lib.linalg.LinAlgError, lambda: lib.cholesky_inverse(singular)),
    }


def test_cholesky_mistakes_raise_as_torch():
    check("cholesky_mistakes", mistakes_program(_cholesky_mistakes))


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_solve_and_inverse_gradients_match_finite_differences(upper):
    lower = _spd_factors(30)
    factor_data = np.swapaxes(lower, -1, -2).copy() if upper else lower.copy()
    triangle = np.triu(np.ones((3, 3))) if upper else np.tril(np.ones((3, 3)))
    b_data = np.random.default_rng(31).standard_normal((2, 3, 2))
    w_solve = np.random.default_rng(32).standard_normal((2, 3, 2))
    w_inverse = np.random.default_rng(33).standard_normal((2, 3, 3))

    def value(b, factor):
        x = minigrad.cholesky_solve(b, factor, upper)
        inverse = minigrad.cholesky_inverse(factor, upper)
        return (x * minigrad.tensor(w_solve)).sum() + (inverse * minigrad.tensor(w_inverse)).sum()

    b, factor = minigrad.tensor(b_data, requires_grad=True), minigrad.tensor(factor_data, requires_grad=True)
    value(b, factor).backward()

    def loss():
        return float(value(minigrad.tensor(b_data), minigrad.tensor(factor_data)).item())

    assert_grad_close(b.grad.numpy(), numerical_grad(loss, b_data), name="cholesky_solve B")
    # the factor's triangle (the entries it is read from): PyTorch's gradient is the derivative there
    assert_grad_close(factor.grad.numpy() * triangle, numerical_grad(loss, factor_data) * triangle, name="factor")


# ------------------------------------------------------------------- poisson
def _poisson_program(lib):
    """Draws: dtype, shape, whole non-negative numbers, 0 for rate 0, means near the rates, the
    same draws from a reseeded generator; the zero gradient PyTorch records."""
    rates = np.array([0.0, 0.5, 3.0, 40.0])
    out = {}
    draws = lib.poisson(lib.tensor(np.repeat(rates[None], 20000, 0)))
    values = draws.numpy()
    out["dtype"], out["shape"] = np.array(str(draws.dtype).split(".")[-1]), np.array(draws.shape)
    out["whole"] = np.array([np.all(values == np.round(values)), np.all(values >= 0), np.all(values[:, 0] == 0)])
    out["means_near"] = np.abs(values.mean(0) - rates) < 4 * np.sqrt(rates / 20000) + 1e-12
    out["float32"] = np.array(str(lib.poisson(lib.ones(3, dtype=lib.float32)).dtype).split(".")[-1])
    out["scalar_shape"] = np.array(lib.poisson(lib.tensor(2.0)).shape)
    out["empty"] = lib.poisson(lib.ones(0, 2))
    g1, g2 = lib.Generator().manual_seed(7), lib.Generator().manual_seed(7)
    first = lib.poisson(lib.full((50,), 4.0), g1)
    out["reseeded_same"] = np.array(np.array_equal(first.numpy(), lib.poisson(lib.full((50,), 4.0), g2).numpy()))
    x = lib.tensor(rates, requires_grad=True)
    y = lib.poisson(x)
    y.sum().backward()
    out["requires_grad"], out["grad"] = np.array(y.requires_grad), x.grad
    out["grad_fn"] = np.array(type(y.grad_fn).__name__ if lib.__name__ == "torch" else y.grad_fn.name())
    return out


def test_poisson_as_torch():
    check("poisson", _poisson_program)


def _poisson_mistakes(lib):
    return {
        "negative": (RuntimeError, lambda: lib.poisson(lib.tensor([1.0, -1.0]))),
        "nan": (RuntimeError, lambda: lib.poisson(lib.tensor([math.nan]))),
        "integers": (NotImplementedError, lambda: lib.poisson(lib.tensor([1, 2]))),
    }


def test_poisson_mistakes_raise_as_torch():
    check("poisson_mistakes", mistakes_program(_poisson_mistakes))


# ------------------------------------------------------------------- LazyInstanceNorm
def _lazy_instance_norm_program(lib):
    """LazyInstanceNorm1d/2d/3d: their reprs before the first call, what they become (class,
    repr, parameter and buffer shapes), outputs and running statistics over two training calls
    and one in eval, non-default settings, gradients of the input."""
    out = {}
    rng = np.random.default_rng(34)
    for dims in (1, 2, 3):
        lazy = getattr(lib.nn, f"LazyInstanceNorm{dims}d")
        layer = lazy()
        out[f"{dims}/repr_before"] = np.array(repr(layer))
        x = lib.tensor(rng.standard_normal((2, 3) + (4,) * dims), dtype=lib.float32, requires_grad=True)
        y = layer(x)
        y2 = layer(x * 2.0 + 1.0)
        layer.eval()
        y3 = layer(x)
        _weighted_sum(lib, y + y3, 35).backward()
        out.update({
            f"{dims}/class": np.array(type(layer).__name__), f"{dims}/repr": np.array(repr(layer)),
            f"{dims}/y": y, f"{dims}/y2": y2, f"{dims}/eval": y3, f"{dims}/grad": x.grad,
            f"{dims}/running_mean": layer.running_mean, f"{dims}/running_var": layer.running_var,
            f"{dims}/tracked": layer.num_batches_tracked, f"{dims}/weight_shape": np.array(layer.weight.shape),
            f"{dims}/keys": np.array(sorted(layer.state_dict())),
        })
    plain = lib.nn.LazyInstanceNorm2d(eps=1e-3, momentum=None, affine=False, track_running_stats=False)
    x = lib.tensor(rng.standard_normal((2, 5, 3, 3)), dtype=lib.float32)
    out["plain/y"] = plain(x)
    out["plain/repr"] = np.array(repr(plain))
    out["plain/buffers"] = np.array([plain.weight is None, plain.running_mean is None])
    no_bias = lib.nn.LazyInstanceNorm1d(bias=False)
    out["no_bias/y"] = no_bias(lib.tensor(rng.standard_normal((2, 4, 5)), dtype=lib.float32))
    out["no_bias/repr"] = np.array(repr(no_bias))
    became = lib.nn.LazyInstanceNorm3d()
    became(lib.ones(1, 2, 2, 2, 2))
    out["became"] = np.array([isinstance(became, lib.nn.InstanceNorm3d), type(became) is lib.nn.InstanceNorm3d])
    return out


def test_lazy_instance_norm_as_torch():
    check("lazy_instance_norm", _lazy_instance_norm_program, rtol=1e-6)


def _lazy_instance_norm_mistakes(lib):
    return {
        "rank": (ValueError, lambda: lib.nn.LazyInstanceNorm2d()(lib.ones(2, 3))),
        "unbatched": (ValueError, lambda: lib.nn.LazyInstanceNorm1d()(lib.ones(3, 5))),  # dim 1 taken, as PyTorch
    }


def test_lazy_instance_norm_mistakes_raise_as_torch():
    check("lazy_instance_norm_mistakes", mistakes_program(_lazy_instance_norm_mistakes))


# ------------------------------------------------------------------- float32 (to float32's precision)
def _float32_program(lib):
    """The new ops on float32 tensors: dtypes and values (to 1e-5)."""
    f = lib.nn.functional
    lower = lib.tensor(_spd_factors(24)[0], dtype=lib.float32)
    b = lib.tensor(np.random.default_rng(25).standard_normal((3, 2)), dtype=lib.float32)
    x = lib.tensor(_GRAD_DATA, dtype=lib.float32)
    return {
        "pdist": f.pdist(lib.tensor(_PDIST_DATA, dtype=lib.float32), 1.5),
        "multilabel_margin_loss": f.multilabel_margin_loss(lib.tensor(_ML_SCORES, dtype=lib.float32),
                                                           lib.tensor(_ML_TARGETS), reduction="none"),
        "cholesky_solve": lib.cholesky_solve(b, lower),
        "cholesky_inverse": lib.cholesky_inverse(lower),
        "gradient": lib.gradient(x, spacing=0.5, dim=1)[0],
        "gradient_coordinates": lib.gradient(x, spacing=[lib.tensor(_XS, dtype=lib.float32)], dim=0, edge_order=2)[0],
        "triplet": f.triplet_margin_with_distance_loss(x[:2], x[2:], x[1:3], reduction="none"),
    }


def test_float32_results_as_torch():
    check("float32", _float32_program, rtol=1e-5)


# ------------------------------------------------------------------- repeat copies (found on the way)
def _repeat_program(lib):
    """Tensor.repeat gives a copy, as PyTorch's: writing to it (through an index) leaves the input
    as it was, whether it repeats anything or not, and it is contiguous."""
    out = {}
    for name, sizes in (("ones", (1, 1)), ("tiles", (2, 1, 3)), ("rows", (3, 1))):
        x = lib.tensor(np.arange(6.0).reshape(2, 3))
        y = x.repeat(*sizes)
        y[0, 0] = -1.0
        out.update({f"{name}/x": x, f"{name}/y": y, f"{name}/contiguous": np.array(y.is_contiguous())})
    return out


def test_repeat_is_a_writable_copy_as_torch():
    check("repeat", _repeat_program)
