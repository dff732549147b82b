"""The SIMD levels below this CPU's: MINIGRAD_SIMD caps the level at import, so tests of
the lower kernels run them in a subprocess with it set."""

import pytest

from minigrad import _C

LOWER_LEVELS = {"avx512": ["avx2", "generic"], "avx2": ["generic"], "generic": []}


def skip_unless_below_native(level: str) -> None:
    """Skip the calling test unless `level` is below the level this CPU runs."""
    native = _C.build_info()["simd"]
    if level not in LOWER_LEVELS[native]:
        pytest.skip(f"this CPU runs {native}; {level} is not below it")
