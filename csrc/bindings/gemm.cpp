// Python bindings of the GEMM for both devices: _C.gemm on numpy arrays
// (csrc/cpu/gemm.h) and _C.cuda.gemm on DeviceArrays (cuda/gemm.h), checked
// once over ArrayViews; plus the CPU's FMA peak probe.
#include <optional>
#include <string>
#include <vector>

#include "../../cuda/gemm.h"
#include "bindings/array_view.h"
#include "bindings/register.h"
#include "cpu/gemm.h"
#include "cpu/parallel.h"

namespace minigrad::bindings {
namespace {
constexpr const char* kOp = "gemm";

// A 2-D matrix or a 3-D stack of them (batch, rows, cols).
void require_matrices(const ArrayView& x, const char* name) {
  if (x.ndim() != 2 && x.ndim() != 3)
    value_error(kOp, ": ", name, " must have 2 dimensions (a matrix) or 3 (a batch of matrices), got shape ",
                shape_str(x.shape));
}

template <Device D>
py::object gemm(const py::handle& a_obj, const py::handle& b_obj, bool trans_a, bool trans_b, double alpha,
                double beta, const py::handle& out_obj, const py::handle& bias_obj) {
  const ArrayView a = float_arg<D>(a_obj, kOp, "a");
  const ArrayView b = float_arg<D>(b_obj, kOp, "b");
  require_same_dtype(b, a, kOp, "b", "a");
  require_matrices(a, "a");
  require_matrices(b, "b");
  // A 3-D operand is a batch of matrices; a 2-D one is shared by every product.
  const size_t ra = a.ndim() - 2, rb = b.ndim() - 2;  // index of the rows axis
  const int64_t count = ra ? a.shape[0] : (rb ? b.shape[0] : 1);
  if (ra && rb && a.shape[0] != b.shape[0])
    value_error(kOp, ": batch sizes differ: a ", shape_str(a.shape), ", b ", shape_str(b.shape));
  const int64_t M = a.shape[ra + (trans_a ? 1 : 0)], K = a.shape[ra + (trans_a ? 0 : 1)];
  const int64_t Kb = b.shape[rb + (trans_b ? 1 : 0)], N = b.shape[rb + (trans_b ? 0 : 1)];
  if (K != Kb)
    value_error(kOp, ": inner dimensions differ: op(a) is ", M, "x", K, " (a ", shape_str(a.shape),
                trans_a ? ", transposed" : "", ") but op(b) is ", Kb, "x", N, " (b ", shape_str(b.shape),
                trans_b ? ", transposed" : "", ")");
  const std::vector<int64_t> out_shape = ra || rb ? std::vector<int64_t>{count, M, N} : std::vector<int64_t>{M, N};
  const ArrayView out = [&] {
    if (out_obj.is_none()) {
      if (beta != 0.0)
        value_error(kOp, ": beta is ", beta, " but out is None; pass out to accumulate into, or beta=0");
      return empty_array<D>(out_shape, a.dtype);
    }
    ArrayView given = array_arg<D>(out_obj, kOp, "out");
    require_same_dtype(given, a, kOp, "out", "a");
    require_shape(given, out_shape, kOp, "out");
    require_contiguous(given, kOp, "out");
    require_writeable(given, kOp, "out");
    if (overlaps(given, a) || overlaps(given, b)) value_error(kOp, ": out must not share memory with a or b");
    return given;
  }();
  std::optional<ArrayView> bias;
  if (!bias_obj.is_none()) {
    bias = array_arg<D>(bias_obj, kOp, "bias");
    require_same_dtype(*bias, a, kOp, "bias", "a");
    require_shape(*bias, {N}, kOp, "bias");
    require_contiguous(*bias, kOp, "bias");
    if (overlaps(out, *bias)) value_error(kOp, ": out must not share memory with bias");
  }
  const ops::GemmBatch batch{count, ra ? M * K : 0, rb ? K * N : 0, M * N};
  dispatch(float_dtype(a), [&](auto zero) {
    using T = decltype(zero);
    const int64_t lda = a.shape[ra + 1], ldb = b.shape[rb + 1];
    const T* bias_data = bias ? cptr<T>(*bias) : nullptr;
    py::gil_scoped_release release;
    if constexpr (D == Device::cpu)
      cpu::gemm<T>(trans_a, trans_b, M, N, K, T(alpha), cptr<T>(a), lda, cptr<T>(b), ldb, T(beta), ptr<T>(out), N,
                   batch, bias_data);
    else
      cuda::gemm<T>(trans_a, trans_b, M, N, K, T(alpha), cptr<T>(a), lda, cptr<T>(b), ldb, T(beta), ptr<T>(out), N,
                    batch, bias_data);
  });
  return out.object;
}

template <Device D>
void def_gemm(py::module_& m) {
  m.def("gemm", &gemm<D>, py::arg("a"), py::arg("b"), py::arg("trans_a") = false, py::arg("trans_b") = false,
        py::arg("alpha") = 1.0, py::arg("beta") = 0.0, py::arg("out") = py::none(), py::arg("bias") = py::none(),
        "out = alpha * op(a) @ op(b) + beta * out (+ bias), op(x) = x.T when trans_x, else x.\n\n"
        "a, b: 2-D C-contiguous float32 or float64 arrays of one dtype, or 3-D: a batch of matrices\n"
        "(B, rows, cols), multiplied pairwise (a 2-D operand is shared by every product), out then\n"
        "(B, M, N). out: (M, N) array of that\n"
        "dtype, C-contiguous, writeable, not sharing memory with a or b; written in place and\n"
        "returned. It is read only when beta != 0, so NaNs in it do not propagate when beta == 0.\n"
        "out=None returns a new array and needs beta == 0 (ValueError otherwise). K == 0 gives\n"
        "beta * out; alpha == 0 does not read a or b (as BLAS). bias: None or a C-contiguous (N,)\n"
        "array of a's dtype, added to every row of every product as it is written (Linear's bias).");
}
}  // namespace

void bind_gemm(py::module_& m) {
  def_gemm<Device::cpu>(m);
  m.def(
      "fma_peak_gflops",
      [](int threads, double seconds) {
        if (threads < 1 || threads > cpu::kMaxThreads)
          throw py::value_error("fma_peak_gflops: threads must be in [1, " + std::to_string(cpu::kMaxThreads) +
                                "], got " + std::to_string(threads));
        if (!(seconds > 0 && seconds <= 60))
          throw py::value_error("fma_peak_gflops: seconds must be in (0, 60], got " + std::to_string(seconds));
        py::gil_scoped_release release;
        return cpu::fma_peak_gflops(threads, seconds);
      },
      py::arg("threads"), py::arg("seconds") = 0.1,
      "float32 GFLOP/s of multiply-adds with every operand in registers, on `threads` threads\n"
      "(1 in a build without OpenMP) with the SIMD level gemm uses: the best of three runs of\n"
      "about `seconds` each. The measured peak that benchmarks judge GEMM speed against.");
}

#ifdef MINIGRAD_WITH_CUDA
void bind_cuda_gemm(py::module_& cuda) { def_gemm<Device::cuda>(cuda); }
#endif

}  // namespace minigrad::bindings
