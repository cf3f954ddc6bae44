"""Jetson probes: INA3221/INA238 rails in sysfs, nvpmodel, clocks and temperatures.

Every reader takes a ``root`` (default "/") so that it runs unchanged on recorded sysfs trees in
tests/data; every parser takes text. Nothing here needs a Jetson to import; on other machines the readers
return empty results. Formats (NVIDIA Jetson Linux Developer Guide, "Platform Power and Performance";
Linux Documentation/hwmon/ina3221.rst):

- hwmon (mainline ina3221 driver, L4T >= 34): ``hwmon*/in[123]_label`` rail name ("NC" = unused),
  ``in[123]_input`` bus voltage (mV), ``curr[123]_input`` current (mA).
- iio (L4T <= 32, ina3221x driver): ``iio:device*/rail_name_N``, ``in_power N_input`` (mW).
- hwmon ina238 (AGX Thor's system input, Linux Documentation/hwmon/ina238.rst): ``in1_input`` bus voltage
  (mV), ``curr1_input`` current (mA), ``power1_input`` power (uW); no per-channel label: the rail is the
  hwmon ``label`` when the device tree gives one, else "VIN".
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess

TOTAL_RAILS = ("VDD_IN", "POM_5V_IN", "VIN")  # module input rails, in order of preference


def total_power_mw(rails: dict) -> tuple[str, float] | None:
    """(name, mW) of the module's input rail when one is known, else the sum of all rails ("sum")."""
    if not rails:
        return None
    for name in TOTAL_RAILS:
        if name in rails:
            return name, float(rails[name])
    return "sum", float(sum(rails.values()))


def read_hwmon_rails(root: str = "/") -> dict:
    """Instantaneous power per INA rail (mW) from sysfs: INA3221 hwmon (mainline driver) or iio (L4T 32),
    and INA238 hwmon (AGX Thor's system input VIN)."""
    rails: dict = {}
    base = os.path.join(root, "sys/bus/i2c/drivers")
    for label in sorted(glob.glob(os.path.join(base, "ina3221*/*/hwmon/hwmon*/in[1-3]_label"))):
        name, ch = _read(label), os.path.basename(label)[2]
        mv = _read_num(os.path.join(os.path.dirname(label), f"in{ch}_input"))
        ma = _read_num(os.path.join(os.path.dirname(label), f"curr{ch}_input"))
        if name and name.upper() != "NC" and mv is not None and ma is not None:
            rails[name] = mv * ma / 1000.0
    for rn in sorted(glob.glob(os.path.join(base, "ina3221x/*/iio:device*/rail_name_*"))):
        ch = rn.rsplit("_", 1)[1]
        mw = _read_num(os.path.join(os.path.dirname(rn), f"in_power{ch}_input"))
        if (name := _read(rn)) and mw is not None:
            rails[name] = float(mw)
    for hw in sorted(glob.glob(os.path.join(base, "ina238/*/hwmon/hwmon*"))):
        if (mw := _ina238_mw(hw)) is not None:
            rails[_read(os.path.join(hw, "label")) or "VIN"] = mw
    return rails


def _ina238_mw(hwmon: str) -> float | None:
    """mW of one INA238: its power register (uW) when readable, else bus voltage x current."""
    uw = _read_num(os.path.join(hwmon, "power1_input"))
    if uw is not None:
        return uw / 1000.0
    mv, ma = _read_num(os.path.join(hwmon, "in1_input")), _read_num(os.path.join(hwmon, "curr1_input"))
    return mv * ma / 1000.0 if mv is not None and ma is not None else None


def power_supply_names(root: str = "/") -> set[str]:
    """Names jtop gives the entries of /sys/class/power_supply (USB-C PD ports, chargers): the folder
    name without "ucsi-source-psy-" (jetson_stats jtop/core/power.py find_all_system_monitor). They are
    port status, not measured board power."""
    folders = glob.glob(os.path.join(root, "sys/class/power_supply/*"))
    return {os.path.basename(f).replace("ucsi-source-psy-", "") for f in folders}


def parse_nvpmodel(text: str) -> dict | None:
    """``nvpmodel -q`` output ("NV Power Mode: MAXN\\n0") -> {"name": "MAXN", "id": 0}."""
    m = re.search(r"NV Power Mode:\s*(\S+)(?:\s+(\d+))?", text or "")
    return {"name": m[1], "id": int(m[2]) if m[2] else None} if m else None


def read_nvpmodel() -> dict | None:
    """The current power mode via ``nvpmodel -q``; None when the tool is absent (not a Jetson)."""
    exe = shutil.which("nvpmodel")
    if not exe:
        return None
    try:
        res = subprocess.run([exe, "-q"], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_nvpmodel(res.stdout)


def read_temperatures(root: str = "/") -> dict:
    """deg C per thermal zone type from /sys/class/thermal (millidegrees in sysfs)."""
    out = {}
    for zone in sorted(glob.glob(os.path.join(root, "sys/class/thermal/thermal_zone*"))):
        name, milli = _read(os.path.join(zone, "type")), _read_num(os.path.join(zone, "temp"))
        if name and milli is not None and milli > -200000:
            out[name] = milli / 1000.0
    return out


def read_clocks(root: str = "/") -> dict:
    """CPU (cpufreq, kHz -> MHz) and GPU (devfreq, Hz -> MHz) current/min/max frequencies."""
    cpus = []
    for d in sorted(glob.glob(os.path.join(root, "sys/devices/system/cpu/cpu[0-9]*/cpufreq"))):
        f = {k: _read_num(os.path.join(d, f"scaling_{k}_freq")) for k in ("cur", "min", "max")}
        if f["cur"] is not None:
            cpus.append({k: v / 1000.0 if v is not None else None for k, v in f.items()})
    gpu = None
    for d in sorted(glob.glob(os.path.join(root, "sys/class/devfreq/*"))):
        if re.search(r"gpu|gv11b|ga10b|gp10b|gm20b|gb10b", os.path.basename(d)):  # 17000000.ga10b, 57000000.gpu
            f = {k: _read_num(os.path.join(d, f"{k}_freq")) for k in ("cur", "min", "max")}
            if f["cur"] is not None:
                gpu = {k: v / 1e6 if v is not None else None for k, v in f.items()}
                break
    return {"cpu": cpus, "gpu": gpu}


def snapshot(root: str = "/") -> dict:
    """nvpmodel mode, clocks and temperatures now (recorded before and after a benchmark)."""
    return {"nvpmodel": read_nvpmodel() if root == "/" else None, "clocks": read_clocks(root),
            "temperatures": read_temperatures(root)}


def clock_warnings(before: dict, after: dict, hot_c: float = 85.0, drop: float = 0.9) -> list[str]:
    """Warnings for unstable timings: unlocked clocks (min < max: DVFS may scale mid-run), a clock that
    fell during the run (throttling), or a temperature above ``hot_c``."""
    warns = []
    gpu_b, gpu_a = before.get("clocks", {}).get("gpu"), after.get("clocks", {}).get("gpu")
    cpus = before.get("clocks", {}).get("cpu") or []
    if gpu_b and gpu_b.get("min") is not None and gpu_b["min"] < (gpu_b.get("max") or 0):
        warns.append(f"GPU clock not locked ({gpu_b['min']:.0f}-{gpu_b['max']:.0f} MHz): run 'sudo jetson_clocks' "
                     "for stable timings")
    if any(c.get("min") is not None and c["min"] < (c.get("max") or 0) for c in cpus):
        warns.append("CPU clocks not locked (scaling_min < scaling_max): run 'sudo jetson_clocks' for stable timings")
    if gpu_b and gpu_a and gpu_b.get("cur") and gpu_a.get("cur") and gpu_a["cur"] < drop * gpu_b["cur"]:
        warns.append(f"GPU clock fell from {gpu_b['cur']:.0f} to {gpu_a['cur']:.0f} MHz during the run: throttling")
    cpu_a = after.get("clocks", {}).get("cpu") or []
    for i, (b, a) in enumerate(zip(cpus, cpu_a)):
        if b.get("cur") and a.get("cur") and a["cur"] < drop * b["cur"] and b.get("min") == b.get("max"):
            warns.append(f"CPU{i} clock fell from {b['cur']:.0f} to {a['cur']:.0f} MHz while locked: throttling")
    hot = {k: v for k, v in (after.get("temperatures") or {}).items() if v >= hot_c}
    if hot:
        warns.append(f"hot after the run (>= {hot_c:.0f} C): {hot}; thermal throttling likely")
    return warns


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _read_num(path: str) -> float | None:
    text = _read(path)
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


__all__ = [
    "TOTAL_RAILS",
    "clock_warnings",
    "parse_nvpmodel",
    "power_supply_names",
    "read_clocks",
    "read_hwmon_rails",
    "read_nvpmodel",
    "read_temperatures",
    "snapshot",
    "total_power_mw",
]
