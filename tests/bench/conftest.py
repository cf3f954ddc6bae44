"""tests/bench reuses the tiny ONNX models of tests/camera (camera_models.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "camera"))
