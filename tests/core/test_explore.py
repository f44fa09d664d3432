"""explore's state, apart from any terminal: the backward pass played window by
window adds up to ∂L/∂x; each key keeps the cursor on a cell; the quiz reads
terms however they are typed."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from convgrad_cli.core import terms
from convgrad_cli.core.explore import State, Windows, normal_terms, view_of
from convgrad_cli.core.geometry import Geometry
from convgrad_cli.core.names import Namer
from convgrad_cli.core.problem import build
from tests.support import reference
from tests.support.operands import operands, ref_args
from tests.support.profile import examples
from tests.support.strategies import geometries


def problem_of(g, seed):
    x, w, b, delta = operands(g, seed)
    return build(
        x,
        w,
        delta=delta,
        stride=g.stride,
        padding=g.padding,
        dilation=g.dilation,
        groups=g.groups,
        dims=g.ndim,
    )


@given(g=geometries(), seed=st.integers(0, 2**16))
@settings(max_examples=examples(80))
def test_every_window_played_adds_up_to_the_input_gradient(g, seed):
    """Played to its end, the backward pass of each sample is the definition's ∂L/∂x;
    half-way, it holds exactly the terms of the windows played."""
    p = problem_of(g, seed)
    dx, _, _ = reference.backward(p.x, p.w, p.delta, **ref_args(g))
    for n in range(g.batch):
        w = Windows.of(p, n)
        assert w.count == g.out_channels * np.prod(g.out_size)
        np.testing.assert_allclose(w.partial(w.count), dx[n], rtol=1e-12, atol=1e-12)
        assert not w.partial(0).any()
        half = w.count // 2
        counts = np.zeros(g.input_shape[1:], dtype=int)
        for idx in np.ndindex(*g.input_shape):
            if idx[0] == n:
                window = [
                    t
                    for t in terms.input_terms(g, idx)
                    if t.delta[1] * np.prod(g.out_size) + np.ravel_multi_index(t.delta[2:], g.out_size) < half
                ]
                counts[idx[1:]] = len(window)
        assert (w.received(half) == counts).all()


KNOB_KEYS = [
    f"{k}{sign}"
    for k in ("stride", "padding", "dilation", "kernel", "size", "in_channels", "out_channels", "groups")
    for sign in "+-"
]
KEYS = ["left", "right", "up", "down", "tab", "back", "channel", "other", "sample", "step", "depth", "names"]


def press(s: State, key: str) -> State:
    moves = {"left": (0, -1), "right": (0, 1), "up": (-1, 0), "down": (1, 0)}
    if key in moves:
        return s.move(*moves[key])
    if key in ("tab", "back"):
        return s.tab(1 if key == "tab" else -1)
    if key == "channel":
        return s.channel(1)
    if key == "other":
        return s.other_channel(1)
    if key == "sample":
        return s.sample(1)
    if key == "step":
        return s.stepped(3)
    if key == "depth":
        return s.depth(1)
    if key == "names":
        return s.names()
    return s.turn(key[:-1], 1 if key[-1] == "+" else -1)


@given(g=geometries(max_size=5), keys=st.lists(st.sampled_from(KEYS + KNOB_KEYS), max_size=25))
@settings(max_examples=examples(60))
def test_whatever_the_keys_the_cursor_stays_on_a_cell_and_the_view_draws(g, keys):
    s = State.start(problem_of(g, 0))
    for key in keys:
        s = press(s, key)
        assert len(s.index) == len(s.shape) and all(0 <= i < n for i, n in zip(s.index, s.shape))
        assert 0 <= s.step <= s.window_count
        view = view_of(s)
        assert view.expression.startswith(s.trace.lhs)
        focused = {"input": view.input, "output": view.delta, "kernel": view.kernel}[s.focus]
        if focused is not None and not s.step:  # the cursor's cell is marked on its own panel
            assert any(m.role == "cell" for m in focused.marks.values())


def test_the_quiz_reads_terms_however_they_are_typed():
    assert normal_terms("w2·δ1 + w1·δ2") == {"w2·δ1", "w1·δ2"}
    assert normal_terms("w2*d1+w1 d2") == normal_terms("δ1·w2 + δ2·w1") == {"w2·δ1", "w1·δ2"}
    assert normal_terms("w[0,1]·δ[2,3]") == normal_terms("d[2,3]*w[0,1]") == {"w[0,1]·δ[2,3]"}
    namer = Namer(Geometry.build((7, 7), (3, 3), batch=2, in_channels=3, out_channels=4, stride=2, padding=1))
    typed = normal_terms("w0222*d1011 + δ₁₀₁₂·w[0,2,2,0]", namer)
    assert typed == normal_terms("w₀₂₂₂·δ₁₀₁₁ + w₀₂₂₀·δ₁₀₁₂", namer) == {"w₀₂₂₂·δ₁₀₁₁", "w₀₂₂₀·δ₁₀₁₂"}
    assert normal_terms("w2*d1", Namer(Geometry.build((4, 4), (2, 2)))) == {"w2·δ1"}
    assert normal_terms("") == normal_terms("0") == set()


def test_the_seed_replays_the_slides():
    from convgrad_cli.config import load

    s = State.start(load(None))
    assert view_of(s).expression == "∂L/∂a = w1·δ1 = 1"  # start with input a
    b = s.move(0, 1)
    assert view_of(b).expression == "∂L/∂b = w2·δ1 + w1·δ2 = 3"  # will this idea work for input b?
    assert view_of(b.turn("stride", 1)).expression == "∂L/∂b = w2·δ1 = 2"  # stride 2
    f = s.move(1, 1)
    assert view_of(f).expression == "∂L/∂f = w4·δ1 + w3·δ2 + w2·δ4 + w1·δ5 = 10"
    assert f.grade("w4*d1 + w3*d2 + w2*d4 + w1*d5").correct
    assert f.command().startswith("convgrad trace --input f ")
