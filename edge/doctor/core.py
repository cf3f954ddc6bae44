"""The pieces every doctor probe shares: a check result, the host it reads, and the runner.

A probe is a function ``probe(host) -> Check | list[Check]``. It reads files through ``host.read`` (paths
relative to ``host.root``, so a recorded sysfs tree stands in for a Jetson) and runs commands through
``host.run`` (recorded outputs stand in for ``nvpmodel -q`` and friends). A probe that raises does not stop
the doctor: :func:`run_probes` turns the exception into a FAIL line that names it.
"""

from __future__ import annotations

import shutil
import subprocess
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

OK, WARN, FAIL, SKIP = "OK", "WARN", "FAIL", "SKIP"
STATUSES = (OK, WARN, FAIL, SKIP)
#: version of the JSON layout written by ``edge doctor --json`` (bumped when a key changes meaning)
SCHEMA = 1


@dataclass
class Check:
    """One line of the doctor's report.

    ``value`` is what was found (a short string), ``fix`` what to do when the status is not OK (None when
    OK), ``detail`` optional structured data for the JSON report (versions, paths, rails).
    """

    name: str
    status: str
    value: str | None = None
    fix: str | None = None
    detail: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"check {self.name}: status must be one of {STATUSES}, got {self.status!r}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class CommandResult:
    """What a command printed and its exit status."""

    returncode: int
    stdout: str = ""
    stderr: str = ""


class Host:
    """The machine a probe looks at: files below ``root`` and the commands it may run.

    Args:
        root: the file-system root the probes read below ("/" = this machine; a folder = a recorded tree).
        commands: recorded outputs, ``{"nvpmodel -q": "NV Power Mode: MAXN\\n0"}`` (a str is stdout with
            status 0, or a CommandResult). When given, no real command is run. When not given and ``root``
            is not "/", commands are not run either (their output would describe this machine, not the tree).
        facts: recorded answers of live probes that are not files, by key (``"cuda_driver"``: what libcuda
            said, ``"gpu_status"``: edge.core.cuda.gpu_status() as a GpuStatus), e.g. from a device's
            ``edge doctor --json``. Without them a recorded tree does not ask this machine's driver.
    """

    def __init__(self, root: str | Path = "/", commands: Mapping[str, str | CommandResult] | None = None,
                 facts: Mapping[str, object] | None = None):
        self.root = Path(root)
        self.commands = commands
        self.live = self.root.resolve() == Path("/") and commands is None
        self._cache: dict = dict(facts or {})

    def path(self, path: str) -> Path:
        """``/proc/device-tree/model`` -> ``<root>/proc/device-tree/model``."""
        return self.root / path.lstrip("/")

    def read(self, path: str) -> str | None:
        """The file's text (NUL bytes, as device-tree strings end with, removed); None when unreadable."""
        try:
            return self.path(path).read_bytes().decode(errors="replace").replace("\x00", "").strip()
        except OSError:
            return None

    def exists(self, path: str) -> bool:
        return self.path(path).exists()

    def glob(self, pattern: str) -> list[Path]:
        return sorted(self.root.glob(pattern.lstrip("/")))

    def run(self, argv: list[str], timeout: float = 5.0) -> CommandResult | None:
        """Run ``argv`` (or look up its recorded output); None when the command does not exist here."""
        key = " ".join(argv)
        if self.commands is not None:
            rec = self.commands.get(key)
            return CommandResult(0, rec) if isinstance(rec, str) else rec
        if not self.live:
            return None
        exe = shutil.which(argv[0])
        if exe is None:
            return None
        try:
            res = subprocess.run([exe, *argv[1:]], capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return CommandResult(124, "", f"{key}: no answer within {timeout:.0f} s")
        except OSError as e:
            return CommandResult(126, "", f"{key}: {e}")
        return CommandResult(res.returncode, res.stdout, res.stderr)

    def memo(self, key: str, fn: Callable[[], object]):
        """``fn()`` computed once per host (probes share facts such as "is this a Jetson")."""
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]


Probe = Callable[[Host], "Check | list[Check]"]


def run_probes(host: Host, probes: Iterable[tuple[str, Probe]]) -> list[Check]:
    """Run each probe; an exception becomes a FAIL line with its type, message and where it was raised."""
    out: list[Check] = []
    for name, probe in probes:
        try:
            res = probe(host)
        except Exception as e:  # noqa: BLE001 - the doctor must report, not crash
            tb = traceback.extract_tb(e.__traceback__)
            where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
            out.append(Check(name, FAIL, f"the probe raised {type(e).__name__}: {e}{where}",
                             "this is what the probe met; attach `edge doctor --json` to a bug report"))
            continue
        out.extend(res if isinstance(res, list) else [res])
    return out


def exit_code(checks: Iterable[Check], steps: Iterable[dict] = ()) -> int:
    """0 when no check and no step FAILs, else 1."""
    bad = any(c.status == FAIL for c in checks) or any(s.get("status") == FAIL for s in steps)
    return 1 if bad else 0


def summary(checks: Iterable[Check]) -> dict[str, int]:
    counts = {s: 0 for s in STATUSES}
    for c in checks:
        counts[c.status] += 1
    return counts


def format_text(checks: list[Check]) -> str:
    """One line per check: ``STATUS  name  value``, then an indented ``fix:`` line when not OK."""
    width = max((len(c.name) for c in checks), default=0)
    lines = []
    for c in checks:
        lines.append(f"{c.status:<4}  {c.name:<{width}}  {c.value if c.value is not None else '-'}")
        if c.status != OK and c.fix:
            lines.append(f"{'':<4}  {'':<{width}}  fix: {c.fix}")
    counts = summary(checks)
    lines.append("")
    lines.append("  ".join(f"{k} {v}" for k, v in counts.items()))
    return "\n".join(lines)
