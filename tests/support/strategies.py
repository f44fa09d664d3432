"""Hypothesis strategies for random convolution problems of every kind."""

from __future__ import annotations

from hypothesis import strategies as st

from convgrad_cli.core.geometry import Geometry


@st.composite
def geometries(draw, dims=(1, 2, 3), max_size=7, max_batch=2) -> Geometry:
    """Any legal geometry: padding forms (int, asymmetric, same), stride,
    dilation, groups, batch, and sizes that leave the end uncovered."""
    nd = draw(st.sampled_from(dims))
    groups = draw(st.integers(1, 3))
    in_ch = groups * draw(st.integers(1, 2))
    out_ch = groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    form = draw(st.sampled_from(["none", "sym", "asym", "same"]))
    stride = (1,) * nd if form == "same" else tuple(draw(st.integers(1, 3)) for _ in range(nd))
    if form == "sym":
        padding = tuple((p, p) for p in (draw(st.integers(0, 2)) for _ in range(nd)))
    elif form == "asym":
        padding = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(nd))
    else:
        padding = "same" if form == "same" else 0
    pads = Geometry.build((99,) * nd, kernel, stride=stride, dilation=dilation, padding=padding).padding
    smallest = [max(1, d * (k - 1) + 1 - b - a) for k, d, (b, a) in zip(kernel, dilation, pads)]
    in_size = tuple(draw(st.integers(lo, max(lo, max_size))) for lo in smallest)
    return Geometry.build(
        in_size,
        kernel,
        batch=draw(st.integers(1, max_batch)),
        in_channels=in_ch,
        out_channels=out_ch,
        groups=groups,
        stride=stride,
        dilation=dilation,
        padding=padding,
    )
