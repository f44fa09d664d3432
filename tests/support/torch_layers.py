"""PyTorch calls for each layer kind, from a layer's parameters alone (import after importorskip)."""

import pytest

# skipped, not an error, where --doctest-modules collects this module without PyTorch
torch = pytest.importorskip("torch")

F = torch.nn.functional


def layer(kind, p, nd, w, b=None):
    """The PyTorch call of one layer with kernel tensor ``w`` (and bias tensor ``b``)."""
    if kind == "relu":
        return F.relu
    if kind == "conv":
        fn = getattr(F, f"conv{nd}d")
        return lambda t: fn(t, w, b, p["stride"], p["padding"], p["dilation"])
    if kind == "conv_transpose":
        fn = getattr(F, f"conv_transpose{nd}d")
        return lambda t: fn(t, w, b, p["stride"], p["padding"], p["output_padding"], 1, p["dilation"])
    if kind == "maxpool":
        fn = getattr(F, f"max_pool{nd}d")
        return lambda t: fn(t, p["kernel"], p["stride"], p["padding"], p["dilation"], p["ceil_mode"])
    fn = getattr(F, f"avg_pool{nd}d")
    return lambda t: fn(t, p["kernel"], p["stride"], p["padding"], p["ceil_mode"], p["count_include_pad"])


def counting_layer(kind, p, nd, w_shape, in_shape):
    """The same layer with every weight 1, ReLU the identity and a pool summing its window
    (a depthwise convolution of ones; a ceil_mode overhang as zeros padded after)."""
    if kind == "relu":
        return lambda t: t
    if kind in ("conv", "conv_transpose"):
        return layer(kind, p, nd, torch.ones(w_shape, dtype=torch.float64))
    k, s, pad = p["kernel"], p["stride"], p["padding"]
    d = p.get("dilation", [1] * nd)
    size = in_shape[2:]
    outs = [pool_out(i, kk, ss, pp, dd, p["ceil_mode"]) for i, kk, ss, pp, dd in zip(size, k, s, pad, d)]
    extra = [
        max(0, (o - 1) * ss + dd * (kk - 1) + 1 - (i + 2 * pp))
        for o, ss, dd, kk, i, pp in zip(outs, s, d, k, size, pad)
    ]
    channels = in_shape[1]
    ones = torch.ones((channels, 1, *k), dtype=torch.float64)
    conv = getattr(F, f"conv{nd}d")
    flat = [v for e in reversed(extra) for v in (0, e)]
    return lambda t: conv(F.pad(t, flat), ones, None, s, pad, d, channels)


def pool_out(size, k, s, p, d, ceil_mode):
    num = size + 2 * p - d * (k - 1) - 1
    out = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out
