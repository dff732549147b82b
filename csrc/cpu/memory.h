// Host memory for the arrays the kernels return: the caching allocator of
// ops/caching_allocator.h over the C heap, the twin of cuda/memory.h.
//
// Why: glibc serves a large block with a fresh mmap (or from the top of its
// heap, which it trims back to the kernel when enough is free), so a training
// step that frees its activations and allocates them again the next step
// faults every page in anew, zero-filled by the kernel: LeNet-5 at batch 128
// spent half its step there (308,000 page faults in 220 steps, 12.7 ms a step
// against 5.5 with the cache, 1 thread on Zen 4).
#pragma once

#include <cstddef>

namespace minigrad::cpu {

// Blocks of at least this many bytes come from the cache; smaller arrays are
// left to numpy (glibc serves them from its free lists, without page faults).
constexpr size_t kMinCachedBytes = size_t{64} << 10;

// The cache keeps at most MINIGRAD_CPU_CACHE_MB idle (read at the first
// allocation; 0 disables caching), 1024 by default, and 0 in sanitizer builds
// so that a use after free is still caught.
size_t cache_limit();

// MINIGRAD_CPU_POISON=1 (tests): every kernel output, of any size, comes from
// the cache filled with 0xFF bytes (NaN floats, -1 integers), so an output a
// kernel leaves partly unwritten shows instead of hiding behind a fresh zero
// page or a recycled block.
bool poisoning();

// 64-byte aligned; nullptr when the heap is exhausted even after the cache
// was handed back; poisoned as above.
void* host_malloc(size_t bytes);
void host_free(void* ptr) noexcept;
size_t memory_allocated();  // bytes in blocks in use (rounded to their class)
size_t memory_reserved();   // bytes held: in use + cached
void empty_cache();

}  // namespace minigrad::cpu
