"""``check`` of stack configs without ``--impl``: every layer and the chain end to end.

No ``from __future__ import annotations``: see :mod:`.options`.
"""

from typing import Optional

from convgrad_cli.errors import ConfigError, ExitStatus

from .options import OutputFlags
from .output import Shown, show


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
    """convgrad's own gradients of each stack: every layer against its references and the chain end to
    end; exit 1 if any fails (an ``--impl`` is checked on the stack's layers by check's own path)."""
    from convgrad_cli import config as cfg
    from convgrad_cli.core.layercheck.stack import check_stack
    from convgrad_cli.core.views.layercheck import stack_check_view
    from convgrad_cli.render.stack_json import stack_check_json

    results = [(str(p), check_stack(cfg.build_stack(cfg.read_yaml(p), str(p)))) for p in paths]
    show(out, Shown(lambda: stack_check_view(results), lambda: stack_check_json(results)))
    bad = any(not c.passed for _, checks in results for c in checks)
    return ExitStatus.CHECK_FAILED if bad else ExitStatus.OK
