"""scaled_dot_product_attention, as torch.nn.functional's: softmax(q k^T * scale + mask) v over the
last two dimensions, composed of matmul, softmax and where (so on every device, differentiable);
and multi_head_attention_forward, torch.nn.functional's, which nn.MultiheadAttention calls."""

from __future__ import annotations

import math

import numpy as np

from minigrad.functional._common import ShapeError, _from_host, _require_float, _require_tensor
from minigrad.functional.elementwise import where
from minigrad.functional.linalg import _scaled_matmul, matmul
from minigrad.functional.nn import dropout, linear, softmax
from minigrad.functional.shape import cat, pad
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



# --- multi-head attention: torch.nn.functional.multi_head_attention_forward and nn.MultiheadAttention's body ---


class AttentionCheckError(AssertionError, ValueError):
    """A shape MultiheadAttention refuses where PyTorch's asserts (embed_dim not divisible by
    num_heads, an input's feature size, key and value of different lengths, key_padding_mask's
    shape): an AssertionError, as PyTorch raises, and a ValueError, as minigrad raised before."""


class AttentionMaskDtypeError(AssertionError, TypeError):
    """An attention or key-padding mask neither bool nor floating: an AssertionError, as PyTorch
    raises, and a TypeError, as minigrad raised before."""


def _additive(mask: Tensor, what: str, like: Tensor) -> Tensor:
    """A bool mask (True: may not attend) as 0 / -inf, a float mask as it is."""
    if not isinstance(mask, Tensor):
        raise TypeError(f"MultiheadAttention: {what} must be a Tensor, got {type(mask).__name__}")
    if mask.dtype.kind == "b":
        return where(mask, float("-inf"), _from_host(np.zeros((), dtype=like.dtype), like))
    if mask.dtype.kind != "f":
        raise AttentionMaskDtypeError(f"MultiheadAttention: {what} must be bool or floating, got {mask.dtype}")
    return mask


def _padded(mask: Tensor, columns: int) -> Tensor:
    """An additive mask with `columns` zero columns appended (PyTorch's F.pad(mask, (0, 1)) for each
    of add_bias_kv's and add_zero_attn's extra keys)."""
    return pad(mask, (0, columns)) if columns else mask


def multi_head_attention(
    query: Tensor, key: Tensor, value: Tensor, num_heads: int, projections: tuple, in_proj_bias: Tensor | None,
    bias_k: Tensor | None, bias_v: Tensor | None, add_zero_attn: bool, dropout_p: float, out_proj_weight: Tensor,
    out_proj_bias: Tensor | None, key_padding_mask: Tensor | None, need_weights: bool, attn_mask: Tensor | None,
    average_attn_weights: bool, is_causal: bool, *, batch_first: bool, sizes: tuple[int, int, int],
    static_k: Tensor | None = None, static_v: Tensor | None = None,
) -> tuple[Tensor, Tensor | None]:
    """nn.MultiheadAttention's forward and multi_head_attention_forward: projections (w_q, w_k, w_v),
    sizes (embed_dim, kdim, vdim), dropout_p 0 when not training, inputs (L, N, E) or batch_first's
    (N, L, E) (or unbatched (L, E)); static_k / static_v (N * heads, S, head_dim) replace the
    projected keys / values."""
    embed_dim, kdim, vdim = sizes
    head_dim = embed_dim // num_heads
    if is_causal and attn_mask is None:
        raise RuntimeError("MultiheadAttention: is_causal is a hint that attn_mask is the causal mask; give it")
    for name, t, size in (("query", query, embed_dim), ("key", key, kdim), ("value", value, vdim)):
        if not isinstance(t, Tensor) or t.ndim not in (2, 3):
            raise AttentionCheckError(f"MultiheadAttention: {name} must be a 2-D or 3-D Tensor, got "
                                      f"{getattr(t, 'shape', type(t).__name__)}")
        if t.shape[-1] != size:
            raise AttentionCheckError(f"MultiheadAttention: {name} has {t.shape[-1]} features, expected {size}")
    if not query.ndim == key.ndim == value.ndim:  # else an unbatched query's key fails later, in a reshape
        raise ValueError(f"MultiheadAttention: query, key and value must all be batched (3-D) or all unbatched "
                         f"(2-D), got {query.ndim}-D, {key.ndim}-D and {value.ndim}-D")
    unbatched = query.ndim == 2
    if unbatched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        key_padding_mask = None if key_padding_mask is None else key_padding_mask.unsqueeze(0)
    # The inputs stay in their layout, (L, N, E) or batch_first's (N, L, E): transposed to
    # (L, N, E), every projection copied its input first (3 copies of a batch_first layer's input).
    batch_first = batch_first and not unbatched
    seq_axis, batch_axis = (1, 0) if batch_first else (0, 1)
    length, batch, source = query.shape[seq_axis], query.shape[batch_axis], key.shape[seq_axis]
    if key.shape[:2] != value.shape[:2] or key.shape[batch_axis] != batch:
        names = "(N, S)" if batch_first else "(S, N)"
        raise AttentionCheckError(f"MultiheadAttention: key {key.shape} and value {value.shape} must share "
                                  f"{names} with query's batch {batch}")
    w_q, w_k, w_v = projections
    b_q, b_k, b_v = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)

    def heads(x: Tensor, w: Tensor, b: Tensor | None, n: int) -> Tensor:  # -> (N, heads, n, hd)
        if batch_first:
            return linear(x, w, b).reshape(batch, n, num_heads, head_dim).permute(0, 2, 1, 3)
        return linear(x, w, b).reshape(n, batch, num_heads, head_dim).permute(1, 2, 0, 3)

    def static(t: Tensor, name: str) -> Tensor:  # (N * heads, S, hd) -> (N, heads, S, hd)
        if bias_k is not None:
            raise AttentionCheckError(f"bias cannot be added to static {name}.")
        if not isinstance(t, Tensor) or t.ndim != 3 or t.shape[0] != batch * num_heads or t.shape[2] != head_dim:
            raise AttentionCheckError(f"expecting static_{name[0]} of shape {(batch * num_heads, '*', head_dim)}, "
                                      f"but got {getattr(t, 'shape', type(t).__name__)}")
        return t.reshape(batch, num_heads, t.shape[1], head_dim)

    q = heads(query, w_q, b_q, length)
    k = heads(key, w_k, b_k, source) if static_k is None else static(static_k, "key")
    v = heads(value, w_v, b_v, source) if static_v is None else static(static_v, "value")
    if k.shape[2] != v.shape[2]:
        raise AttentionCheckError(f"MultiheadAttention: static keys ({k.shape[2]}) and values ({v.shape[2]}) must "
                                  "be as many")
    source = k.shape[2]
    # add_bias_kv appends bias_k / bias_v as one more key and value (after the projections),
    # add_zero_attn a zero key and value (after those); the masks get a 0 (may attend) column each
    extra = []
    if bias_k is not None:
        extra.append((bias_k, bias_v))
    if add_zero_attn:
        zero = _from_host(np.zeros((1, 1, embed_dim), dtype=q.dtype), q)
        extra.append((zero, zero))
    if extra:
        def appended(x: Tensor, rows: list[Tensor]) -> Tensor:  # (1, 1, E) rows as (N, heads, 1, hd) each
            rows = [r.reshape(1, num_heads, 1, head_dim).expand(batch, -1, -1, -1) for r in rows]
            return cat([x, *rows], 2)

        k, v = appended(k, [e[0] for e in extra]), appended(v, [e[1] for e in extra])
    scores = attention_scores(q, k, None)  # (N, heads, L, S + len(extra))
    if attn_mask is not None:
        mask = _additive(attn_mask, "attn_mask", scores)
        if mask.shape == (length, source):
            mask = _padded(mask, len(extra))
            scores = scores + mask
        elif mask.shape == (batch * num_heads, length, source):
            mask = _padded(mask, len(extra))
            scores = scores + mask.reshape(batch, num_heads, length, source + len(extra))
        else:
            raise ShapeError(f"MultiheadAttention: attn_mask must have shape {(length, source)} or "
                             f"{(batch * num_heads, length, source)}, got {mask.shape}")
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (batch, source):
            raise AttentionCheckError(f"MultiheadAttention: key_padding_mask must have shape "
                                      f"{(batch, source)}, got {key_padding_mask.shape}")
        mask = _padded(_additive(key_padding_mask, "key_padding_mask", scores), len(extra))
        scores = scores + mask.reshape(batch, 1, 1, source + len(extra))
    masked = attn_mask is not None or key_padding_mask is not None
    # without weights PyTorch attends through scaled_dot_product_attention, whose safe softmax
    # gives a query that may attend to nothing (a fully padded sequence) 0, not nan
    weights = safe_softmax(scores) if masked and not need_weights else softmax(scores, -1)
    if dropout_p:
        weights = dropout(weights, dropout_p, True)
    out = matmul(weights, v)  # (N, heads, L, hd)
    if batch_first:
        out = out.permute(0, 2, 1, 3).reshape(batch, length, embed_dim)
    else:
        out = out.permute(2, 0, 1, 3).reshape(length, batch, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias)
    if unbatched:
        out = out.squeeze(1)
    if not need_weights:
        return out, None
    if average_attn_weights:
        weights = weights.mean(1)
    return out, (weights.squeeze(0) if unbatched else weights)


def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    training: bool = True,
    key_padding_mask: Tensor | None = None,
    need_weights: bool = True,
    attn_mask: Tensor | None = None,
    use_separate_proj_weight: bool = False,
    q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None,
    static_k: Tensor | None = None,
    static_v: Tensor | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """torch.nn.functional.multi_head_attention_forward: nn.MultiheadAttention's computation on
    given weights (the module calls it), inputs sequence-first (L, N, E) / (S, N, Ek) or unbatched
    (L, E). in_proj_weight (3E, E) packs the q, k and v projections, or use_separate_proj_weight
    gives q/k/v_proj_weight (E, E), (E, Ek), (E, Ev); bias_k / bias_v (1, 1, E) one more key and
    value; static_k / static_v (N * num_heads, S, E / num_heads) replace the projected keys /
    values. Dropout on the attention weights only when training. Returns (output (L, N, E),
    weights (N, L, S) averaged over the heads, (N, heads, L, S) if not average_attn_weights, or
    None without need_weights), as PyTorch's."""
    _require_tensor("multi_head_attention_forward", query)
    embed_dim = query.shape[-1]
    if embed_dim != embed_dim_to_check:
        raise AttentionCheckError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    if num_heads < 1 or embed_dim % num_heads:
        raise AttentionCheckError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if (bias_k is None) != (bias_v is None):
        raise AttentionCheckError("multi_head_attention_forward: bias_k and bias_v must be given together")
    if use_separate_proj_weight:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise AttentionCheckError("use_separate_proj_weight is True but q_proj_weight, k_proj_weight or "
                                      "v_proj_weight is None")
        projections = (q_proj_weight, k_proj_weight, v_proj_weight)
        sizes = (embed_dim, k_proj_weight.shape[-1], v_proj_weight.shape[-1])
    else:
        if in_proj_weight is None:
            raise AttentionCheckError("use_separate_proj_weight is False but in_proj_weight is None")
        if key.shape != value.shape:
            raise AttentionCheckError(f"key shape {key.shape} does not match value shape {value.shape}")
        projections = tuple(in_proj_weight.chunk(3))
        sizes = (embed_dim, embed_dim, embed_dim)
    return multi_head_attention(
        query, key, value, num_heads, projections, in_proj_bias, bias_k, bias_v, add_zero_attn,
        float(dropout_p) if training else 0.0, out_proj_weight, out_proj_bias, key_padding_mask, need_weights,
        attn_mask, average_attn_weights, is_causal, batch_first=False, sizes=sizes, static_k=static_k,
        static_v=static_v)
