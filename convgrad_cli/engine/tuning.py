"""The engine's thresholds, in one frozen value that tests and the benchmark pass in.

Each default is what ran fastest where this project is built;
``docs/performance.md`` has the runs. ``CONVGRAD_MEMORY_MB`` sets the
memory budget of :func:`default`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import lru_cache

from convgrad_cli.errors import ConfigError


@dataclass(frozen=True)
class Tuning:
    """Where the engine switches paths, and how large its pieces are."""

    #: Bytes the buffers of one block may take: beyond the operands, a padded
    #: copy of the input and the results, the engine needs no more than this.
    memory_budget: int = 256 * 2**20
    #: A block takes about this many im2col entries (8 MB in float32, in cache) …
    gemm_entries: int = 2**21
    #: … but at least this many columns: GEMMs run slowly on fewer.
    gemm_columns: int = 2500
    #: Kernel rows are products of their own when a row holds this many
    #: (tap, channel) pairs; thinner products run slowly.
    row_depth: int = 64
    #: Layers of fewer multiply-adds run as one share, BLAS on every core.
    parallel_macs: int = 2**27
    #: Forward and ∂L/∂x run tap by tap on BLAS (no im2col) when each product is
    #: this many bytes deep (channels per group, in and out) …
    direct_bytes: int = 256
    #: … and a sample's flat span is this many columns wide.
    direct_columns: int = 512
    #: Columns hold the outputs alone once the flat span's junk would add more
    #: than this share of work.
    compact_waste: float = 0.1
    #: Bytes of buffers per depthwise block.
    depthwise_budget: int = 4 * 2**20
    #: Depthwise layers of fewer bytes run on one core: a thread costs more.
    depthwise_parallel_bytes: int = 2**20
    #: Entries of NumPy's ufunc buffer while the engine runs: NumPy copies rows
    #: shorter than a third of its buffer through it; a small one reads them in place.
    ufunc_buffer: int = 256
    #: Threads to share a layer among; ``None``: the cores this process may run on.
    cores: int | None = None
    #: Whether dense layers may be shared; ``None``: only where BLAS can be held
    #: to one thread per call (several threads per call would oversubscribe the cores).
    dense_shares: bool | None = None


@lru_cache(maxsize=1)
def default() -> Tuning:
    """The measured defaults, with ``CONVGRAD_MEMORY_MB`` applied when set."""
    text = os.environ.get("CONVGRAD_MEMORY_MB")
    if text is None:
        return Tuning()
    try:
        megabytes = float(text)
    except ValueError:
        megabytes = math.nan
    if not (math.isfinite(megabytes) and 0 < megabytes <= 2**40):
        raise ConfigError(f"CONVGRAD_MEMORY_MB {text!r} is not allowed; give a number of MiB above 0")
    return Tuning(memory_budget=max(1, int(megabytes * 2**20)))
