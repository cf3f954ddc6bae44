"""Recipe loading, validation and preprocessing (checked against hand-computed numpy)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from edge.core.recipe import Recipe, bundled_names
from edge.errors import InputError


def test_bundled_recipes_load():
    names = bundled_names()
    for n in ("mobilenetv2-imagenet", "fashion-cnn", "dense-basenet"):
        assert n in names
        r = Recipe.load(n)
        assert r.name == n and r.inputs[0].layout == "NCHW"
    assert Recipe.load("dense-basenet").input.dynamic
    assert Recipe.load("fashion-cnn").labels()[9] == "Ankle boot"


def test_imagenet_preprocess_matches_manual():
    r = Recipe.load("mobilenetv2-imagenet")
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (256, 320, 3), dtype=np.uint8)  # BGR, short side already 256
    x = r.preprocess(frame)["input"]
    assert x.shape == (1, 3, 224, 224) and x.dtype == np.float32
    rgb = frame[16:240, 48:272, ::-1].astype(np.float32) / 255.0
    ref = (rgb - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(x[0], ref.transpose(2, 0, 1), rtol=1e-5, atol=1e-5)


def test_gray_dynamic_and_batch():
    r = Recipe.load("dense-basenet")
    frame = np.full((40, 50, 3), 255, np.uint8)
    x = r.preprocess(frame)["input"]
    assert x.shape == (1, 1, 40, 50)
    np.testing.assert_allclose(x, 1.0, atol=1e-6)
    b = r.preprocess_batch([frame, frame[..., 0]])["input"]
    assert b.shape == (2, 1, 40, 50)
    with pytest.raises(InputError, match="different sizes"):
        r.preprocess_batch([frame, frame[:30]])
    with pytest.raises(InputError, match="allows"):
        r.preprocess(np.zeros((8, 8), np.uint8))  # below the declared min 16x16


def test_fashion_resize_gray():
    r = Recipe.load("fashion-cnn")
    x = r.preprocess(np.zeros((56, 56), np.uint8))["input"]
    assert x.shape == (1, 1, 28, 28)
    np.testing.assert_allclose(x, (0 - 0.2860) / 0.3530, rtol=1e-5)


@pytest.mark.parametrize("patch, match", [
    ({"inputs": None}, "non-empty list"),
    ({"color": "hsv"}, "color"),
    ({"mean": [0.1, 0.2]}, "'mean' needs"),
    ({"scale": "0-2"}, "scale"),
    ({"resize": {"h": 3}}, "resize"),
    ({"bogus": 1}, "unknown field"),
    ({"inputs": [{"name": "x", "shape": [1, 3, 0, 4]}]}, "positive integers"),
    ({"inputs": [{"name": "x", "min": [1, 3, 9, 9], "opt": [1, 3, 8, 8], "max": [1, 3, 9, 9]}]}, "min <= opt"),
    ({"output": {"kind": "boxes"}}, "output kind"),
])
def test_bad_fields_are_named(patch, match):
    d = {"name": "t", "inputs": [{"name": "x", "shape": [1, 3, 8, 8]}]}
    d.update(patch)
    with pytest.raises(InputError, match=match):
        Recipe.from_dict(d)


def test_bad_files(tmp_path):
    with pytest.raises(InputError, match="bundled recipes"):
        Recipe.load("no-such-recipe")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML"):
        Recipe.load(bad)
    missing = tmp_path / "m.yaml"
    missing.write_text("name: m\n")
    with pytest.raises(InputError, match="missing required field 'inputs'"):
        Recipe.load(missing)
    with pytest.raises(InputError, match="uint8"):
        Recipe.load("fashion-cnn").preprocess(np.zeros((28, 28), np.float32))


def test_bundled_recipes_ship_inside_the_package():
    """A wheel install has no repository calib/ folder: the recipes must be package data of edge.calib."""
    import tomllib

    import edge
    from edge.core import recipe as rmod

    pkg = Path(edge.__file__).resolve().parent
    assert rmod.BUNDLED_DIR.resolve().is_relative_to(pkg) or "EDGE_CALIB_DIR" in os.environ
    assert {"dense-basenet", "fashion-cnn", "mobilenetv2-imagenet"} <= set(rmod.bundled_names())
    data = tomllib.loads((pkg.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["*"]
    assert "recipes/*" in data
    assert Recipe.load("fashion-cnn").labels()[0] == "T-shirt/top"
