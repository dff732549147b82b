#!/usr/bin/env bash
# Builds the test-only MINIGRAD_CUDA=EMULATE variant (CUDA kernels on the CPU
# SIMT emulator) into build/emulated and assembles an importable package in
# build/emulated/pkg (tools/build_variant.sh). Then:
#   PYTHONPATH=build/emulated/pkg pytest
# Options: --tsan builds with ThreadSanitizer into build/emulated-tsan (run with
# LD_PRELOAD=$(gcc -print-file-name=libtsan.so) and MINIGRAD_SIMT_THREADS=1).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/build_variant.sh

build=build/emulated
flags=()
if [ "${1:-}" = "--tsan" ]; then
  # -O1 -g1: a faster build that still gives reports file:line stacks.
  # OpenMP off: libgomp is not instrumented and synchronises through raw
  # futexes TSan cannot see, so every parallel CPU kernel (the tests' reference
  # results) would be reported as racing; this build checks the CUDA kernels
  # and the emulator, so the CPU kernels run on the calling thread.
  build=build/emulated-tsan
  flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
         -DCMAKE_DISABLE_FIND_PACKAGE_OpenMP=ON "-DCMAKE_CXX_FLAGS=-fsanitize=thread"
         "-DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread" "-DCMAKE_MODULE_LINKER_FLAGS=-fsanitize=thread")
fi
build_variant "$build" -DMINIGRAD_CUDA=EMULATE "${flags[@]}"
echo "emulated build ready: PYTHONPATH=$build/pkg pytest"
