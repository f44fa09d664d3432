"""``check --layer KIND``: a backward of another kind of layer under check.

No ``from __future__ import annotations``: see :mod:`.options`.
"""

from typing import Any, Optional

from convgrad_cli.errors import ConfigError, ExitStatus

from .options import OutputFlags, ProblemFlags
from .output import Shown, show


def check_layer(flags: ProblemFlags, impl: Optional[str], random: int, sweep_seed: int, rtol: Optional[float],
                atol: Optional[float], out: OutputFlags, refused: dict[str, Any]) -> int:  # fmt: skip
    """The anchors of the kind and ``random`` drawn cases; exit 1 if any fails."""
    from convgrad_cli.core import layercheck as core
    from convgrad_cli.core.check.isolate import load_impl
    from convgrad_cli.core.check.tolerance import Tolerance
    from convgrad_cli.core.layercheck.run import user
    from convgrad_cli.core.views.layercheck import layercheck_view
    from convgrad_cli.render.stack_json import layercheck_json

    kind = flags.layer
    if kind not in core.KINDS:
        raise ConfigError(
            f"check --layer {kind!r} is not allowed; allowed: {', '.join(core.KINDS)} (or conv)"
        )
    given = [name for name, value in refused.items() if value]
    if given:
        raise ConfigError(
            f"{', '.join(given)} is not taken by check --layer {kind}; it checks its own cases (--random N)"
        )
    dims = _dims(flags.dims)
    cases = core.anchors(kind) + core.random_cases(kind, random, sweep_seed, dims)
    fn = user(load_impl(impl)) if impl else None
    tol = Tolerance("float64", rtol, atol)
    results = [core.check_case(c, fn, tol) for c in cases]
    label = impl or "convgrad"
    show(out, Shown(lambda: layercheck_view(kind, label, results), lambda: layercheck_json(kind, results)))
    bad = any(r.status in ("failed", "error") for r in results)
    return ExitStatus.CHECK_FAILED if bad else ExitStatus.OK


def _dims(text: Optional[str]) -> tuple:
    if text is None:
        return (1, 2, 3)
    try:
        dims = tuple(int(v) for v in str(text).split(","))
    except ValueError:
        dims = ()
    if not dims or any(d not in (1, 2, 3) for d in dims):
        raise ConfigError(f"--dims {text!r} is not allowed; give 1, 2 or 3, or a list such as 1,2,3")
    return dims
