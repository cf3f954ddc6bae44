"""What pip would install on a Jetson: edge's requirements resolved for aarch64 against PyPI.

``make jetson-install`` installs edge into a venv over JetPack's site-packages (torch, TensorRT, OpenCV,
numpy) with constraints/jetpack6.txt or jetpack7.txt. This resolves the same requirements for JetPack 6
(glibc 2.35, Python 3.10) and JetPack 7 (glibc 2.39, Python 3.12) with ``pip install --dry-run --report``
and checks that nothing replaces what JetPack provides: torch is treated as installed (NVIDIA's wheel;
its requirement must admit JetPack 6.0's torch 2.3.0 and is left out of the resolution), no ``nvidia-*``,
``cuda-toolkit``, ``opencv-python*``, ``onnxruntime`` (CPU) or numpy 2 is pulled in, and cuda-python
resolves to the major version of JetPack's CUDA driver. Needs PyPI; skips with the reason without it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
EXTRAS = ("onnx", "vision", "bench", "trt")  # what `make jetson-install` installs
JETPACKS = {  # name: (glibc, python, constraints, cuda-python major.minor, JetPack's oldest torch)
    "jetpack6": ((2, 35), "3.10", "constraints/jetpack6.txt", (12, 6), "2.3.0"),
    "jetpack7": ((2, 39), "3.12", "constraints/jetpack7.txt", (13, 0), "2.8.0"),
}
FORBIDDEN = ("nvidia-", "cuda-toolkit", "opencv-python", "onnxruntime", "torch")


def edge_requirements(python: str, extras=EXTRAS) -> list[Requirement]:
    """edge's requirements with ``extras`` (self-references expanded), markers evaluated for Linux aarch64."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    env = {"platform_machine": "aarch64", "sys_platform": "linux", "platform_system": "Linux",
           "python_version": python, "python_full_version": python + ".0", "implementation_name": "cpython"}
    todo, seen, out = [(r, "") for r in project["dependencies"]], set(), []
    todo += [(r, e) for e in extras for r in project["optional-dependencies"][e]]
    while todo:
        text, extra = todo.pop()
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate({**env, "extra": extra}):
            continue
        if req.name == "edge":
            todo += [(r, e) for e in req.extras - seen for r in project["optional-dependencies"][e]]
            seen |= req.extras
            continue
        out.append(req)
    return out


def pypi_reachable() -> bool:
    try:
        with urllib.request.urlopen("https://pypi.org/simple/pip/", timeout=10) as r:
            return r.status == 200
    except OSError:
        return False


def resolve(reqs: list[Requirement], glibc: tuple[int, int], python: str, constraints: Path, tmp: Path) -> dict:
    """{name: version} pip would install from PyPI for manylinux aarch64 with that glibc."""
    platforms = [f"manylinux_2_{m}_aarch64" for m in range(glibc[1], 16, -1)] + ["manylinux2014_aarch64"]
    report = tmp / "report.json"
    cmd = [sys.executable, "-m", "pip", "install", "--isolated", "--dry-run", "--ignore-installed", "--quiet",
           "--target", str(tmp / "target"), "--report", str(report), "--python-version", python,
           "--only-binary=:all:", "--index-url", "https://pypi.org/simple", "-c", str(constraints)]
    # markers are already evaluated for the Jetson: pip would evaluate them for this machine
    cmd += [a for p in platforms for a in ("--platform", p)] + [f"{r.name}{r.specifier}" for r in reqs]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    return {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in json.loads(report.read_text())["install"]}


def test_requirements_on_aarch64_keep_what_jetpack_provides():
    """No network: the markers alone keep opencv-python, CPU onnxruntime and a too-new torch out."""
    for name, (_, python, _, cuda, torch) in JETPACKS.items():
        reqs = {r.name: r for r in edge_requirements(python)}
        assert "opencv-python-headless" not in reqs and "onnxruntime" not in reqs, name
        assert reqs["torch"].specifier.contains(torch), f"{name}: {reqs['torch']} refuses JetPack's torch {torch}"
        spec = reqs["cuda-python"].specifier
        assert spec.contains(f"{cuda[0]}.{cuda[1]}.2") and not spec.contains(f"{cuda[0]}.{cuda[1] + 1}.0"), name
    x86 = Requirement  # the x86 path is unchanged: the CPU runtime and PyPI's OpenCV are still there
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    onnx = [x86(r) for r in project["optional-dependencies"]["onnx"]]
    assert any(r.name == "onnxruntime" and r.marker.evaluate({"platform_machine": "x86_64"}) for r in onnx)


@pytest.mark.slow
@pytest.mark.parametrize("jetpack", sorted(JETPACKS))
def test_pip_resolution_for_jetpack(jetpack, tmp_path):
    if not pypi_reachable():
        pytest.skip("PyPI (https://pypi.org/simple) is unreachable: cannot resolve for aarch64")
    glibc, python, constraints, cuda, _ = JETPACKS[jetpack]
    reqs = [r for r in edge_requirements(python) if r.name != "torch"]  # torch: JetPack's, already installed
    got = resolve(reqs, glibc, python, REPO / constraints, tmp_path)
    bad = sorted(n for n in got if n.startswith(FORBIDDEN))
    assert not bad, f"{jetpack}: pip would install {bad} over JetPack's packages"
    assert Version(got["numpy"]).major == 1
    assert Version(got["cuda-python"]).release[:2] == cuda, f"cuda-python {got['cuda-python']} on {jetpack}"
