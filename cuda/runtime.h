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
}  // namespace minigrad::cuda
