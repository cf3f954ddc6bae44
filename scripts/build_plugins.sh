#!/usr/bin/env bash
# Configures and builds plugins/ (CPU reference always; CUDA kernels when nvcc exists; plugin classes
# when TensorRT headers are found via TENSORRT_ROOT / TensorRT_INCLUDE_DIR), then runs ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build/plugins}
if [ ! -f plugins/CMakeLists.txt ]; then echo "build_plugins: no plugins/CMakeLists.txt yet"; exit 0; fi
if [ -z "${CUDACXX:-}" ] && [ -x /usr/local/cuda/bin/nvcc ]; then export CUDACXX=/usr/local/cuda/bin/nvcc; fi
cmake -S plugins -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j "${JOBS:-2}"
(cd "$BUILD_DIR" && ctest --output-on-failure)
