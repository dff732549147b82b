#include "bindings/arrays.h"
#include "bindings/register.h"

namespace minigrad::bindings {
void bind_optim(py::module_& /*m*/) {}
}  // namespace minigrad::bindings
