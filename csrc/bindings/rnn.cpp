// Python bindings of the recurrent layers' time loop for both devices:
// lstm_sequence runs one LSTM layer and direction over the whole sequence, each
// step the device's GEMM (h W_hh^T accumulated into the step's gates) and its
// lstm_cell kernel (csrc/cpu/elementwise.h, cuda/elementwise.h), with no
// Python between steps: a step of a 35-step, 128-unit language model spent
// about as long in Python and argument checks as in its two kernels.
// gru_sequence does the same for a GRU layer (h W_hh^T + b_hh kept per step:
// the new gate reads r * its part), with gru_cell.
#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "../../cuda/elementwise.h"
#include "../../cuda/gemm.h"
#include "bindings/array_view.h"
#include "bindings/register.h"
#include "cpu/elementwise.h"
#include "cpu/gemm.h"
#include "cpu/parallel.h"

namespace minigrad::bindings {
namespace {

// A layer's steps: (L, N, gate_count * H) gates, pre-activations or activations.
struct SequenceShape {
  int64_t L, N, G, H;
};

SequenceShape sequence_shape(const ArrayView& a, int64_t gate_count, const char* op, const char* name) {
  require_rank(a, 3, op, name);
  if (a.shape[2] % gate_count != 0)
    value_error(op, ": ", name, " must be (L, N, ", gate_count, " * hidden_size), got shape ", shape_str(a.shape));
  return {a.shape[0], a.shape[1], a.shape[2], a.shape[2] / gate_count};
}

// A float array named `name` with ref's dtype and the given shape.
template <Device D>
ArrayView like(const py::handle& obj, const ArrayView& ref, const char* ref_name, std::vector<int64_t> shape,
               const char* op, const char* name) {
  const ArrayView a = float_arg<D>(obj, op, name);
  require_same_dtype(a, ref, op, name, ref_name);
  require_shape(a, shape, op, name);
  return a;
}

// Rows per slice and multiply-adds per slice (the whole sequence's) below
// which a batch is not cut into slices (for_each_batch_slice).
constexpr int64_t kMinSliceRows = 4;
constexpr int64_t kMinSliceMadds = int64_t{1} << 19;

// The batch rows [n0, n0 + rows) of a slice: where they start in an (N, width)
// array, and in step t of an (L, N, width) one.
struct BatchSlice {
  int64_t N, n0, rows;
  int64_t first(int64_t width) const { return n0 * width; }
  int64_t at(int64_t t, int64_t width) const { return (t * N + n0) * width; }
};

// body(slice) over slices of the batch rows [0, N), each running every step of
// the time loop for its rows: a row's recurrence reads only that row. On the
// CPU one slice per thread, so the team wakes once per call instead of once
// per step's GEMM. Zen 4, 32 rows of 128 LSTM units over 35 steps, float32:
// the steps threaded inside their GEMMs ran no faster at 2 threads than at 1
// (1.9 ms); sliced 1.1-1.4 ms (0.97 with OMP_WAIT_POLICY=passive). One slice
// (a small batch, or the GPU) runs on the calling thread, whose GEMMs thread
// inside. A row's results do not depend on the slicing.
template <Device D, typename Body>
void for_each_batch_slice(int64_t N, int64_t madds_per_row, const Body& body) {
  if constexpr (D == Device::cpu) {
    const int64_t slices = std::min({N / kMinSliceRows, N * madds_per_row / kMinSliceMadds,
                                     static_cast<int64_t>(cpu::num_threads())});
    if (slices > 1)
      return cpu::for_each_slice(N, static_cast<int>(slices),
                                 [&](int64_t n0, int64_t n1) { body(BatchSlice{N, n0, n1 - n0}); });
  }
  body(BatchSlice{N, 0, N});
}

template <Device D>
py::tuple lstm_sequence(const py::handle& gates_obj, const py::handle& w_t_obj, const py::handle& h0_obj,
                        const py::handle& c0_obj, bool reverse) {
  const char* op = "lstm_sequence";
  const ArrayView gates = float_arg<D>(gates_obj, op, "gates");
  const SequenceShape shape = sequence_shape(gates, 4, op, "gates");
  const int64_t L = shape.L, N = shape.N, G = shape.G, H = shape.H;
  require_writeable(gates, op, "gates");
  const ArrayView w_t = like<D>(w_t_obj, gates, "gates", {H, G}, op, "w_t");
  const ArrayView h0 = like<D>(h0_obj, gates, "gates", {N, H}, op, "h0");
  const ArrayView c0 = like<D>(c0_obj, gates, "gates", {N, H}, op, "c0");
  require_apart(gates, op, "gates", {&w_t, &h0, &c0});
  const std::vector<int64_t> states{L, N, H};
  const ArrayView hs = empty_array<D>(states, gates.dtype), cs = empty_array<D>(states, gates.dtype),
                  tanh_cs = empty_array<D>(states, gates.dtype), acts = empty_array<D>(gates.shape, gates.dtype);
  dispatch(float_dtype(gates), [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    for_each_batch_slice<D>(N, L * G * H, [&](const BatchSlice& slice) {
      const int64_t rows = slice.rows;
      const T *h = cptr<T>(h0) + slice.first(H), *c = cptr<T>(c0) + slice.first(H);
      for (int64_t k = 0; k < L; ++k) {
        const int64_t t = reverse ? L - 1 - k : k;
        T* g = ptr<T>(gates) + slice.at(t, G);
        T* a = ptr<T>(acts) + slice.at(t, G);
        const int64_t state = slice.at(t, H);
        T *h_next = ptr<T>(hs) + state, *c_next = ptr<T>(cs) + state, *tanh_c = ptr<T>(tanh_cs) + state;
        if constexpr (D == Device::cpu) {
          cpu::gemm<T>(false, false, rows, G, H, T(1), h, H, cptr<T>(w_t), G, T(1), g, G);
          cpu::lstm_cell_forward<T>(g, c, a, c_next, tanh_c, h_next, rows, H);
        } else {
          cuda::gemm<T>(false, false, rows, G, H, T(1), h, H, cptr<T>(w_t), G, T(1), g, G);
          cuda::lstm_cell_forward<T>(g, c, a, c_next, tanh_c, h_next, rows, H);
        }
        h = h_next;
        c = c_next;
      }
    });
  });
  return py::make_tuple(hs.object, cs.object, acts.object, tanh_cs.object);
}

// Its backward: the steps in reverse, each lstm_cell_backward, then the GEMM
// taking dgates back through W_hh, accumulated into the previous step's dh.
template <Device D>
py::tuple lstm_sequence_backward(const py::handle& dh_obj, const py::handle& dc_obj, const py::handle& grad_hs_obj,
                                 const py::handle& acts_obj, const py::handle& cs_obj, const py::handle& tanh_cs_obj,
                                 const py::handle& c0_obj, const py::handle& w_hh_obj, bool reverse) {
  const char* op = "lstm_sequence_backward";
  const ArrayView acts = float_arg<D>(acts_obj, op, "acts");
  const SequenceShape shape = sequence_shape(acts, 4, op, "acts");
  const int64_t L = shape.L, N = shape.N, G = shape.G, H = shape.H;
  if (L == 0) value_error(op, ": the sequence is empty (acts ", shape_str(acts.shape), ")");
  const auto array = [&](const py::handle& obj, const char* name, std::vector<int64_t> shape) {
    return like<D>(obj, acts, "acts", std::move(shape), op, name);
  };
  const ArrayView dh_last = array(dh_obj, "dh", {N, H}), dc_last = array(dc_obj, "dc", {N, H});
  const ArrayView grad_hs = array(grad_hs_obj, "grad_hs", {L, N, H});
  require_writeable(grad_hs, op, "grad_hs");
  const ArrayView cs = array(cs_obj, "cs", {L, N, H}), tanh_cs = array(tanh_cs_obj, "tanh_cs", {L, N, H});
  const ArrayView c0 = array(c0_obj, "c0", {N, H}), w_hh = array(w_hh_obj, "w_hh", {G, H});
  require_apart(grad_hs, op, "grad_hs", {&dh_last, &dc_last, &acts, &cs, &tanh_cs, &c0, &w_hh});
  const ArrayView dgates = empty_array<D>(acts.shape, acts.dtype), dh0 = empty_array<D>({N, H}, acts.dtype);
  const ArrayView dc_a = empty_array<D>({N, H}, acts.dtype), dc_b = empty_array<D>({N, H}, acts.dtype);
  dispatch(float_dtype(acts), [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    const auto time_of = [&](int64_t k) { return reverse ? L - 1 - k : k; };  // of the k-th step taken
    for_each_batch_slice<D>(N, L * G * H, [&](const BatchSlice& slice) {
      const int64_t rows = slice.rows;
      const auto state = [&](int64_t t) { return slice.at(t, H); };
      const auto gate = [&](int64_t t) { return slice.at(t, G); };
      T *const dc_first = ptr<T>(dc_a) + slice.first(H), *const dc_second = ptr<T>(dc_b) + slice.first(H);
      const T* dc = cptr<T>(dc_last) + slice.first(H);
      T* dc_out = dc_first;
      for (int64_t k = L - 1; k >= 0; --k) {
        const int64_t t = time_of(k);
        const T* dh = k == L - 1 ? cptr<T>(dh_last) + slice.first(H) : ptr<T>(grad_hs) + state(t);
        const T* c_prev = k == 0 ? cptr<T>(c0) + slice.first(H) : cptr<T>(cs) + state(time_of(k - 1));
        T* dg = ptr<T>(dgates) + gate(t);
        // dh of the step before: its output's gradient (in grad_hs) plus dgates W_hh.
        T* dh_prev = k == 0 ? ptr<T>(dh0) + slice.first(H) : ptr<T>(grad_hs) + state(time_of(k - 1));
        const T beta = k == 0 ? T(0) : T(1);
        if constexpr (D == Device::cpu) {
          cpu::lstm_cell_backward<T>(dh, dc, cptr<T>(acts) + gate(t), c_prev, cptr<T>(tanh_cs) + state(t), dg,
                                     dc_out, rows, H);
          cpu::gemm<T>(false, false, rows, H, G, T(1), dg, G, cptr<T>(w_hh), H, beta, dh_prev, H);
        } else {
          cuda::lstm_cell_backward<T>(dh, dc, cptr<T>(acts) + gate(t), c_prev, cptr<T>(tanh_cs) + state(t), dg,
                                      dc_out, rows, H);
          cuda::gemm<T>(false, false, rows, H, G, T(1), dg, G, cptr<T>(w_hh), H, beta, dh_prev, H);
        }
        dc = dc_out;
        dc_out = dc_out == dc_first ? dc_second : dc_first;
      }
    });
  });
  // The last dc written: dc_a after an odd number of steps, dc_b after an even one.
  return py::make_tuple(dgates.object, dh0.object, L % 2 ? dc_a.object : dc_b.object);
}

// dst[i] += src[i] on the device.
template <Device D, typename T>
void add_into(T* dst, const T* src, int64_t n) {
  if constexpr (D == Device::cpu) {
    for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
  } else {
    const int64_t contiguous[] = {1};
    const int64_t* strides[] = {contiguous, contiguous};
    cuda::binary(cuda::BinaryOp::add, dst, src, dst, cuda::make_strided(1, &n, 2, strides), n);
  }
}

// rows copies of the row `row` (cols long) into dst, on the device.
template <Device D, typename T>
void repeat_row(const T* row, T* dst, int64_t rows, int64_t cols) {
  if constexpr (D == Device::cpu) {
    for (int64_t r = 0; r < rows; ++r) std::copy(row, row + cols, dst + r * cols);
  } else {
    const int64_t shape[] = {rows, cols}, row_strides[] = {0, 1};
    const int64_t* strides[] = {row_strides};
    cuda::strided_copy<T, T>(row, dst, cuda::make_strided(2, shape, 1, strides), rows * cols);
  }
}

template <Device D>
py::tuple gru_sequence(const py::handle& x_proj_obj, const py::handle& w_t_obj, const py::handle& b_hh_obj,
                       const py::handle& h0_obj, bool reverse) {
  const char* op = "gru_sequence";
  const ArrayView x_proj = float_arg<D>(x_proj_obj, op, "x_proj");
  const SequenceShape shape = sequence_shape(x_proj, 3, op, "x_proj");
  const int64_t L = shape.L, N = shape.N, G = shape.G, H = shape.H;
  const ArrayView w_t = like<D>(w_t_obj, x_proj, "x_proj", {H, G}, op, "w_t");
  const ArrayView h0 = like<D>(h0_obj, x_proj, "x_proj", {N, H}, op, "h0");
  const std::optional<ArrayView> b_hh = optional_like<D>(b_hh_obj, x_proj, {G}, op, "b_hh");
  const ArrayView hs = empty_array<D>({L, N, H}, x_proj.dtype), acts = empty_array<D>(x_proj.shape, x_proj.dtype);
  const ArrayView h_projs = empty_array<D>(x_proj.shape, x_proj.dtype);
  dispatch(float_dtype(x_proj), [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    if (b_hh && L * N > 0) repeat_row<D, T>(cptr<T>(*b_hh), ptr<T>(h_projs), L * N, G);
    const T beta = b_hh ? T(1) : T(0);
    for_each_batch_slice<D>(N, L * G * H, [&](const BatchSlice& slice) {
      const int64_t rows = slice.rows;
      const T* h = cptr<T>(h0) + slice.first(H);
      for (int64_t k = 0; k < L; ++k) {
        const int64_t t = reverse ? L - 1 - k : k;
        const int64_t gate = slice.at(t, G);
        T* hp = ptr<T>(h_projs) + gate;
        T* h_next = ptr<T>(hs) + slice.at(t, H);
        if constexpr (D == Device::cpu) {
          cpu::gemm<T>(false, false, rows, G, H, T(1), h, H, cptr<T>(w_t), G, beta, hp, G);
          cpu::gru_cell_forward<T>(cptr<T>(x_proj) + gate, hp, h, ptr<T>(acts) + gate, h_next, rows, H);
        } else {
          cuda::gemm<T>(false, false, rows, G, H, T(1), h, H, cptr<T>(w_t), G, beta, hp, G);
          cuda::gru_cell_forward<T>(cptr<T>(x_proj) + gate, hp, h, ptr<T>(acts) + gate, h_next, rows, H);
        }
        h = h_next;
      }
    });
  });
  return py::make_tuple(hs.object, acts.object, h_projs.object);
}

// Its backward: the steps in reverse, each gru_cell_backward; the step before
// gets dh_proj W_hh and the direct term z dh added into its dh.
template <Device D>
py::tuple gru_sequence_backward(const py::handle& dh_obj, const py::handle& grad_hs_obj, const py::handle& acts_obj,
                                const py::handle& h_projs_obj, const py::handle& hs_obj, const py::handle& h0_obj,
                                const py::handle& w_hh_obj, bool reverse) {
  const char* op = "gru_sequence_backward";
  const ArrayView acts = float_arg<D>(acts_obj, op, "acts");
  const SequenceShape shape = sequence_shape(acts, 3, op, "acts");
  const int64_t L = shape.L, N = shape.N, G = shape.G, H = shape.H;
  if (L == 0) value_error(op, ": the sequence is empty (acts ", shape_str(acts.shape), ")");
  const auto array = [&](const py::handle& obj, const char* name, std::vector<int64_t> shape) {
    return like<D>(obj, acts, "acts", std::move(shape), op, name);
  };
  const ArrayView dh_last = array(dh_obj, "dh", {N, H}), grad_hs = array(grad_hs_obj, "grad_hs", {L, N, H});
  require_writeable(grad_hs, op, "grad_hs");
  const ArrayView h_projs = array(h_projs_obj, "h_projs", {L, N, G}), hs = array(hs_obj, "hs", {L, N, H});
  const ArrayView h0 = array(h0_obj, "h0", {N, H}), w_hh = array(w_hh_obj, "w_hh", {G, H});
  require_apart(grad_hs, op, "grad_hs", {&dh_last, &acts, &h_projs, &hs, &h0, &w_hh});
  const ArrayView dx_proj = empty_array<D>(acts.shape, acts.dtype), dh_proj = empty_array<D>(acts.shape, acts.dtype);
  const ArrayView dh0 = empty_array<D>({N, H}, acts.dtype), direct = empty_array<D>({N, H}, acts.dtype);
  dispatch(float_dtype(acts), [&](auto zero) {
    using T = decltype(zero);
    py::gil_scoped_release release;
    const auto time_of = [&](int64_t k) { return reverse ? L - 1 - k : k; };  // of the k-th step taken
    for_each_batch_slice<D>(N, L * G * H, [&](const BatchSlice& slice) {
      const int64_t rows = slice.rows;
      const auto state = [&](int64_t t) { return slice.at(t, H); };
      const auto gate = [&](int64_t t) { return slice.at(t, G); };
      T* const direct_rows = ptr<T>(direct) + slice.first(H);
      for (int64_t k = L - 1; k >= 0; --k) {
        const int64_t t = time_of(k);
        const T* dh = k == L - 1 ? cptr<T>(dh_last) + slice.first(H) : ptr<T>(grad_hs) + state(t);
        const T* h_prev = k == 0 ? cptr<T>(h0) + slice.first(H) : cptr<T>(hs) + state(time_of(k - 1));
        T* dhp = ptr<T>(dh_proj) + gate(t);
        // dh of the step before: its output's gradient (in grad_hs, or nothing for h0), the direct
        // term and dh_proj W_hh.
        T* dh_prev = k == 0 ? ptr<T>(dh0) + slice.first(H) : ptr<T>(grad_hs) + state(time_of(k - 1));
        T* direct_out = k == 0 ? dh_prev : direct_rows;
        if constexpr (D == Device::cpu)
          cpu::gru_cell_backward<T>(dh, cptr<T>(acts) + gate(t), cptr<T>(h_projs) + gate(t), h_prev,
                                    ptr<T>(dx_proj) + gate(t), dhp, direct_out, rows, H);
        else
          cuda::gru_cell_backward<T>(dh, cptr<T>(acts) + gate(t), cptr<T>(h_projs) + gate(t), h_prev,
                                     ptr<T>(dx_proj) + gate(t), dhp, direct_out, rows, H);
        if (k > 0) add_into<D, T>(dh_prev, direct_rows, rows * H);
        if constexpr (D == Device::cpu)
          cpu::gemm<T>(false, false, rows, H, G, T(1), dhp, G, cptr<T>(w_hh), H, T(1), dh_prev, H);
        else
          cuda::gemm<T>(false, false, rows, H, G, T(1), dhp, G, cptr<T>(w_hh), H, T(1), dh_prev, H);
      }
    });
  });
  return py::make_tuple(dx_proj.object, dh_proj.object, dh0.object);
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
  m.def("lstm_sequence_backward", &lstm_sequence_backward<D>, py::arg("dh"), py::arg("dc"), py::arg("grad_hs"),
        py::arg("acts"), py::arg("cs"), py::arg("tanh_cs"), py::arg("c0"), py::arg("w_hh"), py::arg("reverse") = false,
        "lstm_sequence's backward: dh and dc (N, H) the whole gradients of the last step's h and c,\n"
        "grad_hs (L, N, H) those of the other steps' outputs (written in place: each step's\n"
        "dgates W_hh accumulates into the step before), acts, cs, tanh_cs as lstm_sequence returned,\n"
        "c0, w_hh (4H, H). Returns (dgates (L, N, 4H), dh0, dc0).");
  m.def("gru_sequence", &gru_sequence<D>, py::arg("x_proj"), py::arg("w_t"), py::arg("b_hh"), py::arg("h0"),
        py::arg("reverse") = false,
        "One GRU layer and direction over a sequence: x_proj (L, N, 3H) = x W_ih^T + b_ih, w_t (H, 3H)\n"
        "= W_hh^T, b_hh (3H,) or None, h0 (N, H); steps t = 0 .. L-1 (reverse: L-1 .. 0), each\n"
        "h_proj = h W_hh^T + b_hh then gru_cell. Returns (hs (L, N, H), acts (L, N, 3H), h_projs\n"
        "(L, N, 3H)): the states after each step and what gru_cell_backward takes.");
  m.def("gru_sequence_backward", &gru_sequence_backward<D>, py::arg("dh"), py::arg("grad_hs"), py::arg("acts"),
        py::arg("h_projs"), py::arg("hs"), py::arg("h0"), py::arg("w_hh"), py::arg("reverse") = false,
        "gru_sequence's backward: dh (N, H) the whole gradient of the last step's h, grad_hs (L, N, H)\n"
        "those of the other steps' outputs (written in place: each step's gradient through h is\n"
        "added into the step before), acts, h_projs, hs as gru_sequence returned, h0, w_hh (3H, H).\n"
        "Returns (dx_proj, dh_proj (L, N, 3H), dh0).");
}
}  // namespace

void bind_rnn(py::module_& m) { def_rnn<Device::cpu>(m); }

#ifdef MINIGRAD_WITH_CUDA
void bind_cuda_rnn(py::module_& cuda) { def_rnn<Device::cuda>(cuda); }
#endif

}  // namespace minigrad::bindings
