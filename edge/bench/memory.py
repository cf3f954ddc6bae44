"""Peak resident memory of this process over a block of code.

On Linux the kernel keeps the high-water mark (VmHWM in /proc/self/status) and lets a process reset it
by writing "5" to /proc/self/clear_refs, which gives an exact per-block peak with no sampling thread.
Elsewhere a sampling thread (psutil, every 2 ms) stands in.
"""

from __future__ import annotations

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


__all__ = ["PeakRSS", "current_rss_bytes", "track_peak_rss"]
