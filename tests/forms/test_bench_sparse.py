"""scripts/bench_sparse.py: its masks have the density they are labelled with, and a tiny run checks every variant
against the reference and fills the columns the BENCHMARKS table quotes (timings themselves are not asserted)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import torch

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_sparse.py"


def _module():
    spec = importlib.util.spec_from_file_location("bench_sparse", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_exact_masks_hold_round_d_n_positions():
    bench = _module()
    g = torch.Generator().manual_seed(0)
    for d in (0.05, 0.1, 0.25, 0.5, 0.9):
        m = bench.make_mask(56, d, g)
        assert m.shape == (1, 1, 56, 56) and set(m.unique().tolist()) <= {0.0, 1.0}
        assert int(m.sum()) == round(d * 56 * 56)
    drawn = [int(bench.make_mask(56, 0.5, g, exact=False).sum()) for _ in range(5)]
    assert len(set(drawn)) > 1  # Bernoulli masks: the count varies


def test_tiny_run_writes_every_column(tmp_path):
    bench = _module()
    out = tmp_path / "sparse.json"
    assert bench.main(["--shapes", "16x12", "--densities", "0.25,1.0", "--rounds", "2", "--warmup", "1",
                       "--threads", "1", "--dense-path", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [r["density"] for r in rows] == [0.25, 1.0]
    sparse = rows[0]
    assert sparse["actual density"] == round(round(0.25 * 144) / 144, 4)
    assert float(sparse["max abs err vs reference"]) < 1e-4
    for col in ("ratio", "ratio p10", "ratio min", "ratio torch kernel", "ratio CPU time"):
        assert sparse[col] > 0, col
    from edge.native import sample_interp_cpu as native

    if native.available():  # the dense-path column times the native kernel
        assert sparse["ratio native dense path"] > 0
    assert rows[1]["ratio native dense path"] == ""  # no dense path to compare at density 1
