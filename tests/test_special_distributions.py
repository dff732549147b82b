"""minigrad.special (lgamma, digamma, polygamma, mvlgamma, erfc, erfinv, erfcx, ndtr, ndtri, log_ndtr,
i0/i0e/i1/i1e, entr, xlog1py and torch.special's aliases) and the distributions built on them
(Gamma, Beta, Dirichlet, Exponential, Laplace, LogNormal, Poisson, Binomial, Geometric, Cauchy,
StudentT, their KL divergences), against PyTorch through tests/torch_reference.py; gradients by
float64 finite differences; sample shapes and moments; the errors for bad arguments."""

import math

import numpy as np
import pytest
from torch_reference import TorchReference

import minigrad
from minigrad import distributions as D
from minigrad import special
from minigrad.autograd import gradcheck

torch_reference = TorchReference(__name__)
RNG = np.random.default_rng(1234)

WIDE = np.concatenate([RNG.uniform(-12, 12, 60), RNG.uniform(0.05, 4, 30), 10 ** RNG.uniform(-6, 2.5, 20)])
POSITIVE = np.concatenate([RNG.uniform(0.05, 4, 40), 10 ** RNG.uniform(-6, 2.5, 30)])
UNIT = np.concatenate([RNG.uniform(-0.999, 0.999, 60), [0.0, 0.5, -0.5]])
PROB = np.concatenate([RNG.uniform(0.001, 0.999, 50), 10.0 ** -RNG.uniform(2, 200, 10), [0.5, 0.975]])
NORMAL_X = np.concatenate([RNG.uniform(-3, 8, 50), [0.0, -1.0, -1.5]])
LOW_X = np.concatenate([RNG.uniform(-30, 6, 50), [-1.0, -1.0001]])
BESSEL_X = np.concatenate([RNG.uniform(-40, 40, 60), RNG.uniform(-2, 2, 20), [0.0, 30.0, -30.5, 700.0]])

# name -> (minigrad function, torch name under torch / torch.special, inputs, float64 relative tolerance)
UNARY = {
    "lgamma": (minigrad.lgamma, "lgamma", WIDE, 1e-12),
    "digamma": (minigrad.digamma, "digamma", WIDE, 1e-12),
    "erfc": (minigrad.erfc, "erfc", WIDE / 3, 1e-13),
    "erfinv": (minigrad.erfinv, "erfinv", UNIT, 1e-12),
    "erfcx": (special.erfcx, "special.erfcx", np.concatenate([WIDE * 2, [30.0, 1e5]]), 1e-12),
    "ndtr": (special.ndtr, "special.ndtr", NORMAL_X, 1e-12),
    "ndtri": (special.ndtri, "special.ndtri", PROB, 1e-12),
    "log_ndtr": (special.log_ndtr, "special.log_ndtr", LOW_X, 1e-12),
    "i0": (minigrad.i0, "i0", BESSEL_X, 1e-12),
    "i0e": (special.i0e, "special.i0e", BESSEL_X, 1e-12),
    "i1": (special.i1, "special.i1", BESSEL_X, 1e-12),
    "i1e": (special.i1e, "special.i1e", BESSEL_X, 1e-12),
    "entr": (special.entr, "special.entr", np.concatenate([POSITIVE, [0.0, -1.0]]), 1e-13),
}


def _torch_fn(torch, name):
    obj = torch
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _close(got, want, rtol, atol=0.0, name=""):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, (name, got.shape, want.shape, got.dtype, want.dtype)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=name)


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_unary_special_functions_match_torch(name, dtype):
    fn, torch_name, x, tol = UNARY[name]
    x = x.astype(dtype)
    ref = torch_reference(f"unary/{name}/{dtype}", lambda torch: {"y": _torch_fn(torch, torch_name)(torch.tensor(x))})
    got = fn(minigrad.tensor(x)).numpy()
    if dtype == "float32":  # float64 rounded once against PyTorch's float32 arithmetic: a few ulp
        # (PyTorch's float32 erfcx of x << 0 rounds x^2 first: exp(x^2) off by up to x^2 * 6e-8)
        # (and its float32 ndtr is 1 + erf in float32, which cancels below 0)
        atol = {"lgamma": 1e-6, "digamma": 1e-6, "ndtr": 1e-7}.get(name, 1e-30)
        _close(got, ref["y"], 1e-5 if name == "erfcx" else 2e-6, atol, name)
    else:
        _close(got, ref["y"], tol, 1e-14 if name in ("lgamma", "digamma") else 0.0, name)


def test_polygamma_and_mvlgamma_match_torch():
    x = np.concatenate([RNG.uniform(-7.9, 10, 40), 10 ** RNG.uniform(-3, 2, 10)])
    x = x[np.abs(x - np.round(x)) > 1e-3]
    ref = torch_reference("polygamma", lambda torch: {
        f"n{n}": torch.polygamma(n, torch.tensor(x)) for n in range(5)
    })
    for n in range(5):
        got = minigrad.polygamma(n, minigrad.tensor(x)).numpy()
        # PyTorch's trigamma (n = 1) stops its asymptotic series at about 1e-8 relative; minigrad's is exact
        _close(got, ref[f"n{n}"], 1e-7 if n == 1 else 1e-11, 1e-13, f"polygamma {n}")
    y = RNG.uniform(2.1, 9, (3, 4))
    ref = torch_reference("mvlgamma", lambda torch: {f"p{p}": torch.mvlgamma(torch.tensor(y), p) for p in (1, 2, 4)})
    for p in (1, 2, 4):
        _close(minigrad.mvlgamma(minigrad.tensor(y), p).numpy(), ref[f"p{p}"], 1e-12, 0, f"mvlgamma {p}")
        _close(special.multigammaln(minigrad.tensor(y), p).numpy(), ref[f"p{p}"], 1e-12, 0, "multigammaln")


def test_edge_cases_match_torch():
    inf, nan = math.inf, math.nan
    edges = np.array([0.0, -0.0, -1.0, -2.0, 1.0, 2.0, inf, -inf, nan, 1e-300, 1e20])
    unit_edges = np.array([-1.0, 1.0, 1.5, -1.5, 0.0, nan])
    prob_edges = np.array([0.0, 1.0, -0.1, 1.1, 0.5, nan])

    def compute(torch):
        t = torch.tensor(edges)
        return {
            "lgamma": torch.lgamma(t), "digamma": torch.digamma(t), "erfc": torch.erfc(t),
            "erfcx": torch.special.erfcx(t), "log_ndtr": torch.special.log_ndtr(t), "entr": torch.special.entr(t),
            "i0e": torch.special.i0e(t), "i1e": torch.special.i1e(t),
            "polygamma2": torch.polygamma(2, t[[0, 2, 4, 7, 8]]),
            "erfinv": torch.erfinv(torch.tensor(unit_edges)), "ndtri": torch.special.ndtri(torch.tensor(prob_edges)),
            "xlog1py": torch.special.xlog1py(torch.tensor([0.0, 0.0, 0.0, 2.0, 0.0]),
                                             torch.tensor([inf, -1.0, nan, -1.0, 3.0])),
        }

    ref = torch_reference("edges", compute)
    t = minigrad.tensor(edges)
    got = {
        "lgamma": minigrad.lgamma(t), "digamma": minigrad.digamma(t), "erfc": minigrad.erfc(t),
        "erfcx": special.erfcx(t), "log_ndtr": special.log_ndtr(t), "entr": special.entr(t),
        "i0e": special.i0e(t), "i1e": special.i1e(t), "polygamma2": minigrad.polygamma(2, t[[0, 2, 4, 7, 8]]),
        "erfinv": minigrad.erfinv(minigrad.tensor(unit_edges)), "ndtri": special.ndtri(minigrad.tensor(prob_edges)),
        "xlog1py": special.xlog1py(minigrad.tensor([0.0, 0.0, 0.0, 2.0, 0.0]),
                                   minigrad.tensor([inf, -1.0, nan, -1.0, 3.0])),
    }
    for key, value in got.items():
        _close(value.numpy(), ref[key], 1e-13, 0, key)
    digamma_zero = minigrad.digamma(minigrad.tensor([0.0, -0.0])).numpy()
    assert digamma_zero[0] == -inf and digamma_zero[1] == inf


def test_aliases_methods_dtypes_and_inplace():
    x = minigrad.tensor([0.3, 1.7, 4.2], dtype=minigrad.float64)
    assert np.array_equal(special.gammaln(x).numpy(), x.lgamma().numpy())
    assert np.array_equal(special.psi(x).numpy(), x.digamma().numpy())
    assert np.array_equal(special.digamma(x).numpy(), minigrad.digamma(x).numpy())
    assert np.array_equal(special.expit(x).numpy(), minigrad.sigmoid(x).numpy())
    assert np.array_equal(x.polygamma(2).numpy(), special.polygamma(2, x).numpy())
    assert np.array_equal(special.logsumexp(x, 0).numpy(), x.logsumexp(0).numpy())
    assert np.array_equal(special.softmax(x, 0).numpy(), x.softmax(0).numpy())
    assert np.array_equal(special.log_softmax(x, 0).numpy(), x.log_softmax(0).numpy())
    assert np.array_equal(special.round(x).numpy(), x.round().numpy())
    for name in ("erf", "erfc", "erfinv", "exp2", "expm1", "log1p", "sinc", "logit", "xlogy", "i0"):
        assert callable(getattr(special, name))
    # integer tensors give the default float dtype
    assert minigrad.lgamma(minigrad.tensor([1, 2, 3])).dtype == minigrad.float32
    assert special.i0e(minigrad.tensor([1, 2])).dtype == minigrad.float32
    assert minigrad.mvlgamma(minigrad.tensor([3, 4]), 2).dtype == minigrad.float32
    for method, fn in (("lgamma_", minigrad.lgamma), ("digamma_", minigrad.digamma), ("erfinv_", minigrad.erfinv),
                       ("erfc_", minigrad.erfc), ("i0_", minigrad.i0)):
        y = minigrad.tensor([0.2, 0.7], dtype=minigrad.float64)
        want = fn(y).numpy()
        assert getattr(y, method)() is y and np.array_equal(y.numpy(), want), method
    y = minigrad.tensor([1.5, 2.5], dtype=minigrad.float64)
    want = minigrad.polygamma(1, y).numpy()
    y.polygamma_(1)
    assert np.array_equal(y.numpy(), want)
    y = minigrad.tensor([1.5, 2.5], dtype=minigrad.float64)
    want = minigrad.mvlgamma(y, 2).numpy()
    y.mvlgamma_(2)
    assert np.array_equal(y.numpy(), want)
    assert minigrad.lgamma(minigrad.tensor([2.0], requires_grad=True)).grad_fn.name() == "LgammaBackward0"


SMOOTH = {
    "lgamma": (minigrad.lgamma, [0.3, 1.7, 4.2, -0.5, -2.3]),
    "digamma": (minigrad.digamma, [0.3, 1.7, 4.2, -0.5, 12.0]),
    "polygamma1": (lambda t: minigrad.polygamma(1, t), [0.3, 1.7, 4.2, -0.5, 12.0]),
    "polygamma3": (lambda t: minigrad.polygamma(3, t), [0.3, 1.7, 4.2, 12.0]),
    "mvlgamma": (lambda t: minigrad.mvlgamma(t, 3), [1.3, 2.7, 4.2]),
    "erfc": (minigrad.erfc, [-1.2, 0.1, 0.8, 2.5]),
    "erfinv": (minigrad.erfinv, [-0.9, -0.2, 0.3, 0.95]),
    "erfcx": (special.erfcx, [-1.5, 0.3, 2.0, 15.0]),
    "ndtr": (special.ndtr, [-2.0, -0.3, 0.5, 1.5]),
    "ndtri": (special.ndtri, [0.01, 0.2, 0.6, 0.97]),
    "log_ndtr": (special.log_ndtr, [-20.0, -3.0, 0.2, 2.0]),
    "i0": (minigrad.i0, [-3.0, 0.4, 2.0, 9.0]),
    "i0e": (special.i0e, [-3.0, 0.4, 2.0, 35.0]),
    "i1": (special.i1, [-3.0, 0.4, 2.0, 9.0]),
    "i1e": (special.i1e, [-3.0, 0.4, 2.0, 35.0]),
    "entr": (special.entr, [0.1, 0.7, 3.0]),
    "xlog1py": (lambda t: special.xlog1py(t, t * 0.5 + 1), [0.0, -0.5, 0.7, 3.0]),
}


@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_gradients_by_finite_differences(name):
    fn, points = SMOOTH[name]
    x = minigrad.tensor(points, dtype=minigrad.float64, requires_grad=True)
    assert gradcheck(fn, [x], eps=1e-6, atol=1e-6, rtol=1e-5)


def test_gradients_at_edges_match_torch():
    x = np.array([0.0, 1e-20, -2.0])
    ref = torch_reference("edge_grads", lambda torch: {
        "i1": torch.autograd.grad(torch.special.i1(t := torch.tensor(x, requires_grad=True)).sum(), t)[0],
        "i1e": torch.autograd.grad(torch.special.i1e(t := torch.tensor(x, requires_grad=True)).sum(), t)[0],
        "erfinv": torch.autograd.grad(
            torch.erfinv(t := torch.tensor([1.0, 0.0], dtype=torch.float64, requires_grad=True)).sum(), t)[0],
    })
    for name, fn, values in (("i1", special.i1, x), ("i1e", special.i1e, x), ("erfinv", minigrad.erfinv, [1.0, 0.0])):
        t = minigrad.tensor(values, dtype=minigrad.float64, requires_grad=True)
        fn(t).sum().backward()
        _close(t.grad.numpy(), ref[name], 1e-13, 0, name)


def test_bad_arguments_raise():
    x = minigrad.tensor([1.0, 2.0])
    with pytest.raises(TypeError):
        minigrad.lgamma(1.0)
    with pytest.raises(RuntimeError, match="negative n"):
        minigrad.polygamma(-1, x)
    with pytest.raises(TypeError):
        minigrad.polygamma(1.5, x)
    with pytest.raises(RuntimeError, match="greater than or equal to 1"):
        minigrad.mvlgamma(x, 0)
    with pytest.raises(RuntimeError, match=r"greater than \(p-1\)/2"):
        minigrad.mvlgamma(x, 3)


# --- distributions ------------------------------------------------------------------------------

C1 = RNG.uniform(0.5, 4.0, (3, 4))
C0 = RNG.uniform(0.5, 4.0, (3, 4))
RATE = RNG.uniform(0.5, 3.0, (3, 4))
LOC = RNG.standard_normal((3, 4))
SCALE = RNG.uniform(0.5, 2.0, (3, 4))
POS_VALUE = RNG.uniform(0.1, 5.0, (2, 3, 4))
UNIT_VALUE = RNG.uniform(0.05, 0.95, (2, 3, 4))
REAL_VALUE = RNG.standard_normal((2, 3, 4)) * 2
COUNT_VALUE = RNG.integers(0, 8, (2, 3, 4)).astype(np.float64)
PROBS = RNG.uniform(0.1, 0.9, (3, 4))
CONC = RNG.uniform(0.5, 3.0, (3, 5))
SIMPLEX = RNG.dirichlet(np.ones(5), (2, 3))
DF = RNG.uniform(2.5, 8.0, (3, 4))


def t64(a):
    return minigrad.tensor(np.asarray(a, dtype=np.float64))


def _make(lib, name, second=False):
    """The distribution `name` of lib (torch or minigrad), its float64 parameters (second: the KL's q)."""
    T = (lambda a: lib.tensor(np.asarray(a, dtype=np.float64))) if lib is not minigrad else t64
    dist = lib.distributions
    k = 1.3 if second else 1.0
    return {
        "Gamma": lambda: dist.Gamma(T(C1 * k), T(RATE)),
        "Beta": lambda: dist.Beta(T(C1), T(C0 * k)),
        "Dirichlet": lambda: dist.Dirichlet(T(CONC * k)),
        "Exponential": lambda: dist.Exponential(T(RATE * k)),
        "Laplace": lambda: dist.Laplace(T(LOC * k), T(SCALE)),
        "LogNormal": lambda: dist.LogNormal(T(LOC), T(SCALE * k)),
        "Poisson": lambda: dist.Poisson(T(RATE * k)),
        "Binomial": lambda: dist.Binomial(7, T(PROBS / k)),
        "Geometric": lambda: dist.Geometric(T(PROBS / k)),
        "Cauchy": lambda: dist.Cauchy(T(LOC), T(SCALE * k)),
        "StudentT": lambda: dist.StudentT(T(DF * k), T(LOC), T(SCALE)),
    }[name]()


VALUES = {"Gamma": POS_VALUE, "Beta": UNIT_VALUE, "Dirichlet": SIMPLEX, "Exponential": POS_VALUE,
          "Laplace": REAL_VALUE, "LogNormal": POS_VALUE, "Poisson": COUNT_VALUE, "Binomial": COUNT_VALUE,
          "Geometric": COUNT_VALUE, "Cauchy": REAL_VALUE, "StudentT": REAL_VALUE}
NO_ENTROPY = {"Poisson"}
PROPERTIES = ("mean", "variance", "stddev", "mode")
CDF = {"Exponential", "Laplace", "LogNormal", "Cauchy"}


@pytest.mark.parametrize("name", sorted(VALUES))
def test_distribution_matches_torch(name):
    value = VALUES[name]

    def compute(torch):
        d = _make(torch, name)
        out = {"log_prob": d.log_prob(torch.tensor(value))}
        if name not in NO_ENTROPY:
            out["entropy"] = d.entropy()
        for prop in PROPERTIES:
            out[prop] = getattr(d, prop)
        if name in CDF:
            out["cdf"] = d.cdf(torch.tensor(value[0]))
            out["icdf"] = d.icdf(torch.tensor(UNIT_VALUE[0]))
        return out

    ref = torch_reference(f"dist/{name}", compute)
    d = _make(minigrad, name)
    got = {"log_prob": d.log_prob(t64(value))}
    if name not in NO_ENTROPY:
        got["entropy"] = d.entropy()
    else:
        with pytest.raises(NotImplementedError):
            d.entropy()
    for prop in PROPERTIES:
        got[prop] = getattr(d, prop)
    if name in CDF:
        got["cdf"] = d.cdf(t64(value[0]))
        got["icdf"] = d.icdf(t64(UNIT_VALUE[0]))
    assert set(got) == set(ref)
    for key, v in got.items():
        _close(v.detach().numpy(), ref[key], 1e-11, 1e-13, f"{name}.{key}")
    assert tuple(d.batch_shape) == tuple(ref["log_prob"].shape[1:])


KL_PAIRS = ["Gamma", "Beta", "Dirichlet", "Exponential", "Laplace", "Poisson", "Geometric", "Binomial",
            "LogNormal", "Cauchy"]


@pytest.mark.parametrize("name", KL_PAIRS)
def test_kl_divergence_matches_torch(name):
    ref = torch_reference(f"kl/{name}", lambda torch: {
        "kl": torch.distributions.kl_divergence(_make(torch, name), _make(torch, name, second=True))
    })
    got = D.kl_divergence(_make(minigrad, name), _make(minigrad, name, second=True))
    _close(got.numpy(), ref["kl"], 1e-11, 1e-13, name)


def test_log_prob_and_entropy_gradients():
    def gamma_fn(c, r):
        d = D.Gamma(c, r)
        return d.log_prob(t64(POS_VALUE[0])) + d.entropy()

    def beta_fn(a, b):
        d = D.Beta(a, b)
        return d.log_prob(t64(UNIT_VALUE[0])) + d.entropy()

    def dirichlet_fn(c):
        d = D.Dirichlet(c)
        return d.log_prob(t64(SIMPLEX)) + d.entropy()

    def student_fn(df, loc, scale):
        d = D.StudentT(df, loc, scale)
        return d.log_prob(t64(REAL_VALUE[0])) + d.entropy()

    def req(a):
        return minigrad.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)

    assert gradcheck(gamma_fn, [req(C1), req(RATE)], atol=1e-6, rtol=1e-5)
    assert gradcheck(beta_fn, [req(C1), req(C0)], atol=1e-6, rtol=1e-5)
    assert gradcheck(dirichlet_fn, [req(CONC)], atol=1e-6, rtol=1e-5)
    assert gradcheck(student_fn, [req(DF), req(LOC), req(SCALE)], atol=1e-6, rtol=1e-5)
    assert gradcheck(lambda r: D.Poisson(r).log_prob(t64(COUNT_VALUE)), [req(RATE)], atol=1e-6, rtol=1e-5)
    assert gradcheck(lambda p: D.Binomial(7, p).log_prob(t64(COUNT_VALUE)) + D.Binomial(7, p).entropy(),
                     [req(PROBS)], atol=1e-6, rtol=1e-5)
    assert gradcheck(lambda p: D.Geometric(p).log_prob(t64(COUNT_VALUE)) + D.Geometric(p).entropy(),
                     [req(PROBS)], atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("name", ["Exponential", "Laplace", "LogNormal", "Cauchy"])
def test_rsample_is_reparameterised(name):
    def req(a):
        return minigrad.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)

    def fn(*params):
        minigrad.manual_seed(3)  # the same noise on every evaluation
        return getattr(D, name)(*params).rsample((2,))

    params = [req(RATE)] if name == "Exponential" else [req(LOC), req(SCALE)]
    assert getattr(D, name).has_rsample
    assert gradcheck(fn, params, atol=1e-6, rtol=1e-5)


N = 20000


@pytest.mark.parametrize("name", sorted(VALUES))
def test_sample_shapes_and_moments(name):
    minigrad.manual_seed(0)
    d = _make(minigrad, name)
    s = d.sample((N,))
    assert tuple(s.shape) == (N, *d.batch_shape, *d.event_shape)
    assert s.dtype == minigrad.float64 and s.grad_fn is None
    assert bool(d.support.check(s).all().item())
    if name in ("Cauchy",):
        median = np.median(s.numpy(), axis=0)
        np.testing.assert_allclose(median, LOC, atol=0.1 * SCALE.max())
        return
    mean, var = d.mean.detach().numpy(), d.variance.detach().numpy()
    se = np.sqrt(var / N)
    assert np.all(np.abs(s.numpy().mean(0) - mean) < 6 * se + 1e-12), name
    if name not in ("StudentT", "LogNormal"):  # heavy tails: the sample variance converges slowly
        np.testing.assert_allclose(s.numpy().var(0), var, rtol=0.15)
    # float32 parameters give float32 samples; the seed repeats them
    minigrad.manual_seed(5)
    a = _make(minigrad, name).sample((3,))
    minigrad.manual_seed(5)
    b = _make(minigrad, name).sample((3,))
    assert np.array_equal(a.numpy(), b.numpy())


def test_float32_parameters_give_float32_samples():
    f = minigrad.float32
    for d in (D.Gamma(minigrad.tensor([2.0], dtype=f), 1.0), D.Poisson(minigrad.tensor([2.0], dtype=f)),
              D.Beta(minigrad.tensor([2.0], dtype=f), 3.0), D.Exponential(minigrad.tensor([2.0], dtype=f)),
              D.Binomial(5, minigrad.tensor([0.3], dtype=f))):
        assert d.sample((4,)).dtype == f and d.log_prob(d.sample((4,))).dtype == f
    assert D.Beta(2.0, 3.0).sample().shape == ()


def test_bad_distribution_arguments_raise():
    with pytest.raises(ValueError, match="concentration"):
        D.Gamma(t64([-1.0]), 1.0)
    with pytest.raises(ValueError):
        D.Beta(t64([1.0]), t64([0.0]))
    with pytest.raises(ValueError, match="at least one-dimensional"):
        D.Dirichlet(t64(2.0))
    with pytest.raises(ValueError):
        D.Exponential(t64([0.0]))
    with pytest.raises(ValueError):
        D.Poisson(t64([-1.0]))
    with pytest.raises(ValueError):
        D.Binomial(t64([2.5]), t64([0.3]))
    with pytest.raises(ValueError, match="not both"):
        D.Geometric(probs=0.5, logits=0.0)
    with pytest.raises(ValueError):
        D.Geometric(t64([0.0]))
    with pytest.raises(ValueError, match="support"):
        D.Gamma(t64([2.0]), 1.0).log_prob(t64([-1.0]))
    with pytest.raises(ValueError, match="support"):
        D.Poisson(t64([2.0])).log_prob(t64([1.5]))
    with pytest.raises(NotImplementedError, match="total_count"):
        D.kl_divergence(D.Binomial(3, t64([0.3])), D.Binomial(5, t64([0.3])))
    with pytest.raises(NotImplementedError, match="Inhomogeneous"):
        D.Binomial(t64([3.0, 4.0]), t64([0.3, 0.3])).entropy()
