"""ctypes binding of the plugins' CPU references (``libedge_ref.so``) and the search for the built libraries.

- :func:`multipool_unwarp`, :func:`sample_interp`: the element definitions of the EdgeMultiPoolUnwarp and
  EdgeSampleInterp plugins, computed on the CPU by the same C++ index functions as the CUDA kernels;
- :mod:`edge.native.sample_interp_cpu` (imported on demand: it needs torch): the fast CPU path of
  ``torch.ops.edge.sample_interp`` (C++ gather and interpolation around a torch GEMM);
- :func:`find_library`, :func:`search_dirs`: where ``libedge_ref.so`` / ``libedge_plugins.so`` are looked
  for (an explicit directory or ``EDGE_PLUGIN_DIR``, the source checkout's ``build/plugins``, the package;
  never the working directory).

- :func:`kernel_info`: which CPU kernel runs sample-interp (native or the PyTorch fallback) and where its
  library was loaded from.

Nothing is loaded at import: the library is opened on the first call (PluginError when not built).
"""

from edge.native._lib import PLUGIN_LIBRARY, REF_LIBRARY, find_library, ref_library, search_dirs
from edge.native.info import kernel_info
from edge.native.ops import multipool_unwarp, sample_interp

__all__ = [
           "PLUGIN_LIBRARY",
           "REF_LIBRARY",
           "find_library",
           "kernel_info",
           "multipool_unwarp",
           "ref_library",
           "sample_interp",
           "search_dirs",
]
