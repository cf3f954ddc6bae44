"""edge doctor: the command here (exit code, JSON schema), probes on recorded Jetson trees, failures as lines.

The trees are built in tmp_path from tests/data/jetson/sysfs_orin_nano (INA3221 hwmon, cpufreq, GPU devfreq)
plus the files the doctor reads for identity, in the formats jetson_stats parses
(``jtop/core/jetson_variables.py``): ``/etc/nv_tegra_release`` and ``/proc/device-tree/model``. The AGX Thor
input monitor is an INA238 (Linux Documentation/hwmon/ina238.rst: in1_input mV, curr1_input mA,
power1_input uW).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from edge.cli.main import main
from edge.doctor import FAIL, OK, PROBES, SKIP, STATUSES, WARN, Check, Host, run_checks
from edge.doctor.core import run_probes
from edge.doctor.stack import dist_version

DATA = Path(__file__).resolve().parents[1] / "data" / "jetson"
RELEASE_36_4_3 = ("# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, EABI: aarch64, "
                  "DATE: Wed Jan  8 01:49:37 UTC 2025\n# KERNEL_VARIANT: oot\n")
ORIN_NANO = "NVIDIA Jetson Orin Nano Developer Kit\x00"
BOARD = ["L4T release", "module", "power rails", "nvpmodel", "clocks", "jtop"]


def jetson_tree(tmp_path: Path, tree: str = "sysfs_orin_nano", release: str | None = RELEASE_36_4_3,
                model: str | None = ORIN_NANO) -> Path:
    """A copy of a recorded sysfs tree with the identity files added."""
    root = tmp_path / tree
    shutil.copytree(DATA / tree, root)
    if release is not None:
        (root / "etc").mkdir()
        (root / "etc" / "nv_tegra_release").write_text(release)
    if model is not None:
        (root / "proc" / "device-tree").mkdir(parents=True)
        (root / "proc" / "device-tree" / "model").write_text(model)
    return root


def orin_nano_tree(tmp_path: Path, release: str | None = RELEASE_36_4_3, model: str | None = ORIN_NANO) -> Path:
    return jetson_tree(tmp_path, "sysfs_orin_nano", release, model)


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


# ------------------------------------------------------------------------------------------- here
def test_doctor_runs_here_one_line_per_check(capsys):
    rc = main(["doctor"])
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if ln[:4].strip() in STATUSES]
    assert [ln[6:].split("  ")[0].strip() for ln in lines] == [n for n, _ in PROBES]
    assert rc == (1 if any(ln.startswith(FAIL) for ln in lines) else 0)
    # nothing on this machine is a Jetson: the board lines are SKIP, never OK
    assert all(ln.startswith(SKIP) for ln in lines if ln[6:].split("  ")[0].strip() in ("nvpmodel", "jtop"))


JSON_SCHEMA = {
    "type": "object",
    "required": ["schema", "edge_version", "time", "host", "machine", "python", "root", "checks", "summary",
                 "exit_code"],
    "properties": {
        "schema": {"const": 1},
        "exit_code": {"enum": [0, 1]},
        "summary": {"type": "object", "required": list(STATUSES), "additionalProperties": {"type": "integer"}},
        "checks": {"type": "array", "items": {
            "type": "object", "required": ["name", "status", "value", "fix", "detail"],
            "additionalProperties": False,
            "properties": {"name": {"type": "string"}, "status": {"enum": list(STATUSES)},
                           "value": {"type": ["string", "null"]}, "fix": {"type": ["string", "null"]},
                           "detail": {"type": "object"}}}},
    },
}


def test_doctor_json_schema(capsys):
    jsonschema = pytest.importorskip("jsonschema")
    rc = main(["doctor", "--json"])
    doc = json.loads(capsys.readouterr().out)
    jsonschema.validate(doc, JSON_SCHEMA)
    assert [c["name"] for c in doc["checks"]] == [n for n, _ in PROBES]
    assert doc["exit_code"] == rc == (1 if any(c["status"] == FAIL for c in doc["checks"]) else 0)
    assert sum(doc["summary"].values()) == len(doc["checks"])
    assert all(c["fix"] is None for c in doc["checks"] if c["status"] == OK)


@pytest.mark.parametrize("argv", [["doctor", "--root", "/no/such/tree"], ["doctor", "--report", "x.md"],
                                  ["doctor", "--steps", "build"], ["doctor", "--full", "--steps", "nope"],
                                  ["doctor", "--full", "--steps", "bench", "--report", "/proc/no/such/r.md"]])
def test_doctor_bad_arguments_exit_2(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and ("Fix:" in err or "the steps are build, harness, tests, bench" in err), err
    assert not list(tmp_path.iterdir())  # no report half-written


# ------------------------------------------------------------------------------------------- recorded trees
def test_orin_nano_tree_module_l4t_rails_clocks(tmp_path):
    root = orin_nano_tree(tmp_path)
    nvp = (DATA / "nvpmodel_q.txt").read_text()
    checks = by_name(run_checks(Host(root, commands={"nvpmodel -q": nvp}), only=BOARD))
    assert checks["module"].status == OK and checks["module"].value == "NVIDIA Jetson Orin Nano Developer Kit"
    l4t = checks["L4T release"]
    assert l4t.status == OK and l4t.value.startswith("L4T 36.4.3 (JetPack 6.2) from ") and "/etc/nv_tegra_release" in l4t.value
    rails = checks["power rails"]
    assert rails.status == OK, rails
    assert [s["rail"] for s in rails.detail["sensors"]] == ["VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"]
    assert "VDD_IN" in rails.value and "1-0040" in rails.value
    assert checks["nvpmodel"].status == OK and checks["nvpmodel"].value == "15W (mode 2)"
    clk = checks["clocks"]
    assert clk.status == OK and clk.value.startswith("GPU ") and "CPU x2" in clk.value


# the trees of tests/data/jetson (see its README for where each layout comes from), with the identity files
# of the module: L4T release lines as jetson_stats parses them, device-tree model names
MODULES = [
    ("sysfs_orin_nano", RELEASE_36_4_3, "NVIDIA Jetson Orin Nano Developer Kit", "L4T 36.4.3 (JetPack 6.2)",
     ["VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"]),
    ("sysfs_agx_orin", "# R36 (release), REVISION: 4.4, GCID: 41062509, BOARD: generic, EABI: aarch64\n",
     "NVIDIA Jetson AGX Orin Developer Kit", "L4T 36.4.4 (JetPack 6.2.1)",
     ["VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0", "VDDQ_VDD2_1V8AO"]),
    ("sysfs_agx_thor", "# R38 (release), REVISION: 2.0, GCID: 41844464, BOARD: generic, EABI: aarch64\n",
     "NVIDIA Jetson AGX Thor Developer Kit", "L4T 38.2.0 (JetPack 7.0)",
     ["VDD_GPU", "VDD_CPU_SOC_MSS", "VIN_SYS_5V0", "VIN"]),
]


@pytest.mark.parametrize("tree, release, model, l4t, rails", MODULES, ids=[m[0] for m in MODULES])
def test_recorded_modules_report_model_l4t_and_rails(tmp_path, tree, release, model, l4t, rails):
    root = jetson_tree(tmp_path, tree, release, model + "\x00")
    checks = by_name(run_checks(Host(root, commands={}), only=["L4T release", "module", "power rails"]))
    assert checks["module"].status == OK and checks["module"].value == model
    assert checks["L4T release"].status == OK and checks["L4T release"].value.startswith(l4t + " from ")
    power = checks["power rails"]
    assert [s["rail"] for s in power.detail["sensors"]] == rails  # NC channels left out
    assert power.status == OK and sorted(power.detail["rails_mw"]) == sorted(rails), power
    assert f"edge reads {len(rails)} rail(s)" in power.value


def test_recorded_tree_runs_no_command_and_asks_no_driver(tmp_path):
    checks = by_name(run_checks(Host(orin_nano_tree(tmp_path)), only=["nvpmodel", "CUDA driver", "GPU"]))
    assert checks["nvpmodel"].status == SKIP and "recorded tree" in checks["nvpmodel"].value
    assert checks["CUDA driver"].status == SKIP and checks["GPU"].status == SKIP


def test_l4t_from_dpkg_in_a_container(tmp_path):
    root = orin_nano_tree(tmp_path, release=None)
    dpkg = {"dpkg-query --showformat=${Version} --show nvidia-l4t-core": "36.4.3-20250107174145"}
    l4t = by_name(run_checks(Host(root, commands=dpkg), only=["L4T release"]))["L4T release"]
    assert l4t.status == OK and l4t.value.startswith("L4T 36.4.3") and "dpkg nvidia-l4t-core" in l4t.value


def test_jetson_without_release_file_or_package_warns_with_fix(tmp_path):
    l4t = by_name(run_checks(Host(orin_nano_tree(tmp_path, release=None), commands={}), only=["L4T release"]))
    assert l4t["L4T release"].status == WARN and "nv_tegra_release" in l4t["L4T release"].fix


def test_thor_ina238_input_monitor_is_found(tmp_path):
    root = tmp_path / "thor"
    hw = root / "sys/bus/i2c/drivers/ina238/2-0044/hwmon/hwmon3"
    hw.mkdir(parents=True)
    for name, text in (("name", "ina238"), ("in1_input", "19008"), ("curr1_input", "1502"),
                       ("power1_input", "28550000")):
        (hw / name).write_text(text + "\n")
    (root / "proc/device-tree").mkdir(parents=True)
    (root / "proc/device-tree/model").write_text("NVIDIA Jetson AGX Thor Developer Kit\x00")
    rails = by_name(run_checks(Host(root, commands={}), only=["power rails"]))["power rails"]
    assert [(s["driver"], s["device"], s["readable"]) for s in rails.detail["sensors"]] == [("ina238", "2-0044", True)]
    from edge.bench.jetson import read_hwmon_rails

    # OK only when edge's power reader reads the monitor too; otherwise the line says so
    assert rails.status == (OK if read_hwmon_rails(str(root)) else WARN)


def test_sum_of_shunt_voltages_channel_is_not_a_rail(tmp_path):
    root = orin_nano_tree(tmp_path)
    hw = next(root.glob("sys/bus/i2c/drivers/ina3221/*/hwmon/hwmon1"))
    (hw / "in7_label").write_text("sum of shunt voltages\n")  # jtop/core/power.py skips this channel
    (hw / "in7_input").write_text("12\n")
    rails = by_name(run_checks(Host(root, commands={}), only=["power rails"]))["power rails"]
    assert rails.status == OK and len(rails.detail["sensors"]) == 3


def test_unreadable_rail_is_a_warning(tmp_path):
    root = orin_nano_tree(tmp_path)
    next(root.glob("sys/bus/i2c/drivers/ina3221/*/hwmon/hwmon1/curr2_input")).write_text("garbage\n")
    rails = by_name(run_checks(Host(root, commands={}), only=["power rails"]))["power rails"]
    assert rails.status == WARN and "unreadable: VDD_CPU_GPU_CV" in rails.value and rails.fix


# ------------------------------------------------------------------------------------------- GPU reasons
def _orin_driver(init: int = 0, error: str | None = None) -> dict:
    """libcuda's answers on an Orin Nano with JetPack 6 (CUDA 12.6 driver)."""
    return {"loaded": True, "path": "libcuda.so.1", "version": 12060, "init": init, "error": error,
            "devices": [] if init else [{"name": "Orin", "cc_major": 8, "cc_minor": 7, "sm_count": 8}]}


def test_gpu_unusable_gives_the_real_reason(tmp_path):
    from edge.core.cuda import GpuStatus

    root = orin_nano_tree(tmp_path)
    # JetPack 6 driver, cuda-python 13 from PyPI: the runtime refuses the driver
    bad = GpuStatus(False, "cuda-python 13.0.1 (CUDA runtime 13.0) needs driver >= 580; this driver is CUDA 12.6",
                    "install cuda-python 12.6.x: pip install 'cuda-python==12.6.*'", 0, "12.6", "13.0", "13.0.1")
    host = Host(root, commands={}, facts={"cuda_driver": _orin_driver(), "gpu_status": bad})
    c = by_name(run_checks(host, only=["CUDA driver", "GPU", "cuda-python"]))
    assert c["CUDA driver"].status == OK and c["CUDA driver"].value.startswith("CUDA 12.6")
    assert c["GPU"].status == FAIL and "needs driver >= 580" in c["GPU"].value
    assert c["GPU"].fix == bad.fix
    if c["cuda-python"].detail["cuda_python"] or c["cuda-python"].detail["cuda_bindings"]:
        assert c["cuda-python"].status == FAIL and c["cuda-python"].fix == bad.fix
    # the driver itself refuses (e.g. the user is not in the video group)
    host = Host(root, commands={}, facts={"cuda_driver": _orin_driver(999, "cuInit returned CUDA_ERROR_UNKNOWN (999)")})
    gpu = by_name(run_checks(host, only=["GPU"]))["GPU"]
    assert gpu.status == FAIL and "CUDA_ERROR_UNKNOWN" in gpu.value and gpu.fix
    # the good pairing
    good = GpuStatus(True, device_count=1, driver_cuda="12.6", runtime_cuda="12.6", bindings="12.6.2")
    host = Host(root, commands={}, facts={"cuda_driver": _orin_driver(), "gpu_status": good})
    gpu = by_name(run_checks(host, only=["GPU"]))["GPU"]
    assert gpu.status == OK and gpu.value.startswith("Orin (sm_87, 8 SMs)")


def test_no_driver_on_a_jetson_fails_elsewhere_skips(tmp_path):
    none = {"loaded": False, "error": "libcuda.so.1: cannot open shared object file"}
    jet = by_name(run_checks(Host(orin_nano_tree(tmp_path), commands={}, facts={"cuda_driver": none}),
                             only=["CUDA driver", "GPU"]))
    assert jet["CUDA driver"].status == FAIL and "--runtime nvidia" in jet["CUDA driver"].fix
    assert jet["GPU"].status == FAIL
    pc = by_name(run_checks(Host(tmp_path / "empty", commands={}, facts={"cuda_driver": none}),
                            only=["CUDA driver", "GPU"]))
    assert pc["CUDA driver"].status == SKIP and pc["GPU"].status == SKIP


# ------------------------------------------------------------------------------------------- robustness
def test_a_probe_that_raises_becomes_a_fail_line():
    def boom(host):
        raise OSError(13, "Permission denied", "/sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon1/in1_input")

    checks = run_probes(Host(), [("power rails", boom), ("module", lambda h: Check("module", OK, "x"))])
    assert [c.status for c in checks] == [FAIL, OK]
    assert "PermissionError" in checks[0].value and "Permission denied" in checks[0].value
    assert "test_doctor.py" in checks[0].value and checks[0].fix


def test_cli_exit_1_when_a_probe_raises(monkeypatch, capsys):
    import edge.doctor as doc

    def boom(host):
        raise RuntimeError("sensor went away")

    monkeypatch.setattr(doc, "PROBES", [("power rails", boom)] + [p for p in doc.PROBES if p[0] == "module"])
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  power rails" in out and "RuntimeError: sensor went away" in out


def test_check_rejects_unknown_status():
    with pytest.raises(ValueError, match="status must be one of"):
        Check("x", "GOOD")


# ------------------------------------------------------------------------------------------- OpenCV
OPENCV_4 = """General configuration for OpenCV 4.8.0 =====================================

  Video I/O:
    DC1394:                      YES (2.2.6)
    FFMPEG:                      YES
      avcodec:                   YES (58.134.100)
    GStreamer:                   YES (1.20.3)
    v4l/v4l2:                    YES (linux/videodev2.h)

  Parallel framework:            TBB (ver 2021.5 interface 12050)
"""
OPENCV_3 = """  Video I/O:
    FFMPEG:                      NO
    GStreamer:
      base:                      YES (ver 1.14.5)
      video:                     YES (ver 1.14.5)
    v4l/v4l2:                    linux/videodev2.h

  Other third-party libraries:
"""


def test_parse_videoio_opencv_3_and_4():
    from edge.doctor.stack import parse_videoio

    v4 = parse_videoio(OPENCV_4)
    assert v4["GStreamer"] == "YES (1.20.3)" and v4["v4l/v4l2"] == "YES (linux/videodev2.h)"
    assert "Parallel framework" not in v4 and v4["FFMPEG"] == "YES"
    v3 = parse_videoio(OPENCV_3)
    assert v3["GStreamer"].startswith("YES (base ver 1.14.5") and v3["FFMPEG"] == "NO"
    assert parse_videoio("no video block") == {}


def test_clocks_with_unreadable_limits_still_print(tmp_path):
    root = orin_nano_tree(tmp_path)
    next(root.glob("sys/class/devfreq/*/max_freq")).unlink()
    clk = by_name(run_checks(Host(root, commands={}), only=["clocks"]))["clocks"]
    assert clk.status == OK and clk.value.startswith("GPU 625 MHz (range 306-?)")


def test_cli_on_a_recorded_tree_says_so(tmp_path, capsys):
    main(["doctor", "--root", str(orin_nano_tree(tmp_path))])
    out = capsys.readouterr().out
    assert out.startswith(f"root {tmp_path / 'sysfs_orin_nano'}: board files read from this tree")
    assert "OK    module                 NVIDIA Jetson Orin Nano Developer Kit" in out


def test_jtop_service_states(tmp_path, monkeypatch):
    from edge.doctor import board

    root = orin_nano_tree(tmp_path)
    monkeypatch.setattr(board, "dist_version", lambda name: "4.3.2" if name == "jetson-stats" else None)
    active = {"systemctl is-active jtop.service": "active\n"}
    jtop = by_name(run_checks(Host(root, commands=active), only=["jtop"]))["jtop"]
    assert jtop.status == WARN and "no socket at /run/jtop.sock" in jtop.value and "jtop.service" in jtop.fix
    (root / "run").mkdir()
    (root / "run" / "jtop.sock").write_text("")
    jtop = by_name(run_checks(Host(root, commands=active), only=["jtop"]))["jtop"]
    assert jtop.status == OK and jtop.value == "jetson-stats 4.3.2, jtop.service active (/run/jtop.sock)"
    inactive = {"systemctl is-active jtop.service": "inactive\n"}
    assert by_name(run_checks(Host(root, commands=inactive), only=["jtop"]))["jtop"].status == WARN


def test_cpu_kernel_line_names_the_slow_path_and_its_fix(monkeypatch):
    monkeypatch.setenv("EDGE_SAMPLE_INTERP_BACKEND", "torch")
    line = by_name(run_checks(Host(), only=["CPU kernel"]))["CPU kernel"]
    assert line.status == WARN and "PyTorch" in line.value and "EDGE_SAMPLE_INTERP_BACKEND" in line.fix


@pytest.mark.skipif(not (dist_version("cuda-python") or dist_version("cuda-bindings")), reason="needs cuda-python's "
                    "distribution metadata (the line reads the installed versions)")
def test_cuda_python_line_against_the_driver(tmp_path):
    from edge.core.cuda import GpuStatus

    root = orin_nano_tree(tmp_path)

    def line(**facts):
        return by_name(run_checks(Host(root, commands={}, facts=facts), only=["cuda-python"]))["cuda-python"]

    ok = GpuStatus(True, device_count=1, driver_cuda="12.6", runtime_cuda="12.6", bindings="12.6.2")
    assert line(cuda_driver=_orin_driver(), gpu_status=ok).status == OK
    assert "the driver's CUDA 12.6 runs it" in line(cuda_driver=_orin_driver(), gpu_status=ok).value
    broken = GpuStatus(False, "cuda-python does not import (libcudart.so.13: cannot open)", "pip install ...")
    bad = line(cuda_driver=_orin_driver(), gpu_status=broken)
    assert bad.status == FAIL and "does not import" in bad.value and bad.fix == "pip install ..."
    assert line(cuda_driver=_orin_driver()).status == SKIP  # the runtime's answer was not recorded


@pytest.mark.parametrize("name, text, value", [
    ("version.json", '{"cuda": {"name": "CUDA SDK", "version": "12.6.68"}}', "CUDA 12.6.68 (/usr/local/cuda/version.json)"),
    ("version.txt", "CUDA Version 10.2.89\n", "CUDA 10.2.89 (/usr/local/cuda/version.txt)"),
    ("include/cuda_runtime_api.h", "#define CUDART_VERSION  12060\n",
     "CUDA 12.6 (/usr/local/cuda/include/cuda_runtime_api.h)")])
def test_cuda_toolkit_version_sources(tmp_path, name, text, value):
    root = orin_nano_tree(tmp_path)
    (root / "usr/local/cuda" / name).parent.mkdir(parents=True, exist_ok=True)
    (root / "usr/local/cuda" / name).write_text(text)
    line = by_name(run_checks(Host(root, commands={}), only=["CUDA runtime"]))["CUDA runtime"]
    assert line.status == OK and line.value == value


def test_container_without_gpu_access_on_a_gpu_host_fails(tmp_path):
    root = tmp_path / "x86"
    (root / "proc/driver/nvidia").mkdir(parents=True)  # the host's module shows through in every container
    (root / "proc/driver/nvidia/version").write_text("NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.65.06\n")
    none = {"loaded": False, "error": "libcuda.so.1: cannot open shared object file"}
    drv = by_name(run_checks(Host(root, commands={}, facts={"cuda_driver": none}), only=["CUDA driver"]))
    assert drv["CUDA driver"].status == FAIL and "--gpus all" in drv["CUDA driver"].fix


def test_opencv_without_gstreamer_warns_on_a_jetson_only(tmp_path):
    cv2 = pytest.importorskip("cv2")
    from edge.doctor.stack import parse_videoio

    has_gst = (parse_videoio(cv2.getBuildInformation()).get("GStreamer") or "NO").startswith("YES")
    jet = by_name(run_checks(Host(orin_nano_tree(tmp_path), commands={}), only=["OpenCV"]))["OpenCV"]
    here = by_name(run_checks(Host(tmp_path / "pc", commands={}), only=["OpenCV"]))["OpenCV"]
    assert here.status == OK and f"GStreamer {'YES' if has_gst else 'NO'}" in here.value
    assert jet.status == (OK if has_gst else WARN)
    if not has_gst:
        assert "numpy<2" in jet.fix and "python3-opencv" in jet.fix


def test_every_warn_and_fail_line_carries_a_fix(tmp_path):
    checks = run_checks(Host()) + run_checks(Host(orin_nano_tree(tmp_path), commands={}))
    bad = [c for c in checks if c.status in (WARN, FAIL) and not c.fix]
    assert not bad, bad
    assert all(c.value for c in checks)


def test_venv_that_hides_jetpack_packages_is_named(tmp_path, monkeypatch):
    import sys

    from edge.doctor.stack import venv_state

    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.10.12\n")
    assert venv_state(str(venv), "/usr") == (True, False)
    assert venv_state("/usr", "/usr") == (False, None)
    monkeypatch.setattr(sys, "prefix", str(venv))
    monkeypatch.setattr(sys, "base_prefix", "/usr")
    line = by_name(run_checks(Host(orin_nano_tree(tmp_path), commands={}), only=["Python"]))["Python"]
    assert line.status == WARN and "without the system site-packages" in line.value
    assert "--system-site-packages" in line.fix
    (venv / "pyvenv.cfg").write_text("include-system-site-packages = true\n")
    assert by_name(run_checks(Host(orin_nano_tree(tmp_path / "b"), commands={}), only=["Python"]))["Python"].status == OK


def test_json_stays_one_document_when_a_library_prints(monkeypatch, capfd):
    import os

    import edge.doctor as doc

    def noisy(host):
        os.write(1, b"[TRT] [W] a native library writing to stdout\n")  # as C code would, below sys.stdout
        return Check("module", OK, "x")

    monkeypatch.setattr(doc, "PROBES", [("module", noisy)])
    assert main(["doctor", "--json"]) == 0
    out, err = capfd.readouterr()
    assert json.loads(out)["checks"][0]["value"] == "x" and "[TRT] [W] a native library" in err
