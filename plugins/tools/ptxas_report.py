#!/usr/bin/env python3
"""Kernel resource report of the plugin kernels: registers, spills and stack frame per kernel and architecture.

Compiles each CUDA source of plugins/ with ``nvcc -Xptxas -v`` once per architecture (the flags of the CMake
build: -O3 -std=c++17 --expt-relaxed-constexpr), parses ptxas' lines

    ptxas info    : Compiling entry function '<mangled>' for 'sm_87'
        120 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
    ptxas info    : Used 46 registers, used 0 barriers, 120 bytes cumulative stack size, 496 bytes cmem[0]

and prints a Markdown table. ``--check`` exits 1 when a kernel spills or has a stack frame (local memory the
index math should never need); ctest runs it so (test ``kernel_resources``). ``--write-readme`` replaces the table
between the markers in plugins/README.md.

    python3 plugins/tools/ptxas_report.py --arch "87;110" --check
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

PLUGINS = Path(__file__).resolve().parents[1]
SOURCES = ["multipool_unwarp/multipool_unwarp_kernel.cu", "sample_interp/sample_interp_kernel.cu"]
FLAGS = ["-O3", "-std=c++17", "--expt-relaxed-constexpr"]
BEGIN, END = "<!-- ptxas-report:begin -->", "<!-- ptxas-report:end -->"

ENTRY = re.compile(r"Compiling entry function '([^']+)' for '(sm_\w+)'")
FRAME = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
USED = re.compile(r"Used (\d+) registers")


@dataclass
class Kernel:
    """Resources of one kernel instantiation on one architecture."""
    source: str
    name: str
    arch: str
    registers: int = -1
    stack: int = 0
    spill_stores: int = 0
    spill_loads: int = 0


def nvcc_release(nvcc: str) -> str:
    """'13.0' from ``nvcc --version`` ('' when unreadable)."""
    out = subprocess.run([nvcc, "--version"], capture_output=True, text=True, check=False).stdout
    m = re.search(r"release (\d+\.\d+)", out)
    return m.group(1) if m else ""


def demangle(names: list[str]) -> list[str]:
    """Readable kernel names: c++filt when present, without namespaces and parameter lists."""
    if not shutil.which("c++filt"):
        return names
    out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True, check=False).stdout.splitlines()
    short = []
    for full in out:
        full = full.replace("(anonymous namespace)::", "").split("(")[0]  # drop the parameter list
        full = re.sub(r"^void ", "", re.sub(r"\b[\w:]*::", "", full))
        short.append(full.replace("__half", "half").replace("long", "int64_t").replace(" int>", " int32_t>"))
    return short


def parse(source: str, text: str) -> list[Kernel]:
    """Kernels of one ptxas -v output, in the order ptxas reports them."""
    kernels: list[Kernel] = []
    for line in text.splitlines():
        if m := ENTRY.search(line):
            kernels.append(Kernel(source, m.group(1), m.group(2)))
        elif kernels and (m := FRAME.search(line)):
            k = kernels[-1]
            k.stack, k.spill_stores, k.spill_loads = (int(v) for v in m.groups())
        elif kernels and (m := USED.search(line)):
            kernels[-1].registers = int(m.group(1))
    for k, name in zip(kernels, demangle([k.name for k in kernels])):
        k.name = name
    return kernels


def compile_report(nvcc: str, archs: list[str], extra: list[str]) -> list[Kernel]:
    """Compiles every source for every architecture with -Xptxas -v; raises RuntimeError on a compile error."""
    kernels: list[Kernel] = []
    with tempfile.TemporaryDirectory() as tmp:
        for src in SOURCES:
            for arch in archs:
                cmd = [nvcc, "-c", *FLAGS, *extra, f"-gencode=arch=compute_{arch},code=sm_{arch}", "-Xptxas", "-v",
                       str(PLUGINS / src), "-o", str(Path(tmp) / "k.o")]
                proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
                if proc.returncode != 0:
                    raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-4000:]}")
                kernels += parse(src, proc.stdout + proc.stderr)
    return kernels


def markdown(kernels: list[Kernel], release: str) -> str:
    """The table recorded in plugins/README.md."""
    lines = [f"nvcc {release}, `{' '.join(FLAGS)} -Xptxas -v` (`python3 plugins/tools/ptxas_report.py`):", "",
             "| source | kernel | arch | registers | stack frame (B) | spill stores (B) | spill loads (B) |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for k in sorted(kernels, key=lambda k: (k.source, k.name, k.arch)):
        lines.append(f"| {Path(k.source).name} | `{k.name}` | {k.arch} | {k.registers} | {k.stack} | "
                     f"{k.spill_stores} | {k.spill_loads} |")
    return "\n".join(lines)


def problems(kernels: list[Kernel]) -> list[str]:
    """One line per kernel that spills or uses a stack frame."""
    return [f"{k.source}: {k.name} on {k.arch}: {k.spill_stores} B spill stores, {k.spill_loads} B spill loads, "
            f"{k.stack} B stack frame" for k in kernels if k.spill_stores or k.spill_loads or k.stack]


def write_readme(path: Path, table: str) -> None:
    text = path.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{path} has no {BEGIN} ... {END} markers")
    head, rest = text.split(BEGIN, 1)
    path.write_text(head + BEGIN + "\n" + table + "\n" + END + rest.split(END, 1)[1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nvcc", default=shutil.which("nvcc") or "/usr/local/cuda/bin/nvcc")
    ap.add_argument("--arch", default="87;110", help="CMAKE_CUDA_ARCHITECTURES-style list, e.g. '87;110'")
    ap.add_argument("--flag", action="append", default=[], help="extra nvcc flag (repeatable)")
    ap.add_argument("--check", action="store_true", help="exit 1 when a kernel spills or has a stack frame")
    ap.add_argument("--write-readme", type=Path, help="replace the table between the markers of this file")
    args = ap.parse_args(argv)
    archs = [a.split("-")[0] for a in re.split(r"[;, ]+", args.arch) if a]
    kernels = compile_report(args.nvcc, archs, args.flag)
    if not kernels:
        print("ptxas_report: no kernel found in the ptxas output", file=sys.stderr)
        return 1
    table = markdown(kernels, nvcc_release(args.nvcc))
    print(table)
    if args.write_readme:
        write_readme(args.write_readme, table)
    bad = problems(kernels)
    if args.check and bad:
        print("ptxas_report: FAILED: register spills or stack frames:\n  " + "\n  ".join(bad), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
