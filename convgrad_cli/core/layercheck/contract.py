"""How a layer's backward under check is called, and what it must return.

As PyTorch names the arguments (each size one int, or a tuple per axis):

- ``maxpool``: ``fn(x, delta, kernel_size=, stride=, padding=, dilation=, ceil_mode=)``
- ``avgpool``: ``fn(x, delta, kernel_size=, stride=, padding=, ceil_mode=, count_include_pad=, divisor_override=)``
- ``relu``: ``fn(x, delta)``
- ``conv_transpose``: ``fn(x, w, delta, stride=, padding=, output_padding=, dilation=, groups=)``

It returns ``input_grad`` (``conv_transpose``: ``(input_grad, weight_grad)``) as
NumPy arrays of the operands' shapes, real, floating and finite. Anything else
is an error of the case, named in one line.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convgrad_cli.core.axes import collapse
from convgrad_cli.core.check.contract import ContractError, Skipped, to_numpy
from convgrad_cli.core.text import describe

from .cases import LayerCase

SIGNATURES = {
    "maxpool": "fn(x, delta, kernel_size, stride, padding, dilation, ceil_mode) -> input_grad",
    "avgpool": "fn(x, delta, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override) -> input_grad",
    "relu": "fn(x, delta) -> input_grad",
    "conv_transpose": "fn(x, w, delta, stride, padding, output_padding, dilation, groups) -> (input_grad, weight_grad)",
}


def _torch_style(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return collapse(int(i) for i in v)
    return v


def kwargs(case: LayerCase) -> dict[str, Any]:
    """The layer's arguments under PyTorch's names, with their defaults filled in."""
    layer = case.layer()
    p = dict(layer.params)
    keys: tuple[str, ...]
    if case.kind == "maxpool":
        keys = ("kernel", "stride", "padding", "dilation", "ceil_mode")
    elif case.kind == "avgpool":
        keys = ("kernel", "stride", "padding", "ceil_mode", "count_include_pad", "divisor")
    elif case.kind == "conv_transpose":
        keys = ("stride", "padding", "output_padding", "dilation", "groups")
    else:
        keys = ()
    names = {"kernel": "kernel_size", "divisor": "divisor_override"}
    return {names.get(k, k): _torch_style(p[k]) for k in keys}


def call(
    fn: Any, case: LayerCase, x: np.ndarray, w: np.ndarray | None, delta: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """The implementation's gradients, shapes and values checked; :class:`ContractError` otherwise."""
    args = [np.array(x), np.array(delta)] if w is None else [np.array(x), np.array(w), np.array(delta)]
    try:
        result = fn(*args, **kwargs(case))
    except NotImplementedError as exc:
        raise Skipped(f"not implemented: {describe(exc)}") from None
    except SystemExit as exc:
        raise ContractError(f"the implementation called sys.exit({exc.code!r})") from None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: B036 — user code may raise anything
        raise ContractError(f"the implementation raised {describe(exc)}") from None
    if w is None:
        return checked(result, "input_grad", x.shape), None
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise ContractError(f"it returned {type(result).__name__}; return (input_grad, weight_grad)")
    return checked(result[0], "input_grad", x.shape), checked(result[1], "weight_grad", w.shape)


def checked(value: Any, what: str, shape: tuple[int, ...]) -> np.ndarray:
    arr = to_numpy(value, what)
    if arr.shape != tuple(shape):
        raise ContractError(f"its {what} has shape {arr.shape}; expected exactly {tuple(shape)}")
    if not np.isfinite(arr).all():
        raise ContractError(f"its {what} holds NaN or infinity")
    return arr.astype(np.float64)
