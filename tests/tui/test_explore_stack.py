"""`convgrad explore STACK` in Textual's harness: the arrows move over the top
output and its paths light level by level; space steps down the backward pass."""

import asyncio
import io

import numpy as np
import pytest

pytest.importorskip("textual")

from rich.console import Console  # noqa: E402

from convgrad_cli.config import load_any  # noqa: E402
from convgrad_cli.core.explore.stack_state import StackState  # noqa: E402
from convgrad_cli.tui.stack import StackApp  # noqa: E402
from tests.render.test_stack_page import LENET, lenet_paths  # noqa: E402


def text_of(app, selector):
    console = Console(width=400, color_system=None, record=True, file=io.StringIO())
    console.print(app.query_one(selector).content, markup=False)
    return console.export_text()


def explore(keys, check):
    async def go():
        app = StackApp(StackState.start(load_any(LENET)))
        async with app.run_test(size=(160, 50)) as pilot:
            for key in keys:
                await pilot.press(key)
            await pilot.pause(1.5)  # every level lit
            return check(app)

    return asyncio.run(go())


def test_moving_over_the_top_output_lights_its_field_and_path_counts():
    def check(app):
        return app.state.top, text_of(app, "#reach")

    top, shown = explore(["right", "down"], check)
    assert top == (0, 0, 1, 1)
    paths = lenet_paths(top)  # counted edge by edge from the config
    rows, cols = np.nonzero(paths)
    assert (
        f"receptive field on the input: rows [{rows.min()}, {rows.max() + 1}) × columns [{cols.min()}, {cols.max() + 1})"
        in shown
    )
    grid = [
        line for line in shown.split("from each cell of x, the input")[1].splitlines() if line.startswith("│")
    ]
    numbers = [
        [int(v.strip(" []")) for v in line.strip("│").split("│")] for line in grid[:8]
    ]  # the gradient follows
    assert np.array_equal(np.array(numbers), paths)


def test_the_levels_light_one_after_another_from_the_top():
    state = StackState.start(load_any(LENET)).move(0, 1)
    sections = []
    while state.lit is not None:
        sections.append(sum(1 for b in state.reach() if type(b).__name__ == "Panels"))
        state = state.lighter()
    assert sections == [1, 2, 3, 4, 5]
    assert sum(1 for b in state.reach() if type(b).__name__ == "Panels") == 6  # and the gradient


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_space_steps_down_the_backward_pass_one_layer_at_a_time():
    def check(app):
        return app.state.step, text_of(app, "#backward")

    step, shown = explore(["space", "space"], check)
    assert step == 2
    assert "step 2 of 4: layer 3 · maxpool k2 s2" in shown
    assert "δ⁽⁴⁾ = ∂L/∂y⁽⁴⁾, the δ arriving at layer 4" in shown and "x⁽³⁾, each window's winner" in shown
    assert "layer 2 · relu" not in shown
    step, shown = explore(["space", "space", "backspace"], check)
    assert step == 1 and "x⁽³⁾, each window's winner" not in shown
