#!/usr/bin/env bash
# Builds the CPU-only extension with AddressSanitizer + UndefinedBehaviorSanitizer
# into build/asan and assembles an importable package in build/asan/pkg
# (tools/build_variant.sh). Python itself is not instrumented, so the ASan
# runtime is preloaded; Python leaks at exit, so leak checks are off; a malloc
# that cannot be satisfied returns NULL (numpy raises MemoryError) as without
# ASan, instead of ASan aborting. Run:
#   tools/build_sanitized.sh
#   eval "$(tools/build_sanitized.sh --env)"   # or set the variables it prints
#   PYTHONPATH=build/asan/pkg pytest -p no:cacheprovider   # not `python -m`: it would import ./minigrad
# Any ASan/UBSan report aborts the process (the test run fails).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--env" ]; then
  # libstdc++ too: python does not link it, and ASan's __cxa_throw interceptor
  # must find it at start-up (else every C++ exception aborts in a CHECK).
  echo "export LD_PRELOAD=\"$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so)\""
  echo "export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1"
  echo "export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"
  echo "export MINIGRAD_SANITIZED=1"
  exit 0
fi

source tools/build_variant.sh
sanitize="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
# -O1 -g1 instead of RelWithDebInfo's -O2 -g: a faster build (CI runs it on 2
# cores) that still gives reports file:line stacks. CPU targets only (CUDA OFF).
build_variant build/asan -DMINIGRAD_CUDA=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" \
  "-DCMAKE_CXX_FLAGS=$sanitize" "-DCMAKE_SHARED_LINKER_FLAGS=$sanitize" "-DCMAKE_MODULE_LINKER_FLAGS=$sanitize"
echo "sanitized build ready: eval \"\$(tools/build_sanitized.sh --env)\"; PYTHONPATH=build/asan/pkg pytest -p no:cacheprovider"
