"""What every layer of a stack offers: its output shape, forward and backward,
and the two structural maps that count paths.

``count_up``/``count_down`` are the layer's forward and backward with every
weight 1, ReLU the identity and a pool summing its window: the number of
paths between cells, whatever the values (:mod:`convgrad_cli.core.receptive`).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

#: What a forward pass keeps for its backward (a max-pool's winners), or None.
Saved = Any


class Layer(Protocol):
    @property
    def kind(self) -> str: ...

    @property
    def out_shape(self) -> tuple[int, ...]: ...

    @property
    def weights(self) -> np.ndarray | None: ...

    @property
    def params(self) -> dict[str, Any]:
        """The parameters as a config writes them (a convolution's kernel as its shape)."""
        ...

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Saved]: ...

    def backward(
        self, x: np.ndarray, saved: Saved, delta: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """``(∂L/∂x, ∂L/∂W or None)`` given ``delta = ∂L/∂y``."""
        ...

    def count_up(self, a: np.ndarray) -> np.ndarray: ...

    def count_down(self, d: np.ndarray) -> np.ndarray: ...
