"""The LU family and torch.nn.functional.multi_head_attention_forward; every program runs on both
libraries (`program(lib)`, lib minigrad or torch) and is compared with PyTorch's results (live, or
recorded in tests/fixtures/torch_reference/test_linalg_lu_mha_functional.npz).

LU: linalg.lu_factor / lu_factor_ex (packed factors, int32 1-based pivots, info), linalg.lu
(P, L, U; square, wide, tall, batched, empty), linalg.lu_solve (left, adjoint, broadcast batches),
torch.lu_unpack and the deprecated torch.lu / torch.lu_solve / Tensor.lu / Tensor.lu_solve; their
gradients (PyTorch's lu_factor_ex_backward and lu_solve's, create_graph included), singular
matrices (info > 0, no exception where PyTorch raises none), PyTorch's exception classes, and
float64 finite-difference checks. Attention: multi_head_attention_forward's options (packed or
separate projections, biases, bias_k/bias_v, add_zero_attn, masks, unbatched, static_k/static_v,
weights per head), its gradients, its exception classes, and nn.MultiheadAttention calling it."""

import warnings

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



_SHAPES = {"square": (4, 4), "batched": (2, 3, 3), "wide": (3, 5), "tall": (2, 5, 3), "one": (1, 1)}


def _matrix(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


def _weights(shape, seed):
    """Fixed cotangents, so every entry of a result reaches its own gradient."""
    return np.cos(np.arange(int(np.prod(shape))) + seed).reshape(shape)


# ------------------------------------------------------------------- lu_factor, lu
def _lu_factor_program(lib):
    out = {}
    for i, (name, shape) in enumerate(_SHAPES.items()):
        a = lib.tensor(_matrix(shape, i), requires_grad=True)
        lu, pivots = lib.linalg.lu_factor(a)
        (lu * lib.tensor(_weights(lu.shape, i))).sum().backward()
        out.update({f"{name}/LU": lu, f"{name}/pivots": pivots, f"{name}/grad": a.grad})
        lu32, pivots32, info32 = lib.linalg.lu_factor_ex(lib.tensor(_matrix(shape, i), dtype=lib.float32))
        out.update({f"{name}/LU32": lu32, f"{name}/pivots32": pivots32, f"{name}/info32": info32})
    for name, shape in {"empty": (0, 0), "empty_batch": (2, 0, 3), "no_columns": (3, 0)}.items():
        lu, pivots, info = lib.linalg.lu_factor_ex(lib.zeros(shape, dtype=lib.float64))
        out.update({f"{name}/LU": lu, f"{name}/pivots": pivots, f"{name}/info": info})
    return out


def test_lu_factor_values_pivots_and_gradients_as_torch():
    check("lu_factor", _lu_factor_program, rtol=1e-6)


def _lu_program(lib):
    out = {}
    for i, (name, shape) in enumerate(_SHAPES.items()):
        for part in ("L", "U", "both"):
            a = lib.tensor(_matrix(shape, 10 + i), requires_grad=True)
            p, lower, upper = lib.linalg.lu(a)
            loss = 0
            if part != "U":
                loss = loss + (lower * lib.tensor(_weights(lower.shape, 1))).sum()
            if part != "L":
                loss = loss + (upper * lib.tensor(_weights(upper.shape, 2))).sum()
            loss.backward()
            out[f"{name}/{part}/grad"] = a.grad
        out.update({f"{name}/P": p, f"{name}/L": lower, f"{name}/U": upper})
    p, lower, upper = lib.linalg.lu(lib.zeros((2, 0, 3), dtype=lib.float64))
    out.update({"empty/P": p, "empty/L": lower, "empty/U": upper})
    return out


def test_lu_pivots_factors_and_gradients_as_torch():
    check("lu", _lu_program)


def _singular_program(lib):
    """Singular matrices: info > 0 and no exception (lu_factor_ex, lu, torch.lu); lu_factor raises."""
    a = np.stack([np.eye(3), [[1.0, 2, 3], [2, 4, 6], [1, 1, 1]], [[1.0, 1, 3], [1, 1, 6], [1, 1, 1]],
                  np.zeros((3, 3))])
    t = lib.tensor(a)
    lu, pivots, info = lib.linalg.lu_factor_ex(t)
    p, lower, upper = lib.linalg.lu(t)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old = lib.lu(t, get_infos=True)
    try:
        lib.linalg.lu_factor(t)
        message = ""
    except RuntimeError as e:
        message = str(e).split(": ", 1)[1]
    return {"LU": lu, "pivots": pivots, "info": info, "P": p, "L": lower, "U": upper, "old_LU": old[0],
            "old_info": old[2], "message": np.array(message)}


def test_singular_matrices_give_info_without_exception_as_torch():
    check("singular", _singular_program)


# ------------------------------------------------------------------- lu_solve, lu_unpack, the deprecated forms
def _lu_solve_program(lib):
    out = {}
    for left in (True, False):
        for adjoint in (False, True):
            key = f"left{int(left)}_adjoint{int(adjoint)}"
            a = lib.tensor(_matrix((2, 4, 4), 20), requires_grad=True)
            b = lib.tensor(_matrix((3, 1, 4, 2) if left else (3, 1, 2, 4), 21), requires_grad=True)
            lu, pivots = lib.linalg.lu_factor(a)
            x = lib.linalg.lu_solve(lu, pivots, b, left=left, adjoint=adjoint)
            (x * lib.tensor(_weights(x.shape, 3))).sum().backward()
            out.update({f"{key}/X": x, f"{key}/gA": a.grad, f"{key}/gB": b.grad})
            # the gradient with respect to a packed LU given as a leaf
            leaf = lu.detach().requires_grad_(True)
            x = lib.linalg.lu_solve(leaf, pivots, b.detach(), left=left, adjoint=adjoint)
            (x * lib.tensor(_weights(x.shape, 4))).sum().backward()
            out[f"{key}/gLU"] = leaf.grad
    return out


def test_lu_solve_values_and_gradients_as_torch():
    check("lu_solve", _lu_solve_program)


def _unpack_and_deprecated_program(lib):
    a = lib.tensor(_matrix((2, 4, 3), 30), requires_grad=True)
    lu, pivots = lib.linalg.lu_factor(a)
    p, lower, upper = lib.lu_unpack(lu, pivots)
    (lower.sum() + (upper * 2).sum()).backward()
    no_data = lib.lu_unpack(lu, pivots, unpack_data=False)
    no_pivots = lib.lu_unpack(lu, pivots, unpack_pivots=False)
    square = lib.tensor(_matrix((3, 3), 31))
    rhs = lib.tensor(_matrix((3, 2), 32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old_lu, old_pivots = lib.lu(square)
        method = square.lu(get_infos=True)
        solved = lib.lu_solve(rhs, old_lu, old_pivots)
        method_solved = rhs.lu_solve(old_lu, old_pivots)
    return {"P": p, "L": lower, "U": upper, "grad": a.grad, "no_data_P": no_data[0], "no_data_L": no_data[1],
            "no_data_U": no_data[2], "no_pivots_P": no_pivots[0], "no_pivots_L": no_pivots[1],
            "old_LU": old_lu, "old_pivots": old_pivots, "method_info": method[2], "solved": solved,
            "method_solved": method_solved, "check": lib.linalg.solve(square, rhs)}


def test_lu_unpack_and_deprecated_forms_as_torch():
    check("unpack_deprecated", _unpack_and_deprecated_program)


def _create_graph_program(lib):
    out = {}
    for name, shape in (("square", (3, 3)), ("wide", (2, 3, 5)), ("tall", (4, 2))):
        a = lib.tensor(_matrix(shape, 40), requires_grad=True)
        lu, _ = lib.linalg.lu_factor(a)
        (g,) = lib.autograd.grad((lu**3 * lib.tensor(_weights(shape, 5))).sum(), a, create_graph=True)
        (g**2).sum().backward()
        out.update({f"{name}/g": g, f"{name}/gg": a.grad})
    a = lib.tensor(_matrix((3, 3), 41), requires_grad=True)
    b = lib.tensor(_matrix((3, 2), 42), requires_grad=True)
    lu, pivots = lib.linalg.lu_factor(a)
    x = lib.linalg.lu_solve(lu, pivots, b, adjoint=True)
    ga, gb = lib.autograd.grad((x**3).sum(), (a, b), create_graph=True)
    ((ga**2).sum() + (gb**2).sum()).backward()
    out.update({"solve/gA": ga, "solve/gB": gb, "solve/ggA": a.grad, "solve/ggB": b.grad})
    return out


def test_lu_second_derivatives_as_torch():
    check("create_graph", _create_graph_program, rtol=1e-7)


def _lu_mistakes(lib):
    a = lib.tensor(_matrix((3, 3), 50))
    lu, pivots = lib.linalg.lu_factor(a)
    singular = lib.zeros((2, 3, 3), dtype=lib.float64)
    return {
        "no_pivot_cpu": (RuntimeError, lambda: lib.linalg.lu_factor(a, pivot=False)),
        "no_pivot_lu_cpu": (RuntimeError, lambda: lib.linalg.lu(a, pivot=False)),
        "integer": (NotImplementedError, lambda: lib.linalg.lu_factor(lib.zeros((3, 3), dtype=lib.int64))),
        "one_dim": (RuntimeError, lambda: lib.linalg.lu_factor(lib.zeros(3, dtype=lib.float64))),
        "singular": (RuntimeError, lambda: lib.linalg.lu_factor(singular)),
        "singular_ex_checked": (RuntimeError, lambda: lib.linalg.lu_factor_ex(singular, check_errors=True)),
        "solve_rows": (RuntimeError, lambda: lib.linalg.lu_solve(lu, pivots, lib.zeros((4, 2), dtype=lib.float64))),
        "solve_dtype": (RuntimeError, lambda: lib.linalg.lu_solve(lu, pivots, lib.zeros((3, 2), dtype=lib.float32))),
        "solve_pivots_dtype": (RuntimeError, lambda: lib.linalg.lu_solve(lu, pivots.long(), lib.zeros((3, 2),
                                                                                                       dtype=lib.float64))),
        "solve_vector": (RuntimeError, lambda: lib.linalg.lu_solve(lu, pivots, lib.zeros(3, dtype=lib.float64))),
        "solve_pivot_count": (RuntimeError, lambda: lib.linalg.lu_solve(lu, pivots[:2], lib.zeros((3, 2),
                                                                                                  dtype=lib.float64))),
        "solve_not_square": (RuntimeError, lambda: lib.linalg.lu_solve(lib.zeros((3, 4), dtype=lib.float64), pivots,
                                                                      lib.zeros((3, 2), dtype=lib.float64))),
        "unpack_pivots_dtype": (RuntimeError, lambda: lib.lu_unpack(lu, pivots.long())),
        "unpack_pivots_range": (RuntimeError, lambda: lib.lu_unpack(lu, pivots + 5)),
        "unpack_one_dim": (RuntimeError, lambda: lib.lu_unpack(lu[0], pivots)),
    }


def test_lu_exception_classes_as_torch():
    check("lu_mistakes", mistakes_program(_lu_mistakes))


# ------------------------------------------------------------------- finite differences (float64, minigrad)
@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (4, 2), (2, 3, 3)], ids=["square", "wide", "tall", "batched"])
def test_lu_factor_and_lu_gradients_match_finite_differences(shape):
    data = _matrix(shape, 60)
    w = _weights(shape, 6)
    k = min(shape[-2:])
    w_l, w_u = _weights((*shape[:-1], k), 7), _weights((*shape[:-2], k, shape[-1]), 8)

    def lu_factor_loss():
        return float((minigrad.linalg.lu_factor(minigrad.tensor(data))[0] * minigrad.tensor(w)).sum().item())

    def lu_loss():
        _, lower, upper = minigrad.linalg.lu(minigrad.tensor(data))
        return float(((lower * minigrad.tensor(w_l)).sum() + (upper * minigrad.tensor(w_u)).sum()).item())

    for name, loss in (("lu_factor", lu_factor_loss), ("lu", lu_loss)):
        x = minigrad.tensor(data, requires_grad=True)
        if name == "lu_factor":
            (minigrad.linalg.lu_factor(x)[0] * minigrad.tensor(w)).sum().backward()
        else:
            _, lower, upper = minigrad.linalg.lu(x)
            ((lower * minigrad.tensor(w_l)).sum() + (upper * minigrad.tensor(w_u)).sum()).backward()
        assert_grad_close(x.grad.numpy(), numerical_grad(loss, data), name=name)


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("adjoint", [False, True])
def test_lu_solve_gradients_match_finite_differences(left, adjoint):
    a_data, b_data = _matrix((2, 3, 3), 70), _matrix((2, 3, 2) if left else (2, 2, 3), 71)
    w = _weights(b_data.shape, 9)

    def loss():
        lu, pivots = minigrad.linalg.lu_factor(minigrad.tensor(a_data))
        x = minigrad.linalg.lu_solve(lu, pivots, minigrad.tensor(b_data), left=left, adjoint=adjoint)
        return float((x * minigrad.tensor(w)).sum().item())

    a, b = minigrad.tensor(a_data, requires_grad=True), minigrad.tensor(b_data, requires_grad=True)
    lu, pivots = minigrad.linalg.lu_factor(a)
    (minigrad.linalg.lu_solve(lu, pivots, b, left=left, adjoint=adjoint) * minigrad.tensor(w)).sum().backward()
    assert_grad_close(a.grad.numpy(), numerical_grad(loss, a_data), name="A")
    assert_grad_close(b.grad.numpy(), numerical_grad(loss, b_data), name="B")


# ------------------------------------------------------------------- multi_head_attention_forward
E, HEADS, L, S, N = 6, 2, 3, 4, 2


def _mha_params(lib, seed, kdim=E, vdim=E):
    rng = np.random.default_rng(seed)

    def t(*shape):
        return lib.tensor(rng.standard_normal(shape) * 0.5, requires_grad=True)

    return {"in_proj_weight": t(3 * E, E), "in_proj_bias": t(3 * E), "bias_k": t(1, 1, E), "bias_v": t(1, 1, E),
            "out_proj_weight": t(E, E), "out_proj_bias": t(E), "q_proj_weight": t(E, E), "k_proj_weight": t(E, kdim),
            "v_proj_weight": t(E, vdim)}


def _mha_call(lib, params, query, key, value, *, bias_kv=False, zero_attn=False, **kwargs):
    F = lib.nn.functional
    return F.multi_head_attention_forward(
        query, key, value, E, HEADS, params["in_proj_weight"], params["in_proj_bias"],
        params["bias_k"] if bias_kv else None, params["bias_v"] if bias_kv else None, zero_attn, 0.0,
        params["out_proj_weight"], params["out_proj_bias"], **kwargs)


_MHA_CASES = {
    "plain": {},
    "no_weights": {"need_weights": False},
    "per_head": {"average_attn_weights": False},
    "bias_kv_zero_attn_masks": {"bias_kv": True, "zero_attn": True, "key_padding": True, "attn_mask": "2d"},
    "mask_3d_float": {"attn_mask": "3d"},
    "padding_no_weights": {"key_padding": True, "need_weights": False},
    "causal": {"attn_mask": "causal", "is_causal": True},
    "separate": {"separate": True},
    "static_kv": {"static": True},
    "eval_dropout": {"training": False},
    "unbatched": {"unbatched": True},
}


def _mha_program(lib):
    out = {}
    for i, (name, case) in enumerate(_MHA_CASES.items()):
        case = dict(case)
        rng = np.random.default_rng(80 + i)
        kdim, vdim = (4, 5) if case.pop("separate", False) else (E, E)
        params = _mha_params(lib, 90 + i, kdim, vdim)
        unbatched = case.pop("unbatched", False)
        batch = () if unbatched else (N,)

        def t(length, size, batch=batch, rng=rng):
            return lib.tensor(rng.standard_normal((length, *batch, size)), requires_grad=True)

        query, key, value = t(L, E), t(S, kdim), t(S, vdim)
        kwargs = {}
        if kdim != E:
            kwargs.update(use_separate_proj_weight=True, q_proj_weight=params["q_proj_weight"],
                          k_proj_weight=params["k_proj_weight"], v_proj_weight=params["v_proj_weight"])
        if case.pop("key_padding", False):
            kwargs["key_padding_mask"] = lib.tensor(np.array([[False, False, True, False], [True, False, False, True]]))
        mask = case.pop("attn_mask", None)
        if mask == "2d":
            kwargs["attn_mask"] = lib.tensor(np.array([[False, True, False, False]] * L))
        elif mask == "3d":
            kwargs["attn_mask"] = lib.tensor(rng.standard_normal((N * HEADS, L, S)))
        elif mask == "causal":
            kwargs["attn_mask"] = lib.tensor(np.triu(np.ones((L, S), bool), 1))
        if case.pop("static", False):
            kwargs["static_k"] = lib.tensor(rng.standard_normal((N * HEADS, S + 1, E // HEADS)), requires_grad=True)
            kwargs["static_v"] = lib.tensor(rng.standard_normal((N * HEADS, S + 1, E // HEADS)), requires_grad=True)
        if case.pop("training", True) is False:
            kwargs["training"] = False
        bias_kv, zero_attn = case.pop("bias_kv", False), case.pop("zero_attn", False)
        kwargs.update(case)
        if "dropout" in name:  # dropout_p 0.5 with training=False: no dropout
            F = lib.nn.functional
            output, weights = F.multi_head_attention_forward(
                query, key, value, E, HEADS, params["in_proj_weight"], params["in_proj_bias"], None, None, False,
                0.5, params["out_proj_weight"], params["out_proj_bias"], **kwargs)
        else:
            output, weights = _mha_call(lib, params, query, key, value, bias_kv=bias_kv, zero_attn=zero_attn,
                                        **kwargs)
        loss = (output * lib.tensor(_weights(tuple(output.shape), i))).sum()
        if weights is not None:
            loss = loss + (weights * lib.tensor(_weights(tuple(weights.shape), i + 1))).sum()
            out[f"{name}/weights"] = weights
        loss.backward()
        out[f"{name}/output"] = output
        grads = {"query": query, "key": key, "value": value, **params, **{k: kwargs[k] for k in ("static_k", "static_v")
                                                                        if k in kwargs}}
        for grad_name, leaf in grads.items():
            if leaf.grad is not None:
                out[f"{name}/grad/{grad_name}"] = leaf.grad
    return out


def test_multi_head_attention_forward_as_torch():
    check("mha_forward", _mha_program, rtol=1e-8)


def _mha_mistakes(lib):
    params = _mha_params(lib, 99)
    x = lib.tensor(np.zeros((L, N, E)))
    F = lib.nn.functional

    def call(**kwargs):
        base = dict(query=x, key=x, value=x, embed_dim_to_check=E, num_heads=HEADS,
                    in_proj_weight=params["in_proj_weight"], in_proj_bias=params["in_proj_bias"], bias_k=None,
                    bias_v=None, add_zero_attn=False, dropout_p=0.0, out_proj_weight=params["out_proj_weight"],
                    out_proj_bias=params["out_proj_bias"])
        base.update(kwargs)
        return lambda: F.multi_head_attention_forward(**base)

    static = lib.tensor(np.zeros((N * HEADS, L, E // HEADS)))
    return {
        "embed_dim_to_check": (AssertionError, call(embed_dim_to_check=E + 1)),
        "separate_weights_missing": (AssertionError, call(use_separate_proj_weight=True)),
        "static_with_bias_k": (AssertionError, call(bias_k=params["bias_k"], bias_v=params["bias_v"], static_k=static,
                                                    static_v=static)),
        "static_k_heads": (AssertionError, call(static_k=lib.tensor(np.zeros((N, L, E // HEADS))), static_v=static)),
        "key_padding_shape": (AssertionError, call(key_padding_mask=lib.zeros((N, L + 1), dtype=lib.bool))),
        "attn_mask_shape": (RuntimeError, call(attn_mask=lib.zeros((L, L + 1)))),
    }


def test_multi_head_attention_forward_exception_classes_as_torch():
    check("mha_mistakes", mistakes_program(_mha_mistakes))


def test_multihead_attention_module_calls_the_functional():
    """nn.MultiheadAttention's forward is multi_head_attention_forward on its parameters (one
    implementation), batch_first included."""
    minigrad.manual_seed(0)
    for batch_first in (False, True):
        mha = minigrad.nn.MultiheadAttention(E, HEADS, add_bias_kv=True, batch_first=batch_first).double()
        x = minigrad.tensor(np.random.default_rng(1).standard_normal((L, N, E)))
        inp = x.transpose(0, 1) if batch_first else x
        out, weights = mha(inp, inp, inp)
        want, want_weights = minigrad.nn.functional.multi_head_attention_forward(
            x, x, x, E, HEADS, mha.in_proj_weight, mha.in_proj_bias, mha.bias_k, mha.bias_v, False, 0.0,
            mha.out_proj.weight, mha.out_proj.bias)
        got = out.transpose(0, 1) if batch_first else out
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(weights.detach().numpy(), want_weights.detach().numpy(), rtol=1e-12)
