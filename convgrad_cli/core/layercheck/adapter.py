"""A layer's backward seen through the convolution's contract, so that it runs on
``check``'s path — in its child process (:class:`~convgrad_cli.core.check.isolate.Isolated`,
with its ``--timeout``) or in this one: :func:`adapt` turns the user's function
into one called as ``fn(x, w, delta, **kwargs)`` that returns ``(input_grad,
weight_grad, unused)``. The child loads this module's :func:`backward`, which
adapts the function named in ``CONVGRAD_LAYER_IMPL`` (``KIND|SPEC``, set by the
parent before the child starts)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from convgrad_cli.core.check.contract import ContractError

VARIABLE = "CONVGRAD_LAYER_IMPL"
_loaded: dict[str, Any] = {}


def adapt(kind: str, fn: Callable[..., Any]) -> Callable[..., tuple[Any, Any, Any]]:
    """``fn`` of a layer kind (:mod:`.contract`) called as a convolution's backward is."""

    def backward(x: Any, w: Any, delta: Any, **kwargs: Any) -> tuple[Any, Any, Any]:
        if kind != "conv_transpose":
            return fn(x, delta, **kwargs), np.zeros(1), np.zeros(1)
        result = fn(x, w, delta, **kwargs)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise ContractError(f"it returned {type(result).__name__}; return (input_grad, weight_grad)")
        return result[0], result[1], np.zeros(1)

    return backward


def backward(x: Any, w: Any, delta: Any, **kwargs: Any) -> tuple[Any, Any, Any]:
    kind, _, spec = os.environ[VARIABLE].partition("|")
    if spec not in _loaded:
        from convgrad_cli.core.check.isolate import load_impl

        _loaded[spec] = adapt(kind, load_impl(spec))
    return _loaded[spec](x, w, delta, **kwargs)
