"""PNG plots of a result with matplotlib's Agg canvas (no display, no global pyplot state).

- ``<stem>_latency.png``: latency distribution per artifact (box plot over every sample, p99 marked);
- ``<stem>_fps.png``: FPS bars and speed-up bars against the baseline.
"""

from __future__ import annotations

from pathlib import Path

from edge.io import atomic_path


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path) -> Path:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", bbox_inches="tight")
    return path


def plot_latency(result: dict, path: Path) -> Path | None:
    """Box plot of each artifact's latency samples (ms); None when no samples were kept."""
    rows = [r for r in result["results"] if r.get("samples_ms")]
    if not rows:
        return None
    fig = _figure(max(4.0, 1.4 * len(rows) + 2), 4.0)
    ax = fig.add_subplot(111)
    ax.boxplot([r["samples_ms"] for r in rows], whis=(1, 99), showfliers=True, flierprops={"markersize": 2})
    ax.set_xticks(range(1, len(rows) + 1), [_short(r["name"]) for r in rows], rotation=15, ha="right")
    for i, r in enumerate(rows, 1):
        ax.plot(i, r["latency_ms"]["p99"], marker="v", color="tab:red")
    ax.set_ylabel("latency (ms)")
    ax.set_title("latency per inference (box: quartiles, whiskers: p1-p99, red: p99)")
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def plot_fps(result: dict, path: Path) -> Path:
    """FPS bars (left) and speed-up vs the baseline (right)."""
    rows = result["results"]
    names = [_short(r["name"]) for r in rows]
    fig = _figure(max(6.0, 1.6 * len(rows) + 3), 4.0)
    ax1, ax2 = fig.add_subplot(121), fig.add_subplot(122)
    ax1.bar(names, [r["fps"] for r in rows], color="tab:blue")
    ax1.set_ylabel("frames per second")
    ax1.set_title("throughput")
    ax2.bar(names, [r.get("speedup") or 0 for r in rows], color="tab:green")
    ax2.axhline(1.0, color="black", linewidth=0.8)
    ax2.set_title(f"speed-up vs {_short(result.get('baseline') or '')}")
    for ax in (ax1, ax2):
        ax.tick_params(axis="x", rotation=15)
        ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def plot_result(result: dict, out: Path, stem: str = "bench") -> list[Path]:
    out = Path(out)
    paths = [plot_latency(result, out / f"{stem}_latency.png"), plot_fps(result, out / f"{stem}_fps.png")]
    return [p for p in paths if p is not None]


def _short(name: str, n: int = 28) -> str:
    return name if len(name) <= n else "…" + name[-(n - 1):]


__all__ = ["plot_fps", "plot_latency", "plot_result"]
