"""`convgrad check`: prove gradients right, or say where and why they are wrong.

No ``from __future__ import annotations``: see :mod:`.options`.
"""

import dataclasses
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from convgrad_cli.core.choices import Convention, Details, Framework, Layout
from convgrad_cli.errors import ConfigError, ExitStatus, OutputError

from .app import app
from .files import can_hold, can_write, exists, make_folder, write_atomic
from .options import Format, Mode, OutputFlags, ProblemFlags, grouped
from .output import Shown, check_export, guard, show


@dataclasses.dataclass(frozen=True)
class CheckFlags:
    """check's own options: the code to check and how it is called, the sweep and
    what it may draw, time limits, tolerances, and the reports to write."""

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
    ] = None
    sweep_seed: Annotated[int, typer.Option("--sweep-seed", help="Seed of the --random sweep.", min=0)] = 0
    impl: Annotated[
        Optional[str],
        typer.Option(
            help="Check your own backward: mymodule:conv_backward or path/to/file.py:backward.",
            show_default=False,
        ),
    ] = None
    forward: Annotated[
        Optional[str],
        typer.Option(
            help="Check your own forward instead: f(x, w, bias=None, stride=…, padding=…, dilation=…, groups=…) "
            "returning y, e.g. my_conv.py:conv2d.",
            show_default=False,
        ),
    ] = None
    framework: Annotated[Framework, typer.Option(help="The arrays --impl takes and returns.")] = (
        Framework.numpy
    )
    device: Annotated[str, typer.Option(help="Where torch arrays live: cpu, or cuda where there is one.")] = (
        "cpu"
    )
    layout: Annotated[
        Layout,
        typer.Option(
            help="full: arrays (N, C, *spatial) and (O, C/groups, *k); given: the config's own rank; "
            "spatial: one sample, channel and filter, x (H, W), w (kh, kw), δ (Ho, Wo) as a 2-D loop takes them."
        ),
    ] = Layout.full
    convention: Annotated[
        Convention,
        typer.Option(
            help="How --impl is called: convgrad, fn(x, w, delta, stride=…, …); cs231n, "
            "conv_backward_naive(dout, (x, w, b, {'stride': s, 'pad': p})) — 2-D, one stride, one pad."
        ),
    ] = Convention.convgrad
    min_checked: Annotated[
        Optional[int],
        typer.Option(
            "--min-checked",
            help="Fail unless at least this many cases were checked (default: N of --random N, or 1).",
            min=0,
            show_default=False,
        ),
    ] = None
    square_kernel: Annotated[
        bool, typer.Option("--square-kernel", help="--impl handles square kernels only: draw no others.")
    ] = False
    symmetric_padding: Annotated[
        bool,
        typer.Option(
            "--symmetric-padding",
            help="--impl handles one padding, the same on both sides of every axis: draw no other.",
        ),
    ] = False
    same_stride: Annotated[
        bool, typer.Option("--same-stride", help="--impl handles one stride for every axis: draw no other.")
    ] = False
    timeout: Annotated[
        float, typer.Option(help="Seconds --impl may take per case before it is stopped.", min=0.1)
    ] = 120.0
    timeout_total: Annotated[
        Optional[float],
        typer.Option(
            "--timeout-total",
            help="Seconds the whole run may take with --impl; the cases left then are not run (exit 1).",
            min=1.0,
            show_default=False,
        ),
    ] = None
    mode: Annotated[
        Mode,
        typer.Option(
            help="Finite differences of every entry (full), random directions (fast), or full for small problems (auto)."
        ),
    ] = Mode.auto
    directions: Annotated[
        int, typer.Option(help="Random directions per gradient in fast mode, 1 to 100, e.g. --directions 4.")
    ] = 2
    rtol: Annotated[
        Optional[float],
        typer.Option(
            help="Each entry's bound relative to Σ|terms| (default: (4·√n + 1)·u of the dtype).",
            show_default=False,
        ),
    ] = None
    atol: Annotated[
        Optional[float],
        typer.Option(
            help="The absolute floor of each bound (default 1e-12 in float64, 1e-6 in float32).",
            show_default=False,
        ),
    ] = None
    junit_xml: Annotated[
        Optional[Path],
        typer.Option(
            "--junit-xml",
            help="Also write a JUnit XML report, e.g. --junit-xml report.xml.",
            show_default=False,
        ),
    ] = None
    save_failing: Annotated[
        Optional[Path],
        typer.Option(
            "--save-failing",
            help="Write each failure's smallest failing case into this folder, as a config.",
            show_default=False,
        ),
    ] = None
    details: Annotated[
        Details,
        typer.Option(
            help="Failing cases shown in full: the first of those that fail alike, with a line naming the "
            "rest (first), or every one (all); --format json has every case either way."
        ),
    ] = Details.first

    @property
    def code(self) -> Optional[str]:
        """The code to check, --forward's or --impl's; ``None``: convgrad's own."""
        return self.forward if self.forward is not None else self.impl

    @property
    def kind(self) -> str:
        return "forward" if self.forward is not None else "backward"

    def options(self, dtype: Optional[str]) -> Any:
        """How each case is checked, in the core's terms."""
        from convgrad_cli.core import check as core

        return core.Options(
            mode=self.mode.value, directions=self.directions, rtol=self.rtol, atol=self.atol, dtype=dtype,
            layout=self.layout.value, framework=self.framework.value, device=self.device,
            convention=self.convention.value, kind=self.kind,
        )  # fmt: skip


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
    given: CheckFlags = CheckFlags(),
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
    guard(out.debug, lambda: _check(targets or [], given, flags, out))


def _check(targets: list[str], given: CheckFlags, flags: ProblemFlags, out: OutputFlags) -> int:
    """check's steps: refuse what cannot run, plan the cases, run them, write the reports, show the verdict."""
    _refuse_reports(given, out)
    _refuse_flags(targets, given, flags)
    from .layer_check import check_stacks, stack_configs

    layer = flags.layer or "conv"
    stacks = stack_configs(targets) if layer == "conv" else []
    if stacks and given.code is None:
        return check_stacks(stacks, given.impl, out)
    options = given.options(flags.dtype)
    plan = _plan(targets, given, flags, options, layer, stacks)
    report = _execute(plan, given, out)
    saved = _write_reports(report, given, options, out)
    return _verdict(report, given, saved, out)


def _refuse_reports(given: CheckFlags, out: OutputFlags) -> None:
    """Refuse, before any work is done, an export or a report that could not be written."""
    check_export(out)
    if given.junit_xml is not None:  # its folder is made, as pytest makes it
        can_write(given.junit_xml, "--junit-xml", make=True)
        if exists(given.junit_xml) and not out.force:
            raise OutputError(f"{str(given.junit_xml)!r} exists; pass --force to overwrite it")
    if given.save_failing is not None:
        can_hold(given.save_failing, f"--save-failing {str(given.save_failing)!r}", make=True)


def _refuse_flags(targets: list[str], given: CheckFlags, flags: ProblemFlags) -> None:
    """Refuse flags that do not go together, and numbers that would not finish."""
    from convgrad_cli.core import check as core

    if given.impl is not None and given.forward is not None:
        raise ConfigError("--impl and --forward each name the code to check; give one of them")
    core.limits(given.random, given.directions, given.timeout, given.timeout_total, given.code is not None)
    if given.forward is not None and (flags.layer not in (None, "conv") or _stacks(targets)):
        raise ConfigError("--forward checks one convolution's forward; --layer and stack configs take --impl")


def _plan(
    targets: list[str], given: CheckFlags, flags: ProblemFlags, options: Any, layer: str, stacks: list
) -> Any:
    """The cases to check: each config's (a stack config's layers, with --impl) and the sweep's."""
    from convgrad_cli.config import config_paths, load, source_name
    from convgrad_cli.core import check as core

    dims = core.dims_of(flags.dims)
    scope = core.declared(dims, given.square_kernel, given.symmetric_padding, given.same_stride)
    return core.plan(
        targets, load=load if layer == "conv" and not stacks else _stack_load, paths=config_paths, name=source_name,
        overrides=flags.overrides(kind_given=True), options=options, impl=given.code is not None,
        random=given.random, sweep_seed=given.sweep_seed, scope=scope, min_checked=given.min_checked, layer=layer,
    )  # fmt: skip


def _execute(plan: Any, given: CheckFlags, out: OutputFlags) -> Any:
    """The plan run: against the code given, in a child process, or convgrad's own."""
    from convgrad_cli.core import check as core

    code = given.code
    with (
        core.implementation(plan, code, given.timeout, given.timeout_total)
        if code
        else nullcontext() as implementation
    ):
        return _run(plan, implementation, out)


def _write_reports(report: Any, given: CheckFlags, options: Any, out: OutputFlags) -> dict:
    """--save-failing's configs and --junit-xml's report; the configs saved, by case."""
    from convgrad_cli.render.junit import junit_xml as to_junit

    code = given.code
    again = None if code is None else _again(given.forward is not None, code, options)
    saved = _save(report.results, given.save_failing, again) if given.save_failing is not None else {}
    if given.junit_xml is not None:
        make_folder(given.junit_xml.parent)
        write_atomic(given.junit_xml, to_junit(report.results, report.shortfall()), force=out.force)
    return saved


def _verdict(report: Any, given: CheckFlags, saved: dict, out: OutputFlags) -> int:
    """The report shown in the chosen format; the exit status."""
    from convgrad_cli.core.text import printable
    from convgrad_cli.core.views.check import report_view
    from convgrad_cli.render import json

    label = printable(given.code or "convgrad")
    every = given.details is Details.all
    show(out, Shown(lambda: report_view(report, label, saved, forward=given.kind == "forward", every=every),
                    lambda: json.check_json(report.results, saved, report)))  # fmt: skip
    shortfall = report.shortfall()
    if shortfall and not report.bad:  # the one reason the run fails: say it on stderr too
        print(f"convgrad check: {shortfall}", file=sys.stderr)
    return ExitStatus.OK if report.passed else ExitStatus.CHECK_FAILED


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
    from convgrad_cli.core.views.cases import short_name

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
