// Python bindings of the recurrent layers' time loop for both devices:
// lstm_sequence runs one LSTM layer and direction over the whole sequence, each
// step the device's GEMM (h W_hh^T accumulated into the step's gates) and its
// lstm_cell kernel (csrc/cpu/elementwise.h, cuda/elementwise.h), with no
// Python between steps: a step of a 35-step, 128-unit language model spent
// about as long in Python and argument checks as in its two kernels.
#include <vector>

#include "../../cuda/elementwise.h"
#include "../../cuda/gemm.h"
#include "bindings/array_view.h"
#include "bindings/register.h"
#include "cpu/elementwise.h"
#include "cpu/gemm.h"

namespace minigrad::bindings {
namespace {
constexpr const char* kOp = "lstm_sequence";

template <Device D>
py::tuple lstm_sequence(const py::handle& gates_obj, const py::handle& w_t_obj, const py::handle& h0_obj,
                        const py::handle& c0_obj, bool reverse) {
  const ArrayView gates = float_arg<D>(gates_obj, kOp, "gates");
  require_rank(gates, 3, kOp, "gates");
  require_writeable(gates, kOp, "gates");
  const int64_t L = gates.shape[0], N = gates.shape[1], G = gates.shape[2];
  if (G % 4 != 0) value_error(kOp, ": gates must be (L, N, 4 * hidden_size), got shape ", shape_str(gates.shape));
  const int64_t H = G / 4;
  const ArrayView w_t = float_arg<D>(w_t_obj, kOp, "w_t");
  require_same_dtype(w_t, gates, kOp, "w_t", "gates");
  require_shape(w_t, {H, G}, kOp, "w_t");
  const ArrayView h0 = float_arg<D>(h0_obj, kOp, "h0"), c0 = float_arg<D>(c0_obj, kOp, "c0");
  for (const auto& [state, name] : {std::pair<const ArrayView&, const char*>{h0, "h0"}, {c0, "c0"}}) {
    require_same_dtype(state, gates, kOp, name, "gates");
    require_shape(state, {N, H}, kOp, name);
  }
  const std::vector<int64_t> states{L, N, H};
  const ArrayView hs = empty_array<D>(states, gates.dtype), cs = empty_array<D>(states, gates.dtype),
                  tanh_cs = empty_array<D>(states, gates.dtype), acts = empty_array<D>(gates.shape, gates.dtype);
  dispatch(float_dtype(gates), [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    const int64_t step = N * H;
    const T *h = cptr<T>(h0), *c = cptr<T>(c0);
    for (int64_t k = 0; k < L; ++k) {
      const int64_t t = reverse ? L - 1 - k : k;
      T* g = ptr<T>(gates) + t * N * G;
      T* a = ptr<T>(acts) + t * N * G;
      T *h_next = ptr<T>(hs) + t * step, *c_next = ptr<T>(cs) + t * step, *tanh_c = ptr<T>(tanh_cs) + t * step;
      if constexpr (D == Device::cpu) {
        cpu::gemm<T>(false, false, N, G, H, T(1), h, H, cptr<T>(w_t), G, T(1), g, G);
        cpu::lstm_cell_forward<T>(g, c, a, c_next, tanh_c, h_next, N, H);
      } else {
        cuda::gemm<T>(false, false, N, G, H, T(1), h, H, cptr<T>(w_t), G, T(1), g, G);
        cuda::lstm_cell_forward<T>(g, c, a, c_next, tanh_c, h_next, N, H);
      }
      h = h_next;
      c = c_next;
    }
  });
  return py::make_tuple(hs.object, cs.object, acts.object, tanh_cs.object);
}

template <Device D>
void def_rnn(py::module_& m) {
  m.def("lstm_sequence", &lstm_sequence<D>, py::arg("gates"), py::arg("w_t"), py::arg("h0"), py::arg("c0"),
        py::arg("reverse") = false,
        "One LSTM layer and direction over a sequence: gates (L, N, 4H) the input projections with\n"
        "both biases (written in place: each step's h W_hh^T accumulates into it), w_t (H, 4H) =\n"
        "W_hh^T, h0 and c0 (N, H); steps t = 0 .. L-1 (reverse: L-1 .. 0), each lstm_cell on its\n"
        "gates. Returns (hs, cs, acts, tanh_cs): the states after each step t (L, N, H) and what\n"
        "lstm_cell_backward takes, per step (acts (L, N, 4H)).");
}
}  // namespace

void bind_rnn(py::module_& m) { def_rnn<Device::cpu>(m); }

#ifdef MINIGRAD_WITH_CUDA
void bind_cuda_rnn(py::module_& cuda) { def_rnn<Device::cuda>(cuda); }
#endif

}  // namespace minigrad::bindings
