"""Pictures for slides: SVG, HTML and text from what the terminal draws — and, with
the ``images`` extra, PNG and PDF; an animated SVG for ``--steps``.

An SVG is cropped to its content, themed (``light`` for slides, ``dark``),
without window chrome unless asked, in a local monospace font (no network), and
keeps its spaces (``xml:space="preserve"``) so that librsvg draws what a browser
does.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

from rich.cells import cell_len
from rich.color import blend_rgb
from rich.console import Console, RenderableType
from rich.segment import Segment, Segments
from rich.style import Style
from rich.terminal_theme import TerminalTheme

FONT = "'DejaVu Sans Mono', Menlo, Consolas, 'Liberation Mono', monospace"
CHAR_HEIGHT, ASPECT = 20, 0.602  # DejaVu Sans Mono's advance: librsvg ignores textLength, so none may drift
CHAR_WIDTH, LINE_HEIGHT = CHAR_HEIGHT * ASPECT, CHAR_HEIGHT * 1.22
PAD = 12

_ANSI_DARK = [
    (41, 41, 41),
    (240, 80, 80),
    (80, 200, 120),
    (230, 200, 80),
    (100, 150, 240),
    (200, 120, 220),
    (80, 200, 220),
    (200, 200, 200),
]
_ANSI_LIGHT = [
    (0, 0, 0),
    (180, 30, 30),
    (20, 120, 50),
    (150, 110, 0),
    (20, 80, 180),
    (140, 40, 150),
    (0, 120, 140),
    (90, 90, 90),
]
THEMES = {
    "dark": TerminalTheme((41, 41, 41), (214, 214, 214), _ANSI_DARK, _ANSI_DARK),
    "light": TerminalTheme((255, 255, 255), (25, 25, 25), _ANSI_LIGHT, _ANSI_LIGHT),
}
#: Window colours that read poorly as text on white, and their darker light-theme forms.
LIGHT_COLOURS = {"#f0e442": "#9a8a00", "#56b4e9": "#1f86c4", "#e69f00": "#c47f00"}


def _console(width: int, plain: bool) -> Console:
    return Console(
        file=io.StringIO(),
        record=True,
        highlight=False,
        width=width,
        force_terminal=not plain,
        color_system=None if plain else "truecolor",
    )


def lay_out(
    renderable: RenderableType, width: int, plain: bool, theme: str
) -> tuple[int, list[list[Segment]]]:
    """The lines of ``renderable`` laid out at ``width``, cut to its widest line,
    in the colours of ``theme``; and that width."""
    first = _console(width, plain)
    first.print(renderable)
    used = max((cell_len(line.rstrip()) for line in first.export_text().splitlines()), default=1)
    fitted = _console(max(used, 1), plain)
    lines = fitted.render_lines(renderable, fitted.options, pad=False)
    while lines and not "".join(s.text for s in lines[-1]).strip():
        lines.pop()  # a picture ends where its last line does
    if theme == "light" and not plain:
        lines = [[Segment(s.text, _lighter(s.style), s.control) for s in line] for line in lines]
    return fitted.width, lines


def record(renderable: RenderableType, width: int, plain: bool, theme: str = "dark") -> Console:
    """A recording console that drew ``renderable`` as :func:`lay_out` lays it out."""
    columns, lines = lay_out(renderable, width, plain, theme)
    console = _console(columns, plain)
    console.print(Segments([s for line in lines for s in (*line, Segment.line())]), end="")
    return console


def _lighter(style: Style | None) -> Style | None:
    """``style`` with the window colours that read poorly on white made darker."""
    if style is None:
        return None
    for attribute in ("color", "bgcolor"):
        colour = getattr(style, attribute)
        if colour is not None and colour.triplet is not None and colour.triplet.hex.lower() in LIGHT_COLOURS:
            darker = LIGHT_COLOURS[colour.triplet.hex.lower()]
            style = style + (Style(color=darker) if attribute == "color" else Style(bgcolor=darker))
    return style


def _template(theme: TerminalTheme, console: Console, chrome: bool) -> str:
    lines = len(console.export_text(clear=False).rstrip("\n").splitlines())
    width = CHAR_WIDTH * console.width + 2 * PAD
    height = LINE_HEIGHT * lines + 2 * PAD + (30 if chrome else 0)
    top = PAD + (30 if chrome else 0)
    bg, fg = theme.background_color.hex, theme.foreground_color.hex
    frame = (
        f'<rect x="0.5" y="0.5" width="{width - 1:.1f}" height="{height - 1:.1f}" rx="8" fill="{bg}" stroke="{fg}" '
        f'stroke-opacity="0.3"/><g transform="translate(20,16)"><circle r="6" fill="#ff5f57"/>'
        '<circle cx="20" r="6" fill="#febc2e"/><circle cx="40" r="6" fill="#28c840"/></g>'
        if chrome
        else f'<rect width="100%" height="100%" fill="{bg}"/>'
    )
    return (
        f'<svg class="convgrad" viewBox="0 0 {width:.1f} {height:.1f}" width="{width:.1f}" height="{height:.1f}" '
        'xmlns="http://www.w3.org/2000/svg" xml:space="preserve">\n'
        "<style>\n.{unique_id}-matrix {{ font-family: " + FONT + "; font-size: {char_height}px; "
        "line-height: {line_height}px; font-variant-east-asian: full-width; }}\n{styles}\n</style>\n"
        '<defs><clipPath id="{unique_id}-clip-terminal"><rect x="0" y="0" width="{terminal_width}" '
        'height="{terminal_height}"/></clipPath>{lines}</defs>\n'
        + frame.replace("{", "{{").replace("}", "}}")
        + f'\n<g transform="translate({PAD}, {top})" clip-path="url(#{{unique_id}}-clip-terminal)">'
        '{backgrounds}<g class="{unique_id}-matrix">{matrix}</g></g>\n</svg>\n'
    )


def svg(
    renderable: RenderableType,
    width: int,
    theme: str = "light",
    chrome: bool = False,
    plain: bool = False,
    unique_id: str | None = None,
) -> str:
    console = record(renderable, width, plain, theme)
    return console.export_svg(
        theme=THEMES[theme],
        code_format=_template(THEMES[theme], console, chrome),
        font_aspect_ratio=ASPECT,
        unique_id=unique_id,
        title="convgrad",
    )


def html(renderable: RenderableType, width: int, theme: str = "light", plain: bool = False) -> str:
    return record(renderable, width, plain, theme).export_html(theme=THEMES[theme], inline_styles=True)


def plain_text(renderable: RenderableType, width: int) -> str:
    return record(renderable, width, plain=True).export_text()


def _size(svg_text: str) -> tuple[float, float]:
    found = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg_text)
    assert found, "every frame has a viewBox"
    return float(found.group(1)), float(found.group(2))


def animated_svg(
    frames: Sequence[RenderableType], width: int, theme: str = "light", seconds: float = 2.5
) -> str:
    """Frames shown one after the other, each for ``seconds`` (the last twice as long),
    looping; a viewer without animation (librsvg) shows the first."""
    drawn = [svg(frame, width, theme, unique_id=f"convgrad-f{i}") for i, frame in enumerate(frames)]
    sizes = [_size(d) for d in drawn]
    w, h = max(s[0] for s in sizes), max(s[1] for s in sizes)
    durations = [seconds] * (len(frames) - 1) + [2 * seconds]
    total = sum(durations)
    bg = THEMES[theme].background_color.hex
    groups, start = [], 0.0
    for i, (d, dur) in enumerate(zip(drawn, durations)):
        inner = d[d.index(">", d.index("<svg")) + 1 : d.rindex("</svg>")]
        on, off = start / total, (start + dur) / total
        values = "0;1;0" if i else "1;0;1"
        times = f"0;{on:.4f};{off:.4f}" if i else f"0;{off:.4f};1"
        if i == len(frames) - 1:
            values, times = "0;1", f"0;{on:.4f}"
        groups.append(
            f'<g opacity="{1 if i == 0 else 0}"><animate attributeName="opacity" values="{values}" keyTimes="{times}" '
            f'dur="{total:g}s" repeatCount="indefinite" calcMode="discrete"/>{inner}</g>'
        )
        start += dur
    return (
        f'<svg viewBox="0 0 {w:.1f} {h:.1f}" width="{w:.1f}" height="{h:.1f}" xmlns="http://www.w3.org/2000/svg" '
        f'xml:space="preserve"><rect width="100%" height="100%" fill="{bg}"/>' + "".join(groups) + "</svg>\n"
    )


def image(renderable: RenderableType, width: int, theme: str, suffix: str) -> bytes:
    """PNG or PDF, drawn with matplotlib (``pip install 'convgrad[images]'``) in its own
    DejaVu Sans Mono: the same cells, colours and weights as the terminal."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure
    except ImportError:
        from convgrad_cli.errors import OutputError

        raise OutputError(f"--export {suffix} needs matplotlib: pip install 'convgrad[images]'") from None
    columns, lines = lay_out(renderable, width, plain=False, theme=theme)
    tt = THEMES[theme]
    size, dpi = 10.0, 144  # points; a cell is 0.602 em wide in DejaVu Sans Mono
    cw, lh = 0.602 * size, 1.17 * size  # box-drawing lines join at 1.17 em
    fig = Figure(figsize=((columns * cw + 2 * PAD) / 72, (len(lines) * lh + 2 * PAD) / 72), dpi=dpi)
    fig.patch.set_facecolor(tt.background_color.hex)
    wpt, hpt = fig.get_figwidth() * 72, fig.get_figheight() * 72
    for y, line in enumerate(lines):
        x = 0
        for segment in line:
            n = cell_len(segment.text)
            if n:
                at = ((PAD + x * cw) / wpt, 1 - (PAD + (y + 1) * lh) / hpt)
                _draw_run(fig, segment.text, segment.style, tt, at, n, (size, cw, lh, wpt, hpt))
            x += n
    out = io.BytesIO()
    fig.savefig(out, format=suffix.lstrip("."), facecolor=fig.get_facecolor())
    return out.getvalue()


def _draw_run(
    fig: Any,
    text: str,
    style: Any,
    tt: TerminalTheme,
    at: tuple[float, float],
    n: int,
    scale: tuple[float, float, float, float, float],
) -> None:
    """One run of ``n`` cells of text at ``at`` (its left and its baseline, as fractions of
    the figure): its background, its glyphs and its underline. ``scale``: the font size,
    a cell's width and height and the figure's width and height, in points."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    (left, base), (size, cw, lh, wpt, hpt) = at, scale
    fg, bg = _colours(style, tt)
    if bg is not None:
        box = Rectangle((left, base - 0.2 * lh / hpt), n * cw / wpt, lh / hpt, transform=fig.transFigure)
        box.set(facecolor=bg, edgecolor="none")
        fig.patches.append(box)
    if not text.strip():
        return
    weight = "bold" if style and style.bold else "normal"
    family = ["DejaVu Sans Mono", "DejaVu Sans"]
    fig.text(
        left, base, text, fontsize=size, family=family, color=fg, weight=weight, va="baseline", ha="left"
    )
    if style and style.underline:
        y_line = base - 0.12 * lh / hpt
        line = Line2D([left, left + n * cw / wpt], [y_line, y_line], transform=fig.transFigure)
        line.set(color=fg, linewidth=0.7)
        fig.lines.append(line)


def _colours(style: Any, tt: TerminalTheme) -> tuple[str, str | None]:
    fg, bg = tt.foreground_color, None
    if style is not None:
        if style.color is not None and not style.color.is_default:
            fg = style.color.get_truecolor(tt)
        if style.bgcolor is not None and not style.bgcolor.is_default:
            bg = style.bgcolor.get_truecolor(tt)
        if style.reverse:
            fg, bg = (bg or tt.background_color), fg
        if style.dim:  # as Rich's SVG export blends it
            fg = blend_rgb(fg, bg or tt.background_color, 0.4)
    return fg.hex, None if bg is None else bg.hex
