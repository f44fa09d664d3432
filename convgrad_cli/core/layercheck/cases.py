"""The cases a layer's backward is checked on: hand-made anchors for the edges of
each kind (ties, overlapping windows, ceil_mode, padding not counted,
output_padding, zeros into a ReLU) and random geometry, all seeded."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from convgrad_cli.core import layers
from convgrad_cli.core.axes import compact
from convgrad_cli.core.layers import Layer
from convgrad_cli.errors import ConvgradError

KINDS = ("maxpool", "avgpool", "relu", "conv_transpose")


@dataclass(frozen=True)
class LayerCase:
    """One layer and its operands: ``values`` ``normal`` or ``integers`` (which tie and hit 0)."""

    name: str
    kind: str
    shape: tuple[int, ...]
    params: dict[str, Any] = field(default_factory=dict)
    w_shape: tuple[int, ...] | None = None
    values: str = "normal"
    seed: int = 0
    #: x, W (or None) and δ as given (a config's layer): drawn from ``seed`` when None
    arrays: tuple[np.ndarray, np.ndarray | None, np.ndarray] | None = field(
        default=None, compare=False, repr=False
    )

    def layer(self) -> Layer:
        return layers.make(
            self.kind, self.shape, self.params, None if self.w_shape is None else np.zeros(self.w_shape)
        )

    def operands(self) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """x, W (or None) and δ, seeded; integer x where the case asks for ties and zeros."""
        if self.arrays is not None:
            return self.arrays
        rng = np.random.default_rng(self.seed)
        draw = (
            (lambda s: rng.integers(-2, 3, size=s).astype(float))
            if self.values == "integers"
            else rng.standard_normal
        )
        x = draw(self.shape)
        w = None if self.w_shape is None else rng.standard_normal(self.w_shape)
        return x, w, rng.standard_normal(self.layer().out_shape)

    def describe(self) -> str:
        text = f"{'×'.join(map(str, self.shape))} {self.kind}"
        if self.w_shape is not None:
            text += f" {'×'.join(map(str, self.w_shape))}"
        shown = {k: v for k, v in self.params.items() if k != "kernel" or self.kind in ("maxpool", "avgpool")}
        text += "".join(f" {k}={_short(v)}" for k, v in shown.items())
        return text + (" (integers: ties, zeros)" if self.values == "integers" else "")

    def with_(self, **changes: Any) -> LayerCase:
        """The case changed; its arrays, if given, no longer fit it, and are drawn from its seed."""
        return replace(self, arrays=None, **changes)


def _short(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return compact(v)
    return str(v).lower() if isinstance(v, bool) else str(v)


def anchors(kind: str) -> list[LayerCase]:
    """The edges of each kind, one case each."""
    a = {
        "maxpool": [
            LayerCase("ties", "maxpool", (1, 1, 4, 4), {"kernel": 2}, values="integers"),
            LayerCase(
                "overlap-ceil-ties",
                "maxpool",
                (1, 2, 5, 5),
                {"kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True},
                values="integers",
            ),  # fmt: skip
            LayerCase("dilation", "maxpool", (2, 1, 7), {"kernel": 2, "stride": 1, "dilation": 2}),
        ],
        "avgpool": [
            LayerCase(
                "pad-not-counted-ceil",
                "avgpool",
                (1, 1, 5, 5),
                {"kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
            ),  # fmt: skip
            LayerCase("pad-counted", "avgpool", (1, 2, 4, 4), {"kernel": 3, "stride": 2, "padding": 1}),
            LayerCase("divisor", "avgpool", (1, 1, 6), {"kernel": 2, "divisor": 3}),
        ],
        "relu": [LayerCase("zeros", "relu", (1, 2, 4, 4), values="integers")],
        "conv_transpose": [
            LayerCase(
                "output-padding",
                "conv_transpose",
                (1, 1, 3, 3),
                {"stride": 2, "padding": 1, "output_padding": 1},
                (1, 1, 3, 3),
            ),  # fmt: skip
            LayerCase(
                "groups-dilation",
                "conv_transpose",
                (1, 2, 4),
                {"stride": 2, "dilation": 2, "groups": 2, "output_padding": 1},
                (2, 1, 2),
            ),  # fmt: skip
        ],
    }
    return a[kind]


def random_cases(kind: str, count: int, seed: int, dims: tuple[int, ...] = (1, 2, 3)) -> list[LayerCase]:
    """``count`` random cases of ``kind`` that the layer accepts."""
    rng = np.random.default_rng(seed)
    out: list[LayerCase] = []
    while len(out) < count:
        case = _draw(kind, rng, int(rng.choice(dims)), len(out))
        try:
            case.layer()
        except ConvgradError:
            continue
        out.append(case)
    return out


def _draw(kind: str, rng: np.random.Generator, nd: int, i: int) -> LayerCase:
    def ints(lo: int, hi: int) -> list[int]:
        return [int(v) for v in rng.integers(lo, hi + 1, size=nd)]

    size = {1: 9, 2: 6, 3: 4}[nd]
    shape = (int(rng.integers(1, 3)), int(rng.integers(1, 3)), *ints(2, size))
    values = "integers" if rng.random() < 0.5 else "normal"
    seed = int(rng.integers(0, 2**31))
    if kind == "relu":
        return LayerCase(f"random-{i}", kind, shape, values=values, seed=seed)
    if kind == "conv_transpose":
        groups = int(rng.integers(1, 3))
        stride, dilation = ints(1, 3), ints(1, 2)
        params = {"stride": stride, "padding": ints(0, 1), "dilation": dilation, "groups": groups,
                  "output_padding": [int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation)]}  # fmt: skip
        shape = (shape[0], groups * int(rng.integers(1, 3)), *shape[2:])
        w_shape = (shape[1], int(rng.integers(1, 3)), *ints(1, 3))
        return LayerCase(f"random-{i}", kind, shape, params, w_shape, seed=seed)
    kernel = ints(1, 3)
    params = {"kernel": kernel, "stride": ints(1, 3), "padding": [int(rng.integers(0, k // 2 + 1)) for k in kernel],
              "ceil_mode": bool(rng.random() < 0.5)}  # fmt: skip
    if kind == "maxpool":
        params["dilation"] = ints(1, 2)
    else:
        params["count_include_pad"] = bool(rng.random() < 0.5)
        values = "normal"
    return LayerCase(f"random-{i}", kind, shape, params, values=values, seed=seed)
