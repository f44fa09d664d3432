"""The commands on a stack of layers (a config with ``layers:``).

No ``from __future__ import annotations``: see :mod:`.options`.
"""

from pathlib import Path
from typing import Any, Optional

from convgrad_cli.errors import ConfigError

from .options import OutputFlags, ProblemFlags
from .output import Shown, show


def stack_of(config: Optional[Path], flags: ProblemFlags) -> Any:
    """The config's stack if it gives ``layers:``, or the one layer ``--layer`` asks for;
    else None (a single convolution)."""
    if flags.layer is not None and flags.layer != "conv":
        if config is not None:
            raise ConfigError(
                "--layer builds one layer from flags; leave out the config, or list the layer in its layers:"
            )
        return one_layer(flags)
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


#: What --layer starts from: the seed's 4×4 input a … p as 1 … 16 (and a 2×2 kernel 1 … 4).
SEED_INPUT = {"shape": [1, 1, 4, 4], "fill": "arange"}
SEED_KERNEL = {"shape": [1, 1, 2, 2], "fill": "arange"}
GEOMETRY = (
    "stride",
    "padding",
    "dilation",
    "groups",
)  # given to the layer, which refuses what it does not take


def one_layer(flags: ProblemFlags) -> Any:
    """A stack of the one layer ``--layer`` names, from the flags (and the seed's input)."""
    from convgrad_cli import config as cfg
    from convgrad_cli.core.layers import KINDS

    kind = flags.layer
    if kind not in KINDS:
        raise ConfigError(f"--layer {kind!r} is not a layer kind; allowed: {', '.join(KINDS)}")
    given = flags.problem_overrides()
    if "bias" in given:
        raise ConfigError(f"--bias is not taken with --layer {kind}")
    dims = given.get("dims")
    params = {key: given[key] for key in GEOMETRY if key in given}
    for key, value in flags.layer_overrides().items():  # sizes as the config's grammar reads them
        flag = "kernel-size" if key == "kernel" else key.replace("_", "-")
        params[key] = cfg.parse_flag(flag, value) if isinstance(value, str) else value
    if kind == "conv_transpose":
        params["kernel"] = _full_rank(given.get("kernel", SEED_KERNEL), dims, kernel=True)
    elif "kernel" in given:
        raise ConfigError(
            f"--kernel is an array of weights; a {kind} takes none (its window is --kernel-size)"
        )
    raw: dict[str, Any] = {
        "input": _full_rank(given.get("input", SEED_INPUT), dims),
        "layers": [{kind: params}],
    }
    raw.update({key: given[key] for key in ("seed", "dtype") if key in given})
    if "delta" in given:
        raw["loss"] = {"delta": given["delta"]}
    return cfg.build_stack(raw, f"--layer {kind}")


def _full_rank(spec: Any, dims: Any, kernel: bool = False) -> Any:
    """A fill's shape in full rank, read as a convolution's input is: ``4x4`` one sample of one
    channel, ``3x4x4`` channels first (2-D unless ``--dims`` says otherwise); a kernel's
    spatial taps alone as one filter of one channel."""
    if not (isinstance(spec, dict) and isinstance(spec.get("shape"), list)):
        return spec
    shape = spec["shape"]
    nd = int(dims) if isinstance(dims, int) else {1: 1, 2: 2, 3: 2, 4: 2, 5: 3}.get(len(shape), 2)
    missing = nd + 2 - len(shape)
    if missing < 0 or (kernel and missing == 1):
        return spec  # the layer says what is wrong with it
    return {**spec, "shape": [1] * missing + shape}


def _shown(view: Any, document: Any) -> Shown:
    """A view drawn by every format: the terminal (and its exports), LaTeX and Markdown, or JSON."""
    return Shown(view, document)


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
