"""``edge doctor``: check this machine for edge (JetPack, CUDA, GPU, TensorRT, plugins, camera, power).

One line per check, OK / WARN / FAIL / SKIP, and the fix when it is not OK. ``--json`` prints the same as
JSON; ``--full`` also builds the plugins and runs the device tests and benchmark, and writes one report
file. Exit code: 0 when nothing FAILs, 1 when a check or step FAILs, 2 on bad arguments.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import click

from edge.errors import InputError


@click.command()
@click.option("--json", "as_json", is_flag=True,
              help="Print the report as JSON: schema, edge_version, host, checks [{name, status, value, fix, "
                   "detail}], summary, steps (with --full), exit_code.")
@click.option("--full", is_flag=True,
              help="Also build the plugins, run the CUDA kernel harness, the needs_gpu/needs_trt tests and "
                   "scripts/bench_plugins.py (each with a timeout; under 10 minutes on an Orin Nano), and write "
                   "one report file (Markdown with the JSON at its end). Steps that cannot run here are SKIP.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --full: the report file (default edge-doctor-<host>-<time>.md in this folder).")
@click.option("--steps", default=None, help="With --full: only these steps, comma-separated "
              "(build,harness,tests,bench).")
@click.option("--build-dir", default="build/plugins", show_default=True,
              help="With --full: where the build step builds the plugins (relative to the repository root); the "
                   "later steps load the libraries from there.")
@click.option("--root", default="/", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Read the board's files below this folder (a recorded sysfs/procfs tree); commands such as "
                   "nvpmodel are then not run.")
@click.pass_context
def doctor(ctx, as_json: bool, full: bool, report_path: Path | None, steps: str | None, build_dir: str,
           root: Path):
    """Check this machine for edge; attach `edge doctor --json` to bug reports.

    \b
    Exit code: 0 nothing FAILs (OK, WARN and SKIP lines only), 1 a check or --full step FAILs, 2 bad arguments.
    """
    from edge.doctor import Host, exit_code, format_text, report, run_checks

    if not root.is_dir():
        raise InputError(f"--root {root} is not a folder. Fix: give the root of a recorded tree, or leave it out")
    if (report_path or steps) and not full:
        raise InputError("--report and --steps go with --full. Fix: add --full")
    host = Host(root)
    results, path = None, None
    with _stdout_to_stderr(as_json):  # native libraries (TensorRT's logger) may print on fd 1
        checks = run_checks(host)
        if full:
            from edge.doctor.full import run_full

            only = [s.strip() for s in steps.split(",") if s.strip()] if steps else None
            try:
                doc, path = run_full(checks, host, report_path, only, build_dir=build_dir)
            except OSError as e:  # the report's folder is not writable, a disk is full
                raise InputError(f"cannot write the --full report: {e}. Fix: give --report a writable path") from e
            results = doc["steps"]
    if as_json:
        doc = report(checks, host, results)
        if path is not None:
            doc["report"] = str(path)
        click.echo(json.dumps(doc, indent=2, default=str))
    else:
        if not host.live:
            click.echo(f"root {root}: board files read from this tree; Python packages and the GPU not from it\n")
        click.echo(format_text(checks))
        if results is not None:
            click.echo(_steps_text(results))
            click.echo(f"report written to {path}")
    ctx.exit(exit_code(checks, results or []))


@contextlib.contextmanager
def _stdout_to_stderr(active: bool):
    """While active, whatever writes to file descriptor 1 (Python or a C library) goes to stderr, so that
    ``--json`` output stays one JSON document."""
    if not active:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _steps_text(results: list[dict]) -> str:
    lines = ["", "--full steps:"]
    for r in results:
        lines.append(f"{r['status']:<4}  {r['name']:<8} {r['seconds']:>6.1f} s  {r['reason']}")
    return "\n".join(lines)
