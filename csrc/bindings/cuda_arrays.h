// Argument checks for the CUDA bindings (csrc/bindings/cuda*.cpp): DeviceArray
// arguments are validated here before any kernel runs, like arrays.h does for numpy.
#pragma once

#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "../../cuda/memory.h"
#include "bindings/arrays.h"

namespace minigrad::bindings {
namespace mc = minigrad::cuda;
using mc::DeviceArray;

inline py::dtype numpy_dtype(mc::DType dt) {
  switch (dt) {
    case mc::DType::f32: return py::dtype::of<float>();
    case mc::DType::f64: return py::dtype::of<double>();
    case mc::DType::i64: return py::dtype::of<int64_t>();
    case mc::DType::b8: return py::dtype::of<bool>();
  }
  return py::dtype::of<float>();
}

inline mc::DType device_dtype(const py::dtype& dt, const char* op) {
  if (same_dtype(dt, py::dtype::of<float>())) return mc::DType::f32;
  if (same_dtype(dt, py::dtype::of<double>())) return mc::DType::f64;
  if (same_dtype(dt, py::dtype::of<int64_t>())) return mc::DType::i64;
  if (same_dtype(dt, py::dtype::of<bool>())) return mc::DType::b8;
  type_error(op, ": dtype must be float32, float64, int64 or bool, got ", std::string(py::str(dt)));
}

// An int or a sequence of ints, each >= 0, whose byte size fits the address space.
inline std::vector<int64_t> parse_shape(const py::handle& obj, mc::DType dt, const char* op) {
  std::vector<int64_t> shape;
  auto is_int = [](const py::handle& h) { return py::isinstance<py::int_>(h) && !py::isinstance<py::bool_>(h); };
  if (is_int(obj)) {
    shape.push_back(obj.cast<int64_t>());
  } else if (py::isinstance<py::sequence>(obj) && !py::isinstance<py::str>(obj)) {
    for (const auto& d : py::reinterpret_borrow<py::sequence>(obj)) {
      if (!is_int(d)) type_error(op, ": shape must contain ints, got ", std::string(py::repr(obj)));
      shape.push_back(d.cast<int64_t>());
    }
  } else {
    type_error(op, ": shape must be an int or a sequence of ints, got ", std::string(py::repr(obj)));
  }
  const int64_t limit = std::numeric_limits<int64_t>::max() / static_cast<int64_t>(mc::dtype_size(dt));
  int64_t size = 1;
  for (int64_t d : shape) {
    if (d < 0) value_error(op, ": shape must not be negative, got ", shape_str(shape));
    if (d != 0 && size > limit / d) value_error(op, ": shape ", shape_str(shape), " is too large");
    size *= d;
  }
  return shape;
}

inline DeviceArray& as_device_array(const py::handle& obj, const char* op, const char* name) {
  if (!py::isinstance<DeviceArray>(obj))
    type_error(op, ": ", name, " must be a minigrad._C.cuda.DeviceArray, got ", std::string(py::str(py::type::of(obj))));
  return obj.cast<DeviceArray&>();
}

inline const DeviceArray& float_device_array(const py::handle& obj, const char* op, const char* name) {
  const DeviceArray& a = as_device_array(obj, op, name);
  if (a.dtype() != mc::DType::f32 && a.dtype() != mc::DType::f64)
    type_error(op, ": ", name, " must be float32 or float64, got ", std::string(py::str(numpy_dtype(a.dtype()))));
  return a;
}

inline void require_same(const DeviceArray& a, const DeviceArray& b, const char* op, const char* a_name, const char* b_name) {
  if (a.dtype() != b.dtype())
    type_error(op, ": ", a_name, " has dtype ", std::string(py::str(numpy_dtype(a.dtype()))), " but ", b_name,
               " has dtype ", std::string(py::str(numpy_dtype(b.dtype()))));
  if (a.shape() != b.shape())
    value_error(op, ": ", a_name, " has shape ", shape_str(a.shape()), " but ", b_name, " has shape ",
                shape_str(b.shape()));
}

template <typename Fn>
inline decltype(auto) dispatch_float(const DeviceArray& a, Fn&& fn) {
  if (a.dtype() == mc::DType::f32) return fn(float{});
  return fn(double{});
}

}  // namespace minigrad::bindings
