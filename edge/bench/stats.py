"""Latency statistics in the shape of trtexec's summary (min/max/mean/median/percentiles).

trtexec prints, per metric, ``min, max, mean, median, percentile(90%), percentile(95%), percentile(99%)``;
we keep those names (``p90``...) and add ``std`` and the sample count. Percentiles use numpy's linear
interpolation between closest ranks (method "linear"), so the p50 of ``1..100`` is 50.5.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from edge.errors import InputError

PERCENTILES = (90, 95, 99)
STAT_KEYS = ("min", "max", "mean", "median", "p90", "p95", "p99", "std", "count")


def latency_stats(samples_ms: Iterable[float]) -> dict:
    """Summary statistics of latency samples (milliseconds).

    Args:
        samples_ms: 1-D sequence of latencies, each finite and >= 0.
    Returns:
        dict with ``min, max, mean, median, p90, p95, p99, std`` (ms) and ``count``.
    """
    a = np.asarray(list(samples_ms) if not isinstance(samples_ms, np.ndarray) else samples_ms, dtype=np.float64)
    if a.ndim != 1 or a.size == 0:
        raise InputError(f"latency_stats needs a non-empty 1-D sequence of samples, got shape {a.shape}")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise InputError("latency samples must be finite and >= 0 (a timer returned a bad value)")
    p = np.percentile(a, PERCENTILES)
    return {
        "min": float(a.min()), "max": float(a.max()), "mean": float(a.mean()), "median": float(np.median(a)),
        "p90": float(p[0]), "p95": float(p[1]), "p99": float(p[2]), "std": float(a.std()), "count": int(a.size),
    }


def throughput(count: int, wall_s: float, batch: int = 1) -> dict:
    """Queries per second and frames per second over a wall-clock window.

    ``qps`` counts inference calls (trtexec's "Throughput"); ``fps`` counts images (calls x batch).
    """
    if wall_s <= 0:
        raise InputError(f"throughput needs a positive wall-clock window, got {wall_s} s")
    qps = count / wall_s
    return {"qps": qps, "fps": qps * batch}


def optional_stats(samples_ms) -> dict | None:
    """``latency_stats`` of a possibly empty sequence: None when nothing was measured."""
    samples_ms = list(samples_ms or [])
    return latency_stats(samples_ms) if samples_ms else None


__all__ = ["PERCENTILES", "STAT_KEYS", "latency_stats", "optional_stats", "throughput"]
