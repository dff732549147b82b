// One argument checker for both devices: a numpy array (_C) and a DeviceArray
// (_C.cuda) are both seen as an ArrayView (shape, dtype, data pointer), so an
// op family's binding checks its arguments once, as a template over the
// Device, and calls cpu:: or cuda:: with the same pointers and contract
// (csrc/ops/). The CUDA instantiations are only made (registered) in builds
// with CUDA or the emulator, so a CPU-only build never references cuda::.
#pragma once

#include <initializer_list>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bindings/arrays.h"
#include "bindings/cuda_arrays.h"

namespace minigrad::bindings {

enum class Device { cpu, cuda };

struct ArrayView {
  py::object object;  // the numpy array or DeviceArray itself: keeps its memory alive; what a binding returns
  std::vector<int64_t> shape;
  py::dtype dtype;
  void* data;
  bool c_contiguous;  // always true for a DeviceArray
  bool writeable;     // always true for a DeviceArray

  size_t ndim() const { return shape.size(); }
  int64_t size() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

template <typename T>
const T* cptr(const ArrayView& a) {
  return static_cast<const T*>(a.data);
}
template <typename T>
T* ptr(const ArrayView& a) {
  return static_cast<T*>(a.data);
}

// For optional arrays (None on the Python side): the data, or nullptr.
template <typename T>
T* ptr_or_null(const std::optional<ArrayView>& a) {
  return a ? ptr<T>(*a) : nullptr;
}

// The argument as a view, without conversion or copy: anything but a numpy
// array (CPU) or a DeviceArray (CUDA) is a TypeError.
template <Device D>
ArrayView array_arg(const py::handle& obj, const char* op, const char* name) {
  if constexpr (D == Device::cpu) {
    py::array a = as_array(obj, op, name);
    // data() and not mutable_data(), which refuses read-only arrays: inputs may
    // be read-only; outputs and state buffers are checked by require_writeable.
    return {a, std::vector<int64_t>(a.shape(), a.shape() + a.ndim()), a.dtype(), const_cast<void*>(a.data()), (a.flags() & py::array::c_style) != 0,
            a.writeable()};
  } else {
    const DeviceArray& a = as_device_array(obj, op, name);
    return {py::reinterpret_borrow<py::object>(obj), a.shape(), numpy_dtype(a.dtype()), a.data(), true, true};
  }
}

inline void require_contiguous(const ArrayView& a, const char* op, const char* name) {
  if (!a.c_contiguous)
    value_error(op, ": ", name, " must be C-contiguous (shape ", shape_str(a.shape),
                "); use numpy.ascontiguousarray");
}

inline void require_writeable(const ArrayView& a, const char* op, const char* name) {
  if (!a.writeable) value_error(op, ": ", name, " must be writeable");
}

// True when the memory of x and y overlaps.
inline bool overlaps(const ArrayView& x, const ArrayView& y) {
  const auto* x0 = static_cast<const char*>(x.data);
  const auto* y0 = static_cast<const char*>(y.data);
  const int64_t x_bytes = x.size() * x.dtype.itemsize(), y_bytes = y.size() * y.dtype.itemsize();
  return x_bytes > 0 && y_bytes > 0 && x0 < y0 + y_bytes && y0 < x0 + x_bytes;
}

// A buffer a kernel writes in place (`name`) must not share memory with its inputs.
inline void require_apart(const ArrayView& out, const char* op, const char* name,
                          std::initializer_list<const ArrayView*> inputs) {
  for (const ArrayView* in : inputs)
    if (overlaps(out, *in)) value_error(op, ": ", name, " must not share memory with the other arguments");
}

inline void require_dtype(const ArrayView& a, const py::dtype& dt, const char* op, const char* name) {
  if (!same_dtype(a.dtype, dt))
    type_error(op, ": ", name, " must be ", std::string(py::str(dt)), ", got ", std::string(py::str(a.dtype)));
}

inline void require_rank(const ArrayView& a, size_t rank, const char* op, const char* name) {
  if (a.ndim() != rank) value_error(op, ": ", name, " must have ", rank, " dimensions, got shape ", shape_str(a.shape));
}

inline void require_shape(const ArrayView& a, const std::vector<int64_t>& shape, const char* op, const char* name) {
  if (a.shape != shape)
    value_error(op, ": ", name, " must have shape ", shape_str(shape), ", got ", shape_str(a.shape));
}

// Every dimension at least 1: kernels never see an empty array.
inline void require_nonempty(const ArrayView& a, const char* op, const char* name) {
  for (int64_t d : a.shape)
    if (d == 0) value_error(op, ": ", name, " must not be empty, got shape ", shape_str(a.shape));
}

// A float32/float64 C-contiguous array: the usual input of a kernel.
template <Device D>
ArrayView float_arg(const py::handle& obj, const char* op, const char* name) {
  ArrayView a = array_arg<D>(obj, op, name);
  if (!same_dtype(a.dtype, py::dtype::of<float>()) && !same_dtype(a.dtype, py::dtype::of<double>()))
    type_error(op, ": ", name, " must be float32 or float64, got ", std::string(py::str(a.dtype)));
  require_contiguous(a, op, name);
  return a;
}

inline void require_same_dtype(const ArrayView& a, const ArrayView& ref, const char* op, const char* name,
                               const char* ref_name) {
  if (!same_dtype(a.dtype, ref.dtype))
    type_error(op, ": ", name, " has dtype ", std::string(py::str(a.dtype)), " but ", ref_name, " has dtype ",
               std::string(py::str(ref.dtype)));
}

// A C-contiguous array with ref's dtype and shape (a gradient, an optimizer buffer, ...).
template <Device D>
ArrayView float_like(const py::handle& obj, const ArrayView& ref, const char* op, const char* name,
                     const char* ref_name) {
  ArrayView a = array_arg<D>(obj, op, name);
  require_same_dtype(a, ref, op, name, ref_name);
  if (a.shape != ref.shape)
    value_error(op, ": ", name, " has shape ", shape_str(a.shape), " but ", ref_name, " has shape ",
                shape_str(ref.shape));
  require_contiguous(a, op, name);
  return a;
}

// An optional C-contiguous array of the given shape with ref's dtype (a
// normalisation's weight, bias or statistics), or nothing for None.
template <Device D>
std::optional<ArrayView> optional_like(const py::handle& obj, const ArrayView& ref, const std::vector<int64_t>& shape,
                                       const char* op, const char* name) {
  if (obj.is_none()) return std::nullopt;
  ArrayView a = array_arg<D>(obj, op, name);
  require_same_dtype(a, ref, op, name, "x");
  require_shape(a, shape, op, name);
  require_contiguous(a, op, name);
  return a;
}

// What a binding returns for an optional output: the array, or None.
inline py::object object_or_none(const std::optional<ArrayView>& a) { return a ? a->object : py::none(); }

// The scalar type of a view that float_arg accepted.
inline DType float_dtype(const ArrayView& a) {
  return same_dtype(a.dtype, py::dtype::of<float>()) ? DType::f32 : DType::f64;
}

// A new uninitialised C-contiguous array on device D (MemoryError when it cannot be allocated).
template <Device D>
ArrayView empty_array(const std::vector<int64_t>& shape, const py::dtype& dt) {
  if constexpr (D == Device::cpu) {
    py::array a = empty_like_dtype(dt, std::vector<py::ssize_t>(shape.begin(), shape.end()));
    return {a, shape, dt, a.mutable_data(), true, true};
  } else {
    DeviceArray a(shape, device_dtype(dt, "empty"));
    void* data = a.data();
    return {py::cast(std::move(a)), shape, dt, data, true, true};
  }
}

}  // namespace minigrad::bindings
