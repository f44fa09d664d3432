"""A stack at real size against PyTorch CPU: forward + backward of
conv 3×3 → relu → maxpool 2, twice (32 then 64 channels), on 1×3×224×224 in float64.

    python benchmarks/stack_bench.py                 # best of 5, both in one run, interleaved
    python benchmarks/stack_bench.py --repeat 9 --threads 1

convgrad runs the stack's own backward (∂L/∂x, ∂L/∂W of every layer, loss = sum);
PyTorch the same layers with autograd, the input requiring its gradient too, on
the same number of threads. Prints each best time and their ratio; the run
checks first that both give the same gradients.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def _pin() -> None:
    """``--threads N``: both libraries on the first N cores, BLAS on N threads (set before NumPy loads)."""
    if "--threads" in sys.argv:
        n = int(sys.argv[sys.argv.index("--threads") + 1])
        os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(n)
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:n])


_pin()

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout: the package beside this folder

from convgrad_cli.core import stack  # noqa: E402
from convgrad_cli.core.stack import LayerSpec  # noqa: E402


def operands(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((1, 3, 224, 224)), rng.standard_normal((32, 3, 3, 3)),
            rng.standard_normal((64, 32, 3, 3)))  # fmt: skip


def convgrad_run(x: np.ndarray, w1: np.ndarray, w2: np.ndarray):
    specs = [LayerSpec("conv", {"kernel": w1, "padding": 1}), LayerSpec("relu", {}), LayerSpec("maxpool", {"kernel": 2}),
             LayerSpec("conv", {"kernel": w2, "padding": 1}), LayerSpec("relu", {}), LayerSpec("maxpool", {"kernel": 2})]  # fmt: skip
    s = stack.build(x, specs)

    def run():
        passes = stack.backward(s)
        return passes[0].input_grad, passes[0].weight_grad, passes[3].weight_grad

    return run


def torch_run(x: np.ndarray, w1: np.ndarray, w2: np.ndarray):
    import torch

    F = torch.nn.functional

    def run():
        tx, t1, t2 = (torch.tensor(a, requires_grad=True) for a in (x, w1, w2))
        a = F.max_pool2d(F.relu(F.conv2d(tx, t1, padding=1)), 2)
        F.max_pool2d(F.relu(F.conv2d(a, t2, padding=1)), 2).sum().backward()
        return tx.grad.numpy(), t1.grad.numpy(), t2.grad.numpy()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="cores for both (default: every core)")
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    ours, theirs = convgrad_run(*operands()), torch_run(*operands())
    for a, b in zip(ours(), theirs()):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)
    times: dict[str, list[float]] = {"convgrad": [], "torch": []}
    for _ in range(args.repeat):  # interleaved, so that a busy moment hits both
        for name, fn in (("convgrad", ours), ("torch", theirs)):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    best = {k: min(v) for k, v in times.items()}
    print(f"stack conv3x3(32)-relu-maxpool2-conv3x3(64)-relu-maxpool2 on 1x3x224x224 float64, "
          f"torch threads {torch.get_num_threads()}, best of {args.repeat}")  # fmt: skip
    print(f"convgrad {best['convgrad'] * 1e3:.0f} ms  torch {best['torch'] * 1e3:.0f} ms  "
          f"ratio {best['convgrad'] / best['torch']:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
