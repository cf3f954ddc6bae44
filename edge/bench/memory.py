"""Peak resident memory of this process over a block of code, and GPU memory on Jetson's unified memory.

On Linux the kernel keeps the high-water mark (VmHWM in /proc/self/status) and lets a process reset it
by writing "5" to /proc/self/clear_refs, which gives an exact per-block peak with no sampling thread.
Elsewhere a sampling thread (psutil, every 2 ms) stands in.
"""

from __future__ import annotations

import os
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class PeakRSS:
    start_bytes: int = 0
    peak_bytes: int = 0
    method: str = ""

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / 2**20

    @property
    def growth_mb(self) -> float:
        return (self.peak_bytes - self.start_bytes) / 2**20


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def current_rss_bytes() -> int:
    kb = _status_kb("VmRSS")
    if kb is not None:
        return kb * 1024
    import psutil

    return psutil.Process().memory_info().rss


@contextmanager
def track_peak_rss(interval_s: float = 0.002):
    """``with track_peak_rss() as m: ...`` then ``m.peak_mb``: peak RSS of the process during the block."""
    res = PeakRSS(start_bytes=current_rss_bytes())
    if _reset_hwm() and _status_kb("VmHWM") is not None:
        res.method = "VmHWM"
        try:
            yield res
        finally:
            res.peak_bytes = (_status_kb("VmHWM") or 0) * 1024
        return
    res.method = "sampled"
    stop = threading.Event()
    peak = [res.start_bytes]

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], current_rss_bytes())
            time.sleep(interval_s)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    try:
        yield res
    finally:
        stop.set()
        t.join()
        res.peak_bytes = max(peak[0], current_rss_bytes())


# ---------------------------------------------------------------- Jetson unified memory
# On Tegra the GPU allocates from system RAM through NvMap. cudaMemGetInfo then reports the board's free
# memory as the OS sees it: other processes and the page cache (e.g. of an engine file just read) count
# as "used", and RSS misses NvMap allocations. So the per-process view comes from NvMap: the board-wide
# NvMapMemUsed line of /proc/meminfo (taken as a delta around a step; it counts NvMap allocations only,
# no page cache) and, where debugfs is readable (root), this process's line of
# /sys/kernel/debug/nvmap/iovmm/maps ("user process PID sizeK", parsed as jetson_stats 7.2.0
# jtop/core/processes.py read_process_table does; jtop/core/memory.py reads NvMapMemUsed the same way).
# Thor (nvidia.ko stack) has neither: there only board-wide figures exist here.
_NVMAP_ROW = re.compile(r"^(?P<user>\w+)\s+(?P<process>[^ ]+)\s+(?P<pid>\d+)\s+(?P<size>\d+)(?P<unit>\w)\s*$")
_UNIT_KB = {"K": 1, "M": 1024, "G": 1024 * 1024}


def read_meminfo(root: str = "/") -> dict:
    """/proc/meminfo as {field: kB}; {} when unreadable."""
    out = {}
    try:
        with open(os.path.join(root, "proc/meminfo")) as f:
            for line in f:
                key, _, rest = line.partition(":")
                if rest.split():
                    out[key.strip()] = int(rest.split()[0])
    except OSError:
        return {}
    return out


def nvmap_process_kb(pid: int | None = None, root: str = "/") -> int | None:
    """NvMap memory (kB) of process ``pid`` (default: this one) from the nvmap iovmm maps; None when
    debugfs is not readable (not root, not an nvgpu Jetson)."""
    pid = os.getpid() if pid is None else pid
    try:
        with open(os.path.join(root, "sys/kernel/debug/nvmap/iovmm/maps")) as f:
            rows = [m for line in f if (m := _NVMAP_ROW.match(line.strip()))]
    except OSError:
        return None
    return sum(int(m["size"]) * _UNIT_KB.get(m["unit"].upper(), 1) for m in rows if int(m["pid"]) == pid)


def unified_snapshot(root: str = "/", pid: int | None = None) -> dict | None:
    """{"nvmap_used_kb", "process_nvmap_kb", "cached_kb"} on a Tegra board (NvMapMemUsed present), else None."""
    info = read_meminfo(root)
    if "NvMapMemUsed" not in info:
        return None
    return {"nvmap_used_kb": info["NvMapMemUsed"], "process_nvmap_kb": nvmap_process_kb(pid, root),
            "cached_kb": info.get("Cached", 0)}


def gpu_load_mb(before: dict | None, after: dict | None, cuda_used_mb: float | None) -> dict:
    """GPU memory taken by a step (engine load): per process where it can be told, labelled.

    ``before``/``after`` are unified_snapshot()s (None off Tegra); ``cuda_used_mb`` is the
    cudaMemGetInfo used-delta, which on a discrete GPU is the device's and on Tegra board-wide (page cache
    included), reported as ``board_used_delta_mb`` there, never as the step's load.
    """
    if before is None or after is None:
        return {"device_load_mb": cuda_used_mb, "device_load_scope": "device" if cuda_used_mb is not None else None}
    out = {"board_used_delta_mb": cuda_used_mb, "board_used_scope": "board-wide (cudaMemGetInfo: page cache "
           "and other processes included)"}
    if before["process_nvmap_kb"] is not None and after["process_nvmap_kb"] is not None:
        out.update(device_load_mb=(after["process_nvmap_kb"] - before["process_nvmap_kb"]) / 1024,
                   device_load_scope="process (NvMap iovmm maps)")
    else:
        out.update(device_load_mb=(after["nvmap_used_kb"] - before["nvmap_used_kb"]) / 1024,
                   device_load_scope="board-wide NvMap delta (NvMapMemUsed; no page cache)")
    return out


__all__ = ["PeakRSS", "current_rss_bytes", "gpu_load_mb", "nvmap_process_kb", "read_meminfo", "track_peak_rss",
           "unified_snapshot"]
