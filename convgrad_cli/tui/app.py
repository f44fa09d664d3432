"""`convgrad explore`: a Textual app over :class:`~convgrad_cli.core.explore.State`.

Each key makes a new state; the panels are the terminal's own grids
(:mod:`convgrad_cli.render.grid`) of that state's view. Textual is imported here
only, so that the other commands start as fast as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from rich.console import Group, RenderableType
from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.containers import Container, VerticalScroll
from textual.timer import Timer
from textual.widgets import Footer, Input, Static

from convgrad_cli.core.explore import State, view_of
from convgrad_cli.render.terminal import LegendText

from .keys import BINDINGS, HELP
from .scroll import Part, out_of_sight, step
from .widgets import CellClicked, Jumped, PanelView, Scrubber, cursor_lines

MIN_SIZE = (80, 24)
SLOTS = ("input", "delta", "kernel", "input_grad", "overlay")  # the panels, left to right
CURSOR_SLOT = {"input": "input", "output": "delta", "kernel": "kernel"}


class ExploreApp(App[None]):
    """The panels of one state, the expression, the backward pass's step, the keys."""

    TITLE = "convgrad explore"
    CSS = """
    Screen { layout: vertical; }
    #status { height: auto; background: $boost; }
    #body { height: 1fr; }
    #panels { layout: grid; grid-size: 80; grid-columns: 1; height: auto; }
    .panel { width: auto; height: auto; border: round $foreground-muted; padding: 0 1; }
    .panel.focused { border: round $text-accent; }
    #expression { height: auto; padding: 0 1; text-style: bold; }
    #step { height: auto; padding: 0 1; }
    #scrubber { height: 1; padding: 0 1; }
    #help { display: none; height: auto; padding: 0 1; border: round $text-accent; }
    #answer { display: none; }
    #small { display: none; height: 1fr; content-align: center middle; }
    #hidden { display: none; height: 1; padding: 0 1; background: $boost; }
    """
    BINDINGS = BINDINGS

    def __init__(self, state: State, folder: Path | None = None,
                 save: Callable[[Path, str], None] | None = None) -> None:  # fmt: skip
        super().__init__()
        self.state = state
        self.folder = folder or Path.cwd()
        self.save = save or (
            lambda path, text: path.write_text(text, encoding="utf-8")
        )  # the CLI writes whole
        self.playing: Timer | None = None  # while it plays
        self.following = False  # the scroll is to follow the cursor once the screen is drawn

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
            yield Static(HELP, id="help", markup=False)  # "[a]" is text, not a style
            with Container(id="panels"):
                for slot in SLOTS:
                    yield PanelView(slot)
        yield Static(id="hidden")  # which panels are out of sight, and the keys that bring them
        yield Footer()

    def on_mount(self) -> None:
        self.redraw()
        self.set_focus(None)  # the keys are the app's until the quiz asks for an answer
        self.watch(self.query_one("#body"), "scroll_y", self.tell_hidden, init=False)  # the wheel too

    def on_resize(self, event: events.Resize) -> None:
        small = event.size.width < MIN_SIZE[0] or event.size.height < MIN_SIZE[1]
        self.query_one("#small", Static).update(
            f"this terminal is {event.size.width}×{event.size.height}; explore needs {MIN_SIZE[0]}×{MIN_SIZE[1]}"
        )
        self.query_one("#small").display = small
        for part in ("#body", "#expression", "#step", "#scrubber"):
            self.query_one(part).display = not small
        if small:
            self.query_one("#hidden").display = False
        self.lay_out(event.size.width)
        self.call_after_refresh(self.tell_hidden)

    def lay_out(self, width: int) -> None:
        """The panels flow as words do: a grid of one-cell columns as wide as the
        terminal, each panel spanning its own width, the next one wrapping to a
        new row when it does not fit. Each row is as tall as its tallest panel, given
        outright: Textual sizes an `auto` row by a spanning panel's text wrapped to
        one column, over a hundred lines, and the second row fell off the screen."""
        columns = max(1, width - 2)
        panels = self.query_one("#panels")
        if panels.styles.grid_size_columns != columns:
            panels.styles.grid_size_columns = columns
        shown = [v for v in self.query(PanelView) if v.panel is not None]
        spans = [min(columns, v.columns + 5) for v in shown]  # border, padding and a column of gap
        heights: list[int] = []
        used = 0
        for i, (view, span) in enumerate(zip(shown, spans)):
            if used and used + span > columns:  # the row's last panel takes the rest: the next one wraps
                spans[i - 1] += columns - used
                used = 0
            if not used:
                heights.append(0)
            heights[-1] = max(heights[-1], view.drawn_size[1])
            used += span
        for view, span in zip(shown, spans):
            if view.styles.column_span != span:
                view.styles.column_span = span
        if [round(row.value) for row in panels.styles.grid_rows or ()] != heights:
            panels.styles.grid_rows = heights

    def parts(self) -> list[Part]:
        """The help and the panels shown, each with its first and after-last line in
        the scrolling area (panels by their titles, without the slice)."""
        found: list[Part] = []
        help_ = self.query_one("#help")
        if help_.display:
            found.append(("help", help_.virtual_region.y, help_.virtual_region.bottom))
        top = self.query_one("#panels").virtual_region.y
        for view in self.query(PanelView):
            if view.panel is not None:
                name = view.panel.title.partition(" [")[0]
                found.append((name, top + view.virtual_region.y, top + view.virtual_region.bottom))
        return found

    def tell_hidden(self) -> None:
        """The line under the panels names those out of sight and the key that brings
        them; hidden when every one is in view."""
        body = self.query_one("#body", VerticalScroll)
        above, below = out_of_sight(self.parts(), body.scroll_offset.y, body.scrollable_content_region.height)
        words = [f"↑ above: {', '.join(above)}"] if above else []
        words += [f"↓ below: {', '.join(below)}"] if below else []
        down, up = ("shift+↓", "shift+↑") if self.state.quiz else ("]", "[")  # the answer takes [ and ]
        keys = [k for k, names in ((f"{down} scrolls down", below), (f"{up} up", above)) if names]
        hidden = self.query_one("#hidden", Static)
        hidden.update(Text.assemble(" · ".join(words), ("  " + ", ".join(keys), "dim")))
        if hidden.display != bool(words) and not self.query_one("#small").display:
            hidden.display = bool(words)  # a line fewer or more for the panels:
            self.call_after_refresh(self.show_cursor)  # the cursor's panel kept in view

    def show_cursor(self) -> None:
        """The panel the cursor is on scrolled into view, and the line told again."""
        self.query_one(f"#{CURSOR_SLOT[self.state.focus]}").scroll_visible(animate=False, immediate=True)
        self.call_after_refresh(self.tell_hidden)

    def cursor_row(self) -> tuple[int, int] | None:
        """The lines of the scrolling area the cursor's row takes, with two more either
        side within its panel: the row beside it (the padding above the first, say)."""
        view = self.query_one(f"#{CURSOR_SLOT[self.state.focus]}", PanelView)
        lines = None if view.panel is None else cursor_lines(view.panel)
        if lines is None:
            return None
        top = self.query_one("#panels").virtual_region.y + view.virtual_region.y
        first, end = top + 1 + lines[0], top + 1 + lines[1]  # below the border
        return max(top, first - 2), min(top + view.virtual_region.height, end + 2)

    def follow(self, state: State) -> None:
        """A move of the cursor; the scroll follows its row while it was in view (one
        scrolled down to watch ∂L/∂x as the cursor moves stays where it is)."""
        body = self.query_one("#body", VerticalScroll)
        row, top, height = self.cursor_row(), body.scroll_offset.y, body.scrollable_content_region.height
        seen = row is not None and row[0] < top + height and row[1] > top
        self.apply(state)
        if seen and not self.following:  # one pending follows the later keys too (a held arrow)
            self.following = True
            self.call_after_refresh(self.show_cursor_row)

    def show_cursor_row(self) -> None:
        self.following = False
        body = self.query_one("#body", VerticalScroll)
        row, top, height = self.cursor_row(), body.scroll_offset.y, body.scrollable_content_region.height
        if row is not None and (row[0] < top or row[1] > top + height):
            body.scroll_to(y=row[0] if row[0] < top else row[1] - height, animate=False, immediate=True)

    # -- drawing ----------------------------------------------------------------------------------

    def redraw(self) -> None:
        s = self.state
        view = view_of(s)
        g = s.problem.geom
        status = Text.assemble(("convgrad explore ", "bold"), g.describe(), ("  " + s.message, "italic"))
        self.query_one("#status", Static).update(status)
        for slot in SLOTS:
            self.query_one(f"#{slot}", PanelView).show(getattr(view, slot), CURSOR_SLOT[s.focus] == slot)
        self.query_one("#expression", Static).update(Text(view.expression))
        step: RenderableType = Text(view.step)
        if view.windows and not s.step:  # the legend of the views, as every format draws it
            step = Group(LegendText(view.legend), Text("space steps through the backward pass", "dim"))
        elif s.step and view.legend.entries:  # what a step's marks mean
            step = Group(step, LegendText(view.legend))
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
        from convgrad_cli.render.terminal import parts

        return parts([view_of(self.state).picture()])[0]

    def apply(self, state: State) -> None:
        moved = state.focus != self.state.focus
        if state.graded is not None and (state.focus, state.index) != (self.state.focus, self.state.index):
            state = replace(state, graded=None)  # an answer about another cell
        self.state = state
        self.redraw()
        # tab: the panel the cursor went to comes into view, once the lines above it are drawn
        self.call_after_refresh(self.show_cursor if moved else self.tell_hidden)

    # -- actions ----------------------------------------------------------------------------------

    def action_move(self, rows: int, cols: int) -> None:
        self.follow(self.state.move(rows, cols))

    def action_scroll(self, by: int) -> None:
        """]: the next row of panels at the top (a page down one taller than the
        screen); [: back."""
        body = self.query_one("#body", VerticalScroll)
        height, now = body.scrollable_content_region.height, body.scroll_offset.y
        body.scroll_to(y=step(self.parts(), height, round(body.max_scroll_y), now, by), animate=False)

    def action_depth(self, by: int) -> None:
        self.follow(self.state.depth(by))

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
        quiz = not self.state.quiz and self.state.focus == "input"
        message = "quiz (esc leaves)" if quiz else ""  # the expression's line says what to type
        self.apply(replace(self.state, quiz=quiz, graded=None, message=message))
        if quiz:
            self.query_one("#answer", Input).focus()

    def action_leave_quiz(self) -> None:
        """Esc: the quiz ends (the input would take every other key), the answer shown."""
        if self.state.quiz:
            self.apply(replace(self.state, quiz=False, graded=None, message=""))
            self.query_one("#answer", Input).value = ""
            self.set_focus(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if not self.state.quiz:
            return
        grade = self.state.grade(event.value)
        if grade.correct:  # the expression's line has it whole again
            said = f"✓ right: all {len(grade.right)} terms"
            self.apply(replace(self.state, quiz=False, graded=None, message=said))
        else:  # the line under the answer says which terms: the top line would wrap
            self.apply(replace(self.state, graded=grade, message="quiz (esc leaves)"))
        event.input.value = ""
        if grade.correct:
            self.set_focus(None)

    def action_export(self) -> None:
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
        from convgrad_cli.core.rules import transposed_convolution

        call = transposed_convolution(self.state.problem.geom).code
        command = self.state.command()
        self.copy_to_clipboard(command + "\n" + call + "\n")
        self.apply(replace(self.state, message=f"copied: {command}"))

    def action_help(self) -> None:
        help_ = self.query_one("#help")
        help_.display = not help_.display
        if help_.display:  # it opens above the panels: scrolled down, it would open out of sight
            self.query_one("#body", VerticalScroll).scroll_home(animate=False)
        self.call_after_refresh(self.tell_hidden)

    def on_jumped(self, message: Jumped) -> None:
        self.apply(self.state.at_step(round(self.state.window_count * message.fraction)))

    def on_cell_clicked(self, message: CellClicked) -> None:
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
