"""``check --layer KIND`` on check's own path: :func:`plan` turns the options into
cases (each layer of that kind in the stack configs given, the kind's anchors,
then ``--random`` cases), :func:`execute` checks them into a
:class:`~convgrad_cli.core.check.report.Report`, so that every option of
``check`` means the same for every kind of layer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from convgrad_cli.core.check.contract import Call
from convgrad_cli.core.check.isolate import Implementation, Isolated
from convgrad_cli.core.check.run import Options
from convgrad_cli.core.check.tolerance import Tolerance
from convgrad_cli.errors import ConfigError

from .cases import KINDS, LayerCase, anchors, random_cases
from .contract import checked, kwargs
from .run import Impl, LayerResult, check_case


def refuse(kind: str, given: Sequence[str]) -> None:
    """Options that shape a convolution's cases or calls, given to ``check --layer``."""
    if kind not in KINDS:
        raise ConfigError(f"check --layer {kind!r} is not allowed; allowed: {', '.join(KINDS)} (or conv)")
    if given:
        raise ConfigError(
            f"{', '.join(given)} is not taken by check --layer {kind}; it checks the layers of that kind "
            "in the stack configs given, its own cases and --random N"
        )


def cases_of(kind: str, name: str, stack: Any) -> list[LayerCase]:
    """Each layer of ``kind`` in a stack, as a case: the input it receives and the δ that
    arrives at it in the stack's own forward and backward pass."""
    from convgrad_cli.core.stack import Stack, backward

    if not isinstance(stack, Stack):
        raise ConfigError(
            f"{name} is one convolution; check --layer {kind} takes stack configs (layers: …) with a {kind} layer"
        )
    out = []
    for i, p in enumerate(backward(stack), start=1):
        if p.layer.kind != kind:
            continue
        params = {k: v for k, v in p.layer.params.items() if k != "kernel_shape"}
        w = p.layer.weights
        arrays = (
            p.input.astype(np.float64),
            None if w is None else w.astype(np.float64),
            p.delta.astype(np.float64),
        )
        out.append(LayerCase(f"{name} layer {i}", kind, tuple(p.input.shape), params,
                             None if w is None else tuple(w.shape), "given", stack.seed, arrays))  # fmt: skip
    if not out:
        raise ConfigError(
            f"{name} has no {kind} layer; its layers: {', '.join(layer.kind for layer in stack.layers)}"
        )
    return out


def conv_problems(name: str, stack: Any) -> list[tuple[str, Any]]:
    """Each convolution of a stack as a problem of its own: the layer's geometry, kernel and bias,
    the input it receives and the δ that arrives at it in the stack's own passes."""
    from convgrad_cli.core import problem
    from convgrad_cli.core.layers import Conv
    from convgrad_cli.core.stack import backward

    out = []
    for i, p in enumerate(backward(stack), start=1):
        if not isinstance(p.layer, Conv):
            continue
        g = p.layer.geom
        case = problem.build(
            p.input, p.layer.w, bias=p.layer.bias, delta=p.delta, stride=g.stride, padding=g.padding,
            dilation=g.dilation, groups=g.groups, dtype=stack.dtype, seed=stack.seed, source=f"{name} layer {i}",
        )  # fmt: skip
        out.append((f"{name} layer {i}", case))
    if not out:
        kinds = ", ".join(layer.kind for layer in stack.layers)
        raise ConfigError(
            f"{name} has no conv layer (its layers: {kinds}); give --layer KIND to check another kind"
        )
    return out


def plan(
    kind: str,
    targets: Sequence[str],
    *,
    load: Callable[[Any, Any], Any],
    paths: Callable[[Any], Sequence[object]],
    name: Callable[[Any], str],
    options: Options,
    random: int,
    sweep_seed: int,
    dims: tuple[int, ...],
    min_checked: int | None,
) -> tuple[list[LayerCase], int]:
    """The cases of ``kind`` to check and how many must be checked (default: ``random``, or 1)."""
    given = [case for p in paths(list(targets)) for case in cases_of(kind, name(p), load(p, {}))]
    drawn = anchors(kind) + random_cases(kind, random, sweep_seed, dims)
    cases = given + [c for c in drawn if len(c.shape) - 2 in dims]
    return cases, (random or 1) if min_checked is None else min_checked


def isolated(kind: str, spec: str, timeout: float, total: float | None) -> Isolated:
    """The user's function for ``kind`` in check's child process, through the adapter to the
    convolution's contract (:mod:`.adapter`)."""
    import os

    from .adapter import VARIABLE

    os.environ[VARIABLE] = f"{kind}|{spec}"
    child = Isolated("convgrad_cli.core.layercheck.adapter:backward", timeout, total)
    child.label = spec
    return child


def through(impl: Implementation, options: Options, dtype: str) -> Impl:
    """A call of ``impl`` (in-process or a child) for one case, its arrays in ``dtype`` and the framework's type."""

    def run(
        case: LayerCase, x: np.ndarray, w: np.ndarray | None, delta: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None]:
        c = Call(
            x, np.zeros(1) if w is None else w, delta, kwargs(case), dtype, options.framework, options.device
        )
        dx, dw, _ = impl(c)
        if w is None:
            return checked(dx, "input_grad", x.shape), None
        return checked(dx, "input_grad", x.shape), checked(dw, "weight_grad", w.shape)

    return run


def execute(
    cases: list[LayerCase], impl: Implementation | None, options: Options, dtype: str,
    progress: Callable[[str], None] | None = None,
) -> list[LayerResult]:  # fmt: skip
    """Every case against its references, in ``dtype``'s precision."""
    say = progress or (lambda _: None)
    tol = Tolerance(dtype, options.rtol, options.atol)
    fn = None if impl is None else through(impl, options, dtype)
    out = []
    for c in cases:
        say(f"{c.name}: {c.describe()}")
        out.append(check_case(c, fn, tol, shrink=options.shrink, directions=options.directions))
    return out
