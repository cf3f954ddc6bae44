"""Train the stereo patch descriptor on the Aloe pair and write edge/stereo/descriptor.pt.

    OMP_NUM_THREADS=1 python3 scripts/train_stereo.py [--steps 1000] [--seed 0] [--out PATH]

About 3 minutes on one core. Prints the training log and the WTA / full-matcher bad-2 on Aloe (the
training scene) at half size; the held-out evaluation is scripts/bench_stereo.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.stereo.model import WEIGHTS
from edge.stereo.train import TrainConfig, save, train


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=TrainConfig.steps)
    ap.add_argument("--batch", type=int, default=TrainConfig.batch)
    ap.add_argument("--seed", type=int, default=TrainConfig.seed)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=WEIGHTS)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = TrainConfig(steps=args.steps, batch=args.batch, seed=args.seed)
    net, log = train(cfg)
    save(net, cfg, args.out)
    from edge.stereo.data import aloe
    from edge.stereo.evaluate import evaluate_pair
    from edge.stereo.matcher import Matcher

    pair = aloe(0.5)
    for name, m in (("wta", Matcher(net, sgm=False, lr_check=False, subpixel=False)), ("full", Matcher(net))):
        log[f"aloe@0.5_{name}"] = evaluate_pair(m, pair)
    print(json.dumps(log, indent=1, default=str))
    print(f"weights: {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
