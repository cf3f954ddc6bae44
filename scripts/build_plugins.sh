#!/usr/bin/env bash
# Configures and builds plugins/ (CPU reference always; CUDA kernels when nvcc exists; plugin classes
# when TensorRT headers are found via TENSORRT_ROOT / TensorRT_INCLUDE_DIR), then runs ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build/plugins}
if [ ! -f plugins/CMakeLists.txt ]; then echo "build_plugins: no plugins/CMakeLists.txt yet"; exit 0; fi
if [ -z "${CUDACXX:-}" ] && [ -x /usr/local/cuda/bin/nvcc ]; then export CUDACXX=/usr/local/cuda/bin/nvcc; fi
# TENSORRT_ROOT / TensorRT_INCLUDE_DIR from the environment are passed on (JetPack's headers are found without)
TRT_ARGS=()
if [ -n "${TENSORRT_ROOT:-}" ]; then TRT_ARGS+=("-DTENSORRT_ROOT=$TENSORRT_ROOT"); fi
if [ -n "${TensorRT_INCLUDE_DIR:-}" ]; then TRT_ARGS+=("-DTensorRT_INCLUDE_DIR=$TensorRT_INCLUDE_DIR"); fi
LOG=$(mktemp)
if ! cmake -S plugins -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DEDGE_CUDA=AUTO -DEDGE_TESTS=ON "${TRT_ARGS[@]}" ${CMAKE_ARGS:-} >"$LOG" 2>&1; then
  cat "$LOG"; rm -f "$LOG"; exit 1
fi
grep "edge plugins" "$LOG" || true  # what was built and what was skipped (and why)
rm -f "$LOG"
cmake --build "$BUILD_DIR" -j "${JOBS:-2}"
(cd "$BUILD_DIR" && ctest --output-on-failure)
