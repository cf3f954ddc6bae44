"""setuptools' PEP 517 backend, plus ``cmake`` as a build requirement where no usable CMake is installed.

pyproject.toml names this module as the build backend (``backend-path = ["build_backend"]``). It is
setuptools.build_meta unchanged, except that the requirement lists of the wheel and editable builds gain
``cmake>=3.18`` (PyPI's CMake wheel) when ``cmake`` on PATH is missing or older, the way scikit-build-core
does. setup.py then builds the native CPU library with it.
"""

from __future__ import annotations

import re
import shutil
import subprocess

from setuptools import build_meta as _meta
from setuptools.build_meta import *

CMAKE_MIN = (3, 18)


def _cmake_requirement() -> list[str]:
    exe = shutil.which("cmake")
    if exe:
        try:
            out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30, check=False).stdout
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        m = re.search(r"version (\d+)\.(\d+)", out)
        if m and (int(m.group(1)), int(m.group(2))) >= CMAKE_MIN:
            return []
    return [f"cmake>={CMAKE_MIN[0]}.{CMAKE_MIN[1]}"]


def get_requires_for_build_wheel(config_settings=None):
    return _meta.get_requires_for_build_wheel(config_settings) + _cmake_requirement()


def get_requires_for_build_editable(config_settings=None):
    return _meta.get_requires_for_build_editable(config_settings) + _cmake_requirement()
