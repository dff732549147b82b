"""nn.MultiheadAttention, TransformerEncoderLayer and TransformerEncoder, as PyTorch's.

MultiheadAttention: its parameters (in_proj_weight/in_proj_bias, or q/k/v_proj_weight when kdim or
vdim differ from embed_dim; out_proj), initialisation, masks (attn_mask bool True = may not attend,
or float added; key_padding_mask), batch_first, unbatched input, and the head-averaged attention
weights it returns."""

from __future__ import annotations

import copy
from typing import Any

from minigrad import functional as MF
from minigrad.creation import zeros
from minigrad.functional.attention import attention_scores
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.layers import Dropout, LayerNorm, Linear, _empty
from minigrad.nn.module import Module, ModuleList
from minigrad.tensor import Tensor


class NonDynamicallyQuantizableLinear(Linear):
    """Linear under the name PyTorch gives MultiheadAttention's output projection (same repr)."""


def _additive(mask: Tensor, what: str, like: Tensor) -> Tensor:
    """A bool mask (True: may not attend) as 0 / -inf, a float mask as it is."""
    if not isinstance(mask, Tensor):
        raise TypeError(f"MultiheadAttention: {what} must be a Tensor, got {type(mask).__name__}")
    if mask.dtype.kind == "b":
        return MF.where(mask, float("-inf"), zeros((), dtype=like.dtype, device=like.device))
    if mask.dtype.kind != "f":
        raise TypeError(f"MultiheadAttention: {what} must be bool or floating, got {mask.dtype}")
    return mask


class MultiheadAttention(Module):
    """Attention over num_heads heads of embed_dim / num_heads each; forward(query, key, value,
    key_padding_mask=None, need_weights=True, attn_mask=None, average_attn_weights=True,
    is_causal=False) -> (output, weights or None); inputs (L, N, E) or batch_first (N, L, E)."""

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if embed_dim < 1 or num_heads < 1 or embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim {embed_dim} must be divisible by num_heads {num_heads}")
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError("MultiheadAttention: add_bias_kv and add_zero_attn are not supported")
        if not 0 <= dropout < 1:
            raise ValueError(f"MultiheadAttention: dropout must lie in [0, 1), got {dropout}")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.kdim, self.vdim = kdim or embed_dim, vdim or embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout, self.batch_first = dropout, batch_first
        if self._qkv_same_embed_dim:
            self.in_proj_weight = _empty((3 * embed_dim, embed_dim), device, dtype)
        else:
            self.q_proj_weight = _empty((embed_dim, embed_dim), device, dtype)
            self.k_proj_weight = _empty((embed_dim, self.kdim), device, dtype)
            self.v_proj_weight = _empty((embed_dim, self.vdim), device, dtype)
        if bias:
            self.in_proj_bias = _empty((3 * embed_dim,), device, dtype)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """PyTorch's: xavier_uniform_ projections, zero biases (out_proj's weight as Linear's)."""
        names = ["in_proj_weight"] if self._qkv_same_embed_dim else ["q_proj_weight", "k_proj_weight", "v_proj_weight"]
        for name in names:
            init.xavier_uniform_(getattr(self, name))
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def _projections(self) -> tuple[Tensor, Tensor, Tensor]:
        if self._qkv_same_embed_dim:
            return tuple(self.in_proj_weight.chunk(3))  # type: ignore[return-value]
        return self.q_proj_weight, self.k_proj_weight, self.v_proj_weight

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        if is_causal and attn_mask is None:
            raise RuntimeError("MultiheadAttention: is_causal is a hint that attn_mask is the causal mask; give it")
        for name, t, size in (("query", query, self.embed_dim), ("key", key, self.kdim), ("value", value, self.vdim)):
            if not isinstance(t, Tensor) or t.ndim not in (2, 3):
                raise ValueError(f"MultiheadAttention: {name} must be a 2-D or 3-D Tensor, got "
                                 f"{getattr(t, 'shape', type(t).__name__)}")
            if t.shape[-1] != size:
                raise ValueError(f"MultiheadAttention: {name} has {t.shape[-1]} features, expected {size}")
        unbatched = query.ndim == 2
        if unbatched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            key_padding_mask = None if key_padding_mask is None else key_padding_mask.unsqueeze(0)
        # The inputs stay in their layout, (L, N, E) or batch_first's (N, L, E): transposed to
        # (L, N, E), every projection copied its input first (3 copies of a batch_first layer's input).
        batch_first = self.batch_first and not unbatched
        seq_axis, batch_axis = (1, 0) if batch_first else (0, 1)
        length, batch, source = query.shape[seq_axis], query.shape[batch_axis], key.shape[seq_axis]
        if key.shape[:2] != value.shape[:2] or key.shape[batch_axis] != batch:
            names = "(N, S)" if batch_first else "(S, N)"
            raise ValueError(f"MultiheadAttention: key {key.shape} and value {value.shape} must share {names} "
                             f"with query's batch {batch}")
        w_q, w_k, w_v = self._projections()
        b_q, b_k, b_v = (None, None, None) if self.in_proj_bias is None else self.in_proj_bias.chunk(3)

        def heads(x: Tensor, w: Tensor, b: Tensor | None, n: int) -> Tensor:  # -> (N, heads, n, hd)
            if batch_first:
                return F.linear(x, w, b).reshape(batch, n, self.num_heads, self.head_dim).permute(0, 2, 1, 3)
            return F.linear(x, w, b).reshape(n, batch, self.num_heads, self.head_dim).permute(1, 2, 0, 3)

        q, k, v = heads(query, w_q, b_q, length), heads(key, w_k, b_k, source), heads(value, w_v, b_v, source)
        scores = attention_scores(q, k, None)  # (N, heads, L, S)
        if attn_mask is not None:
            mask = _additive(attn_mask, "attn_mask", scores)
            if mask.shape == (length, source):
                scores = scores + mask
            elif mask.shape == (batch * self.num_heads, length, source):
                scores = scores + mask.reshape(batch, self.num_heads, length, source)
            else:
                raise ValueError(f"MultiheadAttention: attn_mask must have shape {(length, source)} or "
                                 f"{(batch * self.num_heads, length, source)}, got {mask.shape}")
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (batch, source):
                raise ValueError(f"MultiheadAttention: key_padding_mask must have shape {(batch, source)}, "
                                 f"got {key_padding_mask.shape}")
            scores = scores + _additive(key_padding_mask, "key_padding_mask", scores).reshape(batch, 1, 1, source)
        weights = F.softmax(scores, -1)
        if self.dropout and self.training:
            weights = F.dropout(weights, self.dropout, True)
        out = MF.matmul(weights, v)  # (N, heads, L, hd)
        if batch_first:
            out = out.permute(0, 2, 1, 3).reshape(batch, length, self.embed_dim)
        else:
            out = out.permute(2, 0, 1, 3).reshape(length, batch, self.embed_dim)
        out = self.out_proj(out)
        if unbatched:
            out = out.squeeze(1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(1)
        return out, (weights.squeeze(0) if unbatched else weights)


_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward block, each with a residual connection, dropout and
    LayerNorm (after each block, or before it with norm_first), as PyTorch's; its submodules
    (self_attn, linear1, linear2, norm1, norm2) carry PyTorch's state_dict names.
    forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False)."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Any = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if isinstance(activation, str) and activation not in _ACTIVATIONS:
            raise ValueError(f"TransformerEncoderLayer: activation should be relu/gelu, not {activation!r}")
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            device=device, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, device=device, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, device=device, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, device=device, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, device=device, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _ACTIVATIONS[activation] if isinstance(activation, str) else activation

    def forward(self, src: Tensor, src_mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                is_causal: bool = False) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self._attention(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._feed_forward(self.norm2(x))
        x = self.norm1(x + self._attention(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._feed_forward(x))

    def _attention(self, x: Tensor, mask: Tensor | None, key_padding_mask: Tensor | None, is_causal: bool) -> Tensor:
        out = self.self_attn(x, x, x, attn_mask=mask, key_padding_mask=key_padding_mask, need_weights=False,
                             is_causal=is_causal)[0]
        return self.dropout1(out)

    def _feed_forward(self, x: Tensor) -> Tensor:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoder(Module):
    """num_layers copies of encoder_layer applied in turn, then norm (when given), as PyTorch's;
    forward(src, mask=None, src_key_padding_mask=None, is_causal=None)."""

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        super().__init__()
        if not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"TransformerEncoder: num_layers must be a positive int, got {num_layers!r}")
        self.layers = ModuleList(copy.deepcopy(encoder_layer) for _ in range(num_layers))
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src: Tensor, mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                is_causal: bool | None = None) -> Tensor:
        for layer in self.layers:
            src = layer(src, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        return src if self.norm is None else self.norm(src)
