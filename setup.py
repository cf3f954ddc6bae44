"""The compiled part of ``pip install``: the native CPU library ``libedge_ref.so`` (the sample-interp CPU kernel
and the plugins' CPU references) built from plugins/CMakeLists.txt. Everything else is in pyproject.toml.

- ``pip install .`` (a wheel): CMake with ``EDGE_CUDA=OFF`` (no nvcc or TensorRT needed) in a fresh temporary
  build tree; the library lands in the wheel as ``edge/native/libedge_ref.so``.
- ``pip install -e .`` (editable): the checkout's own ``build/plugins`` tree (the one ``make plugins`` uses, with
  its settings, CUDA kernels included when they are configured there); only the ``edge_ref`` target is built.
  edge.native finds it there because edge runs from this checkout.
- No CMake, no C++ compiler, or a failed build: the install still succeeds as pure Python, with one warning
  here; at run time the first native op warns once that the slow PyTorch path is in use
  (edge.native.kernel_info() says which kernel runs). ``EDGE_NO_NATIVE=1`` skips the build on purpose.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
LIBRARY = "libedge_ref.so"


class CMakeLibrary(Extension):
    """A library CMake builds (no sources for setuptools' compiler); marks the wheel as platform-specific."""

    def __init__(self, name: str, target: str):
        super().__init__(name, sources=[])
        self.target = target


class BuildNative(build_ext):
    """build_ext that drives plugins/CMakeLists.txt instead of a compiler, and never fails the install."""

    def run(self) -> None:
        self._outputs: list[str] = []
        stale = Path(self.build_lib) / "edge" / "native" / LIBRARY  # from an earlier build in this tree
        if not (self.editable_mode or self.inplace) and stale.exists():
            stale.unlink()
        if os.environ.get("EDGE_NO_NATIVE"):
            self._skip("EDGE_NO_NATIVE is set")
            return
        cmake = shutil.which("cmake")
        if cmake is None:
            self._skip("cmake was not found")
            return
        for ext in self.extensions:
            self._build(cmake, ext)

    def _build(self, cmake: str, ext: CMakeLibrary) -> None:
        editable = self.editable_mode or self.inplace
        tmp = None if editable else tempfile.mkdtemp(prefix="edge-native-")
        tree = ROOT / "build" / "plugins" if editable else Path(tmp)
        configure = [cmake, "-S", str(ROOT / "plugins"), "-B", str(tree), "-DCMAKE_BUILD_TYPE=Release"]
        if not editable:
            configure += ["-DEDGE_CUDA=OFF", "-DEDGE_TESTS=OFF"]
        jobs = os.environ.get("JOBS") or str(min(os.cpu_count() or 1, 8))
        try:
            for cmd in (configure, [cmake, "--build", str(tree), "--target", ext.target, "-j", jobs]):
                proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
                if proc.returncode != 0:
                    self._skip(f"`{' '.join(cmd[:2])} ...` failed:\n{(proc.stdout + proc.stderr)[-2000:]}")
                    return
            built = tree / LIBRARY
            if editable:
                print(f"edge: built {built} (found there by edge.native: this checkout's build tree)")
                return
            dest = Path(self.build_lib) / "edge" / "native" / LIBRARY
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(built, dest)
            self._outputs.append(str(dest))
            print(f"edge: built {LIBRARY} into the package")
        finally:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)

    def _skip(self, why: str) -> None:
        print(f"edge: WARNING: the native CPU library {LIBRARY} is not built ({why}). edge installs as pure Python "
              f"and runs the slower PyTorch kernels. Fix: install a C++ compiler and CMake, then reinstall.",
              file=sys.stderr)

    def get_outputs(self) -> list[str]:
        return list(getattr(self, "_outputs", []))

    def get_output_mapping(self) -> dict[str, str]:
        return {}  # editable: the library stays in build/plugins, nothing is copied into the source tree


setup(ext_modules=[CMakeLibrary("edge.native._edge_ref", target="edge_ref")], cmdclass={"build_ext": BuildNative})
