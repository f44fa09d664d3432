"""`convgrad explore` in Textual's own harness: each key changes the state as the
slides would, and the panels and the expression say so."""

import asyncio
import io
from pathlib import Path

import pytest

pytest.importorskip("textual")

from rich.console import Console  # noqa: E402
from textual.geometry import Region  # noqa: E402

from convgrad_cli.config import load  # noqa: E402
from convgrad_cli.core.explore import State, view_of  # noqa: E402
from convgrad_cli.tui.app import ExploreApp  # noqa: E402
from convgrad_cli.tui.keys import HELP  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def text_of(app: ExploreApp, selector: str) -> str:
    """What a widget shows, as plain text."""
    widget = app.query_one(selector)
    console = Console(width=200, color_system=None, record=True, file=io.StringIO())
    console.print(widget.content, markup=False)
    return console.export_text()


def explore(keys, config=None, size=(100, 40), folder=None, check=None):
    """Run the app on ``config`` (the seed's example), press ``keys``, then ``check(app)``."""

    async def go():
        app = ExploreApp(State.start(load(config)), folder)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()  # the first frame drawn: no one types before it
            for key in keys:
                if callable(key):
                    await key(pilot)
                else:
                    await pilot.press(key)
            await pilot.pause()
            return check(app)

    return asyncio.run(go())


def expression(app: ExploreApp) -> str:
    return text_of(app, "#expression").strip()


def test_the_cursor_starts_on_a_and_moving_right_finds_b():
    assert explore([], check=expression) == "∂L/∂a = w1·δ1 = 1"

    def check(app):
        view = view_of(app.state)
        # b's windows are y1 and y2: δ1 meets it with w2, δ2 with w1, each in its window's colour
        deltas = {(r, c): (m.window, m.factor) for (r, c), m in view.delta.marks.items()}
        assert deltas == {(0, 0): (0, "w2"), (0, 1): (1, "w1")}
        taps = {(r, c): (m.window, m.factor) for (r, c), m in view.kernel.marks.items()}
        assert taps == {(0, 1): (0, "δ1"), (0, 0): (1, "δ2")}
        roles = {cell: m.role for cell, m in view.input.marks.items()}
        assert roles[(0, 1)] == "cell" and {c for c, r in roles.items() if r == "window"} == {
            (0, 0),
            (0, 2),
            (1, 0),
            (1, 1),
            (1, 2),
        }
        assert "[b]" in text_of(app, "#input") and "w2·δ1" in text_of(app, "#delta")
        return expression(app)

    assert explore(["right"], check=check) == "∂L/∂b = w2·δ1 + w1·δ2 = 3"
    # down from b is f, in four windows (the arrows move the cursor, never the scroll)
    assert explore(["right", "down"], check=expression) == "∂L/∂f = w4·δ1 + w3·δ2 + w2·δ4 + w1·δ5 = 10"


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_stride_and_padding_keys_recompute_everything():
    # the slides' second example: at stride 2, b sits in one window only
    assert explore(["right", "s"], check=expression) == "∂L/∂b = w2·δ1 = 2"
    assert explore(["right", "s"], check=lambda app: app.state.problem.geom.stride) == (2, 2)
    # padding 1: a is at (1, 1) of the 6×6 padded input, in the windows of δ1, δ2, δ6, δ7 of the 5×5 δ
    assert explore(["p"], check=expression) == "∂L/∂a = w4·δ1 + w3·δ2 + w2·δ6 + w1·δ7 = 10"
    assert explore(["S"], check=lambda app: app.state.problem.geom.stride) == (1, 1)  # not below 1
    # a layer that cannot be built keeps the old one and says why
    message = explore(["K", "k", "k", "k", "k"], check=lambda app: app.state.message)
    assert "kernel +1:" in message and "padded input has only 4" in message


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_playing_the_backward_pass_adds_each_windows_terms():
    def after(app):
        grad = view_of(app.state).input_grad
        return expression(app), grad.values[:2, :2].tolist(), grad.values[2:, :].sum()

    # step 1: the window of y1 adds w1·δ1 … w4·δ1 = 1, 2, 3, 4 to a, b, e, f, nothing else yet
    assert explore(["right", "space"], check=after) == (
        "∂L/∂b so far = w2·δ1 = 2  (of w2·δ1 + w1·δ2)",
        [[1.0, 2.0], [3.0, 4.0]],
        0.0,
    )
    expr, top, rest = explore(["right", "space", "space"], check=after)
    assert expr == "∂L/∂b so far = w2·δ1 + w1·δ2 = 3  (of w2·δ1 + w1·δ2)"
    assert top == [[1.0, 3.0], [3.0, 4.0 + 3.0]]  # y2's window adds w1, w2, w3, w4 to b, c, f, g
    done = explore(["right", "end"], check=lambda app: view_of(app.state).input_grad.values.tolist())
    assert done == [[1, 3, 3, 2], [4, 10, 10, 6], [4, 10, 10, 6], [3, 7, 7, 4]]
    assert explore(["end", "backspace", "home"], check=lambda app: app.state.step) == 0


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_a_step_keeps_the_cursors_mark_and_marks_its_window_apart(textbook):
    # the slides' example, g followed: y1's window adds w1…w4 (·δ1 = 1) to a, b, e, f; y2's to b, c, f, g
    def seen(app):
        v = view_of(app.state)
        texts = {part: text_of(app, part) for part in ("#input", "#delta", "#input_grad", "#step")}
        return v, texts

    v, texts = explore(ON_G + ["space", "space"], size=(80, 24), check=seen)
    assert v.expression == "∂L/∂g so far = w4·δ2 = 4  (of w4·δ2 + w3·δ3 + w2·δ5 + w1·δ6)"
    assert v.input.marks[(1, 2)].role == "cell" and "[g]·w4" in texts["#input"]  # in y2's window, with w4
    assert texts["#input"].count("[") == 1
    assert v.delta.marks[(0, 1)].current and v.delta.marks[(0, 1)].role != "cell"
    assert "▸δ2" in texts["#delta"] and "[" not in texts["#delta"]  # the window's mark is not the cursor's
    assert v.input_grad.values[:2].tolist() == [[1, 3, 2, 0], [3, 7, 4, 0]]
    for term, cell in zip(("w1·δ2", "w2·δ2", "w3·δ2", "w4·δ2"), ((0, 1), (0, 2), (1, 1), (1, 2))):
        assert v.input_grad.marks[cell].added == term and f"+{term}" in texts["#input_grad"]
    assert "·+" not in texts["#input_grad"] and "[4]" in texts["#input_grad"]  # g's sum so far, followed
    step, legend = texts["#step"].splitlines()[:2]  # a line each at 80 columns
    assert step.strip() == "step 2 of 9: the window of y2 adds w4·δ2 to ∂L/∂g, w1·δ2 to ∂L/∂b, … 2 more"
    assert legend.strip() == "legend: ▸δ2 this step's window · +w4·δ2 the term it adds · (w3·δ3) to come"
    assert "[a] the cell under the cursor" in HELP
    assert "▸δ2 this step's window" in HELP and "+w1·δ2 the term it adds to ∂L/∂x" in HELP

    # the cursor on δ1 as y1's window is added: both marks, on one cell
    assert "▸[δ1]" in explore(["tab", "space"], check=lambda app: text_of(app, "#delta"))
    # a line each, the step's and the legend's: at 80×24 a 5×5 x with padding 1 stays whole in view
    assert explore(["space"], textbook, size=(80, 24), check=in_view) == ["input"]


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_a_step_keeps_the_padded_delta_lit_as_far_as_the_pass_has_come(textbook):
    # g's taps of the flipped kernel on the 5×5 padded δ: w4 on δ2 at (1, 2), w3 on δ3, w2 on δ5, w1 on δ6
    taps = {(1, 2): "w4", (1, 3): "w3", (2, 2): "w2", (2, 3): "w1"}

    def lit(app):
        marks = view_of(app.state).overlay.marks
        assert {cell: m.factor for cell, m in marks.items()} == taps
        return {cell: m.role for cell, m in marks.items()}, text_of(app, "#step") + text_of(app, "#overlay")

    roles, said = explore(ON_G + ["space", "space"], check=lit)  # y1's window and y2's: δ2's term alone
    assert roles == {(1, 2): "contributor", (1, 3): "pending", (2, 2): "pending", (2, 3): "pending"}
    assert "(w3·δ3) to come" in said  # faint too, where styles are drawn
    assert "w4·δ2" in said and all(f"({term})" in said for term in ("w3·δ3", "w2·δ5", "w1·δ6"))
    assert "(w4·δ2)" not in said
    roles, _ = explore(ON_G + ["end"], check=lit)
    assert set(roles.values()) == {"contributor"}

    # at 80×24 the line under the panels names it with the others a row down, x whole above them
    shown = explore(["space"], textbook, size=(80, 24), check=lambda app: (hidden(app), in_view(app)))
    assert shown == ("↓ below: δ, W, ∂L/∂x so far, padded δ  ] scrolls down", ["input"])


def test_the_quiz_says_what_is_right_missing_and_extra():
    async def answer(text):
        async def typed(pilot):
            for ch in text:
                await pilot.press(ch if ch != " " else "space")
            await pilot.press("enter")

        return typed

    def message(app):
        return app.state.message

    typed = asyncio.run(answer("w2*d1 + w3*d4"))
    got = explore(["right", "z", typed], check=lambda app: text_of(app, "#step").strip())
    assert got == "right: w2·δ1 · missing: 1 · extra: w3·δ4"
    assert explore(["right", "z"], check=expression) == "∂L/∂b = ?  (type its terms, e.g. w2·δ1 + w1·δ2)"
    typed = asyncio.run(answer("w1 d2 + w2*d1"))
    right = explore(["right", "z", typed], check=lambda app: (message(app), expression(app)))
    assert right == ("✓ right: all 2 terms", "∂L/∂b = w2·δ1 + w1·δ2 = 3")
    # esc leaves the quiz: the keys are the app's again (right moves to c), the answer is shown
    typed = asyncio.run(answer("w2"))
    state = explore(["right", "z", typed, "escape", "right"], check=lambda app: (app.state.quiz, app.focused))
    assert state == (False, None)
    assert (
        explore(["right", "z", "escape", "right"], check=expression) == "∂L/∂c = w2·δ2 + w1·δ3 = 3"
    )  # w2 + w1, δ all ones
    # esc is still Textual's own elsewhere: it closes the command palette
    assert explore(["ctrl+p", "escape"], check=lambda app: len(app.screen_stack)) == 1


def typed(text):
    """A pilot's step: ``text`` typed into the quiz's answer, then enter."""

    async def typing(pilot):
        for ch in text:
            await pilot.press(ch if ch != " " else "space")
        await pilot.press("enter")

    return typing


#: The slides' ∂L/∂g (4×4 x, 2×2 W): g = x[1, 2] is read by the windows of δ2, δ3, δ5 and δ6,
#: at the taps of W that the flipped kernel puts over them; the rest of the slides' example.
G_TERMS = ("w4·δ2", "w3·δ3", "w2·δ5", "w1·δ6")
ON_G = ["right", "right", "down"]
SHOWN = ("#input", "#delta", "#kernel", "#input_grad", "#overlay", "#expression", "#step")


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_the_quiz_hides_the_terms_until_it_is_answered():
    def asked(app):
        texts = {part: text_of(app, part) for part in SHOWN if app.query_one(part).display}
        marked = {slot: getattr(view_of(app.state), slot).marks for slot in ("input", "delta", "kernel")}
        return texts, marked

    texts, marked = explore(ON_G + ["z"], size=(80, 24), check=asked)
    assert set(texts) == set(SHOWN)  # the padded δ too, without the flipped kernel on it
    assert expression_of(texts) == "∂L/∂g = ?  (type its terms, e.g. w2·δ1 + w1·δ2)"
    for part in ("#input", "#delta", "#kernel", "#input_grad", "#overlay"):
        assert "·" not in texts[part], part  # no term, no factor a cell meets
    assert not any(term in text for term in G_TERMS for text in texts.values())
    assert not any(f"y{i}" in texts["#step"] for i in (2, 3, 5, 6))  # the windows' colours say which δ
    assert marked == {"input": {(1, 2): marked["input"][(1, 2)]}, "delta": {}, "kernel": {}}
    assert "[g]" in texts["#input"]

    # nor does a step give them: its window's marks, its +w4·δ2 under g, the padded δ's lit taps
    texts, _ = explore(ON_G + ["space", "space", "z"], size=(80, 24), check=asked)
    assert not any(term in text for term in G_TERMS for text in texts.values())
    assert all("·" not in texts[part] for part in ("#input", "#delta", "#kernel", "#input_grad", "#overlay"))

    # a wrong answer keeps them hidden and says, on its own line, which terms are right
    texts, _ = explore(ON_G + ["z", typed("w4*d2 + w3*d4")], size=(80, 24), check=asked)
    assert texts["#step"].strip() == "right: w4·δ2 · missing: 3 · extra: w3·δ4"
    assert not any(term in texts["#delta"] + texts["#kernel"] for term in G_TERMS)

    # esc, or the right answer, shows them again
    for keys in (["escape"], [typed("w1 d6 + w2 d5 + w3 d3 + w4 d2")]):
        texts, _ = explore(ON_G + ["z", *keys], size=(80, 24), check=asked)
        assert all(term in texts["#delta"] and term in texts["#kernel"] for term in G_TERMS), keys
        assert expression_of(texts) == "∂L/∂g = w4·δ2 + w3·δ3 + w2·δ5 + w1·δ6 = 10"  # 4 + 3 + 2 + 1


def expression_of(texts):
    return texts["#expression"].strip()


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_the_quizs_feedback_keeps_to_its_line_at_80_columns():
    def lines(app):  # the top line's height, the feedback's, and what it says
        return app.query_one("#status").size.height, app.query_one("#step").size.height, text_of(app, "#step")

    # every weight times δ1, δ2 and δ3: two of g's terms (w4·δ2, w3·δ3), ten that are not
    wrong = " + ".join(f"w{i}*d{j}" for i in range(1, 5) for j in (1, 2, 3))
    status, height, said = explore(ON_G + ["z", typed(wrong)], size=(80, 24), check=lines)
    assert (status, height) == (1, 1) and len(said.strip()) <= 78
    assert said.strip().startswith("right: 2 of 4 · missing: 2 · extra: 10 (w1·δ1, ")
    assert said.strip().endswith(" more)")


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_tab_visits_the_output_and_the_kernel():
    assert explore(["tab"], check=expression) == "y1 = a·w1 + b·w2 + e·w3 + f·w4 = 44"
    assert explore(["tab", "tab"], check=expression) == (
        "∂L/∂w1 = a·δ1 + b·δ2 + c·δ3 + e·δ4 + f·δ5 + g·δ6 + i·δ7 + j·δ8 + k·δ9 = 54"
    )
    assert explore(["tab", "tab", "tab"], check=expression) == "∂L/∂a = w1·δ1 = 1"
    assert explore(["v"], check=expression) == "∂L/∂a = w1·δ1"  # names alone


def test_the_slice_follows_the_cursor_on_a_multichannel_layer():
    config = ROOT / "configs" / "multichannel_batch.yaml"

    def slices(app):
        v = view_of(app.state)
        return app.state.index[:2], v.input.lead[:2], v.delta.lead[:2], v.kernel.lead[:2]

    # c moves the cursor to input channel 1: x shows [n=0, c=1], W the taps of channel 1 of filter 0
    assert explore(["c"], config=config, check=slices) == ((0, 1), (0, 1), (0, 0), (0, 1))
    # . shows the next output channel's δ and W; n the next sample
    assert explore(["full_stop", "n"], config=config, check=slices) == ((1, 0), (1, 0), (1, 1), (1, 0))


def test_a_click_moves_the_cursor():
    async def click(pilot):
        # inside the border (1) and padding (1): the title, the top rule, then row 0, whose
        # columns are "│ [a] │  b │  c │  d │" — column 20 of the content is d's
        await pilot.click("#input", offset=(2 + 20, 1 + 2))

    assert explore([click], check=lambda app: app.state.trace.name) == "d"


def test_a_click_on_a_lower_row_or_on_a_number_moves_the_cursor_there(tmp_path):
    # no rule runs between the rows: a click anywhere in a column was read as on its top row
    config = tmp_path / "textbook.yaml"
    config.write_text(TEXTBOOK)

    def on(name, below=0):
        async def click(pilot):
            lines = text_of(pilot.app, "#input").splitlines()
            y = next(i for i, line in enumerate(lines) if name in line)
            await pilot.click("#input", offset=(2 + lines[y].index(name) + 1, 1 + y + below))

        return click

    assert explore([on("x₂₂")], config, check=lambda app: app.state.trace.name) == "x₂₂"
    assert explore([on("x₁₁", below=1)], config, check=lambda app: app.state.trace.name) == "x₁₁"  # its 7


def test_too_small_a_terminal_says_so():
    shown = explore(
        [], size=(60, 20), check=lambda app: (app.query_one("#small").display, text_of(app, "#small"))
    )
    assert shown[0] and "this terminal is 60×20; explore needs 80×24" in shown[1]
    assert explore([], size=(80, 24), check=lambda app: app.query_one("#small").display) is False


def test_export_and_copy_from_inside(tmp_path):
    def check(app):
        return app.state.message

    assert explore(["right", "e"], folder=tmp_path, check=check) == f"wrote {tmp_path / 'explore-b.svg'}"
    svg = (tmp_path / "explore-b.svg").read_text()
    assert svg.startswith("<svg") and "∂L/∂b" in svg.replace("&#160;", " ")
    message = explore(["right", "y"], check=check)
    assert message.startswith("copied: convgrad trace --input b ")


def test_a_click_on_the_scrubber_jumps_through_the_backward_pass():
    async def click(pilot):
        await pilot.click("#scrubber", offset=(1 + 20, 0))  # half-way along the 40-cell bar

    assert (
        explore([click], check=lambda app: app.state.step) == 4
    )  # of the seed's 9 windows (4.5 rounds to 4)


def test_help_explains_the_marks_as_written():
    # the help names the cell mark "[a]"; read as markup, the brackets and the a would vanish
    def check(app):
        assert app.query_one("#help").display
        return app.query_one("#help").render().plain  # what Textual draws, after any markup

    shown = explore(["question_mark"], check=check)
    assert "[a] the cell under the cursor" in shown
    assert "arrows/click  move the cursor" in shown


def test_the_windows_legend_is_the_one_every_format_draws(tmp_path):
    """Four windows hold a = (0, 0) of a 5×5 input with a 3×3 kernel and padding 1 (outputs
    (0..1, 0..1)): a colour each. x₁₁ = (1, 1) is in nine (outputs (0..2, 0..2)): past the
    seven colours the legend says so, and how the names tell the windows apart."""
    config = tmp_path / "textbook.yaml"
    config.write_text(
        "input: {shape: [5, 5], fill: arange}\nkernel: {shape: [3, 3], fill: arange}\npadding: 1\n"
    )

    def legend(app):
        return view_of(app.state).legend, text_of(app, "#step")

    model, shown = explore([], config, check=legend)
    assert model.windows == ("y1", "y2", "y6", "y7") and "space steps through the backward pass" in shown
    model, shown = explore(["down", "right"], config, check=legend)
    assert model.windows == () and model.entries == (
        "9 windows, told apart by name: δ1 in a term is window y1's",
    )
    assert "repeated past 7 windows" in model.coloured[0]
    assert "legend: 9 windows, told apart by name: δ1 in a term is window y1's" in shown


TEXTBOOK = "input: {shape: [5, 5], fill: arange}\nkernel: {shape: [3, 3], fill: arange}\npadding: 1\n"


def in_view(app: ExploreApp) -> list[str]:
    """The panels drawn whole inside the scrolling part of the screen."""
    body = app.query_one("#body").region
    return [v.id for v in app.query(".panel") if v.display and body.contains_region(v.region)]


def hidden(app: ExploreApp) -> str | None:
    """The line that names the panels out of sight, None while it is hidden."""
    return text_of(app, "#hidden").strip() if app.query_one("#hidden").display else None


@pytest.fixture
def textbook(tmp_path):
    config = tmp_path / "textbook.yaml"
    config.write_text(TEXTBOOK)
    return config


def test_every_panel_of_a_5x5_layer_is_on_a_120x40_screen(textbook):
    # the second row (∂L/∂x, the padded δ under the flipped kernel) sat 144 lines down
    shown = explore([], textbook, size=(120, 40), check=lambda app: (in_view(app), hidden(app)))
    assert shown == (["input", "delta", "kernel", "input_grad", "overlay"], None)


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_at_80x24_the_brackets_bring_each_row_of_panels_and_a_line_names_the_rest(textbook):
    def seen(app):  # the panels drawn whole, the line, the panels drawn at all
        body = app.query_one("#body").region  # the screen's lines between the bar and the line
        on_screen = [v.id for v in app.query(".panel") if v.display and v.region.overlaps(body)]
        return in_view(app), hidden(app), on_screen

    whole, line, on_screen = explore([], textbook, size=(80, 24), check=seen)
    assert whole == ["input"] and on_screen == ["input"]
    assert line == "↓ below: δ, W, ∂L/∂x, padded δ  ] scrolls down"
    whole, line, _ = explore(["right_square_bracket"], textbook, size=(80, 24), check=seen)
    assert whole == ["delta", "kernel"]
    assert line == "↑ above: x · ↓ below: ∂L/∂x, padded δ  ] scrolls down, [ up"
    whole, line, _ = explore(["right_square_bracket"] * 2, textbook, size=(80, 24), check=seen)
    assert whole == ["input_grad"]
    whole, line, _ = explore(["right_square_bracket"] * 4, textbook, size=(80, 24), check=seen)
    assert whole == ["overlay"] and line == "↑ above: x, δ, W, ∂L/∂x  [ up"  # the last stop stays
    back = ["right_square_bracket"] * 3 + ["left_square_bracket"] * 3
    assert explore(back, textbook, size=(80, 24), check=in_view) == ["input"]
    # tab takes the cursor to δ, and δ comes into view; the cursor keeps its panel in view
    assert explore(["tab"], textbook, size=(80, 24), check=in_view) == ["delta", "kernel"]


def test_the_help_fits_80x24_a_line_as_written_and_names_the_scroll_keys(textbook):
    def drawn(app):
        box = app.query_one("#help")
        lines = box.render_lines(Region(0, 0, box.outer_size.width, box.outer_size.height))
        return [line.text.strip("│╭╮╰╯─").strip() for line in lines][1:-1], in_view_help(app)

    def in_view_help(app):
        return app.query_one("#body").region.contains_region(app.query_one("#help").region)

    lines, whole = explore(["right_square_bracket", "question_mark"], textbook, size=(80, 24), check=drawn)
    assert lines == [line.rstrip() for line in HELP.splitlines()]  # none wrapped, none cut
    assert whole  # opened at the top, in view, though the panels were scrolled
    assert "] [ shift+↓↑  scroll down / up" in HELP


def test_in_the_quiz_shift_and_the_arrows_scroll_for_the_answer_takes_brackets(textbook):
    def check(app):
        return app.query_one("#body").scroll_offset.y > 0, app.query_one("#answer").value, hidden(app)

    scrolled, answer, line = explore(
        ["z", "shift+down", "w", "left_square_bracket"], textbook, (80, 24), check=check
    )
    assert scrolled and answer == "w["  # w[0,0] names a weight
    assert line is not None and line.endswith("shift+↓ scrolls down, shift+↑ up")
    # the top line keeps to one line: the expression's says what to type
    assert explore(["z"], textbook, (80, 24), check=lambda app: app.query_one("#status").size.height) == 1


@pytest.mark.slow  # seconds on its own: the quick run leaves it to CI
def test_the_scroll_follows_the_cursor_down_a_panel_taller_than_the_screen(tmp_path):
    config = tmp_path / "twelve.yaml"
    config.write_text(TEXTBOOK.replace("[5, 5]", "[12, 12]"))

    def place(app):  # the cursor's row whole in view, and the scroll
        body = app.query_one("#body")
        first, end = app.cursor_row()
        top, height = body.scroll_offset.y, body.scrollable_content_region.height
        return top <= first and end <= top + height, top

    async def held(pilot):  # keys faster than the screen is drawn
        await pilot.press(*["down"] * 10)

    assert explore([held], config, (80, 24), check=place)[0]  # x₁₀,₀, 19 lines down x
    # scrolled to another panel, the cursor moves and the scroll stays: ∂L/∂x is watched
    away = explore(["right_square_bracket"] * 3, config, (80, 24), check=place)
    assert not away[0]
    assert explore(["right_square_bracket"] * 3 + ["down"], config, (80, 24), check=place) == away


def contrast(a, b) -> float:
    """WCAG's contrast ratio of two colours (1 to 21); 3 is its least for the parts of a
    user interface (success criterion 1.4.11)."""

    def luminance(c):
        def channel(v):
            v /= 255
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

        return 0.2126 * channel(c.red) + 0.7152 * channel(c.green) + 0.0722 * channel(c.blue)

    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def as_drawn(colour, system):
    """A Textual colour as a terminal of ``system`` shows it (tmux: 256 colours)."""
    from rich.color import Color as RichColor

    return RichColor.from_rgb(colour.r, colour.g, colour.b).downgrade(system).get_truecolor()


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
def test_every_panel_border_stands_out_on_a_dark_and_a_light_theme(theme):
    # δ's and W's borders were $panel: colour 17 on 233 in tmux, 1.0 : 1 — not there at all
    from rich.color import ColorSystem

    async def themed(pilot):
        pilot.app.theme = theme
        await pilot.pause()

    def ratios(app):
        found = {}
        for box in [*app.query(".panel"), app.query_one("#help")]:
            _, colour = box.styles.border_top
            behind = box.background_colors[0]
            for system in (ColorSystem.TRUECOLOR, ColorSystem.EIGHT_BIT):
                seen = contrast(as_drawn(behind + colour, system), as_drawn(behind, system))
                found[box.id] = min(found.get(box.id, 99), seen)
        return found

    found = explore([themed], size=(80, 24), check=ratios)
    assert set(found) == {"input", "delta", "kernel", "input_grad", "overlay", "help"}
    assert min(found.values()) >= 3, found
