"""Random operands of a geometry, and the arguments the naive reference takes."""

import numpy as np

from convgrad_cli.core.geometry import Geometry


def operands(g: Geometry, seed: int, dtype=np.float64):
    """``(x, w, b, δ)`` of full rank, standard normal, seeded."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(g.input_shape).astype(dtype)
    w = rng.standard_normal(g.kernel_shape).astype(dtype)
    b = rng.standard_normal(g.out_channels).astype(dtype)
    delta = rng.standard_normal(g.output_shape).astype(dtype)
    return x, w, b, delta


def ref_args(g: Geometry) -> dict:
    return dict(stride=g.stride, dilation=g.dilation, padding=g.padding, groups=g.groups)
