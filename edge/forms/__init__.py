"""Efficient forms of a CNN and their converters (SPEC §2-§5).

- SPConv (``SPConv3x3``, ``to_spconv``): split channels into representative / redundant parts;
- CSP (``CrossStage``, ``cspresnet50``, ``cspresnext50``, ``cspdarknet53``, ``to_csp``);
- sample-interp (``MaskHead``, ``Interpolation``, ``SampleInterpBottleneck``, ``to_sample_interp``,
  ``sparsity_loss``): convolutions computed only at sampled positions, the rest interpolated;
- ``distill``: knowledge-distillation fine-tuning of a converted model from its original;
- ``analyze``: per-layer cost report (FLOPs, parameters, memory access cost) with design hints.
"""

from edge.forms.csp import (ConvBNAct, CrossStage, CSPNet, DarkBlock, DenseBlock, ResBottleneck,  # noqa: F401
                            cspdarknet53, cspresnet50, cspresnext50, to_csp)
from edge.forms.report import ConversionReport  # noqa: F401
from edge.forms.spconv import SPConv3x3, spconv_params, to_spconv  # noqa: F401
from edge.forms.sample_interp import (Interpolation, MaskHead, SampleInterpBlock, mask_density,  # noqa: F401
                                      sparsity_loss, to_sample_interp)
from edge.forms.analyze import analyze, compare  # noqa: F401
from edge.forms.distill import distill  # noqa: F401
