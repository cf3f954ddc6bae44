"""Latency statistics on synthetic samples whose percentiles are known by hand."""

from __future__ import annotations

import numpy as np
import pytest

from edge.bench.stats import latency_stats, throughput
from edge.errors import InputError


def test_percentiles_of_1_to_100():
    s = latency_stats(np.arange(1, 101, dtype=float))
    # linear interpolation between closest ranks: rank = p/100 * (n - 1)
    assert s["min"] == 1 and s["max"] == 100 and s["count"] == 100
    assert s["mean"] == 50.5 and s["median"] == 50.5
    assert s["p90"] == pytest.approx(90.1) and s["p95"] == pytest.approx(95.05) and s["p99"] == pytest.approx(99.01)


def test_percentiles_shuffled_equal_sorted_and_tail_is_seen():
    rng = np.random.default_rng(0)
    base = np.full(1000, 10.0)
    base[-5:] = 100.0  # 0.5 % slow outliers: p99 must not see them, max must
    s = latency_stats(rng.permutation(base))
    assert s["median"] == 10.0 and s["p99"] == 10.0 and s["max"] == 100.0
    base[-20:] = 100.0  # 2 %: now p99 is in the tail
    assert latency_stats(rng.permutation(base))["p99"] == 100.0


def test_single_sample_and_std():
    s = latency_stats([3.0])
    assert s["min"] == s["max"] == s["median"] == s["p99"] == 3.0 and s["std"] == 0.0
    assert latency_stats([1.0, 3.0])["std"] == pytest.approx(1.0)


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [-1.0], [[1.0, 2.0]]])
def test_bad_samples_raise(bad):
    with pytest.raises(InputError):
        latency_stats(bad)


def test_throughput_counts_batch():
    assert throughput(100, 2.0, batch=4) == {"qps": 50.0, "fps": 200.0}
    with pytest.raises(InputError):
        throughput(1, 0.0)
