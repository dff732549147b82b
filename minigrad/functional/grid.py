"""Spatial transformers: affine_grid makes a sampling grid from affine matrices, grid_sample reads
an image at a grid's points (PyTorch's torch.nn.functional.affine_grid and grid_sample).

Both are compositions of differentiable ops (matmul; floor, where and gather of the neighbouring
pixels, weighted sums), so they run on every device and carry gradients to the image, the grid
and theta. The coordinate arithmetic follows ATen's GridSampler.h step by step (unnormalise, clip
or reflect, then the corner weights), so values and gradients agree with PyTorch's, including
PyTorch's zero gradient for a coordinate clipped at a border.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence

import numpy as np

from minigrad.functional._common import _from_host, _require_float, _require_same_device, _require_tensor
from minigrad.functional.elementwise import abs as _abs  # the differentiable abs, not the builtin
from minigrad.functional.elementwise import floor as _floor
from minigrad.functional.elementwise import fmod, where, with_zero_gradient
from minigrad.functional.elementwise import round as _round
from minigrad.functional.nn import _cubic_weights
from minigrad.functional.shape import gather
from minigrad.tensor import Tensor, int64

_MODES = ("bilinear", "nearest", "bicubic")
_PADDING_MODES = ("zeros", "border", "reflection")
_ALIGN_CORNERS_DEFAULT = (
    "Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. Please "
    "specify align_corners=True if the old behavior is desired. See the documentation of grid_sample for details."
)


def _default_align_corners(align_corners: bool | None) -> bool:
    """align_corners as given, or False with PyTorch's warning when it is None."""
    if align_corners is None:
        warnings.warn(_ALIGN_CORNERS_DEFAULT, UserWarning, stacklevel=3)
        return False
    return bool(align_corners)


def _base_coordinates(steps: int, align_corners: bool, dtype: np.dtype) -> np.ndarray:
    """affine_grid's normalised coordinates along one output dim: linspace(-1, 1, steps), scaled by
    (steps - 1) / steps without align_corners; a single step sits at 0."""
    if steps <= 1:
        return np.zeros(max(steps, 0), dtype)
    r = np.linspace(-1.0, 1.0, steps).astype(dtype)
    return r if align_corners else r * dtype.type(steps - 1) / dtype.type(steps)


def affine_grid(theta: Tensor, size: Sequence[int], align_corners: bool | None = None) -> Tensor:
    """The sampling grid (N, H, W, 2) of the affine matrices theta (N, 2, 3) for an output of size
    (N, C, H, W), or (N, D, H, W, 3) of theta (N, 3, 4) for (N, C, D, H, W), as PyTorch's: each output
    pixel's normalised coordinates (x, y[, z], 1) times theta transposed. Differentiable in theta.
    align_corners None means False, with PyTorch's warning."""
    align_corners = _default_align_corners(align_corners)
    _require_tensor("affine_grid", theta)
    if theta.dtype.kind != "f":
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = tuple(int(s) for s in size)
    if len(size) not in (4, 5):
        raise NotImplementedError("affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                  f"respectively. Got size {size}.")
    k = len(size) - 2
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (k, k + 1):
        raise ValueError(f"Expected a batch of {k}D affine matrices of shape Nx{k}x{k + 1} for size {size}. "
                         f"Got {tuple(theta.shape)}.")
    spatial = size[2:]
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                      "align_corners=True. This is not an intended use case of affine_grid. See the "
                      "documentation of affine_grid for details.", UserWarning, stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    if theta.shape[0] != size[0]:
        raise RuntimeError(f"affine_grid: theta holds {theta.shape[0]} matrices but size {size} asks for a batch "
                           f"of {size[0]}")
    # base grid (*spatial, k + 1): x along the last spatial dim, then y, (z), then a 1
    axes = [_base_coordinates(n, align_corners, theta.dtype) for n in reversed(spatial)]
    mesh = np.meshgrid(*reversed(axes), indexing="ij")[::-1]  # x, y(, z), each of shape spatial
    base = np.stack([*mesh, np.ones(spatial, theta.dtype)], axis=-1).reshape(1, -1, k + 1)
    grid = _from_host(np.ascontiguousarray(base), theta) @ theta.transpose(1, 2)  # (N, prod(spatial), k)
    return grid.reshape(size[0], *spatial, k)


# --- grid_sample ---------------------------------------------------------------------------------


def _unnormalize(coord: Tensor, size: int, align_corners: bool) -> Tensor:
    """A normalised coordinate in [-1, 1] as a pixel position (ATen's grid_sampler_unnormalize)."""
    if align_corners:
        return ((coord + 1) / 2) * (size - 1)
    return ((coord + 1) * size - 1) / 2


def _clip(coord: Tensor, size: int) -> Tensor:
    """coord clamped to [0, size - 1], with gradient 0 at and beyond the bounds, as ATen's clip_coordinates."""
    return where(coord <= 0, 0.0, where(coord >= size - 1, float(size - 1), coord))


def _reflect(coord: Tensor, twice_low: int, twice_high: int) -> Tensor:
    """coord reflected into [twice_low / 2, twice_high / 2] as often as it takes (ATen's reflect_coordinates)."""
    if twice_low == twice_high:
        return coord * 0.0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    distance = _abs(coord - low)
    extra = fmod(distance, span)
    flips = _floor(distance / span)
    return where(fmod(flips, 2.0) == 0, extra + low, (span - extra) + low)


def _pad(coord: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    """A pixel position moved inside the image as padding_mode says (ATen's compute_coordinates),
    non-finite or huge ones sent to -100 (outside), as ATen's safe_downgrade_to_int_range."""
    if padding_mode == "border":
        coord = _clip(coord, size)
    elif padding_mode == "reflection":
        twice = (0, 2 * (size - 1)) if align_corners else (-1, 2 * size - 1)
        coord = _clip(_reflect(coord, *twice), size)
    return where(_abs(coord) < 2.0**31 - 2, coord, -100.0)  # false for nan too


def _tap(flat: Tensor, positions: Sequence[Tensor], sizes: Sequence[int]) -> Tensor:
    """The pixels of flat (N, C, prod(spatial)) at the integer-valued positions (x, y[, z]; each
    (N, *out)), zero where a position lies outside the image: (N, C, *out)."""
    n, c = flat.shape[:2]
    out_shape = tuple(positions[0].shape[1:])
    inside = None
    index = None
    stride = 1
    for p, size in zip(positions, sizes, strict=True):  # x first: the fastest-varying dim
        ip = p.to(int64)
        valid = (ip >= 0) & (ip < size)
        inside = valid if inside is None else inside & valid
        index = ip * stride if index is None else index + ip * stride
        stride *= size
    points = math.prod(out_shape)
    index = where(inside, index, 0).reshape(n, 1, points).expand(n, c, points)
    values = gather(flat, 2, index).reshape(n, c, *out_shape)
    return where(inside.unsqueeze(1), values, 0.0)


def _check_grid_sample(input: Tensor, grid: Tensor, mode: str) -> None:
    _require_float("grid_sample", input, grid)
    _require_same_device("grid_sample", input, grid)
    shapes = f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}"
    if input.ndim not in (4, 5) or grid.ndim != input.ndim:
        raise RuntimeError(f"grid_sample: expected 4D or 5D input and grid with same number of dimensions, "
                           f"but got {shapes}")
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(f"grid_sample: expected grid and input to have same batch size, but got {shapes}")
    if grid.shape[-1] != input.ndim - 2:
        raise RuntimeError(f"grid_sample: expected grid to have size {input.ndim - 2} in last dimension, but got "
                           f"grid with sizes {list(grid.shape)}")
    if input.dtype != grid.dtype:
        raise RuntimeError(f"grid_sample: expected input and grid to have the same dtype, but input has "
                           f"{input.dtype} and grid has {grid.dtype}")
    for d in range(2, input.ndim):
        if input.shape[d] == 0:
            raise RuntimeError(f"grid_sample: expected input to have non-empty spatial dimensions, but input has "
                               f"sizes {list(input.shape)} with dimension {d} being empty")
    if mode == "bicubic" and input.ndim != 4:
        raise RuntimeError("grid_sample: bicubic interpolation only supports 4D input")


def grid_sample(
    input: Tensor,
    grid: Tensor,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> Tensor:
    """input (N, C, H, W) read at the points of grid (N, H_out, W_out, 2), as PyTorch's: grid holds
    (x, y) in [-1, 1] (-1 the left/top edge, or with align_corners the first pixel's centre);
    (N, C, H_out, W_out). 5-D input (N, C, D, H, W) takes grid (N, D_out, H_out, W_out, 3) (x, y, z).
    mode "bilinear" (trilinear for 5-D), "nearest" (ties to even) or "bicubic" (4-D only; cubic
    convolution, A = -0.75); padding_mode "zeros" (outside reads 0), "border" (the nearest edge
    pixel) or "reflection" (mirrored at the edges). Differentiable in input and, except for
    "nearest" (zero gradient, as PyTorch's), in grid. align_corners None means False, with
    PyTorch's warning."""
    if mode not in _MODES:
        raise ValueError("nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: '{mode}'")
    if padding_mode not in _PADDING_MODES:
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    align_corners = _default_align_corners(align_corners)
    _check_grid_sample(input, grid, mode)
    n, c, *spatial = input.shape
    k = len(spatial)
    sizes = spatial[::-1]  # along grid's last dim: x (width), y (height), z (depth)
    flat = input.reshape(n, c, math.prod(spatial))
    coords = [_unnormalize(grid[..., i], sizes[i], align_corners) for i in range(k)]
    if mode == "bicubic":
        starts = [_floor(x) for x in coords]
        weights = [_cubic_weights(x - s) for x, s in zip(coords, starts, strict=True)]
        # each dim's four taps (-1, 0, 1, 2 from the floor) moved inside as padding_mode says
        taps = [[_pad(s + (i - 1), size, padding_mode, align_corners) for i in range(4)]
                for s, size in zip(starts, sizes, strict=True)]
        out = None
        for j, i in itertools.product(range(4), range(4)):  # rows (y) outer, as ATen sums them
            term = _tap(flat, [taps[0][i], taps[1][j]], sizes) * (weights[0][i] * weights[1][j]).unsqueeze(1)
            out = term if out is None else out + term
        return out
    coords = [_pad(x, size, padding_mode, align_corners) for x, size in zip(coords, sizes, strict=True)]
    if mode == "nearest":
        out = _tap(flat, [_round(x) for x in coords], sizes)
        if grid.requires_grad:  # PyTorch's grid gradient is zeros here, not None
            out = out + with_zero_gradient(_from_host(np.zeros((), grid.dtype), grid), grid)
        return out
    lows = [_floor(x) for x in coords]
    # per dim: (position, weight) of the pixel below and the one above
    pairs = [((lo, (lo + 1.0) - x), (lo + 1.0, x - lo)) for x, lo in zip(coords, lows, strict=True)]
    out = None
    for reversed_corner in itertools.product(*reversed(pairs)):  # x fastest, as ATen sums the corners
        corner = reversed_corner[::-1]
        weight = corner[0][1]
        for _, w in corner[1:]:
            weight = weight * w
        term = _tap(flat, [p for p, _ in corner], sizes) * weight.unsqueeze(1)
        out = term if out is None else out + term
    return out


__all__ = ["affine_grid", "grid_sample"]
