"""The one place where edge silences warnings of the libraries it drives that a user cannot act on.

Each filter names one message of one library, with why it is noise for an edge user; edge's own warnings
(``edge.*``: slow-path, stale cache, untrusted input...) are never filtered. Installed once by ``import edge``.
"""

from __future__ import annotations

import warnings

#: (category, message regex, why the user cannot act on it)
LIBRARY_NOISE = (
    (FutureWarning, r"`isinstance\(treespec, LeafSpec\)` is deprecated",
     "torch.export's own pytree code (torch 2.13) trips its own deprecation while exporting"),
    (DeprecationWarning, r"`torch\.jit\.(load|save|trace|script)",
     "TorchScript files are one of the model formats users bring; loading them is not a choice edge can change"),
    (UserWarning, r"Please consider to run pre-processing before quantization",
     "onnxruntime.quantization's advice: edge runs quant_pre_process itself where it applies"),
)


def install() -> None:
    """Add the filters of ``LIBRARY_NOISE`` (idempotent: ``warnings`` de-duplicates identical filters)."""
    for category, message, _why in LIBRARY_NOISE:
        warnings.filterwarnings("ignore", message=message, category=category)
