#!/usr/bin/env bash
# Builds the test-only MINIGRAD_CUDA=EMULATE variant (CUDA kernels on the CPU
# SIMT emulator) into build/emulated and assembles an importable package in
# build/emulated/pkg (links to the Python sources + the emulated _C module),
# so the source tree's own developer build is left alone. Then:
#   PYTHONPATH=build/emulated/pkg pytest
# Options: --tsan builds with ThreadSanitizer into build/emulated-tsan (run with
# LD_PRELOAD=$(gcc -print-file-name=libtsan.so) and MINIGRAD_SIMT_THREADS=1).
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/emulated
flags=()
if [ "${1:-}" = "--tsan" ]; then
  build=build/emulated-tsan
  flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS=-fsanitize=thread"
         "-DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread" "-DCMAKE_MODULE_LINKER_FLAGS=-fsanitize=thread")
fi
pkg="$build/pkg/minigrad"
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi

cmake -S . -B "$build" "${generator[@]}" -DMINIGRAD_CUDA=EMULATE -DMINIGRAD_MODULE_DIR="$PWD/$pkg" "${flags[@]}"
cmake --build "$build" --parallel "${MINIGRAD_BUILD_JOBS:-2}"

# Link every Python source entry (refreshed on each run, so new modules appear).
for entry in minigrad/*; do
  name=$(basename "$entry")
  case "$name" in _C*.so | _C*.pyd | __pycache__) continue ;; esac
  ln -sfn "$PWD/$entry" "$pkg/$name"
done
echo "emulated build ready: PYTHONPATH=$build/pkg pytest"
