"""Input feeds for comparisons and benchmarks: seeded random, image files, or .npz archives.

Dynamic dimensions are resolved from ``shapes`` (name -> full shape), else from defaults
(batch 1, 3-D/4-D spatial dims 224, any other dim 1), so the same feed can be given to several
runners of one model whatever the backend reports for its dynamic dims.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from edge.errors import InputError
from edge.runtime.base import TensorMeta, is_dynamic
from edge.spec import parse_shapes  # noqa: F401 - the one shape grammar, re-exported for edge.runtime

DEFAULT_SPATIAL = 224


def resolve_shape(meta: TensorMeta, shape: Sequence[int] | None = None) -> tuple[int, ...]:
    """A concrete shape for ``meta``: ``shape`` when given (checked against fixed dims), else defaults."""
    if shape is not None:
        shape = tuple(int(s) for s in shape)
        if meta.shape is not None and (len(shape) != len(meta.shape) or any(
                not is_dynamic(d) and int(d) != s for d, s in zip(meta.shape, shape))):
            raise InputError(f"shape {shape} given for input '{meta.name}' does not fit its shape {meta.shape_str()}")
        return shape
    if meta.shape is None:
        raise InputError(f"input '{meta.name}' has no known shape. Fix: give one, e.g. --shape {meta.name}:1x3x224x224")
    out = []
    for i, d in enumerate(meta.shape):
        if not is_dynamic(d):
            out.append(int(d))
        else:
            out.append(1 if i == 0 or len(meta.shape) < 3 or i < len(meta.shape) - 2 else DEFAULT_SPATIAL)
    return tuple(out)


def random_feed(metas: Sequence[TensorMeta], seed: int | None = None,
                shapes: Mapping[str, Sequence[int]] | None = None, low: float = 0.0, high: float = 1.0
                ) -> dict[str, np.ndarray]:
    """Seeded uniform [low, high) floats (ints in [0, 10)) for every input; None seed = 0."""
    rng = np.random.default_rng(0 if seed is None else seed)
    shapes = shapes or {}
    feed = {}
    for m in metas:
        shape = resolve_shape(m, shapes.get(m.name))
        dt = np.dtype(m.dtype)
        if dt.kind == "f":
            feed[m.name] = rng.uniform(low, high, size=shape).astype(dt)
        elif dt.kind == "b":
            feed[m.name] = rng.integers(0, 2, size=shape).astype(dt)
        else:
            feed[m.name] = rng.integers(0, 10, size=shape).astype(dt)
    return feed


def image_feed(meta: TensorMeta, paths: Sequence[str | os.PathLike], shape: Sequence[int] | None = None
               ) -> dict[str, np.ndarray]:
    """Image files -> ``float32[B, C, H, W]`` in [0, 1] for input ``meta``.

    Simple preprocessing: decode with OpenCV, grayscale when C == 1 else RGB, resize to the input's
    H x W when fixed (or given in ``shape``), else keep the first image's size. B = number of files.
    For a model-specific preprocessing (mean/std, crop) use a recipe or an .npz feed.
    """
    import cv2  # noqa: PLC0415 - heavy optional dependency, imported on use

    dims = list(meta.shape) if meta.shape is not None else ["batch", 3, "height", "width"]
    if shape is not None:
        dims = list(shape)
    if len(dims) != 4:
        raise InputError(f"--image needs a 4-D (B, C, H, W) input; '{meta.name}' has shape {meta.shape_str()}")
    channels = dims[1] if not is_dynamic(dims[1]) else 3
    if channels not in (1, 3):
        raise InputError(f"--image fills 1- or 3-channel inputs; '{meta.name}' has {channels} channels")
    size = None if is_dynamic(dims[2]) or is_dynamic(dims[3]) else (int(dims[3]), int(dims[2]))
    images = []
    for p in paths:
        img = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR)
        if img is None:
            raise InputError(f"cannot read image '{p}' (missing or not an image file)")
        if channels == 3:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        size = size or (img.shape[1], img.shape[0])
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        images.append(img.reshape(img.shape[0], img.shape[1], channels).transpose(2, 0, 1))
    x = np.stack(images).astype(np.float32) / 255.0
    return {meta.name: x.astype(meta.dtype if np.dtype(meta.dtype).kind == "f" else np.float32)}


def recipe_feed(recipe, paths: Sequence[str | os.PathLike] | None = None, seed: int | None = None
                ) -> dict[str, np.ndarray]:
    """A feed made by a calibration recipe (``edge.core.recipe.Recipe`` or its name/path): the image
    files through the recipe's own preprocessing (colour, resize/crop, mean/std), or without images a
    seeded random input of the recipe's ``opt`` shape. Same preprocessing as calibration and the camera."""
    from edge.core.recipe import Recipe

    recipe = recipe if isinstance(recipe, Recipe) else Recipe.load(recipe)
    if not paths:
        spec = recipe.input
        meta = TensorMeta(spec.name, tuple(spec.opt), np.dtype(spec.dtype))
        return random_feed([meta], seed)
    import cv2  # noqa: PLC0415 - heavy optional dependency, imported on use

    frames = []
    for p in paths:
        frame = cv2.imread(str(p), cv2.IMREAD_COLOR)  # BGR, as the recipe expects from OpenCV
        if frame is None:
            raise InputError(f"cannot read image '{p}' (missing or not an image file)")
        frames.append(frame)
    return recipe.preprocess_batch(frames)


def load_npz(path: str | os.PathLike) -> list[dict[str, np.ndarray]]:
    """Feeds from an .npz: keys ``name`` (one feed) or ``<i>/name`` (several, as --save-inputs writes)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"input file '{path}' does not exist")
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    if arrays and all("/" in k for k in arrays):
        feeds: dict[int, dict] = {}
        for k, v in arrays.items():
            i, name = k.split("/", 1)
            feeds.setdefault(int(i), {})[name] = v
        return [feeds[i] for i in sorted(feeds)]
    return [arrays]


def save_npz(path: str | os.PathLike, items: Sequence[Mapping[str, np.ndarray]]) -> Path:
    """Write feeds/outputs as ``<i>/name`` keys (atomically)."""
    from edge.io import atomic_path

    flat = {f"{i}/{k}": np.asarray(v) for i, d in enumerate(items) for k, v in d.items()}
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, **flat)
    return Path(path)
