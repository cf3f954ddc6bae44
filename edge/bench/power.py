"""Power sampling during a measured window: jtop's Python API when installed, else INA3221 hwmon sysfs.

A background thread reads the rails every ``interval_s`` (default: 10 ms for sysfs, which is about the
INA3221's conversion period with the drivers' averaging, and jtop's own 100 ms floor for jtop) and
integrates the module's input rail over time (trapezoid rule). Energy per inference = energy of the
window / inferences in it. A window shorter than ~10 sampling intervals gets a warning, not a number
that looks precise.
"""

from __future__ import annotations

import threading
import time

from edge._lazy import has_module
from edge.bench.jetson import read_hwmon_rails, total_power_mw

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


def _jtop_reader(interval_s: float):
    """A callable returning {rail: mW} from a running jtop client, and the client (to close)."""
    from jtop import jtop  # jetson-stats: talks to the jtop service

    client = jtop(interval=max(interval_s, 0.1))
    client.start()
    return (lambda: rails_from_jtop(client.power or {})), client


class PowerSampler:
    """``with PowerSampler() as p: run(); p.result(n_inferences)``.

    Args:
        source: "auto" (jtop if importable, else hwmon sysfs), "jtop", "hwmon" or "off".
        interval_s: sampling period; None means 0.01 s (hwmon) or 0.1 s (jtop).
        root: sysfs root (tests point it at a recorded tree).
    """

    def __init__(self, source: str = "auto", interval_s: float | None = None, root: str = "/"):
        self.source, self.root, self.samples = source, root, []  # samples: (t, {rail: mW})
        self._reader, self._client, self._stop, self._thread = None, None, threading.Event(), None
        if source == "auto":
            source = "jtop" if has_module("jtop") else "hwmon"
        if source == "jtop":
            self.interval_s = interval_s or 0.1
        else:
            self.interval_s = interval_s or 0.01
        self.kind = source

    @property
    def available(self) -> bool:
        if self.kind == "off":
            return False
        if self.kind == "hwmon":
            return bool(read_hwmon_rails(self.root))
        return has_module("jtop")

    def __enter__(self):
        if not self.available:
            return self
        if self.kind == "jtop":
            self._reader, self._client = _jtop_reader(self.interval_s)
        else:
            self._reader = lambda: read_hwmon_rails(self.root)
        self._thread = threading.Thread(target=self._loop, name="edge-power", daemon=True)
        self._thread.start()
        return self

    def _loop(self):
        while not self._stop.is_set():
            self.samples.append((time.perf_counter(), self._reader()))
            self._stop.wait(self.interval_s)

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self.samples.append((time.perf_counter(), self._reader()))
        if self._client is not None:
            self._client.close()

    def result(self, inferences: int | None = None) -> dict | None:
        """Mean power per rail, energy of the window and energy per inference; None if nothing sampled."""
        return summarize_power(self.samples, inferences, self.kind, self.interval_s)


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


__all__ = ["PowerSampler", "summarize_power", "rails_from_jtop"]
