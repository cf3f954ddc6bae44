"""Which CPU kernel edge runs, and where its native library came from (for ``edge demo``'s header and
``edge doctor``)."""

from __future__ import annotations

from typing import Any


def kernel_info() -> dict[str, Any]:
    """Which kernel runs sample-interp on the CPU, and from where. Never warns, never raises.

    Returns:
        dict with ``kernel`` ("native": libedge_ref.so's fast path, or "torch": the PyTorch fallback),
        ``library`` (path of the loaded libedge_ref.so or None), ``origin`` ("argument", "EDGE_PLUGIN_DIR",
        "source checkout", "package", "other" or None), ``openmp`` (bool or None), ``reason`` (why the
        native kernel does not run, None when it does), ``fix`` (how to get it, None when it runs) and
        ``summary`` (one line for a header).
    """
    from pathlib import Path

    from edge.errors import EdgeError
    from edge.native import sample_interp_cpu as fast
    from edge.native._lib import origin_of

    path = fast.library_path()
    reason, fix = fast.short_reason(), fast.SLOW_PATH_FIX
    kernel = "torch"
    if path is not None:
        try:
            kernel = "torch" if fast.requested_backend() == "torch" else "native"
        except EdgeError as e:  # a bad EDGE_SAMPLE_INTERP_BACKEND value
            reason = str(e).splitlines()[0]
        if kernel != "native" and reason is None:
            reason = "EDGE_SAMPLE_INTERP_BACKEND=torch chooses it"
        fix = "unset EDGE_SAMPLE_INTERP_BACKEND"
    info: dict[str, Any] = {
        "kernel": kernel, "library": path, "origin": origin_of(Path(path)) if path else None,
        "openmp": fast.openmp(), "reason": None if kernel == "native" else reason,
        "fix": None if kernel == "native" else fix}
    if kernel == "native":
        threads = "OpenMP" if info["openmp"] else "one thread"
        info["summary"] = f"sample-interp CPU kernel: native ({threads}), {path} ({info['origin']})"
    else:
        info["summary"] = f"sample-interp CPU kernel: PyTorch fallback (slow path): {info['reason']}"
    return info
