"""The named tuples that reductions return, under PyTorch's torch.return_types names (so that
results pickle and read as PyTorch's): ``minigrad.max(x, 1)`` is a ``return_types.max``."""

from minigrad.functional.reduce import AminmaxResult as aminmax
from minigrad.functional.reduce import CummaxResult as cummax
from minigrad.functional.reduce import CumminResult as cummin
from minigrad.functional.reduce import HistogramResult as histogram
from minigrad.functional.reduce import KthvalueResult as kthvalue
from minigrad.functional.reduce import MaxResult as max  # noqa: A004 (PyTorch's names)
from minigrad.functional.reduce import MedianResult as median
from minigrad.functional.reduce import MinResult as min  # noqa: A004
from minigrad.functional.reduce import ModeResult as mode
from minigrad.functional.reduce import NanmedianResult as nanmedian
from minigrad.functional.reduce import SortResult as sort
from minigrad.functional.reduce import TopkResult as topk

__all__ = ["aminmax", "cummax", "cummin", "histogram", "kthvalue", "max", "median", "min", "mode", "nanmedian", "sort",
           "topk"]
