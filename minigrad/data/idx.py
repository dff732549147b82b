"""Reading and writing IDX files (the MNIST format), gzip-compressed or raw.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number
of dimensions), one big-endian uint32 per dimension, then the values in C
order, big-endian. The reader checks the header against the real length of the
file before trusting it: a header that claims more data than the file holds is
an error, and memory is only ever allocated for bytes actually read.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import zlib
from pathlib import Path

import numpy as np

__all__ = ["IDXError", "ChecksumError", "read_idx", "write_idx", "idx_bytes", "sha256_of_idx"]

# IDX type code -> numpy dtype (big-endian, as stored in the file).
_TYPE_CODES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_OF_KIND = {(dt.kind, dt.itemsize): code for code, dt in _TYPE_CODES.items()}
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20


class IDXError(ValueError):
    """A file is not a well-formed IDX file (bad magic, truncated, inconsistent header)."""


class ChecksumError(IDXError):
    """A file's decompressed content does not have the expected SHA-256."""


def _open(path: Path):
    """Open a file for reading, transparently decompressing gzip (detected by its magic bytes)."""
    with open(path, "rb") as f:
        compressed = f.read(2) == _GZIP_MAGIC
    return gzip.open(path, "rb") if compressed else open(path, "rb")


def _read_at_most(f, n: int, digest) -> bytearray:
    """Read up to n bytes in chunks (never allocating n up front), feeding them to digest."""
    buf = bytearray()
    while len(buf) < n:
        chunk = f.read(min(_CHUNK, n - len(buf)))
        if not chunk:
            break
        digest.update(chunk)
        buf += chunk
    return buf


def read_idx(path: str | os.PathLike, sha256: str | None = None) -> np.ndarray:
    """Read an IDX file (gzip or raw) into a native-endian numpy array.

    If ``sha256`` is given, the SHA-256 of the decompressed bytes must match it,
    or ChecksumError is raised. Malformed files raise IDXError naming the file.
    """
    path = Path(path)
    digest = hashlib.sha256()
    try:
        with _open(path) as f:
            magic = _read_at_most(f, 4, digest)
            if len(magic) < 4:
                raise IDXError(f"{path}: truncated IDX file ({len(magic)} bytes, no complete header)")
            if magic[0] != 0 or magic[1] != 0 or magic[2] not in _TYPE_CODES:
                raise IDXError(f"{path}: not an IDX file (magic number {bytes(magic).hex()})")
            dtype, ndim = _TYPE_CODES[magic[2]], magic[3]
            dims_raw = _read_at_most(f, 4 * ndim, digest)
            if len(dims_raw) < 4 * ndim:
                raise IDXError(f"{path}: truncated IDX header ({ndim} dimensions announced)")
            shape = tuple(int(d) for d in np.frombuffer(dims_raw, dtype=">u4"))
            expected = math.prod(shape) * dtype.itemsize
            # One byte more than announced tells us whether the file is too long.
            body = _read_at_most(f, expected + 1, digest)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise IDXError(f"{path}: corrupt or truncated gzip stream ({exc})") from exc
    if len(body) < expected:
        raise IDXError(
            f"{path}: truncated IDX file: header {shape} announces {expected} data bytes, file has {len(body)}"
        )
    if len(body) > expected:
        raise IDXError(f"{path}: IDX file longer than its header {shape} announces")
    if sha256 is not None and digest.hexdigest() != sha256.lower():
        raise ChecksumError(
            f"{path}: checksum mismatch: SHA-256 of the decompressed content is "
            f"{digest.hexdigest()}, expected {sha256.lower()}. The file is corrupt or not the "
            "expected data set; delete it to fetch it again."
        )
    array = np.frombuffer(body, dtype=dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of an array (uint8, int8, int16, int32, float32 or float64)."""
    array = np.asarray(array)
    code = _CODE_OF_KIND.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        raise TypeError(f"write_idx: unsupported dtype {array.dtype}")
    if array.ndim > 255 or any(d >= 2**32 for d in array.shape):
        raise ValueError(f"write_idx: shape {array.shape} cannot be stored in IDX")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    return header + np.ascontiguousarray(array, dtype=_TYPE_CODES[code]).tobytes()


def sha256_of_idx(array: np.ndarray) -> str:
    """SHA-256 of an array's IDX encoding (what read_idx would verify)."""
    return hashlib.sha256(idx_bytes(array)).hexdigest()


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> str:
    """Write an array as IDX, gzip-compressed (reproducibly) if ``compress`` is true.

    ``compress=None`` compresses when the file name ends in .gz. Returns the
    SHA-256 of the uncompressed IDX bytes.
    """
    data = idx_bytes(array)
    path = Path(path)
    if compress or (compress is None and path.suffix == ".gz"):
        path.write_bytes(gzip.compress(data, mtime=0))
    else:
        path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()
