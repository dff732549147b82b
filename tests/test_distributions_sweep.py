"""What a differential sweep of minigrad.distributions against PyTorch found and fixed, each program
run on both libraries (`program(lib)`, lib minigrad or torch) and compared with PyTorch's results
(live, or recorded in tests/fixtures/torch_reference/test_distributions_sweep.npz), in float64 to
rtol 1e-9 (float32 to 1e-6):

- Gamma.cdf (and so Chi2's and InverseGamma's): the regularised lower incomplete gamma function
  (torch.special.gammainc), with its gradient in the value and the rate, NotImplementedError for
  the gradient in the concentration, as PyTorch's;
- Gamma.log_prob and HalfCauchy.log_prob cast the value to the parameters' dtype (a float64 value
  on float32 parameters gives float32), Gamma's before validating it (a number is accepted);
- Dirichlet.mode (and so Beta.mode) where every concentration is below 1: the first vertex, as
  PyTorch's (minigrad took the vertex of the largest concentration);
- LogNormal.cdf validates log(value) against the Normal's support, as PyTorch's (cdf(0) = 0, not
  a ValueError);
- MultivariateNormal / LowRankMultivariateNormal on a matrix that is not positive-definite raise
  linalg.LinAlgError (a RuntimeError), as torch.linalg.cholesky;
- the KL divergences PyTorch registers that minigrad lacked (Bernoulli/Poisson, the
  Beta/ContinuousBernoulli/Exponential/Gamma/Laplace/Normal/Uniform cross pairs, the infinite
  ones), values and gradients in the parameters;
- Bernoulli, Beta, Chi2, ContinuousBernoulli, Dirichlet, Exponential, Gamma, Normal, Poisson and
  Wishart are ExponentialFamily subclasses (natural parameters, log normalizer, carrier measure),
  as PyTorch's, so KL(Wishart || Wishart) is the Bregman divergence of the log normalizer."""

import math

import numpy as np
import pytest
from parity import caught_report, check_program
from torch_reference import TorchReference

torch_reference = TorchReference(__name__)


def check(key, program, rtol=1e-9):
    """program(minigrad)'s results against program(torch)'s (parity.check_program)."""
    check_program(torch_reference, key, program, rtol)


def _t(lib, values, requires_grad=False, dtype="float64"):
    return lib.tensor(np.asarray(values, dtype=np.float64), dtype=getattr(lib, dtype), requires_grad=requires_grad)


# ------------------------------------------------------------------- Gamma.cdf (gammainc)
GAMMA_CONCENTRATION = [0.3, 1.0, 2.5, 7.0, 60.0]
GAMMA_RATE = [1.5, 0.7, 2.0, 1.0, 0.9]
# (2, 5): each concentration at a value below (series) and above (continued fraction) c + 1
GAMMA_VALUE = [[0.05, 0.4, 0.8, 4.0, 50.0], [3.0, 6.0, 4.0, 12.0, 90.0]]


def _gamma_cdf(lib, dtype):
    D = lib.distributions
    c = _t(lib, GAMMA_CONCENTRATION, dtype=dtype)
    rate = _t(lib, GAMMA_RATE, requires_grad=True, dtype=dtype)
    value = _t(lib, GAMMA_VALUE, requires_grad=True, dtype=dtype)
    cdf = D.Gamma(c, rate).cdf(value)
    cdf.sum().backward()
    edges = D.Gamma(c, rate, validate_args=False).cdf(_t(lib, [0.0, math.inf, -1.0, 0.0, 1e-300], dtype=dtype))
    return {"cdf": cdf, "grad_rate": rate.grad, "grad_value": value.grad, "edges": edges}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_gamma_cdf_as_torch(dtype):
    check(f"gamma_cdf/{dtype}", lambda lib: _gamma_cdf(lib, dtype), rtol=1e-9 if dtype == "float64" else 1e-6)


def _chi2_inverse_gamma_cdf(lib):
    D = lib.distributions
    df = _t(lib, [1.5, 3.0, 8.0], requires_grad=True)
    value = _t(lib, [[0.2, 2.0, 7.0], [3.0, 0.5, 12.0]], requires_grad=True)
    chi2 = D.Chi2(df.detach()).cdf(value)
    inv = D.InverseGamma(df.detach(), _t(lib, [0.5, 1.0, 2.0])).cdf(value)
    (chi2.sum() + inv.sum()).backward()
    return {"chi2": chi2, "inverse_gamma": inv, "grad_value": value.grad, "py_numbers": D.Gamma(2.0, 3.0).cdf(
        _t(lib, [0.1, 1.0]))}


def test_chi2_inverse_gamma_cdf_as_torch():
    check("chi2_inverse_gamma_cdf", _chi2_inverse_gamma_cdf)


def _gamma_cdf_mistakes(lib):
    D = lib.distributions
    t = lambda v, g=False: _t(lib, v, requires_grad=g)  # noqa: E731

    def concentration_grad():
        D.Gamma(t([1.5, 2.0], True), t([1.0, 1.0])).cdf(t([0.5, 1.0])).sum().backward()

    return caught_report({
        "concentration_grad": (NotImplementedError, concentration_grad),
        "negative_value": (ValueError, lambda: D.Gamma(t([1.5]), t([1.0]), validate_args=True).cdf(t([-0.5]))),
    })


def test_gamma_cdf_mistakes_as_torch():
    check("gamma_cdf_mistakes", _gamma_cdf_mistakes)


# ------------------------------------------------------------------- log_prob's value cast
def _log_prob_cast(lib):
    D = lib.distributions
    value64 = _t(lib, [[0.5, 1.5], [2.0, 0.25]])
    gamma = D.Gamma(_t(lib, [1.5, 0.8], dtype="float32"), _t(lib, [2.0, 1.0], dtype="float32"))
    half_cauchy = D.HalfCauchy(_t(lib, [1.5, 0.8], dtype="float32"))
    chi2 = D.Chi2(2.5)  # Python numbers: float32 parameters
    return {
        "gamma": gamma.log_prob(value64),
        "half_cauchy": half_cauchy.log_prob(value64),
        "half_cauchy_negative": D.HalfCauchy(_t(lib, [1.5, 0.8], dtype="float32"), validate_args=False).log_prob(
            _t(lib, [-0.5, 1.0])),
        "chi2": chi2.log_prob(value64),
        "gamma_number": D.Gamma(_t(lib, [1.5, 0.8]), _t(lib, [2.0, 1.0]), validate_args=True).log_prob(0.5),
    }


def test_log_prob_value_cast_as_torch():
    check("log_prob_cast", _log_prob_cast, rtol=1e-6)


# ------------------------------------------------------------------- Dirichlet/Beta mode, LogNormal cdf
def _mode_and_cdf(lib):
    D = lib.distributions
    conc = _t(lib, [[0.5, 0.7, 0.2], [0.9, 0.3, 0.6], [2.0, 3.0, 4.0], [0.5, 1.5, 0.2]], requires_grad=True)
    mode = D.Dirichlet(conc).mode
    (mode * _t(lib, [1.0, 2.0, 3.0])).sum().backward()
    beta = D.Beta(_t(lib, [0.5, 0.7, 2.0, 0.5]), _t(lib, [0.7, 0.5, 0.5, 3.0])).mode
    log_normal = D.LogNormal(_t(lib, [0.1, -0.3]), _t(lib, [1.5, 0.7]), validate_args=True)
    return {"dirichlet": mode, "grad": conc.grad, "beta": beta,
            "lognormal_cdf": log_normal.cdf(_t(lib, [[0.0, 0.5], [2.0, math.inf]])),
            **caught_report({"lognormal_cdf_negative": (ValueError, lambda: log_normal.cdf(_t(lib, [-1.0, 0.5])))})}


def test_mode_and_lognormal_cdf_as_torch():
    check("mode_and_cdf", _mode_and_cdf)


# ------------------------------------------------------------------- not positive-definite: LinAlgError
def _not_positive_definite(lib):
    D = lib.distributions
    t = lambda v: _t(lib, v)  # noqa: E731
    loc = t([0.0, 0.0])
    bad = t([[1.0, 2.0], [2.0, 1.0]])  # symmetric, eigenvalues 3 and -1
    return caught_report({
        "mvn_covariance": (lib.linalg.LinAlgError, lambda: D.MultivariateNormal(
            loc, covariance_matrix=bad, validate_args=False)),
        "mvn_precision": (lib.linalg.LinAlgError, lambda: D.MultivariateNormal(
            loc, precision_matrix=bad, validate_args=False)),
        "lowrank_negative_diag": (lib.linalg.LinAlgError, lambda: D.LowRankMultivariateNormal(
            loc, t([[1.0], [0.5]]), t([-1.0, 1.0]), validate_args=True)),
        "mvn_covariance_runtime": (RuntimeError, lambda: D.MultivariateNormal(
            loc, covariance_matrix=bad, validate_args=False)),
        "mvn_covariance_validated": (ValueError, lambda: D.MultivariateNormal(
            loc, covariance_matrix=bad, validate_args=True)),
    })


def test_not_positive_definite_as_torch():
    check("not_positive_definite", _not_positive_definite)


# ------------------------------------------------------------------- the KL pairs minigrad lacked
# p's parameters have batch shape (3,), q's (2, 3): the KL broadcasts to (2, 3) (or p's shape, for
# the pairs that are infinite everywhere, as PyTorch's _infinite_like)
P_PARAMS = {
    "Bernoulli": {"probs": [0.2, 0.7, 0.5]},
    "Beta": {"concentration1": [1.5, 0.7, 2.0], "concentration0": [0.8, 2.5, 1.2]},
    "ContinuousBernoulli": {"probs": [0.2, 0.7, 0.45]},
    "Exponential": {"rate": [1.5, 0.7, 2.0]},
    "Gamma": {"concentration": [1.5, 0.7, 4.0], "rate": [0.8, 2.5, 1.2]},
    "Gumbel": {"loc": [0.1, -0.3, 0.5], "scale": [1.5, 0.7, 2.0]},
    "Laplace": {"loc": [0.1, -0.3, 0.5], "scale": [1.5, 0.7, 2.0]},
    "Normal": {"loc": [0.1, -0.3, 0.5], "scale": [1.5, 0.7, 2.0]},
    "Pareto": {"scale": [1.0, 0.5, 2.0], "alpha": [2.8, 2.5, 3.5]},
    "Poisson": {"rate": [1.5, 0.7, 2.0]},
    # the last starts below 0: infinite against q's on [0, inf) and [0, 1]
    "Uniform": {"low": [0.1, 0.3, -0.2], "high": [0.6, 0.9, 0.5]},
}
Q_PARAMS = {
    "Bernoulli": {"probs": [[0.3, 0.6, 0.5], [0.1, 0.9, 0.4]]},
    "Beta": {"concentration1": [[1.2, 0.9, 2.5], [3.0, 1.1, 0.6]],
             "concentration0": [[0.7, 2.0, 1.4], [1.3, 0.5, 2.2]]},
    "Binomial": {"probs": [[0.3, 0.6, 0.5], [0.1, 0.9, 0.4]]},
    "ContinuousBernoulli": {"probs": [[0.3, 0.6, 0.55], [0.1, 0.9, 0.4]]},
    "Exponential": {"rate": [[1.2, 0.9, 2.5], [3.0, 1.1, 0.6]]},
    "Gamma": {"concentration": [[1.2, 0.9, 2.5], [3.0, 1.1, 0.6]], "rate": [[0.7, 2.0, 1.4], [1.3, 0.5, 2.2]]},
    "Laplace": {"loc": [[0.3, -0.1, 0.2], [-0.4, 0.6, 1.0]], "scale": [[1.2, 0.9, 2.5], [3.0, 1.1, 0.6]]},
    "Normal": {"loc": [[0.3, -0.1, 0.2], [-0.4, 0.6, 1.0]], "scale": [[1.2, 0.9, 2.5], [3.0, 1.1, 0.6]]},
    "Pareto": {"scale": [[1.0, 0.5, 2.0], [0.2, 0.3, 0.1]], "alpha": [[2.8, 2.5, 3.5], [1.5, 4.0, 2.2]]},
    "Poisson": {"rate": [[1.2, 0.9, 2.5], [3.0, 1.1, 0.6]]},
    # covering [0, 1] (finite against Beta); exactly [0, 1] (finite against Beta, infinite against
    # ContinuousBernoulli, as PyTorch's); not covering it (infinite)
    "Uniform": {"low": [[-0.5, 0.0, 0.2], [-1.0, 0.0, -0.5]], "high": [[1.5, 1.0, 1.2], [2.0, 1.5, 0.8]]},
}


def _make(D, name, params):
    if name == "Binomial":
        return D.Binomial(4, probs=params["probs"])
    return getattr(D, name)(**params)


KL_PAIRS = [
    ("Bernoulli", "Poisson"),
    ("Beta", "ContinuousBernoulli"), ("Beta", "Exponential"), ("Beta", "Gamma"), ("Beta", "Normal"),
    ("Beta", "Uniform"),
    ("ContinuousBernoulli", "ContinuousBernoulli"), ("ContinuousBernoulli", "Exponential"),
    ("ContinuousBernoulli", "Normal"), ("ContinuousBernoulli", "Pareto"), ("ContinuousBernoulli", "Uniform"),
    ("Exponential", "Beta"), ("Exponential", "ContinuousBernoulli"), ("Exponential", "Gamma"),
    ("Exponential", "Normal"), ("Exponential", "Uniform"),
    ("Gamma", "Beta"), ("Gamma", "ContinuousBernoulli"), ("Gamma", "Exponential"), ("Gamma", "Normal"),
    ("Gamma", "Uniform"),
    ("Gumbel", "ContinuousBernoulli"),
    ("Laplace", "Beta"), ("Laplace", "ContinuousBernoulli"), ("Laplace", "Exponential"), ("Laplace", "Gamma"),
    ("Laplace", "Normal"), ("Laplace", "Uniform"),
    ("Normal", "Beta"), ("Normal", "ContinuousBernoulli"), ("Normal", "Exponential"), ("Normal", "Gamma"),
    ("Normal", "Laplace"), ("Normal", "Uniform"),
    ("Pareto", "ContinuousBernoulli"),
    ("Poisson", "Bernoulli"), ("Poisson", "Binomial"),
    ("Uniform", "Beta"), ("Uniform", "ContinuousBernoulli"), ("Uniform", "Exponential"), ("Uniform", "Gamma"),
    ("Uniform", "Normal"),
]


# PyTorch writes inf into these through p's (3,) mask, which does not broadcast to (2, 3) (IndexError):
# they take q's first row (minigrad broadcasts, test_uniform_kl_broadcasts)
P_SHAPED_MASK = {("Uniform", "Beta"), ("Uniform", "Exponential"), ("Uniform", "Gamma")}


def _q_params(name_p, name_q):
    params = Q_PARAMS[name_q]
    return {k: v[0] for k, v in params.items()} if (name_p, name_q) in P_SHAPED_MASK else params


def _kl_program(name_p, name_q):
    def program(lib):
        D = lib.distributions
        p_params = {k: _t(lib, v, requires_grad=True) for k, v in P_PARAMS[name_p].items()}
        q_params = {k: _t(lib, v, requires_grad=True) for k, v in _q_params(name_p, name_q).items()}
        kl = D.kl_divergence(_make(D, name_p, p_params), _make(D, name_q, q_params))
        out = {"kl": kl}
        if kl.requires_grad:
            kl.sum().backward()
        for side, params in (("p", p_params), ("q", q_params)):
            for k, v in params.items():
                if v.grad is not None:
                    out[f"grad_{side}_{k}"] = v.grad
        return out
    return program


@pytest.mark.parametrize(("name_p", "name_q"), KL_PAIRS)
def test_kl_pairs_as_torch(name_p, name_q):
    check(f"kl/{name_p}_{name_q}", _kl_program(name_p, name_q))


@pytest.mark.parametrize("name_q", ["Beta", "Exponential", "Gamma"])
def test_uniform_kl_broadcasts(name_q):
    """minigrad alone: KL(Uniform || q) with q's batch (2, 3) against p's (3,) is each row's KL."""
    import minigrad

    D = minigrad.distributions
    p = D.Uniform(**{k: _t(minigrad, v) for k, v in P_PARAMS["Uniform"].items()})
    rows = [D.kl_divergence(p, _make(D, name_q, {k: _t(minigrad, v[i]) for k, v in Q_PARAMS[name_q].items()}))
            for i in range(2)]
    kl = D.kl_divergence(p, _make(D, name_q, {k: _t(minigrad, v) for k, v in Q_PARAMS[name_q].items()}))
    np.testing.assert_array_equal(kl.numpy(), np.stack([r.numpy() for r in rows]))
    assert np.isinf(kl.numpy()[:, 2]).all() and np.isfinite(kl.numpy()[:, :2]).all()


def _kl_wishart(lib):
    D = lib.distributions
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 3, 3)), rng.standard_normal((3, 3))
    df_p = _t(lib, [4.5, 6.0], requires_grad=True)
    cov = _t(lib, a @ a.transpose(0, 2, 1) + 3 * np.eye(3), requires_grad=True)
    df_q = _t(lib, 5.0, requires_grad=True)
    precision = _t(lib, b @ b.T + 3 * np.eye(3), requires_grad=True)
    kl = D.kl_divergence(D.Wishart(df_p, covariance_matrix=cov), D.Wishart(df_q, precision_matrix=precision))
    kl.sum().backward()  # p's natural parameters are detached there, as PyTorch's: no gradient to p
    return {"kl": kl, "grad_df_q": df_q.grad, "grad_precision": precision.grad,
            "p_grads": np.array([df_p.grad is None, cov.grad is None]),
            "exponential_family": np.array(isinstance(D.Wishart(df_q, precision_matrix=precision),
                                                      D.ExponentialFamily))}


def test_kl_wishart_as_torch():
    check("kl_wishart", _kl_wishart)


EXP_FAMILIES = {
    "Bernoulli": lambda D, t: D.Bernoulli(probs=t([0.2, 0.7, 0.5])),
    "Beta": lambda D, t: D.Beta(t([1.5, 0.7, 2.0]), t([0.8, 2.5, 1.2])),
    "Chi2": lambda D, t: D.Chi2(t([1.5, 3.0, 5.0])),
    "ContinuousBernoulli": lambda D, t: D.ContinuousBernoulli(probs=t([0.2, 0.7, 0.4995])),
    "Dirichlet": lambda D, t: D.Dirichlet(t([[1.5, 0.7, 2.0], [0.8, 2.5, 1.2]])),
    "Exponential": lambda D, t: D.Exponential(t([1.5, 0.7, 2.0])),
    "Gamma": lambda D, t: D.Gamma(t([1.5, 0.7, 2.0]), t([0.8, 2.5, 1.2])),
    "Normal": lambda D, t: D.Normal(t([0.1, -0.3, 0.5]), t([1.5, 0.7, 2.0])),
    "Poisson": lambda D, t: D.Poisson(t([1.5, 0.7, 2.0])),
}


@pytest.mark.parametrize("name", sorted(EXP_FAMILIES))
def test_exponential_family_members_as_torch(name):
    """isinstance ExponentialFamily; the natural parameters, the log normalizer at them and its
    gradient (which gives the mean of the sufficient statistics)."""
    def program(lib):
        D = lib.distributions
        d = EXP_FAMILIES[name](D, lambda v: _t(lib, v))
        params = [p.detach().requires_grad_() for p in d._natural_params]
        log_normalizer = d._log_normalizer(*params)
        log_normalizer.sum().backward()
        out = {"exponential_family": np.array(isinstance(d, D.ExponentialFamily)), "log_normalizer": log_normalizer}
        for i, p in enumerate(params):
            out[f"natural_{i}"] = p
            out[f"grad_{i}"] = p.grad
        return out
    check(f"exp_family/{name}", program)
