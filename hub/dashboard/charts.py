"""Chart geometry for server-drawn SVG (pure): bar charts, heat maps and horizontal bars.

Templates draw what these compute (hub/dashboard/templates/_charts.html); every chart also has
a table of the same figures. Coordinates are in the SVG's viewBox units; the stylesheet colours
by class, so the pages need neither scripts nor inline styles. A count below 5 is drawn as a
hatched bar up to 5 ("somewhere below this line") and a hidden number as its mark only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hub.figures import SMALLEST, Figure, Mark

WIDTH = 720
_LEFT = 44  # room for the y axis' numbers
_RIGHT = 8
_TOP = 22  # room for the tallest bar's number
_BOTTOM = 28  # room for the period labels
_PLOT_HEIGHT = 170
_LABEL_WIDTH = 170  # a heat map's and a horizontal bar chart's row labels
_ROW = 26
#: Heat map shades: 1 (lightest) to 4 (darkest); text is white from shade 3.
SHADES = 4


@dataclass(frozen=True)
class Tick:
    y: float
    text: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    #: Where the number goes (its centre and baseline).
    text_x: float
    text_y: float
    text: str
    label: str
    #: The figure's mark ("shown", "small", ...): the stylesheet's class.
    kind: str
    title: str


@dataclass(frozen=True)
class BarChart:
    width: float
    height: float
    baseline: float
    left: float
    right: float
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]


@dataclass(frozen=True)
class Cell:
    x: float
    y: float
    width: float
    height: float
    text: str
    #: 1..SHADES for a shown count, 0 for a hidden one.
    shade: int
    kind: str
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Heatmap:
    width: float
    height: float
    cells: tuple[Cell, ...]
    rows: tuple[Label, ...]
    columns: tuple[Label, ...]


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5 or 5 times a power of ten at or above `value` (at least 1)."""
    if value <= 1:
        return 1
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def bar_chart(
    labels: Sequence[str],
    titles: Sequence[str],
    figures: Sequence[Figure],
    text: Callable[[Figure], str],
    *,
    top: float | None = None,
    small_bars: bool = True,
) -> BarChart:
    """One bar per period. `top`: a fixed scale (100 for percentages), else a nice ceiling;
    `small_bars`: draw "<5" as a hatched bar up to 5 (counts), else as its mark only."""
    shown = [f.value for f in figures if f.shown and f.value is not None]
    # With counts, "<5" bars reach at most half way: never a full bar for "fewer than 5".
    highest = max([*shown, 2 * SMALLEST if small_bars else 0, 1])
    scale_top = top if top is not None else nice_ceiling(highest)
    right = WIDTH - _RIGHT
    baseline = _TOP + _PLOT_HEIGHT
    slot = (right - _LEFT) / max(len(figures), 1)
    width = slot * 0.7
    bars = []
    for i, (label, title, f) in enumerate(zip(labels, titles, figures, strict=True)):
        x = _LEFT + i * slot + (slot - width) / 2
        if f.shown and f.value is not None:
            height = _PLOT_HEIGHT * f.value / scale_top
        elif f.mark is Mark.SMALL and small_bars:
            height = _PLOT_HEIGHT * SMALLEST / scale_top
        else:
            height = 0.0
        y = baseline - height
        bars.append(
            Bar(
                x=round(x, 1),
                y=round(y, 1),
                width=round(width, 1),
                height=round(height, 1),
                text_x=round(x + width / 2, 1),
                text_y=round(y - 5, 1),
                text=text(f),
                label=label,
                kind=f.mark.value,
                title=f"{title}: {text(f)}",
            )
        )
    ticks = tuple(
        Tick(round(baseline - _PLOT_HEIGHT * share, 1), _tick(scale_top * share))
        for share in (0, 0.5, 1)
    )
    return BarChart(
        width=WIDTH,
        height=baseline + _BOTTOM,
        baseline=baseline,
        left=_LEFT,
        right=right,
        bars=tuple(bars),
        ticks=ticks,
    )


def _tick(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def heatmap(
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    column_titles: Sequence[str],
    rows: Sequence[Sequence[Figure]],
    text: Callable[[Figure], str],
) -> Heatmap:
    """Rows (categories) by columns (periods); a shown count's shade grows with it."""
    highest = max([f.value for row in rows for f in row if f.shown and f.value is not None] or [1])
    columns = max(len(column_labels), 1)
    cell_width = (WIDTH - _LABEL_WIDTH - _RIGHT) / columns
    cells = []
    for r, (name, row) in enumerate(zip(row_labels, rows, strict=True)):
        y = _TOP + r * _ROW
        for c, f in enumerate(row):
            shade = 0
            if f.shown and f.value is not None:
                shade = max(1, math.ceil(SHADES * f.value / highest))
            cells.append(
                Cell(
                    x=round(_LABEL_WIDTH + c * cell_width, 1),
                    y=y,
                    width=round(cell_width - 2, 1),
                    height=_ROW - 2,
                    text=text(f),
                    shade=shade,
                    kind=f.mark.value,
                    title=f"{name}, {column_titles[c]}: {text(f)}",
                )
            )
    return Heatmap(
        width=WIDTH,
        height=_TOP + len(rows) * _ROW + 4,
        cells=tuple(cells),
        rows=tuple(
            Label(_LABEL_WIDTH - 8, _TOP + r * _ROW + _ROW / 2 + 4, name)
            for r, name in enumerate(row_labels)
        ),
        columns=tuple(
            Label(round(_LABEL_WIDTH + c * cell_width + (cell_width - 2) / 2, 1), _TOP - 8, label)
            for c, label in enumerate(column_labels)
        ),
    )


def horizontal_bars(
    labels: Sequence[str], figures: Sequence[Figure], text: Callable[[Figure], str]
) -> BarChart:
    """One bar per category (a count now); "<5" as a hatched bar up to 5."""
    shown = [f.value for f in figures if f.shown and f.value is not None]
    scale_top = nice_ceiling(max([*shown, 2 * SMALLEST]))
    span = WIDTH - _LABEL_WIDTH - _RIGHT - 40  # room for the number after the bar
    bars = []
    for i, (label, f) in enumerate(zip(labels, figures, strict=True)):
        if f.shown and f.value is not None:
            length = span * f.value / scale_top
        elif f.mark is Mark.SMALL:
            length = span * SMALLEST / scale_top
        else:
            length = 0.0
        y = _TOP + i * _ROW
        bars.append(
            Bar(
                x=_LABEL_WIDTH,
                y=y,
                width=round(length, 1),
                height=_ROW - 6,
                text_x=round(_LABEL_WIDTH + length + 6, 1),
                text_y=y + _ROW / 2 + 1,
                text=text(f),
                label=label,
                kind=f.mark.value,
                title=f"{label}: {text(f)}",
            )
        )
    return BarChart(
        width=WIDTH,
        height=_TOP + len(figures) * _ROW + 4,
        baseline=0,
        left=_LABEL_WIDTH,
        right=WIDTH - _RIGHT,
        bars=tuple(bars),
        ticks=(),
    )
