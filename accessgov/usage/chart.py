"""The geometry of the usage charts the console draws as inline SVG (templates/usage/usage.html).

Numbers in, coordinates and words out: the templates only place what is computed here, so the
pages need no JavaScript and no asset of their own, and the arithmetic is tested on its own.
A day's bar stacks its allowed calls (bottom), refusals, then rate-limited calls (top).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from accessgov.usage.reading import Day

KINDS = (("allowed", "allowed"), ("refused", "refused"), ("limited", "rate-limited"))
# The fill of each kind in the markup itself, so the chart reads even without the stylesheet
# (static/css/console.css gives the same colours by class).
FILLS = {"allowed": "#1e7d43", "refused": "#b3261e", "limited": "#9a5b00"}
# A day with calls always shows, however busy the busiest day.
MIN_SEGMENT = 1.0


@dataclass(frozen=True)
class Segment:
    kind: str  # "allowed", "refused" or "limited": the CSS class
    y: float
    height: float
    calls: int

    @property
    def fill(self) -> str:
        return FILLS[self.kind]


@dataclass(frozen=True)
class Bar:
    """One day: its slot (for the tooltip of a day without calls too) and its stacked segments."""

    day: date
    x: float
    width: float
    slot_x: float
    slot_width: float
    segments: tuple[Segment, ...]
    total: int
    title: str


@dataclass(frozen=True)
class Tick:
    """A value of the vertical axis and the height it is drawn at."""

    value: int
    y: float


@dataclass(frozen=True)
class DayLabel:
    x: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    labels: tuple[DayLabel, ...]
    description: str
    total: int

    @property
    def plot_height(self) -> float:
        return self.bottom - self.top

    @property
    def tick_label_x(self) -> float:
        return self.left - 6

    @property
    def day_label_y(self) -> float:
        return self.bottom + 16


def calls(n: int) -> str:
    """Return "1 call" or "N calls" (thousands separated)."""
    return f"{n:,} call" if n == 1 else f"{n:,} calls"


def day_text(day: date) -> str:
    """Return DAY as the charts name it: "2026-05-01"."""
    return day.isoformat()


def nice_ceiling(value: int) -> int:
    """Return the smallest of 1, 2, 5, 10, 20, 50, ... that is at least VALUE (1 for nothing)."""
    if value <= 1:
        return 1
    magnitude = 10 ** int(math.floor(math.log10(value)))
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop ends at 10 * magnitude >= value


def _breakdown(day: Day) -> str:
    parts = [f"{day.allowed:,} allowed", f"{day.refused:,} refused", f"{day.limited:,} rate-limited"]
    return f"{day_text(day.day)}: {calls(day.total)} ({', '.join(parts)})"


def describe(days: Sequence[Day]) -> str:
    """Return the chart in words: its period, the calls by outcome and the busiest day."""
    if not days:
        return "No days to show."
    period = f"{day_text(days[0].day)} to {day_text(days[-1].day)}"
    total = sum(day.total for day in days)
    if not total:
        return f"No calls in the last {len(days)} days ({period})."
    allowed = sum(day.allowed for day in days)
    refused = sum(day.refused for day in days)
    limited = sum(day.limited for day in days)
    busiest = max(days, key=lambda day: (day.total, day.day))
    active = sum(1 for day in days if day.total)
    return (
        f"{calls(total)} in the last {len(days)} days ({period}): {allowed:,} allowed, {refused:,} refused, "
        f"{limited:,} rate-limited, on {active} day{'s' if active != 1 else ''}. "
        f"Busiest day {day_text(busiest.day)} with {calls(busiest.total)}."
    )


def _segments(day: Day, base: float, scale: float) -> tuple[Segment, ...]:
    segments = []
    y = base
    for kind, _label in KINDS:
        n = getattr(day, kind)
        if not n:
            continue
        height = max(n * scale, MIN_SEGMENT)
        y -= height
        segments.append(Segment(kind, round(y, 2), round(height, 2), n))
    return tuple(segments)


def daily(days: Sequence[Day], *, width: int = 640, height: int = 200, label_every: int = 7) -> Chart:
    """Return the stacked bar chart of DAYS (oldest first) in a WIDTH x HEIGHT view box.

    The vertical axis runs from 0 to a round number at least the busiest day; the days are
    labelled every LABEL_EVERY days counting back from the last (today), so today is always named.
    """
    # Room for the axis values on the left and for the last day's label (centred on its bar) on the right.
    left, right, top, bottom = 44.0, width - 20.0, 10.0, height - 24.0
    ceiling = nice_ceiling(max((day.total for day in days), default=0))
    scale = (bottom - top) / ceiling
    slot = (right - left) / max(len(days), 1)
    bar_width = round(slot * 0.7, 2)
    bars = []
    labels = []
    for n, day in enumerate(days):
        slot_x = left + n * slot
        bars.append(
            Bar(
                day=day.day,
                x=round(slot_x + (slot - bar_width) / 2, 2),
                width=bar_width,
                slot_x=round(slot_x, 2),
                slot_width=round(slot, 2),
                segments=_segments(day, bottom, scale),
                total=day.total,
                title=_breakdown(day),
            )
        )
        if (len(days) - 1 - n) % label_every == 0:
            labels.append(DayLabel(round(slot_x + slot / 2, 2), f"{day.day:%b} {day.day.day}"))
    values = [0, ceiling // 2, ceiling] if ceiling % 2 == 0 else [0, ceiling]
    ticks = tuple(Tick(value, round(bottom - value * scale, 2)) for value in values)
    return Chart(
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        bars=tuple(bars),
        ticks=ticks,
        labels=tuple(labels),
        description=describe(days),
        total=sum(day.total for day in days),
    )


@dataclass(frozen=True)
class SparkBar:
    x: float
    y: float
    height: float


@dataclass(frozen=True)
class Sparkline:
    width: int
    height: int
    bar_width: float
    bars: tuple[SparkBar, ...]
    total: int
    label: str

    @property
    def baseline(self) -> float:
        return self.height - 0.5


def sparkline(values: Sequence[int], *, width: int = 90, height: int = 20) -> Sparkline:
    """Return a small bar line of VALUES (calls per day, oldest first) for a list's row.

    Only days with calls get a bar; the template draws the baseline, so an idle credential reads
    as a flat line.
    """
    count = max(len(values), 1)
    slot = width / count
    bar_width = round(max(slot - 1, 1), 2)
    busiest = max(values, default=0)
    bars = []
    for n, value in enumerate(values):
        if not value:
            continue
        bar_height = max(value / busiest * (height - 1), MIN_SEGMENT)
        bars.append(SparkBar(round(n * slot, 2), round(height - 1 - bar_height, 2), round(bar_height, 2)))
    total = sum(values)
    days = len(values)
    if total:
        label = f"{calls(total)} in the last {days} days; the busiest day had {calls(busiest)}."
    else:
        label = f"No calls in the last {days} days."
    return Sparkline(width, height, bar_width, tuple(bars), total, label)
