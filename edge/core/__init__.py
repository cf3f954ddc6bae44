"""Core objects every layer of edge shares, with no dependency on any of those layers.

- :mod:`edge.core.recipe`: ``Recipe``, a model's input contract and preprocessing (bundled recipes in
  ``edge/core/recipes``; the repository's ``calib/`` links there); calibration, the gate, compare, bench,
  the TensorRT builder and the camera pipeline all read the same recipe.
- :mod:`edge.core.frames`: ``FrameSet`` and the frame-source grammar (folders, videos, .npz, the offline data
  sets), turned into model feeds by a Recipe.
- :mod:`edge.core.cuda`: the CUDA memory layer (cuda-python or pycuda), ``gpu_status`` with the real reason a
  GPU is unusable; used by the TensorRT runner, the builder's calibrator, benchmarks and ``edge doctor``.

Model specs and the shape grammar are in :mod:`edge.spec`; the plugin contract in :mod:`edge.export.contract`.
"""
