"""`convgrad explore`: a Textual app over :class:`~convgrad_cli.core.explore.State`.

Each key makes a new state; the panels are the terminal's own grids
(:mod:`convgrad_cli.render.grid`) of that state's view. Textual is imported here
only, so that the other commands start as fast as before.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from rich.columns import Columns
from rich.console import Console, Group, RenderableType
from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container, VerticalScroll
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Footer, Input, Static

from convgrad_cli.core.explore import State
from convgrad_cli.core.panels import Panel
from convgrad_cli.render import cells
from convgrad_cli.render.grid import Grid
from convgrad_cli.render.style import window_style

MIN_SIZE = (80, 24)
SLOTS = ("input", "delta", "kernel", "input_grad", "overlay")  # the panels, left to right
CURSOR_SLOT = {"input": "input", "output": "delta", "kernel": "kernel"}

HELP = """\
Colour is the window: the δ entries, kernel taps and terms of one window share
its colour. [a] is the cell under the cursor; a·w1 a cell of a window with the
weight it meets; w1·δ1 a term of the result; underlined: under the flipped kernel.

Keys: arrows (or the mouse) move · tab: x → y/δ → W · c/C its channel ·
, . the other panels' channel · n the sample · PgUp/PgDn depth (3-D)
s/S stride · p/P padding · d/D dilation · k/K kernel · +/− input size ·
i/I input channels · o/O output channels · g groups · v names ↔ numbers
space / backspace: one window of the backward pass on / back · enter: play ·
home/end: none / all · z quiz · e export SVG · y copy the trace command · q quit"""


class PanelView(Static):
    """One panel; a click moves the cursor to the cell under the mouse."""

    def __init__(self, slot: str) -> None:
        super().__init__(id=slot, classes="panel")
        self.slot = slot
        self.panel: Panel | None = None
        self.columns = 0
        self.drawn_size = (0, 0)

    def show(self, panel: Panel | None, focused: bool) -> None:
        self.panel = panel
        self.display = panel is not None
        self.set_class(focused, "focused")
        if panel is not None:
            text, self.columns = drawn(panel)
            # a fixed size: Textual need not measure the grid to lay it out (nor again, unchanged)
            size = (self.columns + 4, len(text.split()) + 2)
            if size != self.drawn_size:
                self.styles.width, self.styles.height = size
                self.drawn_size = size
            self.update(Content.from_rich_text(text), layout=False)  # Textual's own text: no Rich rendering

    def on_click(self, event: events.Click) -> None:
        if self.panel is None:
            return
        inside = event.get_content_offset(self)  # within the border and padding
        cell = None if inside is None else cell_at(self.panel, inside.x, inside.y)
        if cell is not None:
            self.app.post_message(CellClicked(self.slot, self.panel, cell))  # type: ignore[arg-type]


def drawn(panel: Panel) -> tuple[Text, int]:
    """A panel's grid as styled text, and its width."""
    grid = Grid(panel)
    title = [Text(panel.title, "bold")] if panel.title else []
    return Text("\n").join(title + grid.lines), max(grid.width, len(panel.title))


class Scrubber(Static):
    """The backward pass's progress; a click jumps to that many windows."""

    BAR = 40

    def on_click(self, event: events.Click) -> None:
        app = self.app
        assert isinstance(app, ExploreApp)
        inside = event.get_content_offset(self)
        if inside is not None and 1 <= inside.x <= self.BAR:
            app.apply(app.state.at_step(round(app.state.window_count * inside.x / self.BAR)))


class CellClicked(events.Message):
    def __init__(self, slot: str, panel: Panel, cell: tuple[int, int]) -> None:
        super().__init__()
        self.slot, self.panel, self.cell = slot, panel, cell


def cell_at(panel: Panel, x: int, y: int) -> tuple[int, int] | None:
    """The panel's cell drawn at column ``x``, line ``y`` of its grid (title included)."""
    lines = Console(width=400, color_system=None, file=io.StringIO()).render_lines(Grid(panel), pad=False)
    text = ["".join(s.text for s in line) for line in lines]
    if not 0 <= y < len(text) or not text[y].startswith("│"):
        return None
    row = sum(1 for line in text[:y] if line.startswith(("├", "┌"))) - 1
    bars = [i for i, ch in enumerate(text[y]) if ch == "│"]
    col = next((i for i, (a, b) in enumerate(zip(bars, bars[1:])) if a < x < b), None)
    rows, cols = cells.shown(panel)
    if col is None or not 0 <= row < len(rows) or rows[row] is None or cols[col] is None:
        return None
    r, c = rows[row], cols[col]
    assert r is not None and c is not None
    return r, c


class ExploreApp(App[None]):
    """The panels of one state, the expression, the backward pass's step, the keys."""

    TITLE = "convgrad explore"
    CSS = """
    Screen { layout: vertical; }
    #status { height: 1; background: $boost; }
    #body { height: 1fr; }
    #panels { layout: grid; grid-size: 80; grid-columns: 1; grid-rows: auto; height: auto; }
    .panel { width: auto; height: auto; border: round $panel; padding: 0 1; }
    .panel.focused { border: round $accent; }
    #expression { height: auto; padding: 0 1; text-style: bold; }
    #step { height: auto; padding: 0 1; }
    #scrubber { height: 1; padding: 0 1; }
    #help { display: none; height: auto; padding: 0 1; border: round $accent; }
    #answer { display: none; }
    #small { display: none; height: 1fr; content-align: center middle; }
    """
    BINDINGS = [
        Binding("left", "move(0, -1)", "move", show=False),
        Binding("right", "move(0, 1)", "move", show=False),
        Binding("up", "move(-1, 0)", "move", show=False),
        Binding("down", "move(1, 0)", "move", show=False),
        Binding("pageup", "depth(-1)", "depth", show=False),
        Binding("pagedown", "depth(1)", "depth", show=False),
        Binding("tab", "tab(1)", "x/y/W", priority=True),
        Binding("shift+tab", "tab(-1)", "back", show=False, priority=True),
        Binding("c", "channel(1)", "channel", show=False),
        Binding("C", "channel(-1)", "channel", show=False),
        Binding("full_stop", "other(1)", "other", show=False),
        Binding("comma", "other(-1)", "other", show=False),
        Binding("n", "sample(1)", "sample", show=False),
        Binding("s", "turn('stride', 1)", "stride", show=False),
        Binding("S", "turn('stride', -1)", "stride", show=False),
        Binding("p", "turn('padding', 1)", "pad", show=False),
        Binding("P", "turn('padding', -1)", "pad", show=False),
        Binding("d", "turn('dilation', 1)", "dil", show=False),
        Binding("D", "turn('dilation', -1)", "dil", show=False),
        Binding("k", "turn('kernel', 1)", "kernel", show=False),
        Binding("K", "turn('kernel', -1)", "kernel", show=False),
        Binding("plus,equals_sign", "turn('size', 1)", "size", show=False),
        Binding("minus", "turn('size', -1)", "size", show=False),
        Binding("i", "turn('in_channels', 1)", "in ch", show=False),
        Binding("I", "turn('in_channels', -1)", "in ch", show=False),
        Binding("o", "turn('out_channels', 1)", "out ch", show=False),
        Binding("O", "turn('out_channels', -1)", "out ch", show=False),
        Binding("g", "turn('groups', 1)", "groups", show=False),
        Binding("v", "names", "names", show=False),
        Binding("space", "step(1)", "step"),
        Binding("backspace", "step(-1)", "back", show=False),
        Binding("enter", "play", "play"),
        Binding("home", "jump(0)", "none", show=False),
        Binding("end", "jump(-1)", "all", show=False),
        Binding("z", "quiz", "quiz"),
        Binding("e", "export", "svg", show=False),
        Binding("y", "copy", "copy", show=False),
        Binding("question_mark", "help", "help"),
        Binding("q", "quit", "quit"),
    ]

    def __init__(self, state: State, folder: Path | None = None,
                 save: Callable[[Path, str], None] | None = None) -> None:  # fmt: skip
        super().__init__()
        self.state = state
        self.folder = folder or Path.cwd()
        self.save = save or (
            lambda path, text: path.write_text(text, encoding="utf-8")
        )  # the CLI writes whole
        self.playing: Timer | None = None  # while it plays

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield Static(id="small")
        yield Static(id="expression")
        yield Input(
            placeholder="the terms, e.g. w2·δ1 + w1·δ2 (or w2*d1 + w1*d2); enter to check", id="answer"
        )
        yield Static(id="step")
        yield Scrubber(id="scrubber")
        with VerticalScroll(id="body", can_focus=False):  # the arrows are the cursor's, not the scroll's
            yield Static(HELP, id="help")
            with Container(id="panels"):
                for slot in SLOTS:
                    yield PanelView(slot)
        yield Footer()

    def on_mount(self) -> None:
        self.redraw()
        self.set_focus(None)  # the keys are the app's until the quiz asks for an answer

    def on_resize(self, event: events.Resize) -> None:
        small = event.size.width < MIN_SIZE[0] or event.size.height < MIN_SIZE[1]
        self.query_one("#small", Static).update(
            f"this terminal is {event.size.width}×{event.size.height}; explore needs {MIN_SIZE[0]}×{MIN_SIZE[1]}"
        )
        self.query_one("#small").display = small
        for part in ("#body", "#expression", "#step", "#scrubber"):
            self.query_one(part).display = not small
        self.lay_out(event.size.width)

    def lay_out(self, width: int) -> None:
        """The panels flow as words do: a grid of one-cell columns as wide as the
        terminal, each panel spanning its own width, the next one wrapping to a
        new row when it does not fit."""
        columns = max(1, width - 2)
        panels = self.query_one("#panels")
        if panels.styles.grid_size_columns != columns:
            panels.styles.grid_size_columns = columns
        shown = [v for v in self.query(PanelView) if v.panel is not None]
        spans = [min(columns, v.columns + 5) for v in shown]  # border, padding and a column of gap
        used = 0
        for i, span in enumerate(spans):
            if used and used + span > columns:  # the row's last panel takes the rest: the next one wraps
                spans[i - 1] += columns - used
                used = 0
            used += span
        for view, span in zip(shown, spans):
            if view.styles.column_span != span:
                view.styles.column_span = span

    # -- drawing ----------------------------------------------------------------------------------

    def redraw(self) -> None:
        s = self.state
        view = s.view
        g = s.problem.geom
        status = Text.assemble(("convgrad explore ", "bold"), g.describe(), ("  " + s.message, "italic"))
        self.query_one("#status", Static).update(status)
        for slot in SLOTS:
            self.query_one(f"#{slot}", PanelView).show(getattr(view, slot), CURSOR_SLOT[s.focus] == slot)
        self.query_one("#expression", Static).update(Text(view.expression))
        step = Text(view.step)
        if view.windows and not s.step:
            step = Text("windows: ")
            for i, name in enumerate(view.windows[:14]):
                step.append(("  " if i else "") + name, window_style(i))
            step.append("   (space steps through the backward pass)", "dim")
        self.query_one("#step", Static).update(step)
        self.query_one("#scrubber", Static).update(self.scrubber())
        answer = self.query_one("#answer", Input)
        answer.display = answer.can_focus = s.quiz
        self.lay_out(self.size.width)

    def scrubber(self) -> Text:
        count, step = self.state.window_count, self.state.step
        width = Scrubber.BAR
        filled = round(width * step / count) if count else 0
        return Text.assemble(("▕" + "█" * filled + "░" * (width - filled) + "▏", "cyan"), f" {step}/{count}")

    def picture(self) -> RenderableType:
        """The current view as one renderable (for the SVG export)."""
        view = self.state.view
        grids = [Grid(p) for p in (view.input, view.delta, view.kernel, view.input_grad) if p is not None]
        parts: list[RenderableType] = [Columns(grids, padding=(0, 2))]
        if view.overlay is not None:
            parts.append(Grid(view.overlay))
        parts += [Text(view.expression, "bold"), Text(view.step)]
        return Group(*parts)

    def apply(self, state: State) -> None:
        self.state = state
        self.redraw()

    # -- actions ----------------------------------------------------------------------------------

    def action_move(self, rows: int, cols: int) -> None:
        self.apply(self.state.move(rows, cols))

    def action_depth(self, by: int) -> None:
        self.apply(self.state.depth(by))

    def action_tab(self, by: int) -> None:
        if self.state.quiz:
            return
        self.apply(self.state.tab(by))

    def action_channel(self, by: int) -> None:
        self.apply(self.state.channel(by))

    def action_other(self, by: int) -> None:
        self.apply(self.state.other_channel(by))

    def action_sample(self, by: int) -> None:
        self.apply(self.state.sample(by))

    def action_turn(self, knob: str, by: int) -> None:
        self.apply(self.state.turn(knob, by))

    def action_names(self) -> None:
        self.apply(self.state.names())

    def action_step(self, by: int) -> None:
        self.apply(self.state.stepped(by))

    def action_jump(self, where: int) -> None:
        self.apply(self.state.at_step(self.state.window_count if where < 0 else where))

    def action_play(self) -> None:
        if self.playing is not None:
            self.playing.stop()
            self.playing = None
            return
        if self.state.step >= self.state.window_count:
            self.apply(self.state.at_step(0))
        self.playing = self.set_interval(0.7, self.advance)

    def advance(self) -> None:
        if self.state.step >= self.state.window_count and self.playing is not None:
            self.playing.stop()
            self.playing = None
            return
        self.apply(self.state.stepped(1))

    def action_quiz(self) -> None:
        from dataclasses import replace

        quiz = not self.state.quiz and self.state.focus == "input"
        message = "quiz: type the terms of the cell's gradient" if quiz else ""
        self.apply(replace(self.state, quiz=quiz, message=message))
        if quiz:
            self.query_one("#answer", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        from dataclasses import replace

        if not self.state.quiz:
            return
        grade = self.state.grade(event.value)
        if grade.correct:
            message = f"✓ right: all {len(grade.right)} terms — {self.state.trace.lhs} = {self.state.trace.expression}"
        else:
            message = (f"right: {', '.join(grade.right) or '—'} · missing: {len(grade.missing)} · "
                       f"extra: {', '.join(grade.extra) or '—'}")  # fmt: skip
        self.apply(replace(self.state, message=message, quiz=not grade.correct))
        event.input.value = ""
        if grade.correct:
            self.set_focus(None)

    def action_export(self) -> None:
        from dataclasses import replace

        from convgrad_cli.render.export import svg

        name = self.state.trace.name
        stem = "explore-" + "".join(ch if ch.isalnum() else "_" for ch in name)
        path = self.folder / f"{stem}.svg"
        i = 1
        while path.exists():
            path, i = self.folder / f"{stem}-{i}.svg", i + 1
        self.save(path, svg(self.picture(), 120))
        self.apply(replace(self.state, message=f"wrote {path}"))

    def action_copy(self) -> None:
        from dataclasses import replace

        from convgrad_cli.core.rules import transposed_convolution

        t = transposed_convolution(self.state.problem.geom)
        call = (f"{t.function}(delta, w, stride={list(t.stride)}, padding={list(t.padding)}, "
                f"output_padding={list(t.output_padding)}, dilation={list(t.dilation)}, groups={t.groups})")  # fmt: skip
        command = self.state.command()
        self.copy_to_clipboard(command + "\n" + call + "\n")
        self.apply(replace(self.state, message=f"copied: {command}"))

    def action_help(self) -> None:
        help_ = self.query_one("#help")
        help_.display = not help_.display

    def on_cell_clicked(self, message: CellClicked) -> None:
        from dataclasses import replace

        focus = {"input": "input", "delta": "output", "kernel": "kernel"}.get(message.slot)
        if focus is None:
            return
        index = message.panel.index(message.cell)
        g = self.state.problem.geom
        shape = {"input": g.input_shape, "output": g.output_shape, "kernel": g.kernel_shape}[focus]
        if not all(0 <= i < n for i, n in zip(index, shape)):
            return  # padding
        state = self.state if focus == self.state.focus else replace(self.state, focus=focus)
        self.apply(
            replace(state, index=tuple(index), other=state._other_for(focus, tuple(index)), message="")
        )
