"""What every picture shows, built from the trace terms and the pipeline's arrays —
one source of truth for what the terminal, JSON, the exports and ``explore`` mark.
"""

from .base import MAX_NAMED, Picture, padded_input
from .pipeline import backward_picture, coverage_panel, forward_picture, shape_arithmetic
from .trace import input_picture, output_picture, trace_picture, weight_picture

__all__ = [
    "MAX_NAMED",
    "Picture",
    "backward_picture",
    "coverage_panel",
    "forward_picture",
    "input_picture",
    "output_picture",
    "padded_input",
    "shape_arithmetic",
    "trace_picture",
    "weight_picture",
]
