"""The JSON format of benchmark and pipeline results (schema "edge.bench/1").

Summary fields per result are a superset of trtexec's performance summary:

| trtexec                 | edge key                              |
| ---                     | ---                                   |
| Throughput (qps)        | throughput_qps (and fps = qps x batch) |
| Latency                 | latency_ms (host wall-clock of one synchronous inference, copies included) |
| Enqueue Time            | enqueue_time_ms                       |
| H2D Latency             | h2d_latency_ms                        |
| GPU Compute Time        | gpu_compute_time_ms (+ gpu_compute_no_copies_ms) |
| D2H Latency             | d2h_latency_ms                        |
| Total Host Walltime     | total_host_walltime_s                 |
| Total GPU Compute Time  | total_gpu_compute_time_s              |

Each statistic is {min, max, mean, median, p90, p95, p99, std, count} in ms; GPU fields are null when
the runner has no GPU split (CPU backends). A pipeline result ("kind": "pipeline") adds per-stage
timings, end-to-end latency and frame counters.
"""

from __future__ import annotations

SCHEMA_ID = "edge.bench/1"

_STATS = {
    "type": "object",
    "required": ["min", "max", "mean", "median", "p90", "p95", "p99", "count"],
    "properties": {k: {"type": "number", "minimum": 0} for k in ("min", "max", "mean", "median", "p90", "p95", "p99", "std")}
    | {"count": {"type": "integer", "minimum": 1}},
}
_OPT_STATS = {"anyOf": [{"type": "null"}, _STATS]}
_NUM_OR_NULL = {"type": ["number", "null"]}

RESULT_ROW = {
    "type": "object",
    "required": ["name", "artifact", "backend", "batch", "iterations", "throughput_qps", "fps", "latency_ms",
                 "enqueue_time_ms", "h2d_latency_ms", "gpu_compute_time_ms", "d2h_latency_ms",
                 "total_host_walltime_s", "total_gpu_compute_time_s", "memory", "power", "speedup"],
    "properties": {
        "name": {"type": "string"}, "artifact": {"type": "string"}, "backend": {"type": ["string", "null"]},
        "batch": {"type": "integer", "minimum": 1}, "iterations": {"type": "integer", "minimum": 1},
        "throughput_qps": {"type": "number", "exclusiveMinimum": 0}, "fps": {"type": "number", "exclusiveMinimum": 0},
        "latency_ms": _STATS, "enqueue_time_ms": _OPT_STATS, "h2d_latency_ms": _OPT_STATS,
        "gpu_compute_time_ms": _OPT_STATS, "d2h_latency_ms": _OPT_STATS,
        "total_host_walltime_s": {"type": "number", "minimum": 0}, "total_gpu_compute_time_s": _NUM_OR_NULL,
        "speedup": _NUM_OR_NULL,
        "memory": {"type": "object", "required": ["peak_rss_mb"], "properties": {"peak_rss_mb": {"type": "number"}}},
        "power": {"anyOf": [{"type": "null"}, {"type": "object", "required": ["source", "mean_power_w", "energy_j"]}]},
        "samples_ms": {"anyOf": [{"type": "null"}, {"type": "array", "items": {"type": "number"}}]},
        "stages_ms": {"type": "object", "additionalProperties": _OPT_STATS},
        "end_to_end_latency_ms": _OPT_STATS,
        "frames": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
    },
}

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "edge benchmark / pipeline result",
    "type": "object",
    "required": ["schema", "kind", "created", "environment", "config", "baseline", "results", "warnings"],
    "properties": {
        "schema": {"const": SCHEMA_ID},
        "kind": {"enum": ["bench", "pipeline"]},
        "created": {"type": "string"},
        "environment": {"type": "object", "required": ["cpu", "edge_version", "packages", "command", "gpu"]},
        "config": {"type": "object"},
        "baseline": {"type": ["string", "null"]},
        "results": {"type": "array", "minItems": 1, "items": RESULT_ROW},
        "device": {"type": ["object", "null"]},
        "warnings": {"type": "array", "items": {"type": "string"}},
    },
}


def validate(result: dict) -> None:
    """Raise jsonschema.ValidationError when ``result`` does not follow SCHEMA (needs jsonschema)."""
    from edge._lazy import lazy_import

    jsonschema = lazy_import("jsonschema", feature="validating benchmark JSON", install="pip install jsonschema")
    jsonschema.validate(result, SCHEMA)


__all__ = ["RESULT_ROW", "SCHEMA", "SCHEMA_ID", "validate"]
