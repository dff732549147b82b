// _C.cuda.gemm: the device twin of _C.gemm (csrc/bindings/gemm.cpp), same
// arguments, checks and return convention, on DeviceArrays.
#include "../../cuda/gemm.h"

#include "bindings/cuda_arrays.h"
#include "bindings/register.h"

namespace minigrad::bindings {
namespace {
constexpr const char* kOp = "gemm";

bool overlaps(const DeviceArray& x, const DeviceArray& y) {
  const auto* x0 = static_cast<const char*>(x.data());
  const auto* y0 = static_cast<const char*>(y.data());
  return x.nbytes() > 0 && y.nbytes() > 0 && x0 < y0 + y.nbytes() && y0 < x0 + x.nbytes();
}

void require_rank(const DeviceArray& a, size_t rank, const char* name) {
  if (a.shape().size() != rank)
    value_error(kOp, ": ", name, " must have ", rank, " dimensions, got shape ", shape_str(a.shape()));
}

py::object gemm(const py::handle& a_obj, const py::handle& b_obj, bool trans_a, bool trans_b, double alpha,
                double beta, const py::handle& out_obj) {
  const DeviceArray& a = float_device_array(a_obj, kOp, "a");
  const DeviceArray& b = float_device_array(b_obj, kOp, "b");
  if (a.dtype() != b.dtype()) require_same(b, a, kOp, "b", "a");
  require_rank(a, 2, "a");
  require_rank(b, 2, "b");
  const int64_t M = a.shape()[trans_a ? 1 : 0], K = a.shape()[trans_a ? 0 : 1];
  const int64_t Kb = b.shape()[trans_b ? 1 : 0], N = b.shape()[trans_b ? 0 : 1];
  if (K != Kb)
    value_error(kOp, ": inner dimensions differ: op(a) is ", M, "x", K, " (a ", shape_str(a.shape()),
                trans_a ? ", transposed" : "", ") but op(b) is ", Kb, "x", N, " (b ", shape_str(b.shape()),
                trans_b ? ", transposed" : "", ")");
  py::object out_holder;
  if (out_obj.is_none()) {
    if (beta != 0.0)
      value_error(kOp, ": beta is ", beta, " but out is None; pass out to accumulate into, or beta=0");
    out_holder = py::cast(DeviceArray({M, N}, a.dtype()));
  } else {
    const DeviceArray& out = as_device_array(out_obj, kOp, "out");
    if (out.dtype() != a.dtype()) require_same(out, a, kOp, "out", "a");
    if (out.shape() != std::vector<int64_t>{M, N})
      value_error(kOp, ": out must have shape ", shape_str({M, N}), ", got ", shape_str(out.shape()));
    if (overlaps(out, a) || overlaps(out, b)) value_error(kOp, ": out must not share memory with a or b");
    out_holder = py::reinterpret_borrow<py::object>(out_obj);
  }
  DeviceArray& out = out_holder.cast<DeviceArray&>();
  dispatch_float(a, [&](auto zero) {
    using T = decltype(zero);
    const T* pa = static_cast<const T*>(a.data());
    const T* pb = static_cast<const T*>(b.data());
    T* pc = static_cast<T*>(out.data());
    const int64_t lda = a.shape()[1], ldb = b.shape()[1];
    py::gil_scoped_release release;
    mc::gemm<T>(trans_a, trans_b, M, N, K, T(alpha), pa, lda, pb, ldb, T(beta), pc, N);
  });
  return out_holder;
}
}  // namespace

void bind_cuda_gemm(py::module_& cuda) {
  cuda.def("gemm", &gemm, py::arg("a"), py::arg("b"), py::arg("trans_a") = false, py::arg("trans_b") = false,
           py::arg("alpha") = 1.0, py::arg("beta") = 0.0, py::arg("out") = py::none(),
           "out = alpha * op(a) @ op(b) + beta * out on the device, as _C.gemm: a, b 2-D float32/float64\n"
           "DeviceArrays of one dtype; out (M, N) of that dtype, not sharing memory with a or b, written in\n"
           "place and returned (read only when beta != 0); out=None returns a new array and needs beta == 0.");
}
}  // namespace minigrad::bindings
