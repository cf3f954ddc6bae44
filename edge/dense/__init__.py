"""Fast dense feature extraction (docs/METHODS.md §1): patch network -> exact full-image network."""

from edge.dense.convert import converters, layers_of, to_dense
from edge.dense.flops import DenseFlops, dense_flops
from edge.dense.layers import MultiStride, Unwarp, space_to_batch, unwarp
from edge.dense.network import DenseNet
from edge.dense.patch import PatchRunner, PatchTiming, exactness
from edge.dense.tiling import TilePlan, plan_tiles, run_tiled
from edge.models.patch_nets import REFERENCE_NETS, basenet, simo_serra

__all__ = [
    "to_dense", "converters", "layers_of", "DenseNet", "PatchRunner", "PatchTiming", "exactness", "DenseFlops",
    "dense_flops", "MultiStride", "Unwarp", "space_to_batch", "unwarp", "TilePlan", "plan_tiles", "run_tiled",
    "basenet", "simo_serra", "REFERENCE_NETS",
]
