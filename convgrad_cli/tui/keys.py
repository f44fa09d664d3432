"""`explore`'s keys: each a Binding to an action of the app, and the help that
explains them and the colours (`?`)."""

from __future__ import annotations

from textual.binding import Binding, BindingType

HELP = """\
Colour is the window: the δ entries, kernel taps and terms of one window share
its colour. [a] is the cell under the cursor; the cells that share a window with
it are underlined; a·w1 a cell of a window with the weight it meets; w1·δ1 a
term of the result; in the padded δ, underlined: under the flipped kernel.

Keys: arrows (or the mouse) move · tab: x → y/δ → W · c/C its channel ·
, . the other panels' channel · n the sample · PgUp/PgDn depth (3-D)
s/S stride · p/P padding · d/D dilation · k/K kernel · +/− input size ·
i/I input channels · o/O output channels · g groups · v names ↔ numbers
space / backspace: one window of the backward pass on / back · enter: play ·
home/end: none / all · z quiz (esc leaves it) · e export SVG · y copy the trace command · q quit
] / [ scroll the panels down / up (the line under them names those out of sight)"""

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
