"""The timing loop: warm-up, then interleaved rounds over several artifacts in one process.

Machine drift (clock scaling, heat, other processes) moves every artifact alike when their rounds
alternate A B C A B C ..., so the ratios between artifacts are the headline figures. Each artifact's
timed windows are wrapped in a peak-RSS tracker and a power sampler; TensorRT runners are timed with
CUDA events (with and without host<->device copies).
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field

from edge.bench import gpu
from edge.bench.jetson import clock_warnings, snapshot
from edge.bench.load import load_artifact, random_feed
from edge.bench.memory import (
    current_rss_bytes,
    gpu_load_mb,
    nvmap_process_kb,
    track_peak_rss,
    unified_snapshot,
)
from edge.bench.power import PowerSampler, open_power, summarize_power
from edge.bench.stats import latency_stats, optional_stats, throughput
from edge.errors import InputError

DEFAULT_DURATION_S = 3.0  # per artifact, like trtexec's --duration=3
DEFAULT_WARMUP_S = 0.5
DEFAULT_ROUNDS = 5
NO_COPY_ITERS = 50  # compute-only iterations per round for TensorRT runners


@dataclass
class BenchOptions:
    """What to measure; None means default.

    iterations: timed inferences per artifact (overrides duration_s); duration_s: timed seconds per
    artifact (default 3); warmup_s: untimed seconds first (default 0.5, at least 2 calls); rounds:
    interleaved rounds (default 5); shapes: {input name or "": shape} for dynamic dims (others: batch 1,
    spatial 224); power: "auto" | "jtop" | "hwmon" | "off"; cuda_graph: ask TensorRT runners
    for CUDA-graph replay; keep_samples: store every latency in the JSON;
    threads: CPU threads of ONNX Runtime sessions (intra-op) and of torch (``torch.set_num_threads``, for
    the whole process) - None keeps each backend's default (all cores).
    """

    iterations: int | None = None
    duration_s: float | None = None
    warmup_s: float | None = None
    rounds: int | None = None
    shapes: dict | None = None
    power: str = "auto"
    cuda_graph: bool = False
    keep_samples: bool = True
    threads: int | None = None

    def resolved(self) -> BenchOptions:
        o = BenchOptions(**self.__dict__)
        o.rounds = o.rounds or DEFAULT_ROUNDS
        o.warmup_s = DEFAULT_WARMUP_S if o.warmup_s is None else o.warmup_s
        if o.iterations is None:
            o.duration_s = o.duration_s or DEFAULT_DURATION_S
        if (o.iterations is not None and o.iterations < 1) or (o.duration_s is not None and o.duration_s <= 0):
            raise InputError("iterations and duration must be positive")
        if o.threads is not None and o.threads < 1:
            raise InputError(f"threads must be >= 1 (or None for the backends' default), got {o.threads}")
        return o


@dataclass
class _Subject:
    """One artifact under test and everything measured for it."""

    name: str
    artifact: str
    runner: object
    feed: dict
    load_rss_mb: float
    host_ms: list = field(default_factory=list)
    enqueue_ms: list = field(default_factory=list)
    h2d_ms: list = field(default_factory=list)
    compute_ms: list = field(default_factory=list)
    d2h_ms: list = field(default_factory=list)
    no_copy_ms: list = field(default_factory=list)
    wall_s: float = 0.0
    peak_rss: int = 0
    power_samples: list = field(default_factory=list)
    device_used_mb: list = field(default_factory=list)
    events: object = None
    device_load_mb: float | None = None  # device memory taken by loading the engine + context
    load_memory: dict = field(default_factory=dict)  # gpu_load_mb(): the load figure with its scope
    nvmap_process_mb: list = field(default_factory=list)  # Jetson: this process's NvMap after each round
    owned: bool = True  # loaded here (deactivate at the end) rather than passed in as a Runner


def bench(artifacts: list, names: list | None = None, baseline: str | int | None = None,
          options: BenchOptions | None = None, backend: str | None = None, command=None) -> dict:
    """Benchmark ``artifacts`` (specs for ``edge.runtime.load`` or Runners) side by side.

    Returns the result dict of edge.bench.schema (environment, config, one entry per artifact with
    throughput, latency statistics, memory, power, speed-up against ``baseline`` — None means the first).
    """
    from edge.bench.env import environment
    from edge.bench.report import build_result

    if not artifacts:
        raise InputError("nothing to benchmark: give at least one artifact")
    opts = (options or BenchOptions()).resolved()
    names = names or [_display_name(a) for a in artifacts]
    if len(names) != len(artifacts):
        raise InputError(f"{len(names)} names for {len(artifacts)} artifacts: give one name per artifact")
    if len(set(names)) != len(names):
        names = [f"{i}:{n}" for i, n in enumerate(names)]
    if opts.threads:
        import torch

        torch.set_num_threads(opts.threads)
    before = snapshot()
    subjects = [_load(a, n, backend, opts) for a, n in zip(artifacts, names)]
    power, power_notes = open_power(opts.power)  # one jtop client for the whole run: the service keeps its interval
    try:
        for s in subjects:
            _warmup(s, opts.warmup_s)
        for r in range(opts.rounds):
            for s in subjects:
                _round(s, opts, r, power)
        after = snapshot()
        rows = [_summarize(s, opts) for s in subjects]
    finally:
        if power is not None:
            power.close()
        for s in subjects:
            if s.events is not None:
                s.events.close()
            if hasattr(s.runner, "deactivate") and s.owned:
                s.runner.deactivate()
    config = {k: v for k, v in opts.__dict__.items() if k != "shapes"}
    config["shapes"] = {k: list(v) for k, v in (opts.shapes or {}).items()}
    warnings = clock_warnings(before, after) + power_notes
    warnings += [w for r in rows for w in (r.get("power") or {}).get("warnings", [])]
    return build_result("bench", rows, environment(command), config, baseline, {"before": before, "after": after},
                        warnings)


def _display_name(artifact) -> str:
    if hasattr(artifact, "name"):
        return str(artifact.name)
    s = str(artifact)
    return s.rsplit("/", 1)[-1] if "/" in s and ":" not in s.rsplit("/", 1)[-1] else s


def _load(artifact, name: str, backend, opts: BenchOptions) -> _Subject:
    rss0 = current_rss_bytes()
    mem0, uni0 = gpu.device_memory(), unified_snapshot()
    extra = {"cuda_graph": True} if opts.cuda_graph else {}
    if opts.threads and _backend_of(artifact, backend) == "onnxruntime":
        extra["threads"] = opts.threads
    runner = load_artifact(artifact, backend=backend, **extra)
    feed = random_feed(runner.inputs, opts.shapes)
    s = _Subject(name, str(getattr(artifact, "name", artifact)), runner, feed, (current_rss_bytes() - rss0) / 2**20,
                 owned=runner is not artifact)
    if gpu.supports_gpu_timing(runner):
        s.events = gpu.CudaEvents(4, getattr(runner, "api", None))
        mem1 = gpu.device_memory()
        cuda_delta = mem1["used_mb"] - mem0["used_mb"] if mem0 and mem1 else None
        s.load_memory = gpu_load_mb(uni0, unified_snapshot(), cuda_delta)
        s.device_load_mb = s.load_memory["device_load_mb"]
    return s


def _backend_of(artifact, backend: str | None) -> str | None:
    """The backend ``edge.runtime.load`` will pick for ``artifact`` (None if it cannot tell: it will say why)."""
    from edge.errors import EdgeError
    from edge.runtime.loader import backend_for
    from edge.spec import is_factory_spec

    if backend or is_factory_spec(artifact):
        return backend or "torch"
    try:
        return backend_for(artifact)
    except EdgeError:
        return None


def _step(s: _Subject) -> None:
    if s.events is not None:
        t = gpu.time_with_copies(s.runner, s.feed, s.events)
        s.host_ms.append(t["host_ms"])
        s.enqueue_ms.append(t["enqueue_ms"])
        s.h2d_ms.append(t["h2d_ms"])
        s.compute_ms.append(t["compute_ms"])
        s.d2h_ms.append(t["d2h_ms"])
        return
    t0 = time.perf_counter()
    s.runner.infer(s.feed)
    s.host_ms.append(1000 * (time.perf_counter() - t0))


def _warmup(s: _Subject, seconds: float) -> None:
    t0, n = time.perf_counter(), 0
    while n < 2 or time.perf_counter() - t0 < seconds:
        s.runner.infer(s.feed)
        n += 1
    del s.host_ms[:]


def _round(s: _Subject, opts: BenchOptions, r: int, power=None) -> None:
    """One timed window of ``s``: a share of the iterations or of the duration."""
    if opts.iterations is not None:
        quota = opts.iterations // opts.rounds + (1 if r < opts.iterations % opts.rounds else 0)
        budget = math.inf
        if quota == 0:  # fewer iterations than rounds: this round has none
            return
    else:
        quota, budget = None, opts.duration_s / opts.rounds
    sampler = PowerSampler(power if power is not None else "off")
    n0 = len(s.host_ms)
    watch = gpu.DeviceMemoryWatch() if s.events is not None else contextlib.nullcontext()
    with track_peak_rss() as mem, sampler, watch:
        t0 = time.perf_counter()
        while True:
            _step(s)
            done = len(s.host_ms) - n0
            if (quota is not None and done >= quota) or (quota is None and time.perf_counter() - t0 >= budget):
                break
        s.wall_s += time.perf_counter() - t0
    s.peak_rss = max(s.peak_rss, mem.peak_bytes)
    s.power_samples.append((sampler.samples, len(s.host_ms) - n0, sampler.kind, sampler.interval_s))
    if s.events is not None:
        s.no_copy_ms.extend(gpu.time_compute_only(s.runner, s.events) for _ in range(NO_COPY_ITERS))
        if watch.peak_used_mb is not None:
            s.device_used_mb.append(watch.peak_used_mb)
        if (kb := nvmap_process_kb()) is not None:
            s.nvmap_process_mb.append(kb / 1024)


def _summarize(s: _Subject, opts: BenchOptions) -> dict:
    shapes = {k: v.shape for k, v in s.feed.items()}
    first = next(iter(shapes.values()), ())
    batch = int(first[0]) if first else 1
    tp = throughput(len(s.host_ms), s.wall_s, batch)
    return {
        "name": s.name, "artifact": s.artifact, "backend": getattr(s.runner, "backend", None), "batch": batch,
        "input_shapes": {k: list(v) for k, v in shapes.items()}, "iterations": len(s.host_ms),
        "rounds": opts.rounds, "total_host_walltime_s": s.wall_s, "throughput_qps": tp["qps"], "fps": tp["fps"],
        "latency_ms": latency_stats(s.host_ms), "enqueue_time_ms": optional_stats(s.enqueue_ms),
        "h2d_latency_ms": optional_stats(s.h2d_ms), "gpu_compute_time_ms": optional_stats(s.compute_ms),
        "d2h_latency_ms": optional_stats(s.d2h_ms), "gpu_compute_no_copies_ms": optional_stats(s.no_copy_ms),
        "total_gpu_compute_time_s": sum(s.compute_ms) / 1000 if s.compute_ms else None,
        "cuda_graph": bool(getattr(s.runner, "cuda_graph", False)) if s.events is not None else None,
        "memory": _memory(s),
        "power": _power(s), "samples_ms": list(s.host_ms) if opts.keep_samples else None,
    }


def _memory(s: _Subject) -> dict:
    """Memory of one artifact. On Jetson's unified memory cudaMemGetInfo is board-wide (page cache and
    other processes count): its figures carry a scope label, and the per-process NvMap figure (when
    debugfs is readable) is added to the peak RSS, which misses GPU allocations."""
    gpu_mb = max(s.nvmap_process_mb) if s.nvmap_process_mb else None
    unified = "board_used_scope" in s.load_memory
    out = {"peak_rss_mb": s.peak_rss / 2**20, "load_rss_mb": s.load_rss_mb,
           "device_used_mb_max": max(s.device_used_mb) if s.device_used_mb else None,
           "device_used_scope": ("board-wide (unified memory)" if unified else "device") if s.device_used_mb else None,
           "device_load_mb": s.device_load_mb, "engine_device_mb": _engine_mb(s.runner),
           "process_gpu_mb_max": gpu_mb,
           "peak_rss_plus_gpu_mb": s.peak_rss / 2**20 + gpu_mb if gpu_mb is not None else None}
    out.update({k: v for k, v in s.load_memory.items() if k != "device_load_mb"})
    return out


def _engine_mb(runner) -> float | None:
    """Device memory the TensorRT engine's execution context needs (ICudaEngine.device_memory_size)."""
    b = getattr(runner, "device_memory_bytes", None)
    engine = getattr(runner, "engine", None)
    if b is None and engine is not None:
        b = getattr(engine, "device_memory_size_v2", None) or getattr(engine, "device_memory_size", None)
    return b / 2**20 if isinstance(b, (int, float)) else None


def _power(s: _Subject) -> dict | None:
    """Merge the per-round power windows of one artifact into one energy figure."""
    parts = [(summarize_power(smp, n, kind, dt), n) for smp, n, kind, dt in s.power_samples]
    parts = [(p, n) for p, n in parts if p]
    if not parts:
        return None
    energy, window, n = sum(p["energy_j"] for p, _ in parts), sum(p["window_s"] for p, _ in parts), sum(k for _, k in parts)
    out = dict(parts[0][0])
    out.update(samples=sum(p["samples"] for p, _ in parts), window_s=window, energy_j=energy,
               mean_power_w=energy / window if window else out["mean_power_w"],
               energy_per_inference_mj=1000 * energy / n if n else None, warnings=[])
    if out["samples"] < 10:
        out["warnings"] = [f"only {out['samples']} power samples: measure longer for a trustworthy energy figure"]
    return out


__all__ = ["DEFAULT_DURATION_S", "DEFAULT_ROUNDS", "DEFAULT_WARMUP_S", "BenchOptions", "bench"]
