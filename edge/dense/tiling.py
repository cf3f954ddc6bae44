"""Memory-bounded tiled execution of a dense network (docs/METHODS.md §1 step 6).

The image is padded once; each tile of the output, ``th x tw`` with ``th`` a multiple of ``Sy`` (``tw``
of ``Sx``), reads the padded rows ``[y0, y0 + th + pH - 1)`` (the receptive field overlap) and runs
the dense core on them. Because tiles are aligned to the stride product, each tile decomposes into
exactly the same multi-stride shifts as the whole image, so every stitched value is the same sum of the
same products as in the untiled run. It is equal up to summation order, not bit for bit: the convolution
kernel oneDNN picks depends on the tensor's shape and the CPU's instruction set, so the last bits may
differ between a tile and the whole image (tests/dense/test_tiling.py compares in float64 at 1e-12).
Tiles are chosen from a memory budget with an analytic estimate of the activation sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from edge.errors import InputError


# Measured peak RSS growth of tiled runs was up to 1.12x the raw tensor-size walk below (allocator and
# oneDNN reorder buffers it does not model: scripts/bench_dense.py, Simo-Serra 1080x720 at 1 GB).
ALLOCATOR_FACTOR = 1.2


@dataclass(frozen=True)
class TilePlan:
    tile: tuple[int, int]  # output tile (th, tw), multiples of the stride product
    grid: tuple[int, int]  # number of tiles (rows, cols)
    est_bytes: int  # estimated peak bytes of one tile's activations + full input and output
    full_bytes: int  # the same estimate for an untiled run


def activation_peak_bytes(dense, batch: int, th: int, tw: int, itemsize: int = 4) -> int:
    """Estimated peak bytes of the dense core on one ``th x tw`` output tile.

    Walks the stages' geometry: a stride-1 stage holds its input and output (a convolution's output
    twice: oneDNN computes in a blocked layout and reorders); a multi-stride stage holds its input,
    the stride-1 output and the rearranged copy. The unwarp holds two copies of the final map.
    Measured against the process's peak RSS growth in ``tests/dense/test_tiling.py`` and
    ``scripts/bench_dense.py``; the budget counts memory above the process's baseline (torch itself).
    """
    ph, pw = dense.patch_size
    c, h, w, n = dense.in_channels, th + ph - 1, tw + pw - 1, batch
    peak = 0
    for (kh, kw), (sy, sx), out_c in dense.geometry:
        c_out = out_c or c
        h1, w1 = h - kh + 1, w - kw + 1
        size_in, size_1 = n * c * h * w, n * c_out * h1 * w1
        if (sy, sx) != (1, 1):
            h, w, n = h1 // sy, w1 // sx, n * sy * sx
            peak = max(peak, size_in + 2 * size_1)
        else:
            h, w = h1, w1
            # a convolution's output exists twice for a moment (oneDNN's blocked layout, then NCHW)
            peak = max(peak, size_in + (2 if out_c else 1) * size_1)
        c = c_out
    peak = max(peak, 2 * n * c * h * w)
    return int(peak * itemsize * ALLOCATOR_FACTOR)


def _io_bytes(dense, batch, hh, ww, itemsize):
    ph, pw = dense.patch_size
    return itemsize * batch * (dense.out_channels * hh * ww + dense.in_channels * (hh + ph) * (ww + pw))


def plan_tiles(dense, batch: int, height: int, width: int, max_memory_mb: float | None = None,
               tile: tuple[int, int] | None = None, itemsize: int = 4) -> TilePlan:
    """Choose output tiles: explicit ``tile`` rounded up to the stride product, or the cheapest tiling
    (least recomputed overlap) whose estimated peak fits ``max_memory_mb``."""
    sy, sx = dense.total_stride
    hr, wr = -(-height // sy) * sy, -(-width // sx) * sx
    io = _io_bytes(dense, batch, hr, wr, itemsize)
    full = io + activation_peak_bytes(dense, batch, hr, wr, itemsize)
    if tile is not None:
        th, tw = (min(full, -(-int(t) // s) * s) for t, s, full in zip(tile, (sy, sx), (hr, wr)))
        if th < 1 or tw < 1:
            raise InputError(f"tile must be positive, got {tile}")
        est = io + activation_peak_bytes(dense, batch, th, tw, itemsize)
        return TilePlan((th, tw), (-(-hr // th), -(-wr // tw)), est, full)
    budget = int(max_memory_mb * 2**20) if max_memory_mb is not None else None
    if budget is None or full <= budget:
        return TilePlan((hr, wr), (1, 1), full, full)
    ph, pw = dense.patch_size
    best = None
    for ncols in _candidates(wr // sx):
        tw = -(-wr // sx // ncols) * sx
        th = _largest_fitting(lambda t: io + activation_peak_bytes(dense, batch, t, tw, itemsize), sy, hr, budget)
        if th is None:
            continue
        grid = (-(-hr // th), -(-wr // tw))
        cost = grid[0] * grid[1] * (th + ph - 1) * (tw + pw - 1)  # pixels the core processes
        if best is None or cost < best[0]:
            best = (cost, TilePlan((th, tw), grid, io + activation_peak_bytes(dense, batch, th, tw, itemsize), full))
    if best is None:
        need = (io + activation_peak_bytes(dense, batch, sy, sx, itemsize)) / 2**20
        raise InputError(
            f"max_memory_mb={max_memory_mb} cannot hold even one {sy}x{sx} tile of a {height}x{width} image "
            f"(the output alone needs {io / 2**20:.0f} MB). Fix: raise the budget above {need:.0f} MB, or "
            "use a smaller batch or image"
        )
    return best[1]


def _candidates(n: int) -> list[int]:
    """Column counts to try: 1..16, then geometric steps up to n."""
    out = list(range(1, min(n, 16) + 1))
    c = 16
    while c < n:
        c = min(n, int(c * 1.5) + 1)
        out.append(c)
    return out


def _largest_fitting(cost, step: int, limit: int, budget: int) -> int | None:
    """Largest multiple of ``step`` up to ``limit`` (rounded up) with ``cost(t) <= budget``."""
    lo, hi = 1, -(-limit // step)
    if cost(step) > budget:
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if cost(mid * step) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo * step


def run_tiled(dense, x: torch.Tensor, tile=None, max_memory_mb: float | None = None) -> torch.Tensor:
    """Run ``dense`` on ``x`` tile by tile; the result equals ``dense`` untiled."""
    b, _, height, width = x.shape
    plan = plan_tiles(dense, b, height, width, max_memory_mb, tile, x.element_size())
    if plan.grid == (1, 1):
        return dense.forward_padded(dense.pad(x))[:, :, :height, :width]
    ph, pw = dense.patch_size
    th, tw = plan.tile
    xp = dense.pad(x)
    sy, sx = dense.total_stride
    hr, wr = -(-height // sy) * sy, -(-width // sx) * sx
    out = x.new_empty(b, dense.out_channels, height, width)
    for y0 in range(0, hr, th):
        h = min(th, hr - y0)
        for x0 in range(0, wr, tw):
            w = min(tw, wr - x0)
            y = dense.forward_padded(xp[:, :, y0 : y0 + h + ph - 1, x0 : x0 + w + pw - 1])
            hh, ww = min(h, height - y0), min(w, width - x0)
            if hh > 0 and ww > 0:
                out[:, :, y0 : y0 + hh, x0 : x0 + ww] = y[:, :, :hh, :ww]
            del y
    return out


__all__ = ["TilePlan", "plan_tiles", "run_tiled", "activation_peak_bytes"]
