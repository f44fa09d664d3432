"""`convgrad check`: prove gradients right, or say where and why they are wrong.

No ``from __future__ import annotations``: see :mod:`.options`.
"""

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from convgrad_cli.errors import ConfigError, ExitStatus, OutputError

from .app import app
from .files import can_hold, can_write, exists, make_folder, write_atomic
from .options import Format, Mode, OutputFlags, ProblemFlags, grouped
from .output import Shown, check_export, guard, show

#: Flags that give arrays: they apply to configs; the sweep draws its own.
ARRAY_FLAGS = ("x", "kernel", "bias", "delta", "seed")


@app.command()
@grouped
def check(
    targets: Annotated[
        Optional[list[str]],
        typer.Argument(
            help="Config files, directories or globs (configs/, 'configs/*.yaml'); none: the default problem.",
            show_default=False,
        ),
    ] = None,
    random: Annotated[
        int,
        typer.Option(
            "--random", "-r", help="Also check a sweep of N cases covering every edge-case class.", min=0
        ),
    ] = 0,
    sweep_seed: Annotated[int, typer.Option("--sweep-seed", help="Seed of the --random sweep.", min=0)] = 0,
    impl: Annotated[
        Optional[str],
        typer.Option(
            help="Check your own backward: mymodule:conv_backward or path/to/file.py:backward.",
            show_default=False,
        ),
    ] = None,
    framework: Annotated[
        str, typer.Option(help="The arrays --impl takes and returns: numpy, torch or jax.")
    ] = "numpy",
    device: Annotated[
        str, typer.Option(help="Where torch arrays live: cpu, or cuda where there is one.")
    ] = "cpu",
    layout: Annotated[
        str,
        typer.Option(
            help="full: arrays (N, C, *spatial) and (O, C/groups, *k); given: the config's own rank."
        ),
    ] = "full",
    timeout: Annotated[
        float, typer.Option(help="Seconds --impl may take per case before it is stopped.", min=0.1)
    ] = 120.0,
    timeout_total: Annotated[
        Optional[float],
        typer.Option(
            "--timeout-total",
            help="Seconds the whole run may take with --impl; the cases left then are not run (exit 1).",
            min=1.0,
            show_default=False,
        ),
    ] = None,
    mode: Annotated[
        Mode,
        typer.Option(
            help="Finite differences of every entry (full), random directions (fast), or full for small problems (auto)."
        ),
    ] = Mode.auto,
    directions: Annotated[
        int, typer.Option(help="Random directions per gradient in fast mode, 1 to 100, e.g. --directions 4.")
    ] = 2,
    rtol: Annotated[
        Optional[float],
        typer.Option(
            help="Each entry's bound relative to Σ|terms| (default: (4·√n + 1)·u of the dtype).",
            show_default=False,
        ),
    ] = None,
    atol: Annotated[
        Optional[float],
        typer.Option(
            help="The absolute floor of each bound (default 1e-12 in float64, 1e-6 in float32).",
            show_default=False,
        ),
    ] = None,
    junit_xml: Annotated[
        Optional[Path],
        typer.Option(
            "--junit-xml",
            help="Also write a JUnit XML report, e.g. --junit-xml report.xml.",
            show_default=False,
        ),
    ] = None,
    save_failing: Annotated[
        Optional[Path],
        typer.Option(
            "--save-failing",
            help="Write each failure's smallest failing case into this folder, as a config.",
            show_default=False,
        ),
    ] = None,  # fmt: skip
    flags: ProblemFlags = ProblemFlags(),
    out: OutputFlags = OutputFlags(),
) -> None:
    """Prove gradients right: against the definition, the slides' pipeline, finite
    differences and the adjoint identity. On a failure: where, which known mistake it
    looks like, and the smallest failing case. Exit 0 if all pass, 1 if any fails.

    \b
    Examples:
      convgrad check configs/
      convgrad check --random 40 --sweep-seed 0
      convgrad check --random 40 --impl my_conv.py:conv_backward --dims 2
      convgrad check configs/ --impl my_conv.py:backward --framework torch --dtype float16
      convgrad check --random 40 --impl my_conv.py:backward --junit-xml report.xml --save-failing failing/
    """

    def body() -> int:
        check_export(out)
        for name, value in (("--rtol", rtol), ("--atol", atol)):
            if value is not None and not (value >= 0 and value != float("inf")):
                raise ConfigError(f"{name} {value!r} is not allowed; give a finite number ≥ 0")
        if framework not in ("numpy", "torch", "jax"):
            raise ConfigError(f"--framework {framework!r} is not allowed; allowed: numpy, torch, jax")
        if timeout_total is not None and impl is None:
            raise ConfigError("--timeout-total bounds the time of --impl; give --impl too")
        if layout not in ("full", "given"):
            raise ConfigError(f"--layout {layout!r} is not allowed; allowed: full, given")
        if junit_xml is not None:  # its folder is made, as pytest makes it
            can_write(junit_xml, "--junit-xml", make=True)
        if junit_xml is not None and exists(junit_xml) and not out.force:
            raise OutputError(f"{str(junit_xml)!r} exists; pass --force to overwrite it")
        if save_failing is not None:
            can_hold(save_failing, f"--save-failing {str(save_failing)!r}", make=True)
        _can_finish(timeout, timeout_total, random, directions)
        if flags.layer not in (None, "conv"):  # another kind of layer: its own cases and references
            from .layer_check import check_layer

            refused = {"configs": targets, "--framework": framework != "numpy", "--layout": layout != "full",
                       "--junit-xml": junit_xml, "--save-failing": save_failing}  # fmt: skip
            return check_layer(
                flags, impl, random, sweep_seed, rtol, atol, (timeout, timeout_total), out, refused
            )
        import numpy as np

        from convgrad_cli.config import config_paths, load, source_name
        from convgrad_cli.core import check as core
        from convgrad_cli.core.check.tolerance import DTYPES
        from convgrad_cli.core.text import printable

        dims = _dims(flags.dims)
        dtype = flags.dtype
        if dtype is not None and dtype not in DTYPES:
            raise ConfigError(f"dtype {dtype!r} is not allowed; allowed: {', '.join(DTYPES)}")
        _can_run(framework, dtype, impl, device)
        overrides = {k: v for k, v in flags.overrides().items() if k not in ("dims", "dtype")}
        if dtype in ("float32", "float64"):
            overrides["dtype"] = dtype
        if random:
            given = [
                f"--{'x' if k == 'input' else k}"
                for k in ARRAY_FLAGS
                if getattr(flags, "x" if k == "input" else k) is not None
            ]
            if given:
                raise ConfigError(
                    f"{', '.join(given)} does not apply to the --random sweep, which draws its own arrays; "
                    "give a config for those, or leave them out"
                )
        from .layer_check import check_stacks, stack_configs

        stacks = stack_configs(targets)
        if stacks:
            return check_stacks(stacks, impl, out)
        cases = [(source_name(p), load(p, overrides)) for p in config_paths(targets or [])]
        fixed = {k: v for k, v in overrides.items() if k in ("stride", "padding", "dilation", "groups")}
        rng = np.random.default_rng(sweep_seed)
        for i, spec in enumerate(core.sweep(random, rng, dims, fixed)):
            cases.append(
                (f"random-{i}", spec.problem(int(rng.integers(0, 2**31)), overrides.get("dtype", "float64")))
            )
        if not cases:
            cases = [("default", load(None, overrides))]
        options = core.Options(
            mode=mode.value, directions=directions, rtol=rtol, atol=atol, dtype=dtype, layout=layout,
            framework=framework, device=device,
        )  # fmt: skip
        implementation = core.Isolated(impl, timeout, timeout_total) if impl else None
        try:
            results = _run(cases, implementation, options, dims, out)
        finally:
            if implementation is not None:
                implementation.close()
        saved = _save(results, save_failing, impl) if save_failing is not None else {}
        from convgrad_cli.core.views.check import check_view
        from convgrad_cli.render import json
        from convgrad_cli.render.junit import junit_xml as to_junit

        if junit_xml is not None:
            make_folder(junit_xml.parent)
            write_atomic(junit_xml, to_junit(results), force=out.force)
        label = printable(impl or "convgrad")
        show(out, Shown(lambda: check_view(results, label, saved), lambda: json.check_json(results, saved)))
        from convgrad_cli.core.check.run import BAD

        bad = any(r.status in BAD for r in results)
        return ExitStatus.CHECK_FAILED if bad else ExitStatus.OK

    guard(out.debug, body)


def _can_finish(timeout: float, timeout_total: Optional[float], random: int, directions: int) -> None:
    """Refuse numbers that would not finish, saying what is allowed."""
    from convgrad_cli.core.check.run import MAX_DIRECTIONS, MAX_RANDOM, MAX_SECONDS

    for name, seconds, low in (("--timeout", timeout, 0.1), ("--timeout-total", timeout_total, 1)):
        if seconds is not None and not seconds <= MAX_SECONDS:  # inf and nan too
            raise ConfigError(
                f"{name} {seconds!r} is not allowed; give {low:g} to {MAX_SECONDS:,.0f} seconds"
            )
    if random > MAX_RANDOM:
        raise ConfigError(f"--random {random} is not allowed; give 0 to {MAX_RANDOM:,} cases")
    if not 1 <= directions <= MAX_DIRECTIONS:
        raise ConfigError(
            f"--directions {directions} is not allowed; give 1 to {MAX_DIRECTIONS}: each costs four forward "
            "passes, and one already catches a wrong gradient"
        )


def _dims(text: Optional[str]) -> tuple[int, ...]:
    """``--dims 1,2,3`` (or one of them): the ranks checked."""
    if text is None:
        return (1, 2, 3)
    try:
        dims = tuple(int(v) for v in str(text).split(","))
    except ValueError:
        dims = ()
    if not dims or any(d not in (1, 2, 3) for d in dims):
        raise ConfigError(f"--dims {text!r} is not allowed; give 1, 2 or 3, or a list such as 1,2,3")
    return dims


def _can_run(framework: str, dtype: Optional[str], impl: Optional[str], device: str) -> None:
    """Refuse, before anything runs, what this machine cannot check."""
    import importlib.util

    if framework != "numpy" and impl is None:
        raise ConfigError(f"--framework {framework} says what --impl takes; give --impl too")
    need = {"torch": "torch", "jax": "jax"}.get(framework)
    if need and importlib.util.find_spec(need) is None:
        raise ConfigError(f"--framework {framework} needs {need} installed here (pip install {need})")
    if device != "cpu":
        if framework != "torch":
            raise ConfigError(f"--device {device} is for torch tensors; give --framework torch too")
        import torch

        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError(f"--device {device}: no CUDA device here; leave --device out (cpu)")
    if dtype == "bfloat16" and framework == "numpy" and importlib.util.find_spec("ml_dtypes") is None:
        raise ConfigError(
            "--dtype bfloat16 with NumPy arrays needs ml_dtypes (pip install ml_dtypes), or --framework torch"
        )


def _run(cases: list, implementation: Any, options: Any, dims: tuple[int, ...], out: OutputFlags) -> list:
    """Every case, with progress on a terminal; configs of ranks not asked for are skipped."""
    from dataclasses import replace

    from convgrad_cli.core.check import check_case
    from convgrad_cli.core.check.run import CaseResult, numeric_problem

    def one(name: str, problem: Any, say: Any) -> Any:
        if problem.geom.ndim not in dims:
            skipped = CaseResult(name, numeric_problem(problem), "", "skipped")
            return replace(
                skipped, error=f"{problem.geom.ndim}-D; --dims {','.join(map(str, dims))} checks those only"
            )
        return check_case(problem, name, implementation, options, say)

    if out.format in (None, Format.rich, Format.plain) and sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import Progress

        with Progress(console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task("checking", total=len(cases))
            results = []
            for name, problem in cases:
                results.append(one(name, problem, lambda text: progress.update(task, description=text)))
                progress.advance(task)
            return results
    return [one(name, problem, None) for name, problem in cases]


def _save(results: list, folder: Path, impl: Optional[str]) -> dict:
    """Each failure's smallest failing case (or the case itself) as a config in ``folder``."""
    import re

    from convgrad_cli.config import dump

    make_folder(folder)  # even with nothing to save: a CI step may collect it
    saved = {}
    for r in results:
        if r.status != "failed":
            continue
        problem = r.smallest or r.problem
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(r.name).stem)[:80] or "case"
        path = folder / f"{stem}-failing.yaml"
        note = (
            f"the smallest failing case of {r.name} found by convgrad check"
            if r.smallest
            else f"{r.name}, as checked"
        )
        write_atomic(path, dump(problem, note, impl), force=True)
        saved[r.name] = str(path)
    return saved
