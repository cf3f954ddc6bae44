"""Semi-global matching (Hirschmuller 2008) on a cost volume, 4 paths, vectorised in torch.

Along each path direction ``r`` the aggregated cost is

    L_r(p, d) = C(p, d) + min(L_r(p-r, d), L_r(p-r, d-1) + P1, L_r(p-r, d+1) + P1, min_k L_r(p-r, k) + P2)
                - min_k L_r(p-r, k)

and the result is the sum over the paths. Every step of the recursion is one tensor operation over all
scanlines and disparities at once (``(B, D, lines)``); only the walk along a path is a Python loop.
With ``adaptive`` the penalty ``P2`` is divided by ``1 + |I(p) - I(p-r)| / adaptive`` (a smaller jump
penalty across image edges, where depth edges are).

Libraries considered: libsgm (CNES) aggregates numpy cost volumes in C++ on the CPU only; OpenCV's SGBM
computes its own census/BT costs and takes no external volume. Neither runs on torch tensors (GPU, export).
"""

from __future__ import annotations

import torch

PATHS = ("left", "right", "up", "down")


def _walk(cost: torch.Tensor, p1: float, p2: torch.Tensor | float, reverse: bool = False) -> torch.Tensor:
    """Aggregate ``cost (n, B, D, lines)`` along its FIRST axis (contiguous steps), first to last (last to
    first with ``reverse``). ``p2``: a float or ``(n, B, 1, lines)`` per-pixel penalties; entry ``i`` applies
    to the step that arrives at ``i``."""
    n, b, _, lines = cost.shape
    out = torch.empty_like(cost)
    order = range(n - 1, -1, -1) if reverse else range(n)
    first = order[0]
    prev = out[first] = cost[first]
    inf = cost.new_full((b, 1, lines), float("inf"))
    for i in order[1:]:
        m = prev.amin(1, keepdim=True)
        near = torch.minimum(torch.cat([inf, prev[:, :-1]], 1), torch.cat([prev[:, 1:], inf], 1))  # L(d -+ 1)
        best = torch.minimum(torch.minimum(prev, near + p1), m + (p2 if isinstance(p2, float) else p2[i]))
        prev = out[i] = cost[i] + best - m
    return out


def _penalty(image: torch.Tensor | None, p2: float, adaptive: float | None, reverse: bool) -> torch.Tensor | float:
    """``p2`` at each pixel of a walk over ``image (n, B, 1, lines)`` (walk axis first), from the intensity
    step between the pixel and its predecessor on the walk."""
    if image is None or not adaptive:
        return float(p2)
    step = image - image.roll(-1 if reverse else 1, dims=0)
    return p2 / (1.0 + step.abs() / adaptive)


def sgm(cost: torch.Tensor, p1: float = 0.05, p2: float = 0.5, paths=PATHS, image: torch.Tensor | None = None,
        adaptive: float | None = None) -> torch.Tensor:
    """Sum over ``paths`` of the path-aggregated costs.

    Args:
        cost: ``(B, D, H, W)`` matching cost (lower is better), finite.
        p1, p2: penalties of a disparity change of 1 and of more than 1, in the cost's unit.
        paths: a subset of ("left", "right", "up", "down"): the direction each path comes from.
        image: ``(B, 1, H, W)`` gray image for the adaptive ``p2`` (optional).
        adaptive: intensity step at which ``p2`` halves (None: constant ``p2``).

    Returns:
        ``(B, D, H, W)`` aggregated cost.
    """
    unknown = set(paths) - set(PATHS)
    if unknown:
        raise ValueError(f"unknown SGM path {sorted(unknown)!r}; use {PATHS}")
    total = torch.zeros_like(cost)
    # one copy per axis with the walk axis first: (W, B, D, H) for row paths, (H, B, D, W) for column paths
    for axis_paths, perm in (((p for p in paths if p in ("left", "right")), (3, 0, 1, 2)),
                             ((p for p in paths if p in ("up", "down")), (2, 0, 1, 3))):
        axis_paths = list(axis_paths)
        if not axis_paths:
            continue
        c = cost.permute(perm).contiguous()
        img = None if image is None else image.permute(perm).contiguous()
        acc = torch.zeros_like(c)
        for path in axis_paths:
            reverse = path in ("right", "down")  # coming from the far end
            acc += _walk(c, float(p1), _penalty(img, p2, adaptive, reverse), reverse)
        total += acc.permute(*[perm.index(i) for i in range(4)])
    return total
