"""Regenerate the README's pictures with convgrad's own --export.

python docs/make_pictures.py          # writes docs/*.svg
python docs/make_pictures.py OUTDIR   # somewhere else (the staleness test does this)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# picture → the command that draws it (run from the repository's root, 80 columns, light theme)
PICTURES = {
    "trace_a.svg": ["trace", "--input", "a"],
    "trace_f.svg": ["trace", "--input", "f"],
    "trace_b_stride2.svg": ["trace", "configs/stride2.yaml", "--input", "b"],
    "backward_stride2.svg": ["backward", "configs/stride2.yaml", "--delta", "names"],
    "backward_uneven.svg": ["backward", "configs/uneven.yaml"],
    "forward_seed.svg": ["forward"],
    "trace_f_steps.svg": ["trace", "--input", "f", "--steps"],  # animated: one window at a time
}


def make(outdir: Path) -> list[Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "COLUMNS": "80", "LINES": "50", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    written = []
    for name, args in PICTURES.items():
        target = outdir / name
        subprocess.run(
            [sys.executable, "-m", "convgrad_cli", *args, "--export", str(target), "--force"],
            cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        written.append(target)
    return written


if __name__ == "__main__":
    for path in make(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs"):
        print(path)
