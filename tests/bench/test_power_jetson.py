"""Power on recorded AGX Orin / AGX Thor sysfs trees and through a strict jtop double (protocol tests).

tests/data/jetson/README.md says where each recorded file comes from. The jtop tests patch the ``jtop``
attribute of the real, installed ``jtop`` module with the double of tests/bench/jtop_double.py.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from edge.bench.jetson import read_hwmon_rails, total_power_mw
from edge.bench.power import PowerSampler

DATA = Path(__file__).resolve().parents[1] / "data" / "jetson"
ORIN = str(DATA / "sysfs_agx_orin")
THOR = str(DATA / "sysfs_agx_thor")


def test_thor_system_input_from_ina238():
    rails = read_hwmon_rails(THOR)
    assert rails["VIN"] == pytest.approx(42015.8)  # power1_input, uW -> mW
    assert rails["VDD_GPU"] == pytest.approx(19968 * 712 / 1000) and len(rails) == 4
    assert total_power_mw(rails) == ("VIN", pytest.approx(42015.8))  # the board input, not a rail sum


def test_agx_orin_rails_skip_nc_channels():
    rails = read_hwmon_rails(ORIN)
    assert set(rails) == {"VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0", "VDDQ_VDD2_1V8AO"}
    assert total_power_mw(rails)[0] == "sum"  # AGX Orin has no VDD_IN


@pytest.fixture
def service(monkeypatch):
    from jtop_double import Service, jtop_module, make_jtop

    svc = Service()
    monkeypatch.setattr(jtop_module, "jtop", make_jtop(svc))
    return svc


def test_jtop_service_down_falls_back_to_hwmon(service):
    service.error = "The jtop.service is not active. Please run:\nsudo jtop --install-service"
    with PowerSampler("jtop", root=ORIN) as p:
        time.sleep(0.12)
    res = p.result(10)
    assert p.kind == "hwmon" and res["source"] == "hwmon" and res["samples"] >= 2
    assert any("jtop unavailable" in w and "not active" in w for w in res["warnings"])


def test_jtop_records_the_service_interval_not_the_requested_one(service):
    service.interval = 0.05  # another client (jtop's GUI, a second benchmark) connected first
    service.power = json.loads((DATA / "jtop_power_agx_orin.json").read_text())
    with PowerSampler("jtop", interval_s=0.2, root=ORIN) as p:
        time.sleep(0.3)
    res = p.result(10)
    assert p.kind == "jtop" and res["interval_s"] == 0.05 and len(service.clients) == 1
    assert service.clients[0].interval_user == 0.2 and service.clients[0]._closed


def test_jtop_rails_on_agx_orin_drop_usb_c_pd(service):
    service.power = json.loads((DATA / "jtop_power_agx_orin.json").read_text())
    with PowerSampler("jtop", root=ORIN) as p:
        time.sleep(0.05)
    res = p.result(1)
    assert set(res["rails_mean_mw"]) == {"VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0", "VDDQ_VDD2_1V8AO"}
    assert res["mean_power_w"] == pytest.approx((9123 + 2948 + 3000 + 478) / 1000)  # not the 60 W PD entry


def test_bench_uses_one_jtop_client_per_run(service, tmp_path):
    from camera_models import make_conv_onnx

    from edge.bench import BenchOptions, bench

    service.power = {"rail": {}, "tot": {"power": 5000, "avg": 5000, "name": "VDD_IN"}}
    model = make_conv_onnx(tmp_path / "conv.onnx")
    bench([str(model)], options=BenchOptions(iterations=6, rounds=3, warmup_s=0, power="jtop",
                                             shapes={"": (1, 1, 8, 8)}))
    assert len(service.clients) == 1 and service.clients[0]._closed


def test_the_double_is_strict(service):
    from jtop_double import jtop_module

    client = jtop_module.jtop(interval=0.5)
    with pytest.raises(AttributeError, match="intervall"):
        client.intervall  # noqa: B018 - a name the real jtop class does not have
    with pytest.raises(TypeError):
        jtop_module.jtop(0.5, period=1)  # not in the real constructor's signature


def test_auto_asks_jtop_only_on_a_jetson(service, tmp_path):
    service.power = {"rail": {}, "tot": {"power": 5000, "avg": 5000, "name": "VDD_IN"}}
    root = tmp_path / "jetson"
    shutil.copytree(ORIN, root)
    shutil.rmtree(root / "etc", ignore_errors=True)
    with PowerSampler("auto", root=str(root)) as p:  # not a Jetson: no /etc/nv_tegra_release
        pass
    assert p.kind == "hwmon" and not service.clients and not p.notes
    (root / "etc").mkdir()
    (root / "etc" / "nv_tegra_release").write_text("# R36 (release), REVISION: 4.3, BOARD: generic, EABI: aarch64\n")
    with PowerSampler("auto", root=str(root)) as p:
        time.sleep(0.02)
    assert p.kind == "jtop" and len(service.clients) == 1
