"""The sentences `explore` writes as the cursor moves and the backward pass steps,
with ``{…}`` to fill in: the terminal app fills them in Python, the page's script
in the browser, so both say the same."""

WORDS = {
    "hint": "Hover or tap a cell of x, y, δ or W: what it depends on lights up, in the colour of each window.",
    "idle": "step through the backward pass: each window adds its w·δ terms into ∂L/∂x",
    "start": "0 of {count} windows: ∂L/∂x starts at zero",
    "step": "step {step} of {count}: the window of {output} adds {adds}",
    "add": "{weight}·{delta} to ∂L/∂{input}",
    "nothing": "nothing",
    "more": ", … {count} more",
    "flows": "{delta} flows back: adds {adds}",
    "through": "{delta} flows back through the window of {output}",
    "overlay": "{padded} under the flipped kernel, at {cell}'s position",
    "so_far": "{lhs} so far = {expression}{value}  (of {all})",
    "stack_hint": "Move over a cell of the top output: the number of paths from each cell of each level "
    "lights up, layer by layer down to the input, and the cells with at least one make its receptive field.",
    "stack_backward": "The backward pass, from the loss down: each step is one layer.",
    "stack_start": "0 of {count} layers: ▶ steps down one layer",
    "stack_step": "step {step} of {count}: {layer}",
}
