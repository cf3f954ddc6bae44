"""Fixtures of the plugin tests: the CPU reference library is built (not skipped) when missing or stale."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PLUGINS = REPO / "plugins"


def _newest_source() -> float:
    files = [p for p in PLUGINS.rglob("*") if p.suffix in {".h", ".cuh", ".cpp", ".cu", ".txt"}]
    return max(p.stat().st_mtime for p in files)


@pytest.fixture(scope="session")
def ref_lib():
    """The loaded ``libedge_ref.so``; builds it with scripts/build_plugins.sh when absent or older than plugins/."""
    from edge.native import REF_LIBRARY, find_library, ref_library

    path, _ = find_library(REF_LIBRARY)
    if not os.environ.get("EDGE_PLUGIN_DIR") and (path is None or path.stat().st_mtime < _newest_source()):
        build = subprocess.run(["bash", str(REPO / "scripts" / "build_plugins.sh"), str(REPO / "build" / "plugins")],
                               cwd=REPO, capture_output=True, text=True)
        if build.returncode != 0:
            pytest.fail(f"building the plugin CPU reference failed:\n{build.stdout[-3000:]}\n{build.stderr[-3000:]}")
    ref_library.cache_clear()
    return ref_library()
