"""Post-processing of model outputs, registered by name (``edge run --post NAME``).

Each post-processor is ``post(frame, outputs) -> (image, record)``: ``frame`` is the captured HxWx3 uint8
BGR frame, ``outputs`` the Runner's ``{name: array}``; ``image`` is what the sink shows/writes (BGR uint8)
and ``record`` a small JSON-able dict for the per-frame log.

- ``topk``: classification logits ``(1, N)`` -> top-k labels and softmax probabilities, drawn on the frame.
- ``colormap``: dense features ``(1, K, h, w)`` -> colour image at frame size; K == 1 (disparity, depth,
  a score) maps through a colour map, K >= 2 is projected onto its 3 principal components, fixed on the
  first frame so that colours stay stable over time.
- ``dump``: every output saved as ``<dir>/<index>.npz`` (atomic), the frame passed through unchanged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge._lazy import lazy_import
from edge.errors import InputError
from edge.registry import Registry

cv2 = lazy_import("cv2", feature="camera post-processing")
posts = Registry("post-processor")


def _first(outputs: dict) -> np.ndarray:
    return np.asarray(next(iter(outputs.values())))


@posts.register("topk")
class TopK:
    """Top-``k`` classes of the first output (logits or probabilities), softmax-normalised."""

    def __init__(self, k: int | None = None, labels: list | None = None, **_):
        self.k, self.labels = k or 5, labels

    def __call__(self, frame, outputs):
        logits = _first(outputs).reshape(-1).astype(np.float64)
        p = np.exp(logits - logits.max())
        p /= p.sum()
        idx = np.argsort(-p)[: self.k]
        top = [{"class": int(i), "label": self.labels[i] if self.labels and i < len(self.labels) else str(int(i)),
                "prob": float(p[i])} for i in idx]
        img = frame.copy()
        for j, t in enumerate(top):
            cv2.putText(img, f"{t['label']} {t['prob']:.2f}", (10, 50 + 22 * j), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                        (0, 255, 0), 2, cv2.LINE_AA)
        return img, {"top": top}


@posts.register("colormap")
class ColorMap:
    """Dense output ``(1, K, h, w)`` -> BGR colour image at the frame's size."""

    def __init__(self, colormap: str | None = None, **_):
        self.cmap = getattr(cv2, f"COLORMAP_{(colormap or 'turbo').upper()}")
        self.basis = self.lo = self.hi = None

    def __call__(self, frame, outputs):
        y = _first(outputs)
        if y.ndim != 4 or y.shape[0] != 1:
            raise InputError(f"colormap post-processing needs a (1, K, h, w) output, got {y.shape}; use --post dump")
        k, h, w = y.shape[1:]
        feats = y[0].reshape(k, h * w)  # a view: no copy of the (possibly large) feature map
        if k >= 2:
            if self.basis is None:
                self.basis, self.offset = _pca_basis(feats)
            # (<=3, h*w). einsum, not BLAS: BLAS worker threads would spin on the cores the model needs
            feats = np.einsum("ck,kn->cn", self.basis, feats, optimize=False) - self.offset
        if self.lo is None:  # fixed on the first frame so that colours mean the same over time
            few = feats[:, :: max(1, feats.shape[1] // 16384)]
            self.lo, self.hi = (np.percentile(few, q, axis=1, keepdims=True) for q in (1, 99))
        scale = 255.0 / np.maximum(self.hi - self.lo, 1e-12)
        u8 = np.clip((feats - self.lo) * scale, 0, 255).astype(np.uint8)
        if k == 1:
            img = cv2.applyColorMap(u8.reshape(h, w), self.cmap)
        else:
            chans = [u8[i].reshape(h, w) for i in range(u8.shape[0])]
            chans += [np.zeros((h, w), np.uint8)] * (3 - len(chans))
            img = cv2.merge(chans)
        if (h, w) != frame.shape[:2]:
            img = cv2.resize(img, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_NEAREST)
        return img, {"shape": list(y.shape)}


def _pca_basis(feats: np.ndarray, max_samples: int = 1024, iters: int = 100):
    """Top-3 principal directions of ``feats (K, N)`` from a strided subsample: (basis (<=3, K), offset).

    Power iteration with deflation on the K x K covariance, in einsum: no LAPACK/BLAS worker threads,
    which on a CPU whose cores the model holds can stall the first frame for a second (eigh did).
    """
    sub = feats[:, :: max(1, feats.shape[1] // max_samples)].astype(np.float64)  # (K, n)
    mean = sub.mean(1)
    centred = sub - mean[:, None]
    a = np.einsum("kn,mn->km", centred, centred, optimize=False)
    rng, vecs = np.random.default_rng(0), []
    for _ in range(min(3, a.shape[0])):
        v = rng.standard_normal(a.shape[0])
        for _ in range(iters):
            v = np.einsum("km,m->k", a, v)
            v /= np.linalg.norm(v) or 1.0
        lam = float(np.einsum("k,km,m->", v, a, v))
        a = a - lam * np.outer(v, v)
        vecs.append(v)
    basis = np.asarray(vecs, dtype=np.float32)
    return basis, (basis @ mean.astype(np.float32))[:, None]


@posts.register("dump")
class Dump:
    """Save every output tensor of each frame to ``<out_dir>/<index>.npz``; pass the frame through."""

    def __init__(self, out_dir: str | None = None, **_):
        self.out_dir, self.count = Path(out_dir) if out_dir else None, 0

    def __call__(self, frame, outputs):
        from edge.io import atomic_path

        rec = {k: list(np.shape(v)) for k, v in outputs.items()}
        if self.out_dir is not None:
            with atomic_path(self.out_dir / f"{self.count:06d}.npz", suffix=".npz") as tmp:
                np.savez(tmp, **{k: np.asarray(v) for k, v in outputs.items()})
        self.count += 1
        return frame, {"outputs": rec}


def make_post(name: str | None, kind: str | None = None, **options):
    """Post-processor ``name``; None means the one for the recipe's output ``kind``
    (classification -> topk, dense -> colormap, raw -> dump)."""
    name = name or {"classification": "topk", "dense": "colormap"}.get(kind or "raw", "dump")
    return posts.get(name)(**options)


__all__ = ["ColorMap", "Dump", "TopK", "make_post", "posts"]
