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
