"""`convgrad explore STACK`: a Textual app over a
:class:`~convgrad_cli.core.explore.stack_state.StackState` — the paths under the top
output at the cursor, lit level by level from the top, and the backward pass one
layer at a time; the terminal's own drawing of the state's blocks."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.timer import Timer
from textual.widgets import Footer, Static

from convgrad_cli.core.explore.stack_state import StackState
from convgrad_cli.core.views.blocks import View
from convgrad_cli.core.views.stack import describe
from convgrad_cli.render.terminal import draw

from .keys import ARROWS

#: Seconds between one level lighting and the next.
LIGHT = 0.15

BINDINGS: list[BindingType] = [
    *ARROWS,
    Binding("c", "channel(1)", "channel", show=False),
    Binding("n", "sample(1)", "sample", show=False),
    Binding("space", "step(1)", "layer down"),
    Binding("backspace", "step(-1)", "layer up"),
    Binding("q", "quit", "quit"),
]


class StackApp(App[None]):
    """The reach of the cursor's top output, and the backward pass so far."""

    TITLE = "convgrad explore"
    CSS = """
    #status { height: auto; background: $boost; }
    #body { height: 1fr; }
    #backward { height: auto; border-top: dashed $foreground-muted; }
    """
    BINDINGS = BINDINGS

    def __init__(self, state: StackState) -> None:
        super().__init__()
        self.state = state
        self.lighting: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        with VerticalScroll(id="body", can_focus=False):  # the arrows are the cursor's
            yield Static(id="reach")
            yield Static(id="backward")
        yield Footer()

    def on_mount(self) -> None:
        self.redraw()
        self.set_focus(None)

    def redraw(self) -> None:
        s = self.state
        status = Text.assemble(
            ("convgrad explore ", "bold"),
            describe(s.stack),
            ("  arrows: the top output · space/backspace: a layer of the backward pass", "dim"),
        )
        self.query_one("#status", Static).update(status)
        self.query_one("#reach", Static).update(draw(View("explore", s.reach())))
        self.query_one("#backward", Static).update(draw(View("explore", s.backward())))

    def apply(self, state: StackState) -> None:
        self.state = state
        self.redraw()
        if state.lit is not None and self.lighting is None:
            self.lighting = self.set_interval(LIGHT, self.light)

    def light(self) -> None:
        """The next level lit, until all are."""
        self.state = self.state.lighter()
        self.redraw()
        if self.state.lit is None and self.lighting is not None:
            self.lighting.stop()
            self.lighting = None

    def action_move(self, rows: int, cols: int) -> None:
        self.apply(self.state.move(rows, cols))

    def action_channel(self, by: int) -> None:
        self.apply(self.state.channel(by))

    def action_sample(self, by: int) -> None:
        self.apply(self.state.sample(by))

    def action_step(self, by: int) -> None:
        self.apply(self.state.stepped(by))
        if by > 0 and self.state.step:
            self.query_one("#backward").scroll_visible()
