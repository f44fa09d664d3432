"""convgrad against PyTorch on real layer sizes, and the CLI's start-up.

    python benchmarks/bench.py                 # everything, markdown on stdout
    python benchmarks/bench.py --only layers   # or: cli, check, scope, explore
    python benchmarks/bench.py --dtype float64 --repeat 3
    python benchmarks/bench.py --only layers --rounds 5   # ratio ranges over 5 rounds
    python benchmarks/bench.py --only layers --without shares  # no layer shared among the cores
    python benchmarks/bench.py --only layers --without taps    # im2col everywhere, no products in place
    python benchmarks/bench.py --only layers --without buffer  # NumPy's own ufunc buffer (8192 entries)
    python benchmarks/bench.py --only layers --layer 8,128,56,56,128,3,1,1,1,128  # any layer(s) instead

For each layer: the best of ``--repeat`` runs of forward + backward (∂L/∂x,
∂L/∂W, ∂L/∂b) through convgrad's public API and through
``torch.nn.functional.conv2d`` + autograd (same dtype, same thread count),
their ratio, the GFLOP/s reached (3 × the forward's multiply-adds × 2), NumPy's
own large-matmul GFLOP/s measured in the same run (the practical ceiling),
and the peak memory each adds to its process (VmHWM after a reset, Linux).
PyTorch columns are blank when it is not installed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout: the package beside this folder

from convgrad_cli.core import problem, rules  # noqa: E402
from convgrad_cli.core.geometry import Geometry  # noqa: E402
from convgrad_cli.engine import Tuning  # noqa: E402

# (N, C, H, W) → O, k, stride, padding, dilation, groups
LAYERS = [
    ((8, 64, 56, 56), 64, 3, 1, 0, 1, 1),
    ((8, 128, 28, 28), 128, 3, 1, 0, 1, 1),
    ((8, 3, 224, 224), 64, 7, 2, 0, 1, 1),
    ((32, 256, 14, 14), 256, 3, 1, 0, 1, 1),
    ((8, 64, 56, 56), 64, 3, 2, 1, 1, 1),
    ((4, 32, 64, 64), 32, 3, 1, 0, 2, 1),
    ((8, 64, 56, 56), 64, 3, 1, 0, 1, 64),
]

#: ``--layer`` choices, as JSON, for the peak-memory children too.
CHOSEN = "CONVGRAD_BENCH_LAYERS"


def chosen_layers() -> list:
    """The layers given with ``--layer``, else :data:`LAYERS`."""
    given = os.environ.get(CHOSEN)
    if not given:
        return LAYERS
    return [((n, c, h, w), o, k, s, p, d, g) for (n, c, h, w), o, k, s, p, d, g in json.loads(given)]


def parse_layer(text: str):
    """``N,C,H,W,O,k[,stride[,padding[,dilation[,groups]]]]`` → a layer as in :data:`LAYERS`."""
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        values = []
    if not 6 <= len(values) <= 10:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give 6 to 10 integers, N,C,H,W,O,k[,stride[,padding[,dilation[,groups]]]]"
        )
    n, c, h, w, o, k, s, p, d, g = values + [1, 0, 1, 1][len(values) - 6 :]
    return ((n, c, h, w), o, k, s, p, d, g)


def label(layer) -> str:
    (n, c, h, w), o, k, s, p, d, g = layer
    extra = "".join(
        [f", padding {p}" if p else "", f", dilation {d}" if d > 1 else "", f", groups {g}" if g > 1 else ""]
    )
    return f"({n}, {c}, {h}, {w}) → {o}, {k}×{k}, stride {s}{extra}"


def operands(layer, dtype):
    (n, c, h, w), o, k, s, p, d, g = layer
    rng = np.random.default_rng(0)
    geom = Geometry.build((h, w), (k, k), batch=n, in_channels=c, out_channels=o, groups=g,
                          stride=s, padding=p, dilation=d)  # fmt: skip
    x = rng.standard_normal(geom.input_shape).astype(dtype)
    wt = rng.standard_normal(geom.kernel_shape).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    delta = rng.standard_normal(geom.output_shape).astype(dtype)
    return geom, x, wt, b, delta


def runner(lib: str, layer, dtype):
    """A function doing one forward + backward, with its operands made ready."""
    geom, x, w, b, delta = operands(layer, dtype)
    _, _, _, s, p, d, g = layer
    if lib == "convgrad":
        t = tuning()
        args = dict(stride=s, padding=p, dilation=d, groups=g, dims=2)

        def run():
            # what conv2d and conv2d_backward do (validate, then the rules), with the tuning
            fwd = problem.build(x, w, bias=b, **args)
            rules.forward(fwd.geom, fwd.x, fwd.w, fwd.bias, t)
            bwd = problem.build(x, w, delta=delta, **args)
            rules.input_grad(bwd.geom, bwd.w, bwd.delta, t)
            rules.weight_grad(bwd.geom, bwd.x, bwd.delta, t)
            rules.bias_grad(bwd.delta)

        return geom, run
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    td = torch.tensor(delta)

    def run():
        y = torch.nn.functional.conv2d(tx, tw, tb, stride=s, padding=p, dilation=d, groups=g)
        y.backward(td)
        tx.grad = tw.grad = tb.grad = None

    return geom, run


WITHOUT = "CONVGRAD_BENCH_WITHOUT"


def tuning() -> Tuning:
    """The engine's tuning; with ``--without``, its shares among the cores, its
    products tap by tap on BLAS, or its small ufunc buffer turned off (to compare)."""
    off = os.environ.get(WITHOUT, "").split(",")
    t = Tuning()
    if "shares" in off:
        t = dataclasses.replace(t, parallel_macs=sys.maxsize)
    if "taps" in off:
        t = dataclasses.replace(t, direct_bytes=sys.maxsize)
    if "buffer" in off:
        t = dataclasses.replace(t, ufunc_buffer=np.getbufsize())
    return t


def blas_line() -> str:
    """NumPy's BLAS as threadpoolctl reports it: library, version, kernel, threads
    (an OPENBLAS_CORETYPE in the environment changes the kernel, and GEMM speed)."""
    from threadpoolctl import threadpool_info

    found = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    parts = [
        f"{i['internal_api']} {i.get('version')} ({i.get('architecture')}, {i['num_threads']} threads, "
        f"{Path(i['filepath']).name})"
        for i in found
    ]
    core = os.environ.get("OPENBLAS_CORETYPE")
    return "BLAS: " + ("; ".join(parts) or "none found") + (f"; OPENBLAS_CORETYPE={core}" if core else "")


def best_time(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(field)


def child_peak(lib: str, index: int, dtype: str) -> None:
    """In a fresh process: operands ready, reset the peak, run once, print the peak added."""
    _, fn = runner(lib, chosen_layers()[index], np.dtype(dtype))
    # no warm-up: a first run shows every buffer a pass needs (a second one can reuse
    # memory the allocator kept from the first, for either library)
    before = _status("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    fn()
    print(json.dumps({"peak": _status("VmHWM") - before}))


def peak_memory(lib: str, index: int, dtype: str) -> float | None:
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--child", lib, str(index), dtype],
            capture_output=True, text=True, check=True, timeout=600,
        )  # fmt: skip
        return json.loads(out.stdout)["peak"] / 2**20
    except (subprocess.SubprocessError, OSError, ValueError, KeyError):
        return None


def matmul_gflops(dtype, n: int = 2048) -> float:
    a = np.random.default_rng(0).standard_normal((n, n)).astype(dtype)
    return 2 * n**3 / best_time(lambda: a @ a, 3) / 1e9


def have_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def layers_table(dtypes, repeat: int, rounds: int = 1) -> str:
    """One row per layer and dtype. With ``rounds`` > 1 both libraries are timed
    that many times, one after the other each round: times are the best over all
    rounds, the ratio is the median of the rounds' ratios, and its range is shown
    (this machine is shared, and a busy minute moves one round's ratio a lot)."""
    torch_ok = have_torch()
    ranged = rounds > 1 and torch_ok
    rows = [
        "| dtype | layer | convgrad s | PyTorch s | ratio | "
        + ("ratio range | " if ranged else "")
        + "convgrad GFLOP/s | PyTorch GFLOP/s | "
        "NumPy matmul GFLOP/s | convgrad peak MiB | PyTorch peak MiB | memory ratio |",
        "|---|---|---:|---:|---:|" + ("---:|" if ranged else "") + "---:|---:|---:|---:|---:|---:|",
    ]
    for dtype in dtypes:
        ceiling = matmul_gflops(np.dtype(dtype))
        for i, layer in enumerate(chosen_layers()):
            geom, ours = runner("convgrad", layer, np.dtype(dtype))
            theirs = runner("torch", layer, np.dtype(dtype))[1] if torch_ok else None
            work = 3 * geom.flops / 1e9
            mine, others = [], []
            for _ in range(rounds):
                # one library after the other, not alternating: the BLAS and OpenMP threads
                # of one keep spinning for a while after it returns and slow the other down
                mine.append(best_time(ours, repeat))
                if theirs:
                    others.append(best_time(theirs, repeat))
            t_ours, t_torch = min(mine), (min(others) if others else None)
            ratios = sorted(a / b for a, b in zip(mine, others))
            m_ours = peak_memory("convgrad", i, dtype)
            m_torch = peak_memory("torch", i, dtype) if torch_ok else None

            def f(v, spec):
                return "" if v is None else format(v, spec)

            rows.append(
                f"| {dtype} | {label(layer)} | {t_ours:.3f} | {f(t_torch, '.3f')} | "
                f"{f(statistics.median(ratios) if ratios else None, '.2f')} | "
                + (f"{ratios[0]:.2f}–{ratios[-1]:.2f} | " if ranged else "")
                + f"{work / t_ours:.0f} | "
                f"{f(t_torch and work / t_torch, '.0f')} | {ceiling:.0f} | {f(m_ours, '.0f')} | "
                f"{f(m_torch, '.0f')} | {f(m_ours and m_torch and m_ours / m_torch, '.2f')} |"
            )
            print(rows[-1], file=sys.stderr, flush=True)
    return "\n".join(rows)


def cli_table(repeat: int = 21) -> str:
    """Whole-process times, the commands interleaved run by run so that a busy
    moment of the machine falls on all of them alike; medians of ``repeat`` runs."""
    exe = str(Path(sys.executable).parent / "convgrad")
    commands = {
        'python -c "import numpy, rich, typer, yaml"': [
            sys.executable,
            "-c",
            "import numpy, rich, typer, yaml",
        ],
        "convgrad trace --input a": [exe, "trace", "--input", "a", "--format", "plain"],
        "convgrad --help": [exe, "--help"],
    }
    # as after a pip install, which compiles every module: without bytecode on
    # disk (PYTHONDONTWRITEBYTECODE=1) each run compiles convgrad anew, ~1.7× the floor
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for cmd in commands.values():
        subprocess.run(cmd, capture_output=True, check=True, env=env)  # writes the bytecode
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, cmd in commands.items():
            start = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True, env=env)
            times[name].append(time.perf_counter() - start)
    floor = statistics.median(times['python -c "import numpy, rich, typer, yaml"'])
    rows = [f"| command | median s ({repeat} runs) | × import floor |", "|---|---:|---:|"]
    for name, ts in times.items():
        rows.append(f"| `{name}` | {statistics.median(ts):.3f} | {statistics.median(ts) / floor:.2f} |")
    return "\n".join(rows)


def check_table() -> str:
    """`check` of a float64 (8, 64, 56, 56) → 64, 3×3 layer beside gradcheck's fast mode;
    then a failing implementation of it, plain and with diagnosis and shrinking."""
    from convgrad_cli.config import build_problem
    from convgrad_cli.core.check import InProcess, Options, check_case

    layer = build_problem(
        {
            "input": {"shape": [8, 64, 56, 56], "fill": "random"},
            "kernel": {"shape": [64, 64, 3, 3], "fill": "random"},
            "bias": {"shape": [64], "fill": "random"},
            "delta": {"fill": "random"},
        }  # fmt: skip
    )

    def timed(*args, **kwargs):
        start = time.perf_counter()
        result = check_case(layer, "layer", *args, **kwargs)
        return time.perf_counter() - start, result

    ours, result = timed()
    rows = [
        "| tool | s | passed |",
        "|---|---:|---|",
        f"| `convgrad check` (fast mode, 2 directions) | {ours:.2f} | {result.passed} |",
    ]
    if have_torch():
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
        x = torch.tensor(layer.x, requires_grad=True)
        w = torch.tensor(layer.w, requires_grad=True)
        b = torch.tensor(layer.bias, requires_grad=True)
        start = time.perf_counter()
        ok = torch.autograd.gradcheck(
            lambda x_, w_, b_: torch.nn.functional.conv2d(x_, w_, b_), (x, w, b), fast_mode=True
        )
        theirs = time.perf_counter() - start
        rows.append(f"| `torch.autograd.gradcheck(..., fast_mode=True)` | {theirs:.2f} | {ok} |")
    sys.path.insert(0, str(ROOT))
    from tests.support.broken_impls import kernel_not_flipped

    broken = InProcess(kernel_not_flipped, "kernel_not_flipped")
    plain, _ = timed(broken, Options(diagnose=False, shrink=False))
    diagnosed, _ = timed(broken, Options(shrink=False))
    shrunk, found = timed(broken, Options())
    rows += [
        f"| `check --impl` a kernel_not_flipped backward, plain | {plain:.2f} | {found.passed} |",
        f"| … with diagnosis | {diagnosed:.2f} ({diagnosed / plain:.2f}×) | {found.passed} |",
        f"| … with diagnosis and shrinking (to {found.smallest.geom.describe() if found.smallest else '—'}) "
        f"| {shrunk:.2f} ({shrunk / plain:.2f}×) | {found.passed} |",
    ]
    return "\n".join(rows)


def scope_table(repeat: int = 2) -> str:
    """`check --random 40` of narrow implementations, learning what each supports (refused
    calls, probes), against a run of the very cases it checked, all of which it accepts."""
    from convgrad_cli.core.check import InProcess, Options, Plan, execute
    from convgrad_cli.core.check.contract import Skipped

    sys.path.insert(0, str(ROOT))
    from tests.support import narrow_impls

    class Timed(InProcess):
        refusing = 0.0

        def __call__(self, c):
            start = time.perf_counter()
            try:
                return super().__call__(c)
            except Skipped:
                Timed.refusing += time.perf_counter() - start
                raise

    rows = [
        "| implementation | supports | learning: s | of which refused calls: s (calls) | its 40 cases alone: s | ratio |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name in ("only_2d", "symmetric_padding_only", "square_kernels_only", "stride1_no_padding"):
        impl = Timed(getattr(narrow_impls, name), name)
        learning = Plan([], Options(), count=40)

        def run(plan: Plan, impl: InProcess = impl):
            Timed.refusing = 0.0
            start = time.perf_counter()
            report = execute(plan, impl)
            return time.perf_counter() - start, Timed.refusing, report

        learned, refusing, report = min((run(learning) for _ in range(repeat)), key=lambda t: t[0])
        accepted = [(r.name, r.problem) for r in report.results if r.status.checked]
        told, _, again = min((run(Plan(accepted, Options())) for _ in range(repeat)), key=lambda t: t[0])
        assert report.checked == again.checked == 40 and not again.bad
        refused = len(report.results) - report.checked
        rows.append(
            f"| `{name}` | {report.supports()} | {learned:.2f} | {refusing:.3f} ({refused}) | {told:.2f} "
            f"| {learned / told:.2f}× |"
        )
    return "\n".join(rows)


EXPLORE_OPENS = """
import asyncio, sys, time
start = float(sys.argv[1])
from convgrad_cli.config import load
from convgrad_cli.core.explore import State
from convgrad_cli.tui.app import ExploreApp

async def main():
    app = ExploreApp(State.start(load(None)))
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        print(time.time() - start)

asyncio.run(main())
"""


def explore_table(presses: int = 40) -> str:
    """`explore` on a 1×4×32×32 input and a 4×4×3×3 kernel: from the moment a key's
    action starts to the moment Textual has refreshed the screen with its result
    (``call_after_refresh``), medians over ``presses``; and how long a process takes
    to draw the first screen of the seed's example."""
    import asyncio

    from convgrad_cli.config import build_problem
    from convgrad_cli.core.explore import State
    from convgrad_cli.tui.app import ExploreApp

    layer = build_problem({"input": {"shape": [1, 4, 32, 32], "fill": "random"},
                           "kernel": {"shape": [4, 4, 3, 3], "fill": "random"}, "padding": 1})  # fmt: skip
    keys = {"right (move the cursor)": ["right", "left"], "tab (onto another array)": ["tab"],
            "space (one window of the backward pass)": ["space"], "s / S (stride: recompute all)": ["s", "S"]}  # fmt: skip
    times: dict[str, list[float]] = {name: [] for name in keys}

    class Timed(ExploreApp):
        current = ""

        def apply(self, state: State) -> None:
            start, name = time.perf_counter(), self.current
            super().apply(state)
            self.call_after_refresh(lambda: times[name].append(time.perf_counter() - start))

    async def run() -> None:
        app = Timed(State.start(layer))
        async with app.run_test(size=(120, 50)) as pilot:
            await pilot.pause()
            for _ in range(presses):
                for name, sequence in keys.items():
                    app.current = name
                    for key in sequence:
                        await pilot.press(key)
                        await pilot.pause()

    asyncio.run(run())
    rows = ["| key, 1×4×32×32 * 4×4×3×3 p1: action to refreshed screen | median ms | slowest ms |",
            "|---|---:|---:|"]  # fmt: skip
    for name, ts in times.items():
        rows.append(f"| {name} | {1000 * statistics.median(ts):.1f} | {1000 * max(ts):.1f} |")
    opens = []
    for _ in range(5):
        done = subprocess.run([sys.executable, "-c", EXPLORE_OPENS, repr(time.time())], capture_output=True,
                              text=True, check=True)  # fmt: skip
        opens.append(float(done.stdout.strip().splitlines()[-1]))
    rows.append(f"| a process starts and draws its first screen (seed's example, 5 runs) | "
                f"{1000 * statistics.median(opens):.0f} | {1000 * max(opens):.0f} |")  # fmt: skip
    return "\n".join(rows)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_peak(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=["layers", "cli", "check", "scope", "explore"])
    parser.add_argument("--dtype", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--rounds", type=int, default=1, help="time each layer this many times; report ranges"
    )
    parser.add_argument(
        "--without",
        nargs="+",
        default=[],
        choices=["shares", "taps", "buffer"],
        help="turn off, to compare: shares among the cores (BLAS on every core instead), "
        "products tap by tap on BLAS (im2col instead), the small ufunc buffer (NumPy's own instead)",
    )
    parser.add_argument(
        "--layer",
        action="append",
        type=parse_layer,
        metavar="N,C,H,W,O,k[,s,p,d,g]",
        help="time this layer instead of the issue's seven (repeatable): stride, padding, "
        "dilation and groups default to 1, 0, 1, 1",
    )
    args = parser.parse_args()
    os.environ[WITHOUT] = ",".join(args.without)  # the peak-memory children read it too
    if args.layer:
        os.environ[CHOSEN] = json.dumps(args.layer)
    import platform

    print(f"{platform.machine()}, {os.cpu_count()} cores, NumPy {np.__version__}", end="")
    if have_torch():
        import torch

        print(f", PyTorch {torch.__version__}", end="")
    print(f"\n{blas_line()}\n")
    if args.only in (None, "layers"):
        print(layers_table(args.dtype, args.repeat, args.rounds) + "\n")
    if args.only in (None, "check"):
        print(check_table() + "\n")
    if args.only in (None, "scope"):
        print(scope_table() + "\n")
    if args.only in (None, "cli"):
        print(cli_table() + "\n")
    if args.only in (None, "explore"):
        print(explore_table())


if __name__ == "__main__":
    main()
