"""minigrad.distributions: Normal, Categorical, Bernoulli, Uniform, MultivariateNormal and
kl_divergence, checked against closed forms computed with numpy (always) and against PyTorch's
torch.distributions (when it is installed); sample shapes, statistics and reproducibility under
manual_seed; reparameterised gradients by float64 finite differences; the errors PyTorch raises
for bad arguments."""

import math

import numpy as np
import pytest

import minigrad
from minigrad.autograd import gradcheck
from minigrad.distributions import (
    Bernoulli,
    Categorical,
    Distribution,
    MultivariateNormal,
    Normal,
    Uniform,
    kl_divergence,
)

N = 20000  # draws for the sample statistics, which must lie within 5 standard errors
RNG = np.random.default_rng(0)
LOC = RNG.standard_normal((3, 4))
SCALE = RNG.uniform(0.5, 2.0, (3, 4))
VALUE = RNG.standard_normal((2, 3, 4))
LOGITS = RNG.standard_normal((3, 5))
PROBS = RNG.uniform(0.1, 1.0, (3, 5))  # unnormalised: the distribution normalises them
BERN_P = RNG.uniform(0.05, 0.95, (3, 4))
BERN_LOGITS = RNG.standard_normal((3, 4)) * 3
BERN_VALUE = RNG.integers(0, 2, (2, 3, 4)).astype(np.float64)
CAT_VALUE = RNG.integers(0, 5, (2, 3))
UNIFORM_VALUE = LOC + SCALE * RNG.uniform(0, 1, (2, 3, 4))  # inside [LOC, LOC + SCALE)
WEIGHTS = RNG.standard_normal((2, 3))
# the second distribution of the KL tests
LOC_Q = RNG.standard_normal((3, 4))
SCALE_Q = RNG.uniform(0.5, 2.0, (3, 4))
LOGITS_Q = RNG.standard_normal((3, 5))
BERN_P_Q = RNG.uniform(0.05, 0.95, (3, 4))


def t64(values, requires_grad=False):
    return minigrad.tensor(values, dtype=minigrad.float64, requires_grad=requires_grad)


def close(mine, expected, tol=1e-6):
    np.testing.assert_allclose(mine.detach().numpy(), np.asarray(expected), rtol=tol, atol=tol)


# --- closed forms (numpy) -----------------------------------------------------------------------


def normal_log_prob(x, loc, scale):
    return -((x - loc) ** 2) / (2 * scale**2) - np.log(scale) - 0.5 * np.log(2 * np.pi)


def log_softmax(logits):
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_normal_matches_closed_form():
    d = Normal(t64(LOC), t64(SCALE))
    assert d.batch_shape == (3, 4) and d.event_shape == ()
    close(d.log_prob(t64(VALUE)), normal_log_prob(VALUE, LOC, SCALE))
    close(d.entropy(), 0.5 + 0.5 * np.log(2 * np.pi) + np.log(SCALE))
    close(d.mean, LOC)
    close(d.variance, SCALE**2)
    close(d.stddev, SCALE)
    erf = np.vectorize(math.erf)
    close(d.cdf(t64(VALUE)), 0.5 * (1 + erf((VALUE - LOC) / (SCALE * np.sqrt(2)))))
    # icdf inverts cdf
    close(d.icdf(d.cdf(t64(VALUE))), np.broadcast_to(VALUE, (2, 3, 4)), tol=1e-9)


def test_normal_with_numbers_broadcasts_to_default_dtype():
    d = Normal(0.0, 1.0)
    assert d.batch_shape == () and d.loc.dtype == minigrad.float32
    close(d.log_prob(minigrad.tensor(0.5)), normal_log_prob(0.5, 0.0, 1.0))
    mixed = Normal(t64(LOC[0]), 2.0)
    assert mixed.batch_shape == (4,) and mixed.scale.dtype == minigrad.float64
    close(mixed.scale, np.full(4, 2.0))


def test_categorical_matches_closed_form():
    for d, logp in (
        (Categorical(logits=t64(LOGITS)), log_softmax(LOGITS)),
        (Categorical(probs=t64(PROBS)), np.log(PROBS / PROBS.sum(-1, keepdims=True))),
    ):
        assert d.batch_shape == (3,) and d.event_shape == () and d.param_shape == (3, 5)
        close(d.logits, logp)
        close(d.probs, np.exp(logp))
        close(d.probs.sum(-1), np.ones(3))
        expected = np.take_along_axis(np.broadcast_to(logp, (2, 3, 5)), CAT_VALUE[..., None], -1)[..., 0]
        close(d.log_prob(minigrad.tensor(CAT_VALUE)), expected)
        close(d.entropy(), -(np.exp(logp) * logp).sum(-1))
        assert np.isnan(d.mean.numpy()).all() and d.mean.shape == (3,)
        assert np.isnan(d.variance.numpy()).all()
        assert d.mode.tolist() == logp.argmax(-1).tolist()
    assert Categorical(logits=t64(LOGITS)).enumerate_support().shape == (5, 3)


def test_categorical_masked_logits():
    """-inf logits (invalid actions masked out, as in RL code): probability 0, never sampled, finite
    entropy and gradients."""
    logits = minigrad.tensor([[1.0, -math.inf, 0.5], [0.2, 0.3, -math.inf]], requires_grad=True)
    d = Categorical(logits=logits)
    close(d.probs, [[1 / (1 + math.exp(-0.5)), 0.0, 1 / (1 + math.exp(0.5))], [0.4750208, 0.5249792, 0.0]])
    assert d.log_prob(minigrad.tensor([1, 2])).tolist() == [-math.inf, -math.inf]
    minigrad.manual_seed(0)
    draws = d.sample((500,)).numpy()
    assert not np.any(draws[:, 0] == 1) and not np.any(draws[:, 1] == 2)
    (d.entropy().sum() + d.log_prob(minigrad.tensor([0, 1])).sum()).backward()
    grad = logits.grad.numpy()
    assert np.isfinite(grad).all() and grad[0, 1] == 0 and grad[1, 2] == 0


def test_categorical_zero_probability_category():
    d = Categorical(probs=minigrad.tensor([0.0, 0.25, 0.75]))
    close(d.entropy(), -(0.25 * np.log(0.25) + 0.75 * np.log(0.75)))


def test_bernoulli_matches_closed_form():
    for d, p in ((Bernoulli(probs=t64(BERN_P)), BERN_P), (Bernoulli(logits=t64(BERN_LOGITS)), sigmoid(BERN_LOGITS))):
        assert d.batch_shape == (3, 4) and d.param_shape == (3, 4)
        close(d.probs, p)
        close(d.logits, np.log(p) - np.log1p(-p))
        close(d.log_prob(t64(BERN_VALUE)), BERN_VALUE * np.log(p) + (1 - BERN_VALUE) * np.log1p(-p))
        close(d.entropy(), -(p * np.log(p) + (1 - p) * np.log1p(-p)))
        close(d.mean, p)
        close(d.variance, p * (1 - p))
    assert Bernoulli(0.3).batch_shape == ()
    mode = Bernoulli(minigrad.tensor([0.2, 0.5, 0.8])).mode.numpy()
    np.testing.assert_array_equal(mode, [0.0, math.nan, 1.0])  # NaN at exactly 1/2, as PyTorch


def test_bernoulli_log_prob_is_stable_for_large_logits():
    d = Bernoulli(logits=minigrad.tensor([-200.0, 200.0, 0.0]))
    lp = d.log_prob(minigrad.tensor([1.0, 0.0, 1.0])).numpy()
    np.testing.assert_allclose(lp, [-200.0, -200.0, -math.log(2)], rtol=1e-6)
    assert np.isfinite(d.entropy().numpy()).all()


def test_uniform_matches_closed_form():
    low, high = t64([0.0, -1.0]), t64([2.0, 3.0])
    d = Uniform(low, high)
    close(d.log_prob(t64([1.0, 2.5])), -np.log([2.0, 4.0]))
    assert Uniform(0.0, 1.0, validate_args=False).log_prob(minigrad.tensor(2.0)).item() == -math.inf
    close(d.entropy(), np.log([2.0, 4.0]))
    close(d.mean, [1.0, 1.0])
    close(d.variance, np.array([4.0, 16.0]) / 12)
    close(Uniform(low, high, validate_args=False).cdf(t64([1.0, 5.0])), [0.5, 1.0])
    close(d.icdf(t64([0.5, 0.25])), [1.0, 0.0])


def test_kl_divergence_matches_closed_form():
    p, q = Normal(t64(LOC), t64(SCALE)), Normal(t64(LOC_Q), t64(SCALE_Q))
    ratio = SCALE / SCALE_Q
    expected = np.log(1 / ratio) + (SCALE**2 + (LOC - LOC_Q) ** 2) / (2 * SCALE_Q**2) - 0.5
    close(kl_divergence(p, q), expected)
    close(kl_divergence(p, p), np.zeros((3, 4)), tol=1e-12)

    lp, lq = log_softmax(LOGITS), log_softmax(LOGITS_Q)
    kl = kl_divergence(Categorical(logits=t64(LOGITS)), Categorical(logits=t64(LOGITS_Q)))
    close(kl, (np.exp(lp) * (lp - lq)).sum(-1))

    bp, bq = BERN_P, BERN_P_Q
    expected = bp * np.log(bp / bq) + (1 - bp) * np.log((1 - bp) / (1 - bq))
    close(kl_divergence(Bernoulli(t64(bp)), Bernoulli(t64(bq))), expected)

    close(kl_divergence(Uniform(0.0, 1.0), Uniform(-1.0, 2.0)), math.log(3.0))
    assert kl_divergence(Uniform(0.0, 1.0), Uniform(0.5, 2.0)).item() == math.inf


def test_kl_divergence_infinite_where_q_has_no_mass():
    half = Categorical(probs=minigrad.tensor([0.5, 0.5]))
    certain = Categorical(probs=minigrad.tensor([0.0, 1.0]))
    assert kl_divergence(half, certain).item() == math.inf
    close(kl_divergence(certain, half), math.log(2))
    assert kl_divergence(Bernoulli(0.5), Bernoulli(1.0)).item() == math.inf
    close(kl_divergence(Bernoulli(1.0), Bernoulli(0.5)), math.log(2))


def test_kl_divergence_names_and_unregistered_pair():
    assert minigrad.distributions.kl.kl_divergence is kl_divergence
    assert minigrad.distributions.kl_divergence is kl_divergence
    with pytest.raises(NotImplementedError, match="Normal and q type Categorical"):
        kl_divergence(Normal(0.0, 1.0), Categorical(logits=minigrad.zeros(2)))


def test_register_kl_dispatches_to_subclasses():
    class Wide(Normal):
        pass

    # inherited from Normal-Normal until a closer pair is registered
    close(kl_divergence(Wide(0.0, 1.0), Normal(0.0, 1.0)), 0.0)

    @minigrad.distributions.register_kl(Wide, Normal)
    def _kl_wide_normal(p, q):
        return minigrad.tensor(-1.0)

    assert kl_divergence(Wide(0.0, 1.0), Normal(0.0, 1.0)).item() == -1.0
    close(kl_divergence(Normal(0.0, 1.0), Wide(0.0, 1.0)), 0.0)
    with pytest.raises(TypeError, match="Distribution subclass"):
        minigrad.distributions.register_kl(int, Normal)


MVN_N = 3
MVN_A = RNG.standard_normal((2, MVN_N, MVN_N))
MVN_COV = MVN_A @ MVN_A.transpose(0, 2, 1) + MVN_N * np.eye(MVN_N)  # (2, 3, 3), positive-definite
MVN_LOC = RNG.standard_normal((4, 1, MVN_N))  # broadcasts with the matrices' batch to (4, 2)
MVN_VALUE = RNG.standard_normal((5, 4, 2, MVN_N))


def mvn_log_prob(x, loc, cov):
    diff = x - loc
    solved = np.linalg.solve(cov, diff[..., None])[..., 0]
    return -0.5 * (cov.shape[-1] * np.log(2 * np.pi) + (diff * solved).sum(-1) + np.linalg.slogdet(cov)[1])


@pytest.mark.parametrize("given", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_multivariate_normal_matches_closed_form(given):
    matrix = {
        "covariance_matrix": MVN_COV,
        "precision_matrix": np.linalg.inv(MVN_COV),
        "scale_tril": np.linalg.cholesky(MVN_COV),
    }[given]
    d = MultivariateNormal(t64(MVN_LOC), **{given: t64(matrix)})
    assert d.batch_shape == (4, 2) and d.event_shape == (MVN_N,)
    close(d.log_prob(t64(MVN_VALUE)), mvn_log_prob(MVN_VALUE, MVN_LOC, MVN_COV), tol=1e-9)
    close(d.entropy(), np.broadcast_to(0.5 * (MVN_N * (1 + np.log(2 * np.pi)) + np.linalg.slogdet(MVN_COV)[1]), (4, 2)))
    close(d.covariance_matrix, np.broadcast_to(MVN_COV, (4, 2, MVN_N, MVN_N)), tol=1e-9)
    close(d.precision_matrix, np.broadcast_to(np.linalg.inv(MVN_COV), (4, 2, MVN_N, MVN_N)), tol=1e-9)
    close(d.scale_tril, np.broadcast_to(np.linalg.cholesky(MVN_COV), (4, 2, MVN_N, MVN_N)), tol=1e-9)
    close(d.mean, np.broadcast_to(MVN_LOC, (4, 2, MVN_N)))
    close(d.variance, np.broadcast_to(np.diagonal(MVN_COV, axis1=-2, axis2=-1), (4, 2, MVN_N)), tol=1e-9)
    assert d.sample((6,)).shape == (6, 4, 2, MVN_N) and d.rsample().shape == (4, 2, MVN_N)


def test_multivariate_normal_kl_and_statistics():
    p = MultivariateNormal(t64(MVN_LOC), t64(MVN_COV))
    q = MultivariateNormal(t64(np.zeros(MVN_N)), scale_tril=t64(np.eye(MVN_N) * 2))
    q_cov = np.eye(MVN_N) * 4
    expected = 0.5 * (
        np.trace(np.linalg.solve(q_cov, MVN_COV), axis1=-2, axis2=-1)
        + (MVN_LOC**2).sum(-1) / 4
        - MVN_N
        + np.linalg.slogdet(q_cov)[1]
        - np.linalg.slogdet(MVN_COV)[1]
    )
    close(kl_divergence(p, q), expected, tol=1e-9)
    minigrad.manual_seed(0)
    x = MultivariateNormal(t64(MVN_LOC[0, 0]), t64(MVN_COV[0])).sample((N,)).numpy()
    assert np.all(np.abs(x.mean(0) - MVN_LOC[0, 0]) < 5 * np.sqrt(np.diag(MVN_COV[0]) / N))
    np.testing.assert_allclose(np.cov(x.T), MVN_COV[0], atol=5 * np.diag(MVN_COV[0]).max() * np.sqrt(2 / N))


def test_multivariate_normal_gradients_by_finite_differences():
    loc, cov = t64(MVN_LOC[0, 0], requires_grad=True), t64(MVN_COV[0], requires_grad=True)
    tril = t64(np.linalg.cholesky(MVN_COV[0]), requires_grad=True)
    value = t64(MVN_VALUE[:, 0, 0])
    # finite differences perturb one entry at a time, leaving the matrices' constraints: no validation
    assert gradcheck(lambda m, c: MultivariateNormal(m, c, validate_args=False).log_prob(value), (loc, cov))
    assert gradcheck(lambda m, c: MultivariateNormal(m, precision_matrix=c, validate_args=False).entropy(), (loc, cov))

    def rsample(m, lower):
        minigrad.manual_seed(5)
        return MultivariateNormal(m, scale_tril=lower, validate_args=False).rsample((2,))

    assert gradcheck(rsample, (loc, tril))


def test_multivariate_normal_bad_arguments():
    with pytest.raises(ValueError, match="Exactly one of covariance_matrix or precision_matrix or scale_tril"):
        MultivariateNormal(minigrad.zeros(2))
    with pytest.raises(ValueError, match="Exactly one of"):
        MultivariateNormal(minigrad.zeros(2), minigrad.eye(2), scale_tril=minigrad.eye(2))
    with pytest.raises(ValueError, match="loc must be at least one-dimensional"):
        MultivariateNormal(minigrad.tensor(0.0), minigrad.eye(2))
    with pytest.raises(ValueError, match=r"covariance_matrix .* PositiveDefinite"):
        MultivariateNormal(minigrad.zeros(2), minigrad.tensor([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match=r"covariance_matrix .* PositiveDefinite"):
        MultivariateNormal(minigrad.zeros(2), minigrad.tensor([[1.0, 0.5], [0.0, 1.0]]))  # not symmetric
    with pytest.raises(ValueError, match=r"scale_tril .* LowerCholesky"):
        MultivariateNormal(minigrad.zeros(2), scale_tril=minigrad.tensor([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="right-most size of value must match event_shape"):
        MultivariateNormal(minigrad.zeros(2), minigrad.eye(2)).log_prob(minigrad.zeros(3))
    with pytest.raises(RuntimeError, match="not positive-definite"):
        MultivariateNormal(minigrad.zeros(2), minigrad.tensor([[1.0, 2.0], [2.0, 1.0]]), validate_args=False)


# --- against PyTorch --------------------------------------------------------------------------


def torch_pair(torch):
    """The same distributions built in minigrad and in PyTorch, float64, by name."""
    td = torch.distributions
    tt = lambda a: torch.tensor(a, dtype=torch.float64)  # noqa: E731
    return {
        "normal": (Normal(t64(LOC), t64(SCALE)), td.Normal(tt(LOC), tt(SCALE)), VALUE),
        "categorical_logits": (Categorical(logits=t64(LOGITS)), td.Categorical(logits=tt(LOGITS)), CAT_VALUE),
        "categorical_probs": (Categorical(probs=t64(PROBS)), td.Categorical(probs=tt(PROBS)), CAT_VALUE),
        "bernoulli_probs": (Bernoulli(probs=t64(BERN_P)), td.Bernoulli(probs=tt(BERN_P)), BERN_VALUE),
        "bernoulli_logits": (Bernoulli(logits=t64(BERN_LOGITS)), td.Bernoulli(logits=tt(BERN_LOGITS)), BERN_VALUE),
        "uniform": (
            Uniform(t64(LOC), t64(LOC + SCALE)),
            td.Uniform(tt(LOC), tt(LOC + SCALE)),
            UNIFORM_VALUE,
        ),
    }


@pytest.mark.parametrize(
    "name", ["normal", "categorical_logits", "categorical_probs", "bernoulli_probs", "bernoulli_logits", "uniform"]
)
def test_against_torch(name):
    torch = pytest.importorskip("torch")
    mine, theirs, value = torch_pair(torch)[name]
    assert tuple(mine.batch_shape) == tuple(theirs.batch_shape)
    assert tuple(mine.event_shape) == tuple(theirs.event_shape)
    value_dtype = torch.int64 if name.startswith("categorical") else torch.float64
    mine_value = minigrad.tensor(value, dtype=minigrad.int64 if name.startswith("categorical") else minigrad.float64)
    close(mine.log_prob(mine_value), theirs.log_prob(torch.tensor(value, dtype=value_dtype)).numpy(), tol=1e-10)
    close(mine.entropy(), theirs.entropy().numpy(), tol=1e-10)
    np.testing.assert_allclose(mine.mean.numpy(), theirs.mean.numpy(), rtol=1e-12)  # NaN for Categorical alike
    np.testing.assert_allclose(mine.variance.numpy(), theirs.variance.numpy(), rtol=1e-12)
    np.testing.assert_allclose(mine.stddev.numpy(), theirs.stddev.numpy(), rtol=1e-12)
    assert repr(mine).replace("minigrad.", "") == repr(theirs).replace("torch.", "")
    for attr in ("probs", "logits"):
        if hasattr(theirs, attr):
            close(getattr(mine, attr), getattr(theirs, attr).detach().numpy(), tol=1e-10)


def test_normal_cdf_icdf_against_torch():
    torch = pytest.importorskip("torch")
    mine, theirs, _ = torch_pair(torch)["normal"]
    close(mine.cdf(t64(VALUE)), theirs.cdf(torch.tensor(VALUE)).numpy(), tol=1e-12)
    q = np.array([0.0, 1e-6, 0.01, 0.3, 0.5, 0.77, 0.999999, 1.0])
    for dtype, tol in ((np.float64, 1e-9), (np.float32, 1e-6)):
        got = Normal(0.0, 1.0).icdf(minigrad.tensor(q.astype(dtype))).numpy()
        want = torch.distributions.Normal(0.0, 1.0).icdf(torch.tensor(q.astype(dtype))).numpy()
        np.testing.assert_allclose(got, want, rtol=tol)


@pytest.mark.parametrize("given", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_multivariate_normal_against_torch(given):
    torch = pytest.importorskip("torch")
    matrix = MVN_COV if given != "scale_tril" else np.linalg.cholesky(MVN_COV)
    loc, mat = t64(MVN_LOC, requires_grad=True), t64(matrix, requires_grad=True)
    tloc, tmat = torch.tensor(MVN_LOC, requires_grad=True), torch.tensor(matrix, requires_grad=True)
    mine = MultivariateNormal(loc, **{given: mat})
    theirs = torch.distributions.MultivariateNormal(tloc, **{given: tmat})
    assert tuple(mine.batch_shape) == tuple(theirs.batch_shape)
    assert tuple(mine.event_shape) == tuple(theirs.event_shape)
    lp, tlp = mine.log_prob(t64(MVN_VALUE)), theirs.log_prob(torch.tensor(MVN_VALUE))
    close(lp, tlp.detach().numpy(), tol=1e-10)
    close(mine.entropy(), theirs.entropy().detach().numpy(), tol=1e-10)
    for attr in ("covariance_matrix", "precision_matrix", "scale_tril", "variance", "mean"):
        close(getattr(mine, attr), getattr(theirs, attr).detach().numpy(), tol=1e-10)
    (lp.sum() + mine.entropy().sum()).backward()
    (tlp.sum() + theirs.entropy().sum()).backward()
    close(loc.grad, tloc.grad.numpy(), tol=1e-10)
    close(mat.grad, tmat.grad.numpy(), tol=1e-10)  # symmetric for the matrices, as PyTorch's
    assert repr(mine).replace("minigrad.", "") == repr(theirs).replace("torch.", "")
    other = (
        MultivariateNormal(t64(np.zeros(MVN_N)), t64(MVN_COV[::-1].copy())),
        torch.distributions.MultivariateNormal(
            torch.zeros(MVN_N, dtype=torch.float64), torch.tensor(MVN_COV[::-1].copy())
        ),
    )
    np.testing.assert_allclose(
        kl_divergence(mine, other[0]).detach().numpy(),
        torch.distributions.kl_divergence(theirs, other[1]).detach().numpy(),
        rtol=1e-10,
    )


@pytest.mark.parametrize("pair", ["normal", "categorical", "bernoulli", "uniform"])
def test_kl_against_torch(pair):
    torch = pytest.importorskip("torch")
    td = torch.distributions
    tt = lambda a: torch.tensor(a, dtype=torch.float64)  # noqa: E731
    mine, theirs = {
        "normal": (
            (Normal(t64(LOC), t64(SCALE)), Normal(t64(LOC_Q), t64(SCALE_Q))),
            (td.Normal(tt(LOC), tt(SCALE)), td.Normal(tt(LOC_Q), tt(SCALE_Q))),
        ),
        "categorical": (
            (Categorical(logits=t64(LOGITS)), Categorical(probs=t64(PROBS))),
            (td.Categorical(logits=tt(LOGITS)), td.Categorical(probs=tt(PROBS))),
        ),
        "bernoulli": (
            (Bernoulli(t64(BERN_P)), Bernoulli(logits=t64(BERN_LOGITS))),
            (td.Bernoulli(tt(BERN_P)), td.Bernoulli(logits=tt(BERN_LOGITS))),
        ),
        "uniform": (
            (Uniform(t64(LOC), t64(LOC + 1)), Uniform(t64(LOC - 0.5), t64(LOC + SCALE))),
            (td.Uniform(tt(LOC), tt(LOC + 1)), td.Uniform(tt(LOC - 0.5), tt(LOC + SCALE))),
        ),
    }[pair]
    np.testing.assert_allclose(kl_divergence(*mine).numpy(), td.kl_divergence(*theirs).numpy(), rtol=1e-10)


@pytest.mark.parametrize("given", ["logits", "probs"])
def test_categorical_log_prob_gradient_against_torch(given):
    torch = pytest.importorskip("torch")
    param = LOGITS if given == "logits" else PROBS
    mine_param = t64(param, requires_grad=True)
    theirs_param = torch.tensor(param, requires_grad=True)
    mine = Categorical(**{given: mine_param})
    theirs = torch.distributions.Categorical(**{given: theirs_param})
    (mine.log_prob(minigrad.tensor(CAT_VALUE)) * t64(WEIGHTS)).sum().backward()
    (theirs.log_prob(torch.tensor(CAT_VALUE)) * torch.tensor(WEIGHTS)).sum().backward()
    close(mine_param.grad, theirs_param.grad.numpy(), tol=1e-10)
    mine_param.grad = None
    theirs_param.grad = None
    Categorical(**{given: mine_param}).entropy().sum().backward()
    torch.distributions.Categorical(**{given: theirs_param}).entropy().sum().backward()
    close(mine_param.grad, theirs_param.grad.numpy(), tol=1e-10)


def test_bernoulli_and_normal_gradients_against_torch():
    torch = pytest.importorskip("torch")
    for given, param in (("probs", BERN_P), ("logits", BERN_LOGITS)):
        mine_param, theirs_param = t64(param, requires_grad=True), torch.tensor(param, requires_grad=True)
        mine, theirs = Bernoulli(**{given: mine_param}), torch.distributions.Bernoulli(**{given: theirs_param})
        (mine.log_prob(t64(BERN_VALUE)).sum() + mine.entropy().sum()).backward()
        (theirs.log_prob(torch.tensor(BERN_VALUE)).sum() + theirs.entropy().sum()).backward()
        close(mine_param.grad, theirs_param.grad.numpy(), tol=1e-10)
    loc, scale = t64(LOC, requires_grad=True), t64(SCALE, requires_grad=True)
    tloc, tscale = torch.tensor(LOC, requires_grad=True), torch.tensor(SCALE, requires_grad=True)
    d, td = Normal(loc, scale), torch.distributions.Normal(tloc, tscale)
    (d.log_prob(t64(VALUE)).sum() + d.entropy().sum()).backward()
    (td.log_prob(torch.tensor(VALUE)).sum() + td.entropy().sum()).backward()
    close(loc.grad, tloc.grad.numpy(), tol=1e-10)
    close(scale.grad, tscale.grad.numpy(), tol=1e-10)


# --- sampling -----------------------------------------------------------------------------------


def all_kinds(device):
    def on(values, dtype=minigrad.float32):
        return minigrad.tensor(values, dtype=dtype, device=device)

    return [
        (Normal(on(LOC), on(SCALE)), minigrad.float32),
        (Categorical(logits=on(LOGITS)), minigrad.int64),
        (Categorical(probs=on(PROBS)), minigrad.int64),
        (Bernoulli(probs=on(BERN_P)), minigrad.float32),
        (Bernoulli(logits=on(BERN_LOGITS)), minigrad.float32),
        (Uniform(on(LOC), on(LOC + SCALE)), minigrad.float32),
        (MultivariateNormal(on(MVN_LOC), on(MVN_COV)), minigrad.float32),
    ]


@pytest.mark.parametrize("sample_shape", [(), (5,), [2, 3], minigrad.Size([4])])
def test_sample_shapes_dtypes_devices(device, sample_shape):
    for d, dtype in all_kinds(device):
        x = d.sample(sample_shape)
        assert x.shape == tuple(sample_shape) + tuple(d.batch_shape) + tuple(d.event_shape), type(d).__name__
        assert x.dtype == dtype and x.device.type == minigrad.device(device).type
        assert not x.requires_grad
        lp = d.log_prob(x)
        assert lp.shape == tuple(sample_shape) + tuple(d.batch_shape) and lp.device.type == x.device.type
        assert np.isfinite(lp.cpu().numpy()).all()


def test_scalar_distributions_sample_scalars():
    assert Normal(0.0, 1.0).sample().shape == ()
    assert Bernoulli(0.5).sample((3,)).shape == (3,)
    assert Categorical(probs=minigrad.tensor([0.5, 0.5])).sample().shape == ()
    assert Uniform(0.0, 1.0).rsample((2, 2)).shape == (2, 2)


def test_sample_is_reproducible_under_manual_seed(device):
    def draw():
        minigrad.manual_seed(1234)
        return [d.sample((3,)).cpu().numpy() for d, _ in all_kinds(device)] + [
            Normal(minigrad.zeros(4, device=device), 1.0).rsample().detach().cpu().numpy()
        ]

    first, second = draw(), draw()
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    minigrad.manual_seed(4321)
    assert not np.array_equal(all_kinds(device)[0][0].sample((3,)).cpu().numpy(), first[0])


def test_sample_and_rsample_draw_the_same_numbers():
    d = Normal(minigrad.tensor(LOC), minigrad.tensor(SCALE))
    minigrad.manual_seed(7)
    a = d.sample((2,))
    minigrad.manual_seed(7)
    b = d.rsample((2,))
    np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-6)


def test_sample_statistics():
    minigrad.manual_seed(0)
    loc, scale = np.array([-1.0, 0.0, 3.0]), np.array([0.5, 1.0, 2.0])
    x = Normal(t64(loc), t64(scale)).sample((N,)).numpy()
    se = scale / np.sqrt(N)
    assert np.all(np.abs(x.mean(0) - loc) < 5 * se)
    assert np.all(np.abs(x.var(0) / scale**2 - 1) < 5 * np.sqrt(2 / N))

    probs = np.array([[0.1, 0.2, 0.7], [0.5, 0.0, 0.5]])
    c = Categorical(probs=t64(probs)).sample((N,)).numpy()
    for row in range(2):
        freq = np.bincount(c[:, row], minlength=3) / N
        assert np.all(np.abs(freq - probs[row]) < 5 * np.sqrt(probs[row] * (1 - probs[row]) / N) + 1e-12)
    assert not np.any(c[:, 1] == 1)  # a zero-probability category is never drawn

    p = np.array([0.05, 0.5, 0.9])
    b = Bernoulli(logits=t64(np.log(p / (1 - p)))).sample((N,)).numpy()
    assert set(np.unique(b)) <= {0.0, 1.0}
    assert np.all(np.abs(b.mean(0) - p) < 5 * np.sqrt(p * (1 - p) / N))

    u = Uniform(t64([0.0, -2.0]), t64([1.0, 4.0])).sample((N,)).numpy()
    assert u[:, 0].min() >= 0 and u[:, 0].max() < 1 and u[:, 1].min() >= -2 and u[:, 1].max() < 4
    assert np.all(np.abs(u.mean(0) - [0.5, 1.0]) < 5 * np.array([1.0, 6.0]) / np.sqrt(12 * N))


def test_rsample_gradients_by_finite_differences():
    loc, scale = t64(LOC, requires_grad=True), t64(SCALE, requires_grad=True)

    def normal_rsample(loc, scale):
        minigrad.manual_seed(3)  # the same noise at every evaluation
        return Normal(loc, scale).rsample((2,))

    assert gradcheck(normal_rsample, (loc, scale))

    low, high = t64(LOC, requires_grad=True), t64(LOC + SCALE, requires_grad=True)

    def uniform_rsample(low, high):
        minigrad.manual_seed(3)
        return Uniform(low, high).rsample((2,))

    assert gradcheck(uniform_rsample, (low, high))


def test_log_prob_entropy_kl_gradients_by_finite_differences():
    loc, scale = t64(LOC, requires_grad=True), t64(SCALE, requires_grad=True)
    value = t64(VALUE)
    assert gradcheck(lambda m, s: Normal(m, s).log_prob(value) + Normal(m, s).entropy(), (loc, scale))
    assert gradcheck(lambda m, s: kl_divergence(Normal(m, s), Normal(0.0, 1.0)), (loc, scale))
    assert gradcheck(lambda m, s: Normal(m, s).cdf(value), (loc, scale))
    q = t64([0.01, 0.3, 0.5, 0.9], requires_grad=True)
    assert gradcheck(lambda q: Normal(1.0, 2.0).icdf(q), (q,))
    logits = t64(LOGITS, requires_grad=True)
    other = Categorical(probs=t64(PROBS))
    assert gradcheck(lambda z: kl_divergence(Categorical(logits=z), other), (logits,))
    bern = t64(BERN_LOGITS, requires_grad=True)
    assert gradcheck(lambda z: kl_divergence(Bernoulli(logits=z), Bernoulli(t64(BERN_P))), (bern,))
    assert gradcheck(lambda z: Bernoulli(logits=z).entropy(), (bern,))


def test_rsample_is_on_the_tape_and_sample_is_not():
    loc = minigrad.zeros(3, requires_grad=True)
    scale = minigrad.ones(3, requires_grad=True)
    d = Normal(loc, scale)
    assert not d.sample((4,)).requires_grad
    x = d.rsample((4,))
    assert x.requires_grad
    x.sum().backward()
    np.testing.assert_allclose(loc.grad.numpy(), np.full(3, 4.0))
    assert Normal.has_rsample and Uniform.has_rsample
    assert not Categorical.has_rsample and not Bernoulli.has_rsample
    with pytest.raises(NotImplementedError):
        Categorical(logits=minigrad.zeros(3)).rsample()


def test_reinforce_smoke():
    minigrad.manual_seed(0)
    nn = minigrad.nn
    policy = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3))
    optimizer = minigrad.optim.Adam(policy.parameters(), lr=1e-2)
    states = minigrad.randn(8, 4)
    dist = Categorical(logits=policy(states))
    actions = dist.sample()
    assert actions.shape == (8,) and actions.dtype == minigrad.int64
    returns = minigrad.randn(8)
    loss = -(dist.log_prob(actions) * returns).mean() - 0.01 * dist.entropy().mean()
    optimizer.zero_grad()
    loss.backward()
    for p in policy.parameters():
        assert p.grad is not None and np.abs(p.grad.numpy()).sum() > 0
    optimizer.step()


def test_gaussian_policy_and_vae_smoke():
    minigrad.manual_seed(0)
    mu = minigrad.nn.Linear(3, 2)
    log_std = minigrad.nn.Parameter(minigrad.zeros(2))
    dist = Normal(mu(minigrad.randn(5, 3)), log_std.exp())
    action = dist.rsample()
    loss = dist.log_prob(action.detach()).sum(-1).mean() + kl_divergence(dist, Normal(0.0, 1.0)).sum(-1).mean()
    loss.backward()
    assert np.abs(mu.weight.grad.numpy()).sum() > 0 and np.abs(log_std.grad.numpy()).sum() > 0


# --- bad arguments ------------------------------------------------------------------------------


def test_probs_and_logits_exactly_one():
    for cls in (Categorical, Bernoulli):
        with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified, but not both"):
            cls(probs=minigrad.tensor([0.5, 0.5]), logits=minigrad.tensor([0.0, 0.0]))
        with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified, but not both"):
            cls()
    with pytest.raises(ValueError, match="at least one-dimensional"):
        Categorical(probs=minigrad.tensor(0.5))
    with pytest.raises(ValueError, match="at least one-dimensional"):
        Categorical(logits=minigrad.tensor(0.5))


@pytest.mark.parametrize(
    "make, constraint",
    [
        (lambda: Normal(0.0, -1.0), r"scale .* GreaterThan\(lower_bound=0.0\)"),
        (lambda: Normal(minigrad.zeros(2), minigrad.tensor([1.0, 0.0])), r"scale \(Tensor of shape \(2,\)\)"),
        (lambda: Normal(float("nan"), 1.0), r"loc .* Real\(\)"),
        (lambda: Categorical(probs=minigrad.tensor([-0.2, 1.0])), r"probs .* Simplex\(\)"),
        (lambda: Categorical(probs=minigrad.zeros(3)), r"probs .* Simplex\(\)"),
        (lambda: Categorical(logits=minigrad.tensor([0.0, float("nan")])), r"logits .* IndependentConstraint"),
        (lambda: Bernoulli(1.5), r"probs .* Interval\(lower_bound=0.0, upper_bound=1.0\)"),
        (lambda: Uniform(1.0, 0.0), r"low .* LessThan"),
    ],
)
def test_invalid_parameters_raise_value_error(make, constraint):
    with pytest.raises(ValueError, match="Expected parameter " + constraint):
        make()


def test_invalid_parameters_pass_without_validation():
    assert Normal(0.0, -1.0, validate_args=False).scale.item() == -1.0
    previous = Distribution._validate_args
    Distribution.set_default_validate_args(False)
    try:
        assert Bernoulli(1.5).probs.item() == 1.5
    finally:
        Distribution.set_default_validate_args(previous)
    with pytest.raises(ValueError):
        Distribution.set_default_validate_args("yes")


def test_bad_values_raise_value_error():
    d = Normal(minigrad.zeros(2), 1.0)
    with pytest.raises(ValueError, match="Value is not broadcastable with batch_shape"):
        d.log_prob(minigrad.zeros(3))
    with pytest.raises(ValueError, match="must be a Tensor"):
        d.log_prob(0.5)
    close(Normal(0.0, 1.0, validate_args=False).log_prob(0.5), normal_log_prob(0.5, 0.0, 1.0))
    c = Categorical(logits=minigrad.zeros(2, 3))
    with pytest.raises(ValueError, match="Value is not broadcastable"):
        c.log_prob(minigrad.tensor([0, 1, 2]))
    assert c.log_prob(minigrad.tensor([[0], [1], [2]])).shape == (3, 2)  # broadcasts as PyTorch
    with pytest.raises(ValueError, match=r"support \(IntegerInterval\(lower_bound=0, upper_bound=2\)\)"):
        c.log_prob(minigrad.tensor([3, 0]))
    with pytest.raises(ValueError, match="support"):
        c.log_prob(minigrad.tensor([0.5, 0.0]))
    with pytest.raises(ValueError, match=r"support \(Boolean\(\)\)"):
        Bernoulli(0.5).log_prob(minigrad.tensor(0.5))
    with pytest.raises(ValueError, match=r"support \(Real\(\)\)"):
        Normal(0.0, 1.0).log_prob(minigrad.tensor(float("nan")))
    with pytest.raises(ValueError, match="support"):
        Uniform(0.0, 1.0).log_prob(minigrad.tensor(2.0))


def test_bad_argument_types():
    with pytest.raises(ValueError, match="Number or minigrad.Tensor"):
        Normal("0", 1.0)
    with pytest.raises(ValueError, match="broadcast"):
        Normal(minigrad.zeros(2), minigrad.ones(3))
    with pytest.raises(TypeError):
        Normal(0.0, 1.0).sample(5)  # sample_shape is a shape, as in PyTorch


def test_reachable_as_in_pytorch():
    import minigrad.distributions.categorical
    import minigrad.distributions.normal

    assert minigrad.distributions.Normal is minigrad.distributions.normal.Normal
    assert minigrad.distributions.Categorical is minigrad.distributions.categorical.Categorical
    assert minigrad.distributions.constraints.positive.check(minigrad.tensor([1.0, -1.0])).tolist() == [True, False]
    assert repr(Normal(minigrad.zeros(3), 1.0)) == "Normal(loc: minigrad.Size([3]), scale: minigrad.Size([3]))"
    assert repr(Normal(0.0, 1.0)) == "Normal(loc: 0.0, scale: 1.0)"
