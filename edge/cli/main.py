"""``edge`` entry point: a click group whose subcommands are imported only when used.

Each subcommand lives in ``edge/cli/<name>.py`` and is listed in ``COMMANDS`` as
``name -> "module:attribute"``; ``edge --help`` lists them with their one-line help.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from edge import __version__
from edge.errors import EdgeError

COMMANDS = {
    "demo": ("edge.cli.demo:demo", "Run the end-to-end demonstration (dense form, exactness, speed)."),
    "dense": ("edge.cli.dense:dense", "Convert a patch network to its dense form; check equivalence."),
    "quantize": ("edge.cli.quantize:quantize", "Calibrate and quantize an ONNX to INT8 Q/DQ with an accuracy gate (or FP16)."),
    "build": ("edge.cli.build:build", "Build a TensorRT engine (10.x/11.x) from ONNX, with a manifest."),
    "analyze": ("edge.cli.analyze:analyze", "Per-layer FLOPs/params/memory-access table; two models side by side."),
    "distill": ("edge.cli.distill:distill", "Fine-tune a converted model (SPConv/CSP/sample-interp) from its original."),
    "bench": ("edge.cli.bench:bench", "Benchmark artifacts side by side (FPS, latency percentiles, memory, power)."),
    "run": ("edge.cli.run:run", "Run a model on a camera/video/image source (threaded pipeline, summary)."),
    "compare": ("edge.cli.compare:compare", "Run artifacts on identical inputs; compare outputs (exit 0/1)."),
    "export": ("edge.cli.export:export", "Export a model to ONNX: TensorRT plugin nodes or portable standard ops."),
    "check": ("edge.cli.check:check", "Check an ONNX file against TensorRT's ONNX parser rules (10.3, 10.13, 11), no TensorRT needed."),
    "doctor": ("edge.cli.doctor:doctor", "Check this machine (JetPack, CUDA, GPU, TensorRT, plugins, camera, power)."),
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand runs."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        target, _ = COMMANDS[name]
        mod, attr = target.split(":")
        return getattr(importlib.import_module(mod), attr)

    def format_commands(self, ctx, formatter):
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="edge")
@click.option("--trust-pickle", is_flag=True,
              help="Allow PyTorch files that are pickled modules: loading one runs the code it names. Only for "
                   "files from a source you trust (same as EDGE_TRUST_PICKLE=1).")
def cli(trust_pickle: bool):
    """edge: make convolutional networks fast on NVIDIA Jetson-class GPUs.

    Restructure a PyTorch CNN (dense, SPConv, CSP, sample-interp forms), export it to ONNX with
    TensorRT plugin nodes, quantize, build engines, benchmark and run camera pipelines.
    """
    if trust_pickle:  # for this invocation only: the environment is restored when the command ends
        from edge.spec import TRUST_PICKLE_ENV

        before = os.environ.get(TRUST_PICKLE_ENV)
        os.environ[TRUST_PICKLE_ENV] = "1"
        click.get_current_context().call_on_close(
            lambda: os.environ.pop(TRUST_PICKLE_ENV) if before is None else os.environ.update({TRUST_PICKLE_ENV: before}))


def main(argv=None) -> int:
    """Console-script entry: EdgeErrors print one clear line and exit 2; bugs keep their traceback."""
    try:
        rc = cli.main(args=argv, prog_name="edge", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except EdgeError as e:
        click.echo(f"error: {e}", err=True)
        return 2
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":
    sys.exit(main())
