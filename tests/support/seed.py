"""The seed's two examples (WALKTHROUGH.md), every expression, written out by hand once."""

CELLS = "abcdefghijklmnop"

STRIDE1_OUTPUTS = {
    "y1": "a·w1 + b·w2 + e·w3 + f·w4",
    "y2": "b·w1 + c·w2 + f·w3 + g·w4",
    "y3": "c·w1 + d·w2 + g·w3 + h·w4",
    "y4": "e·w1 + f·w2 + i·w3 + j·w4",
    "y5": "f·w1 + g·w2 + j·w3 + k·w4",
    "y6": "g·w1 + h·w2 + k·w3 + l·w4",
    "y7": "i·w1 + j·w2 + m·w3 + n·w4",
    "y8": "j·w1 + k·w2 + n·w3 + o·w4",
    "y9": "k·w1 + l·w2 + o·w3 + p·w4",
}

# ∂L/∂cell, stride 1: "Start with input a. Where does it appear?"
STRIDE1_GRADS = {
    "a": "w1·δ1",
    "b": "w2·δ1 + w1·δ2",
    "c": "w2·δ2 + w1·δ3",
    "d": "w2·δ3",
    "e": "w3·δ1 + w1·δ4",
    "f": "w4·δ1 + w3·δ2 + w2·δ4 + w1·δ5",
    "g": "w4·δ2 + w3·δ3 + w2·δ5 + w1·δ6",
    "h": "w4·δ3 + w2·δ6",
    "i": "w3·δ4 + w1·δ7",
    "j": "w4·δ4 + w3·δ5 + w2·δ7 + w1·δ8",
    "k": "w4·δ5 + w3·δ6 + w2·δ8 + w1·δ9",
    "l": "w4·δ6 + w2·δ9",
    "m": "w3·δ7",
    "n": "w4·δ7 + w3·δ8",
    "o": "w4·δ8 + w3·δ9",
    "p": "w4·δ9",
}

STRIDE2_OUTPUTS = {
    "y1": "a·w1 + b·w2 + e·w3 + f·w4",
    "y2": "c·w1 + d·w2 + g·w3 + h·w4",
    "y3": "i·w1 + j·w2 + m·w3 + n·w4",
    "y4": "k·w1 + l·w2 + o·w3 + p·w4",
}

# stride 2: each input feeds exactly one output
STRIDE2_GRADS = {
    "a": "w1·δ1", "b": "w2·δ1", "c": "w1·δ2", "d": "w2·δ2",
    "e": "w3·δ1", "f": "w4·δ1", "g": "w3·δ2", "h": "w4·δ2",
    "i": "w1·δ3", "j": "w2·δ3", "k": "w1·δ4", "l": "w2·δ4",
    "m": "w3·δ3", "n": "w4·δ3", "o": "w3·δ4", "p": "w4·δ4",
}  # four to a row, as the 4×4 input a…p sits on the slides  # fmt: skip
