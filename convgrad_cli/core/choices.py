"""The choices of ``check`` as enums: the core validates with them and Typer lists
them in ``--help``. A module of its own, free of NumPy, so the CLI can import it
at start-up."""

from enum import Enum


class Framework(str, Enum):
    """The arrays an implementation takes and returns."""

    numpy = "numpy"
    torch = "torch"
    jax = "jax"


class Layout(str, Enum):
    """How the arrays an implementation takes are laid out."""

    full = "full"  # (N, C, *spatial), (O, C/groups, *k)
    given = "given"  # the rank the config gave
    channels_last = "channels-last"  # (N, *spatial, C), (*k, C/groups, O), as Keras and TensorFlow
    spatial = "spatial"  # one sample, one channel, one filter: (*spatial), (*k), δ (*out)


class Convention(str, Enum):
    """How an implementation is called."""

    convgrad = "convgrad"  # fn(x, w, delta, stride=…, padding=…, dilation=…, groups=…)
    cs231n = "cs231n"  # conv_backward_naive(dout, (x, w, b, {'stride': s, 'pad': p}))


class Details(str, Enum):
    """How many failing cases ``check`` shows in full."""

    first = "first"  # the first of the cases that fail alike; a line names the rest
    all = "all"  # every failing case
