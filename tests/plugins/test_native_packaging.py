"""The native CPU library comes with the install, and its absence is said once.

- ``pip install .`` into a fresh virtual environment builds libedge_ref.so into the package (setup.py drives
  plugins/CMakeLists.txt), and edge run from elsewhere loads it from there, with the recipes' package data;
- without a C++ compiler the install still succeeds as pure Python, and the first native op logs one line
  that the slow path is in use and how to get the fast one;
- edge.native.kernel_info() names the kernel and where its library came from.

The installs use ``--no-build-isolation --no-deps`` in a ``--system-site-packages`` venv (torch, setuptools and
cmake come from this environment) on a copy of the working tree, so nothing is downloaded.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import json, logging, sys
import torch
import edge, edge.native as n
from edge.ops.sample_interp import sample_interp_sparse
info = n.kernel_info()
x, w = torch.randn(1, 2, 6, 6), torch.randn(3, 2, 3, 3)
m = (torch.rand(1, 1, 6, 6) > 0.5).float()
for _ in range(3):
    sample_interp_sparse(x, m, w, None, padding=(1, 1))
print(json.dumps({"edge": edge.__file__, "info": info}))
"""


def test_kernel_info_names_the_loaded_library(ref_lib):
    from edge.native import kernel_info

    info = kernel_info()
    assert info["kernel"] == "native" and Path(info["library"]).is_file()
    assert info["origin"] == "source checkout" and info["reason"] is None and info["fix"] is None
    assert info["library"] in info["summary"]


def test_missing_library_warns_once_in_one_line(tmp_path, monkeypatch, caplog):
    import edge.native._lib as lib_mod
    import edge.native.sample_interp_cpu as fast
    from edge.native import kernel_info

    monkeypatch.setattr(lib_mod, "search_dirs", lambda: [tmp_path])
    lib_mod.ref_library.cache_clear()
    fast.reset()
    try:
        with caplog.at_level(logging.WARNING, logger="edge.native"):
            info = kernel_info()  # says it, never warns
            assert info["kernel"] == "torch" and info["library"] is None and "not found" in info["reason"]
            assert not caplog.records
            assert [fast.available() for _ in range(3)] == [False] * 3
        assert len(caplog.records) == 1
        msg = caplog.records[0].getMessage()
        assert "\n" not in msg and "slow PyTorch kernel" in msg and "Fix:" in msg and "pip install" in msg
    finally:
        lib_mod.ref_library.cache_clear()
        fast.reset()


def _copy_tree(dest: Path) -> Path:
    """The working tree's files (tracked and untracked, not ignored) copied to ``dest``."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, files):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def _install(tmp_path: Path, editable: bool = False, **env: str) -> tuple[Path, subprocess.CompletedProcess]:
    if not (REPO / ".git").exists() or shutil.which("git") is None:
        pytest.skip("needs the git checkout to copy the working tree")
    src = _copy_tree(tmp_path / "src")
    venv = tmp_path / "venv"
    # --without-pip: this environment's pip and setuptools (>= 68) build it, not the venv's bundled ones
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    cmd = [str(venv / "bin" / "python"), "-m", "pip", "install", "-v", "--no-deps", "--no-build-isolation",
           *(["-e"] if editable else []), str(src)]
    proc = subprocess.run(cmd, cwd=tmp_path, env={**os.environ, **env}, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return venv, proc


def _probe(venv: Path, cwd: Path) -> tuple[dict, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("EDGE_PLUGIN_DIR", "EDGE_SAMPLE_INTERP_BACKEND")}
    proc = subprocess.run([str(venv / "bin" / "python"), "-c", PROBE], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


@pytest.mark.slow
def test_pip_install_ships_the_native_library_and_the_package_data(tmp_path):
    venv, _ = _install(tmp_path)
    out, stderr = _probe(venv, tmp_path)
    package = Path(out["edge"]).parent
    assert venv in package.parents, f"edge imported from {package}, not the venv"
    info = out["info"]
    assert info["kernel"] == "native" and info["origin"] == "package"
    assert Path(info["library"]) == package / "native" / "libedge_ref.so"
    assert "slow" not in stderr
    data = sorted(p.relative_to(REPO / "edge") for p in (REPO / "edge").rglob("*.yaml"))
    assert data and all((package / p).is_file() for p in data)


@pytest.mark.slow
def test_install_without_a_compiler_is_pure_python_and_warns_once(tmp_path):
    venv, proc = _install(tmp_path, CXX=str(tmp_path / "no-such-c++"))
    assert "the native CPU library libedge_ref.so is not built" in proc.stdout + proc.stderr
    out, stderr = _probe(venv, tmp_path)
    package = Path(out["edge"]).parent
    assert not (package / "native" / "libedge_ref.so").exists()
    assert out["info"]["kernel"] == "torch" and out["info"]["fix"]
    lines = [ln for ln in stderr.splitlines() if "slow PyTorch kernel" in ln]
    assert len(lines) == 1 and "Fix:" in lines[0]
