"""The rectifier: ``y = max(x, 0)``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import Saved


@dataclass(frozen=True)
class ReLU:
    """``∂L/∂x = δ`` where ``x > 0``, else 0 — at exactly 0 too, as PyTorch
    (``threshold_backward(δ, y, 0)`` passes δ only where ``y > 0``)."""

    in_shape: tuple[int, ...]
    kind: str = "relu"
    weights: None = None

    @property
    def params(self) -> dict[str, Any]:
        return {}

    @property
    def out_shape(self) -> tuple[int, ...]:
        return self.in_shape

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Saved]:
        return np.maximum(x, 0), None

    def backward(self, x: np.ndarray, saved: Saved, delta: np.ndarray) -> tuple[np.ndarray, None]:
        return np.where(x > 0, delta, 0).astype(delta.dtype, copy=False), None

    def count_up(self, a: np.ndarray) -> np.ndarray:
        return a  # every path passes: the count is of structure, not of this input's signs

    def count_down(self, d: np.ndarray) -> np.ndarray:
        return d
