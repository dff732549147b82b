"""nn.MultiheadAttention, TransformerEncoderLayer/Encoder, TransformerDecoderLayer/Decoder and
Transformer, as PyTorch's.

MultiheadAttention: its parameters (in_proj_weight/in_proj_bias, or q/k/v_proj_weight when kdim or
vdim differ from embed_dim; out_proj; add_bias_kv's bias_k/bias_v), add_zero_attn, initialisation,
masks (attn_mask bool True = may not attend, or float added; key_padding_mask), batch_first,
unbatched input, and the head-averaged attention weights it returns. The Transformer modules are
made of MultiheadAttention, Linear, LayerNorm and Dropout, with PyTorch's submodule names (so
PyTorch's state_dicts load)."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import Any

from minigrad import functional as MF
from minigrad.creation import full, zeros_like
from minigrad.functional._common import ArgumentError
from minigrad.functional.attention import (  # noqa: F401 (the error classes, importable from here as before)
    AttentionCheckError,
    AttentionMaskDtypeError,
    multi_head_attention,
)
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.layers import GELU, Dropout, LayerNorm, Linear, ReLU, _empty
from minigrad.nn.module import Module, ModuleList
from minigrad.tensor import Tensor, bool_


class NonDynamicallyQuantizableLinear(Linear):
    """Linear under the name PyTorch gives MultiheadAttention's output projection (same repr)."""


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
            raise AttentionCheckError(f"MultiheadAttention: embed_dim {embed_dim} must be divisible by num_heads "
                                      f"{num_heads}")
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
        if add_bias_kv:  # registered after out_proj, as PyTorch's (own parameters still come first in state_dict)
            self.bias_k = _empty((1, 1, embed_dim), device, dtype)
            self.bias_v = _empty((1, 1, embed_dim), device, dtype)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """PyTorch's: xavier_uniform_ projections, zero biases (out_proj's weight as Linear's)."""
        names = ["in_proj_weight"] if self._qkv_same_embed_dim else ["q_proj_weight", "k_proj_weight", "v_proj_weight"]
        for name in names:
            init.xavier_uniform_(getattr(self, name))
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

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
        if key_padding_mask is not None and attn_mask is not None and key_padding_mask.dtype != attn_mask.dtype:
            warnings.warn("Support for mismatched key_padding_mask and attn_mask is deprecated. Use same type for "
                          "both instead.", stacklevel=2)  # as PyTorch's MultiheadAttention.forward
        return multi_head_attention(
            query, key, value, self.num_heads, self._projections(), self.in_proj_bias, self.bias_k, self.bias_v,
            self.add_zero_attn, self.dropout if self.training else 0.0, self.out_proj.weight, self.out_proj.bias,
            key_padding_mask, need_weights, attn_mask, average_attn_weights, is_causal, batch_first=self.batch_first,
            sizes=(self.embed_dim, self.kdim, self.vdim))


_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


class _TransformerLayer(Module):
    """What TransformerEncoderLayer and TransformerDecoderLayer share: their MultiheadAttention
    blocks (attentions names them: self_attn, and the decoder's multihead_attn over memory), the
    feed-forward block (linear1, activation, dropout, linear2) and, per block, a LayerNorm and a
    Dropout (norm1.., dropout1..) around a residual connection. Submodules are registered in
    PyTorch's order, so state_dict keys and repr are PyTorch's."""

    def __init__(
        self,
        attentions: tuple[str, ...],
        d_model: int,
        nhead: int,
        dim_feedforward: int,
        dropout: float,
        activation: str | Callable[[Tensor], Tensor],
        layer_norm_eps: float,
        batch_first: bool,
        norm_first: bool,
        bias: bool,
        device: Any,
        dtype: Any,
    ) -> None:
        super().__init__()
        if isinstance(activation, str) and activation not in _ACTIVATIONS:
            raise ArgumentError(f"{type(self).__name__}: activation should be relu/gelu, not {activation!r}")
        for name in attentions:
            setattr(self, name, MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                                   device=device, dtype=dtype))
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, device=device, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, device=device, dtype=dtype)
        self.norm_first = norm_first
        blocks = range(1, len(attentions) + 2)  # the attentions, then the feed-forward block
        for i in blocks:
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, device=device, dtype=dtype))
        for i in blocks:
            setattr(self, f"dropout{i}", Dropout(dropout))
        # Last, as PyTorch's: an activation that is a Module (nn.GELU()) is then the last submodule.
        self.activation = _ACTIVATIONS[activation] if isinstance(activation, str) else activation

    def _residual(self, x: Tensor, norm: Module, block: Callable[[Tensor], Tensor]) -> Tensor:
        """x + block(x) normalised (post-norm), or x + block(norm(x)) with norm_first."""
        if self.norm_first:
            return x + block(norm(x))
        return norm(x + block(x))

    @staticmethod
    def _attention(attention: MultiheadAttention, dropout: Dropout, x: Tensor, source: Tensor, mask: Tensor | None,
                   key_padding_mask: Tensor | None, is_causal: bool) -> Tensor:
        """x attending to source (x itself for self-attention), then dropout."""
        out = attention(x, source, source, attn_mask=mask, key_padding_mask=key_padding_mask, need_weights=False,
                        is_causal=is_causal)[0]
        return dropout(out)

    def _feed_forward(self, x: Tensor, dropout: Dropout) -> Tensor:
        return dropout(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoderLayer(_TransformerLayer):
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
        activation: str | Callable[[Tensor], Tensor] = F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(("self_attn",), d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                         batch_first, norm_first, bias, device, dtype)
        # PyTorch's record of the activation (1 relu, 2 gelu, 0 other), which TransformerEncoder reads
        activation = self.activation
        if activation is F.relu or isinstance(activation, ReLU):
            self.activation_relu_or_gelu = 1
        elif activation is F.gelu or isinstance(activation, GELU):
            self.activation_relu_or_gelu = 2
        else:
            self.activation_relu_or_gelu = 0

    def forward(self, src: Tensor, src_mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                is_causal: bool = False) -> Tensor:
        src_key_padding_mask = _canonical_mask(src_key_padding_mask, "src_key_padding_mask", src_mask, "src_mask",
                                               src)
        src_mask = _canonical_mask(src_mask, "src_mask", None, "", src)
        x = self._residual(src, self.norm1, lambda h: self._attention(
            self.self_attn, self.dropout1, h, h, src_mask, src_key_padding_mask, is_causal))
        return self._residual(x, self.norm2, lambda h: self._feed_forward(h, self.dropout2))


class TransformerDecoderLayer(_TransformerLayer):
    """Self-attention over tgt, attention from tgt to memory (the encoder's output), then a
    feed-forward block, each with a residual connection, dropout and LayerNorm (after each block,
    or before it with norm_first), as PyTorch's; its submodules (self_attn, multihead_attn,
    linear1, linear2, norm1..3) carry PyTorch's state_dict names.
    forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False)."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(("self_attn", "multihead_attn"), d_model, nhead, dim_feedforward, dropout, activation,
                         layer_norm_eps, batch_first, norm_first, bias, device, dtype)

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        x = self._residual(tgt, self.norm1, lambda h: self._attention(
            self.self_attn, self.dropout1, h, h, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self._residual(x, self.norm2, lambda h: self._attention(
            self.multihead_attn, self.dropout2, h, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
        return self._residual(x, self.norm3, lambda h: self._feed_forward(h, self.dropout3))


def _canonical_mask(mask: Tensor | None, name: str, other: Tensor | None, other_name: str,
                    like: Tensor) -> Tensor | None:
    """PyTorch's F._canonical_mask: a bool mask as the additive float mask of like's dtype (-inf
    where True); a float mask as it is; AssertionError for another dtype; PyTorch's deprecation
    UserWarning when other (a mask given with it) has another dtype."""
    if mask is None:
        return None
    is_float = mask.is_floating_point()
    if mask.dtype != bool_ and not is_float:
        raise AttentionMaskDtypeError(f"only bool and floating types of {name} are supported")
    if other is not None and mask.dtype != other.dtype:
        warnings.warn(f"Support for mismatched {name} and {other_name} is deprecated. Use same type for both instead.",
                      stacklevel=3)
    if is_float:
        return mask
    return zeros_like(mask, dtype=like.dtype).masked_fill(mask, float("-inf"))


def _no_nested_tensor_reason(encoder_layer: Module) -> str:
    """Why PyTorch's TransformerEncoder would not use nested tensors with encoder_layer ("" if it would)."""
    enc = "encoder_layer"
    if not isinstance(encoder_layer, TransformerEncoderLayer):
        return f"{enc} was not TransformerEncoderLayer"
    attention = encoder_layer.self_attn
    reasons = (
        (encoder_layer.norm_first, f"{enc}.norm_first was True"),
        (not attention.batch_first,
         f"{enc}.self_attn.batch_first was not True(use batch_first for better inference performance)"),
        (not attention._qkv_same_embed_dim, f"{enc}.self_attn._qkv_same_embed_dim was not True"),
        (attention.in_proj_bias is None, f"{enc}.self_attn was passed bias=False"),
        (not encoder_layer.activation_relu_or_gelu, f"{enc}.activation_relu_or_gelu was not True"),
        (encoder_layer.norm1.eps != encoder_layer.norm2.eps, f"{enc}.norm1.eps was not equal to {enc}.norm2.eps"),
        (attention.num_heads % 2 == 1, f"{enc}.self_attn.num_heads is odd"),
    )
    return next((why for failed, why in reasons if failed), "")


def _clones(layer: Module, num_layers: int, owner: str) -> ModuleList:
    """num_layers deep copies of layer: equal at first, trained apart (PyTorch's _get_clones)."""
    if not isinstance(num_layers, int) or num_layers < 1:
        raise ValueError(f"{owner}: num_layers must be a positive int, got {num_layers!r}")
    return ModuleList(copy.deepcopy(layer) for _ in range(num_layers))


class TransformerEncoder(Module):
    """num_layers copies of encoder_layer applied in turn, then norm (when given), as PyTorch's;
    forward(src, mask=None, src_key_padding_mask=None, is_causal=None). enable_nested_tensor and
    mask_check are kept as PyTorch's attributes (minigrad has no nested tensors, so they change
    nothing), with use_nested_tensor and PyTorch's UserWarning ("enable_nested_tensor is True, but
    self.use_nested_tensor is False because ...") where PyTorch's fast path would not apply."""

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers, "TransformerEncoder")
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.use_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check
        why_not = _no_nested_tensor_reason(encoder_layer)
        if enable_nested_tensor and why_not:
            warnings.warn(f"enable_nested_tensor is True, but self.use_nested_tensor is False because {why_not}",
                          stacklevel=2)
            self.use_nested_tensor = False

    def forward(self, src: Tensor, mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                is_causal: bool | None = None) -> Tensor:
        # PyTorch's is_causal=None asks it to detect whether mask is the causal one, which only picks
        # a faster kernel there; here the mask is always applied, so None is passed on as False.
        src_key_padding_mask = _canonical_mask(src_key_padding_mask, "src_key_padding_mask", mask, "mask", src)
        mask = _canonical_mask(mask, "mask", None, "", src)
        for layer in self.layers:
            src = layer(src, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        return src if self.norm is None else self.norm(src)


class TransformerDecoder(Module):
    """num_layers copies of decoder_layer applied in turn, each attending to the same memory, then
    norm (when given), as PyTorch's; forward(tgt, memory, tgt_mask=None, memory_mask=None,
    tgt_key_padding_mask=None, memory_key_padding_mask=None, tgt_is_causal=None,
    memory_is_causal=False)."""

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int, norm: Module | None = None) -> None:
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers, "TransformerDecoder")
        self.num_layers = num_layers
        self.norm = norm

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        # tgt_is_causal=None: False, as TransformerEncoder's is_causal.
        for layer in self.layers:
            tgt = layer(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                        tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                        tgt_is_causal=bool(tgt_is_causal), memory_is_causal=memory_is_causal)
        return tgt if self.norm is None else self.norm(tgt)


class Transformer(Module):
    """A TransformerEncoder (num_encoder_layers layers and a final LayerNorm, or custom_encoder)
    whose output is the memory of a TransformerDecoder (num_decoder_layers layers and a final
    LayerNorm, or custom_decoder), as PyTorch's: the same submodule names, and every parameter of
    more than one dimension xavier_uniform_ initialised (custom modules' too).
    forward(src, tgt, src_mask=None, tgt_mask=None, memory_mask=None, src_key_padding_mask=None,
    tgt_key_padding_mask=None, memory_key_padding_mask=None, src_is_causal=None,
    tgt_is_causal=None, memory_is_causal=False) -> the decoder's output, shaped as tgt."""

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = F.relu,
        custom_encoder: Module | None = None,
        custom_decoder: Module | None = None,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        layer = {"d_model": d_model, "nhead": nhead, "dim_feedforward": dim_feedforward, "dropout": dropout,
                 "activation": activation, "layer_norm_eps": layer_norm_eps, "batch_first": batch_first,
                 "norm_first": norm_first, "bias": bias, **factory}
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(TransformerEncoderLayer(**layer), num_encoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(TransformerDecoderLayer(**layer), num_decoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory))
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def forward(
        self,
        src: Tensor,
        tgt: Tensor,
        src_mask: Tensor | None = None,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        src_is_causal: bool | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        for name, t in (("src", src), ("tgt", tgt)):
            if not isinstance(t, Tensor) or t.ndim not in (2, 3):
                raise RuntimeError(f"Transformer: {name} must be a 2-D or 3-D Tensor, got "
                                   f"{getattr(t, 'shape', type(t).__name__)}")
        if src.ndim != tgt.ndim:
            raise RuntimeError(f"Transformer: src and tgt must both be batched (3-D) or both unbatched (2-D), "
                               f"got {src.ndim}-D and {tgt.ndim}-D")
        batch_axis = 0 if self.batch_first else 1
        if src.ndim == 3 and src.shape[batch_axis] != tgt.shape[batch_axis]:
            raise RuntimeError(f"Transformer: the batch number of src and tgt must be equal, got "
                               f"{src.shape[batch_axis]} and {tgt.shape[batch_axis]}")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError(f"Transformer: the feature number of src and tgt must be equal to d_model "
                               f"{self.d_model}, got {src.shape[-1]} and {tgt.shape[-1]}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None, dtype: Any = None) -> Tensor:
        """The (sz, sz) causal mask, as PyTorch's: -inf above the diagonal (no position attends to
        a later one), 0 elsewhere; of dtype (default: the default dtype) on device (default cpu)."""
        return MF.triu(full((sz, sz), float("-inf"), dtype=dtype, device=device or "cpu"), 1)
