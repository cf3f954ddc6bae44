"""Probes of the Jetson board: power monitors, nvpmodel mode, clocks, and the jtop service.

Paths and commands, with their sources:

- Power monitors under ``/sys/bus/i2c/drivers/<driver>/<bus-addr>/``: ``ina3221`` (L4T >= 34, hwmon:
  ``hwmon/hwmon*/in[123]_label`` rail name, ``in[123]_input`` mV, ``curr[123]_input`` mA; Linux
  Documentation/hwmon/ina3221.rst), ``ina3221x`` (L4T 32, iio: ``iio:device*/rail_name_N``,
  ``in_power N_input`` mW), and ``ina238`` (AGX Thor's input monitor, hwmon: ``in1_input`` bus mV,
  ``curr1_input`` mA, ``power1_input`` uW; Documentation/hwmon/ina238.rst). jetson_stats reads the same
  hwmon and iio layouts (``jtop/core/power.py``, ``find_driver_power_folders``; master f41d5ca).
- ``nvpmodel -q``: jetson_stats ``jtop/core/nvpmodel.py`` (``Command(['nvpmodel', '-q'])``); parsed by
  :func:`edge.bench.jetson.parse_nvpmodel`.
- Clocks: CPU ``/sys/devices/system/cpu/cpu*/cpufreq/scaling_{cur,min,max}_freq`` (kHz; jtop/core/cpu.py) and
  the GPU devfreq node ``/sys/class/devfreq/<id>.gpu|ga10b|gpu-gpc-0/{cur,min,max}_freq`` (Hz; jtop/core/gpu.py
  ``DEFAULT_IGPU_PATH``, ``THOR_GPC``), read by :func:`edge.bench.jetson.read_clocks`.
- jtop: the ``jetson-stats`` distribution, the service's socket ``/run/jtop.sock`` (``jtop/service.py``
  ``JTOP_PIPE``), ``systemctl is-active jtop.service`` (``status_service`` in the same file); a client that
  cannot open the socket gets "Please logout or reboot this board" (``jtop/jtop.py`` ``start``).
"""

from __future__ import annotations

import os
from pathlib import Path

from edge.doctor.core import OK, SKIP, WARN, Check, Host
from edge.doctor.device import is_jetson
from edge.doctor.stack import dist_version

POWER_DRIVERS = ("ina3221", "ina3221x", "ina238")


def _readable_number(path: Path) -> bool:
    try:
        float(path.read_text().strip())
        return True
    except (OSError, ValueError):
        return False


def power_sensors(host: Host) -> list[dict]:
    """Every power-monitor channel found: ``{"driver", "device", "rail", "readable"}``."""
    out = []
    for drv in POWER_DRIVERS:
        for dev in host.glob(f"sys/bus/i2c/drivers/{drv}/*"):
            for hw in sorted(dev.glob("hwmon/hwmon*")):
                # ina3221: channels 1-3 carry a label ("NC" = not connected); in7 is the sum of the shunt
                # voltages, which jtop skips too (jtop/core/power.py list_all_i2c_ports)
                labels = sorted(hw.glob("in[1-3]_label"))
                for lab in labels:
                    ch, rail = lab.name[2], lab.read_text().strip()
                    if rail.upper() != "NC":
                        ok = _readable_number(hw / f"in{ch}_input") and _readable_number(hw / f"curr{ch}_input")
                        out.append({"driver": drv, "device": dev.name, "rail": rail, "readable": ok})
                if not labels and (hw / "power1_input").exists():  # ina238: one channel; its device-tree
                    ok = all(_readable_number(hw / f) for f in ("in1_input", "curr1_input", "power1_input"))
                    # label, else "VIN" (AGX Thor's system input), the name edge.bench.jetson gives it
                    rail = (hw / "label").read_text().strip() if (hw / "label").is_file() else "VIN"
                    out.append({"driver": drv, "device": dev.name, "rail": rail, "readable": ok})
            for rn in sorted(dev.glob("iio:device*/rail_name_*")):
                ok = _readable_number(rn.parent / f"in_power{rn.name.rsplit('_', 1)[1]}_input")
                out.append({"driver": drv, "device": dev.name, "rail": rn.read_text().strip(), "readable": ok})
    return out


def probe_power(host: Host) -> Check:
    from edge.bench.jetson import read_hwmon_rails, total_power_mw

    sensors = power_sensors(host)
    if not sensors:
        if is_jetson(host):
            return Check("power rails", WARN, "no INA3221/INA238 power monitor under /sys/bus/i2c/drivers",
                         "power figures will be missing; on a carrier board without monitors use an external meter")
        return Check("power rails", SKIP, "no INA3221/INA238 power monitor: not a Jetson")
    rails = read_hwmon_rails(str(host.root))
    unreadable = [s["rail"] for s in sensors if not s["readable"]]
    total = total_power_mw(rails)
    names = ", ".join(f"{s['rail']} ({s['driver']} {s['device']})" for s in sensors)
    value = f"{names}; edge reads {len(rails)} rail(s)" + (f", {total[0]} {total[1] / 1000:.2f} W" if total else "")
    detail = {"sensors": sensors, "rails_mw": rails}
    if unreadable:
        return Check("power rails", WARN, value + f"; unreadable: {', '.join(unreadable)}",
                     "the *_input files must be readable by this user (check their mode; L4T makes them 0444)",
                     detail)
    if len(rails) < len(sensors):  # counted, not matched by name: the reader may name a rail its own way
        missing = [s["rail"] for s in sensors if s["rail"] not in rails]
        return Check("power rails", WARN, value + f"; edge.bench reads {len(rails)} of {len(sensors)} "
                     f"(not: {', '.join(missing)})", "update edge (its power reader does not know this monitor)", detail)
    return Check("power rails", OK, value, None, detail)


def probe_nvpmodel(host: Host) -> Check:
    from edge.bench.jetson import parse_nvpmodel

    if not is_jetson(host):
        return Check("nvpmodel", SKIP, "not a Jetson")
    res = host.run(["nvpmodel", "-q"])
    if res is None:
        why = "not run: probing a recorded tree" if not host.live else "nvpmodel not found"
        return Check("nvpmodel", SKIP if not host.live else WARN, why,
                     None if not host.live else "sudo apt install nvidia-l4t-nvpmodel")
    mode = parse_nvpmodel(res.stdout)
    if res.returncode != 0 or mode is None:
        return Check("nvpmodel", WARN, f"nvpmodel -q failed ({res.returncode}): {(res.stderr or res.stdout)[:200]}",
                     "run `sudo nvpmodel -q` by hand and attach its output")
    return Check("nvpmodel", OK, f"{mode['name']} (mode {mode['id']})", None, mode)


def probe_clocks(host: Host) -> Check:
    from edge.bench.jetson import read_clocks

    clk = read_clocks(str(host.root))
    cpus, gpu = clk["cpu"], clk["gpu"]
    mhz = lambda v: "?" if v is None else f"{v:.0f}"
    parts = []
    if gpu:
        parts.append(f"GPU {mhz(gpu['cur'])} MHz (range {mhz(gpu['min'])}-{mhz(gpu['max'])})")
    if cpus:
        lo = min((c["min"] for c in cpus if c["min"] is not None), default=None)
        hi = max((c["max"] for c in cpus if c["max"] is not None), default=None)
        parts.append(f"CPU x{len(cpus)} {mhz(min(c['cur'] for c in cpus))}-{mhz(max(c['cur'] for c in cpus))} MHz "
                     f"(range {mhz(lo)}-{mhz(hi)})")
    unlocked = (gpu and gpu["min"] is not None and gpu["min"] < (gpu["max"] or 0)) or any(
        c["min"] is not None and c["min"] < (c["max"] or 0) for c in cpus)
    value = "; ".join(parts) or "no cpufreq or GPU devfreq node"
    if unlocked:
        value += "; not locked (timings vary: sudo jetson_clocks before benchmarking)"
    if not is_jetson(host):
        return Check("clocks", SKIP, f"not a Jetson ({value})", None, clk)
    if gpu is None:
        return Check("clocks", WARN, value + "; no GPU devfreq node in /sys/class/devfreq",
                     "GPU clock figures will be missing from benchmark records", clk)
    return Check("clocks", OK, value, None, clk)


def probe_jtop(host: Host) -> Check:
    if not is_jetson(host):
        return Check("jtop", SKIP, "not a Jetson")
    ver = dist_version("jetson-stats")
    sock = host.path("/run/jtop.sock")
    if ver is None:
        return Check("jtop", SKIP, "jetson-stats not installed (power is read from the hwmon files instead)",
                     "optional: sudo pip3 install -U jetson-stats, then log out and in")
    res = host.run(["systemctl", "is-active", "jtop.service"])
    state = (res.stdout.strip() if res is not None else "") or "unknown"  # no systemd (a container): unknown
    if not sock.exists() or state not in ("active", "unknown"):
        return Check("jtop", WARN, f"jetson-stats {ver}, jtop.service {state}, no socket at /run/jtop.sock",
                     "sudo systemctl restart jtop.service (or sudo jtop --install-service)")
    if host.live and not os.access(sock, os.R_OK | os.W_OK):
        return Check("jtop", WARN, f"jetson-stats {ver}, jtop.service {state}, /run/jtop.sock not accessible",
                     "log out and in (or reboot) so that the jtop group membership applies")
    return Check("jtop", OK, f"jetson-stats {ver}, jtop.service {state} (/run/jtop.sock)")
