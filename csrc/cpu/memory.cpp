#include "cpu/memory.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "ops/caching_allocator.h"

namespace minigrad::cpu {
namespace {

// Every size class of kMinCachedBytes and up is a multiple of 64, as
// aligned_alloc requires.
struct HeapSource {
  static void* obtain(size_t bytes) { return std::aligned_alloc(64, bytes); }
  static void give_back(void* ptr) { std::free(ptr); }
};

using Allocator = ops::CachingAllocator<HeapSource>;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr size_t kDefaultCacheMB = 0;
#else
constexpr size_t kDefaultCacheMB = 1024;
#endif

size_t cache_limit_from_environment() {
  const char* value = std::getenv("MINIGRAD_CPU_CACHE_MB");
  if (value == nullptr || *value == '\0') return kDefaultCacheMB << 20;
  char* end = nullptr;
  const unsigned long long mb = std::strtoull(value, &end, 10);
  if (*end != '\0' || *value == '-' || mb > (uint64_t{1} << 40)) {
    std::fprintf(stderr, "minigrad: MINIGRAD_CPU_CACHE_MB=%s is not a number of MiB in [0, 2**40]; using %zu\n",
                 value, kDefaultCacheMB);
    return kDefaultCacheMB << 20;
  }
  return static_cast<size_t>(mb) << 20;
}

}  // namespace

size_t cache_limit() {
  static const size_t limit = cache_limit_from_environment();
  return limit;
}

namespace {
// Never destroyed: arrays freed during interpreter shutdown still find it.
Allocator& allocator() {
  static auto* a = new Allocator(cache_limit());
  return *a;
}

}  // namespace

bool poisoning() {
  static const bool on = [] {
    const char* value = std::getenv("MINIGRAD_CPU_POISON");
    return value != nullptr && std::strcmp(value, "1") == 0;
  }();
  return on;
}

void* host_malloc(size_t bytes) {
  if (bytes == 0) return nullptr;
  void* block = allocator().allocate(bytes);
  if (block != nullptr && poisoning()) std::memset(block, 0xFF, bytes);
  return block;
}
void host_free(void* ptr) noexcept { allocator().free(ptr); }
size_t memory_allocated() { return allocator().allocated(); }
size_t memory_reserved() { return allocator().reserved(); }
void empty_cache() { allocator().empty_cache(); }

}  // namespace minigrad::cpu
