"""The distributions added after the first set: MixtureSameFamily, OneHotCategorical(+StraightThrough),
Multinomial, HalfNormal, HalfCauchy, Gumbel, Weibull, Pareto, Chi2, NegativeBinomial,
LowRankMultivariateNormal, (Logit)RelaxedBernoulli, RelaxedOneHotCategorical / ExpRelaxedCategorical
and ExponentialFamily, each program run on both libraries (`program(lib)`, lib minigrad or torch)
and compared with PyTorch's results (live, or recorded in
tests/fixtures/torch_reference/test_distributions_more.npz), in float64 to rtol 1e-9: log_prob
with batch broadcasting, moments, mode, entropy, cdf/icdf, their gradients with respect to the
parameters, KL divergences (and their gradients), the ValueError of validate_args, shapes and
supports of samples. Samples cannot match PyTorch's random stream: their moments are checked
against the analytic ones (minigrad alone, seeded), and reparameterised gradients against the
derivative of the sampling map at the drawn sample."""

import math

import numpy as np
import pytest
from parity import caught_report, check_program
from torch_reference import TorchReference

import minigrad

torch_reference = TorchReference(__name__)


def check(key, program, rtol=1e-9):
    """program(minigrad)'s results against program(torch)'s (parity.check_program)."""
    check_program(torch_reference, key, program, rtol)


def _t(lib, values, requires_grad=False):
    return lib.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def as_numpy(x):
    return x.detach().cpu().numpy()


RNG = np.random.default_rng(0)
POS3 = [1.5, 0.7, 2.0]
PROBS34 = RNG.uniform(0.1, 1.0, (3, 4))  # unnormalised: the distributions normalise them
LOGITS34 = RNG.standard_normal((3, 4))
ONE_HOT = np.eye(4)[[[2, 0, 3], [1, 1, 0]]]  # (2, 3, 4): broadcasts over the batch of 3
COUNTS = np.array([[[2, 0, 3, 0], [1, 1, 1, 2], [0, 0, 0, 5]], [[1, 0, 0, 0], [0, 2, 0, 1], [4, 0, 1, 0]]], float)
LR_LOC = RNG.standard_normal((2, 3))
LR_FACTOR = RNG.standard_normal((3, 2))
LR_DIAG = RNG.uniform(0.5, 1.5, 3)
LR_VALUE = RNG.standard_normal((4, 1, 3))
LR_LOC_Q = RNG.standard_normal((2, 3))
LR_FACTOR_Q = RNG.standard_normal((2, 3, 2))
LR_DIAG_Q = RNG.uniform(0.5, 1.5, (2, 3))
MVN_TRIL = np.array([[1.2, 0.0, 0.0], [0.3, 0.8, 0.0], [-0.4, 0.5, 1.1]])
RELAXED_LOGITS = RNG.standard_normal((2, 4))
SIMPLEX = RNG.dirichlet(np.ones(4), (3, 2))  # (3, 2, 4): broadcasts over the batch of 2
QS = [0.1, 0.5, 0.9]


# ------------------------------------------------------------------- each family against PyTorch
# name -> params (float64 arrays, differentiated), make(D, params), a value of shape (2,) + batch
# (log_prob and cdf broadcast it), what to compare, and which of those add to the differentiated loss
FAMILIES = {
    "Gumbel": dict(
        params={"loc": [0.1, -0.3, 0.5], "scale": POS3},
        make=lambda D, p: D.Gumbel(p["loc"], p["scale"]),
        value=[[0.2, -1.0, 3.0], [1.5, 0.0, -0.7]],
        attrs=("mean", "variance", "stddev", "mode", "entropy", "cdf", "icdf"),
        grad=("mean", "variance", "entropy", "cdf", "icdf"),
    ),
    "HalfNormal": dict(
        params={"scale": POS3},
        make=lambda D, p: D.HalfNormal(p["scale"]),
        value=[[0.2, 1.0, 3.0], [1.5, 0.0, 0.7]],
        attrs=("mean", "variance", "stddev", "mode", "entropy", "cdf", "icdf"),
        grad=("mean", "variance", "entropy", "cdf", "icdf"),
    ),
    "HalfCauchy": dict(
        params={"scale": POS3},
        make=lambda D, p: D.HalfCauchy(p["scale"]),
        value=[[0.2, 1.0, 3.0], [1.5, 0.0, 0.7]],
        attrs=("mean", "variance", "mode", "entropy", "cdf", "icdf"),
        grad=("entropy", "cdf", "icdf"),
    ),
    "Weibull": dict(
        params={"scale": POS3, "concentration": [0.8, 2.5, 1.2]},
        make=lambda D, p: D.Weibull(p["scale"], p["concentration"]),
        value=[[0.2, 1.0, 3.0], [1.5, 0.3, 0.7]],
        attrs=("mean", "variance", "stddev", "mode", "entropy", "cdf", "icdf"),
        grad=("mean", "variance", "entropy", "cdf", "icdf"),
    ),
    "Pareto": dict(
        params={"scale": [1.0, 0.5, 2.0], "alpha": [2.8, 2.5, 3.5]},
        make=lambda D, p: D.Pareto(p["scale"], p["alpha"]),
        value=[[2.5, 0.6, 2.1], [1.0, 3.0, 5.0]],
        attrs=("mean", "variance", "stddev", "mode", "entropy", "cdf", "icdf"),
        grad=("mean", "variance", "entropy", "cdf", "icdf"),
    ),
    "Pareto_heavy": dict(  # alpha <= 1 and <= 2: infinite mean and variance
        params={"scale": [1.0, 0.5, 2.0], "alpha": [0.8, 1.5, 3.5]},
        make=lambda D, p: D.Pareto(p["scale"], p["alpha"]),
        value=[[2.5, 0.6, 2.1], [1.0, 3.0, 5.0]],
        attrs=("mean", "variance", "mode", "entropy"),
        grad=("entropy",),
    ),
    "Chi2": dict(
        params={"df": [1.5, 3.0, 5.0]},
        make=lambda D, p: D.Chi2(p["df"]),
        value=[[0.2, 1.0, 3.0], [1.5, 0.3, 7.0]],
        attrs=("df", "mean", "variance", "stddev", "mode", "entropy"),
        grad=("mean", "variance", "entropy"),
    ),
    "NegativeBinomial_probs": dict(
        params={"total_count": [2.0, 3.5, 5.0], "probs": [0.2, 0.5, 0.7]},
        make=lambda D, p: D.NegativeBinomial(p["total_count"], probs=p["probs"]),
        value=[[0.0, 3.0, 1.0], [4.0, 0.0, 7.0]],
        attrs=("mean", "variance", "stddev", "mode", "logits"),
        grad=("mean", "variance"),
    ),
    "NegativeBinomial_logits": dict(
        params={"total_count": [2.0, 0.5, 5.0], "logits": [-0.2, 0.5, 1.7]},
        make=lambda D, p: D.NegativeBinomial(p["total_count"], logits=p["logits"]),
        value=[[0.0, 3.0, 1.0], [4.0, 0.0, 7.0]],
        attrs=("mean", "variance", "mode", "probs"),
        grad=("mean", "variance", "probs"),
    ),
    "OneHotCategorical_probs": dict(
        params={"probs": PROBS34},
        make=lambda D, p: D.OneHotCategorical(probs=p["probs"]),
        value=ONE_HOT,
        attrs=("mean", "variance", "stddev", "mode", "entropy", "logits", "param_shape", "enumerate_support"),
        grad=("mean", "variance", "entropy"),
    ),
    "OneHotCategorical_logits": dict(
        params={"logits": LOGITS34},
        make=lambda D, p: D.OneHotCategorical(logits=p["logits"]),
        value=ONE_HOT,
        attrs=("mean", "variance", "mode", "entropy", "probs"),
        grad=("mean", "variance", "entropy"),
    ),
    "OneHotCategoricalStraightThrough": dict(
        params={"logits": LOGITS34},
        make=lambda D, p: D.OneHotCategoricalStraightThrough(logits=p["logits"]),
        value=ONE_HOT,
        attrs=("mean", "entropy"),
        grad=("entropy",),
    ),
    "Multinomial_probs": dict(
        params={"probs": PROBS34},
        make=lambda D, p: D.Multinomial(5, probs=p["probs"]),
        value=COUNTS,
        attrs=("mean", "variance", "stddev", "logits", "param_shape"),
        grad=("mean", "variance"),
    ),
    "Multinomial_logits": dict(
        params={"logits": LOGITS34},
        make=lambda D, p: D.Multinomial(5, logits=p["logits"]),
        value=COUNTS,
        attrs=("mean", "variance", "probs"),
        grad=("mean", "variance"),
    ),
    "LowRankMultivariateNormal": dict(
        params={"loc": LR_LOC, "cov_factor": LR_FACTOR, "cov_diag": LR_DIAG},
        make=lambda D, p: D.LowRankMultivariateNormal(p["loc"], p["cov_factor"], p["cov_diag"]),
        value=LR_VALUE,
        attrs=("mean", "variance", "stddev", "mode", "entropy", "scale_tril", "covariance_matrix",
               "precision_matrix"),
        grad=("variance", "entropy", "scale_tril", "covariance_matrix", "precision_matrix"),
    ),
    "LogitRelaxedBernoulli": dict(
        params={"temperature": 0.7, "probs": [0.2, 0.5, 0.9]},
        make=lambda D, p: D.relaxed_bernoulli.LogitRelaxedBernoulli(p["temperature"], probs=p["probs"]),
        value=[[0.2, -1.0, 3.0], [1.5, 0.0, -0.7]],
        attrs=("logits", "param_shape"),
        grad=("logits",),
    ),
    "RelaxedBernoulli": dict(
        params={"temperature": 0.7, "logits": [0.2, -0.5, 1.9]},
        make=lambda D, p: D.RelaxedBernoulli(p["temperature"], logits=p["logits"]),
        value=[[0.2, 0.01, 0.6], [0.5, 0.999, 0.3]],
        attrs=("probs", "temperature"),
        grad=("probs",),
    ),
    "ExpRelaxedCategorical": dict(
        params={"temperature": 0.6, "logits": RELAXED_LOGITS},
        make=lambda D, p: D.relaxed_categorical.ExpRelaxedCategorical(p["temperature"], logits=p["logits"]),
        value=np.log(SIMPLEX),
        attrs=("probs", "param_shape"),
        grad=("probs",),
    ),
    "RelaxedOneHotCategorical": dict(
        params={"temperature": 1.3, "probs": np.exp(RELAXED_LOGITS)},
        make=lambda D, p: D.RelaxedOneHotCategorical(p["temperature"], probs=p["probs"]),
        value=SIMPLEX,
        attrs=("logits", "temperature"),
        grad=("logits",),
    ),
    "MixtureSameFamily": dict(
        params={"logits": [0.3, -0.2, 1.1], "loc": [0.1, -0.3, 0.5], "scale": POS3},
        make=lambda D, p: D.MixtureSameFamily(D.Categorical(logits=p["logits"]), D.Normal(p["loc"], p["scale"])),
        value=[[0.2], [1.5]],
        attrs=("mean", "variance", "stddev", "cdf"),
        grad=("mean", "variance", "cdf"),
    ),
    "MixtureSameFamily_batched": dict(  # a batch of 2 mixtures of 3 bivariate normals
        params={"probs": RNG.uniform(0.1, 1.0, (2, 3)), "loc": RNG.standard_normal((2, 3, 2)),
                "scale": RNG.uniform(0.5, 1.5, (2, 3, 2))},
        make=lambda D, p: D.MixtureSameFamily(D.Categorical(probs=p["probs"]),
                                              D.Independent(D.Normal(p["loc"], p["scale"]), 1)),
        value=RNG.standard_normal((4, 1, 2)),
        attrs=("mean", "variance"),
        grad=("mean", "variance"),
    ),
}


def _attr(d, attr, lib, value):
    """The named attribute, method result (cdf at value, icdf at QS) or shape (as a string)."""
    if attr == "cdf":
        return d.cdf(value)
    if attr == "icdf":
        return d.icdf(_t(lib, QS))
    if attr == "enumerate_support":
        return d.enumerate_support()
    result = getattr(d, attr)
    result = result() if callable(result) else result
    return np.array(str(tuple(result))) if attr == "param_shape" else result


def _family_program(name):
    spec = FAMILIES[name]

    def program(lib):
        params = {k: _t(lib, v, requires_grad=True) for k, v in spec["params"].items()}
        d = spec["make"](lib.distributions, params)
        value = _t(lib, spec["value"])
        out = {"log_prob": d.log_prob(value)}
        loss = out["log_prob"].sum()
        for attr in spec["attrs"]:
            out[attr] = _attr(d, attr, lib, value)
            if attr in spec["grad"]:
                loss = loss + out[attr].sum()
        loss.backward()
        out.update({f"grad_{k}": p.grad for k, p in params.items()})
        sample = d.sample((3,))
        shapes = (d.batch_shape, d.event_shape, sample.shape, d.sample().shape)
        out["shapes"] = np.array([str(tuple(x)) for x in shapes])
        out["sample"] = np.array([str(as_numpy(sample).dtype), bool(d.support.check(sample).all().item()),
                                  d.support.is_discrete, type(d.support).__name__])
        out["has_rsample"] = np.array(d.has_rsample)
        if d.has_rsample:
            out["rsample_shape"] = np.array(str(tuple(d.rsample((3, 2)).shape)))
        expanded = d.expand((5,) + tuple(d.batch_shape))
        out["expanded_log_prob"] = expanded.log_prob(value[:1])  # (1,) + batch broadcasts with (5,) + batch
        out["expanded_shapes"] = np.array([str(tuple(expanded.batch_shape)), str(tuple(expanded.sample().shape))])
        return out

    return program


@pytest.mark.parametrize("name", list(FAMILIES))
def test_family_as_torch(name):
    check(f"family/{name}", _family_program(name))


def _scalar_params(lib):
    """Families made from Python numbers: the default dtype (float32), batch shape (), log_prob of
    a float32 value."""
    D = lib.distributions
    value = lib.tensor(np.array([0.7, 2.0], dtype=np.float32))
    families = {
        "gumbel": D.Gumbel(0.5, 2.0), "halfnormal": D.HalfNormal(2.0), "halfcauchy": D.HalfCauchy(2.0),
        "weibull": D.Weibull(2.0, 1.5), "pareto": D.Pareto(0.5, 2.5), "chi2": D.Chi2(3.0),
        "negbin": D.NegativeBinomial(3.0, probs=0.4),
        "relaxed": D.RelaxedBernoulli(lib.tensor(0.5), probs=0.3),
    }
    out = {}
    for name, d in families.items():
        v = value.round() if name == "negbin" else value / 4 if name == "relaxed" else value
        out[f"{name}_log_prob"] = d.log_prob(v)
        out[f"{name}_shape"] = np.array(str(tuple(d.batch_shape)))
        out[f"{name}_mean"] = d.mean if name != "relaxed" else d.probs
    return out


def test_scalar_params_as_torch():
    check("scalar_params", _scalar_params, rtol=1e-6)


def _multinomial_entropy(lib):
    probs = _t(lib, PROBS34, requires_grad=True)
    entropy = lib.distributions.Multinomial(5, probs=probs).entropy()
    entropy.sum().backward()
    return {"entropy": entropy, "grad": probs.grad}


def test_multinomial_entropy_as_torch():
    # PyTorch takes lgamma(total_count + 1) of an int64 tensor, so in float32: 1e-6, not 1e-9
    check("multinomial_entropy", _multinomial_entropy, rtol=1e-6)


def _missing_methods(lib):
    """What PyTorch's families do not have (entropy of NegativeBinomial, MixtureSameFamily's mode
    and entropy, Multinomial's mode): NotImplementedError."""
    D = lib.distributions
    t = lambda v: _t(lib, v)  # noqa: E731
    mix = D.MixtureSameFamily(D.Categorical(logits=t([0.0, 1.0])), D.Normal(t([0.0, 1.0]), t([1.0, 2.0])))
    cases = {
        "negbin_entropy": lambda: D.NegativeBinomial(t(2.0), probs=t(0.3)).entropy(),
        "mixture_mode": lambda: mix.mode,
        "mixture_entropy": lambda: mix.entropy(),
        "multinomial_mode": lambda: D.Multinomial(3, probs=t([0.2, 0.8])).mode,
        "relaxed_entropy": lambda: D.RelaxedBernoulli(t(0.5), probs=t(0.3)).entropy(),
        "multinomial_float_count": lambda: D.Multinomial(3.0, probs=t([0.2, 0.8])),
    }
    return caught_report({k: (NotImplementedError, fn) for k, fn in cases.items()})


def test_missing_methods_as_torch():
    check("missing_methods", _missing_methods)


# ------------------------------------------------------------------- KL divergences
def _kl_pairs(lib):
    """name -> (p, q) with differentiable parameters; params: every parameter, for gradients."""
    D = lib.distributions
    params = []

    def t(v):
        x = _t(lib, v, requires_grad=True)
        params.append(x)
        return x

    a, b = [0.1, -0.3, 0.5], [0.4, 0.2, -1.0]
    s, s2 = [1.5, 0.7, 2.0], [0.9, 1.3, 0.6]
    ab = [2.8, 2.5, 3.5]
    u_low, u_high = [0.5, 1.2, 2.5], [1.5, 3.0, 4.0]
    mvn_tril = _t(lib, MVN_TRIL, requires_grad=True)
    params.append(mvn_tril)
    pairs = {
        "Gumbel_Gumbel": lambda: (D.Gumbel(t(a), t(s)), D.Gumbel(t(b), t(s2))),
        "HalfNormal_HalfNormal": lambda: (D.HalfNormal(t(s)), D.HalfNormal(t(s2))),
        "HalfCauchy_HalfCauchy": lambda: (D.HalfCauchy(t(s)), D.HalfCauchy(t(s2))),
        "Pareto_Pareto": lambda: (D.Pareto(t([1.0, 0.5, 2.0]), t(ab)), D.Pareto(t([0.5, 0.8, 1.0]), t(s))),
        "Chi2_Chi2": lambda: (D.Chi2(t(s)), D.Chi2(t(ab))),
        "Chi2_Gamma": lambda: (D.Chi2(t(s)), D.Gamma(t(ab), t(s2))),
        "OneHot_OneHot": lambda: (D.OneHotCategorical(logits=t(LOGITS34)), D.OneHotCategorical(probs=t(PROBS34))),
        "LowRank_LowRank": lambda: (D.LowRankMultivariateNormal(t(LR_LOC), t(LR_FACTOR), t(LR_DIAG)),
                                    D.LowRankMultivariateNormal(t(LR_LOC_Q), t(LR_FACTOR_Q), t(LR_DIAG_Q))),
        "MVN_LowRank": lambda: (D.MultivariateNormal(t(LR_LOC_Q), scale_tril=mvn_tril),
                                D.LowRankMultivariateNormal(t(LR_LOC), t(LR_FACTOR_Q), t(LR_DIAG))),
        "LowRank_MVN": lambda: (D.LowRankMultivariateNormal(t(LR_LOC), t(LR_FACTOR_Q), t(LR_DIAG)),
                                D.MultivariateNormal(t(LR_LOC_Q), scale_tril=mvn_tril)),
        "Exponential_Gumbel": lambda: (D.Exponential(t(s)), D.Gumbel(t(b), t(s2))),
        "Gamma_Gumbel": lambda: (D.Gamma(t(ab), t(s)), D.Gumbel(t(b), t(s2))),
        "Gumbel_Normal": lambda: (D.Gumbel(t(a), t(s)), D.Normal(t(b), t(s2))),
        "Normal_Gumbel": lambda: (D.Normal(t(a), t(s)), D.Gumbel(t(b), t(s2))),
        "Pareto_Exponential": lambda: (D.Pareto(t(s), t([0.8, 2.5, 3.5])), D.Exponential(t(s2))),
        "Pareto_Gamma": lambda: (D.Pareto(t(s), t([0.8, 2.5, 3.5])), D.Gamma(t(ab), t(s2))),
        "Pareto_Normal": lambda: (D.Pareto(t(s), t([1.8, 2.5, 3.5])), D.Normal(t(b), t(s2))),
        "Uniform_Gumbel": lambda: (D.Uniform(t(u_low), t(u_high)), D.Gumbel(t(b), t(s2))),
        "Uniform_Pareto": lambda: (D.Uniform(t(u_low), t(u_high)), D.Pareto(t([1.0, 0.5, 2.0]), t(ab))),
    }
    infinite = {
        "Gumbel_Uniform": lambda: (D.Gumbel(t(a), t(s)), D.Uniform(t(u_low), t(u_high))),
        "Gumbel_Beta": lambda: (D.Gumbel(t(a), t(s)), D.Beta(t(s), t(s2))),
        "Gumbel_Exponential": lambda: (D.Gumbel(t(a), t(s)), D.Exponential(t(s2))),
        "Gumbel_Gamma": lambda: (D.Gumbel(t(a), t(s)), D.Gamma(t(s), t(s2))),
        "Gumbel_Pareto": lambda: (D.Gumbel(t(a), t(s)), D.Pareto(t(s), t(s2))),
        "Normal_Pareto": lambda: (D.Normal(t(a), t(s)), D.Pareto(t(s), t(s2))),
        "Laplace_Pareto": lambda: (D.Laplace(t(a), t(s)), D.Pareto(t(s), t(s2))),
        "Exponential_Pareto": lambda: (D.Exponential(t(s)), D.Pareto(t(s), t(s2))),
        "Gamma_Pareto": lambda: (D.Gamma(t(s), t(s2)), D.Pareto(t(s), t(s2))),
        "Chi2_Pareto": lambda: (D.Chi2(t(s)), D.Pareto(t(s), t(s2))),
        "Beta_Pareto": lambda: (D.Beta(t(s), t(s2)), D.Pareto(t(s), t(s2))),
        "Pareto_Beta": lambda: (D.Pareto(t(s), t(s2)), D.Beta(t(s), t(s2))),
        "Pareto_Uniform": lambda: (D.Pareto(t(s), t(s2)), D.Uniform(t(u_low), t(u_high))),
    }
    return pairs, infinite, params


def _kl_program(name):
    def program(lib):
        pairs, infinite, params = _kl_pairs(lib)
        p, q = {**pairs, **infinite}[name]()
        kl = lib.distributions.kl_divergence(p, q)
        out = {"kl": kl}
        if name in pairs:
            kl[kl.isfinite()].sum().backward()  # the infinite entries are constants
            out.update({f"grad{i}": x.grad for i, x in enumerate(params) if x.grad is not None})
        return out
    return program


_FINITE_KL, _INFINITE_KL, _ = _kl_pairs(minigrad)


@pytest.mark.parametrize("name", [*_FINITE_KL, *_INFINITE_KL])
def test_kl_as_torch(name):
    check(f"kl/{name}", _kl_program(name))


def _kl_unregistered(lib):
    """Pairs PyTorch has no KL for, or refuses: NotImplementedError; different event sizes: ValueError."""
    D = lib.distributions
    t = lambda v: _t(lib, v)  # noqa: E731
    cases = {
        "weibull_other_concentration": (NotImplementedError, lambda: D.kl_divergence(
            D.Weibull(t([1.0]), t([2.0])), D.Weibull(t([1.0]), t([3.0])))),
        "halfnormal_gumbel": (NotImplementedError, lambda: D.kl_divergence(D.HalfNormal(t([1.0])),
                                                                         D.Gumbel(t([0.0]), t([1.0])))),
        "relaxed": (NotImplementedError, lambda: D.kl_divergence(D.RelaxedBernoulli(t(0.5), probs=t(0.3)),
                                                                 D.RelaxedBernoulli(t(0.5), probs=t(0.4)))),
        "lowrank_event_sizes": (ValueError, lambda: D.kl_divergence(
            D.LowRankMultivariateNormal(t([0.0, 0.0]), t([[1.0], [0.0]]), t([1.0, 1.0])),
            D.LowRankMultivariateNormal(t([0.0]), t([[1.0]]), t([1.0])))),
    }
    same = D.kl_divergence(D.Weibull(t([1.0, 2.0]), t([2.0, 0.5])), D.Weibull(t([1.0, 2.0]), t([2.0, 0.5])))
    return {**caught_report(cases), "weibull_same": same}


def test_kl_unregistered_as_torch():
    check("kl_unregistered", _kl_unregistered)


# ------------------------------------------------------------------- ExponentialFamily
def _exp_family_program(lib):
    """A user family on ExponentialFamily (the exponential distribution in natural form): its
    entropy and KL come from the log normalizer, as PyTorch's."""
    D = lib.distributions

    class NaturalExponential(D.ExponentialFamily):
        arg_constraints = {"rate": D.constraints.positive}
        support = D.constraints.nonnegative

        def __init__(self, rate):
            self.rate = rate
            super().__init__(rate.shape)

        @property
        def _natural_params(self):
            return (-self.rate,)

        def _log_normalizer(self, x):
            return -(-x).log()

        @property
        def _mean_carrier_measure(self):
            return 0

    rate_p, rate_q = _t(lib, POS3, requires_grad=True), _t(lib, [0.9, 1.3, 0.6], requires_grad=True)
    p, q = NaturalExponential(rate_p), NaturalExponential(rate_q)
    entropy, kl = p.entropy(), D.kl_divergence(p, q)
    kl.sum().backward()
    cross = caught_report({"cross_family": (NotImplementedError, lambda: D.kl_divergence(
        p, type("Other", (NaturalExponential,), {})(rate_q)))})
    return {"entropy": entropy, "kl": kl, "grad_q": rate_q.grad,
            "is_distribution": np.array(issubclass(D.ExponentialFamily, D.Distribution)), **cross}


def test_exponential_family_as_torch():
    check("exponential_family", _exp_family_program)


# ------------------------------------------------------------------- validate_args
def _bad_inputs(lib):
    """Bad parameters and out-of-support values under validate_args=True: ValueError, as PyTorch."""
    D = lib.distributions
    t = lambda v: _t(lib, v)  # noqa: E731
    v = True
    cases = {
        "gumbel_scale": lambda: D.Gumbel(t([0.0]), t([-1.0]), validate_args=v),
        "gumbel_nan": lambda: D.Gumbel(t([0.0]), t([1.0]), validate_args=v).log_prob(t([math.nan])),
        "halfnormal_scale": lambda: D.HalfNormal(t([0.0]), validate_args=v),
        "halfnormal_value": lambda: D.HalfNormal(t([1.0]), validate_args=v).log_prob(t([-1.0])),
        "halfnormal_cdf": lambda: D.HalfNormal(t([1.0]), validate_args=v).cdf(t([-1.0])),
        "halfcauchy_scale": lambda: D.HalfCauchy(t([-2.0]), validate_args=v),
        "halfcauchy_value": lambda: D.HalfCauchy(t([1.0]), validate_args=v).log_prob(t([-1.0])),
        "weibull_scale": lambda: D.Weibull(t([-1.0]), t([1.0]), validate_args=v),
        "weibull_concentration": lambda: D.Weibull(t([1.0]), t([0.0]), validate_args=v),
        "weibull_value": lambda: D.Weibull(t([1.0]), t([2.0]), validate_args=v).log_prob(t([-1.0])),
        "pareto_alpha": lambda: D.Pareto(t([1.0]), t([-1.0]), validate_args=v),
        "pareto_value": lambda: D.Pareto(t([2.0]), t([1.0]), validate_args=v).log_prob(t([1.5])),
        "chi2_df": lambda: D.Chi2(t([-1.0]), validate_args=v),
        "chi2_value": lambda: D.Chi2(t([1.0]), validate_args=v).log_prob(t([-1.0])),
        "negbin_probs": lambda: D.NegativeBinomial(t([2.0]), probs=t([1.0]), validate_args=v),
        "negbin_count": lambda: D.NegativeBinomial(t([-1.0]), probs=t([0.5]), validate_args=v),
        "negbin_value": lambda: D.NegativeBinomial(t([2.0]), probs=t([0.5]), validate_args=v).log_prob(t([1.5])),
        "negbin_both": lambda: D.NegativeBinomial(t([2.0]), probs=t([0.5]), logits=t([0.0])),
        "onehot_probs": lambda: D.OneHotCategorical(probs=t([0.5, -0.5]), validate_args=v),
        "onehot_value": lambda: D.OneHotCategorical(probs=t([0.5, 0.5]), validate_args=v).log_prob(t([1.0, 1.0])),
        "multinomial_probs": lambda: D.Multinomial(3, probs=t([0.5, -0.5]), validate_args=v),
        "multinomial_value": lambda: D.Multinomial(3, probs=t([0.5, 0.5]), validate_args=v).log_prob(t([3.0, 1.0])),
        "lowrank_diag": lambda: D.LowRankMultivariateNormal(t([0.0, 0.0]), t([[1.0], [0.0]]), t([1.0, -1.0]),
                                                            validate_args=v),
        "lowrank_factor_shape": lambda: D.LowRankMultivariateNormal(t([0.0, 0.0]), t([[1.0, 0.0]]), t([1.0, 1.0])),
        "lowrank_diag_shape": lambda: D.LowRankMultivariateNormal(t([0.0, 0.0]), t([[1.0], [0.0]]), t([1.0])),
        "lowrank_batch": lambda: D.LowRankMultivariateNormal(t([[0.0, 0.0]] * 2), t([[[1.0], [0.0]]] * 3),
                                                             t([1.0, 1.0])),
        "lowrank_scalar_loc": lambda: D.LowRankMultivariateNormal(t(0.0), t([[1.0]]), t([1.0])),
        "relaxed_probs": lambda: D.RelaxedBernoulli(t(0.5), probs=t([1.5]), validate_args=v),
        "relaxed_value": lambda: D.RelaxedBernoulli(t(0.5), probs=t([0.5]), validate_args=v).log_prob(t([1.5])),
        "logit_relaxed_probs": lambda: D.relaxed_bernoulli.LogitRelaxedBernoulli(t(0.5), probs=t([-0.5]),
                                                                                 validate_args=v),
        "relaxed_neither": lambda: D.relaxed_bernoulli.LogitRelaxedBernoulli(t(0.5)),
        "relaxed_onehot_probs": lambda: D.RelaxedOneHotCategorical(t(0.5), probs=t([0.5, -0.5]), validate_args=v),
        "relaxed_onehot_value": lambda: D.RelaxedOneHotCategorical(t(0.5), probs=t([0.5, 0.5]),
                                                                   validate_args=v).log_prob(t([0.7, 0.7])),
        "exp_relaxed_value": lambda: D.relaxed_categorical.ExpRelaxedCategorical(t(0.5), probs=t([0.5, 0.5]),
                                                             validate_args=v).log_prob(t([[0.7, 0.7, 0.1]])),
        "mixture_not_categorical": lambda: D.MixtureSameFamily(D.Normal(t(0.0), t(1.0)), D.Normal(t([0.0]), t([1.0]))),
        "mixture_components": lambda: D.MixtureSameFamily(D.Categorical(logits=t([0.0, 1.0])),
                                                          D.Normal(t([0.0, 1.0, 2.0]), t([1.0, 1.0, 1.0]))),
        "mixture_batch": lambda: D.MixtureSameFamily(D.Categorical(logits=t([[0.0, 1.0]] * 3)),
                                                     D.Normal(t([[0.0, 1.0]] * 2), t([[1.0, 1.0]] * 2))),
        "mixture_value": lambda: D.MixtureSameFamily(D.Categorical(logits=t([0.0, 1.0])),
                                                     D.HalfNormal(t([1.0, 2.0])), validate_args=v).log_prob(t([-1.0])),
    }
    return caught_report({k: (ValueError, fn) for k, fn in cases.items()})


def test_bad_inputs_as_torch():
    check("bad_inputs", _bad_inputs)


def _validate_off(lib):
    """validate_args=False: values outside the support are scored, not refused."""
    D = lib.distributions
    t = lambda v: _t(lib, v)  # noqa: E731
    return {
        "halfnormal": D.HalfNormal(t([1.0]), validate_args=False).log_prob(t([-1.0, 1.0])),
        "halfcauchy": D.HalfCauchy(t([1.0]), validate_args=False).log_prob(t([-1.0, 1.0])),
        "multinomial": D.Multinomial(3, logits=t([0.0, -math.inf]), validate_args=False).log_prob(t([3.0, 0.0])),
    }


def test_validate_off_as_torch():
    check("validate_off", _validate_off)


# ------------------------------------------------------------------- minigrad alone: samples
N = 40000


def _moments(d, check_variance=True):
    """The sample mean of N seeded draws of d is within 5 standard errors of d.mean; the sample
    variance within 10% of d.variance."""
    minigrad.manual_seed(0)
    samples = d.sample((N,)).numpy()
    mean, var = d.mean.detach().numpy(), d.variance.detach().numpy()
    assert np.all(np.abs(samples.mean(0) - mean) < 5 * np.sqrt(var / N)), (samples.mean(0), mean)
    if check_variance:
        np.testing.assert_allclose(samples.var(0), var, rtol=0.1)


def _t64(values):
    return minigrad.tensor(np.asarray(values, dtype=np.float64))


@pytest.mark.parametrize("name", ["Gumbel", "HalfNormal", "Weibull", "Pareto", "Chi2", "NegativeBinomial_probs",
                                  "OneHotCategorical_probs", "Multinomial_probs", "LowRankMultivariateNormal",
                                  "MixtureSameFamily", "MixtureSameFamily_batched"])
def test_sample_moments(name):
    spec = FAMILIES[name]
    params = {k: _t64(v) for k, v in spec["params"].items()}
    # Pareto's alpha < 4: the fourth moment is infinite, so the sample variance does not settle
    _moments(spec["make"](minigrad.distributions, params), check_variance=name != "Pareto")


def test_relaxed_samples_approach_one_hot():
    """At a low temperature, relaxed samples are nearly one-hot, with frequencies near probs."""
    probs = np.array([0.2, 0.3, 0.5])
    minigrad.manual_seed(0)
    d = minigrad.distributions.RelaxedOneHotCategorical(_t64(0.05), probs=_t64(probs))
    samples = d.rsample((N,)).detach().numpy()
    assert np.mean(samples.max(-1) > 0.9) > 0.9
    np.testing.assert_allclose(np.bincount(samples.argmax(-1), minlength=3) / N, probs, atol=0.01)
    minigrad.manual_seed(0)
    b = minigrad.distributions.RelaxedBernoulli(_t64(0.05), probs=_t64(probs)).sample((N,)).numpy()
    np.testing.assert_allclose((b > 0.5).mean(0), probs, atol=0.01)


def test_sample_reproducible():
    D = minigrad.distributions
    for make in (lambda: D.Gumbel(_t64([0.0, 1.0]), _t64([1.0, 2.0])),
                 lambda: D.NegativeBinomial(_t64([2.0, 3.0]), probs=_t64([0.3, 0.6])),
                 lambda: D.Multinomial(4, probs=_t64([0.3, 0.7]))):
        minigrad.manual_seed(3)
        first = make().sample((5,)).numpy()
        minigrad.manual_seed(3)
        np.testing.assert_array_equal(make().sample((5,)).numpy(), first)


# ------------------------------------------------------------------- minigrad alone: rsample gradients
def _rsample_grads(make, params, shape=(7,)):
    """The sample s and the gradients of s.sum() with respect to params (minigrad tensors)."""
    minigrad.manual_seed(1)
    s = make().rsample(shape)
    s.sum().backward()
    return s.detach().numpy(), [p.grad.numpy() for p in params]


def test_rsample_gradients_are_the_sampling_maps():
    """d sample / d parameter at the drawn sample, from the inverse of the sampling map."""
    D = minigrad.distributions
    loc, scale, k = _t(minigrad, [0.1, -0.3], True), _t(minigrad, [1.5, 0.7], True), _t(minigrad, [0.8, 2.5], True)
    lv, sv, kv = loc.detach().numpy(), scale.detach().numpy(), k.detach().numpy()

    s, (g_loc, g_scale) = _rsample_grads(lambda: D.Gumbel(loc, scale), [loc, scale])
    np.testing.assert_allclose(g_loc, [7.0, 7.0], rtol=1e-12)
    np.testing.assert_allclose(g_scale, ((s - lv) / sv).sum(0), rtol=1e-9)

    scale.grad = None
    s, (g_scale,) = _rsample_grads(lambda: D.HalfNormal(scale), [scale])
    np.testing.assert_allclose(g_scale, (s / sv).sum(0), rtol=1e-9)

    scale.grad = None
    s, (g_scale, g_k) = _rsample_grads(lambda: D.Weibull(scale, k), [scale, k])
    np.testing.assert_allclose(g_scale, (s / sv).sum(0), rtol=1e-9)
    np.testing.assert_allclose(g_k, (-s * np.log(s / sv) / kv).sum(0), rtol=1e-9)

    scale.grad, k.grad = None, None
    s, (g_scale, g_alpha) = _rsample_grads(lambda: D.Pareto(scale, k), [scale, k])
    np.testing.assert_allclose(g_scale, (s / sv).sum(0), rtol=1e-9)
    np.testing.assert_allclose(g_alpha, (-s * np.log(s / sv) / kv).sum(0), rtol=1e-9)


def test_lowrank_rsample_gradients():
    """loc + W eps_W + sqrt(D) eps_D: d/d loc is 1 per draw; the covariance of many draws is
    W W^T + D."""
    D = minigrad.distributions
    loc = _t(minigrad, LR_LOC, True)
    factor, diag = _t64(LR_FACTOR), _t64(LR_DIAG)
    _, (g_loc,) = _rsample_grads(lambda: D.LowRankMultivariateNormal(loc, factor, diag), [loc], (5,))
    np.testing.assert_allclose(g_loc, np.full((2, 3), 5.0), rtol=1e-12)
    minigrad.manual_seed(2)
    draws = D.LowRankMultivariateNormal(_t64(LR_LOC[0]), factor, diag).rsample((N,)).detach().numpy()
    np.testing.assert_allclose(np.cov(draws.T), LR_FACTOR @ LR_FACTOR.T + np.diag(LR_DIAG), atol=0.05)


def test_straight_through_gradient_is_the_probs_gradient():
    """OneHotCategoricalStraightThrough.rsample: one-hot values, the gradient of probs."""
    D = minigrad.distributions
    logits = _t(minigrad, LOGITS34, True)
    weights = _t64(RNG.standard_normal((3, 4)))
    minigrad.manual_seed(0)
    s = D.OneHotCategoricalStraightThrough(logits=logits).rsample()
    assert set(np.unique(s.detach().numpy())) <= {0.0, 1.0}
    (s * weights).sum().backward()
    want = _t(minigrad, LOGITS34, True)
    (minigrad.functional.softmax(want, dim=-1) * weights).sum().backward()
    np.testing.assert_allclose(logits.grad.numpy(), want.grad.numpy(), rtol=1e-12)


def test_relaxed_rsample_gradients_flow():
    """Relaxed samples are differentiable in the logits and the temperature."""
    D = minigrad.distributions
    for make in (lambda lg, tmp: D.RelaxedOneHotCategorical(tmp, logits=lg),
                 lambda lg, tmp: D.RelaxedBernoulli(tmp, logits=lg)):
        logits, temperature = _t(minigrad, RELAXED_LOGITS, True), _t(minigrad, 0.7, True)
        (make(logits, temperature).rsample((3,)) * _t64(RNG.standard_normal((3, 2, 4)))).sum().backward()
        assert np.all(np.isfinite(logits.grad.numpy())) and np.abs(logits.grad.numpy()).sum() > 0
        assert np.isfinite(temperature.grad.item())
