"""GPU memory on Jetson's unified memory, on recorded /proc/meminfo pairs and nvmap maps (tests/data/jetson)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edge.bench.memory import gpu_load_mb, nvmap_process_kb, read_meminfo, unified_snapshot

DATA = Path(__file__).resolve().parents[1] / "data" / "jetson"


def board(tmp_path, meminfo: str) -> str:
    root = tmp_path / "root"
    (root / "proc").mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / meminfo, root / "proc" / "meminfo")
    return str(root)


def test_engine_load_excludes_the_page_cache(tmp_path):
    """Loading an engine: the file's pages enter the page cache (+512 MB Cached), NvMap grows 120 MB.
    cudaMemGetInfo on Tegra sees both (the board's free memory fell 640 MB); the load is 120 MB."""
    before = unified_snapshot(board(tmp_path / "a", "meminfo_orin_nano_before.txt"))
    after = unified_snapshot(board(tmp_path / "b", "meminfo_orin_nano_after.txt"))
    mem = gpu_load_mb(before, after, cuda_used_mb=640.0)
    assert mem["device_load_mb"] == pytest.approx(120.0)
    assert mem["device_load_scope"].startswith("board-wide NvMap") and "page cache" in mem["board_used_scope"]
    assert mem["board_used_delta_mb"] == 640.0  # kept, but labelled board-wide
    assert (after["cached_kb"] - before["cached_kb"]) // 1024 == 512


def test_per_process_nvmap_from_iovmm_maps():
    root = str(DATA / "sysfs_agx_orin")
    assert nvmap_process_kb(4242, root) == 158720 and nvmap_process_kb(1, root) == 0
    snap = unified_snapshot(root, pid=4242)
    assert snap["process_nvmap_kb"] == 158720 and snap["nvmap_used_kb"] == 401408
    grown = dict(snap, process_nvmap_kb=snap["process_nvmap_kb"] + 100 * 1024, nvmap_used_kb=snap["nvmap_used_kb"] + 900 * 1024)
    mem = gpu_load_mb(snap, grown, cuda_used_mb=1500.0)
    assert mem["device_load_mb"] == pytest.approx(100.0) and mem["device_load_scope"].startswith("process")


def test_discrete_gpu_and_thor_keep_cuda_figures():
    assert unified_snapshot(str(DATA / "sysfs_agx_thor")) is None  # nvidia.ko stack: no NvMapMemUsed
    assert read_meminfo(str(DATA / "sysfs_agx_thor"))["MemTotal"] == 128300000
    assert gpu_load_mb(None, None, 42.0) == {"device_load_mb": 42.0, "device_load_scope": "device"}
    assert nvmap_process_kb(root="/nonexistent") is None
