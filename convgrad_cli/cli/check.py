"""`convgrad check`: prove gradients right, or say where and why they are wrong.

No ``from __future__ import annotations``: see :mod:`.options`.
"""

import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from convgrad_cli.core.choices import Convention, Framework, Layout
from convgrad_cli.errors import ConfigError, ExitStatus, OutputError

from .app import app
from .files import can_hold, can_write, exists, make_folder, write_atomic
from .options import Format, Mode, OutputFlags, ProblemFlags, grouped
from .output import Shown, check_export, guard, show


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
        Optional[int],
        typer.Option(
            "--random",
            "-r",
            help="Also check a sweep of N cases covering every edge-case class "
            "(default: 40 for --impl or --forward given no config, else 0).",
            min=0,
            show_default=False,
        ),
    ] = None,
    sweep_seed: Annotated[int, typer.Option("--sweep-seed", help="Seed of the --random sweep.", min=0)] = 0,
    impl: Annotated[
        Optional[str],
        typer.Option(
            help="Check your own backward: mymodule:conv_backward or path/to/file.py:backward.",
            show_default=False,
        ),
    ] = None,
    forward: Annotated[
        Optional[str],
        typer.Option(
            help="Check your own forward instead: f(x, w, bias=None, stride=…, padding=…, dilation=…, groups=…) "
            "returning y, e.g. my_conv.py:conv2d.",
            show_default=False,
        ),
    ] = None,
    framework: Annotated[
        Framework, typer.Option(help="The arrays --impl takes and returns.")
    ] = Framework.numpy,
    device: Annotated[
        str, typer.Option(help="Where torch arrays live: cpu, or cuda where there is one.")
    ] = "cpu",
    layout: Annotated[
        Layout,
        typer.Option(
            help="full: arrays (N, C, *spatial) and (O, C/groups, *k); given: the config's own rank."
        ),
    ] = Layout.full,
    convention: Annotated[
        Convention,
        typer.Option(
            help="How --impl is called: convgrad, fn(x, w, delta, stride=…, …); cs231n, "
            "conv_backward_naive(dout, (x, w, b, {'stride': s, 'pad': p})) — 2-D, one stride, one pad."
        ),
    ] = Convention.convgrad,
    min_checked: Annotated[
        Optional[int],
        typer.Option(
            "--min-checked",
            help="Fail unless at least this many cases were checked (default: N of --random N, or 1).",
            min=0,
            show_default=False,
        ),
    ] = None,
    square_kernel: Annotated[
        bool, typer.Option("--square-kernel", help="--impl handles square kernels only: draw no others.")
    ] = False,
    symmetric_padding: Annotated[
        bool,
        typer.Option(
            "--symmetric-padding",
            help="--impl handles one padding, the same on both sides of every axis: draw no other.",
        ),
    ] = False,
    same_stride: Annotated[
        bool, typer.Option("--same-stride", help="--impl handles one stride for every axis: draw no other.")
    ] = False,
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
        if junit_xml is not None:  # its folder is made, as pytest makes it
            can_write(junit_xml, "--junit-xml", make=True)
        if junit_xml is not None and exists(junit_xml) and not out.force:
            raise OutputError(f"{str(junit_xml)!r} exists; pass --force to overwrite it")
        if save_failing is not None:
            can_hold(save_failing, f"--save-failing {str(save_failing)!r}", make=True)
        from convgrad_cli.core import check as core

        if impl is not None and forward is not None:
            raise ConfigError("--impl and --forward each name the code to check; give one of them")
        kind, code = ("forward", forward) if forward is not None else ("backward", impl)
        core.limits(random, directions, timeout, timeout_total, code is not None)
        if forward is not None and (flags.layer not in (None, "conv") or _stacks(targets)):
            raise ConfigError(
                "--forward checks one convolution's forward; --layer and stack configs take --impl"
            )
        from convgrad_cli.config import config_paths, load, source_name
        from convgrad_cli.core.text import printable

        from .layer_check import check_stacks, stack_configs

        layer = flags.layer or "conv"
        stacks = stack_configs(targets) if layer == "conv" else []
        if stacks and code is None:
            return check_stacks(stacks, impl, out)
        options = core.Options(
            mode=mode.value, directions=directions, rtol=rtol, atol=atol, dtype=flags.dtype, layout=layout.value,
            framework=framework.value, device=device, convention=convention.value, kind=kind,
        )  # fmt: skip
        dims = core.dims_of(flags.dims)
        scope = core.declared(dims, square_kernel, symmetric_padding, same_stride)
        plan = core.plan(
            targets or [], load=load if layer == "conv" and not stacks else _stack_load, paths=config_paths, name=source_name,
            overrides=flags.overrides(kind_given=True), options=options, impl=code is not None, random=random,
            sweep_seed=sweep_seed, scope=scope, min_checked=min_checked, layer=layer,
        )  # fmt: skip
        with (
            core.implementation(plan, code, timeout, timeout_total)
            if code
            else nullcontext() as implementation
        ):
            report = _run(plan, implementation, out)
        results = report.results
        again = None if code is None else _again(forward is not None, code, options)
        saved = _save(results, save_failing, again) if save_failing is not None else {}
        from convgrad_cli.core.views.check import report_view
        from convgrad_cli.render import json
        from convgrad_cli.render.junit import junit_xml as to_junit

        if junit_xml is not None:
            make_folder(junit_xml.parent)
            write_atomic(junit_xml, to_junit(results, report.shortfall()), force=out.force)
        label = printable(code or "convgrad")
        show(out, Shown(lambda: report_view(report, label, saved, forward=kind == "forward"),
                        lambda: json.check_json(results, saved, report)))  # fmt: skip
        shortfall = report.shortfall()
        if shortfall and not report.bad:  # the one reason the run fails: say it on stderr too
            print(f"convgrad check: {shortfall}", file=sys.stderr)
        return ExitStatus.OK if report.passed else ExitStatus.CHECK_FAILED

    guard(out.debug, body)


def _again(forward: bool, code: str, options: Any) -> str:
    """The flags that check a saved case again as this run did: the code, and every calling
    option not at its default (a cs231n function called the default way raises TypeError)."""
    flags = [f"--{'forward' if forward else 'impl'} {code}"]
    defaults = {"convention": "convgrad", "layout": "full", "framework": "numpy", "device": "cpu"}
    flags += [f"--{k} {getattr(options, k)}" for k, v in defaults.items() if getattr(options, k) != v]
    if options.dtype not in (None, "float64"):
        flags.append(f"--dtype {options.dtype}")
    return " ".join(flags)


def _run(plan: Any, implementation: Any, out: OutputFlags) -> Any:
    """The plan's cases, with progress on a terminal."""
    from convgrad_cli.core.check import execute

    if out.format in (None, Format.rich, Format.plain) and sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import Progress

        with Progress(console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task("checking", total=None)
            return execute(plan, implementation, lambda text: progress.update(task, description=text))
    return execute(plan, implementation)


def _stack_load(config: Any, overrides: dict) -> Any:
    """A stack config as it is: --dtype is the check's (each layer's arrays rounded to it), no other flag applies."""
    from convgrad_cli.config import load_any

    return load_any(config, {k: v for k, v in overrides.items() if k != "dtype"})


def _stacks(targets: Optional[list[str]]) -> bool:
    from .layer_check import stack_configs

    return bool(stack_configs(targets))


def _save(results: list, folder: Path, impl: Optional[str]) -> dict:
    """Each failure's smallest failing case (or the case itself) as a config in ``folder``."""
    import re

    from convgrad_cli.config import dump, dump_layer
    from convgrad_cli.core.check.run import CaseResult, Status
    from convgrad_cli.core.views.check import short_name

    make_folder(folder)  # even with nothing to save: a CI step may collect it
    saved = {}
    for r in results:
        if r.status is not Status.failed:
            continue
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", short_name(r.name))[:80] or "case"
        path = folder / f"{stem}-failing.yaml"
        note = (
            f"the smallest failing case of {r.name} found by convgrad check"
            if r.smallest
            else f"{r.name}, as checked"
        )
        if isinstance(r, CaseResult):
            text = dump(r.smallest or r.problem, note, impl)
        else:  # a layer of another kind's case
            text = dump_layer(r.smallest or r.case, note, impl)
        write_atomic(path, text, force=True)
        saved[r.name] = str(path)
    return saved
