"""Siamese training of the patch descriptor on the Aloe pair (MC-CNN "fast": hinge loss on cosine
similarities of a positive and a negative right patch per left patch).

For a left pixel ``(y, x)`` with known disparity ``d`` the positive right patch is centred at
``x - d + o`` with ``|o| <= pos_jitter`` and the negative one at ``x - d +- n`` with ``n`` drawn from
``[neg_low, neg_high]``; the loss is ``max(0, margin + s(neg) - s(pos))``. Patches are drawn from the
pair at several scales (the held-out scene has another resolution than the training one) and each
image of a pair gets its own random brightness and contrast (real pairs differ in exposure).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from edge.stereo.data import StereoPair, aloe
from edge.stereo.model import FEATURES, PATCH, descriptor, normalise


@dataclass
class TrainConfig:
    steps: int = 2500
    batch: int = 128
    lr: float = 2e-3
    margin: float = 0.2
    pos_jitter: int = 0
    neg_low: int = 2
    neg_high: int = 8
    scales: tuple = (0.33, 0.5, 1.0)
    brightness: float = 0.1
    contrast: float = 0.2
    width: int = 16
    features: int = FEATURES
    seed: int = 0


class PatchSampler:
    """Random (left, positive, negative) patch triplets ``(3, B, 1, 14, 14)`` from pairs with ground truth."""

    def __init__(self, pairs: list[StereoPair], cfg: TrainConfig, gen: torch.Generator):
        self.cfg, self.gen = cfg, gen
        self.pairs, self.pixels = [], []
        half = PATCH // 2
        for p in pairs:
            ys, xs = np.nonzero(np.isfinite(p.disparity))
            d = np.rint(p.disparity[ys, xs]).astype(np.int64)
            w = p.left.shape[1]
            # the right patch and every negative must fall inside the image
            ok = (xs - d - cfg.neg_high - cfg.pos_jitter >= 0) & (xs - d + cfg.neg_high + cfg.pos_jitter < w)
            pad = lambda a: F.pad(torch.from_numpy(a)[None, None], (half, half, half, half), mode="replicate")[0, 0]
            self.pairs.append((pad(p.left), pad(p.right)))
            self.pixels.append(torch.from_numpy(np.stack([ys[ok], xs[ok], d[ok]], 1)))
        self.offsets = torch.arange(PATCH) - (PATCH - 1 + 1) // 2  # the dense form's patch position

    def _cut(self, img: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
        half = PATCH // 2
        rows = (ys[:, None] + self.offsets + half)[:, :, None]
        cols = (xs[:, None] + self.offsets + half)[:, None, :]
        return img[rows, cols][:, None]  # (B, 1, P, P)

    def _jitter(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        c = 1 + self.cfg.contrast * (2 * torch.rand(b, 1, 1, 1, generator=self.gen) - 1)
        o = self.cfg.brightness * (2 * torch.rand(b, 1, 1, 1, generator=self.gen) - 1)
        return ((x - 0.5) * c + 0.5 + o).clamp(0, 1)

    def sample(self) -> torch.Tensor:
        cfg, g = self.cfg, self.gen
        k = int(torch.randint(len(self.pairs), (1,), generator=g))
        (left, right), pix = self.pairs[k], self.pixels[k]
        sel = pix[torch.randint(len(pix), (cfg.batch,), generator=g)]
        ys, xs, d = sel.T
        pos = xs - d + torch.randint(-cfg.pos_jitter, cfg.pos_jitter + 1, (cfg.batch,), generator=g)
        sign = torch.randint(0, 2, (cfg.batch,), generator=g) * 2 - 1
        neg = xs - d + sign * torch.randint(cfg.neg_low, cfg.neg_high + 1, (cfg.batch,), generator=g)
        trip = [self._jitter(self._cut(left, ys, xs)), self._jitter(self._cut(right, ys, pos)),
                self._jitter(self._cut(right, ys, neg))]
        return normalise(torch.stack(trip))


def hinge_loss(net, trip: torch.Tensor, margin: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(loss, fraction of triplets with s(pos) > s(neg))`` for triplets ``(3, B, 1, P, P)``."""
    b = trip.shape[1]
    f = F.normalize(net(trip.flatten(0, 1)).flatten(1), dim=1).view(3, b, -1)
    s_pos, s_neg = (f[0] * f[1]).sum(1), (f[0] * f[2]).sum(1)
    return F.relu(margin + s_neg - s_pos).mean(), (s_pos > s_neg).float().mean()


def train(cfg: TrainConfig | None = None, pairs: list[StereoPair] | None = None, progress: bool = True):
    """Train a descriptor; returns ``(net in eval mode, log dict)``. Deterministic for a seed on one thread."""
    from tqdm import tqdm

    cfg = cfg or TrainConfig()
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    pairs = pairs or [aloe(s) for s in cfg.scales]
    sampler = PatchSampler(pairs, cfg, gen)
    net = descriptor(cfg.features, cfg.width)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps, pct_start=0.1)
    t0, hist = time.perf_counter(), []
    bar = tqdm(range(cfg.steps), desc="train descriptor", unit="step", disable=not progress)
    for step in bar:
        loss, acc = hinge_loss(net, sampler.sample(), cfg.margin)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        hist.append((loss.item(), acc.item()))
        if step % 50 == 0 or step == cfg.steps - 1:
            recent = np.mean(hist[-50:], axis=0)
            bar.set_postfix(loss=f"{recent[0]:.3f}", pair_acc=f"{recent[1]:.3f}")
    tail = np.mean(hist[-100:], axis=0)
    log = {"config": asdict(cfg), "seconds": time.perf_counter() - t0, "final_loss": float(tail[0]),
           "final_pair_accuracy": float(tail[1]), "pairs": [p.name for p in pairs]}
    return net.eval(), log


def save(net, cfg: TrainConfig, path) -> None:
    """Checkpoint ``{"state_dict", "features", "width", "config"}`` written atomically."""
    from edge.io import atomic_path

    blob = {"state_dict": {k: v.detach().clone() for k, v in net.state_dict().items()},
            "features": cfg.features, "width": cfg.width, "config": asdict(cfg)}
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(blob, tmp)
