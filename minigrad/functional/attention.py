"""scaled_dot_product_attention, as torch.nn.functional's: softmax(q k^T * scale + mask) v over the
last two dimensions, composed of matmul, softmax and where (so on every device, differentiable)."""

from __future__ import annotations

import math

import numpy as np

from minigrad.functional._common import _from_host, _require_float, _require_tensor
from minigrad.functional.elementwise import where
from minigrad.functional.linalg import _scaled_matmul, matmul
from minigrad.functional.nn import dropout, softmax
from minigrad.tensor import Tensor


def attention_scores(query: Tensor, key: Tensor, scale: float | None) -> Tensor:
    """q k^T * scale (default 1 / sqrt(query's last size)), (..., L, S); the scale is the GEMM's
    alpha, not a pass over the scores (an encoder layer's forward: 0.12 ms of 10 on Zen 3)."""
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    return _scaled_matmul(query, key.transpose(-2, -1), float(scale))


def safe_softmax(scores: Tensor) -> Tensor:
    """softmax over the last dimension in which a row of only -inf (a query that may attend to
    nothing) weighs 0, not nan, as PyTorch's _safe_softmax: such rows are zeroed before the softmax
    too, so no nan reaches the scores' gradient either (an additive mask passes it on to q and k)."""
    blocked = (scores == float("-inf")).all(-1, keepdim=True)
    return where(blocked, 0.0, softmax(where(blocked, 0.0, scores), -1))


def causal_mask(like: Tensor, length: int, source_length: int) -> Tensor:
    """The bool (L, S) mask of positions a query may attend to causally (the lower triangle)."""
    return _from_host(np.tril(np.ones((length, source_length), dtype=bool)), like)


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """Attention of query (..., L, E) over key (..., S, E) and value (..., S, Ev) -> (..., L, Ev).
    attn_mask: bool (True: may attend) or float (added to the scores), broadcast to (..., L, S);
    is_causal: the lower-triangular mask (with no attn_mask); dropout_p drops attention weights
    (always, as PyTorch's functional form: pass 0.0 when evaluating). A row that may attend to
    nothing gives 0, as PyTorch's safe softmax (so does nn.MultiheadAttention with need_weights=False,
    the transformer layers' call; with weights it gives nan there, as PyTorch's)."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        _require_tensor("scaled_dot_product_attention", t)
        if t.ndim < 2:
            raise ValueError(f"scaled_dot_product_attention: {name} needs at least 2 dimensions, got {t.shape}")
    _require_float("scaled_dot_product_attention", query, key, value)
    if enable_gqa:
        raise NotImplementedError("scaled_dot_product_attention: enable_gqa (grouped-query attention) is not supported")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(
            f"scaled_dot_product_attention: query {query.shape}, key {key.shape} and value {value.shape} do not "
            "fit (query and key share the last size, key and value the second-to-last)"
        )
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: give attn_mask or is_causal, not both")
    scores = attention_scores(query, key, scale)
    if is_causal:
        attn_mask = causal_mask(query, query.shape[-2], key.shape[-2])
    if attn_mask is not None:
        _require_tensor("scaled_dot_product_attention", attn_mask)
        if attn_mask.dtype.kind == "b":
            scores = where(attn_mask, scores, float("-inf"))
        else:
            scores = scores + attn_mask
    weights = softmax(scores, -1) if attn_mask is None else safe_softmax(scores)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p, True)
    return matmul(weights, value)

