"""convgrad: see, and prove, how gradients flow back through a convolutional layer.

The Python API mirrors ``torch.nn.functional``::

    from convgrad_cli import conv2d, conv2d_backward
    y = conv2d(x, w, bias=None, stride=1, padding=0, dilation=1, groups=1)
    input_grad, weight_grad, bias_grad = conv2d_backward(x, w, delta, stride=1, padding=0)

and the commands' pictures are objects that print in a terminal and show in a
notebook (:mod:`convgrad_cli.notebook`)::

    import convgrad_cli as cg
    cg.trace(input="f", stride=2)        # or forward(x, w), backward(x, w, delta), check(...)

The layers, bottom up: ``engine`` (the fast NumPy/BLAS path), ``core`` (geometry,
problems, rules, terms, names, checks), ``config`` (YAML and flags), ``render``
(Rich, JSON, LaTeX, Markdown), ``cli`` (the commands).
"""

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: the pictures, from :mod:`convgrad_cli.notebook`
PICTURES = ("forward", "backward", "trace", "check")

__all__ = [
    "backward",
    "check",
    "forward",
    "trace",
    "conv1d",
    "conv1d_backward",
    "conv2d",
    "conv2d_backward",
    "conv3d",
    "conv3d_backward",
    "__version__",
]

if TYPE_CHECKING:
    from convgrad_cli.api import conv1d, conv1d_backward, conv2d, conv2d_backward, conv3d, conv3d_backward
    from convgrad_cli.notebook import backward, check, forward, trace


def __getattr__(name: str) -> Any:
    # the API is loaded on first use, so that importing a layer (or the CLI's
    # --help) loads nothing it does not need
    if name in PICTURES:
        from convgrad_cli import notebook

        return getattr(notebook, name)
    if name in __all__:
        from convgrad_cli import api

        return getattr(api, name)
    raise AttributeError(f"module 'convgrad_cli' has no attribute {name!r}")


def __dir__() -> list[str]:
    # what tab completion offers in a notebook: the lazily loaded API too
    return sorted({*globals(), *__all__})
