"""Regenerate the README's pictures with convgrad's own --export.

python docs/make_pictures.py            # writes docs/*.svg
python docs/make_pictures.py OUTDIR     # somewhere else (the staleness test does this)
python docs/make_pictures.py --screens  # also the screenshots of explore: the terminal app
                                        # (Textual's own SVG) and the page (headless Chromium)
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
    "trace_textbook.svg": [
        "trace",
        "--x",
        "arange:5x5",
        "-k",
        "arange:3x3",
        "--padding",
        "1",
        "--input",
        "1,1",
    ],
    "trace_multichannel.svg": [
        "trace",
        "configs/multichannel_batch.yaml",
        "--input",
        "1,2,3,3",
        "--slice",
        "o=0",
    ],
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


def screens(outdir: Path) -> list[Path]:
    """explore in the terminal after → (b, its two windows lit), and the page with b hovered."""
    import asyncio
    import shutil
    import tempfile

    from convgrad_cli.config import load
    from convgrad_cli.core.explore import State
    from convgrad_cli.tui.app import ExploreApp

    async def terminal() -> None:
        app = ExploreApp(State.start(load(None)))
        async with app.run_test(size=(100, 34)) as pilot:
            await pilot.press("right")
            await pilot.pause()
            app.save_screenshot(str(outdir / "explore.svg"))
        shot = outdir / "explore.svg"  # kept spaces, so that librsvg draws it as a browser does
        shot.write_text(shot.read_text().replace("<svg ", '<svg xml:space="preserve" ', 1))

    asyncio.run(terminal())
    written = [outdir / "explore.svg"]
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is not None:
        from playwright.sync_api import sync_playwright

        with tempfile.TemporaryDirectory() as tmp:
            page_path = Path(tmp) / "page.html"
            subprocess.run([sys.executable, "-m", "convgrad_cli", "explore", "--export", str(page_path)], check=True,
                           cwd=ROOT, stderr=subprocess.DEVNULL)  # fmt: skip
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1000, "height": 720})
                page.goto(page_path.as_uri())
                page.hover('[data-cell="b"]')
                page.screenshot(path=str(outdir / "explore_page.png"))
                browser.close()
        written.append(outdir / "explore_page.png")
    return written


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--screens"]
    out = Path(args[0]) if args else ROOT / "docs"
    for path in make(out) + (screens(out) if "--screens" in sys.argv else []):
        print(path)
