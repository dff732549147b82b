// Python binding of the CPU sum (csrc/cpu/reduce.h): float32/float64 over
// adjacent axes, as numpy.sum. The CUDA backend's sum is _C.cuda.sum (all
// dtypes, any axes; csrc/bindings/elementwise.cpp).
#include <cstdint>
#include <string>
#include <vector>

#include "bindings/array_view.h"
#include "bindings/register.h"
#include "cpu/reduce.h"

namespace minigrad::bindings {
namespace {

py::object sum(const py::handle& x_obj, const py::handle& axis, bool keepdims) {
  const char* op = "sum";
  const ArrayView x = float_arg<Device::cpu>(x_obj, op, "x");
  const std::vector<int> axes = parse_axes(axis, x.ndim(), op);
  if (!axes.empty() && axes.back() - axes.front() + 1 != static_cast<int>(axes.size()))
    value_error(op, ": axes ", std::string(py::repr(axis)), " are not adjacent (numpy.sum reduces any axes)");
  const int first = axes.empty() ? static_cast<int>(x.ndim()) : axes.front();
  const int last = first + static_cast<int>(axes.size());  // one past
  int64_t outer = 1, len = 1, inner = 1;
  std::vector<int64_t> out_shape;
  for (int d = 0; d < static_cast<int>(x.ndim()); ++d) {
    const int64_t n = x.shape[d];
    if (d < first) outer *= n;
    else if (d < last) len *= n;
    else inner *= n;
    if (d < first || d >= last) out_shape.push_back(n);
    else if (keepdims) out_shape.push_back(1);
  }
  const ArrayView out = empty_array<Device::cpu>(out_shape, x.dtype);
  dispatch(float_dtype(x), [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    cpu::sum(cptr<T>(x), ptr<T>(out), outer, len, inner);
  });
  return out.object;
}

}  // namespace

void bind_reduce(py::module_& m) {
  m.def("sum", &sum, py::arg("x"), py::arg("axis") = py::none(), py::arg("keepdims") = false,
        "Sum of float32/float64 x over adjacent axes (None: all), as numpy.sum: blocks of 1024 summed "
        "across 32 lanes, the block sums added in order into a double (the same result at any thread count).");
}

}  // namespace minigrad::bindings
