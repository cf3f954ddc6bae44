"""Jetson probe parsers and readers on recorded text and sysfs trees (tests/data/jetson)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from edge.bench.jetson import (
    clock_warnings,
    parse_nvpmodel,
    read_clocks,
    read_hwmon_rails,
    read_temperatures,
    snapshot,
    total_power_mw,
)
from edge.bench.power import PowerSampler, summarize_power

DATA = Path(__file__).resolve().parents[1] / "data" / "jetson"


def test_total_power_prefers_the_input_rail():
    assert total_power_mw({"VDD_IN": 7000.0, "VDD_SOC": 1500.0}) == ("VDD_IN", 7000.0)
    assert total_power_mw({"POM_5V_IN": 1248.0, "POM_5V_CPU": 124.0}) == ("POM_5V_IN", 1248.0)
    assert total_power_mw({"VDD_GPU_SOC": 9120.0, "VDD_CPU_CV": 2944.0}) == ("sum", 12064.0)
    assert total_power_mw({}) is None


def test_hwmon_rails_orin_nano():
    rails = read_hwmon_rails(str(DATA / "sysfs_orin_nano"))
    assert rails == pytest.approx({"VDD_IN": 5064 * 1382 / 1000, "VDD_CPU_GPU_CV": 5056 * 476 / 1000,
                                   "VDD_SOC": 5056 * 298 / 1000})


def test_iio_rails_nano_jetpack4():
    assert read_hwmon_rails(str(DATA / "sysfs_nano_jp4")) == {"POM_5V_IN": 1248.0, "POM_5V_GPU": 0.0,
                                                              "POM_5V_CPU": 124.0}


def test_no_rails_on_this_machine_tree(tmp_path):
    assert read_hwmon_rails(str(tmp_path)) == {}
    assert not PowerSampler("hwmon", root=str(tmp_path)).available


def test_nvpmodel_temperatures_clocks():
    assert parse_nvpmodel((DATA / "nvpmodel_q.txt").read_text()) == {"name": "15W", "id": 2}
    assert parse_nvpmodel("NV Power Mode: MAXN") == {"name": "MAXN", "id": None}
    assert parse_nvpmodel("command not found") is None
    temps = read_temperatures(str(DATA / "sysfs_orin_nano"))
    assert temps == {"cpu-thermal": 48.5, "gpu-thermal": 47.281, "tj-thermal": 48.5}  # -256 C zone is off
    clocks = read_clocks(str(DATA / "sysfs_orin_nano"))
    assert clocks["gpu"] == pytest.approx({"cur": 624.75, "min": 306.0, "max": 624.75})
    assert clocks["cpu"][0] == pytest.approx({"cur": 1510.4, "min": 115.2, "max": 1510.4})


def test_clock_warnings_unlocked_throttled_hot():
    before = snapshot(str(DATA / "sysfs_orin_nano"))
    warns = clock_warnings(before, before)
    assert any("GPU clock not locked" in w for w in warns) and any("CPU clocks not locked" in w for w in warns)
    locked = {"clocks": {"gpu": {"cur": 624.75, "min": 624.75, "max": 624.75},
                         "cpu": [{"cur": 1510.4, "min": 1510.4, "max": 1510.4}]}, "temperatures": {"gpu": 50.0}}
    assert clock_warnings(locked, locked) == []
    after = {"clocks": {"gpu": {"cur": 306.0, "min": 624.75, "max": 624.75},
                        "cpu": [{"cur": 729.6, "min": 1510.4, "max": 1510.4}]}, "temperatures": {"tj": 91.0}}
    warns = clock_warnings(locked, after)
    assert len(warns) == 3 and all(k in " ".join(warns) for k in ("GPU clock fell", "CPU0 clock fell", "hot"))


def test_power_sampler_integrates_recorded_rails():
    root = str(DATA / "sysfs_orin_nano")
    with PowerSampler("hwmon", interval_s=0.005, root=root) as p:
        time.sleep(0.15)
    res = p.result(inferences=30)
    watts = 5064 * 1382 / 1e6  # constant VDD_IN of the recorded tree
    assert res["source"] == "hwmon" and res["total_rail"] == "VDD_IN" and res["samples"] >= 10
    assert res["mean_power_w"] == pytest.approx(watts)
    assert res["energy_j"] == pytest.approx(watts * res["window_s"])
    assert res["energy_per_inference_mj"] == pytest.approx(1000 * res["energy_j"] / 30)
    assert res["warnings"] == []


def test_summarize_power_trapezoid_and_short_window_warning():
    samples = [(0.0, {"VDD_IN": 1000.0}), (1.0, {"VDD_IN": 3000.0}), (2.0, {"VDD_IN": 3000.0})]
    res = summarize_power(samples, 4, "hwmon", 1.0)
    assert res["energy_j"] == pytest.approx(2.0 + 3.0) and res["mean_power_w"] == pytest.approx(2.5)
    assert res["energy_per_inference_mj"] == pytest.approx(1250.0)
    assert res["warnings"] and "only 3 power samples" in res["warnings"][0]
    assert summarize_power([(0.0, {})], 1, "hwmon", 0.01) is None


def test_jtop_power_dicts():
    import json

    from edge.bench.power import rails_from_jtop

    orin = rails_from_jtop(json.loads((DATA / "jtop_power_orin_nano.json").read_text()))
    assert orin == {"VDD_CPU_GPU_CV": 2406.0, "VDD_SOC": 1506.0, "VDD_IN": 6998.0}
    assert total_power_mw(orin) == ("VDD_IN", 6998.0)
    xavier = rails_from_jtop(json.loads((DATA / "jtop_power_agx_xavier.json").read_text()))
    assert xavier == {"GPU": 3051.0, "CPU": 2136.0, "SOC": 1830.0}  # unnamed total is not a rail
    assert total_power_mw(xavier) == ("sum", 7017.0)
    assert rails_from_jtop({}) == {}
