// Python bindings of the scan family: cumsum along one axis, checked once for
// both devices (_C: csrc/cpu/scan.h; _C.cuda: cuda/scan.h), float32/float64.
#include <cstdint>

#include "../../cuda/scan.h"
#include "bindings/array_view.h"
#include "bindings/register.h"
#include "cpu/scan.h"

namespace minigrad::bindings {
namespace {

// x viewed as (outer, n, inner) around axis dim (a 0-d x as one element, dim 0 or -1, as PyTorch).
ops::ScanShape scan_shape(const ArrayView& x, int64_t dim, const char* op) {
  const int64_t rank = x.ndim() == 0 ? 1 : static_cast<int64_t>(x.ndim());
  if (dim < -rank || dim >= rank)
    value_error(op, ": dim ", dim, " is out of range for an array of ", x.ndim(), " dimensions");
  if (dim < 0) dim += rank;
  ops::ScanShape s{1, x.ndim() == 0 ? 1 : x.shape[dim], 1};
  for (int64_t d = 0; d < static_cast<int64_t>(x.ndim()); ++d) {
    if (d < dim) s.outer *= x.shape[d];
    if (d > dim) s.inner *= x.shape[d];
  }
  return s;
}

template <Device D>
py::object cumsum(const py::handle& x_obj, int64_t dim, bool reverse) {
  const char* op = "cumsum";
  const ArrayView x = float_arg<D>(x_obj, op, "x");
  const ops::ScanShape s = scan_shape(x, dim, op);
  const ArrayView y = empty_array<D>(x.shape, x.dtype);
  dispatch(float_dtype(x), [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    if constexpr (D == Device::cpu)
      cpu::cumsum(s, cptr<T>(x), ptr<T>(y), reverse);
    else
      cuda::cumsum(s, cptr<T>(x), ptr<T>(y), reverse);
  });
  return y.object;
}

template <Device D>
void def_scan(py::module_& m) {
  m.def("cumsum", &cumsum<D>, py::arg("x"), py::arg("dim"), py::arg("reverse") = false,
        "Running sums of x along dim, in order into a double (reverse: from the end, cumsum's backward); "
        "float32 sums are PyTorch's CPU cumsum's bit for bit.");
}

}  // namespace

void bind_scan(py::module_& m) { def_scan<Device::cpu>(m); }

#ifdef MINIGRAD_WITH_CUDA
void bind_cuda_scan(py::module_& cuda) { def_scan<Device::cuda>(cuda); }
#endif

}  // namespace minigrad::bindings
