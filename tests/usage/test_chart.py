"""The geometry of the usage charts (accessgov.usage.chart): fixed vectors and properties."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accessgov.usage import chart
from accessgov.usage.reading import DAYS, Day

TODAY = date(2026, 5, 31)


def _days(*totals: tuple[int, int, int]) -> list[Day]:
    """Return DAYS days ending TODAY; the last len(TOTALS) carry (allowed, refused, limited)."""
    padded = [(0, 0, 0)] * (DAYS - len(totals)) + list(totals)
    return [
        Day(TODAY - timedelta(days=DAYS - 1 - n), allowed=a, refused=r, limited=limited)
        for n, (a, r, limited) in enumerate(padded)
    ]


@pytest.mark.parametrize(
    ("value", "ceiling"),
    [
        (0, 1),
        (1, 1),
        (2, 2),
        (3, 5),
        (5, 5),
        (6, 10),
        (10, 10),
        (11, 20),
        (99, 100),
        (101, 200),
        (1234, 2000),
    ],
)
def test_the_axis_ends_at_a_round_number_at_least_the_busiest_day(value, ceiling):
    assert chart.nice_ceiling(value) == ceiling


def test_each_day_is_a_bar_stacked_allowed_refused_then_rate_limited_from_the_axis_up():
    drawn = chart.daily(_days((6, 3, 1)), width=640, height=200)
    assert len(drawn.bars) == DAYS
    today = drawn.bars[-1]
    assert today.day == TODAY and today.total == 10
    assert [s.kind for s in today.segments] == ["allowed", "refused", "limited"]
    # The busiest day reaches the top of a 0-10 axis; the segments touch, bottom to top.
    assert today.segments[0].y + today.segments[0].height == pytest.approx(drawn.bottom)
    for lower, upper in zip(today.segments, today.segments[1:], strict=False):
        assert upper.y + upper.height == pytest.approx(lower.y, abs=0.02)
    assert today.segments[-1].y == pytest.approx(drawn.top, abs=0.05)
    heights = [s.height for s in today.segments]
    assert heights[0] == pytest.approx(2 * heights[1], rel=0.01) == pytest.approx(6 * heights[2], rel=0.01)
    assert [s.fill for s in today.segments] == ["#1e7d43", "#b3261e", "#9a5b00"]
    assert today.title == "2026-05-31: 10 calls (6 allowed, 3 refused, 1 rate-limited)"
    assert all(not bar.segments for bar in drawn.bars[:-1])
    assert drawn.bars[0].title == "2026-05-02: 0 calls (0 allowed, 0 refused, 0 rate-limited)"


def test_the_axis_is_labelled_with_round_values_and_every_seventh_day_back_from_today():
    drawn = chart.daily(_days((7, 0, 0)))
    assert [tick.value for tick in drawn.ticks] == [0, 5, 10]
    assert drawn.ticks[0].y == drawn.bottom and drawn.ticks[-1].y == pytest.approx(drawn.top)
    assert [label.text for label in drawn.labels] == ["May 3", "May 10", "May 17", "May 24", "May 31"]
    assert drawn.labels[-1].x == pytest.approx(drawn.bars[-1].slot_x + drawn.bars[-1].slot_width / 2)
    assert [tick.value for tick in chart.daily(_days((3, 0, 0))).ticks] == [0, 5]


def test_a_single_call_beside_a_busy_day_is_still_visible():
    drawn = chart.daily(_days((10_000, 0, 0), (0, 1, 0)))
    assert drawn.bars[-1].segments[0].height == chart.MIN_SEGMENT


def test_the_description_says_the_period_the_outcomes_and_the_busiest_day():
    drawn = chart.daily(_days((2, 0, 0), (6, 3, 1)))
    assert drawn.total == 12
    assert drawn.description == (
        "12 calls in the last 30 days (2026-05-02 to 2026-05-31): 8 allowed, 3 refused, 1 rate-limited, "
        "on 2 days. Busiest day 2026-05-31 with 10 calls."
    )


def test_a_credential_without_calls_gets_an_empty_chart_that_says_so():
    drawn = chart.daily(_days())
    assert drawn.total == 0 and all(not bar.segments for bar in drawn.bars)
    assert [tick.value for tick in drawn.ticks] == [0, 1]
    assert drawn.description == "No calls in the last 30 days (2026-05-02 to 2026-05-31)."
    assert chart.describe([]) == "No days to show."


@given(
    st.lists(
        st.tuples(st.integers(0, 10**7), st.integers(0, 10**7), st.integers(0, 10**7)),
        min_size=DAYS,
        max_size=DAYS,
    ),
    st.sampled_from([(640, 200), (480, 160)]),
)
def test_every_bar_stays_inside_the_plot_whatever_the_counts(totals, size):
    width, height = size
    drawn = chart.daily(_days(*totals), width=width, height=height)
    for bar, (a, r, limited) in zip(drawn.bars, totals, strict=True):
        assert bar.total == a + r + limited
        assert drawn.left <= bar.slot_x <= bar.x and bar.x + bar.width <= drawn.right + 0.05
        for segment in bar.segments:
            # At most three one-unit minimums above the top margin (10): never off the view box.
            assert segment.y >= 0 and segment.y + segment.height <= drawn.bottom + 0.05
    assert drawn.ticks[-1].value >= max(a + r + limited for a, r, limited in totals)


def test_a_sparkline_draws_only_the_days_with_calls_the_busiest_at_full_height():
    values = [0] * 28 + [2, 8]
    spark = chart.sparkline(values, width=90, height=20)
    assert len(spark.bars) == 2 and spark.total == 10
    busiest = spark.bars[-1]
    assert busiest.y == 0 and busiest.height == 19
    assert spark.bars[0].height == pytest.approx(19 / 4)
    assert busiest.x == pytest.approx(29 * 3) and busiest.x + spark.bar_width <= spark.width
    assert spark.label == "10 calls in the last 30 days; the busiest day had 8 calls."
    assert spark.baseline == 19.5


def test_an_idle_credential_has_a_flat_sparkline():
    spark = chart.sparkline([0] * DAYS)
    assert spark.bars == () and spark.total == 0
    assert spark.label == "No calls in the last 30 days."
    assert chart.sparkline([1] + [0] * 29).label == "1 call in the last 30 days; the busiest day had 1 call."
