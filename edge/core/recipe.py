"""Recipe: a model's input contract and preprocessing, declared once in YAML.

Calibration, the accuracy gate, ``edge compare``, ``edge bench`` and the camera pipeline all read the
same recipe, so a model sees identically preprocessed pixels everywhere. A recipe file::

    name: mobilenetv2-imagenet
    inputs:                       # the image input comes first
      - name: input
        layout: NCHW
        dtype: float32
        shape: [1, 3, 224, 224]   # or min/opt/max: [[1,1,16,16], [1,1,240,320], [1,1,720,1280]]
    resize: {short: 256, interp: linear}   # or {h: 28, w: 28, interp: area}; omit to keep frame size
    crop: {h: 224, w: 224}        # centre crop after the resize; omit for none
    color: rgb                    # rgb | bgr | gray (frames arrive in OpenCV BGR order)
    scale: "0-1"                  # scale of mean/std below: "0-1" (pixel/255 first) or "0-255"
    mean: [0.485, 0.456, 0.406]
    std: [0.229, 0.224, 0.225]
    output: {kind: classification, labels: imagenet.txt, top_k: 5}   # classification | dense | raw

``Recipe.load("mobilenetv2-imagenet")`` resolves a bundled name to ``calib/<name>.yaml``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge._lazy import lazy_import
from edge.errors import InputError

cv2 = lazy_import("cv2", feature="recipe preprocessing (resize, colour conversion)")

# bundled recipes ship inside the package (edge/core/recipes, package data: a wheel install has them too; the
# repository's calib/ is a link to it); EDGE_CALIB_DIR points elsewhere
BUNDLED_DIR = Path(os.environ.get("EDGE_CALIB_DIR", Path(__file__).resolve().parent / "recipes"))
COLORS = ("rgb", "bgr", "gray")
OUTPUT_KINDS = ("classification", "dense", "raw")
INTERP = {"nearest": "INTER_NEAREST", "linear": "INTER_LINEAR", "area": "INTER_AREA", "cubic": "INTER_CUBIC"}
DTYPES = ("float32", "float16")


@dataclass
class InputSpec:
    """One model input. ``min/opt/max`` are full NCHW shapes; a static input has all three equal."""

    name: str
    min: tuple[int, ...]
    opt: tuple[int, ...]
    max: tuple[int, ...]
    layout: str = "NCHW"
    dtype: str = "float32"

    @property
    def dynamic(self) -> bool:
        return not (self.min == self.opt == self.max)

    @property
    def channels(self) -> int:
        return self.opt[1]


@dataclass
class Recipe:
    """The parsed recipe; see the module docstring for the YAML fields."""

    name: str
    inputs: list[InputSpec]
    color: str = "rgb"
    resize: dict | None = None  # {"h","w"} or {"short"}, plus "interp"
    crop: dict | None = None  # {"h","w"} centre crop
    scale: str = "0-1"
    mean: list[float] = field(default_factory=lambda: [0.0])
    std: list[float] = field(default_factory=lambda: [1.0])
    output: dict = field(default_factory=lambda: {"kind": "raw"})
    source: str | None = None  # file it was loaded from

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path_or_name: str | os.PathLike) -> Recipe:
        """Load a recipe from a YAML path or a bundled name (``calib/<name>.yaml``)."""
        import yaml

        path = resolve(path_or_name)
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as e:
            raise InputError(f"recipe {path}: not valid YAML ({e}). Fix the file's syntax.") from e
        if not isinstance(data, dict):
            raise InputError(f"recipe {path}: expected a mapping of fields, got {type(data).__name__}")
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict, source: str | None = None) -> Recipe:
        """Validate a recipe mapping; every missing or wrong field raises InputError naming it."""
        where = f"recipe {source or data.get('name', '<dict>')}"
        for key in ("name", "inputs"):
            if key not in data:
                raise InputError(f"{where}: missing required field '{key}'. See edge/core/recipe.py for the format.")
        unknown = set(data) - {"name", "inputs", "color", "resize", "crop", "scale", "mean", "std", "output"}
        if unknown:
            raise InputError(f"{where}: unknown field(s) {sorted(unknown)}; check the spelling")
        if not isinstance(data["inputs"], list) or not data["inputs"]:
            raise InputError(f"{where}: 'inputs' must be a non-empty list of {{name, shape | min/opt/max}}")
        inputs = [_parse_input(i, where) for i in data["inputs"]]
        r = cls(name=str(data["name"]), inputs=inputs, source=source,
                color=data.get("color", "rgb"), resize=data.get("resize"), crop=data.get("crop"),
                scale=str(data.get("scale", "0-1")), mean=_floats(data.get("mean", [0.0]), "mean", where),
                std=_floats(data.get("std", [1.0]), "std", where), output=dict(data.get("output") or {"kind": "raw"}))
        r._validate(where)
        return r

    def _validate(self, where: str) -> None:
        if self.color not in COLORS:
            raise InputError(f"{where}: color '{self.color}' must be one of {COLORS}")
        if self.scale not in ("0-1", "0-255"):
            raise InputError(f"{where}: scale '{self.scale}' must be \"0-1\" or \"0-255\" (the scale of mean/std)")
        c = self.inputs[0].channels
        if c != (1 if self.color == "gray" else 3):
            raise InputError(f"{where}: color '{self.color}' gives {1 if self.color == 'gray' else 3} channels "
                             f"but input '{self.inputs[0].name}' has {c}")
        for key, vals in (("mean", self.mean), ("std", self.std)):
            if len(vals) not in (1, c):
                raise InputError(f"{where}: '{key}' needs 1 or {c} values, got {len(vals)}")
        if any(s == 0 for s in self.std):
            raise InputError(f"{where}: 'std' must not contain 0")
        if self.resize is not None:
            if not isinstance(self.resize, dict) or not ({"h", "w"} <= set(self.resize) or "short" in self.resize):
                raise InputError(f"{where}: 'resize' needs {{h, w}} or {{short}} (plus optional interp)")
            if self.resize.get("interp", "linear") not in INTERP:
                raise InputError(f"{where}: resize interp must be one of {sorted(INTERP)}")
        if self.crop is not None and not (isinstance(self.crop, dict) and {"h", "w"} <= set(self.crop)):
            raise InputError(f"{where}: 'crop' needs {{h, w}}")
        kind = self.output.get("kind", "raw")
        if kind not in OUTPUT_KINDS:
            raise InputError(f"{where}: output kind '{kind}' must be one of {OUTPUT_KINDS}")

    # ------------------------------------------------------------------ facts
    @property
    def input(self) -> InputSpec:
        """The image input (the first one declared)."""
        return self.inputs[0]

    @property
    def output_kind(self) -> str:
        return self.output.get("kind", "raw")

    def labels(self) -> list[str] | None:
        """Class names from the ``output.labels`` file (relative to the recipe), or None."""
        lab = self.output.get("labels")
        if not lab:
            return None
        p = Path(lab)
        if not p.is_absolute() and self.source:
            p = Path(self.source).parent / p
        if not p.exists():
            raise InputError(f"recipe {self.name}: labels file {p} does not exist")
        return [s.strip() for s in p.read_text().splitlines() if s.strip()]

    def shapes(self) -> dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]:
        """``{input name: (min, opt, max)}`` for optimisation profiles."""
        return {i.name: (i.min, i.opt, i.max) for i in self.inputs}

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("source")
        d["inputs"] = [{"name": i.name, "layout": i.layout, "dtype": i.dtype, "min": list(i.min),
                        "opt": list(i.opt), "max": list(i.max)} for i in self.inputs]
        return d

    def fingerprint(self) -> str:
        """sha256 of the canonical recipe (changes whenever preprocessing changes)."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()

    # ------------------------------------------------------------------ preprocessing
    def preprocess(self, frame: np.ndarray) -> dict[str, np.ndarray]:
        """One frame (HxWx3 uint8 BGR as OpenCV gives it, or HxW gray) -> ``{name: (1, C, H, W)}``."""
        return {self.input.name: self._one(frame)[None]}

    def preprocess_batch(self, frames: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
        """Frames -> ``{name: (N, C, H, W)}``; all frames must give the same size after resize/crop."""
        if len(frames) == 0:
            raise InputError("preprocess_batch: no frames given")
        arrs = [self._one(f) for f in frames]
        if len({a.shape for a in arrs}) > 1:
            raise InputError(f"preprocess_batch: frames give different sizes {sorted({a.shape for a in arrs})}; "
                             "declare a resize in the recipe or batch frames of one size")
        return {self.input.name: np.stack(arrs)}

    def _one(self, frame: np.ndarray) -> np.ndarray:
        """HxW[x1|x3] uint8 -> (C, H', W') normalised array of the input dtype."""
        img = self._color(_check_frame(frame))
        img = self._resize_crop(img)
        x = img.astype(np.float32)
        if self.scale == "0-1":
            x /= 255.0
        x = (x - np.asarray(self.mean, np.float32).reshape(1, 1, -1)) / np.asarray(self.std, np.float32).reshape(1, 1, -1)
        x = np.ascontiguousarray(x.transpose(2, 0, 1))
        self._check_size(x)
        return x.astype(self.input.dtype, copy=False)

    def _color(self, img: np.ndarray) -> np.ndarray:
        """To the recipe's colour order, always HxWxC."""
        gray_in = img.ndim == 2 or img.shape[2] == 1
        if self.color == "gray":
            return (img if img.ndim == 3 else img[..., None]) if gray_in else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)[..., None]
        if gray_in:
            img = img.reshape(img.shape[0], img.shape[1])
            return np.repeat(img[..., None], 3, axis=2)
        return img[..., ::-1] if self.color == "rgb" else img

    def _resize_crop(self, img: np.ndarray) -> np.ndarray:
        h, w = img.shape[:2]
        if self.resize is not None:
            if "short" in self.resize:
                s = int(self.resize["short"])
                nh, nw = (s, max(1, round(w * s / h))) if h <= w else (max(1, round(h * s / w)), s)
            else:
                nh, nw = int(self.resize["h"]), int(self.resize["w"])
            if (nh, nw) != (h, w):
                interp = getattr(cv2, INTERP[self.resize.get("interp", "linear")])
                img = cv2.resize(np.ascontiguousarray(img), (nw, nh), interpolation=interp)
                if img.ndim == 2:
                    img = img[..., None]
        if self.crop is not None:
            ch, cw = int(self.crop["h"]), int(self.crop["w"])
            h, w = img.shape[:2]
            if ch > h or cw > w:
                raise InputError(f"recipe {self.name}: crop {ch}x{cw} is larger than the resized frame {h}x{w}")
            top, left = (h - ch) // 2, (w - cw) // 2
            img = img[top:top + ch, left:left + cw]
        return img

    def _check_size(self, x: np.ndarray) -> None:
        spec = self.input
        for ax, (lo, hi) in enumerate(zip(spec.min[1:], spec.max[1:])):
            if not lo <= x.shape[ax] <= hi:
                raise InputError(f"recipe {self.name}: preprocessed frame has shape {x.shape} (C,H,W) but input "
                                 f"'{spec.name}' allows {spec.min[1:]}..{spec.max[1:]}; resize the frames or widen "
                                 "the min/max shapes")


def resolve(path_or_name: str | os.PathLike) -> Path:
    """A recipe path, or a bundled name -> ``calib/<name>.yaml``; InputError listing the bundled ones."""
    p = Path(path_or_name)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.exists():
            raise InputError(f"recipe file {p} does not exist")
        return p
    bundled = BUNDLED_DIR / f"{p.name}.yaml"
    if bundled.exists():
        return bundled
    raise InputError(f"unknown recipe '{path_or_name}': not a file and not bundled; bundled recipes: "
                     f"{', '.join(bundled_names()) or '(none)'}")


def bundled_names() -> list[str]:
    return sorted(p.stem for p in BUNDLED_DIR.glob("*.yaml"))


def _parse_input(d: Any, where: str) -> InputSpec:
    if not isinstance(d, dict) or "name" not in d:
        raise InputError(f"{where}: each input needs a 'name' (got {d!r})")
    if "shape" in d:
        mn = opt = mx = _shape(d["shape"], f"input '{d['name']}' shape", where)
    elif {"min", "opt", "max"} <= set(d):
        mn, opt, mx = (_shape(d[k], f"input '{d['name']}' {k}", where) for k in ("min", "opt", "max"))
        if not all(a <= b <= c for a, b, c in zip(mn, opt, mx)):
            raise InputError(f"{where}: input '{d['name']}' needs min <= opt <= max per axis, got {mn} {opt} {mx}")
    else:
        raise InputError(f"{where}: input '{d['name']}' needs 'shape' or all of 'min', 'opt', 'max'")
    if len({len(mn), len(opt), len(mx)}) != 1 or len(mn) != 4:
        raise InputError(f"{where}: input '{d['name']}' shapes must be 4-D NCHW, got {mn} {opt} {mx}")
    layout, dtype = d.get("layout", "NCHW"), d.get("dtype", "float32")
    if layout != "NCHW":
        raise InputError(f"{where}: input '{d['name']}' layout '{layout}' is not supported; use NCHW")
    if dtype not in DTYPES:
        raise InputError(f"{where}: input '{d['name']}' dtype '{dtype}' must be one of {DTYPES}")
    return InputSpec(str(d["name"]), mn, opt, mx, layout, dtype)


def _shape(v: Any, what: str, where: str) -> tuple[int, ...]:
    if not isinstance(v, (list, tuple)) or not all(isinstance(s, int) and s > 0 for s in v):
        raise InputError(f"{where}: {what} must be a list of positive integers, got {v!r}")
    return tuple(v)


def _floats(v: Any, what: str, where: str) -> list[float]:
    if isinstance(v, (int, float)):
        v = [v]
    try:
        return [float(x) for x in v]
    except (TypeError, ValueError) as e:
        raise InputError(f"{where}: '{what}' must be a number or a list of numbers, got {v!r}") from e


def _check_frame(frame: np.ndarray) -> np.ndarray:
    if not isinstance(frame, np.ndarray):
        raise InputError(f"preprocess: expected a numpy array (HxWx3 BGR or HxW gray), got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise InputError(f"preprocess: expected uint8 pixels 0..255, got {frame.dtype}; convert with "
                         "np.clip(x*255, 0, 255).astype(np.uint8) if your frame is 0..1 float")
    if frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] not in (1, 3)):
        raise InputError(f"preprocess: expected HxWx3 (BGR) or HxW (gray), got shape {frame.shape}")
    return frame
