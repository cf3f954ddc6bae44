"""The project carries its own documents: nothing a user reads cites a file outside the repository or names
a person, and every reference into docs/METHODS.md points at a section (and step) that exists.

Scanned: edge/, plugins/, docs/, scripts/, README.md and the top-level build files (Makefile,
pyproject.toml, requirements-nodeps.txt). tests/ is not scanned: this file spells out the patterns.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCANNED_DIRS = ("edge", "plugins", "docs", "scripts")
SCANNED_FILES = ("README.md", "Makefile", "pyproject.toml", "requirements-nodeps.txt")
TEXT_SUFFIXES = {".py", ".pyi", ".md", ".rst", ".txt", ".sh", ".cuh", ".cu", ".cpp", ".cc", ".h", ".hpp",
                 ".yaml", ".yml", ".json", ".toml", ".cfg", ".ini", ".cmake", ".in"}
SKIP_DIRS = {"__pycache__", "build", ".pytest_cache", ".mypy_cache", ".ruff_cache"}

# Documents users do not have (the team's specification, its target and data notes), named any way.
FORBIDDEN = {
    "the team's specification": re.compile(r"SPEC\s*§|\b[Tt]he SPEC\b|\bSPEC's\b|\bSPEC (?:loss|sparsity|section)"),
    "a path outside the repository": re.compile(r"\.\./shared\b"),
    "a shared note": re.compile(r"shared[/ ](?:SPEC|TARGETS|DATA|STYLE|DESIGN)\b"),
    "the specification's background articles": re.compile(r"\bseeds/|\bseed 0\d\d\b"),
    "a person or team": re.compile(r"\b[Ee]ngineer [A-Z]\d?\b|\b[Hh]elper [A-Z]\d?\b|\b[Tt]eam [A-Z]\d?\b"),
}
METHODS = REPO / "docs" / "METHODS.md"
# "docs/METHODS.md §4", "METHODS §4", "[METHODS.md §4](METHODS.md)", "METHODS.md §2-§5", "§1 step 5"
METHODS_REF = re.compile(r"METHODS(?:\.md)? §(\d+)(?:-§(\d+))?(?:\)?,? step (\d+))?")


def scanned_files() -> list[Path]:
    files = [REPO / f for f in SCANNED_FILES if (REPO / f).is_file()]
    for d in SCANNED_DIRS:
        for p in sorted((REPO / d).rglob("*")):
            if p.is_file() and not SKIP_DIRS.intersection(p.relative_to(REPO).parts) and (
                    p.suffix in TEXT_SUFFIXES or p.name in ("CMakeLists.txt", "Makefile")):
                files.append(p)
    return files


def _read(p: Path) -> str | None:
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None


def offences(text: str) -> list[tuple[int, str, str]]:
    """``(line number, what, the line)`` for every forbidden citation or name in ``text``."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        for what, rx in FORBIDDEN.items():
            if rx.search(line):
                out.append((n, what, line.strip()))
    return out


def methods_outline(text: str) -> tuple[set[int], dict[int, set[int]]]:
    """Section numbers (``## §N ...`` headings) and, per section, its numbered steps (``N. `` lines)."""
    sections: set[int] = set()
    steps: dict[int, set[int]] = {}
    current = None
    for line in text.splitlines():
        m = re.match(r"## §(\d+) ", line)
        if m:
            current = int(m.group(1))
            sections.add(current)
            steps[current] = set()
            continue
        m = re.match(r"(\d+)\. ", line)
        if m and current is not None:
            steps[current].add(int(m.group(1)))
    return sections, steps


def dangling_references(text: str, sections: set[int], steps: dict[int, set[int]]) -> list[str]:
    """Every METHODS reference in ``text`` whose section (or step of that section) does not exist."""
    bad = []
    for m in METHODS_REF.finditer(text):
        first, last, step = int(m.group(1)), int(m.group(2) or m.group(1)), m.group(3)
        missing = [s for s in range(first, last + 1) if s not in sections]
        if missing or first > last:
            bad.append(f"{m.group(0)!r}: no section {missing or [first, last]}")
        elif step is not None and int(step) not in steps.get(first, set()):
            bad.append(f"{m.group(0)!r}: section §{first} has no step {step}")
    return bad


# -- the checks themselves must be able to fail ------------------------------------------------------
@pytest.mark.parametrize("line", [
    "Fast dense feature extraction (SPEC §1): patch network",
    "the SPEC loss above", "With the SPEC's plain loss",
    "fallback plugin importer reads (``../shared/TARGETS.md``)",
    "Version paths (shared/TARGETS.md): on TensorRT 11", "installed with --no-deps (see shared DATA.md)",
    "(engineer A's edge.export.ort_functions)", "(2026-11-23, engineer D2)", "written by helper B",
    "hints of ShuffleNet V2 (seed 002)",
])
def test_the_patterns_catch_outside_citations_and_names(line):
    assert offences(line), line


@pytest.mark.parametrize("line", [
    "TORCH_SPEC ?= torch==2.13.0", "INT8_SPEC = 1", "edge quantize --calib SPEC", "a model spec (spec.py)", "other engineers' jobs",
    "shared by subcommands", "docs/METHODS.md §4", "[docs/DATA.md](docs/DATA.md)", "--seed 0",
])
def test_the_patterns_leave_ordinary_text_alone(line):
    assert not offences(line), line


def test_dangling_references_are_found():
    sections, steps = {1, 2}, {1: {5, 6}, 2: set()}
    text = "docs/METHODS.md §1 step 5, METHODS §2, METHODS.md §1-§2; METHODS §3; METHODS §1 step 9; METHODS §1-§4"
    bad = dangling_references(text, sections, steps)
    assert len(bad) == 3 and "§3" in bad[0] and "step 9" in bad[1] and "§1-§4" in bad[2], bad


# -- the repository ---------------------------------------------------------------------------------
def test_nothing_cites_documents_users_do_not_have_or_names_people():
    files = scanned_files()
    assert any(p.name == "METHODS.md" for p in files) and any(p.suffix == ".py" for p in files)
    found = []
    for p in files:
        text = _read(p)
        for n, what, line in offences(text) if text is not None else ():
            found.append(f"{p.relative_to(REPO)}:{n}: {what}: {line[:120]}")
    assert not found, ("cite docs/METHODS.md, docs/TENSORRT.md or docs/DATA.md instead, and say what the "
                       "code does rather than who wrote it:\n" + "\n".join(found))


def test_methods_has_the_five_sections_and_the_dense_form_steps():
    sections, steps = methods_outline(METHODS.read_text(encoding="utf-8"))
    assert sections == {1, 2, 3, 4, 5}
    assert {5, 6} <= steps[1]  # the unwarp and tiling steps the dense code cites


def test_every_methods_reference_points_at_an_existing_section():
    sections, steps = methods_outline(METHODS.read_text(encoding="utf-8"))
    refs = 0
    problems = []
    for p in scanned_files() + sorted((REPO / "tests").rglob("*.py")):
        text = _read(p)
        if text is None or p == Path(__file__).resolve():
            continue
        refs += len(METHODS_REF.findall(text))
        for b in dangling_references(text, sections, steps):
            problems.append(f"{p.relative_to(REPO)}: {b}")
    assert refs >= 20, f"only {refs} references to docs/METHODS.md found: did the pattern or the docs change?"
    assert not problems, "\n".join(problems)
