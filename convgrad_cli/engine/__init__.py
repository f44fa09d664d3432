"""The fast path: a grouped correlation and its two adjoints, on NumPy and its BLAS.

It knows arrays and tuples, nothing of problems or names; the rules of
:mod:`convgrad_cli.core.rules` call it. ``dense`` holds the method (phase images,
flat offsets, GEMMs), ``layout`` where each tap reads, ``depthwise`` the layers
with no product for BLAS, ``runtime`` the threads, ``blas`` the in-place product
and ``tuning`` the thresholds.
"""

from .dense import correlate, correlate_input_grad, correlate_weight_grad
from .layout import Conv
from .tuning import Tuning, default

__all__ = ["Conv", "Tuning", "correlate", "correlate_input_grad", "correlate_weight_grad", "default"]
