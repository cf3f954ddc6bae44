#!/usr/bin/env python3
"""Apply the small syntax fixes tensorrt-stubs==10.13.0.35.1 needs before mypy can read it.

    python scripts/fix_tensorrt_stubs.py <site-packages of the typecheck venv>

The generated stubs contain signatures such as ``def f(self, a: X = None, b: int)`` (a parameter without
default after one with a default): a SyntaxError in Python. The fix gives such later parameters a ``= ...``
default, which keeps every name and type for mypy. Idempotent; prints what it changed.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

# a parameter named like a Python keyword (``def get_workspace_size(self, in: ...)``) -> ``in_``
KEYWORD_PARAM = re.compile(r"([(,]\s*)(in|from|lambda|def|class|is|not|and|or|if|else|for|while|with|as|global|pass|return|yield|import|try|except|raise|del|assert|async|await|None|True|False):")


def fix_signature(line: str) -> str:
    """Give every parameter after the first defaulted one a default (``= ...``)."""
    m = re.match(r"^(\s*def \w+\()(.*)(\)\s*(->.*)?:.*)$", line)
    if not m:
        raise ValueError(f"not a one-line def: {line[:120]}")
    params, depth, cur = [], 0, ""
    for ch in m.group(2):  # split on top-level commas only (types like Tuple[int, int])
        depth += ch in "[(" and 1 or (ch in "])" and -1 or 0)
        if ch == "," and depth == 0:
            params.append(cur)
            cur = ""
        else:
            cur += ch
    params.append(cur)
    seen_default, out = False, []
    for p in params:
        if "=" in p:
            seen_default = True
        elif seen_default and p.strip() and not p.strip().startswith("*"):
            p = p.rstrip() + " = ..."
        out.append(p)
    return m.group(1) + ",".join(out) + m.group(3)


def fix_file(path: Path) -> int:
    lines = path.read_text().splitlines()
    fixes = 0
    for _ in range(1000):
        try:
            ast.parse("\n".join(lines))
            break
        except SyntaxError as e:
            line = lines[(e.lineno or 1) - 1]
            if "default argument" in str(e.msg):
                lines[e.lineno - 1] = fix_signature(line)
            elif KEYWORD_PARAM.search(line):
                lines[e.lineno - 1] = KEYWORD_PARAM.sub(lambda m: f"{m.group(1)}{m.group(2)}_:", line)
            else:
                raise SystemExit(f"{path}:{e.lineno}: unexpected syntax error {e.msg!r}; update this script")
            fixes += 1
    path.write_text("\n".join(lines) + "\n")
    return fixes


def main(argv: list[str]) -> None:
    site = Path(argv[1]) if len(argv) > 1 else Path(".")
    stubs = sorted((site / "tensorrt_bindings").glob("*.pyi")) + sorted((site / "tensorrt").glob("*.pyi"))
    if not stubs:
        raise SystemExit(f"no tensorrt stubs under {site}: pip install --no-deps tensorrt-stubs==10.13.0.35.1")
    for p in stubs:
        n = fix_file(p)
        print(f"{p}: {n} signature(s) fixed")
    for pkg in ("tensorrt", "tensorrt_bindings"):  # without the PEP 561 marker mypy ignores the stubs
        (site / pkg / "py.typed").write_text("partial\n" if pkg == "tensorrt" else "")


if __name__ == "__main__":
    main(sys.argv)
