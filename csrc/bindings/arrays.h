// Shared argument checking for the pybind11 glue (csrc/bindings/*.cpp).
// Kernels never see a Python object: every binding validates here first, so a
// bad argument from Python is a ValueError/TypeError naming the op, never a crash.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cpu/memory.h"

namespace minigrad::bindings {

namespace py = pybind11;

enum class DType { f32, f64 };

inline std::string shape_str(const py::array& a) {
  std::ostringstream s;
  s << '(';
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s << (i ? ", " : "") << a.shape(i);
  if (a.ndim() == 1) s << ',';
  s << ')';
  return s.str();
}

inline std::string shape_str(const std::vector<int64_t>& shape) {
  std::ostringstream s;
  s << '(';
  for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  if (shape.size() == 1) s << ',';
  s << ')';
  return s.str();
}

template <typename... Parts>
[[noreturn]] void value_error(const Parts&... parts) {
  std::ostringstream s;
  (s << ... << parts);
  throw py::value_error(s.str());
}

template <typename... Parts>
[[noreturn]] void type_error(const Parts&... parts) {
  std::ostringstream s;
  (s << ... << parts);
  throw py::type_error(s.str());
}

// Whether two dtypes are the same: numpy's equality (byte order included),
// not identity: an unpickled array (a pickled data set, multiprocessing)
// carries an equal copy of its dtype, which identity refused ("must be
// float32 or float64, got float32").
inline bool same_dtype(const py::dtype& a, const py::dtype& b) { return a.is(b) || a.equal(b); }

// The argument as a numpy array, without conversion or copy: anything else is a TypeError.
inline py::array as_array(const py::handle& obj, const char* op, const char* name) {
  if (!py::isinstance<py::array>(obj))
    type_error(op, ": ", name, " must be a numpy.ndarray, got ", std::string(py::str(py::type::of(obj))));
  return py::reinterpret_borrow<py::array>(obj);
}

inline DType float_dtype(const py::array& a, const char* op, const char* name) {
  if (same_dtype(a.dtype(), py::dtype::of<float>())) return DType::f32;
  if (same_dtype(a.dtype(), py::dtype::of<double>())) return DType::f64;
  type_error(op, ": ", name, " must be float32 or float64, got ", std::string(py::str(a.dtype())));
}

inline void require_dtype(const py::array& a, const py::dtype& dt, const char* op, const char* name) {
  if (!same_dtype(a.dtype(), dt))
    type_error(op, ": ", name, " must be ", std::string(py::str(dt)), ", got ", std::string(py::str(a.dtype())));
}

inline void require_same_dtype(const py::array& a, const py::array& ref, const char* op, const char* name,
                               const char* ref_name) {
  if (!same_dtype(a.dtype(), ref.dtype()))
    type_error(op, ": ", name, " has dtype ", std::string(py::str(a.dtype())), " but ", ref_name, " has dtype ",
               std::string(py::str(ref.dtype())));
}

inline void require_rank(const py::array& a, py::ssize_t rank, const char* op, const char* name) {
  if (a.ndim() != rank) value_error(op, ": ", name, " must have ", rank, " dimensions, got shape ", shape_str(a));
}

inline void require_contiguous(const py::array& a, const char* op, const char* name) {
  if (!(a.flags() & py::array::c_style))
    value_error(op, ": ", name, " must be C-contiguous (shape ", shape_str(a), "); use numpy.ascontiguousarray");
}

inline void require_writeable(const py::array& a, const char* op, const char* name) {
  if (!a.writeable()) value_error(op, ": ", name, " must be writeable");
}

inline void require_shape(const py::array& a, const std::vector<py::ssize_t>& shape, const char* op,
                          const char* name) {
  bool same = a.ndim() == static_cast<py::ssize_t>(shape.size());
  for (size_t i = 0; same && i < shape.size(); ++i) same = a.shape(static_cast<py::ssize_t>(i)) == shape[i];
  if (!same) {
    std::ostringstream want;
    want << '(';
    for (size_t i = 0; i < shape.size(); ++i) want << (i ? ", " : "") << shape[i];
    if (shape.size() == 1) want << ',';
    want << ')';
    value_error(op, ": ", name, " must have shape ", want.str(), ", got ", shape_str(a));
  }
}

// A float array that is C-contiguous: the usual input of a kernel.
inline py::array float_input(const py::handle& obj, const char* op, const char* name) {
  py::array a = as_array(obj, op, name);
  float_dtype(a, op, name);
  require_contiguous(a, op, name);
  return a;
}

// a's shape, e.g. to allocate an output like it.
inline std::vector<py::ssize_t> shape_of(const py::array& a) { return {a.shape(), a.shape() + a.ndim()}; }

// A C-contiguous array with ref's dtype and shape (a gradient, an optimizer buffer, ...).
inline py::array float_like(const py::handle& obj, const py::array& ref, const char* op, const char* name,
                            const char* ref_name) {
  py::array a = as_array(obj, op, name);
  require_same_dtype(a, ref, op, name, ref_name);
  if (shape_of(a) != shape_of(ref))
    value_error(op, ": ", name, " has shape ", shape_str(a), " but ", ref_name, " has shape ", shape_str(ref));
  require_contiguous(a, op, name);
  return a;
}

// An (N, C, ...) array seen as (N, C, inner), inner = product of the trailing sizes.
struct ChannelView {
  int64_t N, C, inner;
};

// Needs at least 2 dimensions.
inline ChannelView channel_view(const py::array& a, const char* op, const char* name) {
  if (a.ndim() < 2)
    value_error(op, ": ", name, " must have at least 2 dimensions (N, C, ...), got shape ", shape_str(a));
  int64_t inner = 1;
  for (py::ssize_t i = 2; i < a.ndim(); ++i) inner *= a.shape(i);
  return {a.shape(0), a.shape(1), inner};
}

// (h, w) pairs for kernel/stride/padding/dilation, from an int or a 2-sequence.
inline std::pair<int64_t, int64_t> int_pair(const py::handle& obj, const char* op, const char* name) {
  if (py::isinstance<py::int_>(obj) && !py::isinstance<py::bool_>(obj)) {
    auto v = obj.cast<int64_t>();
    return {v, v};
  }
  if (py::isinstance<py::sequence>(obj) && !py::isinstance<py::str>(obj)) {
    auto seq = py::reinterpret_borrow<py::sequence>(obj);
    if (seq.size() == 2 && py::isinstance<py::int_>(seq[0]) && py::isinstance<py::int_>(seq[1]))
      return {seq[0].cast<int64_t>(), seq[1].cast<int64_t>()};
  }
  type_error(op, ": ", name, " must be an int or a pair of ints, got ", std::string(py::repr(obj)));
}

template <typename T>
T* ptr(py::array& a) {
  return static_cast<T*>(a.mutable_data());
}
template <typename T>
const T* cptr(const py::array& a) {
  return static_cast<const T*>(a.data());
}

// New uninitialised C-contiguous array of the given dtype; MemoryError when it cannot be allocated.
// The byte count is checked first: pybind11 computes the strides without overflow checks.
// Large ones come from the host caching allocator (cpu/memory.h), owned by a
// capsule that hands the block back when numpy lets go of the array.
inline py::array empty_like_dtype(const py::dtype& dt, const std::vector<py::ssize_t>& shape) {
  const auto memory_error = [&](const std::string& why) {
    std::ostringstream s;
    s << "cannot allocate an array of shape (";
    for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
    s << "): " << why;
    PyErr_SetString(PyExc_MemoryError, s.str().c_str());
    throw py::error_already_set();
  };
  py::ssize_t bytes = dt.itemsize();
  for (py::ssize_t n : shape)
    if (n < 0 || __builtin_mul_overflow(bytes, n, &bytes)) memory_error("more than 2**63 bytes");
  const bool cached = static_cast<size_t>(bytes) >= cpu::kMinCachedBytes || cpu::poisoning();
  if (bytes == 0 || !cached) return py::array(dt, shape);
  void* block = cpu::host_malloc(static_cast<size_t>(bytes));
  if (block == nullptr) memory_error(std::to_string(bytes) + " bytes, more than the heap can give");
  py::capsule owner;
  try {
    owner = py::capsule(block, [](void* p) { cpu::host_free(p); });
  } catch (...) {
    cpu::host_free(block);
    throw;
  }
  return py::array(dt, shape, std::vector<py::ssize_t>{}, block, owner);
}

// Calls fn(T{}) with T = float or double.
template <typename Fn>
decltype(auto) dispatch(DType dt, Fn&& fn) {
  if (dt == DType::f32) return fn(float{});
  return fn(double{});
}

// Sorted, distinct axes in [0, ndim) from None (all), an int or a sequence of ints.
inline std::vector<int> parse_axes(const py::handle& axis, size_t ndim, const char* op) {
  std::vector<int> axes;
  auto add = [&](const py::handle& h) {
    // Any integer, numpy's too (through __index__, which numpy's bool lacks), but not a bool.
    if (!PyIndex_Check(h.ptr()) || py::isinstance<py::bool_>(h))
      type_error(op, ": axis must be None, an int or a tuple of ints, got ", std::string(py::repr(axis)));
    int64_t a = py::reinterpret_steal<py::int_>(PyNumber_Index(h.ptr())).cast<int64_t>();
    const auto n = static_cast<int64_t>(ndim);
    if (a < -std::max<int64_t>(n, 1) || a >= std::max<int64_t>(n, 1))
      value_error(op, ": axis ", a, " is out of range for ", ndim, " dimensions");
    if (a < 0) a += std::max<int64_t>(n, 1);
    if (ndim > 0) axes.push_back(static_cast<int>(a));
  };
  if (axis.is_none()) {
    for (size_t d = 0; d < ndim; ++d) axes.push_back(static_cast<int>(d));
  } else if (py::isinstance<py::sequence>(axis) && !py::isinstance<py::str>(axis)) {
    for (const auto& h : py::reinterpret_borrow<py::sequence>(axis)) add(h);
  } else {
    add(axis);
  }
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) value_error(op, ": repeated axis in ", std::string(py::repr(axis)));
  return axes;
}

}  // namespace minigrad::bindings
