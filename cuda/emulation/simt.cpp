// SIMT emulator: scheduler, fibers, worker threads, runtime API shims. See simt.h.
#include "simt.h"

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

namespace minigrad::simt {
namespace {

constexpr unsigned char kPoison = 0xFF;  // NaN in every float lane, -1 in every integer
constexpr size_t kMaxSharedPerBlock = 48 * 1024;
constexpr unsigned kMaxThreadsPerBlock = 1024;
constexpr size_t kFiberStack = 128 * 1024;

long env_long(const char* name, long fallback) {
  const char* s = std::getenv(name);
  if (s == nullptr || *s == '\0') return fallback;
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  return (end != nullptr && *end == '\0') ? v : fallback;
}

bool sanitizing_threads() {
#if defined(__SANITIZE_THREAD__)
  return true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

// ThreadSanitizer sees every mutex hand-off as happens-before. The emulator's
// own bookkeeping locks (a lane parking between blocks, a lane exiting) would
// then order one lane's whole kernel before another lane's start, which CUDA
// does not, and hide exactly the races the thread mode is for. Those regions
// are made invisible to TSan (IgnoredByTsan) and the two orderings that do
// hold are stated explicitly: the launching thread's setup happens before
// every lane of a block runs (tsan_release/acquire on a start token), and every
// lane's work happens before the launch returns (an end token). Barriers and
// warp collectives keep their mutex, which orders what CUDA orders.
#if defined(__SANITIZE_THREAD__)
extern "C" {
void AnnotateIgnoreSyncBegin(const char* file, int line);
void AnnotateIgnoreSyncEnd(const char* file, int line);
void AnnotateIgnoreReadsBegin(const char* file, int line);
void AnnotateIgnoreReadsEnd(const char* file, int line);
void AnnotateIgnoreWritesBegin(const char* file, int line);
void AnnotateIgnoreWritesEnd(const char* file, int line);
void __tsan_acquire(void* addr);
void __tsan_release(void* addr);
}
struct IgnoredByTsan {
  IgnoredByTsan() {
    AnnotateIgnoreSyncBegin(__FILE__, __LINE__);
    AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
    AnnotateIgnoreWritesBegin(__FILE__, __LINE__);
  }
  ~IgnoredByTsan() {
    AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
    AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
    AnnotateIgnoreSyncEnd(__FILE__, __LINE__);
  }
};
void tsan_acquire(void* token) { __tsan_acquire(token); }
void tsan_release(void* token) { __tsan_release(token); }
#else
struct IgnoredByTsan {
  IgnoredByTsan() {}  // user-provided: no unused-variable warning where it is declared
};
void tsan_acquire(void*) {}
void tsan_release(void*) {}
#endif

thread_local cudaError_t last_error = cudaSuccess;
cudaError_t set_error(cudaError_t err) {
  if (err != cudaSuccess) last_error = err;
  return err;
}

// ---- fibers: a minimal context switch --------------------------------------
#if defined(__x86_64__)
// Saves the callee-saved registers on the current stack, stores the stack
// pointer in *save, switches to the stack `load` and restores its registers.
extern "C" void mg_simt_switch(void** save, void* load);
asm(R"(
.text
.globl mg_simt_switch
.hidden mg_simt_switch
.type mg_simt_switch,@function
mg_simt_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
.size mg_simt_switch,.-mg_simt_switch
)");

struct Context {
  void* sp = nullptr;
};
void switch_context(Context& from, Context& to) { mg_simt_switch(&from.sp, to.sp); }
void make_context(Context& ctx, unsigned char* stack, size_t size, void (*entry)()) {
  auto top = reinterpret_cast<uintptr_t>(stack + size) & ~uintptr_t{15};
  auto** sp = reinterpret_cast<void**>(top);
  *--sp = nullptr;                            // entry's return address: it never returns
  *--sp = reinterpret_cast<void*>(entry);     // where mg_simt_switch's `ret` goes; rsp = 8 mod 16 there
  for (int i = 0; i < 6; ++i) *--sp = nullptr;  // rbp rbx r12-r15
  ctx.sp = sp;
}
#else
// Portable fallback: glibc ucontext (swapcontext makes a system call per switch, so it is slower).
struct Context {
  ucontext_t uc;
};
void switch_context(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }
void make_context(Context& ctx, unsigned char* stack, size_t size, void (*entry)()) {
  getcontext(&ctx.uc);
  ctx.uc.uc_stack.ss_sp = stack;
  ctx.uc.uc_stack.ss_size = size;
  ctx.uc.uc_link = nullptr;
  makecontext(&ctx.uc, entry, 0);
}
#endif

// mmap'd fiber stacks with a guard page below each, reused across blocks by one worker.
class StackPool {
 public:
  ~StackPool() {
    for (auto* s : stacks_) munmap(s, kFiberStack + page());
  }
  unsigned char* get(size_t i) {
    while (stacks_.size() <= i) {
      void* p = mmap(nullptr, kFiberStack + page(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                     -1, 0);
      if (p == MAP_FAILED) throw std::bad_alloc();
      mprotect(p, page(), PROT_NONE);
      stacks_.push_back(static_cast<unsigned char*>(p));
    }
    return stacks_[i] + page();
  }

 private:
  static size_t page() { return 4096; }
  std::vector<unsigned char*> stacks_;
};

// ---- the per-block state machine ------------------------------------------
enum class State : uint8_t { ready, barrier, warp, exited };

struct Lane {
  State state = State::ready;
  dim3 idx;
  Context ctx;  // fiber mode
  // What the lane waits in, and its arguments / result.
  const char* op = nullptr;
  std::source_location where;
  WarpOp warp_op = WarpOp::syncwarp;
  unsigned mask = 0;
  int src = -1;  // shuffle: the lane (within the warp) read from; -1: its own value
  uint64_t value = 0;
  uint64_t result = 0;
  unsigned aux = 0;  // barrier: participants; vote: lanes that voted
};

struct LaunchInfo {
  const char* kernel;
  dim3 grid, block;
  size_t dynamic_smem;
  void (*body)(void*);
  void* ctx;
};

struct LaneAbort {};  // unwinds a lane's OS thread after the block failed (thread mode)

struct Block {
  const LaunchInfo* launch = nullptr;
  dim3 idx;
  int nthreads = 0;
  bool threaded = false;
  std::vector<Lane> lanes;
  std::string error;
  // Shared memory: dynamic part first, then the MG_SHARED variables.
  std::vector<unsigned char>* arena = nullptr;
  size_t shared_used = 0;
  std::vector<std::pair<const void*, size_t>> shared_vars;  // key -> offset
  // Fiber mode.
  Context scheduler;
  int current = 0;
  // Thread mode.
  std::mutex mu;
  std::condition_variable cv;
  int running = 0;
};

thread_local Block* tl_block = nullptr;
thread_local int tl_lane = 0;

std::string lane_name(const Block& b, int lane) {
  const dim3& t = b.lanes[static_cast<size_t>(lane)].idx;
  std::ostringstream s;
  s << "thread (" << t.x << "," << t.y << "," << t.z << ")";
  return s.str();
}
std::string site(const std::source_location& w) {
  std::string file = w.file_name();
  auto slash = file.find_last_of('/');
  if (slash != std::string::npos) file = file.substr(slash + 1);
  return file + ":" + std::to_string(w.line());
}
std::string hex(unsigned v) {
  std::ostringstream s;
  s << "0x" << std::hex << v;
  return s.str();
}
const char* warp_op_name(WarpOp op) {
  switch (op) {
    case WarpOp::shfl: return "__shfl_sync";
    case WarpOp::shfl_up: return "__shfl_up_sync";
    case WarpOp::shfl_down: return "__shfl_down_sync";
    case WarpOp::shfl_xor: return "__shfl_xor_sync";
    case WarpOp::ballot: return "__ballot_sync";
    case WarpOp::syncwarp: return "__syncwarp";
  }
  return "?";
}

bool lane_exists(const Block& b, int lane) { return lane >= 0 && lane < b.nthreads; }
bool lane_gone(const Block& b, int lane) {
  return !lane_exists(b, lane) || b.lanes[static_cast<size_t>(lane)].state == State::exited;
}

void wake(Block& b, int lane) {
  b.lanes[static_cast<size_t>(lane)].state = State::ready;
  ++b.running;
}

// Completes the warp collective lane `first` waits in, if every live lane of its
// mask has arrived with the same operation and mask. Returns whether it did;
// sets b.error when the collective can complete but is malformed.
bool try_complete_warp(Block& b, int first) {
  const Lane& f = b.lanes[static_cast<size_t>(first)];
  const int base = first / 32 * 32;
  std::vector<int> members;
  for (int bit = 0; bit < 32; ++bit) {
    if (!(f.mask >> bit & 1u)) continue;
    int l = base + bit;
    if (lane_gone(b, l)) continue;  // exited lanes named in the mask do not take part
    const Lane& m = b.lanes[static_cast<size_t>(l)];
    if (m.state != State::warp || m.warp_op != f.warp_op || m.mask != f.mask) return false;
    members.push_back(l);
  }
  unsigned arrived = 0;
  uint64_t votes = 0;
  for (int l : members) {
    arrived |= 1u << (l - base);
    if (b.lanes[static_cast<size_t>(l)].value) votes |= uint64_t{1} << (l - base);
  }
  for (int l : members) {
    Lane& m = b.lanes[static_cast<size_t>(l)];
    if (m.warp_op == WarpOp::ballot) {
      m.result = votes;
      m.aux = arrived;
    } else if (m.warp_op != WarpOp::syncwarp) {
      if (m.src < 0) {
        m.result = m.value;
      } else {
        int src = base + m.src;
        if (!(f.mask >> m.src & 1u) || !lane_exists(b, src) || lane_gone(b, src)) {
          std::ostringstream s;
          s << warp_op_name(m.warp_op) << " at " << site(m.where) << ": " << lane_name(b, l) << " (lane " << l - base
            << ") reads lane " << m.src << ", which "
            << (!lane_exists(b, src) ? "does not exist (the block has " + std::to_string(b.nthreads) + " threads)"
                : lane_gone(b, src)  ? std::string("has exited")
                                     : "is not in the mask " + hex(f.mask));
          b.error = s.str();
          return false;
        }
        m.result = b.lanes[static_cast<size_t>(src)].value;
      }
    }
  }
  for (int l : members) wake(b, l);
  return true;
}

// Called when no lane can run: completes what can complete, else explains the deadlock.
void resolve(Block& b) {
  bool progressed = false;
  for (int l = 0; l < b.nthreads && b.error.empty(); ++l)
    if (b.lanes[static_cast<size_t>(l)].state == State::warp) progressed |= try_complete_warp(b, l);
  if (progressed || !b.error.empty()) return;

  std::vector<int> at_barrier, at_warp, exited;
  for (int l = 0; l < b.nthreads; ++l) {
    State s = b.lanes[static_cast<size_t>(l)].state;
    (s == State::barrier ? at_barrier : s == State::warp ? at_warp : exited).push_back(l);
  }
  if (at_barrier.empty() && at_warp.empty()) return;  // every lane has finished
  std::ostringstream s;
  if (at_warp.empty() && exited.empty()) {
    const Lane& f = b.lanes[static_cast<size_t>(at_barrier[0])];
    for (int l : at_barrier) {
      const Lane& m = b.lanes[static_cast<size_t>(l)];
      if (m.where.line() != f.where.line() || std::strcmp(m.where.file_name(), f.where.file_name()) != 0 ||
          m.op != f.op) {
        s << "divergent barrier: " << lane_name(b, at_barrier[0]) << " waits in " << f.op << " at " << site(f.where)
          << " but " << lane_name(b, l) << " waits in " << m.op << " at " << site(m.where);
        b.error = s.str();
        return;
      }
    }
    unsigned count = 0;
    for (int l : at_barrier) count += b.lanes[static_cast<size_t>(l)].value != 0;
    for (int l : at_barrier) {
      b.lanes[static_cast<size_t>(l)].result = count;
      b.lanes[static_cast<size_t>(l)].aux = static_cast<unsigned>(at_barrier.size());
      wake(b, l);
    }
    return;
  }
  if (at_warp.empty()) {
    const Lane& f = b.lanes[static_cast<size_t>(at_barrier[0])];
    s << "deadlock: " << f.op << " at " << site(f.where) << " is reached by " << at_barrier.size() << " of "
      << b.nthreads << " threads; " << exited.size() << " exited without reaching it (first: "
      << lane_name(b, exited[0]) << ")";
  } else {
    const int w = at_warp[0];
    const Lane& f = b.lanes[static_cast<size_t>(w)];
    s << "deadlock: " << lane_name(b, w) << " waits in " << warp_op_name(f.warp_op) << "(mask " << hex(f.mask)
      << ") at " << site(f.where);
    const int base = w / 32 * 32;
    for (int bit = 0; bit < 32; ++bit) {
      int l = base + bit;
      if (!(f.mask >> bit & 1u) || lane_gone(b, l)) continue;
      const Lane& m = b.lanes[static_cast<size_t>(l)];
      if (m.state == State::barrier) {
        s << " while " << lane_name(b, l) << " waits in " << m.op << " at " << site(m.where);
        break;
      }
      if (m.warp_op != f.warp_op || m.mask != f.mask) {
        s << " while " << lane_name(b, l) << " waits in " << warp_op_name(m.warp_op) << "(mask " << hex(m.mask)
          << ") at " << site(m.where);
        break;
      }
    }
  }
  b.error = s.str();
}

// A lane's own misuse (bad mask, too much shared memory): fail the block from inside the lane.
[[noreturn]] void lane_fail(const std::string& message);

// Parks the calling lane until the scheduler completes its collective.
void wait_in_collective() {
  Block& b = *tl_block;
  Lane& me = b.lanes[static_cast<size_t>(tl_lane)];
  if (!b.threaded) {
    switch_context(me.ctx, b.scheduler);
    return;  // resumed: the collective completed
  }
  std::unique_lock<std::mutex> lock(b.mu);
  if (--b.running == 0) {
    resolve(b);
    b.cv.notify_all();
  }
  b.cv.wait(lock, [&] { return me.state == State::ready || !b.error.empty(); });
  if (me.state != State::ready) throw LaneAbort{};
}

void lane_fail(const std::string& message) {
  Block& b = *tl_block;
  if (!b.threaded) {
    if (b.error.empty()) b.error = message;
    Lane& me = b.lanes[static_cast<size_t>(tl_lane)];
    me.state = State::exited;
    switch_context(me.ctx, b.scheduler);
    std::abort();  // never resumed
  }
  {
    std::lock_guard<std::mutex> lock(b.mu);
    if (b.error.empty()) b.error = message;
  }
  b.cv.notify_all();
  throw LaneAbort{};
}

void run_lane_body(Block& b) {
  try {
    b.launch->body(b.launch->ctx);
  } catch (const LaneAbort&) {
    throw;
  } catch (const std::exception& e) {
    std::unique_lock<std::mutex> lock(b.mu, std::defer_lock);
    if (b.threaded) lock.lock();  // other lanes' threads read b.error
    if (b.error.empty()) b.error = std::string("exception in kernel: ") + e.what();
  }
}

// Fiber entry: runs the kernel for the current lane, then hands back for good.
void fiber_entry() {
  Block& b = *tl_block;
  run_lane_body(b);
  Lane& me = b.lanes[static_cast<size_t>(b.current)];
  me.state = State::exited;
  switch_context(me.ctx, b.scheduler);
  std::abort();  // an exited fiber is never resumed
}

struct WorkerState {
  StackPool stacks;
  std::vector<unsigned char> arena;
};

void start_block(Block& b, const LaunchInfo& launch, int64_t linear_block, WorkerState& ws) {
  b.launch = &launch;
  b.idx = dim3(static_cast<unsigned>(linear_block % launch.grid.x),
               static_cast<unsigned>(linear_block / launch.grid.x % launch.grid.y),
               static_cast<unsigned>(linear_block / (int64_t{launch.grid.x} * launch.grid.y)));
  b.nthreads = static_cast<int>(launch.block.x * launch.block.y * launch.block.z);
  b.lanes.assign(static_cast<size_t>(b.nthreads), Lane{});
  for (int t = 0; t < b.nthreads; ++t) {
    auto u = static_cast<unsigned>(t);
    b.lanes[static_cast<size_t>(t)].idx =
        dim3(u % launch.block.x, u / launch.block.x % launch.block.y, u / (launch.block.x * launch.block.y));
  }
  b.error.clear();
  b.arena = &ws.arena;
  b.shared_vars.clear();
  b.shared_used = (launch.dynamic_smem + 15) / 16 * 16;
  if (ws.arena.size() < kMaxSharedPerBlock) ws.arena.resize(kMaxSharedPerBlock);
  std::memset(ws.arena.data(), kPoison, launch.dynamic_smem);
  b.running = b.nthreads;
  blockIdx = b.idx;
  blockDim = launch.block;
  gridDim = launch.grid;
}

[[noreturn]] void throw_block_error(const Block& b) {
  std::ostringstream s;
  s << "kernel " << b.launch->kernel << ", block (" << b.idx.x << "," << b.idx.y << "," << b.idx.z << "): " << b.error;
  throw KernelError(s.str());
}

void run_block_fibers(Block& b, WorkerState& ws) {
  for (int t = 0; t < b.nthreads; ++t)
    make_context(b.lanes[static_cast<size_t>(t)].ctx, ws.stacks.get(static_cast<size_t>(t)), kFiberStack, fiber_entry);
  tl_block = &b;
  for (;;) {
    bool any_live = false;
    for (int t = 0; t < b.nthreads; ++t) {
      Lane& lane = b.lanes[static_cast<size_t>(t)];
      if (lane.state != State::ready) {
        any_live |= lane.state != State::exited;
        continue;
      }
      b.current = tl_lane = t;
      threadIdx = lane.idx;
      switch_context(b.scheduler, lane.ctx);
      if (!b.error.empty()) throw_block_error(b);
      any_live |= lane.state != State::exited;
    }
    if (!any_live) return;
    b.running = 0;
    resolve(b);
    if (!b.error.empty()) throw_block_error(b);
  }
}

// Thread mode: the body of lane `t`'s OS thread for one block.
void run_lane_thread(Block& b, int t) {
  tl_block = &b;
  tl_lane = t;
  threadIdx = b.lanes[static_cast<size_t>(t)].idx;
  blockIdx = b.idx;
  blockDim = b.launch->block;
  gridDim = b.launch->grid;
  try {
    run_lane_body(b);
  } catch (const LaneAbort&) {
  }
  {
    IgnoredByTsan ignored;  // exiting orders this lane before no other (see IgnoredByTsan)
    std::lock_guard<std::mutex> lock(b.mu);
    Lane& me = b.lanes[static_cast<size_t>(t)];
    if (me.state == State::ready) --b.running;
    me.state = State::exited;
    if (b.running == 0 && b.error.empty()) resolve(b);
    b.cv.notify_all();
  }
  tl_block = nullptr;
}

// Thread mode: persistent OS threads, lane t of every block running on thread
// t, parked between blocks. Creating and joining a block's threads each time
// cost about 1.5 ms per thread under ThreadSanitizer (0.4 s per 256-thread
// block); waking parked ones costs microseconds. The hand-offs go through mu_,
// so, as thread creation and join did, everything the launching thread did
// before a block happens before the block's lanes run, and the lanes' writes
// happen before run() returns. Blocks run one after another (launches are
// serialised by WorkerPool::run), so races between lanes of one block are
// what ThreadSanitizer can see.
class LaneThreads {
 public:
  void run(Block& b) {
    std::unique_lock<std::mutex> lock(mu_);
    while (static_cast<int>(threads_.size()) < b.nthreads) {
      const int lane = static_cast<int>(threads_.size());
      threads_.emplace_back([this, lane] { loop(lane); });
      threads_.back().detach();  // parked until exit, like the worker pool's threads
    }
    block_ = &b;
    lanes_ = remaining_ = b.nthreads;
    ++generation_;
    tsan_release(&start_token_);  // the setup of the block happens before its lanes run
    start_cv_.notify_all();
    done_cv_.wait(lock, [&] { return remaining_ == 0; });
    tsan_acquire(&end_token_);  // and the lanes' work before the launch returns
    block_ = nullptr;
  }

 private:
  void loop(int lane) {
    uint64_t seen = 0;
    for (;;) {
      Block* b = nullptr;
      {
        IgnoredByTsan ignored;  // parking orders this lane's last block before no other lane
        std::unique_lock<std::mutex> lock(mu_);
        start_cv_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        // A block needs lanes [0, lanes_): a higher lane skips it (and may wake
        // after run() returned, so it must not look at block_). A needed lane
        // cannot miss its block: the next one starts only after it finished.
        if (lane >= lanes_) continue;
        b = block_;
      }
      tsan_acquire(&start_token_);
      run_lane_thread(*b, lane);
      tsan_release(&end_token_);
      IgnoredByTsan ignored;
      std::lock_guard<std::mutex> lock(mu_);
      if (--remaining_ == 0) done_cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable start_cv_, done_cv_;
  std::vector<std::thread> threads_;
  Block* block_ = nullptr;
  int lanes_ = 0, remaining_ = 0;
  char start_token_ = 0, end_token_ = 0;  // addresses for the explicit TSan orderings
  uint64_t generation_ = 0;
};

void run_block_threads(Block& b) {
  static auto* lanes = new LaneThreads;  // never destroyed: its threads live until exit
  lanes->run(b);
  if (!b.error.empty()) throw_block_error(b);
}

// Persistent workers: blocks are spread over them; the launching thread is worker 0.
class WorkerPool {
 public:
  void run(int n, const std::function<void(int)>& task) {
    std::lock_guard<std::mutex> launch_lock(launch_mu_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      while (static_cast<int>(threads_.size()) < n - 1) {
        int index = static_cast<int>(threads_.size()) + 1;
        threads_.emplace_back([this, index] { loop(index); });
        threads_.back().detach();  // the pool lives for the whole process
      }
      task_ = &task;
      active_ = n;
      pending_ = n - 1;
      ++generation_;
    }
    cv_.notify_all();
    task(0);
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return pending_ == 0; });
    task_ = nullptr;
  }

 private:
  void loop(int index) {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int)>* task = nullptr;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        if (index >= active_) continue;
        task = task_;
      }
      (*task)(index);
      std::lock_guard<std::mutex> lock(mu_);
      if (--pending_ == 0) done_cv_.notify_all();
    }
  }

  std::mutex launch_mu_, mu_;
  std::condition_variable cv_, done_cv_;
  std::vector<std::thread> threads_;
  const std::function<void(int)>* task_ = nullptr;
  int active_ = 0, pending_ = 0;
  uint64_t generation_ = 0;
};

WorkerPool& pool() {
  static auto* p = new WorkerPool;  // never destroyed: its threads live until exit
  return *p;
}

WorkerState& worker_state() {
  thread_local WorkerState ws;
  return ws;
}

bool valid_config(dim3 grid, dim3 block, size_t smem) {
  const uint64_t threads = uint64_t{block.x} * block.y * block.z;
  return grid.x >= 1 && grid.y >= 1 && grid.z >= 1 && grid.x <= 0x7fffffffu && grid.y <= 65535 && grid.z <= 65535 &&
         block.x >= 1 && block.y >= 1 && block.z >= 1 && block.x <= 1024 && block.y <= 1024 && block.z <= 64 &&
         threads <= kMaxThreadsPerBlock && smem <= kMaxSharedPerBlock;
}

// ---- device memory: poisoned host allocations, tracked so copies are checked ----
struct DeviceMemory {
  std::mutex mu;
  std::map<uintptr_t, size_t> blocks;  // start -> bytes
  size_t used = 0;
  size_t capacity = static_cast<size_t>(env_long("MINIGRAD_SIMT_MEMORY_MB", 8192)) << 20;

  // Whether [p, p + bytes) lies inside one allocation.
  bool contains(const void* p, size_t bytes) {
    std::lock_guard<std::mutex> lock(mu);
    auto a = reinterpret_cast<uintptr_t>(p);
    auto it = blocks.upper_bound(a);
    if (it == blocks.begin()) return false;
    --it;
    return a >= it->first && bytes <= it->second && a - it->first <= it->second - bytes;
  }
};
DeviceMemory& device_memory() {
  static auto* m = new DeviceMemory;
  return *m;
}

bool no_device() { return env_long("MINIGRAD_SIMT_DEVICES", 1) <= 0; }

}  // namespace

bool thread_per_cuda_thread() {
  static const bool threads = env_long("MINIGRAD_SIMT_THREADS", sanitizing_threads() ? 1 : 0) != 0;
  return threads;
}

int worker_count() {
  static const int n = [] {
    long v = env_long("MINIGRAD_SIMT_WORKERS", static_cast<long>(std::thread::hardware_concurrency()));
    return static_cast<int>(std::clamp(v, 1L, 256L));
  }();
  return n;
}

void launch(const char* kernel_name, dim3 grid, dim3 block, size_t dynamic_smem, cudaStream_t /*stream*/,
            void (*body)(void*), void* ctx) {
  if (tl_block != nullptr) throw KernelError("kernel launched from device code (dynamic parallelism is not emulated)");
  if (!valid_config(grid, block, dynamic_smem)) {
    set_error(cudaErrorInvalidConfiguration);
    return;
  }
  const LaunchInfo info{kernel_name, grid, block, dynamic_smem, body, ctx};
  const int64_t blocks = int64_t{grid.x} * grid.y * grid.z;
  std::atomic<int64_t> next{0};
  std::mutex error_mu;
  std::exception_ptr error;
  const bool threaded = thread_per_cuda_thread();
  const int workers = threaded ? 1 : static_cast<int>(std::min<int64_t>(worker_count(), blocks));

  pool().run(workers, [&](int) {
    WorkerState& ws = worker_state();
    Block b;
    b.threaded = threaded;
    try {
      for (int64_t i = next++; i < blocks; i = next++) {
        start_block(b, info, i, ws);
        threaded ? run_block_threads(b) : run_block_fibers(b, ws);
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mu);
      if (!error) error = std::current_exception();
      next = blocks;  // stop the other workers
    }
    tl_block = nullptr;
  });
  if (error) std::rethrow_exception(error);
}

void* static_shared(const void* key, size_t bytes) {
  Block& b = *tl_block;
  std::unique_lock<std::mutex> lock(b.mu, std::defer_lock);
  if (b.threaded) lock.lock();
  for (const auto& [k, offset] : b.shared_vars)
    if (k == key) return b.arena->data() + offset;
  size_t offset = b.shared_used;
  if (offset + bytes > kMaxSharedPerBlock) {
    if (lock.owns_lock()) lock.unlock();
    lane_fail("shared memory exceeds " + std::to_string(kMaxSharedPerBlock) + " bytes per block (" +
              std::to_string(b.launch->dynamic_smem) + " dynamic + static variables of " +
              std::to_string(offset + bytes - b.launch->dynamic_smem) + ")");
  }
  b.shared_used = (offset + bytes + 15) / 16 * 16;
  b.shared_vars.emplace_back(key, offset);
  std::memset(b.arena->data() + offset, kPoison, bytes);
  return b.arena->data() + offset;
}

void* dynamic_shared() { return tl_block->arena->data(); }

unsigned block_barrier(const char* op, int predicate, int* participants, const std::source_location& where) {
  Lane& me = tl_block->lanes[static_cast<size_t>(tl_lane)];
  {
    std::unique_lock<std::mutex> lock(tl_block->mu, std::defer_lock);
    if (tl_block->threaded) lock.lock();
    me.op = op;
    me.where = where;
    me.value = predicate != 0;
    me.state = State::barrier;
  }
  wait_in_collective();
  if (participants != nullptr) *participants = static_cast<int>(me.aux);
  return static_cast<unsigned>(me.result);
}

uint64_t warp_collective(WarpOp op, unsigned mask, uint64_t value, int lane_arg, int width, unsigned* arrived,
                         const std::source_location& where) {
  Block& b = *tl_block;
  const int lane = tl_lane % 32;
  if (!(mask >> lane & 1u))
    lane_fail(std::string(warp_op_name(op)) + " at " + site(where) + ": " + lane_name(b, tl_lane) + " (lane " +
              std::to_string(lane) + ") calls it with mask " + hex(mask) + ", which does not include itself");
  if (width < 1 || width > 32 || (width & (width - 1)) != 0)
    lane_fail(std::string(warp_op_name(op)) + " at " + site(where) + ": width " + std::to_string(width) +
              " is not a power of two <= 32");
  const int segment = lane / width * width;
  int src = -1;
  switch (op) {
    case WarpOp::shfl: src = segment + ((lane_arg % width) + width) % width; break;
    case WarpOp::shfl_up: src = lane - lane_arg >= segment ? lane - lane_arg : -1; break;
    case WarpOp::shfl_down: src = lane + lane_arg < segment + width ? lane + lane_arg : -1; break;
    case WarpOp::shfl_xor: src = (lane ^ lane_arg) >= 0 && (lane ^ lane_arg) < segment + width ? lane ^ lane_arg : -1; break;
    case WarpOp::ballot:
    case WarpOp::syncwarp: break;
  }
  Lane& me = b.lanes[static_cast<size_t>(tl_lane)];
  {
    std::unique_lock<std::mutex> lock(b.mu, std::defer_lock);
    if (b.threaded) lock.lock();
    me.op = warp_op_name(op);
    me.where = where;
    me.warp_op = op;
    me.mask = mask;
    me.src = src;
    me.value = value;
    me.state = State::warp;
  }
  wait_in_collective();
  if (arrived != nullptr) *arrived = me.aux;
  return me.result;
}

unsigned active_mask() {
  Block& b = *tl_block;
  std::unique_lock<std::mutex> lock(b.mu, std::defer_lock);
  if (b.threaded) lock.lock();
  const int base = tl_lane / 32 * 32;
  unsigned mask = 0;
  for (int bit = 0; bit < 32; ++bit)
    if (!lane_gone(b, base + bit)) mask |= 1u << bit;
  return mask;
}

}  // namespace minigrad::simt

// ---- runtime API shims ------------------------------------------------------
using minigrad::simt::device_memory;
using minigrad::simt::kPoison;
using minigrad::simt::no_device;
using minigrad::simt::set_error;

struct CUstream_st {};
struct CUevent_st {
  std::chrono::steady_clock::time_point time;
};

cudaError_t cudaGetDeviceCount(int* count) {
  *count = no_device() ? 0 : 1;
  return *count == 0 ? set_error(cudaErrorNoDevice) : cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return no_device() ? set_error(cudaErrorNoDevice) : cudaSuccess;
}
cudaError_t cudaSetDevice(int device) {
  if (no_device()) return set_error(cudaErrorNoDevice);
  return device == 0 ? cudaSuccess : set_error(cudaErrorInvalidDevice);
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (no_device()) return set_error(cudaErrorNoDevice);
  if (device != 0) return set_error(cudaErrorInvalidDevice);
  *prop = cudaDeviceProp{};
  std::snprintf(prop->name, sizeof prop->name, "minigrad SIMT emulator (CPU, %d worker threads%s)",
                minigrad::simt::worker_count(),
                minigrad::simt::thread_per_cuda_thread() ? ", one OS thread per CUDA thread" : "");
  prop->totalGlobalMem = device_memory().capacity;
  prop->sharedMemPerBlock = minigrad::simt::kMaxSharedPerBlock;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsDim[0] = prop->maxThreadsDim[1] = 1024;
  prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 0x7fffffff;
  prop->maxGridSize[1] = prop->maxGridSize[2] = 65535;
  prop->multiProcessorCount = minigrad::simt::worker_count();
  prop->major = 9;  // what the emulated model resembles (independent thread scheduling)
  prop->minor = 0;
  return cudaSuccess;
}
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  cudaDeviceProp prop;
  if (cudaError_t err = cudaGetDeviceProperties(&prop, device); err != cudaSuccess) return err;
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = prop.maxThreadsPerBlock; return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = static_cast<int>(prop.sharedMemPerBlock); return cudaSuccess;
    case cudaDevAttrWarpSize: *value = prop.warpSize; return cudaSuccess;
    case cudaDevAttrMultiProcessorCount: *value = prop.multiProcessorCount; return cudaSuccess;
  }
  return set_error(cudaErrorInvalidValue);
}
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }  // launches and copies are synchronous
cudaError_t cudaGetLastError() {
  cudaError_t err = minigrad::simt::last_error;
  minigrad::simt::last_error = cudaSuccess;
  return err;
}
cudaError_t cudaPeekAtLastError() { return minigrad::simt::last_error; }

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
  }
  return "cudaErrorUnknown";
}
const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
  }
  return "unknown error";
}

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  *ptr = nullptr;
  if (no_device()) return set_error(cudaErrorNoDevice);
  if (bytes == 0) return cudaSuccess;
  auto& mem = device_memory();
  {
    std::lock_guard<std::mutex> lock(mem.mu);
    if (bytes > mem.capacity - mem.used) return set_error(cudaErrorMemoryAllocation);
    mem.used += bytes;
  }
  void* p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (p == nullptr) {
    std::lock_guard<std::mutex> lock(mem.mu);
    mem.used -= bytes;
    return set_error(cudaErrorMemoryAllocation);
  }
  std::memset(p, kPoison, bytes);
  std::lock_guard<std::mutex> lock(mem.mu);
  mem.blocks[reinterpret_cast<uintptr_t>(p)] = bytes;
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  if (ptr == nullptr) return cudaSuccess;
  auto& mem = device_memory();
  {
    std::lock_guard<std::mutex> lock(mem.mu);
    auto it = mem.blocks.find(reinterpret_cast<uintptr_t>(ptr));
    if (it == mem.blocks.end()) return set_error(cudaErrorInvalidDevicePointer);
    mem.used -= it->second;
    mem.blocks.erase(it);
  }
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (bytes == 0) return cudaSuccess;
  auto& mem = device_memory();
  const bool dst_dev = mem.contains(dst, bytes), src_dev = mem.contains(src, bytes);
  bool ok = false;
  switch (kind) {
    case cudaMemcpyHostToHost: ok = !dst_dev && !src_dev; break;
    case cudaMemcpyHostToDevice: ok = dst_dev && !src_dev; break;
    case cudaMemcpyDeviceToHost: ok = !dst_dev && src_dev; break;
    case cudaMemcpyDeviceToDevice: ok = dst_dev && src_dev; break;
    case cudaMemcpyDefault: ok = true; break;
  }
  if (!ok) return set_error(cudaErrorInvalidValue);
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
  return cudaMemcpy(dst, src, bytes, kind);
}
cudaError_t cudaMemset(void* ptr, int value, size_t bytes) {
  if (bytes == 0) return cudaSuccess;
  if (!device_memory().contains(ptr, bytes)) return set_error(cudaErrorInvalidValue);
  std::memset(ptr, value, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes, cudaStream_t) { return cudaMemset(ptr, value, bytes); }
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  auto& mem = device_memory();
  std::lock_guard<std::mutex> lock(mem.mu);
  *total_bytes = mem.capacity;
  *free_bytes = mem.capacity - mem.used;
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) {
  *stream = new CUstream_st;
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  delete stream;
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaEventCreate(cudaEvent_t* event) {
  *event = new CUevent_st;
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t event) {
  delete event;
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t) {
  if (event == nullptr) return set_error(cudaErrorInvalidResourceHandle);
  event->time = std::chrono::steady_clock::now();
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  return event == nullptr ? set_error(cudaErrorInvalidResourceHandle) : cudaSuccess;
}
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (start == nullptr || end == nullptr) return set_error(cudaErrorInvalidResourceHandle);
  *ms = std::chrono::duration<float, std::milli>(end->time - start->time).count();
  return cudaSuccess;
}
