"""Kernel resource report (plugins/tools/ptxas_report.py): ptxas -v parsing, no spills or stack frames in any
kernel, and the table recorded in plugins/README.md up to date for the nvcc it names."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NVCC = os.environ.get("EDGE_TEST_NVCC", "/usr/local/cuda/bin/nvcc")


def _report():
    spec = importlib.util.spec_from_file_location("ptxas_report", REPO / "plugins" / "tools" / "ptxas_report.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


# ptxas 13.0's output for the unwarp kernel before its layer loop was unrolled (the defect this report guards)
OLD_UNWARP = """\
ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function '_ZN4edge6unwarp12gatherKernelIfEEvNS0_6ParamsEPKT_PS3_l' for 'sm_87'
ptxas info    : Function properties for _ZN4edge6unwarp12gatherKernelIfEEvNS0_6ParamsEPKT_PS3_l
    120 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 46 registers, used 0 barriers, 120 bytes cumulative stack size, 496 bytes cmem[0]
ptxas info    : Compiling entry function '_ZN4edge7sinterp13compactKernelIfEEvPKT_lPiS5_' for 'sm_87'
ptxas info    : Function properties for _ZN4edge7sinterp13compactKernelIfEEvPKT_lPiS5_
    0 bytes stack frame, 8 bytes spill stores, 4 bytes spill loads
ptxas info    : Used 12 registers, used 0 barriers, 384 bytes cmem[0]
"""


def test_parse_reads_registers_stack_and_spills():
    r = _report()
    kernels = r.parse("k.cu", OLD_UNWARP)
    assert [(k.arch, k.registers, k.stack, k.spill_stores, k.spill_loads) for k in kernels] == [
        ("sm_87", 46, 120, 0, 0), ("sm_87", 12, 0, 8, 4)]
    bad = r.problems(kernels)
    assert len(bad) == 2 and "120 B stack frame" in bad[0] and "8 B spill stores" in bad[1]
    table = r.markdown(kernels, "13.0")
    assert "| k.cu | " in table and "| sm_87 | 46 | 120 | 0 | 0 |" in table


@pytest.mark.slow
@pytest.mark.skipif(not Path(NVCC).is_file(), reason=f"no nvcc at {NVCC} (set EDGE_TEST_NVCC)")
def test_no_kernel_spills_or_uses_a_stack_frame_and_the_readme_table_is_current():
    r = _report()
    release = r.nvcc_release(NVCC)
    archs = ["87", "110"] if int(release.split(".")[0]) >= 13 else ["87"]
    kernels = r.compile_report(NVCC, archs, [])
    assert {k.arch for k in kernels} == {f"sm_{a}" for a in archs}
    assert len(kernels) == 10 * len(archs)  # 4 unwarp + 6 sample-interp instantiations per architecture
    assert r.problems(kernels) == []
    readme = (REPO / "plugins" / "README.md").read_text()
    recorded = readme.split(r.BEGIN, 1)[1].split(r.END, 1)[0].strip()
    m = re.match(r"nvcc (\d+\.\d+)", recorded)
    if m and m.group(1) == release and archs == ["87", "110"]:
        assert recorded == r.markdown(kernels, release), \
            "plugins/README.md's kernel table is stale: python3 plugins/tools/ptxas_report.py --write-readme " \
            "plugins/README.md"
