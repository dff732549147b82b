#include "bindings/arrays.h"
#include "bindings/register.h"

namespace minigrad::bindings {
void bind_softmax_loss(py::module_& /*m*/) {}
}  // namespace minigrad::bindings
