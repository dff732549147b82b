"""Probability distributions with PyTorch's API (torch.distributions): sampling from minigrad's
seeded generator, differentiable log-probabilities and entropies, reparameterised samples, and
KL divergences, for policy gradients, VAEs and Gaussian policies ported from PyTorch."""

# constraints first: the distribution modules read it while this package is still importing
from minigrad.distributions import constraints
from minigrad.distributions.bernoulli import Bernoulli
from minigrad.distributions.categorical import Categorical
from minigrad.distributions.distribution import Distribution
from minigrad.distributions.independent import Independent
from minigrad.distributions.kl import kl_divergence, register_kl
from minigrad.distributions.multivariate_normal import MultivariateNormal
from minigrad.distributions.normal import Normal
from minigrad.distributions.uniform import Uniform

__all__ = [
    "Bernoulli",
    "Categorical",
    "Distribution",
    "Independent",
    "MultivariateNormal",
    "Normal",
    "Uniform",
    "constraints",
    "kl_divergence",
    "register_kl",
]
