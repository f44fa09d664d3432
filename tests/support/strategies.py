"""Hypothesis strategies for random convolution problems of every kind."""

from __future__ import annotations

import numpy as np
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


@st.composite
def pool_cases(draw, kind="maxpool", dims=(1, 2, 3), max_size=7):
    """A pool's input shape and parameters that PyTorch accepts (every window holding an input cell)."""
    from convgrad_cli.core.layers import PoolGeometry
    from convgrad_cli.errors import GeometryError

    nd = draw(st.sampled_from(dims))
    kernel = [draw(st.integers(1, 3)) for _ in range(nd)]
    params = {
        "kernel": kernel,
        "stride": [draw(st.integers(1, 3)) for _ in range(nd)],
        "padding": [draw(st.integers(0, k // 2)) for k in kernel],
        "ceil_mode": draw(st.booleans()),
    }
    if kind == "maxpool":
        params["dilation"] = [draw(st.integers(1, 2)) for _ in range(nd)]
    else:
        params["count_include_pad"] = draw(st.booleans())
        params["divisor"] = draw(st.sampled_from([None, None, 1, 3]))
    shape = (
        draw(st.integers(1, 2)),
        draw(st.integers(1, 2)),
        *(draw(st.integers(1, max_size)) for _ in range(nd)),
    )
    try:
        PoolGeometry.build(
            kind,
            shape,
            kernel,
            params["stride"],
            params["padding"],
            params.get("dilation", 1),
            params["ceil_mode"],
        )
    except GeometryError:
        from hypothesis import assume

        assume(False)
    return shape, params


@st.composite
def conv_transpose_cases(draw, dims=(1, 2, 3), max_size=4):
    """Input shape, kernel shape and parameters of a transposed convolution PyTorch accepts."""
    nd = draw(st.sampled_from(dims))
    groups = draw(st.integers(1, 2))
    stride = [draw(st.integers(1, 3)) for _ in range(nd)]
    dilation = [draw(st.integers(1, 2)) for _ in range(nd)]
    kernel = [draw(st.integers(1, 3)) for _ in range(nd)]
    padding = [draw(st.integers(0, d * (k - 1))) for k, d in zip(kernel, dilation)]
    output_padding = [draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation)]
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    size = [draw(st.integers(1, max_size)) for _ in range(nd)]
    from hypothesis import assume

    assume(
        all(
            (i - 1) * s - 2 * p + d * (k - 1) + op + 1 >= 1
            for i, s, p, d, k, op in zip(size, stride, padding, dilation, kernel, output_padding)
        )
    )
    params = {
        "stride": stride,
        "padding": padding,
        "output_padding": output_padding,
        "dilation": dilation,
        "groups": groups,
    }
    return (draw(st.integers(1, 2)), cin, *size), (cin, cout // groups, *kernel), params


def _layer_params(draw, kind, nd, channels):
    """Parameters (and a kernel shape) for one layer of ``kind`` on ``channels`` channels."""
    ints = lambda lo, hi: [draw(st.integers(lo, hi)) for _ in range(nd)]  # noqa: E731
    if kind == "relu":
        return {}, None
    if kind in ("maxpool", "avgpool"):
        kernel = ints(1, 3)
        params = {
            "kernel": kernel,
            "stride": ints(1, 2),
            "padding": [draw(st.integers(0, k // 2)) for k in kernel],
            "ceil_mode": draw(st.booleans()),
        }
        if kind == "maxpool":
            params["dilation"] = ints(1, 2)
        else:
            params["count_include_pad"] = draw(st.booleans())
        return params, None
    out = draw(st.integers(1, 3))
    kernel = ints(1, 3)
    if kind == "conv":
        params = {"stride": ints(1, 2), "padding": ints(0, 1), "dilation": ints(1, 2)}
        return params, (out, channels, *kernel)
    params = {"stride": ints(1, 2), "padding": ints(0, 1), "dilation": ints(1, 2)}
    params["output_padding"] = [
        draw(st.integers(0, max(s, d) - 1)) for s, d in zip(params["stride"], params["dilation"])
    ]
    return params, (channels, out, *kernel)


@st.composite
def stacks(
    draw, dims=(1, 2, 3), kinds=("conv", "conv_transpose", "maxpool", "avgpool", "relu"), depth=(2, 4)
):
    """A chain of layers that fits: ``(input shape, [(kind, params, kernel shape or None)])``.

    Each layer is drawn for the shape it receives; one that does not fit is drawn again."""
    from convgrad_cli.core import layers
    from convgrad_cli.errors import ConvgradError

    nd = draw(st.sampled_from(dims))
    size = {1: 12, 2: 9, 3: 5}[nd]
    shape = (
        draw(st.integers(1, 2)),
        draw(st.integers(1, 2)),
        *(draw(st.integers(size - 3, size)) for _ in range(nd)),
    )
    chain, current = [], shape
    for _ in range(draw(st.integers(*depth))):
        for _attempt in range(5):
            kind = draw(st.sampled_from(kinds))
            params, w_shape = _layer_params(draw, kind, nd, current[1])
            try:
                layer = layers.make(kind, current, params, None if w_shape is None else np.zeros(w_shape))
            except ConvgradError:
                continue
            if any(s > 40 for s in layer.out_shape[2:]):
                continue
            chain.append((kind, params, w_shape))
            current = layer.out_shape
            break
    from hypothesis import assume

    assume(chain)
    return shape, chain
