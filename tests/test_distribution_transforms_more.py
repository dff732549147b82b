"""The transforms, constraints, constraint registries and distributions ported from
torch.distributions in the second round: SoftmaxTransform, StickBreakingTransform, ReshapeTransform,
CatTransform, StackTransform, LowerCholeskyTransform, CorrCholeskyTransform,
PositiveDefiniteTransform, CumulativeDistributionTransform; the constraints PyTorch has (simplex,
corr_cholesky, positive_definite, cat, stack, ...); biject_to and transform_to; LogisticNormal,
Kumaraswamy, GeneralizedPareto, InverseGamma, FisherSnedecor, VonMises, ContinuousBernoulli,
Wishart and LKJCholesky. Each program runs on both libraries (`program(lib)`, lib minigrad or
torch) and is compared with PyTorch's results (live, or recorded in
tests/fixtures/torch_reference/test_distribution_transforms_more.npz), in float64 to 1e-9: values,
shapes, gradients, and which bad inputs raise ValueError. Samples cannot match PyTorch's random
stream: their shapes and support are compared, and their moments checked against the
distribution's own under minigrad.manual_seed."""

import importlib

import numpy as np
import pytest
from parity import caught_as, check_program
from torch_reference import TorchReference

import minigrad
import minigrad.distributions.constraint_registry  # noqa: F401 (lib.distributions.constraint_registry)

torch_reference = TorchReference(__name__)

# the new distribution classes by name: the module each lives in here (torch has them at the top)
_MODULES = {
    "LogisticNormal": "logistic_normal",
    "Kumaraswamy": "kumaraswamy",
    "GeneralizedPareto": "generalized_pareto",
    "InverseGamma": "inverse_gamma",
    "FisherSnedecor": "fisher_snedecor",
    "VonMises": "von_mises",
    "ContinuousBernoulli": "continuous_bernoulli",
    "Wishart": "wishart",
    "LKJCholesky": "lkj_cholesky",
}


def _dist(lib, name):
    """The distribution class name of lib (minigrad's from its own module)."""
    if lib is minigrad:
        return getattr(importlib.import_module(f"minigrad.distributions.{_MODULES[name]}"), name)
    return getattr(lib.distributions, name)


def check(key, program, rtol=1e-9):
    """program(minigrad)'s results against program(torch)'s (parity.check_program)."""
    check_program(torch_reference, key, program, rtol)


def _t(lib, values, requires_grad=False, dtype=np.float64):
    return lib.tensor(np.asarray(values, dtype=dtype), requires_grad=requires_grad)


def _shape(shape):
    return str(tuple(shape))


def _try(fn):
    """fn()'s value, or the name of the NotImplementedError it raises (both libraries leave some
    moments out)."""
    try:
        return fn()
    except NotImplementedError:
        return np.array("NotImplementedError")


_RNG = np.random.default_rng(7)
_X23 = _RNG.standard_normal((2, 3))
_X423 = _RNG.standard_normal((4, 2, 3))
_X32 = _RNG.standard_normal((3, 2))
_X43 = _RNG.standard_normal((4, 3))
_X34 = _RNG.standard_normal((3, 4))
_X233 = _RNG.standard_normal((2, 3, 3))
_X26 = _RNG.standard_normal((2, 6)) * 0.8
_X4 = _RNG.standard_normal(4)


# ------------------------------------------------------------------------------ transforms
def _transform_cases(lib):
    """name -> (transform maker, input, whether it has log_abs_det_jacobian)."""
    T = lib.distributions.transforms
    normal = lambda: lib.distributions.Normal(_t(lib, 0.5), _t(lib, 2.0))  # noqa: E731
    return {
        "softmax": (lambda: T.SoftmaxTransform(), _X23, False),
        "stick_breaking": (lambda: T.StickBreakingTransform(), _X23, True),
        "reshape": (lambda: T.ReshapeTransform((2, 3), (3, 2)), _X423, True),
        "cat_last": (lambda: T.CatTransform([T.ExpTransform(), T.AffineTransform(1.0, 2.0)], -1, [2, 1]), _X23, True),
        "cat_first": (lambda: T.CatTransform([T.ExpTransform(), T.SigmoidTransform()], 0, [1, 2]), _X32, True),
        "cat_event_summed": (lambda: T.CatTransform(
            [T.IndependentTransform(T.ExpTransform(), 1), T.AffineTransform(0.0, 2.0, event_dim=1)], -1, [2, 1]),
            _X43, True),
        "cat_event_concatenated": (lambda: T.CatTransform(
            [T.IndependentTransform(T.ExpTransform(), 1), T.AffineTransform(0.0, 2.0, event_dim=1)], 0, [2, 1]),
            _X34, True),
        "stack": (lambda: T.StackTransform([T.ExpTransform(), T.SigmoidTransform()], dim=1), _X32, True),
        "stack_negative_dim": (lambda: T.StackTransform(
            [T.TanhTransform(), T.identity_transform, T.SoftplusTransform()], dim=-1), _X23, True),
        "lower_cholesky": (lambda: T.LowerCholeskyTransform(), _X233, False),
        "corr_cholesky": (lambda: T.CorrCholeskyTransform(), _X26, True),
        "positive_definite": (lambda: T.PositiveDefiniteTransform(), _X233, False),
        "cdf": (lambda: T.CumulativeDistributionTransform(normal()), _X4, True),
    }


def _transform_program(name):
    def program(lib):
        make, x_values, has_ldj = _transform_cases(lib)[name]
        t = make()
        x = _t(lib, x_values, requires_grad=True)
        y = t(x)
        out = {"y": y, "x_back": t.inv(y)}
        total = (y * _t(lib, np.linspace(0.5, 1.5, y.numel()).reshape(tuple(y.shape)))).sum()
        if has_ldj:
            ldj = t.log_abs_det_jacobian(x, y)
            out["ldj"] = ldj
            out["inv_ldj"] = t.inv.log_abs_det_jacobian(y, x)
            total = total + ldj.sum()
        total.backward()
        out["x_grad"] = x.grad
        y_leaf = _t(lib, y.detach().numpy(), requires_grad=True)
        t.inv(y_leaf).pow(2).sum().backward()
        out["y_grad"] = y_leaf.grad
        out["shapes"] = np.array([
            _shape(t.forward_shape(tuple(x.shape))), _shape(t.inverse_shape(tuple(y.shape))),
            _shape(t.inv.forward_shape(tuple(y.shape))), _shape(y.shape),
        ])
        out["attributes"] = np.array([
            t.bijective, t.inv.bijective, t.domain.event_dim, t.codomain.event_dim,
            t.inv.domain.event_dim, t == make(), t.inv.inv is t,
        ])
        out["constraint_names"] = np.array([type(t.domain).__name__, type(t.codomain).__name__])
        out["in_codomain"] = t.codomain.check(y.detach())
        cached = t.with_cache(1)
        y_cached = cached(x)
        out["cache"] = np.array([cached.inv(y_cached) is x, cached._cache_size, t.with_cache(0) is t])
        return out
    return program


@pytest.mark.parametrize("name", list(_transform_cases(minigrad)))
def test_transform_as_torch(name):
    check(f"transform/{name}", _transform_program(name))


def _transform_extras_program(lib):
    T = lib.distributions.transforms
    loc, scale = _t(lib, [0.5, -0.2], requires_grad=True), _t(lib, [2.0, 0.7], requires_grad=True)
    dist = lib.distributions.Normal(loc, scale)
    cdf = T.CumulativeDistributionTransform(dist)
    x = _t(lib, [0.3, -1.2])
    (cdf(x).sum() + cdf.log_abs_det_jacobian(x, cdf(x)).sum() + cdf.inv(_t(lib, [0.2, 0.9])).sum()).backward()
    corr = T.CorrCholeskyTransform()
    stick = T.StickBreakingTransform()
    return {
        "cdf_param_grads": np.stack([loc.grad.numpy(), scale.grad.numpy()]),
        "signs": np.array([cdf.sign, cdf.inv.sign]),
        "cdf_domain": np.array(type(cdf.domain).__name__),
        "corr_shapes": np.array([_shape(corr.forward_shape((5, 10))), _shape(corr.inverse_shape((5, 4, 4))),
                                 _shape(corr.forward_shape((1,)))]),
        "stick_shapes": np.array([_shape(stick.forward_shape((2, 3))), _shape(stick.inverse_shape((2, 3)))]),
        "stick_zero_is_centre": stick(_t(lib, np.zeros(3))),
        "equalities": np.array([
            T.SoftmaxTransform() == T.SoftmaxTransform(), T.StickBreakingTransform() == T.SoftmaxTransform(),
            T.LowerCholeskyTransform() == T.LowerCholeskyTransform(),
            T.PositiveDefiniteTransform() == T.PositiveDefiniteTransform(),
            corr == T.CorrCholeskyTransform(), T.ReshapeTransform((2,), (2,)) == T.ReshapeTransform((2,), (2,)),
        ]),
        "errors": caught_as({
            "reshape_numel": (ValueError, lambda: T.ReshapeTransform((2, 3), (5,))),
            "reshape_shape": (ValueError, lambda: T.ReshapeTransform((2, 3), (6,)).forward_shape((4, 3, 2))),
            "reshape_dims": (ValueError, lambda: T.ReshapeTransform((2, 3), (6,)).inverse_shape(())),
            "corr_not_triangular": (ValueError, lambda: corr.forward_shape((4,))),
            "corr_not_square": (ValueError, lambda: corr.inverse_shape((3, 4))),
            "softmax_scalar": (ValueError, lambda: T.SoftmaxTransform().forward_shape(())),
            "stick_scalar": (ValueError, lambda: stick.inverse_shape(())),
            "cat_lengths": (AssertionError, lambda: T.CatTransform([T.ExpTransform()], 0, [1, 2])),
            "cat_wrong_length": (AssertionError, lambda: T.CatTransform([T.ExpTransform()], 0, [2])(_t(lib, [1.0]))),
            "stack_wrong_size": (AssertionError, lambda: T.StackTransform([T.ExpTransform()], 0)(_t(lib, [1.0, 2.0]))),
            "stack_bad_dim": (AssertionError, lambda: T.StackTransform([T.ExpTransform()], 3)(_t(lib, [1.0]))),
            "cat_not_transform": (AssertionError, lambda: T.CatTransform([1])),
            "softmax_no_ldj": (NotImplementedError, lambda: T.SoftmaxTransform().log_abs_det_jacobian(x, x)),
            "softmax_no_sign": (NotImplementedError, lambda: T.SoftmaxTransform().sign),
        }),
    }


def test_transform_extras_as_torch():
    check("transform/extras", _transform_extras_program)


def test_transform_round_trips():
    """t.inv(t(x)) is x for the bijective transforms, t(t.inv(y)) is y for the others' codomain."""
    T = minigrad.distributions.transforms
    for name, (make, x_values, _) in _transform_cases(minigrad).items():
        t = make()
        x = _t(minigrad, x_values)
        y = t(x)
        if name not in ("softmax", "lower_cholesky", "positive_definite"):
            np.testing.assert_allclose(t.inv(y).numpy(), x.numpy(), rtol=1e-9, atol=1e-9, err_msg=name)
        np.testing.assert_allclose(t(t.inv(y)).numpy(), y.numpy(), rtol=1e-9, atol=1e-9, err_msg=name)
    # the cached inverse is the very input, so a tanh-squashed value at +-1 scores finitely
    t = T.ComposeTransform([T.StickBreakingTransform(), T.ReshapeTransform((4,), (2, 2))], cache_size=1)
    x = _t(minigrad, _X23)
    assert t.inv(t(x)) is x


# ------------------------------------------------------------------------------ constraints
_TORCH_CONSTRAINT_NAMES = [
    "Constraint", "MixtureSameFamilyConstraint", "boolean", "cat", "corr_cholesky", "dependent",
    "dependent_property", "greater_than", "greater_than_eq", "half_open_interval", "independent",
    "integer_interval", "interval", "is_dependent", "less_than", "lower_cholesky", "lower_triangular",
    "multinomial", "nonnegative", "nonnegative_integer", "one_hot", "positive", "positive_definite",
    "positive_integer", "positive_semidefinite", "real", "real_vector", "simplex", "square", "stack",
    "symmetric", "unit_interval",
]


def _constraint_cases(lib):
    """name -> (constraint, values to check)."""
    C = lib.distributions.constraints
    eye = np.eye(3)
    corr = lib.distributions.transforms.CorrCholeskyTransform()(_t(lib, _X23)).detach().numpy()
    mats = np.stack([eye, [[2.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 3.0]],
                     [[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0, 0, 1]],
                     [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]], [[1.0, 0.3, 0.0], [0.0, 1.0, 0.0], eye[2]]])
    return {
        "half_open_interval": (C.half_open_interval(-1.0, 2.0), [[-1.0, 0.0, 2.0, 1.99, -1.5]]),
        "one_hot": (C.one_hot, [[0.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 0.0]]),
        "multinomial": (C.multinomial(4), [[1.0, 2.0, 1.0], [3.0, 2.0, 0.0], [-1.0, 0.0, 2.0]]),
        "simplex": (C.simplex, [[0.2, 0.3, 0.5], [0.2, 0.3, 0.4], [-0.1, 0.6, 0.5]]),
        "lower_triangular": (C.lower_triangular, mats),
        "lower_cholesky": (C.lower_cholesky, mats),
        "corr_cholesky": (C.corr_cholesky, np.concatenate([corr, mats[:2]])),
        "square": (C.square, np.zeros((2, 2, 3))),
        "square_yes": (C.square, mats),
        "symmetric": (C.symmetric, mats),
        "positive_semidefinite": (C.positive_semidefinite, mats),
        "positive_definite": (C.positive_definite, mats),
        "positive_definite_not_square": (C.positive_definite, np.zeros((2, 2, 3))),
        "cat": (C.cat([C.positive, C.real, C.unit_interval], -1, [1, 1, 2]), [[1.0, -1.0, 0.5, 0.2], [-1.0, 0, 2, 1]]),
        "cat_event": (C.cat([C.simplex, C.real_vector], -1, [2, 1]), [[0.4, 0.6, -3.0], [0.5, 0.6, 1.0]]),
        "stack": (C.stack([C.positive, C.unit_interval], 0), [[1.0, -1.0, 0.5], [0.5, 2.0, 1.0]]),
        "stack_event": (C.stack([C.simplex, C.real_vector], -2), [[[0.4, 0.6], [-1.0, 3.0]], [[0.5, 0.6], [1, 1]]]),
        "mixture": (C.MixtureSameFamilyConstraint(C.positive), [[1.0, 2.0], [-1.0, 1.0]]),
        "mixture_event": (C.MixtureSameFamilyConstraint(C.simplex), [[[0.4, 0.6], [0.2, 0.8]], [[0.5, 0.6], [1, 0]]]),
    }


def _constraint_program(name):
    def program(lib):
        constraint, values = _constraint_cases(lib)[name]
        return {
            "check": constraint.check(_t(lib, values)),
            "static": np.array([constraint.is_discrete, constraint.event_dim]),
            "repr": np.array(repr(constraint)),
        }
    return program


@pytest.mark.parametrize("name", list(_constraint_cases(minigrad)))
def test_constraint_as_torch(name):
    check(f"constraint/{name}", _constraint_program(name))


def _constraint_names_program(lib):
    C = lib.distributions.constraints
    return {"has": np.array([hasattr(C, name) for name in _TORCH_CONSTRAINT_NAMES]),
            "exported": np.array([name in C.__all__ for name in _TORCH_CONSTRAINT_NAMES])}


def test_constraint_names_as_torch():
    check("constraint/names", _constraint_names_program)


# ------------------------------------------------------------------------- biject_to / transform_to
def _registry_cases(lib):
    """name -> (constraint, unconstrained input, registries it is in)."""
    C = lib.distributions.constraints
    both = ("biject_to", "transform_to")
    return {
        "real": (C.real, _X4, both),
        "real_vector": (C.real_vector, _X23, both),
        "independent_positive": (C.independent(C.positive, 1), _X23, both),
        "positive": (C.positive, _X4, both),
        "nonnegative": (C.nonnegative, _X4, both),
        "greater_than": (C.greater_than(2.0), _X4, both),
        "greater_than_eq": (C.greater_than_eq(-1.0), _X4, both),
        "less_than": (C.less_than(3.0), _X4, both),
        "interval": (C.interval(-2.0, 5.0), _X4, both),
        "unit_interval": (C.unit_interval, _X4, both),
        "half_open_interval": (C.half_open_interval(0.0, 2.0), _X4, both),
        "simplex": (C.simplex, _X23, both),
        "lower_cholesky": (C.lower_cholesky, _X233, ("transform_to",)),
        "positive_definite": (C.positive_definite, _X233, ("transform_to",)),
        "positive_semidefinite": (C.positive_semidefinite, _X233, ("transform_to",)),
        "corr_cholesky": (C.corr_cholesky, _X26, both),
        "cat": (C.cat([C.positive, C.real, C.unit_interval], -1, [1, 1, 1]), _X23, both),
        "stack": (C.stack([C.positive, C.interval(-1.0, 1.0)], 0), _X23, both),
    }


def _registry_program(name):
    def program(lib):
        registry = lib.distributions.constraint_registry
        constraint, x_values, registries = _registry_cases(lib)[name]
        out = {}
        for which in registries:
            t = getattr(registry, which)(constraint)
            x = _t(lib, x_values, requires_grad=True)
            y = t(x)
            y.pow(2).sum().backward()
            out[f"{which}/y"] = y
            out[f"{which}/x_grad"] = x.grad
            out[f"{which}/x_back"] = t.inv(y)
            out[f"{which}/in_support"] = constraint.check(y.detach())
            out[f"{which}/info"] = np.array([type(t).__name__, str(t.bijective)])
            if t.bijective:
                out[f"{which}/ldj"] = t.log_abs_det_jacobian(x, y)
        return out
    return program


@pytest.mark.parametrize("name", list(_registry_cases(minigrad)))
def test_registry_as_torch(name):
    check(f"registry/{name}", _registry_program(name))


def _registry_errors_program(lib):
    registry = lib.distributions.constraint_registry
    C = lib.distributions.constraints
    mine = registry.ConstraintRegistry()
    mine.register(C.positive, lambda c: lib.distributions.transforms.SoftplusTransform())

    @mine.register(C.interval)
    def _factory(constraint):
        return lib.distributions.transforms.AffineTransform(constraint.lower_bound, 2.0)

    return {
        "mine": np.array([type(mine(C.positive)).__name__, type(mine(C.interval(1.0, 2.0))).__name__]),
        "errors": caught_as({
            "biject_lower_cholesky": (NotImplementedError, lambda: registry.biject_to(C.lower_cholesky)),
            "biject_positive_definite": (NotImplementedError, lambda: registry.biject_to(C.positive_definite)),
            "unregistered": (NotImplementedError, lambda: mine(C.real)),
            "not_a_constraint": (TypeError, lambda: mine.register(3, lambda c: None)),
            "dependent": (NotImplementedError, lambda: registry.transform_to(C.dependent)),
            "boolean": (NotImplementedError, lambda: registry.biject_to(C.boolean)),
        }),
    }


def test_registry_errors_as_torch():
    check("registry/errors", _registry_errors_program)


# ---------------------------------------------------------------------------- distributions
def _corr_values(lib, shape):
    x = np.linspace(-1.2, 1.5, int(np.prod(shape)) * 3).reshape(tuple(shape) + (3,))
    return lib.distributions.transforms.CorrCholeskyTransform()(_t(lib, x)).detach()


_PD = np.array([[[2.0, 0.3, 0.1], [0.3, 1.5, -0.2], [0.1, -0.2, 1.0]],
                [[1.0, 0.0, 0.5], [0.0, 2.0, 0.3], [0.5, 0.3, 1.4]]])
_PD_VALUE = np.array([[3.0, 0.5, -0.2], [0.5, 2.0, 0.1], [-0.2, 0.1, 1.5]])


def _families(lib):
    """name -> (a maker of the distribution from its parameters, parameter values, a value in
    its support, the moments and functions to compare)."""
    D = lambda name: _dist(lib, name)  # noqa: E731
    lp, moments = ("log_prob",), ("mean", "variance", "mode", "entropy")
    simplex = [[0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25]]
    return {
        "LogisticNormal": (lambda p: D("LogisticNormal")(*p), ([[0.1, -0.5, 0.3], [0.0, 1.0, 2.0]], [[1.0, 0.5, 2.0],
                           [0.7, 1.2, 0.9]]), simplex, lp + moments),
        "LogisticNormal_scalar": (lambda p: D("LogisticNormal")(*p), (0.3, 1.5), [0.3, 0.7], lp),
        "Kumaraswamy": (lambda p: D("Kumaraswamy")(*p), ([1.5, 2.0, 3.0], [2.5, 1.2, 4.0]), [0.3, 0.7, 0.45],
                        lp + moments + ("cdf", "icdf")),
        "GeneralizedPareto": (lambda p: D("GeneralizedPareto")(*p),
                              ([0.0, 1.0, -1.0], [1.0, 2.0, 0.5], [0.2, 0.0, -0.3]), [0.5, 2.5, -0.4],
                              lp + moments + ("cdf", "icdf", "log_cdf", "log_survival_function")),
        "InverseGamma": (lambda p: D("InverseGamma")(*p), ([3.0, 2.5, 1.5], [2.0, 1.0, 0.5]), [0.5, 1.2, 3.0],
                         lp + moments),
        "FisherSnedecor": (lambda p: D("FisherSnedecor")(*p), ([3.0, 5.0, 1.5], [5.0, 7.0, 9.0]), [0.5, 1.2, 3.0],
                           lp + moments),
        "VonMises": (lambda p: D("VonMises")(*p), ([0.5, -1.0, 2.0], [0.7, 5.0, 3.75]), [0.2, -2.5, 7.0], lp + moments),
        "ContinuousBernoulli_probs": (lambda p: D("ContinuousBernoulli")(probs=p[0]), ([0.2, 0.4995, 0.8],),
                                      [0.3, 0.6, 0.9], lp + moments + ("cdf", "icdf")),
        "ContinuousBernoulli_logits": (lambda p: D("ContinuousBernoulli")(logits=p[0]), ([-1.0, 0.001, 2.0],),
                                       [0.3, 0.6, 0.9], lp + moments + ("cdf", "icdf")),
        "Wishart_covariance": (lambda p: D("Wishart")(p[0], covariance_matrix=p[1]), ([4.0, 5.5], _PD), _PD_VALUE,
                               lp + moments),
        "Wishart_scale_tril": (lambda p: D("Wishart")(p[0], scale_tril=p[1]),
                               ([4.0, 5.5], np.linalg.cholesky(_PD)), _PD_VALUE, lp + moments),
        "Wishart_precision": (lambda p: D("Wishart")(p[0], precision_matrix=p[1]), ([4.0, 5.5], _PD), _PD_VALUE,
                              lp + moments),
        "LKJCholesky": (lambda p: D("LKJCholesky")(3, p[0]), ([0.5, 2.0, 1.0],), None, lp + moments),
    }


_ICDF_POINTS = [0.1, 0.5, 0.95]
# PyTorch's GeneralizedPareto compares its concentration with a float32 zero, which raises for
# float64 parameters: it is compared in float32
_FLOAT32 = {"GeneralizedPareto"}


def _family_program(name):
    dtype = np.float32 if name in _FLOAT32 else np.float64

    def program(lib):
        make, params, value, functions = _families(lib)[name]
        tensors = [_t(lib, p, requires_grad=True, dtype=dtype) for p in params]
        d = make(tensors)
        value = _corr_values(lib, (3,)) if value is None else _t(lib, value, dtype=dtype)
        out = {}
        for fn in functions:
            if fn == "icdf":
                result = _try(lambda: d.icdf(_t(lib, _ICDF_POINTS, dtype=dtype)))
            elif fn in ("log_prob", "cdf", "log_cdf", "log_survival_function"):
                result = _try(lambda fn=fn: getattr(d, fn)(value))
            else:
                result = _try(lambda fn=fn: getattr(d, fn)() if fn == "entropy" else getattr(d, fn))
            out[fn] = result
        # gradients of everything finite (NaN moments where they do not exist would poison the sum)
        total = 0
        for result in out.values():
            if hasattr(result, "detach") and np.isfinite(result.detach().numpy()).all():
                total = total + result.sum()
        total.backward()
        for i, p in enumerate(tensors):
            out[f"grad{i}"] = p.grad
        out["expanded_log_prob"] = d.expand((2,) + tuple(d.batch_shape)).log_prob(value)
        sample = d.sample((5,))
        out["shapes"] = np.array([_shape(d.batch_shape), _shape(d.event_shape), _shape(sample.shape),
                                  _shape(d.sample().shape), _shape(d.expand((2,) + tuple(d.batch_shape)).batch_shape)])
        out["support"] = np.array([d.support.is_discrete, d.support.event_dim])
        out["sample_in_support"] = d.support.check(sample)
        return out
    return program


# PyTorch's Wishart.rsample warns of singular samples even when none is (it tests the valid ones)
@pytest.mark.filterwarnings("ignore:Singular sample detected")
@pytest.mark.parametrize("name", list(_families(minigrad)))
def test_distribution_as_torch(name):
    check(f"distribution/{name}", _family_program(name), rtol=1e-5 if name in _FLOAT32 else 1e-9)


def _expand_program(lib):
    D = lambda name: _dist(lib, name)  # noqa: E731
    t = lambda v: _t(lib, v)  # noqa: E731
    made = {
        "LogisticNormal": D("LogisticNormal")(t([0.1, 0.2]), t([1.0, 2.0])),
        "Kumaraswamy": D("Kumaraswamy")(t([1.5, 2.0]), t([2.0, 3.0])),
        "InverseGamma": D("InverseGamma")(t([3.0, 2.5]), t([2.0, 1.0])),
        "FisherSnedecor": D("FisherSnedecor")(t([3.0, 5.0]), t([5.0, 7.0])),
        "VonMises": D("VonMises")(t([0.5, -1.0]), t([0.7, 5.0])),
        "ContinuousBernoulli": D("ContinuousBernoulli")(t([0.2, 0.7])),
        "Wishart": D("Wishart")(t([4.0, 5.0]), covariance_matrix=t(_PD)),
        "LKJCholesky": D("LKJCholesky")(3, t([0.5, 2.0])),
    }
    values = {"LogisticNormal": [[0.2, 0.3, 0.5]], "Kumaraswamy": [0.3, 0.4],
              "InverseGamma": [0.5, 1.0], "FisherSnedecor": [0.5, 1.0], "VonMises": [0.1, 0.2],
              "ContinuousBernoulli": [0.1, 0.6], "Wishart": _PD_VALUE}
    out = {}
    for name, d in made.items():
        e = d.expand((3, 2))
        value = _corr_values(lib, (2,)) if name == "LKJCholesky" else t(values[name])
        out[name] = e.log_prob(value)
        out[f"{name}/shapes"] = np.array([_shape(e.batch_shape), _shape(e.event_shape), _shape(e.sample((4,)).shape),
                                          type(e).__name__, str(e._validate_args)])
    return out


@pytest.mark.filterwarnings("ignore:Singular sample detected")
def test_expand_as_torch():
    check("distribution/expand", _expand_program)


def _rsample_program(lib):
    """Which families reparameterise, and the gradients' shapes (values depend on the noise)."""
    D = lambda name: _dist(lib, name)  # noqa: E731
    out = {}
    makers = {
        "LogisticNormal": lambda a, b: D("LogisticNormal")(a, b),
        "Kumaraswamy": lambda a, b: D("Kumaraswamy")(a, b),
        "GeneralizedPareto": lambda a, b: D("GeneralizedPareto")(a, b, _t(lib, [0.1, -0.2])),
        "ContinuousBernoulli": lambda a, b: D("ContinuousBernoulli")(probs=b / 3),
        "InverseGamma": lambda a, b: D("InverseGamma")(a, b),
        "FisherSnedecor": lambda a, b: D("FisherSnedecor")(a, b),
    }
    for name, make in makers.items():
        a = _t(lib, [0.5, 1.5], requires_grad=True)
        b = _t(lib, [1.0, 2.0], requires_grad=True)
        make(a, b).rsample((6,)).sum().backward()
        out[name] = np.array([_shape(b.grad.shape), bool(np.isfinite(b.grad.numpy()).all())])
    return out


def test_rsample_as_torch():
    check("distribution/rsample", _rsample_program)


def _validation_program(lib):
    D = lambda name: _dist(lib, name)  # noqa: E731
    t = lambda v: _t(lib, v)  # noqa: E731
    v = dict(validate_args=True)
    kum = D("Kumaraswamy")(t(1.5), t(2.0), **v)
    gp = D("GeneralizedPareto")(t(1.0), t(2.0), t(-0.5), **v)
    wishart = D("Wishart")(t(4.0), covariance_matrix=t(_PD[0]), **v)
    return {"errors": caught_as({
        "LogisticNormal_scale": (ValueError, lambda: D("LogisticNormal")(t([0.0]), t([-1.0]), **v)),
        "LogisticNormal_value": (ValueError, lambda: D("LogisticNormal")(t([0.0]), t([1.0]), **v).log_prob(
            t([0.7, 0.7]))),
        "Kumaraswamy_param": (ValueError, lambda: D("Kumaraswamy")(t(-1.0), t(1.0), **v)),
        "Kumaraswamy_value": (ValueError, lambda: kum.log_prob(t(1.5))),
        "GeneralizedPareto_scale": (ValueError, lambda: D("GeneralizedPareto")(t(0.0), t(-1.0), t(0.1), **v)),
        "GeneralizedPareto_below": (ValueError, lambda: gp.log_prob(t(0.5))),
        "GeneralizedPareto_above": (ValueError, lambda: gp.log_prob(t(6.0))),
        "GeneralizedPareto_inside": (ValueError, lambda: gp.log_prob(t(3.0))),
        "InverseGamma_rate": (ValueError, lambda: D("InverseGamma")(t(1.0), t(0.0), **v)),
        "InverseGamma_value": (ValueError, lambda: D("InverseGamma")(t(1.0), t(1.0), **v).log_prob(t(-1.0))),
        "FisherSnedecor_df": (ValueError, lambda: D("FisherSnedecor")(t(-1.0), t(1.0), **v)),
        "FisherSnedecor_value": (ValueError, lambda: D("FisherSnedecor")(t(1.0), t(1.0), **v).log_prob(t(-1.0))),
        "VonMises_concentration": (ValueError, lambda: D("VonMises")(t(0.0), t(-1.0), **v)),
        "VonMises_nan": (ValueError, lambda: D("VonMises")(t(0.0), t(1.0), **v).log_prob(t(float("nan")))),
        "ContinuousBernoulli_probs": (ValueError, lambda: D("ContinuousBernoulli")(t(1.5), **v)),
        "ContinuousBernoulli_probs_no_validation": (ValueError, lambda: D("ContinuousBernoulli")(
            t(1.5), validate_args=False)),
        "ContinuousBernoulli_both": (ValueError, lambda: D("ContinuousBernoulli")(t(0.5), t(0.1))),
        "ContinuousBernoulli_value": (ValueError, lambda: D("ContinuousBernoulli")(t(0.3), **v).log_prob(t(1.5))),
        "Wishart_df": (ValueError, lambda: D("Wishart")(t(1.5), covariance_matrix=t(_PD[0]), **v)),
        "Wishart_not_pd": (ValueError, lambda: D("Wishart")(t(4.0), covariance_matrix=t(-_PD[0]), **v)),
        "Wishart_not_tril": (ValueError, lambda: D("Wishart")(t(4.0), scale_tril=t(_PD[0]), **v)),
        "Wishart_two_matrices": (AssertionError, lambda: D("Wishart")(t(4.0), t(_PD[0]), t(_PD[0]))),
        "Wishart_vector": (ValueError, lambda: D("Wishart")(t(4.0), covariance_matrix=t([1.0, 2.0]))),
        "Wishart_value": (ValueError, lambda: wishart.log_prob(t(-_PD_VALUE))),
        "LKJCholesky_dim": (ValueError, lambda: D("LKJCholesky")(1, t(1.0))),
        "LKJCholesky_concentration": (ValueError, lambda: D("LKJCholesky")(3, t(-1.0), **v)),
        "LKJCholesky_value": (ValueError, lambda: D("LKJCholesky")(3, t(1.0), **v).log_prob(t(_PD_VALUE))),
        "valid_passes": (ValueError, lambda: kum.log_prob(t(0.5))),
    })}


def test_validation_as_torch():
    check("distribution/validation", _validation_program)


# ------------------------------------------------------------------- sampling moments (minigrad only)
def _sample_moments(d, n=20000):
    minigrad.manual_seed(0)
    samples = d.sample((n,))
    assert d.support.check(samples).all().item()
    assert np.isfinite(d.log_prob(samples).detach().numpy()).all()
    return samples.numpy()


# the sample variance needs a finite fourth moment: df2 > 8
_MOMENT_PARAMS = {"FisherSnedecor": ([3.0, 5.0, 1.5], [12.0, 20.0, 15.0])}


@pytest.mark.parametrize("name", ["Kumaraswamy", "GeneralizedPareto", "InverseGamma", "FisherSnedecor",
                                  "ContinuousBernoulli_probs", "LogisticNormal"])
def test_sample_mean_and_variance(name):
    make, params, _, _ = _families(minigrad)[name]
    d = make([_t(minigrad, p) for p in _MOMENT_PARAMS.get(name, params)])
    samples = _sample_moments(d)
    if name == "LogisticNormal":  # no closed-form moments: the stick-breaking of normal draws
        base = d.base_dist.base_dist
        minigrad.manual_seed(1)
        normals = base.sample((20000,))
        np.testing.assert_allclose(samples.mean(0), d.transforms[0](normals).numpy().mean(0), atol=0.02)
        return
    finite = np.isfinite(d.variance.numpy())
    np.testing.assert_allclose(samples.mean(0), d.mean.numpy(), rtol=0.05, atol=0.02)
    np.testing.assert_allclose(samples.var(0)[finite], d.variance.numpy()[finite], rtol=0.25, atol=0.01)


def test_von_mises_sample_circular_moments():
    d = _dist(minigrad, "VonMises")(_t(minigrad, [0.5, -2.5, 3.0]), _t(minigrad, [0.7, 5.0, 50.0]))
    samples = _sample_moments(d)
    assert (samples >= -np.pi).all() and (samples < np.pi).all()
    mean_direction = np.arctan2(np.sin(samples).mean(0), np.cos(samples).mean(0))
    np.testing.assert_allclose(mean_direction, d.mean.numpy(), atol=0.05)
    resultant = np.hypot(np.sin(samples).mean(0), np.cos(samples).mean(0))
    np.testing.assert_allclose(1 - resultant, d.variance.numpy(), atol=0.02)


def test_wishart_and_lkj_sample_moments():
    wishart = _families(minigrad)["Wishart_covariance"]
    d = wishart[0]([_t(minigrad, p) for p in wishart[1]])
    samples = _sample_moments(d, 5000)
    np.testing.assert_allclose(samples.mean(0), d.mean.numpy(), rtol=0.1, atol=0.15)
    # LKJ(eta = 1) in 3 dims: the first correlation is Beta(3/2, 3/2) on [-1, 1], of variance 1/4
    lkj = _dist(minigrad, "LKJCholesky")(3, _t(minigrad, 1.0))
    factors = _sample_moments(lkj, 5000)
    correlations = factors @ np.swapaxes(factors, -1, -2)
    np.testing.assert_allclose(np.diagonal(correlations, axis1=-2, axis2=-1), 1.0, atol=1e-9)
    np.testing.assert_allclose(correlations[:, 1:, 0].mean(0), 0.0, atol=0.03)
    np.testing.assert_allclose(correlations[:, 1, 0].var(), 0.25, atol=0.02)


@pytest.mark.filterwarnings("ignore:Singular sample detected")
def test_wishart_rsample_differentiates_to_df_and_scale():
    """Wishart's Bartlett draws reparameterise through the chi-squared draws: finite gradients
    of the right shapes, to df and to the covariance."""
    df = _t(minigrad, 4.0, requires_grad=True)
    cov = _t(minigrad, _PD[0], requires_grad=True)
    d = _dist(minigrad, "Wishart")(df, covariance_matrix=cov)
    assert d.has_rsample
    d.rsample((5,)).sum().backward()
    assert df.grad.shape == () and np.isfinite(df.grad.numpy()).all()
    assert cov.grad.shape == cov.shape and np.isfinite(cov.grad.numpy()).all()


def test_generalized_pareto_float64():
    """Float64 parameters work here (PyTorch's log_prob raises for them: see _FLOAT32) and agree
    with float32 to its precision."""
    make, params, value, functions = _families(minigrad)["GeneralizedPareto"]
    for fn in ("log_prob", "cdf", "log_survival_function"):
        wide = getattr(make([_t(minigrad, p) for p in params]), fn)(_t(minigrad, value))
        narrow = getattr(make([_t(minigrad, p, dtype=np.float32) for p in params]), fn)(
            _t(minigrad, value, dtype=np.float32))
        assert wide.dtype == minigrad.float64
        np.testing.assert_allclose(wide.numpy(), narrow.numpy(), rtol=1e-5, atol=1e-6, err_msg=fn)
