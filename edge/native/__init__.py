"""ctypes binding of the plugins' CPU references (``libedge_ref.so``) and the search for the built libraries.

- :func:`multipool_unwarp`, :func:`sample_interp`: the element definitions of the EdgeMultiPoolUnwarp and
  EdgeSampleInterp plugins, computed on the CPU by the same C++ index functions as the CUDA kernels;
- :mod:`edge.native.sample_interp_cpu` (imported on demand: it needs torch): the fast CPU path of
  ``torch.ops.edge.sample_interp`` (C++ gather and interpolation around a torch GEMM);
- :func:`find_library`, :func:`search_dirs`: where ``libedge_ref.so`` / ``libedge_plugins.so`` are looked
  for (an explicit directory or ``EDGE_PLUGIN_DIR``, the source checkout's ``build/plugins``, the package;
  never the working directory).

Nothing is loaded at import: the library is opened on the first call (PluginError when not built).
"""

from edge.native._lib import PLUGIN_LIBRARY, REF_LIBRARY, find_library, ref_library, search_dirs
from edge.native.ops import multipool_unwarp, sample_interp

__all__ = ["multipool_unwarp", "sample_interp", "find_library", "search_dirs", "ref_library", "REF_LIBRARY",
           "PLUGIN_LIBRARY"]
