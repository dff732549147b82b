"""torch.nn.utils.rnn's padding helper: pad_sequence (PackedSequence is not supported)."""

from __future__ import annotations

from collections.abc import Sequence

from minigrad.functional import stack
from minigrad.nn import functional as F
from minigrad.tensor import Tensor

__all__ = ["pad_sequence"]


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Tensors of shapes (L_i, *) padded with padding_value to the longest L and stacked:
    (max L, B, *), or (B, max L, *) with batch_first, as torch.nn.utils.rnn.pad_sequence;
    differentiable in each sequence."""
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'right' or 'left', got {padding_side!r}")
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    for s in sequences:
        if not isinstance(s, Tensor):
            raise TypeError(f"pad_sequence: expected a sequence of Tensors, got {type(s).__name__}")
        if s.ndim == 0 or s.shape[1:] != sequences[0].shape[1:]:
            raise RuntimeError(f"pad_sequence: every sequence must be (L, {', '.join(map(str, sequences[0].shape[1:]))}"
                               f"), got shapes {[tuple(t.shape) for t in sequences]}")
    longest = max(s.shape[0] for s in sequences)
    trailing = (0, 0) * (sequences[0].ndim - 1)  # F.pad lists the last dimension first
    padded = [F.pad(s, (*trailing, *((0, longest - s.shape[0]) if padding_side == "right"
                                       else (longest - s.shape[0], 0))), value=padding_value) for s in sequences]
    return stack(padded, 0 if batch_first else 1)
