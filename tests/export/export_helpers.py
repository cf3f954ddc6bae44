"""Shared pieces of the export tests: a seeded generator of admissible patch networks and a cache of
exported files (exports are the slow part, so each file is made once per session)."""

from __future__ import annotations

import math
import random

import pytest
import torch
from torch import nn

MAX_TOTAL_STRIDE = 12  # keeps patches (and the brute-force reference) small


def random_patch_net(seed: int) -> tuple[nn.Sequential, tuple[int, int], dict]:
    """A seeded admissible patch net (docs/METHODS.md §1), its patch size and what it contains.

    Unpadded convs (some strided), max/avg pools with strides 2/3/4, mixed ``sy != sx``, kernels that
    differ from strides, activations, sometimes eval BatchNorm, sometimes a flatten + Linear head.
    """
    rng = random.Random(seed)
    torch.manual_seed(seed)
    c = rng.randint(1, 2)
    layers: list[nn.Module] = []
    geometry, kinds = [], set()
    total = [1, 1]

    def stride(options):
        s = rng.choice(options)
        s = tuple(v if total[i] * v <= MAX_TOTAL_STRIDE else 1 for i, v in enumerate(s))
        total[0], total[1] = total[0] * s[0], total[1] * s[1]
        return s

    for _ in range(rng.randint(2, 3)):
        cout = rng.randint(2, 4)
        k = (rng.randint(1, 3), rng.randint(1, 3))
        s = stride([(1, 1), (1, 1), (2, 2), (2, 1), (3, 3)])
        layers.append(nn.Conv2d(c, cout, k, stride=s))
        geometry.append((k, s))
        kinds.add("strided conv" if max(s) > 1 else "conv")
        c = cout
        if rng.random() < 0.3:
            bn = nn.BatchNorm2d(c)
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
            layers.append(bn)
        layers.append(rng.choice([nn.ReLU(), nn.Tanh()]))
        if rng.random() < 0.7:
            ps = stride([(2, 2), (3, 2), (2, 3), (4, 4), (3, 3)])
            pk = (max(1, ps[0] + rng.randint(-1, 1)), max(1, ps[1] + rng.randint(-1, 1)))
            pool = nn.MaxPool2d if rng.random() < 0.5 else nn.AvgPool2d
            layers.append(pool(pk, stride=ps))
            geometry.append((pk, ps))
            kinds.add(pool.__name__)
    head = rng.random() < 0.5
    out_hw = (rng.randint(1, 2), rng.randint(1, 2)) if head else (1, 1)
    if head:
        layers += [nn.Flatten(), nn.Linear(c * out_hw[0] * out_hw[1], 5), nn.ReLU(), nn.Linear(5, 3)]
        kinds.add("Linear head")
    h, w = out_hw
    for (kh, kw), (sy, sx) in reversed(geometry):
        h, w = (h - 1) * sy + kh, (w - 1) * sx + kw
    strides = [s for _, s in geometry if max(s) > 1]
    info = {
        "kinds": kinds,
        "strides": strides,
        "values": {v for s in strides for v in s},
        "mixed": any(a != b for a, b in strides),
        "M": math.prod(a * b for a, b in strides),
    }
    return nn.Sequential(*layers).eval(), (h, w), info


SEEDS = (4, 7, 9)  # chosen so that together they cover every kind (checked by test_generator_coverage)


class Exports:
    """Session cache: (key) -> (dense net, example input, ONNX path)."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.cache: dict = {}

    def dense(self, seed: int, plugins: bool, dynamic: bool, size=(2, 11, 14)):
        from edge.dense import to_dense
        from edge.export import to_onnx

        key = ("dense", seed, plugins, dynamic, size)
        if key not in self.cache:
            net, patch, _ = random_patch_net(seed)
            d = to_dense(net, patch)
            x = torch.randn(size[0], d.in_channels, size[1], size[2])
            path = (
                self.tmp
                / f"dense{seed}_{'plug' if plugins else 'port'}_{'dyn' if dynamic else 'static'}.onnx"
            )
            to_onnx(d, x, path, plugins=plugins, dynamic=dynamic)
            self.cache[key] = (net, patch, d, x, path)
        return self.cache[key]


@pytest.fixture(scope="session")
def exports(tmp_path_factory):
    return Exports(tmp_path_factory.mktemp("onnx"))


def ort_run(path_or_model, feeds: dict):
    """Run a file/model in ONNX Runtime (CPU); plugin nodes through their attached functions."""
    import onnx
    import onnxruntime as ort

    from edge.export import attach_plugin_functions

    model = onnx.load(str(path_or_model)) if not isinstance(path_or_model, onnx.ModelProto) else path_or_model
    sess = ort.InferenceSession(
        attach_plugin_functions(model).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return sess.run(None, {k: v.numpy() if isinstance(v, torch.Tensor) else v for k, v in feeds.items()})
