"""convgrad's check inside a test suite: ``assert_conv_backward`` raises an
AssertionError that says where the gradients are wrong and why.

>>> from convgrad_cli import conv2d_backward
>>> from convgrad_cli.testing import assert_conv_backward
>>> assert_conv_backward(conv2d_backward, dims=(2,), cases=12)  # passes: nothing happens

The function is called as ``fn(x, w, delta, stride=…, padding=…, dilation=…,
groups=…)`` with arrays (N, C, *spatial), (O, C/groups, *k), (N, O, *out) and
must return ``(input_grad, weight_grad, bias_grad)`` (see ``docs/check.md``).
It runs in this process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["assert_conv_backward"]


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
) -> None:
    """Check ``fn`` on a sweep that covers every edge-case class (and on ``configs``);
    raise AssertionError naming each failing case, its wrong entries, the known
    mistake it looks like and its smallest failing case."""
    import numpy as np

    from convgrad_cli.config import load
    from convgrad_cli.core.check import InProcess, Options, check_case, sweep
    from convgrad_cli.core.views.check import case_lines, summary_line

    wanted = tuple(dims)
    problems = [(str(c), load(c)) for c in configs]
    rng = np.random.default_rng(seed)
    for i, spec in enumerate(sweep(cases, rng, wanted, {})):
        problems.append((f"random-{i}", spec.problem(int(rng.integers(0, 2**31)))))
    options = Options(dtype=dtype, framework=framework, device=device, shrink=shrink)
    impl = InProcess(fn, getattr(fn, "__name__", "fn"))
    results = [check_case(p, name, impl, options) for name, p in problems if p.geom.ndim in wanted]
    bad = [r for r in results if r.status in ("failed", "error")]
    if not bad:
        return
    lines = [summary_line(results)]
    for r in bad[:5]:
        lines.append(f"{r.name} [{r.geometry}]")
        lines += ["  " + line for line in case_lines(r)]
        if r.smallest is not None:
            lines.append(f"  smallest failing case: {r.smallest.geom.describe()}")
    if len(bad) > 5:
        lines.append(f"… and {len(bad) - 5} more failing cases")
    raise AssertionError("\n".join(lines))
