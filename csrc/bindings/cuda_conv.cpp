#include "bindings/cuda_arrays.h"
#include "bindings/register.h"

namespace minigrad::bindings {
void bind_cuda_conv(py::module_& /*cuda*/) {}
}  // namespace minigrad::bindings
