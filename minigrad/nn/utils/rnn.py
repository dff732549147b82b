"""torch.nn.utils.rnn: pad_sequence, and PackedSequence with pack_padded_sequence,
pad_packed_sequence, pack_sequence and unpack_sequence (the recurrent layers take and return
PackedSequences)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from minigrad.creation import tensor
from minigrad.functional import cat, stack
from minigrad.functional._common import ArgumentError, ShapeError
from minigrad.nn import functional as F
from minigrad.tensor import Tensor, int64

__all__ = ["PackedSequence", "pack_padded_sequence", "pack_sequence", "pad_packed_sequence", "pad_sequence",
           "unpack_sequence"]  # fmt: skip


class PackedSequence(NamedTuple):
    """Variable-length sequences packed step by step, as PyTorch's: data (sum of lengths, *) holds
    step 0 of every sequence, then step 1 of those still running, ...; batch_sizes (int64, CPU)
    how many run at each step. The sequences are sorted longest first; sorted_indices (the
    original batch index of each sorted one) and unsorted_indices (its inverse) are None when
    the input already was (enforce_sorted)."""

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """data moved or cast (Tensor.to's arguments); the index tensors follow data's device."""
        data = self.data.to(*args, **kwargs)
        move = lambda t: None if t is None else t.to(data.device)  # noqa: E731
        return PackedSequence(data, self.batch_sizes, move(self.sorted_indices), move(self.unsorted_indices))

    @property
    def is_cuda(self) -> bool:
        return self.data.device == "cuda"


def _lengths(lengths: Any) -> np.ndarray:
    values = np.asarray(lengths.tolist() if isinstance(lengths, Tensor) else lengths)
    # PyTorch takes the lengths through as_tensor(lengths, dtype=int64): float lengths truncated
    if values.ndim != 1 or values.size == 0 or values.dtype.kind not in "iuf":
        raise ArgumentError(f"pack_padded_sequence: lengths must be a non-empty 1-D list or tensor of numbers, "
                            f"got {lengths!r}")
    return values.astype(np.int64)


def pack_padded_sequence(input: Tensor, lengths: Any, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (L, B, *) (or (B, L, *) with batch_first) of sequences with the given
    lengths; with enforce_sorted=False they are sorted longest first here (and unsorted by
    pad_packed_sequence and the recurrent layers' states). Differentiable in input."""
    if not isinstance(input, Tensor):
        raise TypeError(f"pack_padded_sequence: input must be a Tensor, got {type(input).__name__}")
    values = _lengths(lengths)
    if input.ndim < 2:
        raise ValueError(f"pack_padded_sequence: input must be (L, B, *) or (B, L, *), got shape {input.shape}")
    if batch_first:
        input = input.transpose(0, 1)
    if values.size != input.shape[1]:
        raise ShapeError(f"pack_padded_sequence: expected {input.shape[1]} lengths (the batch), got {values.size}")
    if values.min() <= 0:
        raise RuntimeError("pack_padded_sequence: Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    if values.max() > input.shape[0]:
        raise RuntimeError(f"pack_padded_sequence: a length of {values.max()} exceeds the {input.shape[0]} steps "
                           "of the input")
    sorted_indices = unsorted_indices = None
    if enforce_sorted:
        if np.any(np.diff(values) > 0):
            raise RuntimeError("pack_padded_sequence: `lengths` array must be sorted in decreasing order when "
                               "`enforce_sorted` is True. You can pass `enforce_sorted=False` to "
                               "pack_padded_sequence and/or pack_sequence to sidestep this requirement if you "
                               "do not need ONNX exportability.")
    else:
        order = np.argsort(-values, kind="stable")
        values = values[order]
        sorted_indices = tensor(order, dtype=int64, device=input.device)
        unsorted_indices = tensor(np.argsort(order), dtype=int64, device=input.device)
        input = input.index_select(1, sorted_indices)
    batch_sizes = (values[None, :] > np.arange(values[0])[:, None]).sum(1)
    data = cat([input[t, :b] for t, b in enumerate(batch_sizes.tolist())], 0)
    return PackedSequence(data, tensor(batch_sizes, dtype=int64), sorted_indices, unsorted_indices)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """The inverse of pack_padded_sequence: (padded (L, B, *) or (B, L, *), lengths (B,) int64), in
    the original batch order; L is the longest length, or total_length. Differentiable."""
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expected a PackedSequence, got {type(sequence).__name__}")
    data, sizes = sequence.data, sequence.batch_sizes.tolist()
    steps, batch = len(sizes), sizes[0]
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"pad_packed_sequence: Expected total_length to be at least the length of the longest "
                             f"sequence ({steps}), but got total_length={total_length}")
        steps = total_length
    rows, offset = [], 0
    trailing = (0, 0) * (data.ndim - 1)  # F.pad lists the last dimension first
    for b in sizes:
        rows.append(F.pad(data[offset : offset + b], (*trailing, 0, batch - b), value=padding_value))
        offset += b
    padding = F.pad(data[:0], (*trailing, 0, batch), value=padding_value)
    rows += [padding] * (steps - len(sizes))
    padded = stack(rows, 0)
    lengths = (np.asarray(sizes)[None, :] > np.arange(batch)[:, None]).sum(1)
    if batch_first:
        padded = padded.transpose(0, 1)
    if sequence.unsorted_indices is not None:  # after the transpose, as PyTorch's (its grad_fn: IndexSelectBackward0)
        padded = padded.index_select(0 if batch_first else 1, sequence.unsorted_indices)
        lengths = lengths[np.asarray(sequence.unsorted_indices.tolist())]
    return padded, tensor(lengths, dtype=int64)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of (L_i, *) tensors (longest first unless enforce_sorted=False)."""
    sequences = list(sequences)
    return pack_padded_sequence(pad_sequence(sequences), [s.shape[0] for s in sequences],
                                enforce_sorted=enforce_sorted)  # fmt: skip


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of (L_i, *) tensors that pack_sequence packed, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return [padded[i, :n] for i, n in enumerate(lengths.tolist())]


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
