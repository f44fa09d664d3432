"""The backward pass of one sample, window by window."""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import numpy as np

from convgrad_cli.core.problem import Problem


@dataclass(frozen=True)
class Windows:
    """Every term of ∂L/∂x of one sample, in the order the backward pass adds
    them: window by window (output channel, then position, row-major), each
    window adding ``w·δ`` to every input cell it read."""

    problem: Problem
    sample: int
    window: np.ndarray  # (T,) the window's number of each term
    input: np.ndarray  # (T,) the flat index, within the sample, of the input cell it adds to
    weight: np.ndarray  # (T,) the flat index of its weight in W
    delta: np.ndarray  # (T,) the flat index, within the sample, of its δ entry
    count: int  # windows in all

    @classmethod
    def of(cls, p: Problem, sample: int) -> Windows:
        g = p.geom
        og, cg = g.out_channels // g.groups, g.in_channels // g.groups
        o, cl, *rest = np.meshgrid(
            np.arange(g.out_channels),
            np.arange(cg),
            *[np.arange(n) for n in g.out_size],
            *[np.arange(k) for k in g.kernel_size],
            indexing="ij",
        )
        pos, taps = rest[: g.ndim], rest[g.ndim :]
        at = [q * s + k * d - b for q, k, s, d, (b, _) in zip(pos, taps, g.stride, g.dilation, g.padding)]
        inside = np.logical_and.reduce([(a >= 0) & (a < n) for a, n in zip(at, g.in_size)])
        c = (o // og) * cg + cl
        flat_pos = np.ravel_multi_index(pos, g.out_size) if g.ndim else 0
        window = (o * prod(g.out_size) + flat_pos)[inside]
        x_index = np.ravel_multi_index((c, *at), (g.in_channels, *g.in_size), mode="clip")[inside]
        w_index = np.ravel_multi_index((o, cl, *taps), g.kernel_shape)[inside]
        d_index = window
        order = np.argsort(window, kind="stable")
        return cls(
            p,
            sample,
            window[order],
            x_index[order],
            w_index[order],
            d_index[order],
            g.out_channels * prod(g.out_size),
        )

    def upto(self, step: int) -> slice:
        """The terms of the first ``step`` windows."""
        return slice(0, int(np.searchsorted(self.window, step, side="left")))

    def of_window(self, j: int) -> slice:
        return slice(
            int(np.searchsorted(self.window, j, "left")), int(np.searchsorted(self.window, j, "right"))
        )

    def partial(self, step: int) -> np.ndarray | None:
        """∂L/∂x of the sample after ``step`` windows, ``(C, *in)``; ``None`` with names only."""
        p, g = self.problem, self.problem.geom
        if p.w is None or p.delta is None:
            return None
        part = self.upto(step)
        products = p.w.reshape(-1)[self.weight[part]] * p.delta[self.sample].reshape(-1)[self.delta[part]]
        summed = np.bincount(self.input[part], weights=products, minlength=g.in_channels * prod(g.in_size))
        return summed.reshape(g.in_channels, *g.in_size).astype(p.delta.dtype)

    def received(self, step: int) -> np.ndarray:
        """How many terms each input cell of the sample holds after ``step`` windows."""
        g = self.problem.geom
        counts = np.bincount(self.input[self.upto(step)], minlength=g.in_channels * prod(g.in_size))
        return counts.reshape(g.in_channels, *g.in_size)
