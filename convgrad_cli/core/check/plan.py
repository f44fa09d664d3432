"""From the options of a check to the cases it runs: every option validated
here, once, so that a front end (the CLI, the pytest helper) only parses and shows.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from convgrad_cli.core.axes import per_axis, per_axis_padding
from convgrad_cli.core.choices import Convention, Framework, Layout
from convgrad_cli.core.problem import Problem
from convgrad_cli.core.text import printable
from convgrad_cli.errors import ConfigError, GeometryError

from .run import DEFAULT_SWEEP, MAX_DIRECTIONS, MAX_RANDOM, MAX_SECONDS, Options
from .scope import RANKS, Scope, parse
from .tolerance import DTYPES

#: Problem flags that give arrays: they apply to configs; the sweep draws its own.
ARRAY_FLAGS = ("x", "kernel", "bias", "delta", "seed")
#: What each calling convention can express: CS231n's cache holds one stride and one pad, 2-D, no groups.
CONVENTION_SCOPE = {
    Convention.convgrad: Scope(),
    Convention.cs231n: Scope((2,), frozenset({"grouped", "dilated", "strides_per_axis", "padding_asymmetric",
                                              "padding_per_axis"})),
}  # fmt: skip
#: Problem flags that every case of the sweep takes.
SWEEP_FLAGS = ("stride", "padding", "dilation", "groups")


@dataclass(frozen=True)
class Plan:
    """The cases of a check: configs as given, then a sweep of ``count`` cases checked."""

    configs: list[tuple[str, Problem]]
    options: Options
    count: int = 0
    seed: int = 0
    dtype: str = "float64"
    fixed: Mapping[str, Any] = field(default_factory=dict)
    scope: Scope = field(default_factory=Scope)
    min_checked: int = 1
    layer: str = "conv"  # another kind of layer (check --layer): its cases are ``cases``
    cases: list[Any] = field(default_factory=list)


def dims_of(text: str | Sequence[int] | None) -> tuple[int, ...]:
    """``--dims 1,2,3`` (or one of them): the ranks checked."""
    if text is None:
        return RANKS
    try:
        dims = tuple(int(v) for v in (text.split(",") if isinstance(text, str) else text))
    except ValueError:
        dims = ()
    if not dims or any(d not in RANKS for d in dims):
        raise ConfigError(f"--dims {text!r} is not allowed; give 1, 2 or 3, or a list such as 1,2,3")
    return dims


def declared(
    dims: tuple[int, ...],
    square_kernel: bool = False,
    symmetric_padding: bool = False,
    same_stride: bool = False,
    words: str | None = None,
) -> Scope:
    """The scope the options declare (``--dims``, ``--square-kernel``, ``--symmetric-padding``,
    ``--same-stride``), with the words an implementation declares (``convgrad_scope``)."""
    flags = {"kernel_not_square": square_kernel, "strides_per_axis": same_stride}
    off = {f for f, on in flags.items() if on}
    if symmetric_padding:
        off |= {"padding_asymmetric", "padding_per_axis"}
    scope = Scope(dims, frozenset(off))
    return scope & parse(words, "the implementation's convgrad_scope") if words else scope


def limits(random: int | None, directions: int, timeout: float, total: float | None, impl: bool) -> None:
    """Refuse numbers that would not finish, with what is allowed."""
    if total is not None and not impl:
        raise ConfigError("--timeout-total bounds the time of --impl; give --impl too")
    for name, seconds, low in (("--timeout", timeout, 0.1), ("--timeout-total", total, 1)):
        if seconds is not None and not seconds <= MAX_SECONDS:  # inf and nan too
            raise ConfigError(
                f"{name} {seconds!r} is not allowed; give {low:g} to {MAX_SECONDS:,.0f} seconds"
            )
    if random is not None and random > MAX_RANDOM:
        raise ConfigError(f"--random {random} is not allowed; give 0 to {MAX_RANDOM:,} cases")
    if not 1 <= directions <= MAX_DIRECTIONS:
        raise ConfigError(
            f"--directions {directions} is not allowed; give 1 to {MAX_DIRECTIONS}: each costs four forward "
            "passes, and one already catches a wrong gradient"
        )


def validate(options: Options, impl: bool) -> None:
    """Refuse, before anything runs, options that contradict each other or that this
    machine cannot check."""
    for name, value in (("--rtol", options.rtol), ("--atol", options.atol)):
        if value is not None and not (value >= 0 and value != float("inf")):
            raise ConfigError(f"{name} {value!r} is not allowed; give a finite number ≥ 0")
    if options.dtype is not None and options.dtype not in DTYPES:
        raise ConfigError(f"dtype {options.dtype!r} is not allowed; allowed: {', '.join(DTYPES)}")
    if options.layout not in {v.value for v in Layout}:
        allowed = ", ".join(v.value for v in Layout)
        raise ConfigError(f"layout {options.layout!r} is not allowed; allowed: {allowed}")
    framework = Framework(options.framework)
    if framework is not Framework.numpy and not impl:
        raise ConfigError(f"--framework {framework.value} says what --impl takes; give --impl too")
    if framework is not Framework.numpy and importlib.util.find_spec(framework.value) is None:
        raise ConfigError(
            f"--framework {framework.value} needs {framework.value} installed here (pip install {framework.value})"
        )
    if options.layout == "spatial" and options.convention != Convention.convgrad.value:
        raise ConfigError(
            f"--layout spatial passes x, w and δ as their spatial axes alone; --convention {options.convention} "
            "passes its own arrays: give one of them"
        )
    if options.device != "cpu":
        if framework is not Framework.torch:
            raise ConfigError(f"--device {options.device} is for torch tensors; give --framework torch too")
        import torch

        if options.device.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError(f"--device {options.device}: no CUDA device here; leave --device out (cpu)")
    if (
        options.dtype == "bfloat16"
        and framework is Framework.numpy
        and importlib.util.find_spec("ml_dtypes") is None
    ):
        raise ConfigError(
            "--dtype bfloat16 with NumPy arrays needs ml_dtypes (pip install ml_dtypes), or --framework torch"
        )


def validate_fixed(fixed: Mapping[str, Any]) -> None:
    """The problem flags every case of a sweep takes, checked before any case is drawn
    (``--groups 0`` would otherwise fail inside the sweep, once per case)."""
    for name, least in (("stride", 1), ("dilation", 1), ("padding", 0), ("groups", 1)):
        value = fixed.get(name)
        if value is None or (name == "padding" and value in ("same", "valid")):
            continue
        n = len(value) if isinstance(value, (list, tuple)) else 1
        try:
            if name == "groups":
                given = per_axis(value, 1, name)
            elif name == "padding":
                given = tuple(v for pair in per_axis_padding(value, n) for v in pair)
            else:
                given = per_axis(value, n, name)
        except GeometryError:
            given = ()
        if not given or min(given) < least:
            allowed = "an int" if name == "groups" else "an int or one per axis"
            more = ", 'same' or 'valid'" if name == "padding" else ""
            raise GeometryError(f"--{name} {value!r} is not allowed; give {allowed}, at least {least}{more}")


def plan(
    targets: Sequence[str],
    *,
    load: Callable[[Any, Any], Any],
    paths: Callable[[Any], Sequence[object]],
    name: Callable[[Any], str] = lambda p: printable(str(p)),
    overrides: Mapping[str, Any],
    options: Options,
    impl: bool,
    random: int | None = None,
    sweep_seed: int = 0,
    scope: Scope | None = None,
    min_checked: int | None = None,
    layer: str = "conv",
) -> Plan:
    """The cases to check: each config of ``targets`` (``load``-ed with ``overrides``, the
    problem flags), then a sweep of ``random`` cases inside ``scope``; ``min_checked``
    (default: ``random``, or 1) is how many must be checked for the run to count.
    A sweep by default: :data:`.DEFAULT_SWEEP` cases for an implementation given neither
    targets nor arrays, none otherwise.
    Another kind of ``layer``: the layers of that kind in the stack configs of ``targets``,
    its anchors and ``random`` cases of its own."""
    validate(options, impl)
    if min_checked is not None and min_checked < 0:
        raise ConfigError(f"--min-checked {min_checked} is not allowed; give a count ≥ 0")
    given = [f"--{k}" for k in ARRAY_FLAGS if overrides.get("input" if k == "x" else k) is not None]
    if random is None:  # arrays given as flags make one problem of them
        random = DEFAULT_SWEEP if impl and not targets and not given else 0
    if layer != "conv":
        return _layer_plan(layer, targets, load, paths, name, overrides, options, impl, random, sweep_seed,
                           scope or Scope(), min_checked)  # fmt: skip
    if random and given:
        raise ConfigError(
            f"{', '.join(given)} does not apply to the --random sweep, which draws its own arrays; "
            "give a config for those, or leave them out"
        )
    local = {k: v for k, v in overrides.items() if k not in ("dims", "dtype")}
    if random:
        validate_fixed({k: v for k, v in local.items() if k in SWEEP_FLAGS and v is not None})
        if options.layout == "spatial" and local.get("groups") not in (None, 1):
            raise ConfigError(
                f"--groups {local['groups']} is not allowed with --layout spatial, which passes one channel "
                "and one filter (groups 1); leave --groups out"
            )
    if options.dtype in ("float32", "float64"):
        local["dtype"] = options.dtype
    configs = [case for p in paths(list(targets)) for case in _cases(name(p), load(p, local))]
    if not configs and not random:
        configs = [("default", load(None, local))]
    return Plan(
        configs,
        options,
        count=random,
        seed=sweep_seed,
        dtype=local.get("dtype", "float64"),
        fixed={k: v for k, v in local.items() if k in SWEEP_FLAGS},
        scope=(scope or Scope()) & CONVENTION_SCOPE[Convention(options.convention)],
        min_checked=(random or 1) if min_checked is None else min_checked,
    )


#: The options that shape a convolution's cases, by what a plan holds of them.
_SCOPE_FLAGS = {"kernel_not_square": "--square-kernel", "strides_per_axis": "--same-stride",
                "padding_asymmetric": "--symmetric-padding"}  # fmt: skip


def _layer_plan(
    kind: str, targets: Sequence[str], load: Callable[[Any, Any], Any], paths: Callable[[Any], Sequence[object]],
    name: Callable[[Any], str], overrides: Mapping[str, Any], options: Options, impl: bool, random: int,
    sweep_seed: int, scope: Scope, min_checked: int | None,
) -> Plan:  # fmt: skip
    from convgrad_cli.core.layercheck import plan as layer

    given = [
        f"--{'x' if k == 'input' else k}"
        for k, v in overrides.items()
        if v is not None and k not in ("dims", "dtype")
    ]
    given += [flag for f, flag in _SCOPE_FLAGS.items() if f in scope.refused]
    given += [f"--{o}" for o, v in (("layout", options.layout), ("convention", options.convention),
                                   ("mode", options.mode)) if v != Options.__dataclass_fields__[o].default]  # fmt: skip
    layer.refuse(kind, given)
    dtype = options.dtype or "float64"
    if not impl and dtype not in ("float32", "float64"):
        raise ConfigError(f"convgrad computes in float32 or float64; --dtype {dtype} checks an --impl")
    cases, least = layer.plan(kind, targets, load=load, paths=paths, name=name, options=options, random=random,
                              sweep_seed=sweep_seed, dims=scope.dims, min_checked=min_checked)  # fmt: skip
    return Plan(
        [], options, count=random, seed=sweep_seed, dtype=dtype, min_checked=least, layer=kind, cases=cases
    )


def _cases(name: str, loaded: Any) -> list[tuple[str, Problem]]:
    """A config's problem, or each convolution of a stack config, on what it receives there."""
    if isinstance(loaded, Problem):
        return [(name, loaded)]
    from convgrad_cli.core.layercheck.plan import conv_problems

    return conv_problems(name, loaded)


def implementation(plan: Plan, spec: str, timeout: float, total: float | None) -> Any:
    """``--impl SPEC`` in a child process, called as the plan's kind of layer is."""
    from .isolate import Isolated

    if plan.layer == "conv":
        return Isolated(spec, timeout, total)
    from convgrad_cli.core.layercheck.plan import isolated

    return isolated(plan.layer, spec, timeout, total)
