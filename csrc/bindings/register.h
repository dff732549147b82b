// One registration function per op family; csrc/module.cpp calls them all.
#pragma once

#include <pybind11/pybind11.h>

namespace minigrad::bindings {
void bind_gemm(pybind11::module_& m);
void bind_conv(pybind11::module_& m);
void bind_pool(pybind11::module_& m);
void bind_softmax_loss(pybind11::module_& m);
void bind_elementwise(pybind11::module_& m);
void bind_batch_norm(pybind11::module_& m);
void bind_layer_norm(pybind11::module_& m);
void bind_optim(pybind11::module_& m);
void bind_rnn(pybind11::module_& m);
void bind_scan(pybind11::module_& m);
void bind_reduce(pybind11::module_& m);
// _C.cuda (csrc/bindings/cuda.cpp): only in builds with CUDA or the SIMT emulator (MINIGRAD_WITH_CUDA).
void bind_cuda(pybind11::module_& m);
// Kernels of the CUDA backend, registered into the _C.cuda submodule by bind_cuda.
// Defined beside bind_<family> in csrc/bindings/<family>.cpp (one checked entry
// per op for both devices).
void bind_cuda_gemm(pybind11::module_& cuda);
void bind_cuda_conv(pybind11::module_& cuda);
void bind_cuda_pool(pybind11::module_& cuda);
void bind_cuda_softmax_loss(pybind11::module_& cuda);
void bind_cuda_elementwise(pybind11::module_& cuda);
void bind_cuda_batch_norm(pybind11::module_& cuda);
void bind_cuda_layer_norm(pybind11::module_& cuda);
void bind_cuda_optim(pybind11::module_& cuda);
void bind_cuda_rnn(pybind11::module_& cuda);
void bind_cuda_scan(pybind11::module_& cuda);

}  // namespace minigrad::bindings
