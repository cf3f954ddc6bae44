"""``edge doctor``: a self-check of the machine edge runs on, one line per check (OK / WARN / FAIL / SKIP).

Run it first on a Jetson and attach its ``--json`` output to a bug report. :func:`run_checks` runs every
probe of :data:`PROBES` against a :class:`Host`; ``edge doctor --full`` adds the on-device steps of
:mod:`edge.doctor.full`. Exit code of the command: 0 when nothing FAILs, 1 otherwise (2: bad arguments).

Files are read below ``root`` ("/" by default), so tests and bug triage can point the probes at a recorded
tree (tests/data/jetson); Python packages and the GPU are always those of the running interpreter.
"""

from __future__ import annotations

import platform
import time

from edge.doctor import board, device, plugins, stack
from edge.doctor.core import (
    FAIL,
    OK,
    SCHEMA,
    SKIP,
    STATUSES,
    WARN,
    Check,
    CommandResult,
    Host,
    exit_code,
    format_text,
    run_probes,
    summary,
)

#: (name, probe) in the order the report prints them
PROBES = [
    ("L4T release", device.probe_l4t),
    ("module", device.probe_model),
    ("CUDA driver", device.probe_driver),
    ("CUDA runtime", device.probe_toolkit),
    ("GPU", device.probe_gpu),
    ("Python", stack.probe_python),
    ("TensorRT", stack.probe_tensorrt),
    ("cuda-python", stack.probe_cuda_python),
    ("torch", stack.probe_torch),
    ("onnxruntime", stack.probe_onnxruntime),
    ("TensorRT plugins", plugins.probe_plugin_library),
    ("CPU reference library", plugins.probe_ref_library),
    ("CPU kernel", plugins.probe_native_kernel),
    ("OpenCV", stack.probe_opencv),
    ("power rails", board.probe_power),
    ("nvpmodel", board.probe_nvpmodel),
    ("clocks", board.probe_clocks),
    ("jtop", board.probe_jtop),
]


def run_checks(host: Host | None = None, only: list[str] | None = None) -> list[Check]:
    """Every probe's result for ``host`` (default: this machine); ``only`` keeps the named probes."""
    host = host or Host()
    probes = [(n, p) for n, p in PROBES if only is None or n in only]
    return run_probes(host, probes)


def report(checks: list[Check], host: Host, steps: list[dict] | None = None) -> dict:
    """The JSON document of ``edge doctor --json`` (keys are stable; ``schema`` changes when they do)."""
    from edge import __version__

    doc = {"schema": SCHEMA, "edge_version": __version__, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
           "host": platform.node(), "machine": platform.machine(), "python": platform.python_version(),
           "root": str(host.root), "checks": [c.to_dict() for c in checks], "summary": summary(checks)}
    if steps is not None:
        doc["steps"] = steps
    doc["exit_code"] = exit_code(checks, steps or [])
    return doc


__all__ = ["FAIL", "OK", "PROBES", "SCHEMA", "SKIP", "STATUSES", "WARN", "Check", "CommandResult", "Host",
           "exit_code", "format_text", "report", "run_checks", "summary"]
