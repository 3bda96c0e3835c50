"""Cron expressions: the ticks of hand-picked expressions around hand-picked times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lakehouse.cron import CronExpression


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("0 0 * * *", "2026-11-28T03:50", "2026-11-29T00:00"),
        ("0 0 * * *", "2026-11-28T00:00", "2026-11-29T00:00"),  # strictly after
        ("30 6 * * *", "2026-11-28T06:29:59", "2026-11-28T06:30"),
        ("@weekly", "2026-11-28T03:50", "2026-11-30T00:00"),  # 2026-11-28 is a Saturday
        ("0 0 1 * *", "2026-12-31T23:59", "2027-01-01T00:00"),
        ("0 0 29 2 *", "2026-03-01T00:00", "2028-02-29T00:00"),
        ("*/15 9-17 * * mon-fri", "2026-11-27T17:45", "2026-11-30T09:00"),  # Fri -> Mon
        ("*/15 9-17 * * mon-fri", "2026-11-30T09:07", "2026-11-30T09:15"),
        ("0 12 1,15 * *", "2026-11-02T00:00", "2026-11-15T12:00"),
        # day of month and day of week both restricted: either one
        ("0 6 13 * fri", "2026-11-01T00:00", "2026-11-06T06:00"),
        ("0 0 1 jan,jul *", "2026-02-01T00:00", "2026-07-01T00:00"),
        ("0 0 * * 7", "2026-11-28T03:50", "2026-11-29T00:00"),  # 7 is Sunday too
    ],
)
def test_the_next_tick(expression: str, after: str, expected: str) -> None:
    assert CronExpression.parse(expression).next_after(at(after)) == at(expected)


@pytest.mark.parametrize(
    ("expression", "moment", "expected"),
    [
        ("0 0 * * *", "2026-11-28T03:50", "2026-11-28T00:00"),
        ("0 0 * * *", "2026-11-28T00:00", "2026-11-28T00:00"),  # at or before
        ("@monthly", "2026-11-28T03:50", "2026-11-01T00:00"),
        ("@quarterly", "2026-11-28T03:50", "2026-10-01T00:00"),
        ("*/15 9-17 * * mon-fri", "2026-11-28T10:00", "2026-11-27T17:45"),  # Sat -> Fri
    ],
)
def test_the_last_tick(expression: str, moment: str, expected: str) -> None:
    assert CronExpression.parse(expression).last_at_or_before(at(moment)) == at(expected)


@pytest.mark.parametrize(
    ("expression", "gap"),
    [
        ("@daily", timedelta(days=1)),
        ("@weekly", timedelta(days=7)),
        ("@quarterly", timedelta(days=92)),  # Jul 1 -> Oct 1
        ("*/15 9-17 * * mon-fri", timedelta(days=2, hours=15, minutes=15)),  # Fri 17:45 -> Mon
    ],
)
def test_the_longest_gap_between_ticks(expression: str, gap: timedelta) -> None:
    assert CronExpression.parse(expression).longest_gap(at("2026-11-28T03:50")) == gap


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("1 2 3", "give five fields"),
        ("61 * * * *", "the minute field's '61' is not a number from 0 to 59"),
        ("0 0 * * 8", "the day of week field's '8' is not a number from 0 to 7"),
        ("0 0 * foo *", "the month field's 'foo'"),
        ("5-1 * * * *", "the minute range '5-1' runs backwards"),
        ("*/0 * * * *", "step '0' is not a number above 0"),
        ("0 0 31 2 *", "never fires"),
    ],
)
def test_a_wrong_expression_says_what_is_wrong(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CronExpression.parse(expression)


def test_a_time_without_its_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        CronExpression.parse("@daily").next_after(datetime(2026, 11, 28))


# America/New_York: EST (UTC-5) until 2026-03-08 02:00, when the clock springs to 03:00 EDT
# (UTC-4); EDT until 2026-11-01 02:00, when it falls back to 01:00 EST.
@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("0 6 * * *", "2026-11-28T03:50", "2026-11-28T11:00"),  # 06:00 EST
        ("0 6 * * *", "2026-07-01T00:00", "2026-07-01T10:00"),  # 06:00 EDT
        ("0 0 * * *", "2026-03-07T06:00", "2026-03-08T05:00"),  # midnight EST, then EDT
        ("0 0 * * *", "2026-03-08T05:00", "2026-03-09T04:00"),
        # 02:30 is skipped when the clock springs forward: it counts as 02:30 EST (03:30 EDT)
        ("30 2 * * *", "2026-03-08T06:00", "2026-03-08T07:30"),
        # 01:30 comes twice when it falls back: the first (EDT) counts, the second does not
        ("30 1 * * *", "2026-11-01T04:00", "2026-11-01T05:30"),
        ("30 1 * * *", "2026-11-01T05:30", "2026-11-02T06:30"),
        ("0 6 * * mon-fri", "2026-11-27T12:00", "2026-11-30T11:00"),  # Friday 07:00 EST
    ],
)
def test_the_next_tick_on_a_zones_clock(expression: str, after: str, expected: str) -> None:
    cron = CronExpression.parse(expression, "America/New_York")
    assert cron.next_after(at(after)) == at(expected)


@pytest.mark.parametrize(
    ("expression", "moment", "expected"),
    [
        ("0 6 * * *", "2026-11-28T10:59", "2026-11-27T11:00"),
        ("0 6 * * *", "2026-11-28T11:00", "2026-11-28T11:00"),
        ("30 2 * * *", "2026-03-08T07:29", "2026-03-07T07:30"),  # the skipped 02:30 is later
        ("30 1 * * *", "2026-11-01T06:45", "2026-11-01T05:30"),  # 01:45 EST: the first 01:30
    ],
)
def test_the_last_tick_on_a_zones_clock(expression: str, moment: str, expected: str) -> None:
    cron = CronExpression.parse(expression, "America/New_York")
    assert cron.last_at_or_before(at(moment)) == at(expected)


def test_a_daily_gap_on_a_zones_clock_is_a_day_and_an_hour_when_the_clock_falls_back() -> None:
    cron = CronExpression.parse("@daily", "America/New_York")
    assert cron.longest_gap(at("2026-10-01T00:00")) == timedelta(hours=25)


def test_an_unknown_time_zone_says_what_is_wanted() -> None:
    with pytest.raises(ValueError, match="'America/New_Yrok' is not a time zone: give an IANA"):
        CronExpression.parse("@daily", "America/New_Yrok")
