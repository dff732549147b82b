# Sourced by the tools/build_*.sh scripts: configures and builds one variant of
# the extension into its own build dir and assembles an importable package in
# <build>/pkg (links to the Python sources + that variant's _C module), so the
# source tree's own developer build is left alone.
#   build_variant <build dir> [extra cmake arguments...]
build_variant() {
  local build="$1"
  shift
  local pkg="$build/pkg/minigrad"
  local generator=()
  if command -v ninja >/dev/null; then generator=(-G Ninja); fi

  cmake -S . -B "$build" "${generator[@]}" -DMINIGRAD_MODULE_DIR="$PWD/$pkg" "$@"
  cmake --build "$build" --parallel "${MINIGRAD_BUILD_JOBS:-2}"

  # Link every Python source entry (refreshed on each run, so new modules appear).
  local entry name
  for entry in minigrad/*; do
    name=$(basename "$entry")
    case "$name" in _C*.so | _C*.pyd | __pycache__) continue ;; esac
    ln -sfn "$PWD/$entry" "$pkg/$name"
  done
}
