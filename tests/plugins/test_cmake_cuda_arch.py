"""plugins/CMakeLists.txt picks its default CUDA architectures from the nvcc version, before enable_language(CUDA).

The configure runs under a wrapper nvcc (a script around the machine's real nvcc) that reports a chosen CUDA
release and, like CUDA 12.x's nvcc, rejects compute_110/sm_110. CUDA 12.6 (JetPack 6) must get "87" alone,
CUDA 13 "87;110", and an explicit -DCMAKE_CUDA_ARCHITECTURES always wins. Only the configure runs (no build).
EDGE_TEST_CMAKE selects the cmake binary (e.g. a CMake 3.22 like JetPack 6's).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REAL_NVCC = os.environ.get("EDGE_TEST_NVCC", "/usr/local/cuda/bin/nvcc")
CMAKE = os.environ.get("EDGE_TEST_CMAKE", "cmake")

pytestmark = [
    pytest.mark.skipif(not Path(REAL_NVCC).is_file(), reason=f"no nvcc at {REAL_NVCC} (set EDGE_TEST_NVCC)"),
    pytest.mark.skipif(shutil.which(CMAKE) is None, reason=f"{CMAKE} not found (set EDGE_TEST_CMAKE)"),
]

WRAPPER = """#!/bin/bash
# nvcc {release} as far as `--version` and the architecture list go; compiles with the real nvcc.
for a in "$@"; do
  case "$a" in
    --version)
      printf 'nvcc: NVIDIA (R) Cuda compiler driver\\nCopyright (c) 2005-2024 NVIDIA Corporation\\n'
      printf 'Cuda compilation tools, release {release}, V{release}.68\\nBuild cuda_{release}.r{release}/compiler.0_0\\n'
      exit 0;;
    {reject}) echo "nvcc fatal   : Unsupported gpu architecture 'compute_110'" >&2; exit 1;;
  esac
done
exec {real} "$@"
"""


def _wrapper(tmp_path: Path, release: str, reject_110: bool) -> Path:
    path = tmp_path / "bin" / "nvcc"
    path.parent.mkdir(parents=True, exist_ok=True)
    reject = "*compute_110*|*sm_110*" if reject_110 else "--never-matches--"
    path.write_text(WRAPPER.format(release=release, reject=reject, real=REAL_NVCC))
    path.chmod(0o755)
    return path


def _configure(tmp_path: Path, nvcc: Path, *args: str) -> tuple[subprocess.CompletedProcess, str | None]:
    build = tmp_path / "build"
    env = {k: v for k, v in os.environ.items() if k not in ("CUDAARCHS", "TENSORRT_ROOT", "TensorRT_INCLUDE_DIR")}
    env["CUDACXX"] = str(nvcc)
    proc = subprocess.run([CMAKE, "-S", str(REPO / "plugins"), "-B", str(build), *args], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    cache = build / "CMakeCache.txt"
    arch = None
    if cache.is_file():
        m = re.search(r"^CMAKE_CUDA_ARCHITECTURES:\w+=(.*)$", cache.read_text(), re.MULTILINE)
        arch = m.group(1) if m else None
    return proc, arch


def _ok(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, f"configure failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"


@pytest.mark.slow
def test_cuda_12_6_gets_87_alone_and_configures(tmp_path):
    proc, arch = _configure(tmp_path, _wrapper(tmp_path, "12.6", reject_110=True))
    _ok(proc)
    assert arch == "87"
    assert "CUDA kernels for architectures 87" in proc.stdout


@pytest.mark.slow
def test_cuda_13_gets_87_and_110(tmp_path):
    proc, arch = _configure(tmp_path, _wrapper(tmp_path, "13.0", reject_110=False))
    _ok(proc)
    assert arch == "87;110"


@pytest.mark.slow
def test_explicit_architectures_win_and_a_new_nvcc_recomputes_the_default(tmp_path):
    nvcc13 = _wrapper(tmp_path, "13.0", reject_110=False)
    proc, arch = _configure(tmp_path, nvcc13, "-DCMAKE_CUDA_ARCHITECTURES=87")
    _ok(proc)
    assert arch == "87"
    shutil.rmtree(tmp_path / "build")
    proc, arch = _configure(tmp_path, nvcc13)
    _ok(proc)
    assert arch == "87;110"
    # reconfiguring that tree: the earlier default is recomputed, a new explicit value is kept
    proc, arch = _configure(tmp_path, nvcc13)
    _ok(proc)
    assert arch == "87;110"
    proc, arch = _configure(tmp_path, nvcc13, "-DCMAKE_CUDA_ARCHITECTURES=110")
    _ok(proc)
    assert arch == "110"
