"""convgrad's check inside a test suite: ``assert_conv_backward`` raises an
AssertionError that says where the gradients are wrong and why — or that too
few cases were checked to say anything.

>>> from convgrad_cli import conv2d_backward
>>> from convgrad_cli.testing import assert_conv_backward
>>> assert_conv_backward(conv2d_backward, dims=(2,), cases=12)
'12 cases checked, all pass (supports 2-D)'

The function is called as ``fn(x, w, delta, stride=…, padding=…, dilation=…,
groups=…)`` with arrays (N, C, *spatial), (O, C/groups, *k), (N, O, *out) and
must return ``(input_grad, weight_grad, bias_grad)`` (see ``docs/check.md``).
A case it refuses with NotImplementedError is not checked: the sweep draws
another inside what it accepts. It runs in this process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["assert_conv_backward", "assert_conv_forward"]


def assert_conv_backward(
    fn: Callable[..., Any],
    *,
    dims: Iterable[int] = (1, 2, 3),
    cases: int = 40,
    seed: int = 0,
    framework: str = "numpy",
    dtype: str = "float64",
    device: str = "cpu",
    configs: Iterable[str] = (),
    shrink: bool = True,
    min_checked: int | None = None,
    square_kernel: bool = False,
    symmetric_padding: bool = False,
    same_stride: bool = False,
    layout: str = "full",
) -> str:
    """Check ``fn`` on ``cases`` cases of a sweep that covers every edge-case class it
    accepts (and on ``configs``); raise AssertionError naming each failing case, its
    wrong entries, the known mistake it looks like and its smallest failing case — or
    saying why fewer than ``min_checked`` (default ``cases``, or 1) were checked. The
    scope flags are ``check``'s: cases outside them are not drawn. ``layout="spatial"`` passes a
    loop over one image its arrays as ``check --layout spatial`` does, x ``(H, W)``. Returns what
    was checked."""
    scope = (dims, square_kernel, symmetric_padding, same_stride)
    return _assert(
        fn, "backward", scope, cases, seed, (framework, dtype, device, layout), configs, shrink, min_checked
    )


def assert_conv_forward(
    fn: Callable[..., Any],
    *,
    dims: Iterable[int] = (1, 2, 3),
    cases: int = 40,
    seed: int = 0,
    framework: str = "numpy",
    dtype: str = "float64",
    device: str = "cpu",
    configs: Iterable[str] = (),
    shrink: bool = True,
    min_checked: int | None = None,
    square_kernel: bool = False,
    symmetric_padding: bool = False,
    same_stride: bool = False,
    layout: str = "full",
) -> str:
    """:func:`assert_conv_backward` for a forward pass: ``fn(x, w, bias=None, stride=…, padding=…,
    dilation=…, groups=…)`` returns y, held against the definition, the input's sliding windows
    and the adjoint identity (``check --forward``); the same options, the same AssertionError.

    >>> from convgrad_cli import conv2d
    >>> assert_conv_forward(lambda x, w, bias=None, **kw: conv2d(x, w, bias, **kw), dims=(2,), cases=6)
    '6 cases checked, all pass (supports 2-D)'
    """
    scope = (dims, square_kernel, symmetric_padding, same_stride)
    return _assert(
        fn, "forward", scope, cases, seed, (framework, dtype, device, layout), configs, shrink, min_checked
    )


def _assert(
    fn: Callable[..., Any],
    kind: str,
    scope_flags: tuple[Any, ...],
    cases: int,
    seed: int,
    arrays: tuple[str, str, str, str],
    configs: Iterable[str],
    shrink: bool,
    min_checked: int | None,
) -> str:
    from convgrad_cli.config import load
    from convgrad_cli.core import check as core
    from convgrad_cli.core.views.check import case_lines, report_lines, summary_line

    framework, dtype, device, layout = arrays
    options = core.Options(
        dtype=dtype, framework=framework, device=device, shrink=shrink, kind=kind, layout=layout
    )
    dims, square_kernel, symmetric_padding, same_stride = scope_flags
    scope = core.declared(core.dims_of(tuple(dims)), square_kernel, symmetric_padding, same_stride)
    plan = core.plan(
        list(configs),
        load=load,
        paths=lambda targets: targets,
        overrides={},
        options=options,
        impl=True,
        random=cases,
        sweep_seed=seed,
        scope=scope,
        min_checked=min_checked,
    )
    report = core.execute(plan, core.InProcess(fn, getattr(fn, "__name__", "fn")))
    results = report.results
    bad = [r for r in results if r.status.broken]
    if not bad and report.enough:
        supports = report.supports()
        return f"{report.checked} cases checked, all pass" + (f" (supports {supports})" if supports else "")
    lines = [summary_line(results, kind == "forward"), *report_lines(report)]
    for r in bad[:5]:
        lines.append(f"{r.name} [{r.geometry}]")
        lines += ["  " + line for line in case_lines(r)]
        if r.smallest is not None:
            lines.append(f"  smallest failing case: {r.smallest.geom.describe()}")
    if len(bad) > 5:
        lines.append(f"… and {len(bad) - 5} more failing cases")
    raise AssertionError("\n".join(lines))
