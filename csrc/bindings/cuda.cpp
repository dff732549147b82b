// _C.cuda: device arrays, the caching allocator, device queries; the kernel
// families register from csrc/bindings/<family>.cpp.
// Compiled only with MINIGRAD_CUDA=AUTO/ON (nvcc found) or EMULATE.
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "../../cuda/elementwise.h"
#include "../../cuda/memory.h"
#include "../../cuda/runtime.h"
#include "bindings/arrays.h"
#include "bindings/cuda_arrays.h"
#include "bindings/register.h"
#ifdef MINIGRAD_CUDA_EMULATED
#include "../../cuda/emulation/selftest.h"
#endif

namespace minigrad::bindings {
namespace {

DeviceArray from_numpy(const py::handle& obj) {
  py::array a = as_array(obj, "from_numpy", "array");
  const mc::DType dt = device_dtype(a.dtype(), "from_numpy");
  require_contiguous(a, "from_numpy", "array");
  DeviceArray out(std::vector<int64_t>(a.shape(), a.shape() + a.ndim()), dt);
  py::gil_scoped_release release;
  out.copy_from_host(a.data());
  return out;
}

py::array to_numpy(const DeviceArray& self) {
  py::array out(numpy_dtype(self.dtype()), self.shape());
  void* dst = out.mutable_data();
  py::gil_scoped_release release;
  self.copy_to_host(dst);
  return out;
}

DeviceArray empty(const py::handle& shape, const py::handle& dtype, const char* op) {
  const mc::DType dt = device_dtype(py::dtype::from_args(py::reinterpret_borrow<py::object>(dtype)), op);
  std::vector<int64_t> dims = parse_shape(shape, dt, op);
  py::gil_scoped_release release;
  return DeviceArray(std::move(dims), dt);
}

void fill(DeviceArray& self, const py::handle& value) {
  const bool is_int = py::isinstance<py::int_>(value) && !py::isinstance<py::bool_>(value);
  if (self.dtype() == mc::DType::i64) {
    if (!is_int) type_error("fill_: an int64 array needs an int value, got ", std::string(py::repr(value)));
    const auto v = value.cast<int64_t>();
    py::gil_scoped_release release;
    mc::fill(static_cast<int64_t*>(self.data()), v, self.size());
    return;
  }
  if (self.dtype() == mc::DType::b8) {
    if (!py::isinstance<py::bool_>(value)) type_error("fill_: a bool array needs a bool value, got ", std::string(py::repr(value)));
    const bool v = value.cast<bool>();
    py::gil_scoped_release release;
    mc::fill(static_cast<bool*>(self.data()), v, self.size());
    return;
  }
  if (!is_int && !py::isinstance<py::float_>(value))
    type_error("fill_: value must be a number, got ", std::string(py::repr(value)));
  const auto v = value.cast<double>();
  py::gil_scoped_release release;
  dispatch_float(self, [&](auto t) {
    using T = decltype(t);
    mc::fill(static_cast<T*>(self.data()), static_cast<T>(v), self.size());
  });
}

}  // namespace

void bind_cuda(py::module_& m) {
  py::module_ c = m.def_submodule("cuda", "CUDA backend: device arrays, allocator, device queries, kernels");

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const mc::OutOfMemory& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    }
  });

  c.def("is_available", [] { return mc::device_count() > 0; }, "Whether a CUDA device (or the emulator) is usable.");
  c.def("device_count", &mc::device_count, "Number of usable CUDA devices (0 without a driver or device).");
  c.def("get_device_name", &mc::device_name, "Name of device 0; in the EMULATE build it says it is the emulator.");
  c.def("is_emulated", &mc::emulated, "Whether kernels run on the SIMT emulator (test-only build).");
  c.def(
      "synchronize",
      [] {
        py::gil_scoped_release release;
        mc::synchronize();
      },
      "Wait for all device work; raises RuntimeError if a kernel failed.");
  c.def("memory_allocated", &mc::memory_allocated, "Bytes of device memory in use by arrays (size-class rounded).");
  c.def("memory_reserved", &mc::memory_reserved, "Bytes of device memory held by the caching allocator.");
  c.def(
      "empty_cache",
      [] {
        py::gil_scoped_release release;
        mc::empty_cache();
      },
      "Return cached, unused device memory to CUDA.");

  py::class_<DeviceArray>(c, "DeviceArray", "A C-contiguous float32/float64/int64 array in device memory.")
      .def_property_readonly("shape",
                             [](const DeviceArray& a) {
                               py::tuple t(a.shape().size());
                               for (size_t i = 0; i < a.shape().size(); ++i) t[i] = a.shape()[i];
                               return t;
                             })
      .def_property_readonly("dtype", [](const DeviceArray& a) { return numpy_dtype(a.dtype()); })
      .def_property_readonly("ndim", [](const DeviceArray& a) { return a.shape().size(); })
      .def_property_readonly("size", &DeviceArray::size)
      .def_property_readonly("nbytes", &DeviceArray::nbytes)
      .def_property_readonly("ptr", [](const DeviceArray& a) { return reinterpret_cast<uintptr_t>(a.data()); },
                             "Device address of the first element (0 for an empty array).")
      .def("to_numpy", &to_numpy, "Copy to a new numpy array (device to host).")
      .def(
          "fill_",
          [](py::object self, const py::handle& value) {
            fill(self.cast<DeviceArray&>(), value);
            return self;
          },
          py::arg("value"), "Set every element to value, in place; returns self.")
      .def(
          "copy_",
          [](py::object self, const py::handle& other) {
            DeviceArray& dst = self.cast<DeviceArray&>();
            const DeviceArray& src = as_device_array(other, "copy_", "other");
            require_same(dst, src, "copy_", "self", "other");
            py::gil_scoped_release release;
            dst.copy_from(src);
            return self;
          },
          py::arg("other"), "Copy other's elements into self (same shape and dtype), in place; returns self.")
      .def("__repr__", [](const DeviceArray& a) {
        return "DeviceArray(shape=" + shape_str(a.shape()) + ", dtype=" + std::string(py::str(numpy_dtype(a.dtype()))) +
               ")";
      });

  c.def("from_numpy", &from_numpy, py::arg("array"),
        "Copy a C-contiguous float32/float64/int64 numpy array to the device.");
  c.def(
      "empty", [](const py::handle& shape, const py::handle& dtype) { return empty(shape, dtype, "empty"); },
      py::arg("shape"), py::arg("dtype") = "float32", "New device array with uninitialised contents.");
  c.def(
      "zeros",
      [](const py::handle& shape, const py::handle& dtype) {
        DeviceArray a = empty(shape, dtype, "zeros");
        py::gil_scoped_release release;
        a.zero();
        return a;
      },
      py::arg("shape"), py::arg("dtype") = "float32", "New device array of zeros.");

  bind_cuda_gemm(c);
  bind_cuda_conv(c);
  bind_cuda_pool(c);
  bind_cuda_softmax_loss(c);
  bind_cuda_elementwise(c);
  bind_cuda_batch_norm(c);
  bind_cuda_layer_norm(c);
  bind_cuda_optim(c);
  bind_cuda_rnn(c);
  bind_cuda_scan(c);

#ifdef MINIGRAD_CUDA_EMULATED
  namespace st = minigrad::simt::selftest;
  py::module_ t = c.def_submodule("_emulator_selftest", "Kernels that test the SIMT emulator itself (EMULATE build)");
  t.def(
      "block_sum",
      [](const py::handle& x_obj, int threads, int blocks) {
        const DeviceArray& x = float_device_array(x_obj, "block_sum", "x");
        py::gil_scoped_release release;
        return dispatch_float(x, [&](auto tag) {
          using T = decltype(tag);
          return static_cast<double>(st::block_sum(static_cast<const T*>(x.data()), x.size(), threads, blocks));
        });
      },
      py::arg("x"), py::arg("threads"), py::arg("blocks") = 1);
  t.def(
      "shared_tree_sum",
      [](const py::handle& x_obj, int threads, bool with_barrier) {
        const DeviceArray& x = float_device_array(x_obj, "shared_tree_sum", "x");
        if (x.dtype() != mc::DType::f32 || x.size() < threads) value_error("shared_tree_sum: x too small or not float32");
        py::gil_scoped_release release;
        return st::shared_tree_sum(static_cast<const float*>(x.data()), threads, with_barrier);
      },
      py::arg("x"), py::arg("threads"), py::arg("with_barrier"));
  t.def(
      "run_broken",
      [](const std::string& name, int threads) {
        py::gil_scoped_release release;
        st::run_broken(name, threads);
      },
      py::arg("name"), py::arg("threads") = 64);
#endif
}

}  // namespace minigrad::bindings
