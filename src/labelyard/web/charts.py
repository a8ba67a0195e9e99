"""Server-rendered SVG charts: the geometry of bars and lines, drawn by the templates.

Pure functions from numbers to shapes in a fixed viewBox (the SVG scales to its box); classes,
not inline styles, give the colours (the pages' Content-Security-Policy forbids inline styles).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720.0, 200.0, 40.0, 20.0, 10.0


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True, slots=True)
class Line:
    points: str
    css: str
    title: str


@dataclass(frozen=True, slots=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    """Shapes in a ``WIDTH`` by ``HEIGHT`` viewBox, with value ticks and first/last day labels."""

    bars: Sequence[Bar]
    lines: Sequence[Line]
    ticks: Sequence[Tick]
    first: str
    last: str
    empty: bool
    width: float = WIDTH
    height: float = HEIGHT
    left: float = LEFT
    bottom: float = HEIGHT - BOTTOM

    @property
    def bars_svg(self) -> Markup:
        """The bars as SVG ``rect`` elements, with their titles (escaped). Built here, not in a
        template loop: a year of stacked bars is over a thousand elements, which took a
        template longer to render than the page's queries took to run."""
        return Markup(
            "\n".join(
                f'<rect class="bar {_escape(bar.css)}" x="{bar.x}" y="{bar.y}" width="{bar.width}" '
                f'height="{bar.height}"><title>{_escape(bar.title)}</title></rect>'
                for bar in self.bars
            )
        )


# What markupsafe.escape (the templates' autoescape) replaces, as one str.translate.
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&#39;", '"': "&#34;"})


def _escape(text: str) -> str:
    return text.translate(_ESCAPES)


def _scale(top: int) -> tuple[float, list[Tick]]:
    top = max(top, 1)
    plot = HEIGHT - BOTTOM - TOP
    ticks = [Tick(round(HEIGHT - BOTTOM - plot * f, 1), str(round(top * f))) for f in (0, 0.5, 1)]
    return plot / top, ticks


def stacked_bars(
    days: Sequence[Mapping[str, Any]], series: Sequence[tuple[str, str, str]]
) -> Chart:
    """One bar a day, stacked from ``series`` of ``(key, css class, label)``."""
    top = max((sum(int(d[key]) for key, _, _ in series) for d in days), default=0)
    per, ticks = _scale(top)
    step = (WIDTH - LEFT) / max(len(days), 1)
    bars = []
    for index, day in enumerate(days):
        y = HEIGHT - BOTTOM
        for key, css, label in series:
            value = int(day[key])
            if not value:
                continue
            height = value * per
            y -= height
            x = LEFT + index * step
            title = f"{day['day']}: {value} {label}"
            bars.append(
                Bar(
                    round(x + step * 0.1, 1),
                    round(y, 1),
                    round(step * 0.8, 1),
                    round(height, 1),
                    css,
                    title,
                )
            )
    return Chart(bars, [], ticks, _day(days, 0), _day(days, -1), top == 0)


def lines(
    days: Sequence[str], series: Sequence[tuple[str, Sequence[int]]], *, classes: int = 6
) -> Chart:
    """One line a series of ``(name, value per day)``; colours cycle through ``classes``."""
    top = max((max(values, default=0) for _, values in series), default=0)
    per, ticks = _scale(top)
    step = (WIDTH - LEFT) / max(len(days) - 1, 1)
    drawn = []
    # Every line has a point a day: the x of each day, formatted once.
    xs = [
        f"{round(LEFT + i * step, 1)}," for i in range(max((len(v) for _, v in series), default=0))
    ]
    for index, (name, values) in enumerate(series):
        points = " ".join(
            x + str(round(HEIGHT - BOTTOM - v * per, 1)) for x, v in zip(xs, values, strict=False)
        )
        drawn.append(Line(points, f"line-{index % classes}", name))
    first = days[0] if days else ""
    last = days[-1] if days else ""
    return Chart([], drawn, ticks, first, last, top == 0)


def _day(days: Sequence[Mapping[str, Any]], index: int) -> str:
    return str(days[index]["day"]) if days else ""
