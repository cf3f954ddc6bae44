"""Efficient forms of a CNN and their converters (docs/METHODS.md §2-§5).

- SPConv (``SPConv3x3``, ``to_spconv``): split channels into representative / redundant parts;
- CSP (``CrossStage``, ``cspresnet50``, ``cspresnext50``, ``cspdarknet53``, ``to_csp``);
- sample-interp (``MaskHead``, ``Interpolation``, ``SampleInterpBlock``, ``to_sample_interp``,
  ``sparsity_loss``, ``set_mask_training``): convolutions computed only at sampled positions, the rest interpolated;
- ``distill``: knowledge-distillation fine-tuning of a converted model from its original (``fit_stages``:
  stage-by-stage fit to the original first, for forms that start from fresh weights);
- ``analyze``: per-layer cost report (FLOPs, parameters, memory access cost) with design hints.
"""

from edge.forms.analyze import analyze, compare
from edge.forms.csp import (
                            ConvBNAct,
                            CrossStage,
                            CSPNet,
                            DarkBlock,
                            DenseBlock,
                            ResBottleneck,
                            cspdarknet53,
                            cspresnet50,
                            cspresnext50,
                            to_csp,
)
from edge.forms.distill import distill, fit_stages
from edge.forms.report import ConversionReport
from edge.forms.sample_interp import (
                            Interpolation,
                            MaskHead,
                            SampleInterpBlock,
                            mask_density,
                            set_mask_training,
                            sparsity_loss,
                            to_sample_interp,
)
from edge.forms.spconv import SPConv3x3, spconv_params, to_spconv

__all__ = [
                            "CSPNet",
                            "ConvBNAct",
                            "ConversionReport",
                            "CrossStage",
                            "DarkBlock",
                            "DenseBlock",
                            "Interpolation",
                            "MaskHead",
                            "ResBottleneck",
                            "SPConv3x3",
                            "SampleInterpBlock",
                            "analyze",
                            "compare",
                            "cspdarknet53",
                            "cspresnet50",
                            "cspresnext50",
                            "distill",
                            "fit_stages",
                            "mask_density",
                            "set_mask_training",
                            "sparsity_loss",
                            "spconv_params",
                            "to_csp",
                            "to_sample_interp",
                            "to_spconv",
]
