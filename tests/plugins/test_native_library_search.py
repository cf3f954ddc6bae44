"""Native code is loaded only from places the user chose: an explicit directory (argument or EDGE_PLUGIN_DIR),
the build tree of the source checkout edge runs from, or the installed package; never ./build/plugins of the
working directory.

The planted library runs a constructor that writes a marker file when it is loaded: the test fails if it ever
is. edge is run from a copy of its Python files outside any checkout (as an installed package would be), so no
genuine library is found before the working directory's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CXX = shutil.which(os.environ.get("CXX", "c++")) or shutil.which("g++")

PLANTED = r"""
#include <cstdio>
#include <cstdlib>
__attribute__((constructor)) static void planted() {
    if (FILE* f = std::fopen(std::getenv("EDGE_PLANTED_MARKER"), "w")) { std::fputs("loaded", f); std::fclose(f); }
}
extern "C" int edge_ref_abi_version() { return 0; }
"""

PROBE = """
import sys
from edge.errors import PluginError
from edge.native import _lib
print("FOUND", _lib.find_library("libedge_ref.so")[0])
try:
    _lib.ref_library()
except PluginError as e:
    print("ERROR", str(e).splitlines()[0])
"""


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """(site dir with a copy of the edge package, working dir whose build/plugins holds the planted library)."""
    if CXX is None:
        pytest.skip("no C++ compiler to build the planted library")
    root = tmp_path_factory.mktemp("search")
    site = root / "site"
    shutil.copytree(REPO / "edge", site / "edge", ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    work = root / "work"
    (work / "build" / "plugins").mkdir(parents=True)
    src = root / "planted.cpp"
    src.write_text(PLANTED)
    lib = work / "build" / "plugins" / "libedge_ref.so"
    subprocess.run([CXX, "-shared", "-fPIC", str(src), "-o", str(lib)], check=True)
    return site, work


def _probe(site: Path, cwd: Path, marker: Path, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k != "EDGE_PLUGIN_DIR"}
    base.update(PYTHONPATH=str(site), EDGE_PLANTED_MARKER=str(marker), **env)
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=cwd, env=base, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_a_library_planted_in_the_working_directory_is_not_loaded(planted, tmp_path):
    site, work = planted
    marker = tmp_path / "loaded.txt"
    out = _probe(site, work, marker)
    assert not marker.exists(), "the planted library in ./build/plugins was loaded"
    assert "FOUND None" in out and "ERROR the CPU reference library libedge_ref.so was not found" in out
    assert str(work) not in out.split("ERROR")[0]


def test_an_explicit_directory_is_used(planted, tmp_path):
    """EDGE_PLUGIN_DIR names a directory on purpose: its library is loaded (here the planted one, which then
    fails the ABI check after its constructor ran)."""
    site, work = planted
    marker = tmp_path / "loaded.txt"
    out = _probe(site, tmp_path, marker, EDGE_PLUGIN_DIR=str(work / "build" / "plugins"))
    assert marker.read_text() == "loaded"
    assert f"FOUND {work / 'build' / 'plugins' / 'libedge_ref.so'}" in out


def test_search_places_of_a_checkout_and_of_an_argument(tmp_path, monkeypatch):
    from edge.native import _lib

    monkeypatch.delenv("EDGE_PLUGIN_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    places = _lib.search_places()
    assert [o for o, _ in places] == ["source checkout", "package"]  # this test runs from the checkout
    assert places[0][1] == REPO / "build" / "plugins"
    assert all(tmp_path not in d.parents and d != tmp_path / "build" / "plugins" for _, d in places)
    assert _lib.search_places(tmp_path)[0] == ("argument", tmp_path)
    path, tried = _lib.find_library("libnothing.so", tmp_path)
    assert path is None and tried[0] == tmp_path / "libnothing.so"
