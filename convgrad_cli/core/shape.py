"""Which kernel, stride, dilation, padding and output_padding map one size to
another — for a convolution or a transposed one — and the calls that do it in
PyTorch, TensorFlow/Keras and JAX.

A convolution maps ``n`` to ``⌊(n + pb + pa − e) / s⌋ + 1`` (``e = d·(k − 1) + 1``):
*exact* when no row is left over, *cropped* when the last ``(n + pb + pa − e) mod s``
rows are never reached. A transposed convolution maps ``n`` to
``(n − 1)·s − 2·p + e + op`` with ``0 ≤ op < max(s, d)`` (PyTorch's rule).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from convgrad_cli.core.axes import compact
from convgrad_cli.errors import ConfigError

#: What is tried when a flag does not fix it.
BOUNDS = {"kernel": 7, "stride": 4, "dilation": 3}


def conv_size(n: int, k: int, s: int, d: int, before: int, after: int) -> int:
    """The output size of a convolution on one axis (``0`` or less: no window fits)."""
    return (n + before + after - d * (k - 1) - 1) // s + 1


def transposed_size(n: int, k: int, s: int, d: int, p: int, op: int) -> int:
    """The output size of a transposed convolution on one axis, as PyTorch computes it."""
    return (n - 1) * s - 2 * p + d * (k - 1) + op + 1


@dataclass(frozen=True)
class Axis:
    """One axis of a solution."""

    kernel: int
    stride: int
    dilation: int
    padding: tuple[int, int]  # before, after (a transposed convolution's: its p, twice)
    output_padding: int = 0
    uncovered: int = 0  # rows a convolution leaves over at the end
    skipped: int = 0  # cells between windows no tap joins (input read, or transposed output written)

    @property
    def extent(self) -> int:
        return self.dilation * (self.kernel - 1) + 1

    @property
    def left_over(self) -> int:
        """Input cells at the end no window reaches: the uncovered rows that are not padding."""
        return max(0, self.uncovered - self.padding[1])


@dataclass(frozen=True)
class Solution:
    axes: tuple[Axis, ...]
    transposed: bool

    @property
    def exact(self) -> bool:
        """No input cell left over (convolution; a padding row no window reaches costs
        nothing), no output_padding needed (transposed)."""
        return all(a.left_over == 0 and a.output_padding == 0 for a in self.axes)

    @property
    def symmetric(self) -> bool:
        return all(a.padding[0] == a.padding[1] for a in self.axes)

    def rank(self) -> tuple[int, ...]:
        """Exact first, then those that skip no cell between windows, undilated, then the
        smallest kernel, symmetric padding (one layer's argument, where asymmetric needs a
        pad first), the least padding."""
        return (
            not self.exact,
            any(a.skipped for a in self.axes),
            sum(a.dilation for a in self.axes),
            sum(a.kernel for a in self.axes),
            not self.symmetric,
            sum(sum(a.padding) for a in self.axes),
            sum(a.output_padding for a in self.axes),
            sum(a.stride for a in self.axes),
        )


def solve(
    sizes_in: Sequence[int],
    sizes_out: Sequence[int],
    transposed: bool = False,
    kernel: Sequence[int] | None = None,
    stride: Sequence[int] | None = None,
    dilation: Sequence[int] | None = None,
) -> list[Solution]:
    """Every combination within :data:`BOUNDS` (or as fixed) that maps ``sizes_in`` to
    ``sizes_out`` on every axis, ranked. Kernel, stride and dilation are the same on
    every axis unless given per axis; padding is found per axis.

    >>> best = solve([32], [64], transposed=True)[0].axes[0]
    >>> best.kernel, best.stride, best.padding, best.output_padding
    (2, 2, (0, 0), 0)
    """
    nd = len(sizes_in)
    if len(sizes_out) != nd:
        raise ConfigError(f"--in has {nd} sizes but --out {len(sizes_out)}; give one per axis")
    if any(n < 1 for n in (*sizes_in, *sizes_out)):
        raise ConfigError("sizes must be at least 1")
    per_axis = [
        _choices(fixed, name, nd)
        for fixed, name in ((kernel, "kernel"), (stride, "stride"), (dilation, "dilation"))
    ]
    found = []
    for ks, ss, ds in itertools.product(*per_axis):
        if dilation is None and any(k == 1 and d > 1 for k, d in zip(ks, ds)):
            continue  # a dilated 1-tap kernel is the undilated one: listed once
        options = []
        for n, m, k, s, d in zip(sizes_in, sizes_out, ks, ss, ds):
            options.append(_transposed_axis(n, m, k, s, d) if transposed else _conv_axis(n, m, k, s, d))
        for axes in itertools.product(*options):
            found.append(Solution(tuple(axes), transposed))
    return sorted(found, key=Solution.rank)


def _choices(fixed: Sequence[int] | None, name: str, nd: int) -> list[tuple[int, ...]]:
    if fixed is None:
        return [(v,) * nd for v in range(1, BOUNDS[name] + 1)]
    if len(fixed) == 1:
        return [tuple(fixed) * nd]
    if len(fixed) != nd:
        raise ConfigError(f"--{name} has {len(fixed)} values; give one, or one per axis ({nd})")
    return [tuple(fixed)]


def _conv_axis(n: int, m: int, k: int, s: int, d: int) -> list[Axis]:
    """Paddings (each side at most e − 1, so every window touches the input) giving ``m``."""
    e = d * (k - 1) + 1
    out = []
    low = (m - 1) * s + e - n  # the total padding of an exact fit
    for total in range(max(low, 0), low + s):
        if total > 2 * (e - 1):
            break
        before = total // 2
        left = (n + total - e) % s
        if conv_size(n, k, s, d, before, total - before) == m:
            out.append(Axis(k, s, d, (before, total - before), 0, left, skipped(n, k, s, d, before, m)))
    return out


def _transposed_axis(n: int, m: int, k: int, s: int, d: int) -> list[Axis]:
    out = []
    rest = (n - 1) * s + d * (k - 1) + 1 - m  # = 2·p − op
    for op in range(max(s, d)):
        if (rest + op) % 2 == 0 and 0 <= (rest + op) // 2 <= d * (k - 1):
            p = (rest + op) // 2  # its output is the input of the convolution it transposes
            out.append(Axis(k, s, d, (p, p), op, skipped=skipped(m, k, s, d, p, n)))
    return out


def skipped(size: int, k: int, s: int, d: int, before: int, windows: int) -> int:
    """Cells of ``size`` before the last one a tap joins that no tap joins: the gaps of a
    stride wider than the window, and of dilation's holes (all of them when no tap joins one).

    >>> skipped(7, 1, 3, 1, 0, 3), skipped(7, 3, 2, 1, 0, 3), skipped(7, 2, 2, 2, 0, 3)
    (4, 0, 3)
    """
    joined = {i * s - before + j * d for i in range(windows) for j in range(k)}
    inside = [p for p in joined if 0 <= p < size]
    return max(inside) + 1 - len(inside) if inside else size


def nearest(sizes_in: Sequence[int], sizes_out: Sequence[int], transposed: bool) -> list[tuple[int, ...]]:
    """The output sizes within reach nearest to the asked ones (for a query with no answer)."""
    reach: set[tuple[int, ...]] = set()
    for k, s, d in itertools.product(*(range(1, BOUNDS[b] + 1) for b in ("kernel", "stride", "dilation"))):
        per_axis = []
        for n in sizes_in:
            e = d * (k - 1) + 1
            if transposed:
                sizes = {transposed_size(n, k, s, d, p, op) for p in range(e) for op in range(max(s, d))}
            else:
                sizes = {conv_size(n, k, s, d, t // 2, t - t // 2) for t in range(2 * e - 1)}
            per_axis.append(sorted(v for v in sizes if v >= 1))
        reach.update(itertools.product(*per_axis))
    return sorted(reach, key=lambda r: (sum(abs(a - b) for a, b in zip(r, sizes_out)), r))[:2]


# -- the calls ---------------------------------------------------------------------------------------------


def torch_call(sol: Solution, channels: tuple[int, int] = (1, 1)) -> str:
    """``torch.nn.Conv2d(1, 1, kernel_size=3, stride=2, padding=1)`` — with a ZeroPad first
    where the padding is asymmetric (PyTorch's convolutions pad alike on both sides)."""
    nd = len(sol.axes)
    ks, ss, ds = (compact([getattr(a, f) for a in sol.axes], None) for f in ("kernel", "stride", "dilation"))
    args = f"{channels[0]}, {channels[1]}, kernel_size={ks}, stride={ss}"
    if sol.transposed:
        args += f", padding={compact([a.padding[0] for a in sol.axes], None)}"
        if any(a.output_padding for a in sol.axes):
            args += f", output_padding={compact([a.output_padding for a in sol.axes], None)}"
    elif sol.symmetric:
        if any(a.padding[0] for a in sol.axes):
            args += f", padding={compact([a.padding[0] for a in sol.axes], None)}"
    if any(a.dilation > 1 for a in sol.axes):
        args += f", dilation={ds}"
    call = f"torch.nn.{'ConvTranspose' if sol.transposed else 'Conv'}{nd}d({args})"
    if not sol.transposed and not sol.symmetric:
        flat = [p for a in reversed(sol.axes) for p in a.padding]  # last axis first, as F.pad takes them
        call = f"torch.nn.Sequential(torch.nn.ZeroPad{nd}d({tuple(flat)}), {call})" if nd <= 3 else call
    return call


def tf_same_padding(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    """TensorFlow's (and JAX's) ``'SAME'``: output ⌈n / s⌉, the odd zero at the end."""
    e = d * (k - 1) + 1
    total = max((-(-n // s) - 1) * s + e - n, 0)
    return total // 2, total - total // 2


def keras_call(sol: Solution, sizes_in: Sequence[int]) -> str | None:
    """``keras.layers.Conv2D(1, 3, strides=2, padding='same')`` where 'same' or 'valid' gives it."""
    nd = len(sol.axes)
    if sol.transposed:
        if all(a.padding == (0, 0) and a.output_padding == 0 for a in sol.axes):
            mode = "valid"
        elif all(2 * a.padding[0] == a.extent - a.stride and a.output_padding == 0 for a in sol.axes):
            mode = "same"
        else:
            return None
    elif all(a.padding == (0, 0) for a in sol.axes):
        mode = "valid"
    elif all(
        a.padding == tf_same_padding(n, a.kernel, a.stride, a.dilation) for a, n in zip(sol.axes, sizes_in)
    ):
        mode = "same"
    else:
        return None
    ks, ss, ds = (compact([getattr(a, f) for a in sol.axes], None) for f in ("kernel", "stride", "dilation"))
    args = f"1, {ks}, strides={ss}, padding='{mode}'"
    if any(a.dilation > 1 for a in sol.axes):
        args += f", dilation_rate={ds}"
    return f"keras.layers.Conv{nd}D{'Transpose' if sol.transposed else ''}({args})"


def jax_call(sol: Solution) -> str:
    """``jax.lax.conv_general_dilated(x, w, (2,), ((1, 1),))`` — for a transposed
    convolution with ``lhs_dilation`` and the kernel flipped, in/out swapped."""
    ss = tuple(a.stride for a in sol.axes)
    ds = tuple(a.dilation for a in sol.axes)
    if sol.transposed:
        pads = tuple(
            (a.extent - 1 - a.padding[0], a.extent - 1 - a.padding[0] + a.output_padding) for a in sol.axes
        )
        spatial = tuple(range(2, 2 + len(sol.axes)))
        kernel = f"jnp.flip(w, {spatial}).swapaxes(0, 1)"
        return (
            f"jax.lax.conv_general_dilated(x, {kernel}, window_strides={(1,) * len(ss)}, padding={pads}, "
            f"lhs_dilation={ss}, rhs_dilation={ds})"
        )
    pads = tuple(a.padding for a in sol.axes)
    return f"jax.lax.conv_general_dilated(x, w, window_strides={ss}, padding={pads}, rhs_dilation={ds})"


@dataclass(frozen=True)
class SameReport:
    """What ``'same'`` pads at a stride, framework by framework."""

    torch: tuple[int, int] | None  # None: PyTorch refuses 'same' at this stride
    tensorflow: tuple[int, int]
    jax: tuple[int, int]

    @property
    def agree(self) -> bool:
        return self.torch == self.tensorflow == self.jax


def same_padding(n: int, k: int, s: int, d: int) -> SameReport:
    """PyTorch pads ``d·(k − 1)`` in all, the odd zero at the end, at stride 1 only;
    TensorFlow and JAX pad for an output of ⌈n / s⌉, the odd zero at the end."""
    total = d * (k - 1)
    torch = (total // 2, total - total // 2) if s == 1 else None
    tf = tf_same_padding(n, k, s, d)
    return SameReport(torch, tf, tf)


# -- the answer --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """``shape --in N --out M``: the geometries that map ``sizes_in`` to ``sizes_out``,
    ranked (or, when none does, the ``nearest`` sizes within reach), and what 'same'
    pads at the best one's stride."""

    sizes_in: tuple[int, ...]
    sizes_out: tuple[int, ...]
    transposed: bool
    found: tuple[Solution, ...]
    nearest: tuple[tuple[int, ...], ...]
    same: SameReport | None


def answer(
    sizes_in: Sequence[int], sizes_out: Sequence[int], transposed: bool = False, **fixed: Sequence[int] | None
) -> Answer:
    """:func:`solve`'s geometries (``fixed``: its kernel, stride and dilation),
    :func:`nearest`'s sizes when there are none, and :func:`same_padding` at the best
    convolution."""
    found = solve(sizes_in, sizes_out, transposed, **fixed)
    near = [] if found else nearest(sizes_in, sizes_out, transposed)
    same = None
    if found and not transposed:
        a = found[0].axes[0]
        same = same_padding(sizes_in[0], a.kernel, a.stride, a.dilation)
    return Answer(tuple(sizes_in), tuple(sizes_out), transposed, tuple(found), tuple(near), same)
