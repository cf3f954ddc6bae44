#!/usr/bin/env python3
"""ONNX Runtime (portable and plugin-mode files) vs PyTorch eager on CPU, dense reference nets.

For each net, the dense form is exported in both modes (edge.export.to_onnx) and the three runners
are timed in interleaved rounds (torch, portable, plugins, torch, portable, ...), so that load from
other processes affects all of them alike. Prints a table and writes JSON with an environment record.

    python scripts/bench_runtime.py --size 360x240 --rounds 20 --json bench_runtime.json
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nets", default="basenet,simo_serra", help="comma-separated reference nets")
    p.add_argument("--size", default="360x240", help="image WIDTHxHEIGHT (default 360x240)")
    p.add_argument("--rounds", type=int, default=20, help="timed interleaved rounds (default 20)")
    p.add_argument("--warmup", type=int, default=3, help="untimed rounds first (default 3)")
    p.add_argument("--threads", type=int, default=None, help="torch and ONNX Runtime intra-op threads "
                   "(default: each library's own default)")
    p.add_argument("--torch-unwarp", default="permute", choices=["permute", "op"],
                   help="unwarp of the PyTorch eager dense net (default permute)")
    p.add_argument("--json", type=Path, default=None, help="write results here")
    p.add_argument("--keep", type=Path, default=None, help="keep the exported ONNX files in this folder")
    return p.parse_args(argv)


def environment(threads) -> dict:
    import onnxruntime
    import torch

    return {"python": platform.python_version(), "machine": platform.machine(), "cpu_count": os.cpu_count(),
            "torch": torch.__version__, "onnxruntime": onnxruntime.__version__, "threads": threads,
            "torch_threads": torch.get_num_threads(), "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def make_runners(name: str, out: Path, height: int, width: int, threads=None, torch_unwarp="permute"):
    """(runners by label, feeds by label): torch eager dense net, ORT on the portable and plugin files."""
    import torch

    from edge.dense import REFERENCE_NETS, to_dense
    from edge.runtime import load
    from edge.runtime.demo import export_both

    _, x, paths = export_both(name, out, height, width)
    factory, patch = REFERENCE_NETS[name]
    torch.manual_seed(0)  # the same weights as the exported dense net
    eager = to_dense(factory(), patch, unwarp=torch_unwarp).eval()
    ort_opts = {"threads": threads, "providers": ["CPUExecutionProvider"]}
    runners = {"torch eager": load(eager, name="torch eager"),
               "ORT portable": load(paths["portable"], name="ORT portable", **ort_opts),
               "ORT plugins": load(paths["plugins"], name="ORT plugins", **ort_opts)}
    return runners, {k: {r.inputs[0].name: x} for k, r in runners.items()}


def interleaved_times(runners: dict, feeds: dict, warmup: int, rounds: int) -> dict[str, list[float]]:
    """Seconds per call for each runner, measured in interleaved rounds after ``warmup`` untimed ones."""
    times: dict[str, list[float]] = {k: [] for k in runners}
    for i in range(warmup + rounds):
        for k, r in runners.items():
            r.infer(feeds[k])
            if i >= warmup:
                times[k].append(r.last_inference_time)
    return times


def timing_rows(name: str, image: str, times: dict, errors: dict, reference: str = "torch eager") -> list[dict]:
    """One row per runner: median/min/p90 in ms, ratio of medians vs ``reference``, max abs error."""
    import numpy as np

    base = statistics.median(times[reference])
    return [{"net": name, "image": image, "runner": k, "median_ms": statistics.median(t) * 1e3,
             "min_ms": min(t) * 1e3, "p90_ms": float(np.percentile(t, 90)) * 1e3,
             "ratio_vs_torch": statistics.median(t) / base, "max_abs_vs_torch": errors.get(k, 0.0),
             "rounds": len(t)} for k, t in times.items()]


def bench_net(name: str, out: Path, height: int, width: int, args) -> list[dict]:
    """Check the three runners agree (1e-4), then time them; rows as ``timing_rows``."""
    from edge.runtime import compare

    runners, feeds = make_runners(name, out, height, width, args.threads, args.torch_unwarp)
    check = compare(list(runners.values()), feeds["torch eager"], atol=1e-4, rtol=1e-4)
    errors = {r.runner: r.max_abs for r in check.rows}  # one output per net
    if not check.passed:
        print(f"WARNING: {name}: runners disagree beyond 1e-4:\n{check.table()}", file=sys.stderr)
    times = interleaved_times(runners, feeds, args.warmup, args.rounds)
    for r in runners.values():
        r.deactivate()
    return timing_rows(name, f"{width}x{height}", times, errors)


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    from edge.io import markdown_table, write_json

    if args.threads:
        torch.set_num_threads(args.threads)
    width, height = (int(v) for v in args.size.lower().split("x"))
    torch.set_grad_enabled(False)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        for name in args.nets.split(","):
            rows += bench_net(name.strip(), out, height, width, args)
    cols = ["net", "image", "runner", "median_ms", "min_ms", "p90_ms", "ratio_vs_torch", "max_abs_vs_torch", "rounds"]
    print(markdown_table(rows, cols))
    print("ratio_vs_torch = median latency / PyTorch eager median latency (< 1: faster than PyTorch)")
    if args.json:
        write_json(args.json, {"command": " ".join(sys.argv), "environment": environment(args.threads), "rows": rows})
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
