// CUDA runtime queries. Plain C++ interface (no CUDA types), so the module
// compiles the same with or without the CUDA backend.
#pragma once

#include <string>

namespace minigrad::cuda {
// Number of usable devices; 0 (never an error) without a driver or a device.
int device_count();
// Why device_count() is 0, or "" when devices were found.
std::string device_status();
// The CUDA runtime version the module was built against, e.g. "13.0".
std::string runtime_version();
// Whether this is the test-only build running kernels on the SIMT emulator (MINIGRAD_CUDA=EMULATE).
bool emulated();
// Name of device 0 (the emulator says it is one); throws CudaError without a device.
std::string device_name();
// Streaming multiprocessors of device 0 (queried once), for sizing grids.
int multiprocessor_count();
// Waits for all work on the device; throws CudaError if a kernel failed.
void synchronize();
}  // namespace minigrad::cuda
