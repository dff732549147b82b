"""Comparison helpers the parity test modules share: minigrad against PyTorch or numpy."""

import numpy as np

import minigrad


def f64(values, requires_grad=True):
    """A float64 minigrad tensor of values (for gradcheck)."""
    return minigrad.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def as_array(value):
    """A minigrad or torch tensor (or a tuple of them, e.g. values and indices) as a numpy array
    (or a tuple of them); anything else through np.asarray."""
    if isinstance(value, tuple):
        return tuple(as_array(v) for v in value)
    return np.asarray(value.detach().cpu().numpy()) if hasattr(value, "detach") else np.asarray(value)


def assert_same(got, want, rtol=1e-6):
    """Same shape, dtype and values (NaN where the other has NaN; floats to rtol)."""
    got, want = as_array(got), as_array(want)
    if isinstance(got, tuple):
        assert isinstance(want, tuple) and len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert_same(g, w, rtol)
        return
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, want.shape, got.dtype, want.dtype)
    if got.dtype.kind == "f":
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, want)
