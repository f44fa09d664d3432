"""`explore`'s keys: each a Binding to an action of the app, and the help that
explains them and the colours (`?`)."""

from __future__ import annotations

from textual.binding import Binding, BindingType

#: The marks, a phrase a line: nothing wraps at 80 columns. With the keys under them, no line
#: between, the help fits the screen of 80×24 it opens on.
MARKS = """\
Colour is the window: its δ entry, kernel taps and terms share it.
[a] the cell under the cursor · underlined: cells in a window with it
a·w1 a cell and the weight it meets · w1·δ1 a term of the gradient
padded δ: cells under the flipped kernel are underlined, (w1·δ6) to come
stepping: ▸δ2 this step's window · +w1·δ2 the term it adds to ∂L/∂x so far"""

#: The keys, two to a line: (key, what it does), (key, what it does).
KEYS = (
    (("arrows/click", "move the cursor"), ("PgUp/Dn", "depth (3-D)")),
    (("] [ shift+↓↑", "scroll down / up"), ("tab", "x → y/δ → W, shift: back")),
    (("c / C", "the cursor's channel"), (". / ,", "other panels' channel")),
    (("n", "the next sample"), ("v", "names ↔ numbers")),
    (("s/S p/P", "stride, padding up/down"), ("d/D k/K", "dilation, kernel up/down")),
    (("+ / −", "input size up/down"), ("i/I o/O", "in, out channels up/down")),
    (("g", "the next groups count"), ("e", "write the view as SVG")),
    (("space / bksp", "a window on / back"), ("enter", "play / pause")),
    (("home / end", "none / all windows"), ("z, esc", "quiz, leave it")),
    (("y", "copy the trace command"), ("? / q", "this help / quit")),
)

HELP = MARKS + "\n" + "\n".join(f"{a:<14}{b:<25}{c:<9}{d}" for (a, b), (c, d) in KEYS)

#: The arrows move the cursor, in a layer's app and a stack's alike.
ARROWS: list[BindingType] = [
    Binding("left", "move(0, -1)", "move", show=False),
    Binding("right", "move(0, 1)", "move", show=False),
    Binding("up", "move(-1, 0)", "move", show=False),
    Binding("down", "move(1, 0)", "move", show=False),
]

#: The footer shows those with ``show`` left on; the help lists them all.
BINDINGS: list[BindingType] = [
    *ARROWS,
    Binding("pageup", "depth(-1)", "depth", show=False),
    Binding("pagedown", "depth(1)", "depth", show=False),
    Binding("right_square_bracket", "scroll(1)", "scroll", show=False),
    Binding("left_square_bracket", "scroll(-1)", "scroll", show=False),
    Binding("shift+down", "scroll(1)", "scroll", show=False),  # the quiz's answer takes [ and ]
    Binding("shift+up", "scroll(-1)", "scroll", show=False),
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
    Binding("escape", "leave_quiz", "leave the quiz", show=False),  # not priority: the palette closes on esc
    Binding("e", "export", "svg", show=False),
    Binding("y", "copy", "copy", show=False),
    Binding("question_mark", "help", "help"),
    Binding("q", "quit", "quit"),
]
