"""minigrad: a compiled autograd engine with C++ and CUDA kernels under a PyTorch-like API."""

from minigrad import _C

__version__ = "0.1.0"


def set_num_threads(n: int) -> None:
    """Set the number of threads the CPU kernels use (n >= 1)."""
    _C.set_num_threads(int(n))


def get_num_threads() -> int:
    """Number of threads the CPU kernels use."""
    return _C.get_num_threads()


def build_info() -> dict:
    """How the compiled core was built (CUDA compiled in, OpenMP, SIMD level in use)."""
    return dict(_C.build_info())
