#!/usr/bin/env python3
"""Cost of `edge.export.to_onnx` for the dense reference nets: export time, node count, file size and
the largest Transpose rank, per mode (plugins / portable) and shape mode (static / dynamic).

After one untimed warm-up export, each export runs once in this process (export is a one-off step: the
figure is wall-clock seconds, with CPU seconds beside it because other processes may share the machine).
Prints a table, writes JSON.

    python scripts/bench_export.py --size 360x240 --json bench_export.json
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nets", default="basenet,simo_serra", help="comma-separated reference nets")
    p.add_argument("--size", default="360x240", help="example image WIDTHxHEIGHT (default 360x240)")
    p.add_argument("--modes", default="plugins,portable", help="comma-separated: plugins, portable")
    p.add_argument("--shapes", default="static,dynamic", help="comma-separated: static, dynamic")
    p.add_argument("--json", type=Path, default=None, help="write results here")
    return p.parse_args(argv)


def measure(net: str, mode: str, shape: str, width: int, height: int, folder: Path) -> dict:
    import onnx
    import torch

    from edge.dense import REFERENCE_NETS, to_dense
    from edge.export import to_onnx
    from edge.export.contract import DOMAIN

    factory, patch = REFERENCE_NETS[net]
    dense = to_dense(factory(), patch)
    x = torch.rand(1, dense.in_channels, height, width, generator=torch.Generator().manual_seed(0))
    path = folder / f"{net}.{mode}.{shape}.onnx"
    wall, cpu = time.perf_counter(), time.process_time()
    to_onnx(dense, x, path, plugins=mode == "plugins", dynamic=shape == "dynamic")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    model = onnx.load(str(path))
    ranks = [
        len(onnx.helper.get_attribute_value(n.attribute[0]))
        for n in model.graph.node
        if n.op_type == "Transpose"
    ]
    return {
        "net": net,
        "mode": mode,
        "shapes": shape,
        "export_s": round(wall, 2),
        "export_cpu_s": round(cpu, 2),
        "nodes": len(model.graph.node),
        "plugin_nodes": sum(n.domain == DOMAIN for n in model.graph.node),
        "max_transpose_rank": max(ranks, default=0),
        "size_kb": round(path.stat().st_size / 1024, 1),
    }


def warm_up(folder: Path) -> None:
    """One untimed tiny export, so that the exporter's one-off set-up is not charged to the first row."""
    import torch

    from edge.export import to_onnx

    to_onnx(torch.nn.Conv2d(1, 1, 1), torch.rand(1, 1, 4, 4), folder / "warmup.onnx", dynamic=False)


def main(argv=None) -> int:
    args = parse_args(argv)
    import onnx
    import torch

    from edge.io import markdown_table, write_json

    width, height = (int(v) for v in args.size.lower().split("x"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        warm_up(Path(tmp))
        for net in args.nets.split(","):
            for mode in args.modes.split(","):
                for shape in args.shapes.split(","):
                    rows.append(measure(net, mode, shape, width, height, Path(tmp)))
                    print(rows[-1], flush=True)
    print(markdown_table(rows))
    if args.json:
        env = {
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "torch": torch.__version__,
            "onnx": onnx.__version__,
            "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "loadavg": os.getloadavg(),
        }
        write_json(args.json, {"environment": env, "size": args.size, "results": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
