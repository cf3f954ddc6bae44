#!/usr/bin/env python3
"""Train the small Fashion-MNIST CNN (edge.models.fashion_cnn) used for FP32-vs-INT8 accuracy checks.

    python scripts/train_fashion_cnn.py --epochs 2 --out build/fashion_cnn.pt

Writes the checkpoint (state dict + width + test accuracy) atomically and a JSON summary beside it.
A couple of minutes on 2 CPU cores for 2 epochs of the full 60k training set.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from edge.io import atomic_path, write_json
from edge.models.fashion_cnn import load_fashion_mnist, train


def accuracy(model, images: np.ndarray, labels: np.ndarray) -> float:
    x = (torch.from_numpy(np.array(images)).float()[:, None] / 255.0 - 0.2860) / 0.3530
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + 1000]).argmax(1) for i in range(0, len(x), 1000)])
    return float((pred.numpy() == labels).mean())


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--limit", type=int, default=None, help="use only the first N training images")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("build/fashion_cnn.pt"))
    args = ap.parse_args(argv)
    xtr, ytr = load_fashion_mnist("train")
    xte, yte = load_fashion_mnist("test")
    xtr, ytr = xtr[:args.limit], ytr[:args.limit]
    t0 = time.perf_counter()
    model = train(xtr, ytr, epochs=args.epochs, width=args.width, lr=args.lr, seed=args.seed, log=print)
    seconds = time.perf_counter() - t0
    acc = accuracy(model, xte, yte)
    with atomic_path(args.out, suffix=".pt") as tmp:
        torch.save({"state_dict": model.state_dict(), "width": args.width, "test_accuracy": acc}, tmp)
    summary = {"checkpoint": str(args.out), "epochs": args.epochs, "width": args.width, "train_images": len(xtr),
               "train_seconds": round(seconds, 1), "test_accuracy": acc}
    write_json(args.out.with_suffix(".json"), summary)
    print(f"test accuracy {acc:.4f} after {args.epochs} epoch(s) on {len(xtr)} images ({seconds:.0f} s): {args.out}")
    return summary


if __name__ == "__main__":
    main()
