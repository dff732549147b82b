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

// A GEMM operand: a matrix, or matrices along one or two leading batch axes
// ((B, rows, cols), (B1, B2, rows, cols)), each with unit stride along its
// rows and `ld` elements between them. numpy arrays need only that, so a
// permuted view is read in place (attention's (N, heads, L, d) heads, whose
// two batch axes do not merge into one); DeviceArrays are C-contiguous.
struct Operand {
  ArrayView view;
  int64_t rows = 0, cols = 0, ld = 0;
  std::vector<int64_t> batch, batch_strides;  // the leading axes: sizes, element strides
  int64_t span = 0;                           // elements from the first read to one past the last
};

template <Device D>
Operand gemm_operand(const py::handle& obj, const char* name) {
  Operand x;
  x.view = array_arg<D>(obj, kOp, name);
  const ArrayView& v = x.view;
  if (!same_dtype(v.dtype, py::dtype::of<float>()) && !same_dtype(v.dtype, py::dtype::of<double>()))
    type_error(kOp, ": ", name, " must be float32 or float64, got ", std::string(py::str(v.dtype)));
  const size_t nd = v.ndim();
  if (nd < 2 || nd > 4)
    value_error(kOp, ": ", name, " must have 2 dimensions (a matrix), 3 or 4 (matrices along 1 or 2 batch axes), "
                "got shape ", shape_str(v.shape));
  std::vector<int64_t> strides(nd);
  if constexpr (D == Device::cpu) {
    const auto a = py::reinterpret_borrow<py::array>(v.object);
    const int64_t item = static_cast<int64_t>(v.dtype.itemsize());
    for (size_t i = 0; i < nd; ++i) strides[i] = a.strides(i) % item ? -1 : a.strides(i) / item;
  } else {
    int64_t stride = 1;
    for (size_t i = nd; i-- > 0;) strides[i] = stride, stride *= v.shape[i];
  }
  x.rows = v.shape[nd - 2];
  x.cols = v.shape[nd - 1];
  x.batch.assign(v.shape.begin(), v.shape.end() - 2);
  x.batch_strides.assign(strides.begin(), strides.end() - 2);
  x.ld = x.rows > 1 ? strides[nd - 2] : (x.cols > 0 ? x.cols : 1);
  if (v.size() == 0) return x;  // nothing is read: strides do not matter
  bool fits = x.ld >= x.cols && (x.cols == 1 || strides[nd - 1] == 1);
  x.span = 1 + (x.rows - 1) * x.ld + (x.cols - 1);
  for (size_t i = 0; i + 2 < nd; ++i) {
    if (v.shape[i] == 1) x.batch_strides[i] = 0;  // never stepped along: any stride
    fits = fits && x.batch_strides[i] >= 0;
    x.span += (v.shape[i] - 1) * x.batch_strides[i];
  }
  if (!fits)
    value_error(kOp, ": ", name, " (shape ", shape_str(v.shape), ") must have unit stride along its last axis, "
                "rows at least a row apart and no negative strides; use numpy.ascontiguousarray");
  return x;
}

// Whether out (C-contiguous) shares memory with what x reads.
bool reads_overlap(const ArrayView& out, const Operand& x) {
  const auto* o = static_cast<const char*>(out.data);
  const auto* r = static_cast<const char*>(x.view.data);
  const int64_t item = static_cast<int64_t>(out.dtype.itemsize());
  return out.size() > 0 && x.span > 0 && o < r + x.span * item && r < o + out.size() * item;
}

template <Device D>
py::object gemm(const py::handle& a_obj, const py::handle& b_obj, bool trans_a, bool trans_b, double alpha,
                double beta, const py::handle& out_obj, const py::handle& bias_obj) {
  const Operand a = gemm_operand<D>(a_obj, "a");
  const Operand b = gemm_operand<D>(b_obj, "b");
  require_same_dtype(b.view, a.view, kOp, "b", "a");
  // An operand without batch axes is shared by every product.
  if (!a.batch.empty() && !b.batch.empty() && a.batch != b.batch)
    value_error(kOp, ": batch sizes differ: a ", shape_str(a.view.shape), ", b ", shape_str(b.view.shape));
  const std::vector<int64_t>& batch_shape = a.batch.empty() ? b.batch : a.batch;
  int64_t count = 1;
  for (int64_t d : batch_shape) count *= d;
  const int64_t M = trans_a ? a.cols : a.rows, K = trans_a ? a.rows : a.cols;
  const int64_t Kb = trans_b ? b.cols : b.rows, N = trans_b ? b.rows : b.cols;
  if (K != Kb)
    value_error(kOp, ": inner dimensions differ: op(a) is ", M, "x", K, " (a ", shape_str(a.view.shape),
                trans_a ? ", transposed" : "", ") but op(b) is ", Kb, "x", N, " (b ", shape_str(b.view.shape),
                trans_b ? ", transposed" : "", ")");
  std::vector<int64_t> out_shape = batch_shape;
  out_shape.push_back(M);
  out_shape.push_back(N);
  const ArrayView out = [&] {
    if (out_obj.is_none()) {
      if (beta != 0.0)
        value_error(kOp, ": beta is ", beta, " but out is None; pass out to accumulate into, or beta=0");
      return empty_array<D>(out_shape, a.view.dtype);
    }
    ArrayView given = array_arg<D>(out_obj, kOp, "out");
    require_same_dtype(given, a.view, kOp, "out", "a");
    require_shape(given, out_shape, kOp, "out");
    require_contiguous(given, kOp, "out");
    require_writeable(given, kOp, "out");
    if (reads_overlap(given, a) || reads_overlap(given, b))
      value_error(kOp, ": out must not share memory with a or b");
    return given;
  }();
  std::optional<ArrayView> bias;
  if (!bias_obj.is_none()) {
    bias = array_arg<D>(bias_obj, kOp, "bias");
    require_same_dtype(*bias, a.view, kOp, "bias", "a");
    require_shape(*bias, {N}, kOp, "bias");
    require_contiguous(*bias, kOp, "bias");
    if (overlaps(out, *bias)) value_error(kOp, ": out must not share memory with bias");
  }
  // Product i's operands: along the last batch axis by stride, along a first one of two by group_stride.
  const auto inner = [](const Operand& x) { return x.batch.empty() ? 0 : x.batch_strides.back(); };
  const auto outer = [](const Operand& x) { return x.batch.size() == 2 ? x.batch_strides[0] : 0; };
  ops::GemmBatch batch{count, inner(a), inner(b), M * N};
  if (batch_shape.size() == 2) {
    batch.group = batch_shape[1];
    batch.group_stride_a = outer(a);
    batch.group_stride_b = outer(b);
  }
  dispatch(float_dtype(a.view), [&](auto zero) {
    using T = decltype(zero);
    const T* bias_data = bias ? cptr<T>(*bias) : nullptr;
    py::gil_scoped_release release;
    if constexpr (D == Device::cpu)
      cpu::gemm<T>(trans_a, trans_b, M, N, K, T(alpha), cptr<T>(a.view), a.ld, cptr<T>(b.view), b.ld, T(beta),
                   ptr<T>(out), N, batch, bias_data);
    else
      cuda::gemm<T>(trans_a, trans_b, M, N, K, T(alpha), cptr<T>(a.view), a.ld, cptr<T>(b.view), b.ld, T(beta),
                    ptr<T>(out), N, batch, bias_data);
  });
  return out.object;
}

template <Device D>
void def_gemm(py::module_& m) {
  m.def("gemm", &gemm<D>, py::arg("a"), py::arg("b"), py::arg("trans_a") = false, py::arg("trans_b") = false,
        py::arg("alpha") = 1.0, py::arg("beta") = 0.0, py::arg("out") = py::none(), py::arg("bias") = py::none(),
        "out = alpha * op(a) @ op(b) + beta * out (+ bias), op(x) = x.T when trans_x, else x.\n\n"
        "a, b: 2-D float32 or float64 arrays of one dtype, or 3-D / 4-D: matrices along one or two\n"
        "batch axes ((B, rows, cols), (B1, B2, rows, cols)), multiplied pairwise (a 2-D operand is\n"
        "shared by every product), out then (B, M, N) / (B1, B2, M, N). Each matrix needs unit stride\n"
        "along its last axis (numpy views are read in place; other strides free, none negative).\n"
        "out: (M, N) array of that\n"
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
