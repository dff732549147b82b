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


def set_params(model, lib, seed, scale=0.2):
    """The same weights in either library (lib: minigrad or torch): every parameter drawn from
    numpy, in order; returns model."""
    rng = np.random.default_rng(seed)
    with lib.no_grad():
        for p in model.parameters():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape)) * scale, dtype=p.dtype))
    return model


def check_program(torch_reference, key, program, rtol=1e-9):
    """program(minigrad)'s results (a dict of named values) against program(torch)'s, live or
    recorded under key by the module's TorchReference: shape, dtype and values."""
    want = torch_reference(key, program)
    got = program(minigrad)
    assert got.keys() == want.keys()
    for name, value in got.items():
        g, w = as_array(value), want[name]
        assert g.shape == w.shape and g.dtype == w.dtype, (name, g.shape, w.shape, g.dtype, w.dtype)
        if g.dtype.kind == "f":
            np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol, err_msg=name)
        else:
            np.testing.assert_array_equal(g, w, err_msg=name)


def error_of(fn):
    """"ExceptionType: message" of what fn() raises ("" when it returns)."""
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 (the exception is the result)
        return f"{type(exc).__name__}: {exc}"
    return ""


def caught_as(cases):
    """For each named case (PyTorch's exception class, a function): whether a ported
    ``except <that class>`` handler catches what the function raises (False when it returns)."""
    out = []
    for cls, fn in cases.values():
        try:
            fn()
            out.append(False)
        except cls:
            out.append(True)
        except Exception:  # noqa: BLE001 (another class: not caught)
            out.append(False)
    return np.array(out)


def caught_report(cases):
    """caught_as(cases) with the cases' names: a program's result for check_program."""
    return {"caught": caught_as(cases), "names": np.array(list(cases))}


def mistakes_program(mistakes):
    """A program reporting, for each mistake of mistakes(lib), whether PyTorch's class catches it."""
    def program(lib):
        return caught_report(mistakes(lib))
    return program
