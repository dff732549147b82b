#include "bindings/arrays.h"
#include "bindings/register.h"

namespace minigrad::bindings {
void bind_batch_norm(py::module_& /*m*/) {}
}  // namespace minigrad::bindings
