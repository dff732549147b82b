// Temporary device buffers for a kernel family's intermediates (im2col columns,
// per-row losses, ...): a DeviceArray, so the memory returns to the caching
// allocator however the scope is left. Kernels on the default stream that still
// use it are ordered before any later reuse of the block.
#pragma once

#include <cstdint>
#include <type_traits>

#include "memory.h"

namespace minigrad::cuda {

template <typename T>
constexpr DType dtype_of() {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, int64_t>);
  if constexpr (std::is_same_v<T, float>) return DType::f32;
  else if constexpr (std::is_same_v<T, double>) return DType::f64;
  else return DType::i64;
}

template <typename T>
DeviceArray scratch(int64_t count) {
  return DeviceArray({count}, dtype_of<T>());
}

}  // namespace minigrad::cuda
