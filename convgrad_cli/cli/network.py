"""The commands on a stack of layers (a config with ``layers:``).

No ``from __future__ import annotations``: see :mod:`.options`.
"""

from pathlib import Path
from typing import Any, Optional

from convgrad_cli.errors import ConfigError

from .options import OutputFlags, ProblemFlags
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


def _shown(view: Any, document: Any) -> Shown:
    """A view drawn by every format: the terminal (and its exports), LaTeX and Markdown, or JSON."""
    from convgrad_cli.render import stack_document

    return Shown(view, document, lambda: stack_document.blocks(view()))


def forward(stack: Any, out: OutputFlags) -> None:
    from convgrad_cli.core import stack as network
    from convgrad_cli.core.views import stack as views
    from convgrad_cli.render.stack_json import stack_forward_json

    passes = network.forward(stack)
    show(out, _shown(lambda: views.forward_view(stack, passes), lambda: stack_forward_json(stack, passes)))


def backward(stack: Any, out: OutputFlags) -> None:
    from convgrad_cli.core import stack as network
    from convgrad_cli.core.views import stack as views
    from convgrad_cli.render.stack_json import stack_backward_json

    passes = network.backward(stack)
    show(out, _shown(lambda: views.backward_view(stack, passes), lambda: stack_backward_json(stack, passes)))


def trace(stack: Any, input: Optional[str], output: Optional[str], out: OutputFlags) -> None:
    """``--output`` goes down (receptive field, paths, gradient); ``--input`` goes up."""
    from convgrad_cli.core import receptive
    from convgrad_cli.core.views import reach as views
    from convgrad_cli.render import stack_json

    if output is not None:
        down = receptive.output_reach(stack, output)
        show(
            out,
            _shown(lambda: views.output_view(stack, down), lambda: stack_json.output_reach_json(stack, down)),
        )
    elif input is not None:
        up = receptive.input_reach(stack, input)
        show(out, _shown(lambda: views.input_view(stack, up), lambda: stack_json.input_reach_json(stack, up)))
    else:
        raise ConfigError(
            "trace of a stack takes --output (an index of the top output) or --input (of the input)"
        )


def shape(stack: Any, out: OutputFlags) -> None:
    """Each layer's output size and receptive field size, jump and start."""
    from convgrad_cli.core import receptive
    from convgrad_cli.core.views import reach as views
    from convgrad_cli.render import stack_json

    rows = receptive.distill(stack)
    show(out, _shown(lambda: views.shape_view(stack, rows), lambda: stack_json.distill_json(stack, rows)))
