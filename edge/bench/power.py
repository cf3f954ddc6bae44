"""Power sampling during a measured window: jtop's Python API when installed, else INA hwmon sysfs.

A background thread reads the rails every ``interval_s`` (default: 10 ms for sysfs, which is about the
INA3221's conversion period with the drivers' averaging; for jtop the interval its service really runs
at) and integrates the module's input rail over time (trapezoid rule). Energy per inference = energy of
the window / inferences in it. A window shorter than ~10 sampling intervals gets a warning, not a number
that looks precise.

jtop (jetson_stats 4.2-7.2, jtop/jtop.py): ``start()`` raises ``JtopException`` when jtop.service is not
active or the user has not logged out since installing it; the service keeps the interval of its first
client, and ``jtop.interval`` is the service's real one (``interval_user`` what was asked). So one
client serves a whole run (``open_power``), its real interval is recorded, and a client that cannot start
falls back to hwmon with the reason in the result's warnings. jtop's ``power["rail"]`` also lists
/sys/class/power_supply entries (USB-C PD ports on AGX Orin, jtop/core/power.py find_all_system_monitor):
only the INA rails are kept.
"""

from __future__ import annotations

import os
import threading
import time

from edge._lazy import has_module
from edge.bench.jetson import power_supply_names, read_hwmon_rails, total_power_mw

MIN_SAMPLES = 10


def rails_from_jtop(power: dict) -> dict:
    """{rail: mW} from jtop's ``jetson.power`` ({"rail": {name: {"volt", "curr", "power", "avg", ...}},
    "tot": {"power", "avg", "name"?}}). jtop moves the input rail (VDD_IN / POM_5V_IN) out of "rail"
    into "tot" with its "name"; without a name, "tot" is jtop's sum of the rails and is not repeated."""
    rails = {k: float(v["power"]) for k, v in (power.get("rail") or {}).items() if "power" in v}
    tot = power.get("tot") or {}
    if tot.get("name") and "power" in tot:
        rails[tot["name"]] = float(tot["power"])
    return rails


def ina_rails(rails: dict, ina_names: set, supplies: set) -> dict:
    """The measured INA rails of jtop's ``rails``: those hwmon sysfs names (when readable), never a
    power-supply status entry."""
    return {k: v for k, v in rails.items() if k not in supplies and (not ina_names or k in ina_names)}


class JtopPower:
    """One jtop client for a whole run. ``interval_s`` is the service's real interval (``jtop.interval``).

    Args:
        factory: the jtop class (None: ``jtop.jtop``); tests pass a double built from its API.
    """

    kind = "jtop"

    def __init__(self, interval_s: float = 0.1, root: str = "/", factory=None):
        if factory is None:
            from jtop import jtop as factory  # jetson-stats: talks to the jtop service
        self.client = factory(interval=max(interval_s, 0.1))
        self.client.start()
        self.interval_s = float(self.client.interval)
        self.requested_s = float(self.client.interval_user)
        self._ina, self._supplies = set(read_hwmon_rails(root)), power_supply_names(root)

    def read(self) -> dict:
        return ina_rails(rails_from_jtop(self.client.power or {}), self._ina, self._supplies)

    def close(self) -> None:
        self.client.close()


class HwmonPower:
    """INA rails read straight from sysfs (no service needed)."""

    kind = "hwmon"

    def __init__(self, interval_s: float = 0.01, root: str = "/"):
        self.interval_s, self.root = interval_s, root

    def read(self) -> dict:
        return read_hwmon_rails(self.root)

    def close(self) -> None:
        pass


def open_power(source: str = "auto", interval_s: float | None = None, root: str = "/", jtop_factory=None):
    """(reader, notes): a JtopPower or HwmonPower (None for "off" or no rails), and why jtop was not used.

    Raises nothing: a jtop client that cannot start (JtopException: service inactive, not logged out
    after installing, version mismatch) falls back to hwmon and says so in ``notes``.
    """
    notes: list[str] = []
    if source == "off":
        return None, notes
    on_jetson = os.path.exists(os.path.join(root, "etc/nv_tegra_release"))  # jtop.service runs on Jetsons only
    want_jtop = source == "jtop" or (source == "auto" and on_jetson and (jtop_factory is not None or has_module("jtop")))
    if want_jtop:
        try:
            return JtopPower(interval_s or 0.1, root, jtop_factory), notes
        except Exception as e:  # noqa: BLE001 - JtopException and the OSErrors jtop re-raises
            notes.append(f"jtop unavailable ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else e!r}); "
                         "power read from hwmon sysfs")
    reader = HwmonPower(interval_s or 0.01, root)
    return (reader if reader.read() else None), notes


class PowerSampler:
    """``with PowerSampler() as p: run(); p.result(n_inferences)``.

    Args:
        source: "auto" (jtop on a Jetson where it is importable, else hwmon sysfs), "jtop", "hwmon" or
            "off"; or a reader
            from ``open_power`` shared by several windows (the caller closes it).
        interval_s: sampling period; None means 0.01 s (hwmon) or jtop's real interval.
        root: sysfs root (tests point it at a recorded tree).
    """

    def __init__(self, source="auto", interval_s: float | None = None, root: str = "/", jtop_factory=None):
        self.root, self.samples, self.notes = root, [], []  # samples: (t, {rail: mW})
        self._stop, self._thread, self._owned = threading.Event(), None, False
        if isinstance(source, str):
            self.reader, self.notes = open_power(source, interval_s, root, jtop_factory)
            self._owned = True
        else:
            self.reader = source
        self.kind = self.reader.kind if self.reader is not None else ("off" if source == "off" else "hwmon")
        self.interval_s = self.reader.interval_s if self.reader is not None else (interval_s or 0.01)

    @property
    def available(self) -> bool:
        return self.reader is not None

    def __enter__(self):
        if self.reader is not None:
            self._thread = threading.Thread(target=self._loop, name="edge-power", daemon=True)
            self._thread.start()
        return self

    def _loop(self):
        while not self._stop.is_set():
            self.samples.append((time.perf_counter(), self.reader.read()))
            self._stop.wait(self.interval_s)

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self.samples.append((time.perf_counter(), self.reader.read()))
        if self._owned and self.reader is not None:
            self.reader.close()

    def result(self, inferences: int | None = None) -> dict | None:
        """Mean power per rail, energy of the window and energy per inference; None if nothing sampled."""
        out = summarize_power(self.samples, inferences, self.kind, self.interval_s)
        if out is not None:
            out["warnings"] = self.notes + out["warnings"]
        return out


def summarize_power(samples: list, inferences: int | None, source: str, interval_s: float) -> dict | None:
    """Integrate ``samples`` [(t_s, {rail: mW})] (see PowerSampler)."""
    samples = [(t, r) for t, r in samples if r]
    if len(samples) < 2:
        return None
    names = sorted(set().union(*(r.keys() for _, r in samples)))
    t = [s[0] for s in samples]
    totals = [total_power_mw(r) for _, r in samples]
    p_w = [p / 1000.0 for _, p in totals]
    energy = sum((t[i + 1] - t[i]) * (p_w[i] + p_w[i + 1]) / 2 for i in range(len(t) - 1))
    window = t[-1] - t[0]
    out = {
        "source": source, "interval_s": interval_s, "samples": len(samples), "window_s": window,
        "total_rail": totals[0][0], "mean_power_w": energy / window if window > 0 else p_w[0],
        "rails_mean_mw": {n: sum(r.get(n, 0.0) for _, r in samples) / len(samples) for n in names},
        "energy_j": energy, "energy_per_inference_mj": None, "warnings": [],
    }
    if inferences:
        out["energy_per_inference_mj"] = 1000.0 * energy / inferences
    if len(samples) < MIN_SAMPLES:
        out["warnings"].append(f"only {len(samples)} power samples in {window:.3f} s: measure longer "
                               f"(--duration) for a trustworthy energy per inference")
    return out


__all__ = ["HwmonPower", "JtopPower", "PowerSampler", "ina_rails", "open_power", "rails_from_jtop", "summarize_power"]
