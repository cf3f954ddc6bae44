"""Fixtures of the export tests live in export_helpers.py (a uniquely named module, so that test files
can import its helpers whatever other conftest.py files pytest loaded first)."""

from export_helpers import *  # noqa: F401,F403 - re-exports the fixtures to pytest
