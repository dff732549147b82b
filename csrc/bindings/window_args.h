// Argument checks shared by the conv and pool bindings: window
// hyper-parameters (kernel/stride/padding/dilation) and input shapes.
#pragma once

#include <array>
#include <cstdint>
#include <sstream>
#include <string>
#include <utility>

#include "bindings/arrays.h"

namespace minigrad::bindings {

using Pair = std::pair<int64_t, int64_t>;

// Bound on window hyper-parameters, so the window arithmetic cannot overflow int64.
constexpr int64_t kMaxWindowParam = int64_t{1} << 31;

inline std::string pair_str(const Pair& p) {
  std::ostringstream s;
  s << '(' << p.first << ", " << p.second << ')';
  return s.str();
}

// kernel/stride/padding/dilation: an int or an (h, w) pair, each in [min_value, kMaxWindowParam].
inline Pair window_pair(const py::handle& obj, const char* op, const char* name, int64_t min_value) {
  Pair p;
  try {
    p = int_pair(obj, op, name);
  } catch (const py::cast_error&) {
    value_error(op, ": ", name, " is out of range, got ", std::string(py::repr(obj)));
  }
  if (p.first < min_value || p.second < min_value || p.first > kMaxWindowParam || p.second > kMaxWindowParam)
    value_error(op, ": ", name, " must be in [", min_value, ", 2**31], got ", pair_str(p));
  return p;
}

// An input_shape argument: a sequence of 4 ints >= 1 whose product a float64
// array may have (numpy allows less than 2**63 bytes).
inline std::array<int64_t, 4> shape4(const py::handle& obj, const char* op, const char* name) {
  std::array<int64_t, 4> shape{};
  const bool is_sequence = py::isinstance<py::sequence>(obj) && !py::isinstance<py::str>(obj);
  if (!is_sequence || py::len(obj) != 4)
    type_error(op, ": ", name, " must be a sequence of 4 ints (N, C, H, W), got ", std::string(py::repr(obj)));
  const auto seq = py::reinterpret_borrow<py::sequence>(obj);
  int64_t product = 1;
  for (size_t i = 0; i < 4; ++i) {
    const py::object item = seq[i];
    if (!py::isinstance<py::int_>(item) || py::isinstance<py::bool_>(item))
      type_error(op, ": ", name, " must be a sequence of 4 ints (N, C, H, W), got ", std::string(py::repr(obj)));
    int64_t v = 0;
    try {
      v = item.cast<int64_t>();
    } catch (const py::cast_error&) {
      value_error(op, ": ", name, " is out of range, got ", std::string(py::repr(obj)));
    }
    if (v < 1 || v > (int64_t{1} << 59) / product)
      value_error(op, ": ", name, " must hold 4 sizes >= 1 with a product of at most 2**59, got ",
                  std::string(py::repr(obj)));
    product *= v;
    shape[i] = v;
  }
  return shape;
}

}  // namespace minigrad::bindings
