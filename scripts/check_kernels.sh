#!/usr/bin/env bash
# The plugins' CUDA kernels against their CPU references on this machine's NVIDIA GPU, without TensorRT:
#   1. builds plugins/ for this GPU's architecture into $BUILD_DIR (default build/plugins-harness): the CPU
#      reference, the CUDA kernels and the kernel harness libedge_cuda_harness.so; runs ctest;
#   2. runs tests/plugins/test_cuda_harness*.py (every kernel vs its CPU reference, FP32 and FP16) and fails when
#      any of them is skipped (a GPU machine must run them all);
#   3. where compute-sanitizer exists, runs the fixed-shape tests under memcheck, racecheck and initcheck.
# Writes the whole log to $REPORT (default $BUILD_DIR/check_kernels.log). Exit 0 only when everything passed.
#   bash scripts/check_kernels.sh            # on a Jetson or an x86 machine with an NVIDIA GPU, nvcc and cmake
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build/plugins-harness}
REPORT=${REPORT:-$BUILD_DIR/check_kernels.log}
PY=${PYTHON:-python3}
mkdir -p "$BUILD_DIR"
: >"$REPORT"
say() { echo "$@" | tee -a "$REPORT"; }
step() { say "== $*"; }
fail() { say "check_kernels: FAILED: $*"; exit 1; }

if [ -z "${CUDACXX:-}" ] && [ -x /usr/local/cuda/bin/nvcc ]; then export CUDACXX=/usr/local/cuda/bin/nvcc; fi
NVCC=${CUDACXX:-$(command -v nvcc || true)}
[ -n "$NVCC" ] || fail "no nvcc (install the CUDA toolkit or set CUDACXX)"
SANITIZER=$(command -v compute-sanitizer || true)
[ -z "$SANITIZER" ] && [ -x "$(dirname "$NVCC")/compute-sanitizer" ] && SANITIZER="$(dirname "$NVCC")/compute-sanitizer"

# the GPU's own architecture (nvidia-smi's compute_cap "8.7" -> 87); the nvcc-version default otherwise
ARCH=${EDGE_CUDA_ARCH:-}
if [ -z "$ARCH" ] && command -v nvidia-smi >/dev/null; then
  ARCH=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
fi
step "machine"
{ uname -m; "$NVCC" --version | tail -2; command -v nvidia-smi >/dev/null && nvidia-smi -L;
  echo "architecture: ${ARCH:-default of $NVCC}"; echo "compute-sanitizer: ${SANITIZER:-not found}"; } 2>&1 | tee -a "$REPORT"

step "build ($BUILD_DIR)"
ARGS=${ARCH:+-DCMAKE_CUDA_ARCHITECTURES=$ARCH}
CMAKE_ARGS="${CMAKE_ARGS:-} $ARGS" bash scripts/build_plugins.sh "$BUILD_DIR" 2>&1 | tee -a "$REPORT"
[ "${PIPESTATUS[0]}" -eq 0 ] || fail "build or ctest"
[ -f "$BUILD_DIR/libedge_cuda_harness.so" ] || fail "libedge_cuda_harness.so was not built (no CUDA compiler found by CMake?)"
export EDGE_PLUGIN_DIR=$PWD/$BUILD_DIR

TESTS=(tests/plugins/test_cuda_harness.py tests/plugins/test_cuda_harness_abi.py)
step "kernels vs CPU references"
OUT=$("$PY" -m pytest -q -p no:cacheprovider -rs "${TESTS[@]}" 2>&1); RC=$?
echo "$OUT" | tee -a "$REPORT" >/dev/null; echo "$OUT" | tail -15
[ $RC -eq 0 ] || fail "kernel tests (pytest exit $RC)"
echo "$OUT" | tail -1 | grep -q skipped && fail "tests were skipped on a GPU machine (see the SKIPPED lines; tests/conftest.py finds the GPU through cuda-python or a CUDA build of torch: pip install cuda-python)"

if [ -n "$SANITIZER" ]; then
  # fixed shapes only: the hypothesis sweeps take too long under the sanitizer
  SUBSET="fixed_shapes or identities or tile_boundaries"
  for tool in memcheck racecheck initcheck; do
    step "compute-sanitizer --tool $tool"
    K="$SUBSET"; [ "$tool" != memcheck ] && K="identities or (tile_boundaries and 33 and float32)"
    "$SANITIZER" --tool "$tool" --error-exitcode 99 --target-processes all \
      "$PY" -m pytest -q -p no:cacheprovider -x tests/plugins/test_cuda_harness.py -k "$K" >>"$REPORT" 2>&1
    RC=$?
    tail -3 "$REPORT"
    [ $RC -eq 0 ] || fail "compute-sanitizer $tool (exit $RC; see $REPORT)"
  done
else
  say "compute-sanitizer not found: sanitizer runs skipped"
fi
say "check_kernels: all kernel checks passed (log: $REPORT)"
