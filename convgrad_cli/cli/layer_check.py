"""``check --layer KIND``: a backward of another kind of layer under check.

No ``from __future__ import annotations``: see :mod:`.options`.
"""

from typing import Any, Optional

from convgrad_cli.errors import ConfigError, ExitStatus

from .options import OutputFlags, ProblemFlags
from .output import Shown, show


def check_layer(flags: ProblemFlags, impl: Optional[str], random: int, sweep_seed: int, rtol: Optional[float],
                atol: Optional[float], timeouts: tuple, out: OutputFlags, refused: dict[str, Any]) -> int:  # fmt: skip
    """The anchors of the kind and ``random`` drawn cases; exit 1 if any fails."""
    from convgrad_cli.core import layercheck as core
    from convgrad_cli.core.check.tolerance import Tolerance
    from convgrad_cli.core.layercheck.contract import isolated
    from convgrad_cli.core.views.layercheck import layercheck_view
    from convgrad_cli.render.stack_json import layercheck_json

    kind = flags.layer
    if kind not in core.KINDS:
        raise ConfigError(
            f"check --layer {kind!r} is not allowed; allowed: {', '.join(core.KINDS)} (or conv)"
        )
    flagged = {
        f"--{'x' if k == 'input' else k}": True
        for k in flags.problem_overrides()
        if k not in ("dims", "dtype")
    }
    flagged.update({f"--{k.replace('_', '-')}": True for k in flags.layer_overrides()})
    flagged["--dtype"] = flags.dtype not in (None, "float64")
    given = [name for name, value in {**refused, **flagged}.items() if value]
    if given:
        raise ConfigError(
            f"{', '.join(given)} is not taken by check --layer {kind}; it checks its own cases (--random N)"
        )
    dims = _dims(flags.dims)
    cases = core.anchors(kind) + core.random_cases(kind, random, sweep_seed, dims)
    fn, close = isolated(kind, impl, *timeouts) if impl else (None, lambda: None)
    tol = Tolerance("float64", rtol, atol)
    try:
        results = [core.check_case(c, fn, tol) for c in cases]
    finally:
        close()
    label = impl or "convgrad"
    show(out, Shown(lambda: layercheck_view(kind, label, results), lambda: layercheck_json(kind, results)))
    # nothing checked (every case refused) is not a pass either
    bad = any(r.status in ("failed", "error", "not_run") for r in results) or not any(
        r.passed for r in results
    )
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


def stack_configs(targets: Optional[list]) -> list:
    """The stack configs among ``targets`` (all of them, or none: they are checked apart)."""
    from convgrad_cli import config as cfg

    if not targets:
        return []
    paths = cfg.config_paths(targets)
    stacks = [p for p in paths if cfg.is_stack(cfg.read_yaml(p))]
    if stacks and len(stacks) != len(paths):
        raise ConfigError(
            f"{stacks[0]} is a stack of layers and {next(p for p in paths if p not in stacks)} one convolution; "
            "check them in two runs"
        )
    return stacks


def check_stacks(paths: list, impl: Optional[str], out: OutputFlags) -> int:
    """Every layer of each stack against its references and the chain end to end; exit 1 if any fails."""
    from convgrad_cli import config as cfg
    from convgrad_cli.core.layercheck.stack import check_stack
    from convgrad_cli.core.views.layercheck import stack_check_view
    from convgrad_cli.render.stack_json import stack_check_json

    if impl:
        raise ConfigError(
            "--impl checks one layer's backward (check --layer KIND --impl …); a stack config checks convgrad's"
        )
    results = [(str(p), check_stack(cfg.build_stack(cfg.read_yaml(p), str(p)))) for p in paths]
    show(out, Shown(lambda: stack_check_view(results), lambda: stack_check_json(results)))
    bad = any(not c.passed for _, checks in results for c in checks)
    return ExitStatus.CHECK_FAILED if bad else ExitStatus.OK
