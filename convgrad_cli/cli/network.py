"""The commands on a stack of layers (a config with ``layers:``).

No ``from __future__ import annotations``: see :mod:`.options`.
"""

from pathlib import Path
from typing import Any, Optional

from convgrad_cli.errors import ConfigError

from .options import Format, OutputFlags, ProblemFlags
from .output import Shown, show


def stack_of(config: Optional[Path], flags: ProblemFlags) -> Any:
    """The config's stack if it gives ``layers:``, else None (a single convolution)."""
    if config is None:
        return None
    from convgrad_cli import config as cfg

    raw = cfg.read_yaml(config)
    if not cfg.is_stack(raw):
        return None
    given = sorted(f"--{'x' if k == 'input' else k}" for k, v in flags.overrides().items() if v is not None)
    if given:
        raise ConfigError(f"{', '.join(given)} cannot be given with a stack config; edit its layers instead")
    return cfg.build_stack(raw, str(config))


def _formats(out: OutputFlags) -> None:
    if out.format is not Format.json:
        raise ConfigError("a stack of layers is shown as JSON for now; add --format json")


def _nothing() -> Any:
    raise AssertionError("only JSON is drawn for a stack")


def forward(stack: Any, out: OutputFlags) -> None:
    from convgrad_cli.core import stack as network
    from convgrad_cli.render.stack_json import stack_forward_json

    _formats(out)
    passes = network.forward(stack)
    show(out, Shown(_nothing, lambda: stack_forward_json(stack, passes), _nothing))


def backward(stack: Any, out: OutputFlags) -> None:
    from convgrad_cli.core import stack as network
    from convgrad_cli.render.stack_json import stack_backward_json

    _formats(out)
    passes = network.backward(stack)
    show(out, Shown(_nothing, lambda: stack_backward_json(stack, passes), _nothing))


def trace(stack: Any, input: Optional[str], output: Optional[str], out: OutputFlags) -> None:
    """``--output`` goes down (receptive field, paths, gradient); ``--input`` goes up."""
    from convgrad_cli.core import receptive
    from convgrad_cli.render import stack_json

    _formats(out)
    if output is not None:
        down = receptive.output_reach(stack, output)
        show(out, Shown(_nothing, lambda: stack_json.output_reach_json(stack, down), _nothing))
    elif input is not None:
        up = receptive.input_reach(stack, input)
        show(out, Shown(_nothing, lambda: stack_json.input_reach_json(stack, up), _nothing))
    else:
        raise ConfigError(
            "trace of a stack takes --output (an index of the top output) or --input (of the input)"
        )


def shape(stack: Any, out: OutputFlags) -> None:
    """Each layer's output size and receptive field size, jump and start."""
    from convgrad_cli.core import receptive
    from convgrad_cli.render import stack_json

    _formats(out)
    rows = receptive.distill(stack)
    show(out, Shown(_nothing, lambda: stack_json.distill_json(stack, rows), _nothing))
